//! The contiguous low watermark of done records per partition (DESIGN §3.2).
//!
//! A record is *begun* when it is read and *done* when everything it caused is acknowledged. The position
//! to store for a partition is the lowest offset not yet done: a record that is still in flight, or that
//! failed and is being retried, never lets later offsets move past it, whatever order work finishes in.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Default)]
struct PartitionState {
    in_flight: BTreeSet<i64>,
    /// One past the highest offset begun.
    next: i64,
    /// The last position handed out by `done`.
    stored: Option<i64>,
}

impl PartitionState {
    fn watermark(&self) -> i64 {
        self.in_flight.first().copied().unwrap_or(self.next)
    }
}

/// Tracks in-flight offsets for every partition a consumer reads.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<(String, i32), PartitionState>,
}

impl OffsetTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record that `offset` was read and its work started.
    pub fn begin(&mut self, topic: &str, partition: i32, offset: i64) {
        let st = self.partitions.entry((topic.to_string(), partition)).or_default();
        if st.stored.is_none() {
            // First record seen for this partition: the position starts here.
            st.next = offset;
            st.stored = Some(offset);
        }
        st.in_flight.insert(offset);
        st.next = st.next.max(offset + 1);
    }

    /// Record that `offset` is done. Returns the position to store (the next offset to consume after
    /// everything contiguous is done) when it moved forward, `None` otherwise.
    pub fn done(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        let st = self.partitions.get_mut(&(topic.to_string(), partition))?;
        if !st.in_flight.remove(&offset) {
            return None;
        }
        let wm = st.watermark();
        if st.stored.is_none_or(|s| wm > s) {
            st.stored = Some(wm);
            Some(wm)
        } else {
            None
        }
    }

    /// Forget a partition (it was revoked).
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.partitions.remove(&(topic.to_string(), partition));
    }

    /// The position stored last for a partition (the next offset to consume), if it was read.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partitions.get(&(topic.to_string(), partition)).and_then(|p| p.stored)
    }

    /// Records begun and not done in these partitions.
    pub fn in_flight_in(&self, partitions: &[(String, i32)]) -> usize {
        partitions.iter().filter_map(|k| self.partitions.get(k)).map(|p| p.in_flight.len()).sum()
    }

    /// True while this record is begun and not done in a partition still tracked (false once its
    /// partition was revoked and forgotten).
    pub fn holds(&self, topic: &str, partition: i32, offset: i64) -> bool {
        self.partitions.get(&(topic.to_string(), partition)).is_some_and(|p| p.in_flight.contains(&offset))
    }

    /// Records begun and not done, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.partitions.values().map(|p| p.in_flight.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_waits_for_the_oldest_record() {
        let mut t = OffsetTracker::new();
        for o in 10..15 {
            t.begin("t", 0, o);
        }
        assert_eq!(t.done("t", 0, 12), None, "10 and 11 are still in flight");
        assert_eq!(t.done("t", 0, 11), None);
        assert_eq!(t.done("t", 0, 10), Some(13), "10..=12 done: next to consume is 13");
        assert_eq!(t.done("t", 0, 14), None, "13 still in flight");
        assert_eq!(t.done("t", 0, 13), Some(15));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn in_flight_per_partition_and_forgetting() {
        let mut t = OffsetTracker::new();
        t.begin("t", 0, 1);
        t.begin("t", 0, 2);
        t.begin("t", 1, 9);
        let p0 = [("t".to_string(), 0)];
        assert_eq!(t.in_flight_in(&p0), 2);
        assert_eq!(t.in_flight_in(&[("t".to_string(), 1), ("u".to_string(), 0)]), 1);
        assert!(t.holds("t", 0, 2) && !t.holds("t", 0, 3));
        t.forget("t", 0);
        assert_eq!(t.in_flight_in(&p0), 0);
        assert!(!t.holds("t", 0, 2), "a revoked partition's records are no longer held");
        assert!(t.holds("t", 1, 9));
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = OffsetTracker::new();
        t.begin("t", 0, 0);
        t.begin("t", 1, 100);
        assert_eq!(t.done("t", 1, 100), Some(101));
        assert_eq!(t.done("t", 0, 0), Some(1));
    }

    #[test]
    fn unknown_or_repeated_done_is_ignored() {
        let mut t = OffsetTracker::new();
        assert_eq!(t.done("t", 0, 5), None);
        t.begin("t", 0, 5);
        assert_eq!(t.done("t", 0, 5), Some(6));
        assert_eq!(t.done("t", 0, 5), None);
    }

    #[test]
    fn gaps_in_offsets_do_not_block() {
        // Compacted topics and transaction markers leave gaps: only begun offsets count.
        let mut t = OffsetTracker::new();
        t.begin("t", 0, 3);
        t.begin("t", 0, 7);
        assert_eq!(t.done("t", 0, 3), Some(7));
        assert_eq!(t.done("t", 0, 7), Some(8));
    }
}
