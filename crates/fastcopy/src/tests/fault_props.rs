//! A property test over (filesystem, size near the loops' chunk
//! boundaries, hole layout, options, one in-process fault): every copy is
//! identical to its source, or a clean error (the injected one) with no
//! destination and no temporary file. Plus the cases it found, pinned.

use std::fs;
use std::io;
use std::path::Path;

use proptest::prelude::*;
use testfs::Fs;

use crate::fault::{Effect, Fault, Point, calls, inject};
use crate::sys::{DIRECT_BUFFER, MAX_BUFFER, MIN_BUFFER};
use crate::{CopyOptions, DirectIo, Method, Reflink, TEMP_MARKER, copy_with};

const EPERM: i32 = 1;
const EIO: i32 = 5;
const EXDEV: i32 = 18;
const EINVAL: i32 = 22;
const ENOSPC: i32 = 28;
const ENOSYS: i32 = 38;
const EOPNOTSUPP: i32 = 95;
const EDQUOT: i32 = 122;

const PAGE: u64 = 4096;

/// Sizes where the loops change step: pages, the read/write buffers, the
/// direct-I/O transfer.
const BOUNDARIES: [u64; 6] = [
    PAGE,
    MIN_BUFFER as u64,
    MAX_BUFFER as u64,
    DIRECT_BUFFER as u64,
    2 * DIRECT_BUFFER as u64,
    3 * MAX_BUFFER as u64 + PAGE,
];

fn size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..10_000,
        (
            prop::sample::select(BOUNDARIES.to_vec()),
            1u64..=2,
            -2i64..=2
        )
            .prop_map(|(b, k, d)| (b * k).saturating_add_signed(d)),
    ]
}

/// Data ranges in pages (start, length), or `None` for a dense file.
fn layout() -> impl Strategy<Value = Option<Vec<(u64, u64)>>> {
    prop::option::of(prop::collection::vec((0u64..2048, 1u64..300), 0..4))
}

fn fault() -> impl Strategy<Value = Option<Fault>> {
    let point = prop::sample::select(vec![
        Point::Clone,
        Point::CopyFileRange,
        Point::Read,
        Point::Write,
        Point::Fallocate,
        Point::DirectIo,
    ]);
    let effect = prop_oneof![
        prop::sample::select(vec![
            EPERM, EIO, EXDEV, EINVAL, ENOSPC, ENOSYS, EOPNOTSUPP, EDQUOT
        ])
        .prop_map(Effect::Errno),
        Just(Effect::ReturnZero),
    ];
    prop::option::of((point, 1usize..=4, effect).prop_filter_map(
        // A read returns 0 only at end of file: the seam's 0 would stand
        // for a source that shrank, which the changing-source tests cover.
        "read returning 0 is end of file",
        |(point, call, effect)| {
            (point != Point::Read || effect != Effect::ReturnZero).then_some(Fault {
                point,
                call,
                effect,
            })
        },
    ))
}

