//! Fault injection where the kernel answers: run a command under a
//! seccomp-BPF filter that makes chosen system calls fail with a chosen
//! errno, return 0, or kill the process on the spot.
//!
//! The filter is installed in the child between `fork` and `exec` (after
//! `PR_SET_NO_NEW_PRIVS`), so the command, its dynamic loader and its
//! children all run under it, and nothing in the command needs to know.
//! Every filter first checks the architecture (a call of another ABI kills
//! the process), then matches the named system calls only; every other call
//! is allowed untouched.
//!
//! # Rules
//!
//! ```text
//! --fail SYSCALL[:COND[,COND]...]=ERRNO    the call fails with ERRNO (a name
//!                                          such as EIO or a number); 0 makes
//!                                          it return 0 without doing anything
//! --kill SYSCALL[:COND[,COND]...]          the process is killed (SIGSYS, like
//!                                          SIGKILL it runs no more code) when
//!                                          it makes this call
//! COND:  argN==V  argN!=V  argN>=V  argN<=V  argN>V  argN<V   (N = 0..5)
//!        REQUEST  for ioctl: its request (argument 1), a number or one of
//!                 FICLONE, FICLONERANGE, FIDEDUPERANGE
//! ```
//!
//! Examples: `--fail copy_file_range=EPERM`, `--fail copy_file_range=0`,
//! `--fail ioctl:FICLONE=EOPNOTSUPP`, `--fail fallocate=EOPNOTSUPP`,
//! `--fail read:arg2>=262144=EIO` (only large reads: the dynamic loader's
//! small reads still work), `--kill renameat2`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plan = faultrun::Plan::new().fail("copy_file_range=EXDEV")?;
//! let mut cmd = std::process::Command::new("cp");
//! cmd.args(["a", "b"]);
//! plan.apply_to(&mut cmd)?;
//! let status = cmd.status()?;
//! # Ok(()) }
//! ```
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The command line's usage text.
pub const USAGE: &str = "\
usage: faultrun [--fail SYSCALL[:COND,...]=ERRNO]... [--kill SYSCALL[:COND,...]]... [--] COMMAND [ARG]...
  ERRNO: a name (EIO, ENOSPC, EOPNOTSUPP, ...) or a number; 0 makes the call return 0
  COND:  argN==V, argN!=V, argN>=V, argN<=V, argN>V, argN<V (N = 0..5, V decimal or 0x hex),
         or for ioctl its request: FICLONE, FICLONERANGE, FIDEDUPERANGE or a number";

/// `ioctl` requests known by name (Linux `linux/fs.h`; the same on every
/// architecture we run on).
const IOCTLS: &[(&str, u64)] = &[
    ("FICLONE", 0x4004_9409),
    ("FICLONERANGE", 0x4020_940d),
    ("FIDEDUPERANGE", 0xc018_9436),
];

/// System calls known by name. The numbers come from `libc` for the target
/// architecture; the calls that only x86_64 has are listed for it alone.
const SYSCALLS: &[(&str, libc::c_long)] = &[
    ("close", libc::SYS_close),
    ("copy_file_range", libc::SYS_copy_file_range),
    ("fallocate", libc::SYS_fallocate),
    ("fchmod", libc::SYS_fchmod),
    ("fchmodat", libc::SYS_fchmodat),
    ("fchown", libc::SYS_fchown),
    ("fcntl", libc::SYS_fcntl),
    ("fdatasync", libc::SYS_fdatasync),
    ("fgetxattr", libc::SYS_fgetxattr),
    ("flistxattr", libc::SYS_flistxattr),
    ("fsetxattr", libc::SYS_fsetxattr),
    ("fstatfs", libc::SYS_fstatfs),
    ("fsync", libc::SYS_fsync),
    ("ftruncate", libc::SYS_ftruncate),
    ("ioctl", libc::SYS_ioctl),
    ("linkat", libc::SYS_linkat),
    ("lseek", libc::SYS_lseek),
    ("mkdirat", libc::SYS_mkdirat),
    ("openat", libc::SYS_openat),
    ("pread64", libc::SYS_pread64),
    ("pwrite64", libc::SYS_pwrite64),
    ("read", libc::SYS_read),
    ("readv", libc::SYS_readv),
    ("renameat", libc::SYS_renameat),
    ("renameat2", libc::SYS_renameat2),
    ("sendfile", libc::SYS_sendfile),
    ("splice", libc::SYS_splice),
    ("statx", libc::SYS_statx),
    ("unlinkat", libc::SYS_unlinkat),
    ("utimensat", libc::SYS_utimensat),
    ("write", libc::SYS_write),
    ("writev", libc::SYS_writev),
    #[cfg(target_arch = "x86_64")]
    ("link", libc::SYS_link),
    #[cfg(target_arch = "x86_64")]
    ("open", libc::SYS_open),
    #[cfg(target_arch = "x86_64")]
    ("rename", libc::SYS_rename),
    #[cfg(target_arch = "x86_64")]
    ("unlink", libc::SYS_unlink),
];

