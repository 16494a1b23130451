//! Test-file content: deterministic patterns, sparse files, allocation and
//! hole support.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use rustix::fs::{SeekFrom, seek};

/// splitmix64: a good 64-bit mixer, used to seed and to derive per-offset bytes.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic pseudo-random content of `len` bytes from `seed`, for test
/// files: the same `(len, seed)` always gives the same bytes, and a shorter
/// `len` gives a prefix of a longer one. Different seeds give unrelated
/// content. Uses xorshift64* (about a GB/s), so large files are cheap.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    // splitmix spreads similar seeds apart; `| 1` keeps xorshift's state non-zero.
    let mut state = splitmix64(seed) | 1;
    let mut out = vec![0u8; len];
    for chunk in out.chunks_mut(8) {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

/// Salt so that sparse-file content differs from `pattern(_, 0)`.
const SPARSE_SALT: u64 = 0x5350_4152_5345_2121;

/// Fills `buf` with the sparse-file pattern for file offsets `offset..`: each
/// byte depends only on its absolute file offset and is never zero.
fn fill_sparse(buf: &mut [u8], offset: u64) {
    let mut word_index = offset / 8;
    let mut word = splitmix64(word_index ^ SPARSE_SALT).to_le_bytes();
    for (pos, b) in (offset..).zip(buf.iter_mut()) {
        if pos / 8 != word_index {
            word_index = pos / 8;
            word = splitmix64(word_index ^ SPARSE_SALT).to_le_bytes();
        }
        let v = word[(pos % 8) as usize];
        *b = if v == 0 { 0xA5 } else { v };
    }
}

/// Writes the sparse layout into an already open, empty `file`.
fn write_sparse_file(file: &File, size: u64, data: &[(u64, u64)]) -> io::Result<()> {
    for &(offset, len) in data {
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("data range ({offset}, {len}) extends past the file size {size}"),
            ));
        }
    }
    file.set_len(size)?;
    const CHUNK: u64 = 1 << 20;
    let mut buf = vec![0u8; CHUNK as usize];
    for &(offset, len) in data {
        let mut pos = offset;
        let end = offset + len;
        while pos < end {
            let n = (end - pos).min(CHUNK) as usize;
            fill_sparse(&mut buf[..n], pos);
            file.write_all_at(&buf[..n], pos)?;
            pos += n as u64;
        }
    }
    Ok(())
}

/// Writes a file of `size` bytes (created or truncated, then extended with
/// `ftruncate`) whose data is only at the given `(offset, len)` ranges;
/// everything else is a hole (on filesystems that support holes).
///
/// The data is a deterministic pattern in which every byte is non-zero and
/// depends only on its absolute offset in the file, so a zero byte read back
/// inside a range means lost data, and files written with overlapping ranges
/// agree where they overlap. Ranges may be given in any order and may
/// overlap. The file is not synced.
///
/// # Errors
///
/// A range reaches past `size` (`InvalidInput`), or any I/O error.
pub fn write_sparse(path: &Path, size: u64, data: &[(u64, u64)]) -> io::Result<()> {
    let file = File::create(path)?;
    write_sparse_file(&file, size, data)
}

/// Bytes allocated to `path` on disk: `st_blocks * 512` (follows symlinks).
///
/// # Panics
///
/// If `path` cannot be stat'ed (a test helper: the test should fail there).
pub fn allocated_bytes(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) => m.blocks() * 512,
        Err(e) => panic!("allocated_bytes: cannot stat {}: {e}", path.display()),
    }
}

/// Whether the filesystem under `dir` supports holes: `SEEK_HOLE` finds a hole
/// in the middle of a freshly written (and synced) sparse file created in
/// `dir`. Any error (e.g. `dir` is not writable) gives `false`.
pub fn supports_holes(dir: &Path) -> bool {
    const SIZE: u64 = 4 << 20;
    const DATA: u64 = 64 << 10;
    let probe = || -> io::Result<bool> {
        let tmp = tempfile::Builder::new()
            .prefix(".testfs-holes")
            .tempfile_in(dir)?;
        let file = tmp.as_file();
        write_sparse_file(file, SIZE, &[(0, DATA), (SIZE - DATA, DATA)])?;
        file.sync_all()?;
        let hole = seek(file, SeekFrom::Hole(0))?;
        Ok(hole < SIZE - DATA)
    };
    probe().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_deterministic_and_prefix_stable() {
        let a = pattern(1000, 7);
        assert_eq!(a, pattern(1000, 7));
        assert_eq!(&a[..333], &pattern(333, 7)[..]);
        assert_ne!(a, pattern(1000, 8));
        assert!(pattern(0, 1).is_empty());
        // Not degenerate: plenty of distinct byte values.
        let mut seen = [false; 256];
        for &b in &pattern(4096, 0) {
            seen[b as usize] = true;
        }
        assert!(seen.iter().filter(|&&s| s).count() > 200);
    }

    #[test]
    fn sparse_fill_depends_only_on_offset() {
        let mut whole = vec![0u8; 100];
        fill_sparse(&mut whole, 13);
        let mut part = vec![0u8; 50];
        fill_sparse(&mut part, 40);
        assert_eq!(&whole[27..77], &part[..]);
        assert!(whole.iter().all(|&b| b != 0));
    }

    #[test]
    fn write_sparse_rejects_ranges_past_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let err = write_sparse(&p, 100, &[(90, 11)]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = write_sparse(&p, 100, &[(u64::MAX, 2)]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn write_sparse_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_sparse(&p, 10_000, &[(100, 50), (5000, 3000), (9990, 10)]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 10_000);
        for (i, &b) in bytes.iter().enumerate() {
            let in_data = (100..150).contains(&i) || (5000..8000).contains(&i) || i >= 9990;
            assert_eq!(b != 0, in_data, "byte {i}");
        }
        // Rewriting with an overlapping range gives the same bytes there.
        let q = dir.path().join("g");
        write_sparse(&q, 10_000, &[(120, 5000)]).unwrap();
        assert_eq!(std::fs::read(&q).unwrap()[120..150], bytes[120..150]);
    }
}