fn options() -> impl Strategy<Value = CopyOptions> {
    (
        prop::sample::select(vec![Reflink::Auto, Reflink::Never, Reflink::Always]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(reflink, direct, preallocate)| {
            CopyOptions::new()
                .reflink(reflink)
                .direct_io(if direct {
                    DirectIo::Always
                } else {
                    DirectIo::Auto
                })
                .preallocate(preallocate)
        })
}

/// Writes the source: dense pattern, or the given pages of data.
fn make_source(path: &Path, size: u64, layout: &Option<Vec<(u64, u64)>>) {
    match layout {
        None => fs::write(path, testfs::pattern(size as usize, size)).unwrap(),
        Some(ranges) => {
            let ranges: Vec<(u64, u64)> = ranges
                .iter()
                .filter_map(|&(start, len)| {
                    let off = start * PAGE;
                    (off < size).then(|| (off, (len * PAGE).min(size - off)))
                })
                .collect();
            testfs::write_sparse(path, size, &ranges).unwrap();
        }
    }
}

/// One case: copy under the fault and check the outcome.
fn check(
    fs_: Fs,
    size: u64,
    layout: &Option<Vec<(u64, u64)>>,
    opts: &CopyOptions,
    fault: Option<Fault>,
) {
    let Some(d) = testfs::dir(fs_, "fault_props") else {
        return;
    };
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    make_source(&src, size, layout);
    let want = fs::read(&src).unwrap();
    let guard = inject(fault.into_iter().collect());
    let result = copy_with(&src, &dst, opts);
    let fired = fault.is_some_and(|f| calls(f.point) >= f.call);
    drop(guard);
    let what = format!("{fs_} size {size} layout {layout:?} {opts:?} fault {fault:?}");
    assert_eq!(
        testfs::names_containing(d.path(), TEMP_MARKER),
        Vec::<String>::new(),
        "{what}"
    );
    match result {
        Ok(r) => {
            let got = fs::read(&dst).unwrap();
            assert!(
                got == want,
                "{what}: copy of {} bytes differs from the source's {} at {:?} ({r:?})",
                got.len(),
                want.len(),
                got.iter().zip(&want).position(|(a, b)| a != b)
            );
            assert_eq!(r.bytes, size, "{what}");
            assert!(
                r.warnings
                    .iter()
                    .all(|w| !matches!(w, crate::Warning::SourceChanged { .. })),
                "{what}: {r:?}"
            );
        }
        Err(e) => {
            assert!(!dst.exists(), "{what}: {e}");
            // Cloning impossible here and demanded: an error without a fault.
            let no_clone =
                opts.reflink_mode() == Reflink::Always && matches!(fs_, Fs::Ext4 | Fs::Tmpfs);
            assert!(fired || no_clone, "{what}: an error without a fault: {e}");
            if !no_clone && let Some(f) = fault {
                let io = e.io_error();
                match f.effect {
                    Effect::Errno(errno) => {
                        assert_eq!(io.raw_os_error(), Some(errno), "{what}: {io}")
                    }
                    Effect::ReturnZero => assert!(
                        matches!(
                            io.kind(),
                            io::ErrorKind::WriteZero | io::ErrorKind::Unsupported
                        ),
                        "{what}: {io}"
                    ),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn copy_is_identical_or_a_clean_error(
        fs_ in prop::sample::select(Fs::ALL.to_vec()),
        size in size(),
        layout in layout(),
        opts in options(),
        fault in fault(),
    ) {
        check(fs_, size, &layout, &opts, fault);
    }
}

/// Found by the property test: `copy_file_range` answering 0 for the
/// second data segment of a sparse file (not its end) made a copy cut at
/// that point, reported as complete.
#[test]
fn copy_file_range_zero_before_end_of_file_continues() {
    let Some(d) = testfs::dir(Fs::Ext4, "fault_props_cfr_zero") else {
        return;
    };
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    let size = 4 << 20;
    testfs::write_sparse(&src, size, &[(0, 1 << 20), (2 << 20, 1 << 20)]).unwrap();
    let want = fs::read(&src).unwrap();
    let _g = inject(vec![Fault {
        point: Point::CopyFileRange,
        call: 2,
        effect: Effect::ReturnZero,
    }]);
    let r = copy_with(&src, &dst, &CopyOptions::new().reflink(Reflink::Never)).unwrap();
    assert_eq!(r.method, Method::CopyFileRange);
    assert_eq!(r.bytes, size);
    assert!(fs::read(&dst).unwrap() == want, "the copy differs");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// Found by the CLI's changing-source race under load: a copy that met
/// its end of file early, checked when the source's size was back to
/// where it started (a file rewritten in place), passed without a word.
/// The seam's read returning 0 stands for that early end: a copy shorter
/// than a source with blocks fails by default, and says so when changes
/// are accepted.
#[test]
fn short_copy_of_a_file_with_blocks_is_never_silent() {
    let Some(d) = testfs::dir(Fs::Btrfs, "fault_props_short_copy") else {
        return;
    };
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    let size = 4 << 20;
    fs::write(&src, testfs::pattern(size, 3)).unwrap();
    // The read/write loop (a `splice` answering 0 early is not taken for
    // the end: see `splice_zero_is_not_the_end`).
    let _g = inject(vec![Fault {
        point: Point::Read,
        call: 2,
        effect: Effect::ReturnZero,
    }]);
    let opts = CopyOptions::new().only_method(Method::ReadWrite);
    let e = copy_with(&src, &dst, &opts).unwrap_err();
    assert_eq!(e.operation(), crate::Operation::SourceChanged, "{e}");
    assert!(!dst.exists());
    let _g = inject(vec![Fault {
        point: Point::Read,
        call: 2,
        effect: Effect::ReturnZero,
    }]);
    let r = copy_with(&src, &dst, &opts.accept_changing_source(true)).unwrap();
    assert_eq!(r.method, Method::ReadWrite);
    assert!(r.bytes < size as u64, "{r:?}");
    assert!(
        r.warnings.iter().any(|w| matches!(
            w,
            crate::Warning::SourceChanged { expected, copied }
                if *expected == size as u64 && *copied == r.bytes
        )),
        "a short copy without a warning: {r:?}"
    );
}

/// `splice` answering 0 from a non-empty file, at its start or part way:
/// the read/write loop copies the rest, the copy is whole and silent.
/// (Found with `faultrun --fail splice=0`: the copy was an empty file.)
#[test]
fn splice_zero_is_not_the_end() {
    let Some(d) = testfs::dir(Fs::Btrfs, "fault_props_splice_zero") else {
        return;
    };
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    let data = testfs::pattern(4 << 20, 4);
    fs::write(&src, &data).unwrap();
    for (call, method, fallbacks) in [(1, Method::ReadWrite, 1), (2, Method::Splice, 0)] {
        let _g = inject(vec![Fault {
            point: Point::Read,
            call,
            effect: Effect::ReturnZero,
        }]);
        let r = copy_with(&src, &dst, &CopyOptions::new().reflink(Reflink::Never)).unwrap();
        assert_eq!(
            (r.method, r.fallbacks.len()),
            (method, fallbacks),
            "call {call}: {r:?}"
        );
        assert_eq!(r.bytes, data.len() as u64, "call {call}");
        assert!(r.warnings.is_empty(), "call {call}: {r:?}");
        assert!(
            fs::read(&dst).unwrap() == data,
            "call {call}: the copy differs"
        );
    }
}