/// errno values known by name.
const ERRNOS: &[(&str, i32)] = &[
    ("EPERM", libc::EPERM),
    ("ENOENT", libc::ENOENT),
    ("EINTR", libc::EINTR),
    ("EIO", libc::EIO),
    ("EBADF", libc::EBADF),
    ("EAGAIN", libc::EAGAIN),
    ("ENOMEM", libc::ENOMEM),
    ("EACCES", libc::EACCES),
    ("EEXIST", libc::EEXIST),
    ("EXDEV", libc::EXDEV),
    ("EINVAL", libc::EINVAL),
    ("ENOTTY", libc::ENOTTY),
    ("ETXTBSY", libc::ETXTBSY),
    ("EFBIG", libc::EFBIG),
    ("ENOSPC", libc::ENOSPC),
    ("EROFS", libc::EROFS),
    ("ENOSYS", libc::ENOSYS),
    ("EOPNOTSUPP", libc::EOPNOTSUPP),
    ("ENOTSUP", libc::ENOTSUP),
    ("EDQUOT", libc::EDQUOT),
];

/// A bad rule, or a filter the kernel's BPF cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(msg: impl Into<String>) -> Error {
    Error(msg.into())
}

/// What a matched system call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Fails with this errno without running; `0` returns 0.
    Errno(u32),
    /// Kills the process before the call runs.
    Kill,
}

/// A comparison of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

/// A condition on an argument of the call; all conditions of a rule must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    /// Argument index, 0 to 5.
    pub arg: u8,
    /// The comparison.
    pub op: Op,
    /// The value compared with.
    pub value: u64,
    /// Compare the low 32 bits only (an `int`-sized argument such as an
    /// ioctl request).
    pub low32: bool,
}

/// One rule: a system call, conditions on its arguments, what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The call's name.
    pub syscall: String,
    /// Its number on this architecture.
    pub nr: i64,
    /// Conditions, all of which must hold (none: every call).
    pub conds: Vec<Cond>,
    /// What a matching call does.
    pub action: Action,
}

/// A set of rules to run a command under.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    rules: Vec<Rule>,
}

impl Plan {
    /// No rules.
    pub fn new() -> Plan {
        Plan::default()
    }

    /// Adds a `SYSCALL[:COND,...]=ERRNO` rule.
    pub fn fail(mut self, spec: &str) -> Result<Plan, Error> {
        let (target, errno) = spec
            .rsplit_once('=')
            .ok_or_else(|| err(format!("'{spec}': want SYSCALL[:COND,...]=ERRNO")))?;
        let errno = parse_errno(errno)?;
        self.rules.push(parse_target(target, Action::Errno(errno))?);
        Ok(self)
    }

    /// Adds a `SYSCALL[:COND,...]` rule that kills the process.
    pub fn kill(mut self, spec: &str) -> Result<Plan, Error> {
        self.rules.push(parse_target(spec, Action::Kill)?);
        Ok(self)
    }

