//! Watches one stage's consumer group from inside the member: its lag per topic and the partitions it
//! owns, as gauges, and a health reason when the member owns nothing while its group has lag.
//!
//! A member with no partitions is normal for a moment (a rebalance, more members than partitions). It
//! is worth an operator's attention when it lasts while work waits: a broker that wedged the group (as
//! tansu 0.6.0 did after kill storms), or members other than this one that hold the partitions and do
//! not progress. So the reason is raised only after the state held for two checks in a row.
//!
//! It also reports the broker (critical when the group cannot be read two checks in a row) and the
//! stage's load (degraded when too many of the records read were dead-lettered, or the lag is over a
//! limit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::kafka::{group_partition_lag, TrackedConsumer};
use crate::metrics::{Health, Metrics};

/// How often the group is checked: `SHOPSTREAM_GROUP_CHECK_SECS` (default 10 s; tests use 1).
pub fn check_interval() -> Duration {
    let secs = std::env::var("SHOPSTREAM_GROUP_CHECK_SECS").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(10.0);
    Duration::from_secs_f64(secs.clamp(0.1, 3600.0))
}

/// What one check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Fine,
    /// Owns nothing while the group has `lag` records to do, since `for_checks` checks.
    IdleWithLag {
        lag: i64,
        for_checks: u32,
    },
}

/// The pure decision: `assigned` partitions owned, `lag` of the group, `idle_checks` checks in a row
/// (before this one) that already saw the member idle with lag.
pub fn judge(assigned: i64, lag: i64, idle_checks: u32) -> Verdict {
    if assigned == 0 && lag > 0 {
        Verdict::IdleWithLag { lag, for_checks: idle_checks + 1 }
    } else {
        Verdict::Fine
    }
}

/// Checks raised before the member is reported (one check can fall inside a rebalance).
const CHECKS_BEFORE_REPORTING: u32 = 2;

/// How long a member may own nothing while its group's lag does not go down before it leaves and joins
/// the group again: `SHOPSTREAM_REJOIN_AFTER_SECS` (default 60 s).
pub fn rejoin_after() -> Duration {
    let secs = std::env::var("SHOPSTREAM_REJOIN_AFTER_SECS").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(60.0);
    Duration::from_secs_f64(secs.clamp(1.0, 86_400.0))
}

/// The pure decision to rejoin: idle with lag for at least `after`, and the group made no progress
/// meanwhile (its lag now is not below the lag when the member became idle). While the lag goes down,
/// other members are working and this one is only spare (more members than partitions): a rejoin would
/// disturb them for nothing.
pub fn should_rejoin(idle_for: Duration, after: Duration, lag_when_idle: i64, lag_now: i64) -> bool {
    idle_for >= after && lag_now > 0 && lag_now >= lag_when_idle
}

/// How long a partition this member owns may have lag, nothing in flight and a stored position that
/// does not move before it is read again from its committed offset: `SHOPSTREAM_STALL_SECS` (60 s).
pub fn stall_after() -> Duration {
    let secs = std::env::var("SHOPSTREAM_STALL_SECS").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(60.0);
    Duration::from_secs_f64(secs.clamp(1.0, 86_400.0))
}

/// The pure decision for one owned partition: `lag` records behind, `in_flight` records begun and not
/// done, stored `position` now and when it was last seen moving (`since`, with the position then).
/// Returns the new (position, since) to remember and whether the partition stalled.
pub fn judge_partition(
    lag: i64,
    in_flight: usize,
    position: Option<i64>,
    seen: Option<(Option<i64>, Instant)>,
    now: Instant,
    after: Duration,
) -> (Option<(Option<i64>, Instant)>, bool) {
    if lag <= 0 || in_flight > 0 {
        return (None, false);
    }
    match seen {
        Some((p, since)) if p == position => (Some((p, since)), now.duration_since(since) >= after),
        _ => (Some((position, now)), false),
    }
}

