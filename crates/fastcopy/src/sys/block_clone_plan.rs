//! The arithmetic of block cloning (`FSCTL_DUPLICATE_EXTENTS_TO_FILE` on
//! ReFS): which ranges to clone, in which chunks. Pure and portable, so it
//! is tested on every platform; only the Windows backend uses it.
//!
//! The rules it encodes, from the `FSCTL_DUPLICATE_EXTENTS_TO_FILE`
//! documentation: offsets and lengths are multiples of the volume's cluster
//! size, one call clones less than 4 GiB, and the destination must already
//! be as long as the region cloned into it. The last range is rounded up to
//! a whole cluster: the destination is first extended to that rounded size,
//! then truncated back to the source's size once cloned.

/// The most one `FSCTL_DUPLICATE_EXTENTS_TO_FILE` call may clone: less than
/// 4 GiB (the planner rounds it down to whole clusters).
pub(crate) const MAX_CHUNK: u64 = (1 << 32) - 1;

/// One call: clone `len` bytes at `offset` of the source to the same offset
/// of the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CloneRange {
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// What to do with a file of a given size on a volume of a given cluster
/// size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BlockClonePlan {
    /// An empty file: nothing to clone, nothing to copy.
    Empty,
    /// The file is smaller than one cluster: there is no whole cluster to
    /// share, so it is copied instead.
    TooSmall,
    /// The cluster size or chunk limit make no sense (zero, not a power of
    /// two, a chunk smaller than a cluster or not under 4 GiB): do not clone.
    Invalid,
    /// Extend the destination to `extend_to`, clone `ranges` in order, then
    /// set the destination's size to `size`.
    Clone {
        ranges: Vec<CloneRange>,
        extend_to: u64,
        size: u64,
    },
}