    /// The rules so far.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Compiles the rules to BPF: one filter per action, each checking the
    /// architecture first and allowing every call it does not name.
    pub fn compile(&self) -> Result<Filters, Error> {
        let arch = TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|e| err(format!("architecture: {e}")))?;
        // action -> syscall -> rules (None: the call matches unconditionally).
        let mut by_action: BTreeMap<Action, BTreeMap<i64, Option<Vec<SeccompRule>>>> =
            BTreeMap::new();
        for rule in &self.rules {
            let slot = by_action
                .entry(rule.action)
                .or_default()
                .entry(rule.nr)
                .or_insert_with(|| Some(Vec::new()));
            if rule.conds.is_empty() {
                *slot = None;
            } else if let Some(rules) = slot {
                let conds = rule
                    .conds
                    .iter()
                    .map(|c| {
                        let len = if c.low32 {
                            SeccompCmpArgLen::Dword
                        } else {
                            SeccompCmpArgLen::Qword
                        };
                        let op = match c.op {
                            Op::Eq => SeccompCmpOp::Eq,
                            Op::Ne => SeccompCmpOp::Ne,
                            Op::Ge => SeccompCmpOp::Ge,
                            Op::Le => SeccompCmpOp::Le,
                            Op::Gt => SeccompCmpOp::Gt,
                            Op::Lt => SeccompCmpOp::Lt,
                        };
                        SeccompCondition::new(c.arg, len, op, c.value)
                            .map_err(|e| err(format!("{}: {e}", rule.syscall)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let r =
                    SeccompRule::new(conds).map_err(|e| err(format!("{}: {e}", rule.syscall)))?;
                rules.push(r);
            }
        }
        let mut programs = Vec::new();
        for (action, calls) in by_action {
            let matched = match action {
                Action::Errno(e) => SeccompAction::Errno(e),
                Action::Kill => SeccompAction::KillProcess,
            };
            let calls = calls
                .into_iter()
                .map(|(nr, rules)| (nr, rules.unwrap_or_default()))
                .collect();
            let filter = SeccompFilter::new(calls, SeccompAction::Allow, matched, arch)
                .map_err(|e| err(format!("filter: {e}")))?;
            let program: BpfProgram = filter.try_into().map_err(|e| err(format!("filter: {e}")))?;
            programs.push(program);
        }
        Ok(Filters(programs))
    }

    /// Compiles the rules and arranges for `cmd`'s child to install them
    /// just before it executes the program.
    pub fn apply_to(&self, cmd: &mut Command) -> Result<(), Error> {
        let filters = self.compile()?;
        if filters.0.is_empty() {
            return Ok(());
        }
        // SAFETY: the closure runs in the child between fork and exec, where
        // only async-signal-safe work is allowed. `install` makes the prctl
        // and seccomp system calls on programs compiled before the fork and
        // allocates nothing (its errors are raw OS error codes).
        unsafe {
            cmd.pre_exec(move || filters.install());
        }
        Ok(())
    }
}

/// Compiled BPF programs, ready to install.
#[derive(Debug, Clone)]
pub struct Filters(Vec<BpfProgram>);

impl Filters {
    /// Installs the filters on the calling thread (after setting
    /// `PR_SET_NO_NEW_PRIVS`, which an unprivileged process needs). They
    /// stay for the rest of its life and pass to its children and across
    /// `exec`.
    pub fn install(&self) -> io::Result<()> {
        for program in &self.0 {
            seccompiler::apply_filter(program).map_err(|e| match e {
                seccompiler::Error::Prctl(e) | seccompiler::Error::Seccomp(e) => e,
                _ => io::Error::from(io::ErrorKind::InvalidInput),
            })?;
        }
        Ok(())
    }
}

/// Parses the command line: rules, then `[--] COMMAND [ARG]...`.
pub fn parse_args(args: &[String]) -> Result<(Plan, Vec<String>), Error> {
    let mut plan = Plan::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let value = |i: usize| {
            args.get(i + 1)
                .ok_or_else(|| err(format!("{a} needs a rule")))
        };
        if a == "--" {
            i += 1;
            break;
        } else if a == "--fail" {
            plan = plan.fail(value(i)?)?;
            i += 2;
        } else if let Some(spec) = a.strip_prefix("--fail=") {
            plan = plan.fail(spec)?;
            i += 1;
        } else if a == "--kill" {
            plan = plan.kill(value(i)?)?;
            i += 2;
        } else if let Some(spec) = a.strip_prefix("--kill=") {
            plan = plan.kill(spec)?;
            i += 1;
        } else if a.starts_with("--") {
            return Err(err(format!("unknown option {a}")));
        } else {
            break;
        }
    }
    let command = args[i..].to_vec();
    if command.is_empty() {
        return Err(err("no command given"));
    }
    Ok((plan, command))
}

fn parse_target(spec: &str, action: Action) -> Result<Rule, Error> {
    let (name, conds) = match spec.split_once(':') {
        Some((n, c)) => (n, Some(c)),
        None => (spec, None),
    };
    let nr = SYSCALLS
        .iter()
        .find(|(n, _)| *n == name)
        // `c_long` is `i64` here, `i32` on 32-bit targets.
        .map(|&(_, nr)| {
            #[allow(clippy::useless_conversion)]
            i64::from(nr)
        })
        .ok_or_else(|| {
            let known: Vec<&str> = SYSCALLS.iter().map(|(n, _)| *n).collect();
            err(format!(
                "unknown system call '{name}' (known: {})",
                known.join(", ")
            ))
        })?;
    let mut parsed = Vec::new();
    for c in conds.into_iter().flat_map(|c| c.split(',')) {
        parsed.push(parse_cond(name, c)?);
    }
    Ok(Rule {
        syscall: name.to_owned(),
        nr,
        conds: parsed,
        action,
    })
}

fn parse_cond(syscall: &str, c: &str) -> Result<Cond, Error> {
    if let Some(rest) = c.strip_prefix("arg") {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let arg: u8 = rest[..digits]
            .parse()
            .ok()
            .filter(|&n| n <= 5)
            .ok_or_else(|| err(format!("'{c}': argument index 0 to 5")))?;
        let rest = &rest[digits..];
        let (op, value) = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">", Op::Gt),
            ("<", Op::Lt),
        ]
        .iter()
        .find_map(|&(s, op)| rest.strip_prefix(s).map(|v| (op, v)))
        .ok_or_else(|| err(format!("'{c}': want argN==V, !=, >=, <=, > or <")))?;
        return Ok(Cond {
            arg,
            op,
            value: parse_number(value)?,
            low32: false,
        });
    }
    if syscall != "ioctl" {
        return Err(err(format!(
            "'{c}': a bare value is an ioctl request; use argN==V for {syscall}"
        )));
    }
    let value = match IOCTLS.iter().find(|(n, _)| *n == c) {
        Some(&(_, v)) => v,
        None => parse_number(c)?,
    };
    Ok(Cond {
        arg: 1,
        op: Op::Eq,
        value,
        low32: true,
    })
}

