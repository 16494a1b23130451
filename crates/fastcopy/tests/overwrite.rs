//! Replace and NoClobber, including racing NoClobber copies.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::{Arc, Barrier};

use fastcopy::{CopyOptions, Operation, Overwrite};

use crate::common::*;

fn replace_replaces(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    let dst = dir.join("dst");
    let new = testfs::pattern(10_000, 41);
    write(&src, &new);
    // Longer than the new content: no old tail may survive.
    write(&dst, &testfs::pattern(300_000, 42));
    chmod(&dst, 0o600);
    chmod(&src, 0o644);
    let r = fastcopy::copy(&src, &dst).unwrap();
    assert_eq!(r.bytes, 10_000);
    assert_content(&dst, &new);
    assert_eq!(mode(&dst), 0o644, "{fs}");
    assert_names(dir, &["dst", "src"]);
}

fn no_clobber_keeps_destination(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    let dst = dir.join("dst");
    write(&src, &testfs::pattern(10_000, 43));
    let old = testfs::pattern(3000, 44);
    write(&dst, &old);
    let old_mtime = mtime(&dst);
    let opts = CopyOptions::new().overwrite(Overwrite::NoClobber);
    let err = fastcopy::copy_with(&src, &dst, &opts).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{fs}: {err}");
    assert_eq!(err.operation(), Operation::DestinationExists, "{fs}: {err}");
    assert_eq!(err.path(), dst);
    assert!(
        err.to_string().contains(&dst.display().to_string()),
        "{err}"
    );
    assert_content(&dst, &old);
    assert_eq!(mtime(&dst), old_mtime);
    assert_names(dir, &["dst", "src"]);

    // Through io::Error the kind stays.
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), ErrorKind::AlreadyExists);

    // And to a new name it copies.
    fastcopy::copy_with(&src, dir.join("new"), &opts).unwrap();
    assert_same_content(&src, &dir.join("new"));
}

/// 8 threads copy 8 different files to one new destination with
/// NoClobber: exactly one wins, the others fail with AlreadyExists, and
/// the destination is exactly one source, whole.
fn no_clobber_race(fs: Fs, dir: &Path) {
    const N: usize = 8;
    for round in 0..3 {
        let srcs: Vec<_> = (0..N)
            .map(|i| {
                let p = dir.join(format!("src-{round}-{i}"));
                // Different sizes too: a mix of two would show.
                write(
                    &p,
                    &testfs::pattern(256 * 1024 + i * 4099, (round * N + i) as u64),
                );
                p
            })
            .collect();
        let dst = dir.join(format!("dst-{round}"));
        let barrier = Arc::new(Barrier::new(N));
        let handles: Vec<_> = srcs
            .iter()
            .cloned()
            .map(|src| {
                let (dst, barrier) = (dst.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    fastcopy::copy_with(
                        &src,
                        &dst,
                        &CopyOptions::new().overwrite(Overwrite::NoClobber),
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<usize> = (0..N).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "{fs} round {round}: {results:?}");
        for (i, r) in results.iter().enumerate() {
            if let Err(e) = r {
                assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{fs} {i}: {e}");
                assert_eq!(e.operation(), Operation::DestinationExists, "{fs} {i}: {e}");
            }
        }
        assert_same_content(&srcs[winners[0]], &dst);
        assert_no_temp(dir);
    }
}

per_fs!(
    replace_replaces,
    no_clobber_keeps_destination,
    no_clobber_race
);
