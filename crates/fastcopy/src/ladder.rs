//! The fallback ladder as a data type.
//!
//! Each platform lists the methods it will try for a file (its plan) and
//! runs one method at a time. A method answers with a [`Step`]; the driver
//! here decides what happens next, the same way on every platform:
//! a method may hand over to the next one only when its error means "not
//! supported here" (which errors mean that is decided by one function per
//! platform). If it wrote nothing, the next method starts at 0; if it
//! already wrote some bytes, the next one carries on from that offset (as
//! GNU cp does): those bytes are good, and starting again would cost
//! their time. Anything else ends the copy.

use std::io;

use crate::error::Operation;
use crate::options::Reflink;
use crate::report::{Fallback, Method};

/// The answer of one method.
#[derive(Debug)]
pub(crate) enum Step {
    /// All data copied: the destination holds `bytes` bytes.
    Done(u64),
    /// The method wrote nothing (past where it started) and cannot work
    /// here: try the next from the same offset.
    Unsupported(io::Error),
    /// The method cannot go on here after the destination got its data up
    /// to this offset (source and destination positioned there): the next
    /// method carries on from it.
    // Only the Linux backend declines part way.
    #[allow(dead_code)]
    Partial(io::Error, u64),
    /// The copy failed (possibly after writing): stop.
    Failed(io::Error),
}

/// Runs `plan` in order; `step` gets each method and the offset it starts
/// at. Returns the method that finished the copy and the bytes, or the
/// failing operation and error. Every method that declined is recorded in
/// `fallbacks`.
pub(crate) fn run(
    plan: &[Method],
    reflink: Reflink,
    fallbacks: &mut Vec<Fallback>,
    mut step: impl FnMut(Method, u64) -> Step,
) -> Result<(Method, u64), (Operation, io::Error)> {
    let op = |m: Method| {
        if m.is_clone() {
            Operation::Clone
        } else {
            Operation::CopyData
        }
    };
    let mut at = 0;
    for &method in plan {
        // A clone replaces the whole file: never after data was copied.
        if at > 0 && method.is_clone() {
            continue;
        }
        match step(method, at) {
            Step::Done(bytes) => return Ok((method, bytes)),
            Step::Failed(error) => return Err((op(method), error)),
            Step::Unsupported(error) => {
                if method.is_clone() && reflink == Reflink::Always {
                    return Err((Operation::Clone, error));
                }
                fallbacks.push(Fallback {
                    method,
                    error,
                    offset: at,
                });
            }
            Step::Partial(error, offset) => {
                at = offset;
                fallbacks.push(Fallback {
                    method,
                    error,
                    offset,
                });
            }
        }
    }
    // Every method declined. Report the last reason.
    match fallbacks.pop() {
        Some(Fallback { method, error, .. }) => Err((op(method), error)),
        None => Err((
            Operation::CopyData,
            io::Error::new(io::ErrorKind::Unsupported, "no copy method available"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsupported() -> io::Error {
        io::Error::from(io::ErrorKind::Unsupported)
    }

    #[test]
    fn falls_through_unsupported_methods_in_order() {
        let mut seen = Vec::new();
        let mut fb = Vec::new();
        let got = run(
            &[Method::Reflink, Method::CopyFileRange, Method::ReadWrite],
            Reflink::Auto,
            &mut fb,
            |m, _| {
                seen.push(m);
                match m {
                    Method::ReadWrite => Step::Done(7),
                    _ => Step::Unsupported(unsupported()),
                }
            },
        );
        assert_eq!(got.unwrap(), (Method::ReadWrite, 7));
        assert_eq!(
            seen,
            [Method::Reflink, Method::CopyFileRange, Method::ReadWrite]
        );
        let fb: Vec<_> = fb.iter().map(|f| f.method).collect();
        assert_eq!(fb, [Method::Reflink, Method::CopyFileRange]);
    }

    #[test]
    fn a_failure_stops_the_ladder() {
        let mut calls = 0;
        let got = run(
            &[Method::CopyFileRange, Method::ReadWrite],
            Reflink::Auto,
            &mut Vec::new(),
            |_, _| {
                calls += 1;
                Step::Failed(io::Error::other("EIO"))
            },
        );
        let (op, _) = got.unwrap_err();
        assert_eq!(op, Operation::CopyData);
        assert_eq!(calls, 1);
    }

    #[test]
    fn reflink_always_does_not_fall_back() {
        let mut calls = 0;
        let mut fb = Vec::new();
        let got = run(
            &[Method::Reflink, Method::ReadWrite],
            Reflink::Always,
            &mut fb,
            |_, _| {
                calls += 1;
                Step::Unsupported(unsupported())
            },
        );
        assert_eq!(got.unwrap_err().0, Operation::Clone);
        assert_eq!(calls, 1);
        assert!(fb.is_empty());
    }

    #[test]
    fn all_declining_reports_the_last_reason() {
        let got = run(
            &[Method::ReadWrite],
            Reflink::Auto,
            &mut Vec::new(),
            |_, _| Step::Unsupported(io::Error::other("last")),
        );
        let (op, e) = got.unwrap_err();
        assert_eq!(op, Operation::CopyData);
        assert_eq!(e.to_string(), "last");
        assert!(run(&[], Reflink::Auto, &mut Vec::new(), |_, _| Step::Done(0)).is_err());
    }

    #[test]
    fn a_late_refusal_carries_on_from_its_offset() {
        let mut starts = Vec::new();
        let mut fb = Vec::new();
        let got = run(
            &[
                Method::Reflink,
                Method::CopyFileRange,
                Method::Splice,
                Method::ReadWrite,
            ],
            Reflink::Auto,
            &mut fb,
            |m, at| {
                starts.push((m, at));
                match m {
                    Method::Reflink => Step::Unsupported(unsupported()),
                    Method::CopyFileRange => Step::Partial(unsupported(), 4096),
                    Method::Splice => Step::Unsupported(unsupported()),
                    _ => Step::Done(10_000),
                }
            },
        );
        assert_eq!(got.unwrap(), (Method::ReadWrite, 10_000));
        assert_eq!(
            starts,
            [
                (Method::Reflink, 0),
                (Method::CopyFileRange, 0),
                (Method::Splice, 4096),
                (Method::ReadWrite, 4096)
            ]
        );
        let offsets: Vec<_> = fb.iter().map(|f| (f.method, f.offset)).collect();
        assert_eq!(
            offsets,
            [
                (Method::Reflink, 0),
                (Method::CopyFileRange, 4096),
                (Method::Splice, 4096)
            ]
        );
    }

    #[test]
    fn no_clone_after_data_was_copied() {
        let mut seen = Vec::new();
        let got = run(
            &[Method::CopyFileRange, Method::Reflink, Method::ReadWrite],
            Reflink::Auto,
            &mut Vec::new(),
            |m, _| {
                seen.push(m);
                match m {
                    Method::CopyFileRange => Step::Partial(unsupported(), 1),
                    _ => Step::Done(2),
                }
            },
        );
        assert_eq!(got.unwrap(), (Method::ReadWrite, 2));
        assert_eq!(seen, [Method::CopyFileRange, Method::ReadWrite]);
    }
}
