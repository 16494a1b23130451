//! `fastcopy bench [DIR]`: every copy method available on DIR's filesystem,
//! timed in this process against two baselines (a 32 KiB read/write loop,
//! what a Go `io.Copy` does, and `std::fs::copy`), for several file sizes,
//! with a warm and a cold page cache. Runs are interleaved (A B C A B C ...)
//! so that the noise of a shared machine hits every method alike.

use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use fastcopy::{CopyOptions, DirectIo, Method, Preallocate, Reflink};
use serde_json::{Value, json};

use crate::output::{format_duration, format_size};

/// Time every copy method available here on files of several sizes.
#[derive(Debug, Parser)]
#[command(name = "fastcopy --bench")]
pub struct BenchCli {
    /// Where to write the test files (its filesystem is what is measured)
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// File sizes, comma-separated, with K, M or G suffixes (powers of 1024)
    #[arg(long, value_delimiter = ',', value_parser = parse_size,
          default_value = "4K,1M,10M,100M,1G")]
    pub sizes: Vec<u64>,

    /// Timed runs of each method and size (after one untimed warm-up)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,

    /// Page cache state of the source at the start of each run
    #[arg(long, value_enum, default_value = "both")]
    pub cache: CacheMode,

    /// Print the results as one JSON document
    #[arg(long)]
    pub json: bool,

    /// Also draw the speed-ups as a bar chart into this SVG file
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Never show a progress bar
    #[arg(long)]
    pub no_progress: bool,
}

/// Which page cache states to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CacheMode {
    /// The source was just read: its pages are in memory
    Warm,
    /// The source's pages were dropped before each run (Linux)
    Cold,
    /// Both
    Both,
}

/// Parses `4K`, `10M`, `1G`, `123` into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("unknown size suffix in '{s}' (use K, M or G)")),
            };
            (&s[..i], mult)
        }
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size '{s}' (e.g. 4K, 10M, 1G)"))?;
    if n == 0 {
        return Err("sizes must be greater than 0".into());
    }
    n.checked_mul(mult)
        .ok_or_else(|| format!("size '{s}' is too large"))
}

/// One way to copy a file.
struct Candidate {
    name: String,
    kind: Kind,
}

enum Kind {
    /// The 32 KiB read/write loop.
    Loop32k,
    /// `std::fs::copy`.
    StdCopy,
    /// fastcopy with these options.
    Fastcopy(CopyOptions),
}

const BASELINE_LOOP: &str = "read_write_32k";
const BASELINE_STD: &str = "std_fs_copy";

fn candidates() -> Vec<Candidate> {
    let mut v = vec![
        Candidate {
            name: BASELINE_LOOP.into(),
            kind: Kind::Loop32k,
        },
        Candidate {
            name: BASELINE_STD.into(),
            kind: Kind::StdCopy,
        },
        Candidate {
            name: "fastcopy (auto)".into(),
            kind: Kind::Fastcopy(CopyOptions::new()),
        },
        Candidate {
            name: "fastcopy --reflink=never".into(),
            kind: Kind::Fastcopy(CopyOptions::new().reflink(Reflink::Never)),
        },
    ];
    for &m in Method::available() {
        // Without preallocation, unless the candidate's name says so.
        let base = CopyOptions::new()
            .only_method(m)
            .preallocate(Preallocate::Never);
        let opts = if m == Method::DirectIo {
            base.direct_io(DirectIo::Always)
        } else {
            base
        };
        if !m.is_clone() {
            v.push(Candidate {
                name: format!("fallocate + {m}"),
                kind: Kind::Fastcopy(opts.clone().preallocate(true)),
            });
        }
        v.push(Candidate {
            name: m.to_string(),
            kind: Kind::Fastcopy(opts),
        });
    }
    v
}

impl Candidate {
    fn run(&self, src: &Path, dst: &Path) -> io::Result<()> {
        match &self.kind {
            Kind::Loop32k => {
                let mut from = File::open(src)?;
                let mut to = File::create(dst)?;
                let mut buf = vec![0u8; 32 << 10];
                loop {
                    let n = from.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    to.write_all(&buf[..n])?;
                }
            }
            Kind::StdCopy => fs::copy(src, dst).map(drop),
            Kind::Fastcopy(opts) => fastcopy::copy_with(src, dst, opts)
                .map(drop)
                .map_err(|e| e.into_io_error()),
        }
    }
}

