//! The command line: clap's derive struct and its conversion to
//! [`fastcopy::CopyOptions`].

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::PathBuf;
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
    disable_help_subcommand = true,
    override_usage = "fastcopy [OPTIONS] SOURCE DEST\n       \
                      fastcopy [OPTIONS] SOURCE... DIRECTORY\n       \
                      fastcopy [OPTIONS] -t DIRECTORY SOURCE...\n       \
                      fastcopy --probe [DIR] | --bench [DIR] | --clean DIR...   (tools, see below)",
    after_help = AFTER_HELP,
    after_long_help = AFTER_HELP,
)]
pub struct Cli {
    /// Files to copy, then DEST (unless -t); never taken for a command
    #[arg(value_name = "OPERAND")]
    pub operands: Vec<PathBuf>,

    /// Copy every SOURCE into DIRECTORY
    #[arg(short = 't', long, value_name = "DIRECTORY")]
    pub target_directory: Option<PathBuf>,

    /// Treat DEST as a normal file, never as a directory to copy into (with
    /// -r, an existing directory DEST is filled with SOURCE's contents)
    #[arg(short = 'T', long, conflicts_with = "target_directory")]
    pub no_target_directory: bool,

    /// Copy directories with everything in them
    #[arg(short = 'r', short_alias = 'R', long)]
    pub recursive: bool,

    /// Same as -dR --preserve=all
    #[arg(short = 'a', long)]
    pub archive: bool,

    /// Same as --preserve=mode,ownership,timestamps
    #[arg(short = 'p')]
    pub preserve_default: bool,

    /// Keep these attributes (default: mode,ownership,timestamps); LIST is
    /// mode, ownership, timestamps, xattr, links, all
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        value_enum,
        num_args = 0..=1,
        require_equals = true,
        default_missing_values = ["mode", "ownership", "timestamps"]
    )]
    pub preserve: Vec<Attribute>,

    /// Do not keep these attributes (same LIST as --preserve); fastcopy
    /// keeps mode and timestamps unless told so, unlike cp
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_enum)]
    pub no_preserve: Vec<Attribute>,

    /// Same as --no-dereference --preserve=links
    #[arg(short = 'd')]
    pub no_deref_preserve_links: bool,

    /// Never follow symbolic links in SOURCE (copy them as links)
    #[arg(short = 'P', long, overrides_with_all = ["dereference", "command_line_links"])]
    pub no_dereference: bool,

    /// Follow symbolic links given as SOURCE, not those found inside them
    #[arg(short = 'H', overrides_with_all = ["dereference", "no_dereference"])]
    pub command_line_links: bool,

    /// Always follow symbolic links in SOURCE
    #[arg(short = 'L', long, overrides_with_all = ["no_dereference", "command_line_links"])]
    pub dereference: bool,

    /// Replace an existing destination even when it may not be written
    /// (it is removed first), as cp -f does
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Ask before overwriting (reads the answer from standard input; no
    /// answer, or anything but y/yes, skips the file)
    #[arg(short = 'i', long, overrides_with = "no_clobber")]
    pub interactive: bool,

    /// Never overwrite an existing destination: skip it silently, exit 0
    /// (cp 9.5; --update=none-fail makes it an error)
    #[arg(short = 'n', long, overrides_with = "interactive")]
    pub no_clobber: bool,

    /// Control which existing destinations are replaced
    ///
    ///   all:       replace every one (the default without -u)
    ///   none:      replace none, skip silently (like -n)
    ///   none-fail: replace none, each one is an error
    ///   older:     replace only those older than the source (-u alone)
    #[arg(
        short = 'u',
        long,
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "older",
        value_enum,
        hide_possible_values = true,
        verbatim_doc_comment
    )]
    pub update: Option<Update>,

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

    /// Share data blocks with the source (copy-on-write clone)
    ///
    ///   auto:   clone where the filesystem can, copy the data elsewhere
    ///   always: clone or fail, leaving nothing behind (--reflink alone)
    ///   never:  always copy the data, even where copy_file_range would clone
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "auto",
        default_missing_value = "always",
        num_args = 0..=1,
        require_equals = true,
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

    /// Copy extended attributes (same as --preserve=xattr)
    #[arg(long)]
    pub xattrs: bool,

    /// Write into the existing destination file instead of replacing it
    /// atomically: keeps its hard links, owner and ACLs and needs no room
    /// for two copies, but a failed copy leaves it partly written
    #[arg(long)]
    pub in_place: bool,

    /// Copy a source that changes during the copy (a growing log) with a
    /// warning, instead of failing and keeping the old destination
    #[arg(long)]
    pub accept_changing_source: bool,

    /// Create missing parent directories of the destination (unlike cp's
    /// --parents, the source's path is not reproduced); nothing is created
    /// when the copy fails
    #[arg(long)]
    pub parents: bool,

    /// Print one line per copied file, as cp does: 'SOURCE' -> 'DEST'
    #[arg(short, long)]
    pub verbose: bool,

    /// Explain how each file was copied: method, size, time, and the
    /// methods that were tried and declined (implies -v)
    #[arg(long)]
    pub debug: bool,

    /// Print one JSON object per file (JSON Lines) on stdout instead; a
    /// name that is not UTF-8 also comes as KEY_bytes, its exact bytes
    #[arg(long)]
    pub json: bool,

    /// Print totals after all files (stderr; a final JSON line with --json)
    #[arg(long)]
    pub stats: bool,

    /// Never show a progress bar (shown on a terminal for files of 64 MiB or more)
    #[arg(long)]
    pub no_progress: bool,
}