/// Spawn the watcher of `consumer`'s group; it stops with `shutdown`.
pub fn spawn(stage: &'static str, consumer: Arc<TrackedConsumer>, metrics: Metrics, shutdown: CancellationToken) {
    let interval = check_interval();
    tokio::spawn(async move {
        let mut idle_checks = 0u32;
        let mut idle_since: Option<Instant> = None;
        // The group's lag when this member was first seen idle (the baseline for progress).
        let mut lag_when_idle = 0i64;
        let rejoin_after = rejoin_after();
        let mut broker_failures = 0u32;
        let mut last_counts = (0u64, 0u64);
        let thresholds = Thresholds::from_env();
        let stall_after = stall_after();
        let mut moving: std::collections::HashMap<(String, i32), (Option<i64>, Instant)> = Default::default();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.cancelled() => return,
            }
            let (b, group, topics) = (consumer.brokers.clone(), consumer.group.clone(), consumer.topics.clone());
            let lag = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
                group_partition_lag(&b, &group, &refs)
            })
            .await;
            let lag = match lag {
                Ok(Ok(lag)) => {
                    broker_failures = 0;
                    metrics.set_health("broker", Health::Healthy, "");
                    lag
                }
                Ok(Err(e)) => {
                    broker_failures += 1;
                    tracing::debug!(stage, error = %e, "Could not read the group's lag.");
                    if broker_failures >= CHECKS_BEFORE_REPORTING {
                        let reason = format!("cannot read group {} from the broker: {e}", consumer.group);
                        metrics.set_health("broker", Health::Critical, reason);
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(stage, error = %e, "The lag check panicked.");
                    continue;
                }
            };
            // Dead letters against records read since the last check, and the lag, against thresholds.
            let (seen, dead) =
                (metrics.get("records_in", &[("stage", stage)]), metrics.get("dead_lettered", &[("stage", stage)]));
            let (h, reason) = judge_load(
                seen.saturating_sub(last_counts.0),
                dead.saturating_sub(last_counts.1),
                lag.values().sum(),
                &thresholds,
            );
            last_counts = (seen, dead);
            metrics.set_health(load_component(stage), h, reason);
            let mut per_topic: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
            for ((topic, partition), n) in &lag {
                *per_topic.entry(topic).or_default() += n;
                let partition = partition.to_string();
                metrics.set(
                    "consumer_partition_lag",
                    &[("stage", stage), ("topic", topic), ("partition", &partition)],
                    *n,
                );
            }
            for (topic, n) in &per_topic {
                metrics.set("consumer_lag", &[("stage", stage), ("topic", topic)], *n);
            }
            // A partition whose position stopped moving while it has lag and nothing in flight (its
            // records are not arriving, or their positions were never stored): read it again.
            for ((topic, partition), n) in &lag {
                let key = (topic.clone(), *partition);
                // A replay stops at its range's end on purpose; a paused partition waits on purpose.
                if consumer.range.is_some() || consumer.is_paused() || !consumer.owns(topic, *partition) {
                    moving.remove(&key);
                    continue;
                }
                let (in_flight, position) = consumer.partition_state(topic, *partition);
                let seen = moving.remove(&key);
                let (next, stalled) = judge_partition(*n, in_flight, position, seen, Instant::now(), stall_after);
                if !stalled {
                    if let Some(next) = next {
                        moving.insert(key, next);
                    }
                    continue;
                }
                tracing::warn!(
                    stage,
                    group = %consumer.group,
                    %topic,
                    partition,
                    lag = n,
                    "A partition's position did not move for {} s while it had lag and nothing in flight: reading it again from its committed offset.",
                    stall_after.as_secs()
                );
                metrics.add("partition_refetches", &[("stage", stage)], 1);
                let (c, t, p) = (consumer.clone(), topic.clone(), *partition);
                match tokio::task::spawn_blocking(move || c.refetch(&t, p)).await {
                    Ok(Ok(offset)) => tracing::info!(stage, %topic, partition, ?offset, "The partition is read again."),
                    Ok(Err(e)) => {
                        tracing::warn!(stage, %topic, partition, error = %e, "Reading the partition again failed.")
                    }
                    Err(e) => tracing::warn!(stage, error = %e, "Reading the partition again panicked."),
                }
            }
            let assigned = consumer.assigned();
            metrics.set("assigned_partitions", &[("stage", stage)], assigned);
            let total: i64 = lag.values().sum();
            match judge(assigned, total, idle_checks) {
                Verdict::Fine => {
                    if idle_checks >= CHECKS_BEFORE_REPORTING {
                        tracing::info!(stage, group = %consumer.group, "This member owns partitions again.");
                    }
                    idle_checks = 0;
                    idle_since = None;
                    metrics.set("idle_with_lag", &[("stage", stage)], 0);
                    metrics.set_health(group_component(stage), Health::Healthy, "");
                }
                Verdict::IdleWithLag { lag, for_checks } => {
                    idle_checks = for_checks;
                    let since = *idle_since.get_or_insert_with(|| {
                        lag_when_idle = lag;
                        Instant::now()
                    });
                    if should_rejoin(since.elapsed(), rejoin_after, lag_when_idle, lag) {
                        // The broker left this member out of a group that does not progress (a wedged
                        // group, or a join that never completed): leave and join again.
                        tracing::warn!(
                            stage,
                            group = %consumer.group,
                            lag,
                            idle_secs = since.elapsed().as_secs(),
                            "This member owned nothing while its group's lag did not go down: it joins the group again."
                        );
                        metrics.add("group_rejoins", &[("stage", stage)], 1);
                        if let Err(e) = consumer.rejoin() {
                            tracing::warn!(stage, error = %e, "Joining the group again failed.");
                        }
                        idle_since = Some(Instant::now());
                        lag_when_idle = lag;
                    }
                    if for_checks >= CHECKS_BEFORE_REPORTING {
                        let reason = format!(
                            "this member of group {} owns no partitions while the group has {lag} record(s) of lag (for {} s)",
                            consumer.group,
                            since.elapsed().as_secs()
                        );
                        if for_checks == CHECKS_BEFORE_REPORTING {
                            tracing::warn!(stage, "{reason}.");
                        }
                        metrics.set("idle_with_lag", &[("stage", stage)], 1);
                        metrics.set_health(group_component(stage), Health::Degraded, reason);
                    }
                }
            }
        }
    });
}

