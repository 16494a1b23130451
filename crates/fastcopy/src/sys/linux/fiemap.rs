//! Extent sharing via the `FS_IOC_FIEMAP` ioctl (Linux): whether a copy
//! shares its blocks with its source. Used by [`crate::probe()`], and by
//! callers and tests that want to see a clone for themselves.

use std::fs::File;
use std::path::Path;

use rustix::ioctl::{Updater, ioctl, opcode};

/// How much of a file's extent map is shared with other files (reflinked),
/// as reported by [`extent_sharing`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sharing {
    /// Bytes in extents flagged `FIEMAP_EXTENT_SHARED`.
    pub shared: u64,
    /// Bytes in all extents (holes excluded; inline and unwritten extents included).
    pub mapped: u64,
}

/// `struct fiemap` from `<linux/fiemap.h>`, without its flexible array.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FiemapHeader {
    fm_start: u64,
    fm_length: u64,
    fm_flags: u32,
    fm_mapped_extents: u32,
    fm_extent_count: u32,
    fm_reserved: u32,
}

/// `struct fiemap_extent` from `<linux/fiemap.h>`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FiemapExtent {
    fe_logical: u64,
    fe_physical: u64,
    fe_length: u64,
    fe_reserved64: [u64; 2],
    fe_flags: u32,
    fe_reserved: [u32; 3],
}

/// Extents requested per ioctl call.
const EXTENTS_PER_CALL: usize = 512;

/// A `struct fiemap` followed by room for [`EXTENTS_PER_CALL`] extents, as
/// one contiguous C layout (the kernel writes the extents right after the
/// header).
#[repr(C)]
struct FiemapBuf {
    header: FiemapHeader,
    extents: [FiemapExtent; EXTENTS_PER_CALL],
}

const _: () = assert!(size_of::<FiemapHeader>() == 32);
const _: () = assert!(size_of::<FiemapExtent>() == 56);
const _: () = assert!(std::mem::offset_of!(FiemapBuf, extents) == 32);

/// `FS_IOC_FIEMAP` = `_IOWR('f', 11, struct fiemap)` (0xC020660B on x86-64).
const FS_IOC_FIEMAP: rustix::ioctl::Opcode = opcode::read_write::<FiemapHeader>(b'f', 11);
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const _: () = assert!(FS_IOC_FIEMAP as u64 == 0xC020_660B);

const FIEMAP_FLAG_SYNC: u32 = 0x0000_0001;
const FIEMAP_EXTENT_LAST: u32 = 0x0000_0001;
const FIEMAP_EXTENT_SHARED: u32 = 0x0000_2000;

/// Bytes of `path` that FIEMAP reports as `FIEMAP_EXTENT_SHARED`, and the
/// total bytes mapped in extents.
///
/// The file is synced first (`FIEMAP_FLAG_SYNC`), so freshly written data
/// shows up as real extents rather than delayed allocations. On a reflink
/// filesystem a clone shows `shared == mapped > 0`; a real copy shows
/// `shared == 0`.
///
/// # Errors
///
/// Opening `path` fails, or the filesystem does not support FIEMAP (tmpfs:
/// `EOPNOTSUPP`).
pub fn extent_sharing(path: &Path) -> std::io::Result<Sharing> {
    let file = File::open(path)?;
    let mut buf = Box::new(FiemapBuf {
        header: FiemapHeader::default(),
        extents: [FiemapExtent::default(); EXTENTS_PER_CALL],
    });
    let mut sharing = Sharing::default();
    let mut start = 0u64;
    loop {
        buf.header = FiemapHeader {
            fm_start: start,
            fm_length: u64::MAX - start,
            fm_flags: FIEMAP_FLAG_SYNC,
            fm_mapped_extents: 0,
            fm_extent_count: EXTENTS_PER_CALL as u32,
            fm_reserved: 0,
        };
        // SAFETY: FS_IOC_FIEMAP reads a `struct fiemap` and writes back its
        // header plus at most `fm_extent_count` (= EXTENTS_PER_CALL)
        // `struct fiemap_extent`s directly after it. `FiemapBuf` is a
        // `repr(C)` header with exactly that many extents following it (layout
        // checked by the const asserts above), all plain integers for which
        // any bit pattern is valid, and `Updater` passes a pointer to the
        // whole exclusively borrowed buffer, which outlives the call.
        unsafe {
            ioctl(&file, Updater::<FS_IOC_FIEMAP, FiemapBuf>::new(&mut *buf))?;
        }
        let n = (buf.header.fm_mapped_extents as usize).min(EXTENTS_PER_CALL);
        if n == 0 {
            break;
        }
        for e in &buf.extents[..n] {
            sharing.mapped += e.fe_length;
            if e.fe_flags & FIEMAP_EXTENT_SHARED != 0 {
                sharing.shared += e.fe_length;
            }
        }
        let last = &buf.extents[n - 1];
        let next = last.fe_logical.saturating_add(last.fe_length);
        if last.fe_flags & FIEMAP_EXTENT_LAST != 0 || next <= start || next == u64::MAX {
            break;
        }
        start = next;
    }
    Ok(sharing)
}
