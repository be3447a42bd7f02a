//! Schedules: `[schedules.NAME]` in the pipeline config. A schedule fires on a cron expression in a time
//! zone ([`clock`]) and enqueues a source's seeds or every active tracking target of a source. Its
//! targets (or seeds) are split into `stagger.groups` stable groups started across `stagger.spread`,
//! each group a unit of its own, delayed by a jitter derived from the fire (so every scheduler instance
//! computes the same times). A fire's id is derived from the schedule and the fire time.
//!
//! Planning ([`plan`]) is pure: given what was already fired and the time, which units are due. The
//! loop that holds the lease and publishes is in [`run`].

pub mod clock;
pub mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shopstream_core::ids::stable_id;

pub use clock::{ClockError, CronClock};

/// A fire older than this when the scheduler first sees it was missed (the scheduler was down); the
/// scheduler widens it to a few of its ticks when its clock runs fast.
pub const GRACE: Duration = Duration::from_secs(60);

/// `[schedules.NAME]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// 5 fields: minute hour day-of-month month day-of-week.
    pub cron: String,
    /// IANA time zone the cron expression is read in.
    #[serde(default = "utc")]
    pub timezone: String,
    /// What a fire enqueues: `{ seeds = "SOURCE" }`, `{ targets = "SOURCE" }` or
    /// `{ collect = "SOURCE", endpoint = "orders", window = "10m" }`.
    pub enqueue: Enqueue,
    /// Crawl lane of the requests (`high`, `normal`, `low`); targets default to their tier's lane.
    #[serde(default)]
    pub priority: Option<String>,
    /// Up to this much delay after the fire time (e.g. "5m"), derived from the fire.
    #[serde(default)]
    pub jitter: Option<String>,
    /// `{ groups = N, spread = "30m" }`.
    #[serde(default)]
    pub stagger: Option<StaggerConfig>,
    /// `catch_up` (default): after an outage, the last missed fire runs; `skip`: missed fires are recorded
    /// as skipped.
    #[serde(default)]
    pub missed: Missed,
    /// Retries of a failed request before it counts as failed in the run's summary (default 2; a
    /// targets run uses its targets' tiers' when they set one).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Wait between a failure and its retry (default "60s").
    #[serde(default)]
    pub retry_delay: Option<String>,
    /// How long a run may take before its summary is written with what settled (default "2h").
    #[serde(default)]
    pub timeout: Option<String>,
}

/// How often, and how far apart, a run's failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub delay: Duration,
}

impl Default for RetryPolicy {
    /// The seed's policy: 2 retries, 60 s apart.
    fn default() -> Self {
        RetryPolicy { retries: 2, delay: Duration::from_secs(60) }
    }
}

impl RetryPolicy {
    /// From optional config values, each defaulting to [`RetryPolicy::default`]'s.
    pub fn from_config(field: &str, retries: Option<u32>, delay: Option<&str>) -> Result<RetryPolicy, String> {
        let d = RetryPolicy::default();
        Ok(RetryPolicy {
            retries: retries.unwrap_or(d.retries),
            delay: delay.map(|t| duration(&format!("{field}.retry_delay"), t)).transpose()?.unwrap_or(d.delay),
        })
    }

    /// The most generous of two policies (more retries, then the shorter delay): a run serving several
    /// tiers gives each request the best of them.
    pub fn max(self, other: RetryPolicy) -> RetryPolicy {
        RetryPolicy { retries: self.retries.max(other.retries), delay: self.delay.min(other.delay) }
    }
}

/// How long a run may take when its schedule or command names no timeout.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

