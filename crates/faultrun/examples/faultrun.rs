//! `faultrun`: runs a command with chosen system calls failing.
//! `cargo run -p faultrun --example faultrun -- ARGS`.
//!
//! ```text
//! faultrun [--fail RULE=ACTION]... [--kill RULE]... [--] COMMAND [ARG]...
//! ```
//!
//! See the library's documentation for the rule syntax.

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    use std::os::unix::process::CommandExt;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let (plan, command) = match faultrun::parse_args(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("faultrun: {e}\n\n{}", faultrun::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    if let Err(e) = plan.apply_to(&mut cmd) {
        eprintln!("faultrun: {e}");
        return std::process::ExitCode::from(2);
    }
    // Only returns on failure.
    let e = cmd.exec();
    eprintln!("faultrun: cannot run '{}': {e}", command[0]);
    std::process::ExitCode::from(127)
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("faultrun: seccomp filters exist on Linux only");
    std::process::ExitCode::from(2)
}
