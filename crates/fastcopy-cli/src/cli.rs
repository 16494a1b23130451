//! The command line: clap's derive struct and its conversion to
//! [`fastcopy::CopyOptions`].

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Parser, ValueEnum};
use fastcopy::{CopyOptions, DirectIo, Overwrite, Preallocate, Reflink, TreeOptions};

/// Copy files with the fastest method the system offers (clone,
/// copy_file_range, read/write), never leaving a partial file behind.
#[derive(Debug, Parser)]
#[command(
    name = "fastcopy",
    version,
    override_usage = "fastcopy [OPTIONS] SOURCE DEST\n       fastcopy [OPTIONS] SOURCE... DIRECTORY\n       fastcopy -r [OPTIONS] SOURCE... DEST",
    after_help = "With one SOURCE, DEST is the new file, or an existing directory to copy into.\n\
                  With several, the last argument must be an existing directory.\n\
                  With -r, a directory SOURCE is copied with its contents: into DEST/NAME when\n\
                  DEST is an existing directory, otherwise DEST is created as its copy.\n\
                  Exit status: 0 if every file was copied, 1 if any copy failed, 2 for usage errors."
)]
pub struct Cli {
    /// Files to copy
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<PathBuf>,

    /// The new file, or the directory to copy into
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,

    /// Do not overwrite an existing destination (refusing is an error)
    #[arg(short = 'n', long)]
    pub no_clobber: bool,

    /// Copy directories with everything in them
    #[arg(short = 'r', short_alias = 'R', long)]
    pub recursive: bool,

    /// With -r: follow symbolic links in the sources (default: copy them as links)
    #[arg(short = 'L', long)]
    pub dereference: bool,

    /// With -r: worker threads (default: one per core)
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub jobs: usize,

    /// With -r: stop at the first failure (default: copy the rest, exit 1 at the end)
    #[arg(long)]
    pub fail_fast: bool,

    /// With -r: copy a file only when the source is newer or differs in size
    #[arg(short = 'u', long)]
    pub update: bool,

    /// Share data blocks with the source (copy-on-write clone)
    ///
    ///   auto:   clone where the filesystem can, copy the data elsewhere
    ///   always: clone or fail, leaving nothing behind
    ///   never:  always copy the data, even where copy_file_range would clone
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "auto",
        value_parser = ModeParser::<Reflink>::new(),
        verbatim_doc_comment
    )]
    pub reflink: Reflink,

    /// Bypass the page cache (O_DIRECT) for the data copy
    ///
    ///   auto:   let fastcopy decide (today: off)
    ///   always: use it, falling back to buffered I/O where refused
    ///   never:  do not use it
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "auto",
        value_parser = ModeParser::<DirectIo>::new(),
        verbatim_doc_comment
    )]
    pub direct_io: DirectIo,

    /// Reserve the destination's space before writing data (fallocate)
    ///
    ///   auto:   let fastcopy decide (Linux: copy_file_range within one ext4,
    ///           files of 16 MiB or more, where it was measured to win)
    ///   always: for every data copy (--preallocate alone means this)
    ///   never:  do not
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "auto",
        default_missing_value = "always",
        num_args = 0..=1,
        require_equals = true,
        value_parser = ModeParser::<Preallocate>::new(),
        verbatim_doc_comment
    )]
    pub preallocate: Preallocate,

    /// Flush each new file to stable storage before moving it into place
    #[arg(long)]
    pub fsync: bool,

    /// Copy extended attributes
    #[arg(long)]
    pub xattrs: bool,

    /// Do not keep these attributes (comma-separated); without it,
    /// permissions and timestamps are kept
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_enum)]
    pub no_preserve: Vec<Attribute>,

    /// Create missing parent directories of the destination (unlike cp's
    /// --parents, the source's path is not reproduced)
    #[arg(long)]
    pub parents: bool,

    /// Print one line per copied file: how, how much, how long
    #[arg(short, long)]
    pub verbose: bool,

    /// Print one JSON object per file (JSON Lines) on stdout instead
    #[arg(long)]
    pub json: bool,

    /// Print totals after all files (stderr; a final JSON line with --json)
    #[arg(long)]
    pub stats: bool,

    /// Never show a progress bar (shown on a terminal for files of 64 MiB or more)
    #[arg(long)]
    pub no_progress: bool,
}

