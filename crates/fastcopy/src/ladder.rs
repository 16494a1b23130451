//! The fallback ladder as a data type.
//!
//! Each platform lists the methods it will try for a file (its plan) and
//! runs one method at a time. A method answers with a [`Step`]; the driver
//! here decides what happens next, the same way on every platform:
//! a method may hand over to the next one only when it wrote nothing and its
//! error means "not supported here" (which errors mean that is decided by one
//! function per platform). Anything else ends the copy.

use std::io;

use crate::error::Operation;
use crate::options::Reflink;
use crate::report::{Fallback, Method};

/// The answer of one method.
#[derive(Debug)]
pub(crate) enum Step {
    /// All data copied: the destination holds `bytes` bytes.
    Done(u64),
    /// Nothing was written and the method cannot work here: try the next.
    Unsupported(io::Error),
    /// The copy failed (possibly after writing): stop.
    Failed(io::Error),
}

/// Runs `plan` in order. Returns the method that copied and the bytes, or the
/// failing operation and error. Every method skipped is recorded in
/// `fallbacks`.
pub(crate) fn run(
    plan: &[Method],
    reflink: Reflink,
    fallbacks: &mut Vec<Fallback>,
    mut step: impl FnMut(Method) -> Step,
) -> Result<(Method, u64), (Operation, io::Error)> {
    let op = |m: Method| {
        if m.is_clone() {
            Operation::Clone
        } else {
            Operation::CopyData
        }
    };
    for &method in plan {
        match step(method) {
            Step::Done(bytes) => return Ok((method, bytes)),
            Step::Failed(error) => return Err((op(method), error)),
            Step::Unsupported(error) => {
                if method.is_clone() && reflink == Reflink::Always {
                    return Err((Operation::Clone, error));
                }
                fallbacks.push(Fallback { method, error });
            }
        }
    }
    // Every method declined. Report the last reason.
    match fallbacks.pop() {
        Some(Fallback { method, error }) => Err((op(method), error)),
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
            |m| {
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
            |_| {
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
            |_| {
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
        let got = run(&[Method::ReadWrite], Reflink::Auto, &mut Vec::new(), |_| {
            Step::Unsupported(io::Error::other("last"))
        });
        let (op, e) = got.unwrap_err();
        assert_eq!(op, Operation::CopyData);
        assert_eq!(e.to_string(), "last");
        assert!(run(&[], Reflink::Auto, &mut Vec::new(), |_| Step::Done(0)).is_err());
    }
}
