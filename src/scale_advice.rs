//! `shopstream scale-advice`: per stage, its consumer group's lag, how fast the group works it off
//! (the committed offsets read twice, `--sample-secs` apart) and how many instances would drain the
//! lag within `--drain-secs` at the observed rate per instance, bounded by the partitions.
//!
//! Reads the brokers only (committed offsets, watermarks, group members); changes nothing. The
//! calculation ([`advise`]) is a pure function.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::Global;

const STAGES: [&str; 3] = ["extract", "transform", "load"];

#[derive(clap::Args)]
pub struct ScaleAdviceArgs {
    /// Seconds between the two readings of each group's committed offsets.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    sample_secs: u64,
    /// Drain the current lag within this many seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    drain_secs: u64,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

/// What was measured of one stage's group over the sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Records of lag at the end of the sample.
    pub lag: i64,
    /// Records the group committed during the sample.
    pub consumed: i64,
    /// Records appended to the group's topics during the sample.
    pub produced: i64,
    /// Length of the sample.
    pub elapsed_secs: f64,
    /// Members of the group, if the broker told (`None`: it could not be asked).
    pub members: Option<u32>,
    /// The most partitions of any one of the stage's topics: the most instances that get work (the
    /// group's `range` assignment hands each topic's partitions to the first members in order).
    pub partitions: u32,
}

/// The recommendation for one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// Records per second the whole group committed.
    pub consumed_per_sec: f64,
    /// Records per second arriving on the group's topics.
    pub produced_per_sec: f64,
    /// Members the rate was divided by.
    pub instances_now: u32,
    /// True when the member count is not known (or zero while offsets moved) and 1 was assumed.
    pub instances_assumed: bool,
    /// Records per second one instance committed; `None` when nothing was committed.
    pub per_instance_per_sec: Option<f64>,
    /// Instances to run.
    pub instances: u32,
    /// Why, in a sentence.
    pub reason: String,
}

/// Instances that drain `o.lag` within `drain_secs` while keeping up with what arrives: `n` instances
/// at `per` records/s each satisfy `n · per ≥ lag / drain_secs + produced/s`. At least 1 (the
/// minimum), at most the partitions. With lag and no progress in the sample the rate per instance is
/// unknown: the partition count, the most that can help.
pub fn advise(o: &Observation, drain_secs: u64) -> Advice {
    let cap = o.partitions.max(1);
    let elapsed = o.elapsed_secs.max(f64::EPSILON);
    let consumed_per_sec = o.consumed.max(0) as f64 / elapsed;
    let produced_per_sec = o.produced.max(0) as f64 / elapsed;
    let (instances_now, instances_assumed) = match o.members {
        Some(n) if n > 0 => (n, false),
        _ => (1, true),
    };
    let mut advice = Advice {
        consumed_per_sec,
        produced_per_sec,
        instances_now,
        instances_assumed,
        per_instance_per_sec: None,
        instances: 1,
        reason: String::new(),
    };
    if o.consumed <= 0 {
        if o.lag > 0 {
            advice.instances = cap;
            advice.reason = format!(
                "{} record(s) of lag and no progress in the sample: the rate per instance is unknown, so up to \
                 the partition count ({cap})",
                o.lag
            );
        } else {
            advice.reason = "no lag and nothing consumed in the sample: the minimum".into();
        }
        return advice;
    }
    let per = consumed_per_sec / instances_now as f64;
    advice.per_instance_per_sec = Some(per);
    let needed_per_sec = o.lag.max(0) as f64 / drain_secs.max(1) as f64 + produced_per_sec;
    // A hair below the exact quotient, so 2.0000000001 instances (float noise) is 2.
    let wanted = (needed_per_sec / per - 1e-9).ceil().max(1.0);
    if wanted > cap as f64 {
        advice.instances = cap;
        advice.reason = format!(
            "{wanted:.0} instance(s) would drain the lag within {drain_secs} s, but only {cap} get partitions; \
             add partitions to go further"
        );
    } else {
        advice.instances = wanted as u32;
        advice.reason = if o.lag > 0 {
            format!("drains {} record(s) within {drain_secs} s at {per:.1} record(s)/s per instance", o.lag)
        } else {
            format!("keeps up with {produced_per_sec:.1} record(s)/s at {per:.1} record(s)/s per instance")
        };
    }
    advice
}

/// One partition's ends and the group's committed offset on it.
#[derive(Debug, Clone, Copy)]
struct Position {
    low: i64,
    high: i64,
    committed: Option<i64>,
}

/// One reading of a group on its topics.
pub(crate) struct Reading {
    at: Instant,
    positions: HashMap<(String, i32), Position>,
}

impl Reading {
    /// Lag as `shopstream status` counts it: from the committed offset, or from the start.
    fn lag(&self) -> i64 {
        self.positions.values().map(|p| (p.high - p.committed.unwrap_or(p.low)).max(0)).sum()
    }
}