/// An attribute `--no-preserve` can drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Attribute {
    /// Permission bits (the new file gets the source's, masked by the umask)
    Mode,
    /// Access and modification times (the new file gets the current time)
    Timestamps,
    /// Both of the above
    All,
}

impl Cli {
    /// The library options these arguments ask for (without progress).
    pub fn copy_options(&self) -> CopyOptions {
        let drops = |a: Attribute| {
            self.no_preserve
                .iter()
                .any(|&d| d == a || d == Attribute::All)
        };
        CopyOptions::new()
            .overwrite(if self.no_clobber {
                Overwrite::NoClobber
            } else if self.update {
                Overwrite::Older
            } else {
                Overwrite::Replace
            })
            .reflink(self.reflink)
            .direct_io(self.direct_io)
            .preallocate(self.preallocate)
            .fsync(self.fsync)
            .preserve_xattrs(self.xattrs)
            .preserve_mode(!drops(Attribute::Mode))
            .preserve_times(!drops(Attribute::Timestamps))
            .create_parents(self.parents)
    }

    /// The library options for `-r`.
    pub fn tree_options(&self) -> TreeOptions {
        TreeOptions::new()
            .copy_options(self.copy_options())
            .jobs(self.jobs)
            .follow_links(self.dereference)
            .fail_fast(self.fail_fast)
    }

    /// With several sources, the directory they go into; `None` with one.
    pub fn target_directory(&self) -> Option<&Path> {
        (self.sources.len() > 1).then_some(self.dest.as_path())
    }
}

/// A mode enum of the library that the command line offers.
pub trait Mode: FromStr<Err = fastcopy::ParseModeError> + Clone + Send + Sync + 'static {
    /// Every accepted name, for `--help` and completions.
    const NAMES: &'static [&'static str];
}

impl Mode for Reflink {
    const NAMES: &'static [&'static str] = &["auto", "always", "never"];
}

impl Mode for DirectIo {
    const NAMES: &'static [&'static str] = &["auto", "always", "never"];
}

impl Mode for Preallocate {
    const NAMES: &'static [&'static str] = &["auto", "always", "never"];
}

/// Parses a mode with the library's `FromStr` (so the library stays the one
/// place that knows the names) while telling clap the possible values.
#[derive(Clone, Debug)]
pub struct ModeParser<T>(PhantomData<T>);

impl<T> ModeParser<T> {
    fn new() -> Self {
        ModeParser(PhantomData)
    }
}

