//! When a schedule fires: a 5-field cron expression read on a time zone's wall clock. `croner` parses
//! and matches the pattern, `chrono-tz` maps wall-clock times to instants; neither is written here.
//!
//! The rules across daylight-saving changes:
//! - A wall-clock time the clock skips (spring forward) fires once, at the first instant after the gap
//!   (`30 2 * * *` in New York on the spring-forward day fires at 03:00 EDT). Several skipped times
//!   collapse into that one instant.
//! - A wall-clock time the clock repeats (fall back) fires once, at its first occurrence.
//!
//! Every fire is a UTC instant; the next fire is always strictly after the previous one.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// A cron expression with a wrong field count, an unknown time zone, or a pattern that never fires.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    #[error("invalid cron expression {expr:?}: {reason} (5 fields: minute hour day-of-month month day-of-week)")]
    Cron { expr: String, reason: String },
    #[error("unknown time zone {0:?} (an IANA name such as Asia/Seoul or UTC)")]
    TimeZone(String),
    #[error("the cron expression {0:?} has no fire time in the next years")]
    Never(String),
}

/// A cron expression on a time zone's wall clock.
#[derive(Debug, Clone)]
pub struct CronClock {
    expr: String,
    cron: Cron,
    tz: Tz,
}

impl CronClock {
    pub fn new(expr: &str, timezone: &str) -> Result<CronClock, ClockError> {
        let fields = expr.split_whitespace().count();
        if fields != 5 && !expr.trim().starts_with('@') {
            return Err(ClockError::Cron { expr: expr.to_string(), reason: format!("{fields} fields") });
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(expr.trim())
            .map_err(|e| ClockError::Cron { expr: expr.to_string(), reason: e.to_string() })?;
        let tz: Tz = timezone.trim().parse().map_err(|_| ClockError::TimeZone(timezone.to_string()))?;
        Ok(CronClock { expr: expr.trim().to_string(), cron, tz })
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first fire strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ClockError> {
        let never = || ClockError::Never(self.expr.clone());
        // Walk the wall clock from `after`'s wall-clock time; a match that maps to an instant not after
        // `after` (the first occurrence of a repeated time, already passed; or a gap already left) is
        // stepped over.
        let mut wall = after.with_timezone(&self.tz).naive_local();
        for _ in 0..10_000 {
            wall = self.cron.find_next_occurrence(&wall, false).map_err(|_| never())?;
            let instant = match self.tz.from_local_datetime(&wall) {
                LocalResult::Single(t) => t,
                LocalResult::Ambiguous(first, _) => first,
                LocalResult::None => self.after_gap(wall).ok_or_else(never)?,
            };
            let instant = instant.with_timezone(&Utc);
            if instant > after {
                return Ok(instant);
            }
        }
        Err(never())
    }

    /// The fires strictly after `after`, in order.
    pub fn fires_after(&self, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let mut cursor = after;
        std::iter::from_fn(move || {
            let next = self.next_after(cursor).ok()?;
            cursor = next;
            Some(next)
        })
    }

    /// The latest fire in `(after, until]`, if any: what a `catch_up` schedule runs after an outage.
    pub fn last_fire_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Step from the latest known point; a schedule that fires every minute over a long outage is
        // walked in bounded steps.
        let mut last = None;
        for fire in self.fires_after(after) {
            if fire > until {
                break;
            }
            last = Some(fire);
        }
        last
    }

    /// The first instant after the DST gap that swallowed `wall`.
    fn after_gap(&self, wall: NaiveDateTime) -> Option<DateTime<Tz>> {
        let mut t = wall;
        for _ in 0..(48 * 60) {
            t += Duration::minutes(1);
            // Transitions fall on whole minutes: the first wall-clock minute that exists again is the
            // instant the gap ends.
            let minute = t.with_second_and_nanos_zero();
            if let Some(instant) = self.tz.from_local_datetime(&minute).earliest() {
                return Some(instant);
            }
        }
        None
    }
}

trait WholeMinute {
    fn with_second_and_nanos_zero(self) -> Self;
}

impl WholeMinute for NaiveDateTime {
    fn with_second_and_nanos_zero(self) -> Self {
        use chrono::Timelike;
        self.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(self)
    }
}

/// RFC 3339 in UTC with a `Z`, to the second (fires are whole minutes).
pub fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Parse an RFC 3339 time (any offset) to UTC.
pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time ({e}); e.g. 2026-12-01T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_rfc3339(s).expect("time")
    }

    fn fires(expr: &str, tz: &str, from: &str, n: usize) -> Vec<String> {
        let c = CronClock::new(expr, tz).expect("clock");
        c.fires_after(at(from)).take(n).map(utc_text).collect()
    }

    #[test]
    fn daily_rank_crawl_in_seoul() {
        assert_eq!(
            fires("0 1 * * *", "Asia/Seoul", "2026-12-01T00:00:00Z", 2),
            ["2026-12-01T16:00:00Z", "2026-12-02T16:00:00Z"]
        );
        // Strictly after: a fire time itself is not repeated.
        assert_eq!(fires("0 1 * * *", "Asia/Seoul", "2026-12-01T16:00:00Z", 1), ["2026-12-02T16:00:00Z"]);
    }

    #[test]
    fn a_time_skipped_by_spring_forward_fires_once_after_the_gap() {
        // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
        assert_eq!(
            fires("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", 3),
            ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]
        );
        // Every 15 minutes: 02:00, 02:15, 02:30, 02:45 and 03:00 collapse into the one instant 03:00 EDT.
        assert_eq!(
            fires("*/15 * * * *", "America/New_York", "2026-03-08T06:40:00Z", 3),
            ["2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"]
        );
    }

    #[test]
    fn a_time_repeated_by_fall_back_fires_once_at_its_first_occurrence() {
        // New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30Z and 06:30Z.
        assert_eq!(
            fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3),
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"]
        );
        // Hourly across the fold: 01:00 and 01:30 EDT fire, their EST repeats do not; 02:00 EST does.
        assert_eq!(
            fires("0,30 * * * *", "America/New_York", "2026-11-01T04:50:00Z", 4),
            ["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"]
        );
        // Starting inside the repeated hour (the second 01:10) does not go back to its first occurrence.
        assert_eq!(fires("30 1 * * *", "America/New_York", "2026-11-01T06:10:00Z", 1), ["2026-11-02T06:30:00Z"]);
    }

    #[test]
    fn europe_and_utc() {
        // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z).
        assert_eq!(fires("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 1), ["2026-03-29T01:00:00Z"]);
        assert_eq!(
            fires("0 0 1 * *", "UTC", "2026-12-15T00:00:00Z", 2),
            ["2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"]
        );
    }

    #[test]
    fn last_fire_between_is_the_catch_up_fire() {
        let c = CronClock::new("0 * * * *", "UTC").expect("clock");
        assert_eq!(
            c.last_fire_between(at("2026-12-01T00:00:00Z"), at("2026-12-01T05:59:00Z")).map(utc_text).as_deref(),
            Some("2026-12-01T05:00:00Z")
        );
        assert_eq!(c.last_fire_between(at("2026-12-01T00:00:00Z"), at("2026-12-01T00:59:00Z")), None);
    }

    #[test]
    fn bad_input_is_named() {
        assert!(matches!(CronClock::new("0 1 * *", "UTC"), Err(ClockError::Cron { .. })));
        assert!(matches!(CronClock::new("0 0 1 * * *", "UTC"), Err(ClockError::Cron { .. })));
        assert!(matches!(CronClock::new("61 1 * * *", "UTC"), Err(ClockError::Cron { .. })));
        assert_eq!(
            CronClock::new("0 1 * * *", "Asia/Nowhere").err(),
            Some(ClockError::TimeZone("Asia/Nowhere".into()))
        );
        let never = CronClock::new("0 0 30 2 *", "UTC").expect("parses");
        assert!(never.next_after(at("2026-01-01T00:00:00Z")).is_err());
    }
}