fn utc() -> String {
    "UTC".into()
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enqueue {
    #[serde(default)]
    pub seeds: Option<String>,
    #[serde(default)]
    pub targets: Option<String>,
    /// A seller-API source: collect `endpoint` for every account over `window` before each fire.
    #[serde(default)]
    pub collect: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub window: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaggerConfig {
    pub groups: u32,
    pub spread: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    #[default]
    CatchUp,
    Skip,
}

/// What a fire enqueues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    Seeds(String),
    Targets(String),
    /// A seller-API collection: every account of the source (split into the stagger groups), the
    /// endpoint, and the window before the fire time (`[fire - window, fire)`, cut by the endpoint).
    Collect {
        source: String,
        endpoint: String,
        window: Duration,
    },
}

impl What {
    pub fn source(&self) -> &str {
        match self {
            What::Seeds(s) | What::Targets(s) | What::Collect { source: s, .. } => s,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            What::Seeds(_) => "seeds",
            What::Targets(_) => "targets",
            What::Collect { .. } => "api",
        }
    }
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub clock: CronClock,
    pub what: What,
    pub priority: Option<String>,
    pub jitter: Duration,
    pub groups: u32,
    pub spread: Duration,
    pub missed: Missed,
    pub retry: RetryPolicy,
    pub timeout: Duration,
}

pub fn duration(field: &str, text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{field} = {text:?}: {e} (e.g. \"30m\")"))
}

impl Schedule {
    pub fn new(name: &str, c: &ScheduleConfig) -> Result<Schedule, String> {
        let clock = CronClock::new(&c.cron, &c.timezone).map_err(|e| e.to_string())?;
        let e = &c.enqueue;
        let what =
            match (&e.seeds, &e.targets, &e.collect) {
                (Some(s), None, None) => What::Seeds(s.clone()),
                (None, Some(s), None) => What::Targets(s.clone()),
                (None, None, Some(s)) => {
                    let endpoint =
                        e.endpoint.clone().ok_or("enqueue = { collect = \"SOURCE\" } needs endpoint = \"NAME\"")?;
                    let window = duration(
                        "enqueue.window",
                        e.window.as_deref().ok_or("a collection needs window = \"10m\" (or more)")?,
                    )?;
                    if window.is_zero() {
                        return Err("enqueue.window must be above 0".into());
                    }
                    What::Collect { source: s.clone(), endpoint, window }
                }
                _ => return Err(
                    "enqueue must name exactly one of seeds = \"SOURCE\", targets = \"SOURCE\" or collect = \"SOURCE\""
                        .into(),
                ),
            };
        if !matches!(what, What::Collect { .. }) && (e.endpoint.is_some() || e.window.is_some()) {
            return Err("enqueue.endpoint and enqueue.window are for collect = \"SOURCE\"".into());
        }
        if let Some(p) = &c.priority {
            if !matches!(p.as_str(), "high" | "normal" | "low") {
                return Err(format!("priority = {p:?}: high, normal or low"));
            }
        }
        let jitter = c.jitter.as_deref().map(|j| duration("jitter", j)).transpose()?.unwrap_or_default();
        let (groups, spread) = match &c.stagger {
            Some(s) if s.groups == 0 => return Err("stagger.groups must be at least 1".into()),
            Some(s) => (s.groups, duration("stagger.spread", &s.spread)?),
            None => (1, Duration::ZERO),
        };
        Ok(Schedule {
            name: name.to_string(),
            clock,
            what,
            priority: c.priority.clone(),
            jitter,
            groups,
            spread,
            missed: c.missed,
            retry: RetryPolicy::from_config("schedule", c.retries, c.retry_delay.as_deref())?,
            timeout: c.timeout.as_deref().map(|t| duration("timeout", t)).transpose()?.unwrap_or(RUN_TIMEOUT),
        })
    }

    /// The run id of a fire: readable and the same on every scheduler instance.
    pub fn run_id(&self, fire: DateTime<Utc>) -> String {
        format!("{}-{}", self.name, fire.format("%Y%m%dT%H%MZ"))
    }

    /// When group `group` of the fire at `fire` is due: its share of the spread plus the fire's jitter.
    pub fn due(&self, fire: DateTime<Utc>, group: u32) -> DateTime<Utc> {
        let share = self.spread.as_millis() as u64 * u64::from(group) / u64::from(self.groups.max(1));
        let jitter_ms = self.jitter.as_millis() as u64;
        let jitter = if jitter_ms == 0 {
            0
        } else {
            let h = stable_id(&["jitter", &self.run_id(fire), &group.to_string()]);
            u64::from_str_radix(&h[..12], 16).unwrap_or(0) % jitter_ms
        };
        fire + chrono::Duration::milliseconds((share + jitter) as i64)
    }
}

