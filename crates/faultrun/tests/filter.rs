//! The harness against the kernel: the test binary runs itself, with the
//! filter that `faultrun ARGS` would install (the same argument parsing and
//! the same `pre_exec` step as the `faultrun` tool), as a probe that makes
//! real system calls and prints what each returned; the parent checks that
//! exactly the named calls were hit.
#![cfg(target_os = "linux")]

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::Command;

const PROBE_ENV: &str = "FAULTRUN_TEST_PROBE_DIR";

/// The result of a raw system call: the return value or `-errno`.
fn ret(r: libc::c_long) -> i64 {
    if r < 0 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        r
    }
}

/// Not a test of its own: when run by [`run_probe`] (the variable is set),
/// makes the calls and prints `name=result` lines.
#[test]
fn probe() {
    let Some(dir) = std::env::var_os(PROBE_ENV) else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    let mut a = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("a"))
        .unwrap();
    a.write_all(&vec![7u8; 400_000]).unwrap();
    let b = File::create(dir.join("b")).unwrap();
    let (fa, fb) = (a.as_raw_fd(), b.as_raw_fd());
    // The harness prints "test probe ... " first: start on a fresh line.
    let mut out = String::from("\n");
    let mut off: libc::loff_t = 0;
    // SAFETY: valid descriptors, a valid offset pointer for the source, a
    // null one for the destination (use its file offset).
    let r = unsafe {
        libc::syscall(
            libc::SYS_copy_file_range,
            fa,
            &mut off as *mut libc::loff_t,
            fb,
            std::ptr::null_mut::<libc::loff_t>(),
            4096usize,
            0u32,
        )
    };
    out += &format!("copy_file_range={}\n", ret(r));
    // SAFETY: FICLONE takes the source descriptor as its argument.
    let r = unsafe { libc::ioctl(fb, 0x4004_9409, fa) };
    out += &format!("ficlone={}\n", ret(r.into()));
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer.
    let r = unsafe { libc::ioctl(fa, libc::FIONREAD, &mut n as *mut libc::c_int) };
    out += &format!("fionread={}\n", ret(r.into()));
    let mut buf = vec![0u8; 300_000];
    // SAFETY: the buffer is valid for the lengths given.
    let small = unsafe { libc::pread(fa, buf.as_mut_ptr().cast(), 100, 0) };
    out += &format!("pread_small={}\n", ret(small as libc::c_long));
    // SAFETY: as above.
    let big = unsafe { libc::pread(fa, buf.as_mut_ptr().cast(), 300_000, 0) };
    out += &format!("pread_big={}\n", ret(big as libc::c_long));
    // SAFETY: a valid descriptor; mode 0 keeps the size.
    let r = unsafe { libc::fallocate(fb, 0, 0, 4096) };
    out += &format!("fallocate={}\n", ret(r.into()));
    print!("{out}");
    std::io::stdout().flush().unwrap();
}

/// Runs [`probe`] as `faultrun ARGS -- PROBE` would; returns (status,
/// `name=result` pairs).
fn run_probe(args: &[&str]) -> (std::process::ExitStatus, Vec<(String, i64)>) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    argv.push("--".into());
    argv.push(exe.to_string_lossy().into_owned());
    argv.extend(["--exact", "probe", "--nocapture", "--test-threads=1"].map(String::from));
    let (plan, command) = faultrun::parse_args(&argv).unwrap();
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]).env(PROBE_ENV, dir.path());
    plan.apply_to(&mut cmd).unwrap();
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect();
    (out.status, results)
}

fn get(results: &[(String, i64)], name: &str) -> i64 {
    results
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("{name} missing in {results:?}"))
        .1
}

#[test]
fn named_calls_fail_and_others_do_not() {
    let (status, r) = run_probe(&[
        "--fail",
        "copy_file_range=EXDEV",
        "--fail",
        "ioctl:FICLONE=EIO",
        "--fail",
        "pread64:arg2>=262144=ENOSPC",
        "--fail",
        "fallocate=EOPNOTSUPP",
    ]);
    assert!(status.success(), "{status:?} {r:?}");
    assert_eq!(get(&r, "copy_file_range"), -i64::from(libc::EXDEV));
    assert_eq!(get(&r, "ficlone"), -i64::from(libc::EIO));
    // Another ioctl on the same descriptor is untouched.
    assert_eq!(get(&r, "fionread"), 0);
    assert_eq!(get(&r, "pread_small"), 100);
    assert_eq!(get(&r, "pread_big"), -i64::from(libc::ENOSPC));
    assert_eq!(get(&r, "fallocate"), -i64::from(libc::EOPNOTSUPP));
}

#[test]
fn without_rules_every_call_works() {
    let (status, r) = run_probe(&[]);
    assert!(status.success());
    assert_eq!(get(&r, "copy_file_range"), 4096);
    assert_eq!(get(&r, "pread_big"), 300_000);
    assert_eq!(get(&r, "fallocate"), 0);
}

#[test]
fn zero_makes_a_call_return_zero() {
    let (status, r) = run_probe(&["--fail", "copy_file_range=0"]);
    assert!(status.success());
    assert_eq!(get(&r, "copy_file_range"), 0);
    assert_eq!(get(&r, "pread_big"), 300_000);
}

#[test]
fn kill_stops_the_process_at_the_call() {
    use std::os::unix::process::ExitStatusExt;
    let (status, r) = run_probe(&["--kill", "fallocate"]);
    assert_eq!(status.signal(), Some(libc::SIGSYS), "{status:?}");
    // Everything before the call ran; its own line never came.
    assert!(r.iter().all(|(k, _)| k != "fallocate"), "{r:?}");
}

#[test]
fn usage_errors() {
    for args in [
        &["--fail", "nosuch=EIO", "true"][..],
        &["--fail", "read=EIO"][..],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        assert!(faultrun::parse_args(&args).is_err(), "{args:?}");
        assert!(faultrun::USAGE.starts_with("usage:"));
    }
}