impl<T: Mode> TypedValueParser for ModeParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let s = value
            .to_str()
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        s.parse::<T>().map_err(|e| {
            let arg = arg.map_or_else(|| "...".to_owned(), ToString::to_string);
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{s}' for '{arg}': {e}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(T::NAMES.iter().map(PossibleValue::new)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fastcopy").chain(args.iter().copied()))
    }

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_match_cp() {
        let cli = parse(&["a", "b"]).unwrap();
        assert_eq!(cli.sources, [PathBuf::from("a")]);
        assert_eq!(cli.dest, PathBuf::from("b"));
        assert_eq!(cli.target_directory(), None);
        let o = cli.copy_options();
        assert_eq!(o.overwrite_mode(), Overwrite::Replace);
        assert_eq!(o.reflink_mode(), Reflink::Auto);
        assert_eq!(o.direct_io_mode(), DirectIo::Auto);
        let dbg = format!("{o:?}");
        for field in [
            "preserve_times: true",
            "preserve_mode: true",
            "preserve_xattrs: false",
            "preallocate: Auto",
            "create_parents: false",
            "fsync: false",
        ] {
            assert!(dbg.contains(field), "{field} in {dbg}");
        }
    }

    #[test]
    fn every_flag_reaches_the_options() {
        let cli = parse(&[
            "-n",
            "--reflink=never",
            "--direct-io",
            "always",
            "--preallocate",
            "--fsync",
            "--xattrs",
            "--parents",
            "a",
            "b",
        ])
        .unwrap();
        let o = cli.copy_options();
        assert_eq!(o.overwrite_mode(), Overwrite::NoClobber);
        assert_eq!(o.reflink_mode(), Reflink::Never);
        assert_eq!(o.direct_io_mode(), DirectIo::Always);
        let dbg = format!("{o:?}");
        for field in [
            "preserve_xattrs: true",
            "preallocate: Always",
            "create_parents: true",
            "fsync: true",
        ] {
            assert!(dbg.contains(field), "{field} in {dbg}");
        }
    }

    #[test]
    fn tree_flags_reach_the_tree_options() {
        let cli = parse(&["-R", "-L", "-j", "3", "--fail-fast", "-u", "a", "b"]).unwrap();
        assert!(cli.recursive);
        let dbg = format!("{:?}", cli.tree_options());
        for field in [
            "jobs: 3",
            "follow_links: true",
            "fail_fast: true",
            "overwrite: Older",
        ] {
            assert!(dbg.contains(field), "{field} in {dbg}");
        }
        let cli = parse(&["a", "b"]).unwrap();
        assert!(!cli.recursive);
        let dbg = format!("{:?}", cli.tree_options());
        assert!(
            dbg.contains("jobs: 0") && dbg.contains("follow_links: false"),
            "{dbg}"
        );
    }

    #[test]
    fn several_sources_then_a_directory() {
        let cli = parse(&["a", "b", "c", "dir"]).unwrap();
        assert_eq!(cli.sources.len(), 3);
        assert_eq!(cli.target_directory(), Some(Path::new("dir")));
    }

    #[test]
    fn needs_a_source_and_a_destination() {
        for args in [&[][..], &["only"][..]] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn no_preserve_takes_a_list() {
        let cli = parse(&["--no-preserve=mode", "a", "b"]).unwrap();
        assert!(format!("{:?}", cli.copy_options()).contains("preserve_mode: false"));
        assert!(format!("{:?}", cli.copy_options()).contains("preserve_times: true"));

        let cli = parse(&["--no-preserve=timestamps,mode", "a", "b"]).unwrap();
        let dbg = format!("{:?}", cli.copy_options());
        assert!(dbg.contains("preserve_mode: false") && dbg.contains("preserve_times: false"));

        let cli = parse(&["--no-preserve", "all", "a", "b"]).unwrap();
        let dbg = format!("{:?}", cli.copy_options());
        assert!(dbg.contains("preserve_mode: false") && dbg.contains("preserve_times: false"));

        let cli = parse(&["--no-preserve=mode", "--no-preserve=timestamps", "a", "b"]).unwrap();
        assert_eq!(cli.no_preserve, [Attribute::Mode, Attribute::Timestamps]);
    }

    #[test]
    fn unknown_attribute_is_a_usage_error() {
        let err = parse(&["--no-preserve=mode,owner", "a", "b"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn modes_use_the_library_parser() {
        for (name, mode) in [
            ("auto", Reflink::Auto),
            ("always", Reflink::Always),
            ("never", Reflink::Never),
            ("NEVER", Reflink::Never),
        ] {
            let cli = parse(&["--reflink", name, "a", "b"]).unwrap();
            assert_eq!(cli.reflink, mode);
        }
        // Every advertised name parses, to distinct modes, and round-trips.
        for names in [<Reflink as Mode>::NAMES, <DirectIo as Mode>::NAMES] {
            assert_eq!(names.len(), 3);
        }
        for name in <Reflink as Mode>::NAMES {
            assert_eq!(name.parse::<Reflink>().unwrap().as_str(), *name);
        }
        for name in <DirectIo as Mode>::NAMES {
            assert_eq!(name.parse::<DirectIo>().unwrap().as_str(), *name);
        }
    }

    #[test]
    fn bad_mode_is_a_usage_error_naming_the_choices() {
        let err = parse(&["--reflink=sometimes", "a", "b"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.contains("'sometimes'"), "{msg}");
        assert!(msg.contains("--reflink"), "{msg}");
        assert!(msg.contains("auto always never"), "{msg}");

        let err = parse(&["--direct-io=maybe", "a", "b"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn help_names_the_possible_values() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("auto, always, never"), "{help}");
        assert!(help.contains("mode"), "{help}");
        assert!(help.contains("timestamps"), "{help}");
        assert!(
            help.to_lowercase()
                .contains("create missing parent directories of the destination")
        );
    }
}
