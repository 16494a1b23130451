//! The shared conformance cases (`conformance/cases.json` at the
//! repository root), run against the Rust library on ext4, Btrfs, XFS and
//! tmpfs. The Go package runs the same file (bindings/go/fastcopy,
//! `conformance_linux_test.go`); a behaviour change in one implementation
//! and not the other fails one of the two.
//!
//! One test per case and filesystem: `conformance::CASE::FS`. The case
//! list below must name every case of the file (checked by
//! `conformance::every_case_has_a_test`).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, UNIX_EPOCH};

use fastcopy::{CopyOptions, CopyReport, Method, Operation, Overwrite, Progress, Reflink};

use crate::common::*;

const CASES: &str = include_str!("../../../conformance/cases.json");

/// This implementation's name in the case file.
const IMPL: &str = "rust";

macro_rules! cases {
    ($($case:ident),+ $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($case)),+];
        $(
            mod $case {
                use $crate::common::Fs;
                #[test] fn ext4() { super::run(stringify!($case), Fs::Ext4) }
                #[test] fn btrfs() { super::run(stringify!($case), Fs::Btrfs) }
                #[test] fn xfs() { super::run(stringify!($case), Fs::Xfs) }
                #[test] fn tmpfs() { super::run(stringify!($case), Fs::Tmpfs) }
            }
        )+
    };
}

cases!(
    size_0,
    size_1,
    size_4095,
    size_4096,
    size_4097,
    size_large,
    size_large_reflink_never,
    content_text,
    holes_kept,
    holes_kept_reflink_never,
    mode_0640,
    mode_0755,
    mode_read_only_source,
    mtime_nanoseconds,
    mtime_nanoseconds_reflink_never,
    no_clobber_existing_target,
    overwrite_existing_target,
    same_file_by_path,
    same_file_by_hard_link,
    same_file_by_symlink,
    symlink_source_is_followed,
    directory_source,
    fifo_source_does_not_block,
    char_device_source,
    fifo_target_not_replaced,
    directory_target,
    symlink_target_overwrite,
    symlink_target_no_clobber,
    dangling_symlink_target_overwrite,
    missing_parent_directories,
    no_space_left,
    no_space_left_keeps_old_target,
    reflink_never_shares_nothing,
    reflink_auto_clones_where_it_can,
    reflink_always,
    older_replaces_older_target,
    older_keeps_newer_larger_target,
    older_keeps_newer_smaller_target,
    older_keeps_target_of_same_mtime,
    older_missing_target,
    skip_existing_target,
    skip_missing_target,
    replace_hard_linked_target_warns,
    in_place_keeps_hard_links_and_mode,
    in_place_missing_target,
    in_place_skip_keeps_target,
    source_grows_during_copy,
    source_grows_during_copy_keeps_old_target,
    source_shrinks_during_copy,
    source_grows_during_copy_accepted,
    source_shrinks_during_copy_accepted,
);

#[test]
fn every_case_has_a_test() {
    let file = parse(CASES);
    let mut in_file: Vec<&str> = file
        .get("cases")
        .arr()
        .iter()
        .map(|c| c.get("name").str())
        .collect();
    let mut here: Vec<&str> = NAMES.to_vec();
    in_file.sort_unstable();
    here.sort_unstable();
    assert_eq!(
        in_file, here,
        "conformance/cases.json and the cases! list in conformance.rs differ"
    );
}

fn case(name: &str) -> Json {
    let file = parse(CASES);
    file.get("cases")
        .arr()
        .iter()
        .find(|c| c.get("name").str() == name)
        .unwrap_or_else(|| panic!("case {name} is not in conformance/cases.json"))
        .clone()
}

/// The expectation for this implementation on `fs`: its own entry, else
/// the one for the filesystem, else the shared one.
fn expectation(c: &Json, fs: Fs) -> Json {
    if let Some(e) = c.opt(IMPL) {
        return e.clone();
    }
    if let Some(e) = c.opt("expect_on").and_then(|m| m.opt(fs.name())) {
        return e.clone();
    }
    c.get("expect").clone()
}

/// Unmounts a tmpfs mounted for a case, also when the case fails.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Changes the source once, at the first progress step of the data copy.
struct During {
    action: Box<dyn Fn() + Send + Sync>,
    done: AtomicBool,
}

impl Progress for During {
    fn advance(&self, _done: u64, _total: u64) {
        if !self.done.swap(true, Ordering::SeqCst) {
            (self.action)();
        }
    }
}