fn parse_number(s: &str) -> Result<u64, Error> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| err(format!("'{s}' is not a number")))
}

fn parse_errno(s: &str) -> Result<u32, Error> {
    if let Some(&(_, e)) = ERRNOS.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(e as u32);
    }
    match s.parse::<u32>() {
        // SECCOMP_RET_DATA holds 16 bits; errno values stay under 4096.
        Ok(n) if n < 4096 => Ok(n),
        _ => Err(err(format!("'{s}' is not an errno name or number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rule_forms() {
        let p = Plan::new()
            .fail("copy_file_range=EPERM")
            .unwrap()
            .fail("copy_file_range=0")
            .unwrap()
            .fail("ioctl:FICLONE=EOPNOTSUPP")
            .unwrap()
            .fail("read:arg2>=262144,arg0!=0=5")
            .unwrap()
            .kill("renameat2")
            .unwrap();
        let r = p.rules();
        assert_eq!(r[0].action, Action::Errno(libc::EPERM as u32));
        assert_eq!(r[0].nr, libc::SYS_copy_file_range);
        assert_eq!(r[1].action, Action::Errno(0));
        assert_eq!(
            r[2].conds,
            [Cond {
                arg: 1,
                op: Op::Eq,
                value: 0x4004_9409,
                low32: true
            }]
        );
        assert_eq!(r[2].action, Action::Errno(95));
        assert_eq!(r[3].conds.len(), 2);
        assert_eq!(r[3].conds[0].op, Op::Ge);
        assert_eq!(r[3].conds[0].value, 262_144);
        assert_eq!(r[3].conds[1].op, Op::Ne);
        assert_eq!(r[3].action, Action::Errno(5));
        assert_eq!(r[4].action, Action::Kill);
        // One filter per distinct action: EPERM, 0, EOPNOTSUPP, EIO, kill.
        assert_eq!(p.compile().unwrap().0.len(), 5);
    }

    #[test]
    fn rejects_bad_rules() {
        for bad in [
            "copy_file_range",
            "nosuchcall=EIO",
            "read=ENOTANERRNO",
            "read:arg9==1=EIO",
            "read:arg1~1=EIO",
            "read:FICLONE=EIO",
            "ioctl:0xZZ=EIO",
            "read=70000",
        ] {
            assert!(Plan::new().fail(bad).is_err(), "{bad}");
        }
        assert!(Plan::new().kill("nosuchcall").is_err());
    }

    #[test]
    fn command_line() {
        let args: Vec<String> = [
            "--fail",
            "fallocate=EOPNOTSUPP",
            "--kill=renameat2",
            "--",
            "cp",
            "-a",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (plan, cmd) = parse_args(&args).unwrap();
        assert_eq!(plan.rules().len(), 2);
        assert_eq!(cmd, ["cp", "-a"]);
        assert!(parse_args(&["--fail".to_string()]).is_err());
        assert!(parse_args(&["--fail=read=EIO".to_string()]).is_err());
        assert!(parse_args(&["--bogus".to_string(), "x".to_string()]).is_err());
    }
}