/// The timings of one method for one size and cache state.
struct Row {
    size: u64,
    cache: &'static str,
    method: String,
    times: Vec<Duration>,
    /// CPU time (user + system) of this process per run: the work of the
    /// copy itself, much less disturbed by other load than the wall time.
    cpu: Vec<Duration>,
    shares_blocks: Option<bool>,
}

impl Row {
    fn median(&self) -> Duration {
        median_of(&self.times)
    }

    fn cpu_median(&self) -> Option<Duration> {
        (!self.cpu.is_empty()).then(|| median_of(&self.cpu))
    }
}

fn median_of(times: &[Duration]) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    let n = t.len();
    if n % 2 == 1 {
        t[n / 2]
    } else {
        (t[n / 2 - 1] + t[n / 2]) / 2
    }
}

/// The test files' directory, removed on drop (also after an interrupt).
struct Workdir(PathBuf);

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs the benchmark and prints its results. Returns the process exit
/// code.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = BenchCli::parse_from(args);
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fastcopy bench: {e}");
            1
        }
    }
}

fn run(cli: &BenchCli) -> io::Result<i32> {
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // Stop between runs on Ctrl-C or SIGTERM, so the files get removed.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let probe = fastcopy::probe(&cli.dir).map_err(|e| {
        io::Error::new(e.kind(), format!("cannot use '{}': {e}", cli.dir.display()))
    })?;
    let work = Workdir(
        cli.dir
            .join(format!(".fastcopy-bench-{}", std::process::id())),
    );
    fs::create_dir(&work.0)?;

    let caches: &[&'static str] = match cli.cache {
        CacheMode::Warm => &["warm"],
        CacheMode::Cold => &["cold"],
        CacheMode::Both => &["warm", "cold"],
    };

    // Which methods work here at all, tried on a small file.
    let mut unavailable = Vec::new();
    let mut usable = Vec::new();
    {
        let src = work.0.join("try-source");
        write_source(&src, 64 << 10)?;
        for c in candidates() {
            let dst = work.0.join("try-dest");
            match c.run(&src, &dst) {
                Ok(()) => usable.push(c),
                Err(e) => unavailable.push((c.name, e.to_string())),
            }
            let _ = fs::remove_file(&dst);
        }
    }

    let total = (cli.sizes.len() * caches.len() * usable.len()) as u64 * (cli.runs as u64 + 1);
    let bar = (!cli.no_progress && !cli.json && io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:30} [{bar:30}] {pos}/{len} runs")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });

    let mut rows = Vec::new();
    let mut seq = 0u64;
    'sizes: for &size in &cli.sizes {
        let src = work.0.join(format!("source-{size}"));
        write_source(&src, size)?;
        for &cache in caches {
            if cache == "cold" && fastcopy::probe::evict_from_cache(&src).is_err() {
                continue;
            }
            let mut size_rows: Vec<Row> = usable
                .iter()
                .map(|c| Row {
                    size,
                    cache,
                    method: c.name.clone(),
                    times: Vec::new(),
                    cpu: Vec::new(),
                    shares_blocks: None,
                })
                .collect();
            // Destinations of small files stay until the end of this size
            // (deleting many files right before timed runs slows file
            // creation on some filesystems); large ones go right after
            // their run, untimed.
            let mut kept = Vec::new();
            for run in 0..=cli.runs {
                for (c, row) in usable.iter().zip(size_rows.iter_mut()) {
                    if interrupted.load(Ordering::SeqCst) {
                        break 'sizes;
                    }
                    if let Some(bar) = &bar {
                        bar.set_message(format!("{} {cache} {}", format_size(size), c.name));
                    }
                    seq += 1;
                    let dst = work.0.join(format!("dest-{seq}"));
                    // Start every run from the same state: no dirty pages
                    // of the previous one being written back meanwhile.
                    rustix_sync();
                    if cache == "cold" {
                        fastcopy::probe::evict_from_cache(&src)?;
                    } else if run == 0 {
                        read_all(&src)?;
                    }
                    let cpu0 = process_cpu_time();
                    let t0 = Instant::now();
                    c.run(&src, &dst)
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", c.name)))?;
                    let elapsed = t0.elapsed();
                    let cpu = process_cpu_time()
                        .zip(cpu0)
                        .map(|(b, a)| b.saturating_sub(a));
                    if run > 0 {
                        row.times.push(elapsed);
                        row.cpu.extend(cpu);
                    } else {
                        row.shares_blocks = shares_blocks(&dst);
                    }
                    if let Some(bar) = &bar {
                        bar.inc(1);
                    }
                    if size >= 64 << 20 {
                        let _ = fs::remove_file(&dst);
                    } else {
                        kept.push(dst);
                    }
                }
            }
            rows.extend(size_rows);
            for k in kept {
                let _ = fs::remove_file(k);
            }
        }
        let _ = fs::remove_file(&src);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    drop(work);
    if interrupted.load(Ordering::SeqCst) {
        eprintln!("fastcopy bench: interrupted; test files removed");
        return Ok(130);
    }

    let mut out = io::stdout().lock();
    if cli.json {
        writeln!(out, "{}", to_json(cli, &probe, &rows, &unavailable))?;
    } else {
        write!(out, "{}", to_text(cli, &probe, &rows, &unavailable))?;
    }
    if let Some(path) = &cli.svg {
        fs::write(path, to_svg(&probe, &rows)).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write '{}': {e}", path.display()))
        })?;
    }
    Ok(0)
}

