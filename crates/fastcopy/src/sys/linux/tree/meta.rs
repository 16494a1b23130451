//! What a tree keeps of an entry's metadata, from `statx` or `fstat`.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

use rustix::fs::{Timespec, Timestamps};

/// What is kept of an entry's metadata.
#[derive(Clone, Copy, Debug)]
pub(super) struct Meta {
    pub(super) mode: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) atime: (i64, i64),
    pub(super) mtime: (i64, i64),
    pub(super) dev: u64,
    pub(super) ino: u64,
}

impl Meta {
    #[allow(clippy::unnecessary_cast)] // the field types differ by architecture
    pub(super) fn of(st: &rustix::fs::Stat) -> Meta {
        Meta {
            mode: st.st_mode as u32,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            atime: (st.st_atime as i64, st.st_atime_nsec as i64),
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }
    }

    pub(super) fn of_file(m: &Metadata) -> Meta {
        Meta {
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            atime: (m.atime(), m.atime_nsec()),
            mtime: (m.mtime(), m.mtime_nsec()),
            dev: m.dev(),
            ino: m.ino(),
        }
    }

    /// The modification time, where the system can hold it.
    pub(super) fn modified(&self) -> Option<std::time::SystemTime> {
        let (secs, nanos) = self.mtime;
        let since = std::time::Duration::new(secs.unsigned_abs(), nanos as u32);
        if secs >= 0 {
            std::time::UNIX_EPOCH.checked_add(since)
        } else {
            std::time::UNIX_EPOCH.checked_sub(since)
        }
    }

    pub(super) fn times(&self) -> Timestamps {
        Timestamps {
            last_access: Timespec {
                tv_sec: self.atime.0,
                tv_nsec: self.atime.1 as _,
            },
            last_modification: Timespec {
                tv_sec: self.mtime.0,
                tv_nsec: self.mtime.1 as _,
            },
        }
    }
}
