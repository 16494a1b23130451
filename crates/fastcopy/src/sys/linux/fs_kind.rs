//! Linux: which filesystem a file is on (`statfs.f_type`), and what that
//! tells the ladder before any method is tried.

use std::os::fd::AsFd;

/// A filesystem, by the magic number of its driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FsKind {
    /// ext2, ext3 and ext4 (one driver, one magic number).
    Ext4,
    Btrfs,
    Xfs,
    Tmpfs,
    Ramfs,
    Overlayfs,
    F2fs,
    Bcachefs,
    Zfs,
    Nfs,
    Smb2,
    Fuse,
    Proc,
    Sysfs,
    /// Any other, with its magic number.
    Other(u64),
}

const MAGICS: [(u64, FsKind); 14] = [
    (0xEF53, FsKind::Ext4),
    (0x9123_683E, FsKind::Btrfs),
    (0x5846_5342, FsKind::Xfs),
    (0x0102_1994, FsKind::Tmpfs),
    (0x8584_58F6, FsKind::Ramfs),
    (0x794C_7630, FsKind::Overlayfs),
    (0xF2F5_2010, FsKind::F2fs),
    (0xCA45_1A4E, FsKind::Bcachefs),
    (0x2FC1_2FC1, FsKind::Zfs),
    (0x6969, FsKind::Nfs),
    (0xFE53_4D42, FsKind::Smb2),
    (0x6573_5546, FsKind::Fuse),
    (0x9FA0, FsKind::Proc),
    (0x6265_6572, FsKind::Sysfs),
];

impl FsKind {
    /// The filesystem of the open file `fd`; `Other(0)` when it cannot be
    /// told.
    pub(crate) fn of<Fd: AsFd>(fd: Fd) -> FsKind {
        rustix::fs::fstatfs(fd).map_or(FsKind::Other(0), |st| Self::from_magic(magic(&st)))
    }

    /// The filesystem at `path`.
    pub(crate) fn at(path: &std::path::Path) -> FsKind {
        rustix::fs::statfs(path).map_or(FsKind::Other(0), |st| Self::from_magic(magic(&st)))
    }

    fn from_magic(m: u64) -> FsKind {
        MAGICS
            .iter()
            .find(|(k, _)| *k == m)
            .map_or(FsKind::Other(m), |&(_, kind)| kind)
    }

    /// Its name, for reports.
    pub(crate) fn name(self) -> String {
        let name = match self {
            FsKind::Ext4 => "ext4",
            FsKind::Btrfs => "btrfs",
            FsKind::Xfs => "xfs",
            FsKind::Tmpfs => "tmpfs",
            FsKind::Ramfs => "ramfs",
            FsKind::Overlayfs => "overlayfs",
            FsKind::F2fs => "f2fs",
            FsKind::Bcachefs => "bcachefs",
            FsKind::Zfs => "zfs",
            FsKind::Nfs => "nfs",
            FsKind::Smb2 => "smb2",
            FsKind::Fuse => "fuse",
            FsKind::Proc => "proc",
            FsKind::Sysfs => "sysfs",
            FsKind::Other(0) => return "unknown".into(),
            FsKind::Other(m) => return format!("unknown (0x{m:x})"),
        };
        name.into()
    }

    /// Whether files here never share blocks: the driver implements no
    /// clone (`FICLONE` answers EOPNOTSUPP, so it is not tried and not
    /// counted as a fallback), and its `copy_file_range` always copies
    /// (safe with `Reflink::Never`). Btrfs, XFS, bcachefs, ZFS, overlayfs
    /// (which passes to its upper layer), NFS and SMB (server-side copies)
    /// may share, and anything unknown is assumed to.
    pub(crate) fn never_shares(self) -> bool {
        matches!(
            self,
            FsKind::Ext4 | FsKind::Tmpfs | FsKind::Ramfs | FsKind::F2fs
        )
    }
}

/// `statfs.f_type`, whose integer type differs between architectures.
#[allow(clippy::unnecessary_cast)]
fn magic(st: &rustix::fs::StatFs) -> u64 {
    st.f_type as u64 & 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_name_their_filesystems() {
        assert_eq!(FsKind::from_magic(0xEF53), FsKind::Ext4);
        assert_eq!(FsKind::from_magic(0x9123_683E).name(), "btrfs");
        assert_eq!(FsKind::from_magic(0x1234).name(), "unknown (0x1234)");
        assert!(FsKind::Tmpfs.never_shares() && !FsKind::Xfs.never_shares());
        assert!(!FsKind::Other(0).never_shares());
    }
}
