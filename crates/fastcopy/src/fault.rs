//! A test-only fault seam: "call N of system call S fails with errno E".
//!
//! The backends call [`hit`] before each system call the seam can fail.
//! Outside the crate's own tests `hit` is an inlined `Ok(None)` and the
//! seam compiles to nothing. In tests, faults are per thread: a test plans
//! them with `inject` and they apply to copies that thread makes until the
//! returned guard is dropped.

/// A system call the seam can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(
    dead_code,
    reason = "each backend reaches the points of its own calls; only Linux reaches them all"
)]
pub(crate) enum Point {
    /// The clone call (`FICLONE`).
    Clone,
    /// `copy_file_range`.
    CopyFileRange,
    /// `read` of the source (buffered or direct).
    Read,
    /// `write` of the destination (buffered or direct).
    Write,
    /// `fallocate` of the destination.
    Fallocate,
    /// Switching a descriptor to direct I/O.
    DirectIo,
    /// Creating an anonymous file (`O_TMPFILE`).
    TmpFile,
}

/// Outside tests: always "do the real call".
#[cfg(not(test))]
#[inline(always)]
pub(crate) fn hit(_point: Point) -> std::io::Result<Option<usize>> {
    Ok(None)
}

#[cfg(test)]
pub(crate) use plan::{Effect, Fault, calls, hit, inject};

/// The planning side, compiled for the crate's own tests only.
#[cfg(test)]
mod plan {
    use super::Point;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::io;

    /// What a faulty call does instead of its work.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Effect {
        /// Fail with this raw OS error number.
        Errno(i32),
        /// Return 0 (for calls that return a byte count).
        ReturnZero,
    }

    /// One planned fault.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct Fault {
        /// The call.
        pub(crate) point: Point,
        /// Which call to it fails, counting from 1 on this thread since
        /// `inject`. `0` means every call.
        pub(crate) call: usize,
        /// What it does.
        pub(crate) effect: Effect,
    }

    thread_local! {
        static PLAN: RefCell<(Vec<Fault>, HashMap<Point, usize>)> = RefCell::new(Default::default());
    }

    /// Removes the faults of `inject` when dropped.
    #[derive(Debug)]
    pub(crate) struct FaultGuard(());

    impl Drop for FaultGuard {
        fn drop(&mut self) {
            PLAN.with(|p| *p.borrow_mut() = Default::default());
        }
    }

    /// Plans `faults` for this thread, replacing earlier ones, and resets
    /// the call counters.
    pub(crate) fn inject(faults: Vec<Fault>) -> FaultGuard {
        PLAN.with(|p| *p.borrow_mut() = (faults, HashMap::new()));
        FaultGuard(())
    }

    /// How many times `point` was reached on this thread since `inject`.
    pub(crate) fn calls(point: Point) -> usize {
        PLAN.with(|p| p.borrow().1.get(&point).copied().unwrap_or(0))
    }

    /// Counts a call to `point` and says whether it must fail.
    fn check(point: Point) -> Option<Effect> {
        PLAN.with(|p| {
            let mut p = p.borrow_mut();
            let (faults, counts) = &mut *p;
            let n = counts.entry(point).or_insert(0);
            *n += 1;
            let n = *n;
            faults
                .iter()
                .find(|f| f.point == point && (f.call == 0 || f.call == n))
                .map(|f| f.effect)
        })
    }

    /// Applies a planned fault at `point`, if any: an error, or `Some(0)`
    /// for "return 0 instead of doing the work". `Ok(None)` means: do the
    /// real call.
    pub(crate) fn hit(point: Point) -> io::Result<Option<usize>> {
        match check(point) {
            None => Ok(None),
            Some(Effect::ReturnZero) => Ok(Some(0)),
            Some(Effect::Errno(e)) => Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The seam itself, on every platform (the backends' fault tests are
/// Linux's, in `tests/fault.rs`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planned_fault_fires_on_its_call_and_only_while_planned() {
        let guard = inject(vec![
            Fault {
                point: Point::Read,
                call: 2,
                effect: Effect::Errno(5),
            },
            Fault {
                point: Point::Write,
                call: 0,
                effect: Effect::ReturnZero,
            },
        ]);
        assert_eq!(hit(Point::Read).unwrap(), None);
        assert_eq!(hit(Point::Read).unwrap_err().raw_os_error(), Some(5));
        assert_eq!(hit(Point::Read).unwrap(), None);
        for _ in 0..3 {
            assert_eq!(hit(Point::Write).unwrap(), Some(0));
        }
        assert_eq!(hit(Point::Clone).unwrap(), None);
        assert_eq!((calls(Point::Read), calls(Point::Write)), (3, 3));
        drop(guard);
        assert_eq!(hit(Point::Write).unwrap(), None);
        assert_eq!(calls(Point::Read), 0);
    }
}