const AFTER_HELP: &str = "\
With two operands, DEST is the new file, or an existing directory to copy into.
With more, the last operand must be an existing directory (or use -t DIRECTORY).
With -r, a directory SOURCE is copied with its contents: into DEST/NAME when
DEST is an existing directory, otherwise DEST is created as its copy; a SOURCE
ending in /. (src/.) fills DEST with the contents, as cp does.
Operands are always files: 'fastcopy probe out' copies the file probe.

Differences from cp (see docs/cp-compat.md):
  - permission bits and timestamps are kept by default (cp needs -p);
    --no-preserve=mode,timestamps turns that off
  - as root, owner and group are kept (as cp -p does)
  - an existing destination is replaced atomically by a new file (a new
    inode: other hard links keep the old content); --in-place writes into it
  - a source that changes while it is copied is an error
    (--accept-changing-source)

Tools (each is an option of its own, never taken from a file name):
  fastcopy --probe [DIR] [--json]      what DIR's filesystem supports
  fastcopy --bench [DIR] [OPTIONS]     time every copy method on DIR
  fastcopy --clean DIR... [--json]     remove leftovers of killed copies
  fastcopy --probe --help              (and so on) for their options
  fastcopy help                        this help

Exit status: 0 if every file was copied (or skipped as asked), 1 if any copy
failed, 2 for usage errors, 130 after Ctrl-C (143 after SIGTERM).";

/// An attribute `--preserve` and `--no-preserve` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Attribute {
    /// Permission bits
    Mode,
    /// Owner and group (only root can give a file away)
    Ownership,
    /// Access and modification times
    Timestamps,
    /// Extended attributes
    Xattr,
    /// Hard links between copied files (kept by -r anyway)
    Links,
    /// All of the above
    All,
}

/// `--update=WHEN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Update {
    /// Replace every existing destination
    All,
    /// Replace none, skipping silently
    None,
    /// Replace none; each existing destination is an error
    NoneFail,
    /// Replace only destinations older than the source
    Older,
}

/// How symbolic links among the sources are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deref {
    /// -L: follow every link.
    Always,
    /// -H: follow links given as operands only.
    CommandLine,
    /// -P: copy links as links.
    Never,
}

impl Cli {
    /// Whether directories are copied.
    pub fn recursive(&self) -> bool {
        self.recursive || self.archive
    }

    /// How symbolic links are treated: the last of -L/-H/-P, then -d/-a
    /// (no dereference), then cp's default: follow without -r, not with it.
    pub fn deref(&self) -> Deref {
        if self.dereference {
            Deref::Always
        } else if self.command_line_links {
            Deref::CommandLine
        } else if self.no_dereference || self.no_deref_preserve_links || self.recursive() {
            Deref::Never
        } else {
            Deref::Always
        }
    }

    /// Whether `a` is dropped by --no-preserve (fastcopy keeps mode and
    /// times unless told so; --preserve only adds to that).
    fn drops(&self, a: Attribute) -> bool {
        self.no_preserve
            .iter()
            .any(|&d| d == a || d == Attribute::All)
    }

    /// Whether `a` is asked for by -a, -p, --preserve or --xattrs.
    fn keeps(&self, a: Attribute) -> bool {
        let listed = self.preserve.iter().any(|&p| p == a || p == Attribute::All);
        let by_p = self.preserve_default
            && matches!(
                a,
                Attribute::Mode | Attribute::Ownership | Attribute::Timestamps
            );
        listed || by_p || self.archive || (a == Attribute::Xattr && self.xattrs)
    }