/// When a stage is degraded by its load: the lag of its group, and the share of the records read
/// between two checks that were dead-lettered.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// `SHOPSTREAM_HEALTH_MAX_LAG` (default 1,000,000 records).
    pub max_lag: i64,
    /// `SHOPSTREAM_HEALTH_MAX_ERROR_RATE` (default 0.5), judged over at least `min_records`.
    pub max_error_rate: f64,
    pub min_records: u64,
}

impl Thresholds {
    pub fn from_env() -> Thresholds {
        let get = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<f64>().ok());
        Thresholds {
            max_lag: get("SHOPSTREAM_HEALTH_MAX_LAG").map_or(1_000_000, |v| v as i64),
            max_error_rate: get("SHOPSTREAM_HEALTH_MAX_ERROR_RATE").unwrap_or(0.5),
            min_records: 10,
        }
    }
}

/// The pure decision on a stage's load: degraded when more than the allowed share of the records read
/// since the last check were dead-lettered, or when its group's lag is over the limit.
pub fn judge_load(read: u64, dead_lettered: u64, lag: i64, t: &Thresholds) -> (Health, String) {
    let mut reasons = Vec::new();
    if read >= t.min_records && dead_lettered as f64 > t.max_error_rate * read as f64 {
        reasons.push(format!(
            "{dead_lettered} of {read} records dead-lettered since the last check (over {:.0}%)",
            t.max_error_rate * 100.0
        ));
    }
    if lag > t.max_lag {
        reasons.push(format!("{lag} records of lag (over {})", t.max_lag));
    }
    if reasons.is_empty() {
        (Health::Healthy, String::new())
    } else {
        (Health::Degraded, reasons.join("; "))
    }
}

