//! `shopstream schedule`: the scheduler loop. Every instance joins one consumer group on the
//! one-partition topic `schedule.lease`; the member that owns the partition is the leader and the only
//! one that fires. A leader that dies loses the partition when its session times out (seconds), and a
//! standby takes over.
//!
//! A fire is recorded in `events.runs` (key = schedule), after its requests were acknowledged. A new
//! leader first reads `events.runs` to its end and goes on from the fires recorded there, so a fire is
//! recorded once across failovers. A leader that dies between its requests and the fire's record leaves
//! the fire unrecorded; the next leader enqueues it again with the same run id (the crawl id), which the
//! pipeline converges on like any redelivered request.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shopstream_core::kafka::{Lease, Producer};
use shopstream_core::metrics::{Health, Metrics};
use shopstream_core::{now_ms, Codec, Endpoints, Topics};
use shopstream_schemas::{CrawlRequest, RunEvent, TrackingTarget};
use tokio_util::sync::CancellationToken;

use super::{plan, Fired, RetryPolicy, Schedule, Unit, What, GRACE};
use crate::track::{self, TrackConfig};

/// The scheduler's time: the real clock, or a fake one for tests and dry runs that starts at `start`
/// at real time `epoch_ms` and runs `rate` times as fast (two instances given the same values agree).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fake: Option<(DateTime<Utc>, i64, f64)>,
}

impl Clock {
    pub fn real() -> Clock {
        Clock { fake: None }
    }

    pub fn fake(start: DateTime<Utc>, epoch_ms: i64, rate: f64) -> Clock {
        Clock { fake: Some((start, epoch_ms, rate)) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.fake {
            None => Utc::now(),
            Some((start, epoch, rate)) => {
                let real = (now_ms() - epoch) as f64 * rate;
                start + chrono::Duration::milliseconds(real as i64)
            }
        }
    }

    /// Where a fake clock started: a schedule's history begins there, not when the lease was won.
    fn origin(&self) -> Option<DateTime<Utc>> {
        self.fake.map(|(start, _, _)| start)
    }

    /// This clock's time for `real_span` of real time.
    fn virtual_span(&self, real_span: Duration) -> Duration {
        match self.fake {
            Some((_, _, rate)) if rate > 0.0 => real_span.mul_f64(rate),
            _ => real_span,
        }
    }

    /// Real time for `virtual_span` of this clock.
    fn real_span(&self, virtual_span: Duration) -> Duration {
        match self.fake {
            Some((_, _, rate)) if rate > 0.0 => virtual_span.div_f64(rate),
            _ => virtual_span,
        }
    }
}

/// Everything the scheduler needs from the pipeline config.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub schedules: Vec<Schedule>,
    /// Seeds per source.
    pub seeds: BTreeMap<String, Vec<String>>,
    /// Track rules per source.
    pub track: BTreeMap<String, TrackConfig>,
    /// The `[api]` sections of the seller-API sources, and their accounts (public variables and ids;
    /// the scheduler never sends a secret).
    pub apis: BTreeMap<String, shopstream_core::api::ApiConfig>,
    pub accounts: shopstream_core::api::Accounts,
    /// Tier → lane.
    pub tiers: BTreeMap<String, String>,
    /// Tier → retry policy, for the tiers that set one.
    pub tier_retries: BTreeMap<String, RetryPolicy>,
    /// The lease's consumer group.
    pub group: String,
    /// This instance's name in run events.
    pub instance: String,
    pub clock: Clock,
    /// How long a dead leader keeps the lease.
    pub session_timeout_ms: u64,
}