pub(crate) fn read_positions(brokers: &str, group: &str, topics: &[String]) -> anyhow::Result<Reading> {
    let consumer: BaseConsumer = shopstream_core::kafka::client_config(brokers)?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let mut tpl = TopicPartitionList::new();
    let mut ends: HashMap<(String, i32), (i64, i64)> = HashMap::new();
    for topic in topics {
        let md = consumer.fetch_metadata(Some(topic), timeout)?;
        for t in md.topics() {
            if let Some(e) = t.error() {
                anyhow::bail!("cannot read topic {topic}: {e:?} (does it exist? `shopstream topics` creates it)");
            }
            for p in t.partitions() {
                ends.insert((topic.clone(), p.id()), consumer.fetch_watermarks(topic, p.id(), timeout)?);
                tpl.add_partition(topic, p.id());
            }
        }
    }
    let at = Instant::now();
    let committed = consumer.committed_offsets(tpl, timeout)?;
    let mut positions = HashMap::new();
    for el in committed.elements() {
        let key = (el.topic().to_string(), el.partition());
        let Some(&(low, high)) = ends.get(&key) else { continue };
        let committed = match el.offset() {
            Offset::Offset(o) if o >= 0 => Some(o),
            _ => None,
        };
        positions.insert(key, Position { low, high, committed });
    }
    Ok(Reading { at, positions })
}

/// Members of `group` now, if the broker answers DescribeGroups.
pub(crate) fn group_members(brokers: &str, group: &str) -> Option<u32> {
    let consumer: BaseConsumer = shopstream_core::kafka::client_config(brokers).ok()?.create().ok()?;
    match consumer.fetch_group_list(Some(group), Duration::from_secs(10)) {
        Ok(list) => Some(list.groups().iter().map(|g| g.members().len() as u32).sum()),
        Err(e) => {
            tracing::debug!(group, error = %e, "Could not describe the group.");
            None
        }
    }
}

/// The observation between two readings of the same group.
pub(crate) fn observe(first: &Reading, second: &Reading, members: Option<u32>) -> Observation {
    let mut consumed = 0;
    let mut produced = 0;
    let mut partitions: HashMap<&str, u32> = HashMap::new();
    for (key, p2) in &second.positions {
        *partitions.entry(key.0.as_str()).or_default() += 1;
        let Some(p1) = first.positions.get(key) else { continue };
        produced += (p2.high - p1.high).max(0);
        consumed += match (p1.committed, p2.committed) {
            (Some(c1), Some(c2)) => (c2 - c1).max(0),
            (None, Some(c2)) => (c2 - p1.low).max(0),
            _ => 0,
        };
    }
    Observation {
        lag: second.lag(),
        consumed,
        produced,
        elapsed_secs: second.at.duration_since(first.at).as_secs_f64(),
        members,
        partitions: partitions.values().copied().max().unwrap_or(0),
    }
}

#[derive(Serialize)]
struct StageReport {
    stage: &'static str,
    group: String,
    topics: Vec<String>,
    lag: i64,
    members: Option<u32>,
    partitions: u32,
    #[serde(flatten)]
    advice: Advice,
}

/// Each stage with its consumer group and the topics it consumes.
pub(crate) fn stage_groups(g: &Global) -> Vec<(&'static str, String, Vec<String>)> {
    let topics = g.topics();
    STAGES
        .iter()
        .map(|&stage| {
            let ts: Vec<&str> = match stage {
                "extract" => topics.crawl_topics().to_vec(),
                "transform" => topics.raw_topics().to_vec(),
                _ => topics.event_topics().to_vec(),
            };
            (stage, g.group(stage), ts.into_iter().map(str::to_string).collect())
        })
        .collect()
}

