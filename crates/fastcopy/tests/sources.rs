//! Sources that are not regular files, or not there.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use fastcopy::Operation;

use crate::common::*;

fn mkfifo(path: &Path) {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .unwrap();
    assert!(std::fs::metadata(path).unwrap().file_type().is_fifo());
}

/// A FIFO with no writer: refused at once, never blocks (on open or on
/// read).
#[test]
fn fifo_source_refused_without_blocking() {
    let Some(d) = testfs::dir(Fs::Ext4, "fifo_source") else {
        return;
    };
    let fifo = d.path().join("fifo");
    mkfifo(&fifo);
    let dst = d.path().join("dst");
    let (tx, rx) = mpsc::channel();
    let (f, t) = (fifo.clone(), dst.clone());
    std::thread::spawn(move || {
        let _ = tx.send(fastcopy::copy(&f, &t));
    });
    let res = match rx.recv_timeout(Duration::from_secs(1)) {
        Ok(r) => r,
        Err(_) => {
            // Unblock the stuck copy (open for writing, then close) so the
            // thread ends, then fail.
            let _w = std::fs::OpenOptions::new().write(true).open(&fifo);
            panic!("copying a FIFO blocked for more than 1 s");
        }
    };
    let err = res.unwrap_err();
    assert_eq!(err.operation(), Operation::SourceNotRegular, "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.path(), fifo);
    assert!(err.to_string().contains("FIFO"), "{err}");
    assert_names(d.path(), &["fifo"]);
}

#[test]
fn directory_source_refused() {
    let Some(d) = testfs::dir(Fs::Ext4, "dir_source") else {
        return;
    };
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    symlink(&sub, d.path().join("link")).unwrap();
    for src in [sub.clone(), d.path().join("link")] {
        let err = fastcopy::copy(&src, d.path().join("dst")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IsADirectory, "{err}");
        assert_eq!(err.operation(), Operation::SourceNotRegular, "{err}");
        assert_eq!(err.path(), src);
    }
    assert_names(d.path(), &["link", "sub"]);
}

#[test]
fn socket_source_refused() {
    let Some(d) = testfs::dir(Fs::Ext4, "socket_source") else {
        return;
    };
    let sock = d.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let err = fastcopy::copy(&sock, d.path().join("dst")).unwrap_err();
    assert_eq!(err.operation(), Operation::SourceNotRegular, "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("socket"), "{err}");
    assert_names(d.path(), &["sock"]);
}

#[test]
fn device_source_refused() {
    let Some(d) = testfs::dir(Fs::Tmpfs, "device_source") else {
        return;
    };
    for dev in ["/dev/null", "/dev/zero"] {
        let err = fastcopy::copy(dev, d.path().join("dst")).unwrap_err();
        assert_eq!(err.operation(), Operation::SourceNotRegular, "{dev}: {err}");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{dev}: {err}");
        assert!(err.to_string().contains("character device"), "{err}");
    }
    assert_names(d.path(), &[]);
}

#[test]
fn missing_source() {
    let Some(d) = testfs::dir(Fs::Ext4, "missing_source") else {
        return;
    };
    let src = d.path().join("no-such-file");
    let err = fastcopy::copy(&src, d.path().join("dst")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.operation(), Operation::OpenSource, "{err}");
    assert_eq!(err.path(), src);
    assert_eq!(err.raw_os_error(), Some(2));
    let msg = err.to_string();
    assert!(msg.contains(&src.display().to_string()), "{msg}");
    assert!(msg.starts_with("cannot open source"), "{msg}");
    // A dangling symlink as source is a missing source as well.
    symlink(&src, d.path().join("dangling")).unwrap();
    let err = fastcopy::copy(d.path().join("dangling"), d.path().join("dst")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_names(d.path(), &["dangling"]);
}

/// A symlink to a file as source: the file's content, in a regular file.
#[test]
fn symlink_source_followed() {
    let Some(d) = testfs::dir(Fs::Ext4, "symlink_source") else {
        return;
    };
    let data = testfs::pattern(9000, 61);
    write(&d.path().join("target"), &data);
    symlink("target", d.path().join("link")).unwrap();
    let dst = d.path().join("dst");
    fastcopy::copy(d.path().join("link"), &dst).unwrap();
    assert!(std::fs::symlink_metadata(&dst).unwrap().is_file());
    assert_content(&dst, &data);
}