/// CPU time used by this process so far, where the platform tells.
fn process_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Writes every dirty page out (Unix `sync`); nothing elsewhere.
fn rustix_sync() {
    #[cfg(unix)]
    rustix::fs::sync();
}

fn read_all(path: &Path) -> io::Result<()> {
    io::copy(&mut File::open(path)?, &mut io::sink()).map(drop)
}

fn shares_blocks(path: &Path) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        fastcopy::extent_sharing(path).ok().map(|s| s.shared > 0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// Writes `size` bytes of incompressible data (xorshift) and syncs them.
fn write_source(path: &Path, size: u64) -> io::Result<()> {
    let mut f = File::create(path)?;
    let mut block = vec![0u8; (1 << 20).min(size as usize)];
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ size;
    let mut left = size;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes = state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.sync_all()
}

/// The median of the named method in the same size and cache group.
fn baseline<'a>(rows: &'a [Row], like: &Row, name: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.size == like.size && r.cache == like.cache && r.method == name)
}

fn ratio(row: &Row, base: Option<&Row>) -> Option<f64> {
    let base = base?.median().as_secs_f64();
    (base > 0.0).then(|| row.median().as_secs_f64() / base)
}

fn cpu_ratio(row: &Row, base: Option<&Row>) -> Option<f64> {
    let base = base?.cpu_median()?.as_secs_f64();
    let mine = row.cpu_median()?.as_secs_f64();
    (base > 0.0).then(|| mine / base)
}

fn to_text(
    cli: &BenchCli,
    probe: &fastcopy::Probe,
    rows: &[Row],
    unavailable: &[(String, String)],
) -> String {
    let mut s = format!(
        "fastcopy bench: {} ({}), median of {} runs; ratio = time / baseline time (lower is faster)\n\n",
        cli.dir.display(),
        probe.filesystem,
        cli.runs
    );
    s += &format!(
        "{:>8}  {:5}  {:28} {:>10}  {:>21}  {:>9}  {:>9}  {:>10}  {:>9}  {}\n",
        "size",
        "cache",
        "method",
        "median",
        "min-max",
        "vs 32K",
        "vs std",
        "cpu",
        "cpu/32K",
        "shared"
    );
    for r in rows {
        let min = r.times.iter().min().copied().unwrap_or_default();
        let max = r.times.iter().max().copied().unwrap_or_default();
        let fmt_ratio = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.2}x"));
        s += &format!(
            "{:>8}  {:5}  {:28} {:>10}  {:>21}  {:>9}  {:>9}  {:>10}  {:>9}  {}\n",
            format_size(r.size),
            r.cache,
            r.method,
            format_duration(r.median()),
            format!("{}-{}", format_duration(min), format_duration(max)),
            fmt_ratio(ratio(r, baseline(rows, r, BASELINE_LOOP))),
            fmt_ratio(ratio(r, baseline(rows, r, BASELINE_STD))),
            r.cpu_median().map_or("-".into(), format_duration),
            fmt_ratio(cpu_ratio(r, baseline(rows, r, BASELINE_LOOP))),
            match r.shares_blocks {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            }
        );
    }
    for (name, why) in unavailable {
        s += &format!("not available here: {name}: {why}\n");
    }
    s
}