fn run(name: &str, fs: Fs) {
    let c = case(name);
    if let Some(list) = c.opt("filesystems")
        && !list.arr().iter().any(|f| f.str() == fs.name())
    {
        return;
    }
    let exp = expectation(&c, fs);
    if let Some(why) = exp.opt("skip") {
        testfs::skipped(&format!("conformance::{name}::{fs}"), why.str());
        return;
    }
    let Some(tmp) = testfs::dir(fs, &format!("conf-{name}-")) else {
        return;
    };
    let dir = tmp.path().to_path_buf();
    let at = |p: &str| -> PathBuf {
        if p.starts_with('/') {
            PathBuf::from(p)
        } else {
            dir.join(p)
        }
    };
    let mut mounts = Vec::new();
    for step in c.get("setup").arr() {
        if let Some(f) = step.opt("file") {
            let data = match step.opt("text") {
                Some(t) => t.str().as_bytes().to_vec(),
                None => testfs::pattern(step.get("size").num() as usize, step.num_or("seed", 0)),
            };
            write(&at(f.str()), &data);
        } else if let Some(f) = step.opt("sparse") {
            let segs: Vec<(u64, u64)> = step
                .get("data")
                .arr()
                .iter()
                .map(|s| (s.arr()[0].num(), s.arr()[1].num()))
                .collect();
            testfs::write_sparse(&at(f.str()), step.get("size").num(), &segs).unwrap();
        } else if let Some(f) = step.opt("chmod") {
            let mode = u32::from_str_radix(step.get("mode").str(), 8).unwrap();
            chmod(&at(f.str()), mode);
        } else if let Some(f) = step.opt("mtime") {
            let t =
                UNIX_EPOCH + Duration::new(step.get("sec").num(), step.get("nsec").num() as u32);
            set_times(&at(f.str()), t, t);
        } else if let Some(d) = step.opt("mkdir") {
            fs::create_dir_all(at(d.str())).unwrap();
        } else if let Some(l) = step.opt("symlink") {
            std::os::unix::fs::symlink(step.get("to").str(), at(l.str())).unwrap();
        } else if let Some(h) = step.opt("hardlink") {
            fs::hard_link(at(step.get("to").str()), at(h.str())).unwrap();
        } else if let Some(p) = step.opt("fifo") {
            let ok = Command::new("mkfifo").arg(at(p.str())).status();
            assert!(ok.is_ok_and(|s| s.success()), "mkfifo failed");
        } else if let Some(m) = step.opt("mount_tmpfs") {
            let mnt = at(m.str());
            fs::create_dir(&mnt).unwrap();
            let out = Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!("size={}", step.get("size").str()))
                .arg("tmpfs")
                .arg(&mnt)
                .output();
            match out {
                Ok(o) if o.status.success() => mounts.push(Mounted(mnt)),
                Ok(o) => {
                    testfs::skipped(
                        &format!("conformance::{name}::{fs}"),
                        &format!("mount -t tmpfs: {}", String::from_utf8_lossy(&o.stderr)),
                    );
                    return;
                }
                Err(e) => {
                    testfs::skipped(
                        &format!("conformance::{name}::{fs}"),
                        &format!("mount: {e}"),
                    );
                    return;
                }
            }
        } else {
            panic!("unknown setup step {step:?}");
        }
    }

    let cp = c.get("copy");
    let overwrite = cp.opt("overwrite").is_none_or(|v| v.bool());
    let mut opts = CopyOptions::new().overwrite(if overwrite {
        Overwrite::Replace
    } else {
        Overwrite::NoClobber
    });
    if let Some(m) = cp.opt("overwrite_mode") {
        opts = opts.overwrite(m.str().parse::<Overwrite>().unwrap());
    }
    if cp.opt("in_place").is_some_and(Json::bool) {
        opts = opts.in_place(true);
    }
    if cp.opt("accept_changing").is_some_and(Json::bool) {
        opts = opts.accept_changing_source(true);
    }
    if let Some(r) = cp.opt("reflink") {
        opts = opts.reflink(match r.str() {
            "never" => Reflink::Never,
            "always" => Reflink::Always,
            _ => Reflink::Auto,
        });
    }
    if let Some(d) = cp.opt("during") {
        let action: Box<dyn Fn() + Send + Sync> = if let Some(f) = d.opt("append") {
            let (path, size) = (at(f.str()), d.get("size").num() as usize);
            Box::new(move || {
                use std::io::Write;
                let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
                f.write_all(&testfs::pattern(size, 99)).unwrap();
            })
        } else if let Some(f) = d.opt("truncate") {
            let (path, size) = (at(f.str()), d.get("size").num());
            Box::new(move || {
                fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_len(size)
                    .unwrap();
            })
        } else {
            panic!("unknown action {d:?}");
        };
        opts = opts.progress(Arc::new(During {
            action,
            done: AtomicBool::new(false),
        }));
    }
    let (from, to) = (at(cp.get("from").str()), at(cp.get("to").str()));
    // A copy that blocks (a FIFO opened for reading) fails the test
    // instead of hanging it.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(fastcopy::copy_with(&from, &to, &opts));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the copy did not return within 60 s (blocked?)");

    let want = exp.get("result").str();
    let report = match (&result, want) {
        (Ok(r), "ok") => Some(r),
        (Err(e), "ok") => panic!("{name} on {fs}: want success, got {e} ({e:?})"),
        (Ok(r), _) => panic!("{name} on {fs}: want error {want}, got success {r:?}"),
        (Err(e), _) => {
            assert!(
                error_is(e, want),
                "{name} on {fs}: want error {want}, got {e} (kind {:?}, operation {:?}, os error {:?})",
                e.kind(),
                e.operation(),
                e.raw_os_error()
            );
            None
        }
    };
    for ck in exp.get("checks").arr() {
        check(name, fs, &at, ck, report);
    }
    drop(mounts);
}