/// One group of one fire: the unit the scheduler enqueues and records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub fire: DateTime<Utc>,
    pub group: u32,
    /// The fire was missed and is run late (`catch_up`), or recorded as skipped (`skip`).
    pub late: bool,
    pub skip: bool,
}

/// What a schedule has fired: per fire time, the groups done (fired or skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fired {
    pub groups: BTreeMap<DateTime<Utc>, BTreeSet<u32>>,
}

impl Fired {
    pub fn record(&mut self, fire: DateTime<Utc>, group: u32) {
        self.groups.entry(fire).or_default().insert(group);
        // Only recent fires matter for planning.
        while self.groups.len() > 1000 {
            self.groups.pop_first();
        }
    }

    pub fn latest(&self) -> Option<DateTime<Utc>> {
        self.groups.keys().next_back().copied()
    }
}

/// The units of `s` due at `now`. `since`: where the schedule's history starts when it never fired (the
/// first time a scheduler led). Started fires are completed group by group as their groups fall due;
/// fires never started that are over [`GRACE`] old were missed: under `catch_up` the latest missed fire
/// runs (late), under `skip` it is recorded as skipped (so the next leader does not look at it again).
pub fn plan(s: &Schedule, fired: &Fired, since: DateTime<Utc>, now: DateTime<Utc>, grace: Duration) -> Vec<Unit> {
    let mut units = Vec::new();
    // Started fires with groups left.
    for (fire, done) in &fired.groups {
        for group in 0..s.groups {
            if !done.contains(&group) && s.due(*fire, group) <= now {
                units.push(Unit { fire: *fire, group, late: false, skip: false });
            }
        }
    }
    let from = fired.latest().unwrap_or(since);
    let grace = chrono::Duration::from_std(grace).unwrap_or_default();
    let mut missed = None;
    for fire in s.clock.fires_after(from) {
        if fire > now {
            break;
        }
        // Missed: its first group was due well before now (a jitter longer than the grace is not a miss).
        if s.due(fire, 0) + grace < now {
            missed = Some(fire);
            continue;
        }
        for group in 0..s.groups {
            if s.due(fire, group) <= now {
                units.push(Unit { fire, group, late: false, skip: false });
            }
        }
    }
    if let Some(fire) = missed {
        let skip = s.missed == Missed::Skip;
        // A missed fire comes before the on-time ones.
        // Every group of it at once: its spread has passed or is being made up for.
        let late: Vec<Unit> = (0..s.groups).map(|group| Unit { fire, group, late: true, skip }).collect();
        units.splice(0..0, late);
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use clock::parse_rfc3339;

    fn at(s: &str) -> DateTime<Utc> {
        parse_rfc3339(s).expect("time")
    }

    fn schedule(cron: &str, missed: Missed, stagger: Option<(u32, &str)>) -> Schedule {
        let c = ScheduleConfig {
            cron: cron.into(),
            timezone: "Asia/Seoul".into(),
            enqueue: Enqueue { targets: Some("naver".into()), ..Default::default() },
            priority: None,
            jitter: None,
            stagger: stagger.map(|(groups, spread)| StaggerConfig { groups, spread: spread.into() }),
            missed,
            retries: None,
            retry_delay: None,
            timeout: None,
        };
        Schedule::new("daily", &c).expect("valid")
    }

    #[test]
    fn an_on_time_fire_is_due_once() {
        let s = schedule("0 1 * * *", Missed::CatchUp, None);
        let since = at("2026-12-01T00:00:00Z");
        assert!(plan(&s, &Fired::default(), since, at("2026-12-01T15:59:59Z"), GRACE).is_empty());
        let units = plan(&s, &Fired::default(), since, at("2026-12-01T16:00:01Z"), GRACE);
        assert_eq!(units, [Unit { fire: at("2026-12-01T16:00:00Z"), group: 0, late: false, skip: false }]);
        let mut fired = Fired::default();
        fired.record(units[0].fire, 0);
        assert!(plan(&s, &fired, since, at("2026-12-01T16:00:02Z"), GRACE).is_empty());
        assert_eq!(s.run_id(units[0].fire), "daily-20261201T1600Z");
    }

    #[test]
    fn after_an_outage_catch_up_runs_the_last_missed_fire_and_skip_records_it() {
        let since = at("2026-12-01T00:00:00Z");
        let mut fired = Fired::default();
        fired.record(at("2026-12-01T16:00:00Z"), 0);
        // Down for three days: the fires of Dec 2, 3 and 4 were missed.
        let now = at("2026-12-04T18:00:00Z");
        let s = schedule("0 1 * * *", Missed::CatchUp, None);
        assert_eq!(
            plan(&s, &fired, since, now, GRACE),
            [Unit { fire: at("2026-12-04T16:00:00Z"), group: 0, late: true, skip: false }]
        );
        let s = schedule("0 1 * * *", Missed::Skip, None);
        assert_eq!(
            plan(&s, &fired, since, now, GRACE),
            [Unit { fire: at("2026-12-04T16:00:00Z"), group: 0, late: true, skip: true }]
        );
    }

    #[test]
    fn staggered_groups_fall_due_across_the_spread() {
        let s = schedule("0 1 * * *", Missed::CatchUp, Some((3, "30m")));
        let fire = at("2026-12-01T16:00:00Z");
        assert_eq!(s.due(fire, 0), fire);
        assert_eq!(s.due(fire, 1), at("2026-12-01T16:10:00Z"));
        assert_eq!(s.due(fire, 2), at("2026-12-01T16:20:00Z"));
        let since = at("2026-12-01T00:00:00Z");
        let mut fired = Fired::default();
        let first = plan(&s, &fired, since, at("2026-12-01T16:00:05Z"), GRACE);
        assert_eq!(first.len(), 1);
        fired.record(fire, 0);
        // Later in the spread (beyond the grace) the started fire is completed, not counted as missed.
        let rest = plan(&s, &fired, since, at("2026-12-01T16:25:00Z"), GRACE);
        assert_eq!(rest.iter().map(|u| (u.group, u.late)).collect::<Vec<_>>(), [(1, false), (2, false)]);
    }

    #[test]
    fn jitter_is_bounded_and_the_same_everywhere() {
        let mut c = ScheduleConfig {
            cron: "*/10 * * * *".into(),
            timezone: "UTC".into(),
            enqueue: Enqueue { seeds: Some("books".into()), ..Default::default() },
            priority: Some("low".into()),
            jitter: Some("2m".into()),
            stagger: None,
            missed: Missed::Skip,
            retries: Some(3),
            retry_delay: Some("10s".into()),
            timeout: None,
        };
        let s = Schedule::new("orders", &c).expect("valid");
        assert_eq!(s.retry, RetryPolicy { retries: 3, delay: Duration::from_secs(10) });
        assert_eq!(s.timeout, RUN_TIMEOUT);
        let fire = at("2026-12-01T00:10:00Z");
        let due = s.due(fire, 0);
        assert!(due >= fire && due < fire + chrono::Duration::minutes(2));
        assert_eq!(due, Schedule::new("orders", &c).expect("valid").due(fire, 0));
        // A fire waits for its jitter, and is not taken for missed when the jitter outlasts the grace.
        let since = at("2026-12-01T00:00:00Z");
        let before = due - chrono::Duration::milliseconds(1);
        assert!(plan(&s, &Fired::default(), since, before, Duration::from_millis(1)).iter().all(|u| u.fire != fire));
        let units = plan(&s, &Fired::default(), since, due, Duration::from_millis(1));
        assert!(units.iter().any(|u| u.fire == fire && !u.late), "{units:?}");
        c.enqueue.targets = Some("x".into());
        assert!(Schedule::new("orders", &c).is_err(), "two things to enqueue");
        c.enqueue.targets = None;
        c.priority = Some("urgent".into());
        assert!(Schedule::new("orders", &c).is_err());
    }
}