fn to_json(
    cli: &BenchCli,
    probe: &fastcopy::Probe,
    rows: &[Row],
    unavailable: &[(String, String)],
) -> Value {
    let results: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "size": r.size,
                "cache": r.cache,
                "method": r.method,
                "median_ns": r.median().as_nanos() as u64,
                "min_ns": r.times.iter().min().map(|d| d.as_nanos() as u64),
                "max_ns": r.times.iter().max().map(|d| d.as_nanos() as u64),
                "runs_ns": r.times.iter().map(|d| d.as_nanos() as u64).collect::<Vec<_>>(),
                "ratio_to_read_write_32k": ratio(r, baseline(rows, r, BASELINE_LOOP)),
                "ratio_to_std_fs_copy": ratio(r, baseline(rows, r, BASELINE_STD)),
                "cpu_median_ns": r.cpu_median().map(|d| d.as_nanos() as u64),
                "cpu_ratio_to_read_write_32k": cpu_ratio(r, baseline(rows, r, BASELINE_LOOP)),
                "shares_blocks": r.shares_blocks,
            })
        })
        .collect();
    json!({
        "dir": cli.dir,
        "filesystem": probe.filesystem,
        "runs": cli.runs,
        "results": results,
        "unavailable": unavailable
            .iter()
            .map(|(m, why)| json!({"method": m, "error": why}))
            .collect::<Vec<_>>(),
    })
}

/// A horizontal bar chart of speed-up over the 32 KiB loop, log scale, one
/// group per size and cache state.
fn to_svg(probe: &fastcopy::Probe, rows: &[Row]) -> String {
    const BAR: f64 = 14.0;
    const LABEL: f64 = 300.0;
    const WIDTH: f64 = 520.0;
    let speedups: Vec<f64> = rows
        .iter()
        .map(|r| ratio(r, baseline(rows, r, BASELINE_LOOP)).map_or(1.0, |x| 1.0 / x.max(1e-9)))
        .collect();
    let max_log = speedups
        .iter()
        .map(|s| s.max(1.0).log10())
        .fold(1.0f64, f64::max)
        .ceil();
    let min_log = speedups
        .iter()
        .map(|s| s.min(1.0).log10())
        .fold(0.0f64, f64::min)
        .floor();
    let x = |s: f64| LABEL + (s.log10() - min_log) / (max_log - min_log) * WIDTH;
    let mut body = String::new();
    let mut y = 40.0;
    let mut group = None;
    for (r, &s) in rows.iter().zip(&speedups) {
        if group != Some((r.size, r.cache)) {
            group = Some((r.size, r.cache));
            y += 10.0;
            body += &format!(
                "<text x=\"4\" y=\"{:.0}\" font-weight=\"bold\">{} {}</text>\n",
                y + 11.0,
                format_size(r.size),
                r.cache
            );
            y += BAR + 4.0;
        }
        let (x0, x1) = (x(1.0_f64.min(s)), x(1.0_f64.max(s)));
        let color = if s >= 1.0 { "#3a7" } else { "#c54" };
        body += &format!(
            "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{x0:.1}\" y=\"{y:.0}\" width=\"{:.1}\" height=\"{BAR}\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.0}\">{s:.2}x</text>\n",
            LABEL - 6.0,
            y + 11.0,
            xml_escape(&r.method),
            (x1 - x0).max(1.0),
            x1 + 4.0,
            y + 11.0,
        );
        y += BAR + 3.0;
    }
    let height = y + 30.0;
    let total_width = LABEL + WIDTH + 80.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_width:.0}\" height=\"{height:.0}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"4\" y=\"20\" font-size=\"14\">fastcopy bench on {}: speed-up over a 32 KiB read/write loop (log scale)</text>\n\
         <line x1=\"{:.1}\" y1=\"30\" x2=\"{:.1}\" y2=\"{:.0}\" stroke=\"#888\"/>\n{body}</svg>\n",
        xml_escape(&probe.filesystem),
        x(1.0),
        x(1.0),
        height - 20.0
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4X").is_err());
        assert!(parse_size("K").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        let row = |ms: &[u64]| Row {
            size: 1,
            cache: "warm",
            method: "m".into(),
            times: ms.iter().map(|&m| Duration::from_millis(m)).collect(),
            cpu: Vec::new(),
            shares_blocks: None,
        };
        assert_eq!(row(&[5, 1, 3]).median(), Duration::from_millis(3));
        assert_eq!(
            row(&[4, 1, 3, 10]).median(),
            Duration::from_millis(3) + Duration::from_micros(500)
        );
    }
}