fn error_is(e: &fastcopy::Error, want: &str) -> bool {
    const ENOSPC: i32 = 28;
    let os = e.raw_os_error();
    match want {
        "exists" => e.kind() == ErrorKind::AlreadyExists,
        "same_file" => e.operation() == Operation::SameFile,
        "not_regular" => {
            e.operation() == Operation::SourceNotRegular || e.to_string().contains("special file")
        }
        "is_directory" => e.kind() == ErrorKind::IsADirectory,
        "not_found" => e.kind() == ErrorKind::NotFound,
        "no_space" => os == Some(ENOSPC) || e.kind() == ErrorKind::StorageFull,
        "not_supported" => {
            e.kind() == ErrorKind::Unsupported
                || (e.operation() == Operation::Clone
                    && os.is_some_and(|n| [1, 9, 18, 22, 25, 26, 38, 95].contains(&n)))
        }
        "changed" => e.operation() == Operation::SourceChanged,
        _ => panic!("unknown result {want}"),
    }
}

fn check(name: &str, fs: Fs, at: &dyn Fn(&str) -> PathBuf, ck: &Json, report: Option<&CopyReport>) {
    let what = format!("{name} on {fs}: {ck:?}");
    if let Some(p) = ck.opt("same_content") {
        let p = p.arr();
        assert_same_content(&at(p[0].str()), &at(p[1].str()));
    } else if let Some(p) = ck.opt("text") {
        let got = fs::read(at(p.str())).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            ck.get("value").str(),
            "{what}"
        );
    } else if let Some(p) = ck.opt("size") {
        assert_eq!(len(&at(p.str())), ck.get("value").num(), "{what}");
    } else if let Some(p) = ck.opt("no_temp") {
        assert_no_temp(&at(p.str()));
    } else if let Some(p) = ck.opt("names") {
        let want: Vec<&str> = ck.get("value").arr().iter().map(|v| v.str()).collect();
        assert_names(&at(p.str()), &want);
    } else if let Some(p) = ck.opt("mode") {
        let want = u32::from_str_radix(ck.get("value").str(), 8).unwrap();
        assert_eq!(mode(&at(p.str())), want, "{what}");
    } else if let Some(p) = ck.opt("mtime") {
        let want = UNIX_EPOCH + Duration::new(ck.get("sec").num(), ck.get("nsec").num() as u32);
        assert_eq!(mtime(&at(p.str())), want, "{what}");
    } else if let Some(p) = ck.opt("holes_kept") {
        let p = p.arr();
        assert_holes_kept(&at(p[0].str()), &at(p[1].str()));
    } else if let Some(p) = ck.opt("shared") {
        if !has_fiemap(fs) {
            return;
        }
        let path = at(p.str());
        fs::File::open(&path).and_then(|f| f.sync_all()).unwrap();
        let shared = fastcopy::extent_sharing(&path).unwrap().shared > 0;
        assert_eq!(shared, ck.get("value").bool(), "{what}");
    } else if let Some(v) = ck.opt("cloned") {
        let r = report.expect("a report");
        assert_eq!(r.method == Method::Reflink, v.bool(), "{what}: {r:?}");
    } else if let Some(v) = ck.opt("skipped") {
        let r = report.expect("a report");
        let want = match v.str() {
            "none" => None,
            "exists" => Some(fastcopy::Skipped::Exists),
            "not_older" => Some(fastcopy::Skipped::NotOlder),
            other => panic!("unknown skipped value {other}"),
        };
        assert_eq!(r.skipped, want, "{what}: {r:?}");
        if want.is_some() {
            assert_eq!(r.bytes, 0, "{what}: {r:?}");
        }
    } else if let Some(w) = ck.opt("warned") {
        let r = report.expect("a report");
        let got = match w.str() {
            "replaced_hard_links" => r
                .warnings
                .iter()
                .any(|w| matches!(w, fastcopy::Warning::ReplacedHardLinks { .. })),
            other => panic!("unknown warning {other}"),
        };
        assert_eq!(got, ck.get("value").bool(), "{what}: {r:?}");
    } else if let Some(p) = ck.opt("symlink") {
        let got = fs::read_link(at(p.str()));
        assert_eq!(
            got.ok().as_deref(),
            Some(Path::new(ck.get("to").str())),
            "{what}"
        );
    } else if let Some(p) = ck.opt("regular") {
        let m = fs::symlink_metadata(at(p.str())).unwrap();
        assert!(m.file_type().is_file(), "{what}: {m:?}");
    } else if let Some(p) = ck.opt("fifo") {
        let m = fs::symlink_metadata(at(p.str())).unwrap();
        assert!(m.file_type().is_fifo(), "{what}: {m:?}");
    } else {
        panic!("unknown check {ck:?}");
    }
}