pub async fn run(g: &Global, a: ScaleAdviceArgs) -> anyhow::Result<()> {
    let stages = stage_groups(g);
    let (brokers, sample, drain) = (g.brokers.clone(), Duration::from_secs(a.sample_secs), a.drain_secs);
    let reports = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<StageReport>> {
        let mut first = Vec::new();
        for (_, group, ts) in &stages {
            first.push(read_positions(&brokers, group, ts)?);
        }
        std::thread::sleep(sample);
        let mut reports = Vec::new();
        for ((stage, group, ts), first) in stages.into_iter().zip(first) {
            let second = read_positions(&brokers, &group, &ts)?;
            let members = group_members(&brokers, &group);
            let o = observe(&first, &second, members);
            let advice = advise(&o, drain);
            reports.push(StageReport {
                stage,
                group,
                topics: ts,
                lag: o.lag,
                members,
                partitions: o.partitions,
                advice,
            });
        }
        Ok(reports)
    })
    .await??;
    if a.json {
        let doc = serde_json::json!({ "sample_secs": a.sample_secs, "drain_secs": a.drain_secs, "stages": reports });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "{:<10} {:<32} {:>10} {:>11} {:>9} {:>8} {:>11} {:>10} {:>9}",
        "stage", "group", "lag", "consumed/s", "in/s", "members", "per inst/s", "partitions", "advice"
    );
    for r in &reports {
        let members = match (r.members, r.advice.instances_assumed) {
            (Some(n), false) => n.to_string(),
            (Some(n), true) => format!("{n} (1?)"),
            (None, _) => "? (1)".to_string(),
        };
        let per = r.advice.per_instance_per_sec.map_or("-".to_string(), |p| format!("{p:.1}"));
        println!(
            "{:<10} {:<32} {:>10} {:>11.1} {:>9.1} {:>8} {:>11} {:>10} {:>9}",
            r.stage,
            r.group,
            r.lag,
            r.advice.consumed_per_sec,
            r.advice.produced_per_sec,
            members,
            per,
            r.partitions,
            r.advice.instances
        );
    }
    println!();
    for r in &reports {
        println!("{}: {}.", r.stage, r.advice.reason);
        if r.advice.instances_assumed && r.advice.per_instance_per_sec.is_some() {
            println!("{}: the group's member count is unknown; the rate was taken as one instance's.", r.stage);
        }
    }
    println!("(sampled over {} s; drain target {} s)", a.sample_secs, a.drain_secs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(lag: i64, consumed: i64, produced: i64, members: Option<u32>, partitions: u32) -> Observation {
        Observation { lag, consumed, produced, elapsed_secs: 10.0, members, partitions }
    }

    #[test]
    fn instances_drain_the_lag_at_the_rate_per_instance() {
        // 2 members commit 200 records in 10 s: 10 records/s each. 6000 of lag in 300 s is 20/s: 2.
        let a = advise(&obs(6000, 200, 0, Some(2), 8), 300);
        assert_eq!(a.per_instance_per_sec, Some(10.0));
        assert_eq!(a.instances, 2);
        assert!(!a.instances_assumed);
        // Twice the lag: 4; and what keeps arriving counts too (+10/s: one more).
        assert_eq!(advise(&obs(12_000, 200, 0, Some(2), 8), 300).instances, 4);
        assert_eq!(advise(&obs(12_000, 200, 100, Some(2), 8), 300).instances, 5);
        // Exactly 3 instances' worth is 3, not 4.
        assert_eq!(advise(&obs(9000, 100, 0, Some(1), 8), 300).instances, 3);
    }

    #[test]
    fn instances_are_bounded_by_the_partitions() {
        let a = advise(&obs(1_000_000, 100, 0, Some(1), 4), 300);
        assert_eq!(a.instances, 4);
        assert!(a.reason.contains("only 4 get partitions"), "{}", a.reason);
    }

    #[test]
    fn lag_without_progress_asks_for_every_partition() {
        let a = advise(&obs(120, 0, 0, Some(0), 4), 300);
        assert_eq!(a.instances, 4);
        assert_eq!(a.per_instance_per_sec, None);
        assert!(a.reason.contains("unknown"), "{}", a.reason);
        // Not even a topic with partitions known: still at least one.
        assert_eq!(advise(&obs(120, 0, 0, None, 0), 300).instances, 1);
    }

    #[test]
    fn no_lag_is_the_minimum() {
        assert_eq!(advise(&obs(0, 0, 0, Some(3), 4), 300).instances, 1);
        // Keeping up easily with a trickle: still one.
        let a = advise(&obs(0, 300, 50, Some(3), 4), 300);
        assert_eq!(a.instances, 1);
        assert!(a.reason.contains("keeps up"), "{}", a.reason);
    }

    #[test]
    fn an_unknown_member_count_is_taken_as_one() {
        let a = advise(&obs(6000, 200, 0, None, 8), 300);
        assert!(a.instances_assumed);
        assert_eq!(a.instances_now, 1);
        assert_eq!(a.per_instance_per_sec, Some(20.0));
        assert_eq!(a.instances, 1);
        // Zero members while offsets moved (they left during the sample): also one.
        assert!(advise(&obs(6000, 200, 0, Some(0), 8), 300).instances_assumed);
    }

    #[test]
    fn observation_counts_commits_and_appends_per_partition() {
        let at = Instant::now();
        let pos = |low, high, committed| Position { low, high, committed };
        let first = Reading {
            at,
            positions: HashMap::from([
                (("a".to_string(), 0), pos(0, 100, Some(40))),
                (("a".to_string(), 1), pos(10, 50, None)),
                (("b".to_string(), 0), pos(0, 5, None)),
            ]),
        };
        let second = Reading {
            at: at + Duration::from_secs(10),
            positions: HashMap::from([
                (("a".to_string(), 0), pos(0, 130, Some(70))),
                (("a".to_string(), 1), pos(10, 50, Some(30))),
                (("b".to_string(), 0), pos(0, 5, None)),
            ]),
        };
        let o = observe(&first, &second, Some(2));
        assert_eq!(o.consumed, 30 + 20, "a/1 had no commit: counted from its start");
        assert_eq!(o.produced, 30);
        assert_eq!(o.lag, 60 + 20 + 5);
        assert_eq!(o.partitions, 2, "the most partitions of one topic");
        assert!((o.elapsed_secs - 10.0).abs() < 1e-6);
    }
}