/// Run until `shutdown`.
pub async fn run(
    cfg: SchedulerConfig,
    endpoints: &Endpoints,
    topics: &Topics,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    shopstream_core::kafka::ensure_topics(&endpoints.kafka_brokers, &[topics.schedule_lease.as_str()], 1).await?;
    let lease = Lease::join(&endpoints.kafka_brokers, &cfg.group, &topics.schedule_lease, cfg.session_timeout_ms)?;
    let producer = Producer::new(&endpoints.kafka_brokers)?;
    let codec = Codec::new(&endpoints.schema_registry_url);
    let ctx = Ctx { cfg: &cfg, endpoints, topics, producer: producer.clone(), codec, metrics: &metrics };
    tracing::info!(instance = %cfg.instance, schedules = cfg.schedules.len(), "The scheduler is running (standby until it holds the lease).");
    metrics.set_health("scheduler", Health::Healthy, "");
    // Some(state) while leading.
    let mut leading: Option<(BTreeMap<String, Fired>, DateTime<Utc>)> = None;
    let tick = cfg.clock.real_span(Duration::from_secs(1)).clamp(Duration::from_millis(100), Duration::from_secs(1));
    // A fast fake clock moves far between ticks: a fire is missed only when several ticks passed it.
    let grace = GRACE.max(cfg.clock.virtual_span(tick) * 3);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
        }
        if !lease.is_held() {
            if leading.take().is_some() {
                tracing::warn!(instance = %cfg.instance, "Lost the lease: standing by.");
            }
            metrics.set("scheduler_leader", &[], 0);
            continue;
        }
        if leading.is_none() {
            let fired = match ctx.restore().await {
                Ok(f) => f,
                Err(e) => {
                    metrics.set_health("scheduler", Health::Degraded, format!("cannot read the fired runs: {e:#}"));
                    tracing::warn!(error = format!("{e:#}"), "Cannot read the fired runs yet; retrying.");
                    continue;
                }
            };
            let since = cfg.clock.origin().unwrap_or_else(|| cfg.clock.now());
            tracing::info!(instance = %cfg.instance, at = %since, "Holding the lease: this instance fires.");
            leading = Some((fired, since));
        }
        metrics.set("scheduler_leader", &[], 1);
        let Some((fired, since)) = leading.as_mut() else { continue };
        match ctx.tick(&lease, fired, *since, grace).await {
            Ok(()) => metrics.set_health("scheduler", Health::Healthy, ""),
            Err(e) => {
                metrics.set_health("scheduler", Health::Degraded, format!("{e:#}"));
                tracing::warn!(error = format!("{e:#}"), "A fire failed; it is retried on the next tick.");
            }
        }
    }
    drop(lease);
    producer.flush(Duration::from_secs(10))?;
    Ok(())
}

struct Ctx<'a> {
    cfg: &'a SchedulerConfig,
    endpoints: &'a Endpoints,
    topics: &'a Topics,
    producer: Producer,
    codec: Codec,
    metrics: &'a Metrics,
}