/// A JSON value: just what the case file needs, parsed here so the test
/// needs no new dependency.
#[derive(Clone, Debug)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn opt(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.get(key).filter(|v| !matches!(v, Json::Null)),
            _ => None,
        }
    }
    fn get(&self, key: &str) -> &Json {
        self.opt(key)
            .unwrap_or_else(|| panic!("no '{key}' in {self:?}"))
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
    fn num(&self) -> u64 {
        match self {
            Json::Num(n) => *n as u64,
            _ => panic!("not a number: {self:?}"),
        }
    }
    fn num_or(&self, key: &str, default: u64) -> u64 {
        self.opt(key).map_or(default, Json::num)
    }
    fn bool(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            _ => panic!("not a boolean: {self:?}"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => panic!("not an array: {self:?}"),
        }
    }
}

fn parse(text: &str) -> Json {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value().unwrap_or_else(|e| panic!("cases.json: {e}"));
    p.ws();
    assert_eq!(p.i, p.s.len(), "cases.json: trailing characters");
    v
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn err(&self, what: &str) -> io::Error {
        io::Error::other(format!("{what} at byte {}", self.i))
    }
    fn eat(&mut self, lit: &str) -> io::Result<()> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(self.err(&format!("expected {lit}")))
        }
    }
    fn value(&mut self) -> io::Result<Json> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut m = BTreeMap::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Json::Obj(m));
                    }
                    let Json::Str(k) = self.value()? else {
                        return Err(self.err("expected a key"));
                    };
                    self.ws();
                    self.eat(":")?;
                    let v = self.value()?;
                    m.insert(k, v);
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Json::Arr(v));
                    }
                    v.push(self.value()?);
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let c = *self.s.get(self.i).ok_or_else(|| self.err("open string"))?;
                    self.i += 1;
                    match c {
                        b'"' => return Ok(Json::Str(out)),
                        b'\\' => {
                            let e = self.s[self.i];
                            self.i += 1;
                            out.push(match e {
                                b'n' => '\n',
                                b't' => '\t',
                                b'"' => '"',
                                b'\\' => '\\',
                                b'/' => '/',
                                _ => return Err(self.err("unsupported escape")),
                            });
                        }
                        _ => {
                            // Multi-byte UTF-8 passes through byte by byte.
                            let start = self.i - 1;
                            let mut end = self.i;
                            while end < self.s.len() && (self.s[end] & 0xC0) == 0x80 {
                                end += 1;
                            }
                            out.push_str(std::str::from_utf8(&self.s[start..end]).unwrap());
                            self.i = end;
                        }
                    }
                }
            }
            Some(b't') => self.eat("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|_| Json::Bool(false)),
            Some(b'n') => self.eat("null").map(|_| Json::Null),
            Some(_) => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .map(Json::Num)
                    .ok_or_else(|| self.err("bad value"))
            }
            None => Err(self.err("unexpected end")),
        }
    }
}
