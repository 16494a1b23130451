//! `fastcopy clean DIR...`: removes the temporary files that copies killed
//! part way (SIGKILL, power loss) left in these directories: only regular
//! files and tree staging directories with fastcopy's temporary name whose
//! process no longer exists.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Parser;
use serde_json::json;

/// Remove leftovers of killed copies (.NAME.fastcopy-tmp-PID-...) whose
/// process is gone. Not for directories shared with other machines or PID
/// namespaces, whose process ids mean nothing here.
#[derive(Debug, Parser)]
#[command(name = "fastcopy --clean")]
pub struct CleanCli {
    /// Directories to clean (not recursive)
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,

    /// Print one JSON object per removed file ({"removed": PATH})
    #[arg(long)]
    pub json: bool,
}

/// Cleans every directory; returns the exit code: 0, or 1 if a directory
/// could not be read or a temporary in it could not be removed (the others
/// are removed all the same).
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = CleanCli::parse_from(args);
    let mut code = 0;
    let mut out = io::stdout().lock();
    for dir in &cli.dirs {
        match fastcopy::stale::remove_stale_temporaries(dir) {
            Ok(done) => {
                for e in &done.failed {
                    eprintln!("fastcopy clean: {e}");
                    code = 1;
                }
                for path in done.removed {
                    let line = if cli.json {
                        json!({ "removed": path }).to_string()
                    } else {
                        format!("removed '{}'", path.display())
                    };
                    if writeln!(out, "{line}").is_err() {
                        return code;
                    }
                }
            }
            Err(e) => {
                eprintln!("fastcopy clean: cannot clean '{}': {e}", dir.display());
                code = 1;
            }
        }
    }
    code
}