impl Ctx<'_> {
    /// The fires recorded in `events.runs`, per schedule.
    async fn restore(&self) -> anyhow::Result<BTreeMap<String, Fired>> {
        let records = read_all(&self.endpoints.kafka_brokers, &self.topics.runs).await?;
        let mut fired: BTreeMap<String, Fired> =
            self.cfg.schedules.iter().map(|s| (s.name.clone(), Fired::default())).collect();
        for payload in records {
            // A record that is not a run event cannot be a fire: it must not stop every future fire.
            let e: RunEvent = match self.codec.decode(&payload).await {
                Ok(e) => e,
                Err(e) if e.is_retriable() => return Err(e.into()),
                Err(e) => {
                    self.metrics.add("scheduler_bad_run_records", &[], 1);
                    tracing::warn!(error = %e, topic = %self.topics.runs, "A record in the runs topic is not a run event; it is ignored.");
                    continue;
                }
            };
            let Some(name) = &e.schedule else { continue };
            if !matches!(e.kind.as_str(), "fired" | "skipped") {
                continue;
            }
            if let (Some(f), Some(at)) = (fired.get_mut(name), DateTime::from_timestamp_millis(e.scheduled_at)) {
                f.record(at, u32::try_from(e.group).unwrap_or(0));
            }
        }
        Ok(fired)
    }

    async fn tick(
        &self,
        lease: &Lease,
        fired: &mut BTreeMap<String, Fired>,
        since: DateTime<Utc>,
        grace: Duration,
    ) -> anyhow::Result<()> {
        let now = self.cfg.clock.now();
        for s in &self.cfg.schedules {
            let f = fired.entry(s.name.clone()).or_default();
            let units = plan(s, f, since, now, grace);
            if units.is_empty() {
                continue;
            }
            let targets = match &s.what {
                What::Targets(source) => Some(self.active_targets(source).await?),
                What::Seeds(_) | What::Collect { .. } => None,
            };
            for unit in units {
                if !lease.is_held() {
                    return Ok(());
                }
                self.fire(s, &unit, targets.as_deref()).await?;
                f.record(unit.fire, unit.group);
            }
        }
        Ok(())
    }

    async fn active_targets(&self, source: &str) -> anyhow::Result<Vec<TrackingTarget>> {
        let records = read_all(&self.endpoints.kafka_brokers, &self.topics.tracking).await?;
        let mut decoded = Vec::with_capacity(records.len());
        for payload in records {
            decoded.push(self.codec.decode::<TrackingTarget>(&payload).await?);
        }
        Ok(track::latest(decoded).into_values().filter(|t| t.source == source && t.status == "active").collect())
    }

    /// Enqueue one unit's requests, then record it.
    async fn fire(&self, s: &Schedule, unit: &Unit, targets: Option<&[TrackingTarget]>) -> anyhow::Result<()> {
        let run_id = s.run_id(unit.fire);
        let run_at = unit.fire.timestamp_millis();
        let mut requests: Vec<CrawlRequest> = Vec::new();
        // Seller-API requests carry their own partition key (their rate budget).
        let mut keyed: Vec<(String, Vec<u8>, CrawlRequest)> = Vec::new();
        let mut target_count = 0i64;
        let mut retry = s.retry;
        if !unit.skip {
            match (&s.what, targets) {
                (What::Targets(source), Some(targets)) => {
                    let rules = self.cfg.track.get(source).cloned().unwrap_or_default();
                    // Stagger by query, so targets sharing a keyword share its fetches.
                    let chosen: Vec<&TrackingTarget> = targets
                        .iter()
                        .filter(|t| track::stagger_group(&track::query_key(t), s.groups) == unit.group)
                        .collect();
                    let (mut reqs, errors) = track::run_requests(&chosen, &rules, &self.cfg.tiers, &run_id, run_at);
                    for e in &errors {
                        self.metrics.add("scheduler_target_errors", &[("schedule", &s.name)], 1);
                        tracing::error!(schedule = %s.name, run_id = %run_id, error = %e, "A target cannot be crawled; it is left out of the run.");
                    }
                    if let Some(p) = &s.priority {
                        reqs.iter_mut().for_each(|r| r.priority = p.clone());
                    }
                    requests.extend(reqs);
                    target_count += (chosen.len() - errors.len()) as i64;
                    // Tiers that set a policy: the run gives its requests the most generous of them.
                    let tiered: Vec<RetryPolicy> =
                        chosen.iter().filter_map(|t| self.cfg.tier_retries.get(&t.tier).copied()).collect();
                    if let Some(first) = tiered.first() {
                        retry = tiered.iter().fold(*first, |a, b| a.max(*b));
                    }
                }
                (What::Seeds(source), _) => {
                    let seeds = self.cfg.seeds.get(source).map(Vec::as_slice).unwrap_or_default();
                    for url in seeds.iter().filter(|u| track::stagger_group(u, s.groups) == unit.group) {
                        requests.push(CrawlRequest {
                            crawl_id: run_id.clone(),
                            source: source.clone(),
                            url: url.clone(),
                            kind: "seed".into(),
                            depth: 0,
                            priority: s.priority.clone().unwrap_or_else(|| "normal".into()),
                            requested_at: now_ms(),
                            referrer: None,
                            attributes: BTreeMap::from([(
                                shopstream_core::attributes::RUN_AT.to_string(),
                                run_at.to_string(),
                            )]),
                        });
                    }
                }
                (What::Collect { source, endpoint, window }, _) => {
                    let api = self.cfg.apis.get(source).ok_or_else(|| {
                        anyhow::anyhow!("schedule {}: source {source:?} has no [api] section", s.name)
                    })?;
                    // Accounts are staggered by id: the same account is always in the same group.
                    let accounts: Vec<String> = self
                        .cfg
                        .accounts
                        .ids(source)
                        .into_iter()
                        .filter(|a| track::stagger_group(a, s.groups) == unit.group)
                        .collect();
                    if !accounts.is_empty() {
                        let plan = crate::collect::CollectPlan {
                            crawl_id: run_id.clone(),
                            source: source.clone(),
                            endpoint: endpoint.clone(),
                            accounts,
                            all_accounts: false,
                            window: Some((run_at - window.as_millis() as i64, run_at)),
                            priority: s.priority.clone().unwrap_or_else(|| "normal".into()),
                        };
                        keyed = plan
                            .requests(api, &self.cfg.accounts, self.topics)
                            .map_err(|e| anyhow::anyhow!("schedule {}: {e}", s.name))?;
                    }
                }
                (What::Targets(_), None) => {}
            }
        }
        crate::send_requests(&self.producer, &self.codec, self.topics, &requests).await?;
        let mut records = Vec::with_capacity(keyed.len());
        for (topic, key, r) in &keyed {
            records.push((topic.clone(), key.clone(), self.codec.encode(topic, r).await?));
        }
        for chunk in records.chunks(1000) {
            self.producer.send_all(chunk).await?;
        }
        let sent = requests.len() + keyed.len();
        let event = RunEvent {
            timeout_ms: s.timeout.as_millis() as i64,
            retries: i32::try_from(retry.retries).unwrap_or(i32::MAX),
            retry_delay_ms: retry.delay.as_millis() as i64,
            ..RunEvent::new(
                &run_id,
                if unit.skip { "skipped" } else { "fired" },
                s.what.source(),
                s.what.label(),
                run_at,
                now_ms(),
            )
        };
        let event = RunEvent {
            run_id: run_id.clone(),
            kind: if unit.skip { "skipped".into() } else { "fired".into() },
            schedule: Some(s.name.clone()),
            source: s.what.source().to_string(),
            what: s.what.label().to_string(),
            scheduled_at: run_at,
            at: now_ms(),
            requests: sent as i64,
            targets: target_count,
            group: i32::try_from(unit.group).unwrap_or(i32::MAX),
            groups: i32::try_from(s.groups).unwrap_or(i32::MAX),
            catch_up: unit.late && !unit.skip,
            scheduler: self.cfg.instance.clone(),
            ..event
        };
        let value = self.codec.encode(&self.topics.runs, &event).await?;
        self.producer.send(&self.topics.runs, s.name.as_bytes(), &value).await?;
        self.metrics.add("scheduler_fires", &[("schedule", &s.name), ("kind", &event.kind)], 1);
        tracing::info!(
            schedule = %s.name, run_id = %run_id, kind = %event.kind, group = unit.group, groups = s.groups,
            requests = sent, targets = target_count, late = unit.late,
            "Fired."
        );
        Ok(())
    }
}

/// The payloads of a topic up to its end (tombstones skipped).
pub async fn read_all(brokers: &str, topic: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let (b, t) = (brokers.to_string(), topic.to_string());
    let records = tokio::task::spawn_blocking(move || shopstream_core::kafka::read_to_end(&b, &t)).await??;
    Ok(records.into_iter().filter_map(|(_, v)| v).collect())
}
