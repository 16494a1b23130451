//! What the destination path is: a directory, a symlink, a device, a FIFO,
//! missing parents.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use fastcopy::{CopyOptions, Operation, Overwrite};

use crate::common::*;

fn source(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let data = testfs::pattern(12_345, 71);
    let src = dir.join("src");
    write(&src, &data);
    (src, data)
}

fn into_directory(_fs: Fs, dir: &Path) {
    let (src, data) = source(dir);
    let d = dir.join("d");
    std::fs::create_dir(&d).unwrap();
    let r = fastcopy::copy(&src, &d).unwrap();
    assert_eq!(r.destination, d.join("src"));
    assert_content(&d.join("src"), &data);
    assert_names(&d, &["src"]);
    // Again: replaces d/src; with NoClobber refuses, naming d/src.
    fastcopy::copy(&src, &d).unwrap();
    let err = fastcopy::copy_with(
        &src,
        &d,
        &CopyOptions::new().overwrite(Overwrite::NoClobber),
    )
    .unwrap_err();
    assert_eq!(err.operation(), Operation::DestinationExists);
    assert_eq!(err.path(), d.join("src"));
    // A directory where the file would go: refused, left alone.
    let e = dir.join("e");
    std::fs::create_dir_all(e.join("src")).unwrap();
    let err = fastcopy::copy(&src, &e).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IsADirectory, "{err}");
    assert_eq!(err.operation(), Operation::StatDestination, "{err}");
    assert!(e.join("src").is_dir());
    assert_names(&e, &["src"]);
    // A symlink to a directory is a directory too.
    symlink(&d, dir.join("dlink")).unwrap();
    std::fs::remove_file(d.join("src")).unwrap();
    let r = fastcopy::copy(&src, dir.join("dlink")).unwrap();
    assert_eq!(r.destination, dir.join("dlink").join("src"));
    assert_content(&d.join("src"), &data);
    assert_no_temp(dir);
    assert_no_temp(&d);
}

fn dangling_symlink(_fs: Fs, dir: &Path) {
    let (src, _) = source(dir);
    let target = dir.join("target");
    let link = dir.join("link");
    symlink(&target, &link).unwrap();
    for opts in [
        CopyOptions::new(),
        CopyOptions::new().create_parents(true),
        CopyOptions::new().overwrite(Overwrite::NoClobber),
    ] {
        let err = fastcopy::copy_with(&src, &link, &opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(
            std::fs::symlink_metadata(&target).is_err(),
            "target created"
        );
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_link(&link).unwrap(), target);
        assert_names(dir, &["link", "src"]);
    }
}

fn symlink_to_file(_fs: Fs, dir: &Path) {
    let (src, data) = source(dir);
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let target = sub.join("target");
    write(&target, &testfs::pattern(99_999, 72));
    let link = dir.join("link");
    symlink("sub/target", &link).unwrap();
    let r = fastcopy::copy(&src, &link).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("sub/target"));
    assert_content(&target, &data);
    assert_eq!(r.destination, std::fs::canonicalize(&target).unwrap());
    assert_names(dir, &["link", "src", "sub"]);
    assert_names(&sub, &["target"]);
    // NoClobber: the target exists.
    let err = fastcopy::copy_with(
        &src,
        &link,
        &CopyOptions::new().overwrite(Overwrite::NoClobber),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn dev_null_destination_refused() {
    let Some(d) = testfs::dir(Fs::Ext4, "dev_null_dest") else {
        return;
    };
    let (src, _) = source(d.path());
    let before = std::fs::metadata("/dev/null").unwrap();
    let err = fastcopy::copy(&src, "/dev/null").unwrap_err();
    assert_eq!(err.operation(), Operation::StatDestination, "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let after = std::fs::metadata("/dev/null").unwrap();
    assert!(after.file_type().is_char_device());
    use std::os::unix::fs::MetadataExt;
    assert_eq!((after.ino(), after.rdev()), (before.ino(), before.rdev()));
    assert_no_temp(Path::new("/dev"));
    // A symlink to it as well.
    symlink("/dev/null", d.path().join("null")).unwrap();
    let err = fastcopy::copy(&src, d.path().join("null")).unwrap_err();
    assert_eq!(err.operation(), Operation::StatDestination, "{err}");
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

/// A FIFO destination: refused without opening it (no reader would ever
/// come), still a FIFO.
#[test]
fn fifo_destination_refused() {
    let Some(d) = testfs::dir(Fs::Ext4, "fifo_dest") else {
        return;
    };
    let (src, _) = source(d.path());
    let fifo = d.path().join("fifo");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let f = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(fastcopy::copy(&src, &f));
    });
    let Ok(res) = rx.recv_timeout(Duration::from_secs(1)) else {
        let _r = std::fs::OpenOptions::new().read(true).open(&fifo);
        panic!("copying onto a FIFO blocked for more than 1 s");
    };
    let err = res.unwrap_err();
    assert_eq!(err.operation(), Operation::StatDestination, "{err}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_names(d.path(), &["fifo", "src"]);
}

fn missing_parent(_fs: Fs, dir: &Path) {
    let (src, data) = source(dir);
    let dst = dir.join("x").join("y").join("dst");
    let err = fastcopy::copy(&src, &dst).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.path(), dst, "{err}");
    assert_names(dir, &["src"]);

    let r = fastcopy::copy_with(&src, &dst, &CopyOptions::new().create_parents(true)).unwrap();
    assert_eq!(r.destination, dst);
    assert_content(&dst, &data);
    assert_names(&dir.join("x/y"), &["dst"]);

    // A trailing slash names a directory that is not there: no file
    // created under the bare name, nothing left behind.
    let slash = dir.join("z/");
    let slash = Path::new(slash.as_os_str());
    assert!(fastcopy::copy(&src, slash).is_err());
    assert_names(dir, &["src", "x"]);

    // A parent that is a file.
    let err = fastcopy::copy(&src, dir.join("src").join("dst")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotADirectory, "{err}");
    assert_names(dir, &["src", "x"]);
}

per_fs!(
    into_directory,
    dangling_symlink,
    symlink_to_file,
    missing_parent
);
