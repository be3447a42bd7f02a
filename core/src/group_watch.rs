//! Watches one stage's consumer group from inside the member: its lag per topic and the partitions it
//! owns, as gauges, and a health reason when the member owns nothing while its group has lag.
//!
//! A member with no partitions is normal for a moment (a rebalance, more members than partitions). It
//! is worth an operator's attention when it lasts while work waits: a broker that wedged the group (as
//! tansu 0.6.0 did after kill storms), or members other than this one that hold the partitions and do
//! not progress. So the reason is raised only after the state held for two checks in a row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::kafka::{group_lag, TrackedConsumer};
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

/// Spawn the watcher of `consumer`'s group; it stops with `shutdown`.
pub fn spawn(stage: &'static str, consumer: Arc<TrackedConsumer>, metrics: Metrics, shutdown: CancellationToken) {
    let interval = check_interval();
    tokio::spawn(async move {
        let mut idle_checks = 0u32;
        let mut idle_since: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.cancelled() => return,
            }
            let (b, group, topics) = (consumer.brokers.clone(), consumer.group.clone(), consumer.topics.clone());
            let lag = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
                group_lag(&b, &group, &refs)
            })
            .await;
            let lag = match lag {
                Ok(Ok(lag)) => lag,
                Ok(Err(e)) => {
                    tracing::debug!(stage, error = %e, "Could not read the group's lag.");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(stage, error = %e, "The lag check panicked.");
                    continue;
                }
            };
            for (topic, n) in &lag {
                metrics.set("consumer_lag", &[("stage", stage), ("topic", topic)], *n);
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
                    let since = *idle_since.get_or_insert_with(Instant::now);
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
    fn only_an_idle_member_of_a_group_with_lag_is_flagged() {
        assert_eq!(judge(2, 100, 0), Verdict::Fine, "owns partitions");
        assert_eq!(judge(0, 0, 5), Verdict::Fine, "nothing to do");
        assert_eq!(judge(0, 7, 0), Verdict::IdleWithLag { lag: 7, for_checks: 1 });
        assert_eq!(judge(0, 7, 1), Verdict::IdleWithLag { lag: 7, for_checks: 2 });
    }
}
