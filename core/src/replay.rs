//! Replays (DESIGN §4): reprocess a range of one topic, by time or by offsets, through the current
//! stage code in a consumer group of its own. The range is fixed when the replay starts: per partition
//! a start (the group's committed position is set to it) and an end (exclusive: the first offset at
//! `--to-time`, else the end of the partition when the replay started), so the replay finishes by itself.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::error::{Error, Result};
use crate::kafka::client_config;

/// Where a replay starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Every partition from its first record.
    Beginning,
    /// The first record at or after this time (ms since the epoch) in every partition.
    Time(i64),
    /// Explicit offsets; partitions not named start at their beginning.
    Offsets(BTreeMap<i32, i64>),
}

/// Parse `P:O,P:O` (`--from-offsets`).
pub fn parse_offsets(text: &str) -> std::result::Result<BTreeMap<i32, i64>, String> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (p, o) = part.split_once(':').ok_or_else(|| format!("{part:?} is not PARTITION:OFFSET"))?;
        let p: i32 = p.trim().parse().map_err(|_| format!("{part:?}: partition {p:?} is not a number"))?;
        let o: i64 = o.trim().parse().map_err(|_| format!("{part:?}: offset {o:?} is not a number"))?;
        if p < 0 || o < 0 {
            return Err(format!("{part:?}: partition and offset must not be negative"));
        }
        if out.insert(p, o).is_some() {
            return Err(format!("partition {p} is named twice"));
        }
    }
    if out.is_empty() {
        return Err("no PARTITION:OFFSET given".into());
    }
    Ok(out)
}

/// The range of one topic a replay covers: per partition, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub topic: String,
    pub partitions: BTreeMap<i32, (i64, i64)>,
}

impl Range {
    /// Records in the range.
    pub fn len(&self) -> i64 {
        self.partitions.values().map(|(s, e)| (e - s).max(0)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The end (exclusive) of a partition of the range, if the partition is in it.
    pub fn end(&self, topic: &str, partition: i32) -> Option<i64> {
        (topic == self.topic).then(|| self.partitions.get(&partition).map(|(_, e)| *e)).flatten()
    }
}

/// Fix the range of `topic` from `start` to `to_time` (ms; none: the partitions' current ends).
pub fn plan(brokers: &str, topic: &str, start: &Start, to_time: Option<i64>) -> Result<Range> {
    let consumer: BaseConsumer = client_config(brokers)?.create()?;
    let timeout = Duration::from_secs(30);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let partitions: Vec<i32> = md.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    if partitions.is_empty() {
        return Err(Error::Config(format!("topic {topic} does not exist or has no partitions")));
    }
    if let Start::Offsets(offsets) = start {
        if let Some(p) = offsets.keys().find(|p| !partitions.contains(p)) {
            return Err(Error::Config(format!("topic {topic} has no partition {p} (it has {partitions:?})")));
        }
    }
    let at_time = |ms: i64| -> Result<HashMap<i32, Option<i64>>> {
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(topic, *p, Offset::Offset(ms))?;
        }
        let found = consumer.offsets_for_times(tpl, timeout)?;
        Ok(found
            .elements()
            .iter()
            .map(|e| (e.partition(), if let Offset::Offset(o) = e.offset() { Some(o) } else { None }))
            .collect())
    };
    let starts_at_time = match start {
        Start::Time(ms) => Some(at_time(*ms)?),
        _ => None,
    };
    let ends_at_time = to_time.map(at_time).transpose()?;
    let mut range = Range { topic: topic.to_string(), partitions: BTreeMap::new() };
    for p in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, *p, timeout)?;
        let s = match start {
            Start::Beginning => low,
            Start::Offsets(o) => o.get(p).copied().unwrap_or(low).clamp(low, high),
            // No record at or after the time: nothing to replay in this partition.
            Start::Time(_) => starts_at_time.as_ref().and_then(|m| m.get(p).copied().flatten()).unwrap_or(high),
        };
        let e = match &ends_at_time {
            Some(m) => m.get(p).copied().flatten().unwrap_or(high),
            None => high,
        };
        range.partitions.insert(*p, (s.clamp(low, high), e.clamp(low, high).max(s.clamp(low, high))));
    }
    Ok(range)
}

/// Set `group`'s committed positions on the range's topic to the range's starts (before the group's
/// consumers start).
pub fn commit_starts(brokers: &str, group: &str, range: &Range) -> Result<()> {
    let consumer: BaseConsumer = client_config(brokers)?.set("group.id", group).create()?;
    let mut tpl = TopicPartitionList::new();
    for (p, (start, _)) in &range.partitions {
        tpl.add_partition_offset(&range.topic, *p, Offset::Offset(*start))?;
    }
    consumer.commit(&tpl, CommitMode::Sync)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_parsed_and_checked() {
        assert_eq!(parse_offsets("0:5, 1:0").expect("ok"), BTreeMap::from([(0, 5), (1, 0)]));
        assert!(parse_offsets("0").is_err());
        assert!(parse_offsets("a:1").is_err());
        assert!(parse_offsets("0:-1").is_err());
        assert!(parse_offsets("0:1,0:2").is_err());
        assert!(parse_offsets("").is_err());
    }

    #[test]
    fn a_range_knows_its_ends_and_size() {
        let r = Range { topic: "t".into(), partitions: BTreeMap::from([(0, (2, 5)), (1, (4, 4))]) };
        assert_eq!(r.len(), 3);
        assert_eq!(r.end("t", 0), Some(5));
        assert_eq!(r.end("t", 2), None);
        assert_eq!(r.end("u", 0), None);
    }
}