fn load_component(stage: &'static str) -> &'static str {
    match stage {
        "extract" => "extract load",
        "transform" => "transform load",
        "load" => "load load",
        _ => "load",
    }
}

/// The health component of a stage's group (one per stage, so `run` reports each stage).
fn group_component(stage: &'static str) -> &'static str {
    match stage {
        "extract" => "extract group",
        "transform" => "transform group",
        "load" => "load group",
        _ => "group",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_stalls_only_with_lag_nothing_in_flight_and_a_position_that_does_not_move() {
        let after = Duration::from_secs(60);
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(61);
        // First look: remembered, not stalled.
        let (seen, stalled) = judge_partition(2, 0, Some(20), None, t0, after);
        assert_eq!((seen, stalled), (Some((Some(20), t0)), false));
        // The same position a minute later: stalled.
        assert!(judge_partition(2, 0, Some(20), seen, later, after).1);
        // The position moved: progress, the clock restarts.
        assert_eq!(judge_partition(2, 0, Some(21), seen, later, after), (Some((Some(21), later)), false));
        // Work in flight, or no lag: nothing to judge.
        assert_eq!(judge_partition(2, 1, Some(20), seen, later, after), (None, false));
        assert_eq!(judge_partition(0, 0, Some(20), seen, later, after), (None, false));
        // A partition that never received a record (no position) stalls too.
        let (seen, _) = judge_partition(5, 0, None, None, t0, after);
        assert!(judge_partition(5, 0, None, seen, later, after).1);
    }

    #[test]
    fn a_stage_is_degraded_by_its_error_rate_or_its_lag() {
        let t = Thresholds { max_lag: 100, max_error_rate: 0.5, min_records: 10 };
        assert_eq!(judge_load(100, 50, 0, &t).0, Health::Healthy, "half is not over half");
        let (h, why) = judge_load(100, 51, 0, &t);
        assert_eq!(h, Health::Degraded);
        assert!(why.contains("51 of 100 records dead-lettered"), "{why}");
        assert_eq!(judge_load(4, 4, 0, &t).0, Health::Healthy, "too few records to judge");
        let (h, why) = judge_load(0, 0, 101, &t);
        assert_eq!(h, Health::Degraded);
        assert!(why.contains("101 records of lag"), "{why}");
    }

    #[test]
    fn only_an_idle_member_of_a_group_with_lag_is_flagged() {
        assert_eq!(judge(2, 100, 0), Verdict::Fine, "owns partitions");
        assert_eq!(judge(0, 0, 5), Verdict::Fine, "nothing to do");
        assert_eq!(judge(0, 7, 0), Verdict::IdleWithLag { lag: 7, for_checks: 1 });
        assert_eq!(judge(0, 7, 1), Verdict::IdleWithLag { lag: 7, for_checks: 2 });
    }

    #[test]
    fn a_member_rejoins_only_when_it_was_idle_long_and_the_group_did_not_progress() {
        let after = Duration::from_secs(60);
        assert!(should_rejoin(Duration::from_secs(61), after, 16, 16), "stuck");
        assert!(should_rejoin(Duration::from_secs(61), after, 16, 20), "stuck while more arrives");
        assert!(!should_rejoin(Duration::from_secs(59), after, 16, 16), "not long enough");
        assert!(!should_rejoin(Duration::from_secs(600), after, 16, 3), "others are working it off");
        assert!(!should_rejoin(Duration::from_secs(600), after, 16, 0), "nothing left");
    }
}
