//! `fastcopy probe [DIR]`: what DIR's filesystem supports, each capability
//! tried for real by the library on small temporary files.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Parser;
use fastcopy::{Probe, Support};
use serde_json::{Map, Value, json};

/// Try what the filesystem of DIR can do: clone, copy_file_range (and
/// whether it clones), direct I/O, holes, no-clobber rename.
#[derive(Debug, Parser)]
#[command(name = "fastcopy --probe")]
pub struct ProbeCli {
    /// A directory on the filesystem to probe (a few small files are
    /// written there and removed)
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Print one JSON object: a boolean per capability, and the reasons
    #[arg(long)]
    pub json: bool,
}

/// The capabilities in a stable order, with their JSON and human names.
fn capabilities(p: &Probe) -> [(&'static str, &'static str, &Support); 7] {
    [
        ("clone", "clone (reflink)", &p.clone),
        ("copy_file_range", "copy_file_range", &p.copy_file_range),
        (
            "copy_file_range_clones",
            "copy_file_range clones",
            &p.copy_file_range_clones,
        ),
        ("direct_io", "direct I/O", &p.direct_io),
        ("sparse_holes", "sparse holes", &p.sparse_holes),
        ("copy_keeps_holes", "copy keeps holes", &p.copy_keeps_holes),
        (
            "noclobber_rename",
            "atomic no-clobber rename",
            &p.noclobber_rename,
        ),
    ]
}

pub fn to_json(p: &Probe) -> Value {
    let mut obj = Map::new();
    obj.insert("path".into(), json!(p.path));
    obj.insert("filesystem".into(), json!(p.filesystem));
    let mut details = Map::new();
    for (key, _, s) in capabilities(p) {
        obj.insert(key.into(), json!(s.works()));
        details.insert(key.into(), json!(s.reason()));
    }
    obj.insert("direct_io_alignment".into(), json!(p.direct_io_alignment));
    obj.insert("details".into(), Value::Object(details));
    Value::Object(obj)
}

pub fn to_text(p: &Probe) -> String {
    let mut s = format!("{} ({})\n", p.path.display(), p.filesystem);
    for (key, name, sup) in capabilities(p) {
        let answer = match sup {
            Support::Yes if key == "direct_io" => match p.direct_io_alignment {
                Some(a) => format!("yes (aligned to {a} bytes)"),
                None => "yes".into(),
            },
            Support::Yes => "yes".into(),
            Support::No(why) => format!("no: {why}"),
            Support::Unknown(why) => format!("unknown: {why}"),
        };
        s += &format!("  {name:26} {answer}\n");
    }
    s
}

/// Runs the probe and prints it. Returns the process exit code.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = ProbeCli::parse_from(args);
    let probe = match fastcopy::probe(&cli.dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fastcopy probe: cannot probe '{}': {e}", cli.dir.display());
            return 1;
        }
    };
    let text = if cli.json {
        format!("{}\n", to_json(&probe))
    } else {
        to_text(&probe)
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("fastcopy probe: cannot write to standard output: {e}");
            1
        }
    }
}