    /// The overwrite policy: the last of -n/-i, then --update.
    pub fn overwrite(&self) -> Overwrite {
        if self.no_clobber {
            return Overwrite::Skip;
        }
        match self.update {
            None | Some(Update::All) => Overwrite::Replace,
            Some(Update::None) => Overwrite::Skip,
            Some(Update::NoneFail) => Overwrite::NoClobber,
            Some(Update::Older) => Overwrite::Older,
        }
    }

    /// The library options these arguments ask for (without progress).
    pub fn copy_options(&self) -> CopyOptions {
        CopyOptions::new()
            .overwrite(self.overwrite())
            .reflink(self.reflink)
            .direct_io(self.direct_io)
            .preallocate(self.preallocate)
            .fsync(self.fsync)
            .preserve_xattrs(self.keeps(Attribute::Xattr) && !self.drops(Attribute::Xattr))
            .preserve_mode(!self.drops(Attribute::Mode))
            .preserve_times(!self.drops(Attribute::Timestamps))
            .create_parents(self.parents)
            .force(self.force)
            .in_place(self.in_place)
            .accept_changing_source(self.accept_changing_source)
    }

    /// The library options for `-r`.
    pub fn tree_options(&self) -> TreeOptions {
        TreeOptions::new()
            .copy_options(self.copy_options())
            .jobs(self.jobs)
            .follow_links(self.deref() == Deref::Always)
            .fail_fast(self.fail_fast)
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
        assert_eq!(cli.operands, [PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(cli.deref(), Deref::Always);
        assert!(!cli.recursive());
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
            "--update=none-fail",
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
        assert!(cli.recursive());
        let dbg = format!("{:?}", cli.tree_options());
        for field in ["jobs: 3", "follow_links: true", "fail_fast: true"] {
            assert!(dbg.contains(field), "{field} in {dbg}");
        }
        let cli = parse(&["-r", "a", "b"]).unwrap();
        let dbg = format!("{:?}", cli.tree_options());
        assert!(
            dbg.contains("jobs: 0") && dbg.contains("follow_links: false"),
            "{dbg}"
        );
    }

    #[test]
    fn cp_spellings_parse() {
        let cli = parse(&["-a", "a", "b"]).unwrap();
        assert!(cli.recursive());
        assert_eq!(cli.deref(), Deref::Never);
        assert!(format!("{:?}", cli.copy_options()).contains("preserve_xattrs: true"));
        let cli = parse(&["-r", "a", "b"]).unwrap();
        assert_eq!(cli.deref(), Deref::Never);
        let cli = parse(&["-rH", "a", "b"]).unwrap();
        assert_eq!(cli.deref(), Deref::CommandLine);
        let cli = parse(&["-L", "-P", "a", "b"]).unwrap();
        assert_eq!(cli.deref(), Deref::Never);
        let cli = parse(&["-P", "-L", "a", "b"]).unwrap();
        assert_eq!(cli.deref(), Deref::Always);
        let cli = parse(&["--reflink", "a", "b"]).unwrap();
        assert_eq!(cli.reflink, Reflink::Always);
        assert_eq!(cli.operands.len(), 2);
        let cli = parse(&["--preserve", "a", "b"]).unwrap();
        assert_eq!(
            cli.preserve,
            [Attribute::Mode, Attribute::Ownership, Attribute::Timestamps]
        );
        let cli = parse(&["--preserve=all", "a", "b"]).unwrap();
        assert!(format!("{:?}", cli.copy_options()).contains("preserve_xattrs: true"));
        for (arg, want) in [
            ("-u", Update::Older),
            ("--update", Update::Older),
            ("--update=all", Update::All),
            ("--update=none", Update::None),
            ("--update=none-fail", Update::NoneFail),
            ("--update=older", Update::Older),
        ] {
            let cli = parse(&[arg, "a", "b"]).unwrap();
            assert_eq!(cli.update, Some(want), "{arg}");
            assert_eq!(cli.operands.len(), 2, "{arg}");
        }
        let cli = parse(&["-p", "-f", "-i", "-n", "-t", "d", "a"]).unwrap();
        assert!(cli.preserve_default && cli.force && cli.no_clobber && !cli.interactive);
        assert_eq!(cli.target_directory, Some(PathBuf::from("d")));
        assert!(parse(&["-t", "d", "-T", "a", "b"]).is_err());
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
        let err = parse(&["--preserve=context", "a", "b"]).unwrap_err();
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
            let cli = parse(&[&format!("--reflink={name}"), "a", "b"]).unwrap();
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
