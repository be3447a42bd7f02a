//! Rank sessions (회차): a target's observations in time order belong to the current session; right after
//! an observation is stored, if the current session holds 25 exposed observations (found in the list),
//! the next session starts. Not-found observations belong to the current session but are never counted.
//! So observation i is in session `1 + floor(exposed observations before i / 25)`.
//!
//! The numbering depends only on the set of observations: they may arrive in any order, and one
//! observation delivered twice (same target, same time) counts once, as found if any delivery found it
//! (at its best position). The ClickHouse view `rank_history` computes the same numbers.

use std::collections::{BTreeMap, HashMap};

/// Exposures per session.
pub const SESSION_SIZE: u64 = 25;

/// One observation of a target: when (epoch ms) and where (`None`: not found within the depth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub target: String,
    pub observed_at: i64,
    pub position: Option<u32>,
}

/// The numbers of one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbered {
    /// 1-based session.
    pub session: u64,
    /// Exposed observations in the session up to and including this one.
    pub exposures_in_session: u64,
    /// The position the observation counts with (the best of its deliveries).
    pub position: Option<u32>,
}

/// The numbers of every observation, in input order.
pub fn number(observations: &[Observation]) -> Vec<Numbered> {
    // One observation per (target, time): the best position of its deliveries.
    let mut merged: HashMap<(&str, i64), Option<u32>> = HashMap::new();
    for o in observations {
        let slot = merged.entry((o.target.as_str(), o.observed_at)).or_insert(None);
        *slot = match (*slot, o.position) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let mut by_target: BTreeMap<&str, Vec<(i64, Option<u32>)>> = BTreeMap::new();
    for ((target, at), position) in &merged {
        by_target.entry(target).or_default().push((*at, *position));
    }
    let mut numbers: HashMap<(&str, i64), Numbered> = HashMap::new();
    for (target, mut history) in by_target {
        history.sort_unstable_by_key(|(at, _)| *at);
        let mut exposed_before = 0u64;
        for (at, position) in history {
            let exposed = u64::from(position.is_some());
            numbers.insert(
                (target, at),
                Numbered {
                    session: 1 + exposed_before / SESSION_SIZE,
                    exposures_in_session: exposed_before % SESSION_SIZE + exposed,
                    position,
                },
            );
            exposed_before += exposed;
        }
    }
    observations.iter().map(|o| numbers[&(o.target.as_str(), o.observed_at)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(target: &str, day: i64, position: Option<u32>) -> Observation {
        Observation { target: target.into(), observed_at: day * 86_400_000, position }
    }

    #[test]
    fn the_26th_exposure_opens_session_two_and_not_found_days_do_not_count() {
        let mut history = Vec::new();
        for day in 0..30 {
            // Days 3 and 7 not found.
            let position = if day == 3 || day == 7 { None } else { Some(10 + day as u32) };
            history.push(obs("a", day, position));
        }
        let n = number(&history);
        // 27 days (0..=26) hold 25 exposures; day 26 is the 25th exposure, still session 1.
        assert_eq!((n[26].session, n[26].exposures_in_session), (1, 25));
        assert_eq!((n[27].session, n[27].exposures_in_session), (2, 1));
        // A not-found day is in the current session, counting nothing.
        assert_eq!((n[3].session, n[3].exposures_in_session), (1, 3));
        assert_eq!((n[7].session, n[7].exposures_in_session), (1, 6));
    }

    #[test]
    fn a_not_found_day_right_after_the_25th_exposure_is_in_the_next_session() {
        let mut history: Vec<Observation> = (0..25).map(|d| obs("a", d, Some(1))).collect();
        history.push(obs("a", 25, None));
        let n = number(&history);
        assert_eq!((n[24].session, n[24].exposures_in_session), (1, 25));
        assert_eq!((n[25].session, n[25].exposures_in_session), (2, 0));
    }

    #[test]
    fn order_and_duplicates_do_not_change_the_numbers() {
        let history: Vec<Observation> =
            (0..60).map(|d| obs(if d % 2 == 0 { "a" } else { "b" }, d, (d % 5 != 0).then_some(d as u32))).collect();
        let straight = number(&history);
        let mut shuffled = history.clone();
        shuffled.reverse();
        shuffled.push(history[10].clone());
        shuffled.push(Observation { position: None, ..history[11].clone() });
        let n = number(&shuffled);
        for (i, o) in history.iter().enumerate() {
            let j = shuffled.iter().position(|s| s == o).expect("present");
            assert_eq!(n[j], straight[i], "{o:?}");
        }
        // A duplicate delivered as not found keeps the found position.
        assert_eq!(n[n.len() - 1], straight[11]);
        assert_eq!(n[n.len() - 1].position, Some(11));
    }
}