/// Plans the cloning of a `size`-byte file on a volume with `cluster`-byte
/// clusters, at most `max_chunk` bytes a call.
pub(crate) fn plan(size: u64, cluster: u64, max_chunk: u64) -> BlockClonePlan {
    if cluster == 0 || !cluster.is_power_of_two() || max_chunk < cluster || max_chunk >= 1 << 32 {
        return BlockClonePlan::Invalid;
    }
    if size == 0 {
        return BlockClonePlan::Empty;
    }
    if size < cluster {
        return BlockClonePlan::TooSmall;
    }
    // The whole clusters that hold the file; cannot overflow: a size this
    // close to u64::MAX is no real file, but stay correct anyway.
    let Some(extend_to) = size.checked_next_multiple_of(cluster) else {
        return BlockClonePlan::Invalid;
    };
    let chunk = max_chunk - max_chunk % cluster;
    let mut ranges = Vec::with_capacity(extend_to.div_ceil(chunk) as usize);
    let mut offset = 0;
    while offset < extend_to {
        let len = chunk.min(extend_to - offset);
        ranges.push(CloneRange { offset, len });
        offset += len;
    }
    BlockClonePlan::Clone {
        ranges,
        extend_to,
        size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTERS: [u64; 6] = [512, 4096, 8192, 65536, 1 << 20, 2 << 20];

    /// A small deterministic generator, so the property tests need no crate.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Sizes around every interesting boundary, plus pseudo-random ones up
    /// to 64 TiB.
    fn sizes(cluster: u64, chunk: u64) -> Vec<u64> {
        let mut v = Vec::new();
        for base in [
            0,
            cluster,
            2 * cluster,
            chunk,
            2 * chunk,
            3 * chunk + cluster,
            1 << 32,
            5 << 32,
        ] {
            for delta in [-2i64, -1, 0, 1, 2] {
                if let Some(s) = base.checked_add_signed(delta) {
                    v.push(s);
                }
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15 ^ cluster ^ chunk;
        for _ in 0..300 {
            v.push(xorshift(&mut state) % (64 << 40));
            v.push(xorshift(&mut state) % (16 * cluster));
        }
        v
    }

    /// Every property a plan must have, checked for one input.
    fn check(size: u64, cluster: u64, max_chunk: u64) {
        let got = plan(size, cluster, max_chunk);
        let what = format!("size {size}, cluster {cluster}, max chunk {max_chunk}: {got:?}");
        match got {
            BlockClonePlan::Empty => assert_eq!(size, 0, "{what}"),
            BlockClonePlan::TooSmall => assert!(size > 0 && size < cluster, "{what}"),
            BlockClonePlan::Invalid => panic!("valid input refused: {what}"),
            BlockClonePlan::Clone {
                ranges,
                extend_to,
                size: final_size,
            } => {
                assert!(size >= cluster, "{what}");
                assert_eq!(final_size, size, "{what}");
                // The destination grows to whole clusters, less than one more.
                assert_eq!(extend_to % cluster, 0, "{what}");
                assert!(extend_to >= size && extend_to - size < cluster, "{what}");
                // Ranges tile [0, extend_to) in order, without gaps or overlap.
                let mut next = 0;
                for r in &ranges {
                    assert_eq!(r.offset, next, "{what}");
                    assert_eq!(r.offset % cluster, 0, "{what}");
                    assert_eq!(r.len % cluster, 0, "{what}");
                    assert!(r.len > 0 && r.len <= max_chunk && r.len < 1 << 32, "{what}");
                    next = r.offset + r.len;
                }
                assert_eq!(next, extend_to, "{what}");
                // As few calls as the chunk allows: all but the last are full.
                let chunk = max_chunk / cluster * cluster;
                assert_eq!(ranges.len() as u64, extend_to.div_ceil(chunk), "{what}");
                for r in &ranges[..ranges.len() - 1] {
                    assert_eq!(r.len, chunk, "{what}");
                }
            }
        }
    }

    #[test]
    fn plans_hold_for_many_sizes_and_clusters() {
        for cluster in CLUSTERS {
            for max_chunk in [
                cluster,
                3 * cluster + 1,
                1 << 30,
                MAX_CHUNK - cluster,
                MAX_CHUNK,
            ] {
                for size in sizes(cluster, max_chunk) {
                    // Keep the tiny chunks to plans of a sane length.
                    if size / max_chunk > 10_000 {
                        continue;
                    }
                    check(size, cluster, max_chunk);
                }
            }
        }
    }

    proptest::proptest! {
        /// Any size up to 64 TiB, any power-of-two cluster from 512 bytes
        /// to 2 MiB, any chunk limit from one cluster to just under 4 GiB
        /// (with at most 100,000 calls, to keep the plans small).
        #[test]
        fn plans_hold_for_random_geometry(
            size in 0u64..(64 << 40),
            cluster_shift in 9u32..=21,
            chunk_seed in proptest::num::u64::ANY,
        ) {
            let cluster = 1u64 << cluster_shift;
            let max_chunk = cluster + chunk_seed % (MAX_CHUNK - cluster + 1);
            proptest::prop_assume!(size / max_chunk <= 100_000);
            check(size, cluster, max_chunk);
        }
    }

    #[test]
    fn small_files_are_copied_and_empty_ones_skipped() {
        assert_eq!(plan(0, 4096, MAX_CHUNK), BlockClonePlan::Empty);
        assert_eq!(plan(1, 4096, MAX_CHUNK), BlockClonePlan::TooSmall);
        assert_eq!(plan(4095, 4096, MAX_CHUNK), BlockClonePlan::TooSmall);
        assert!(matches!(
            plan(4096, 4096, MAX_CHUNK),
            BlockClonePlan::Clone { .. }
        ));
    }

    #[test]
    fn the_last_cluster_is_rounded_up() {
        let got = plan(10_000, 4096, MAX_CHUNK);
        assert_eq!(
            got,
            BlockClonePlan::Clone {
                ranges: vec![CloneRange {
                    offset: 0,
                    len: 12_288
                }],
                extend_to: 12_288,
                size: 10_000,
            }
        );
    }

    #[test]
    fn large_files_are_cut_under_4_gib() {
        let cluster = 65536;
        let size = (10 << 30) + 1;
        let BlockClonePlan::Clone { ranges, .. } = plan(size, cluster, MAX_CHUNK) else {
            panic!("should clone");
        };
        assert_eq!(ranges.len(), 3);
        assert_eq!(ranges[0].len, (1 << 32) - cluster);
        assert_eq!(ranges[1].offset, (1 << 32) - cluster);
        assert_eq!(
            ranges[2].offset + ranges[2].len,
            size.next_multiple_of(cluster)
        );
    }

    #[test]
    fn nonsense_geometry_is_refused() {
        for (cluster, max_chunk) in [
            (0, MAX_CHUNK),
            (3000, MAX_CHUNK),
            (4096, 4095),
            (4096, 1 << 32),
        ] {
            assert_eq!(plan(1 << 20, cluster, max_chunk), BlockClonePlan::Invalid);
        }
        assert_eq!(plan(u64::MAX, 4096, MAX_CHUNK), BlockClonePlan::Invalid);
    }
}
