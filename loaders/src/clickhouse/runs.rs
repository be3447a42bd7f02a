//! The run watcher: every run (a schedule fire or a manual crawl, from `events.runs`) gets one summary
//! event once its last request settled, or once its timeout passed.
//!
//! One loader process watches at a time (a lease on a one-partition topic). The watcher reads
//! `events.runs` and the extract and transform dead letters from their beginning on taking the lease, so
//! a new holder rebuilds every open run's state. A request is settled when `fetch_log` has an outcome for
//! its URL; a run knows how many requests it has from its run events (seeds, pages) plus what its fetches
//! enqueued (`discovered`), so a crawl that follows links settles too. A request the extract stage
//! dead-lettered for an external cause (network error, 5xx after the fetch's own retries) is enqueued
//! again after the run's retry delay, up to its retries; only then does it count as failed. When every
//! request settled and the run's rows stopped changing, the summary is written to `events.runs`
//! (kind `summary`, loaded into `runs`), logged, and counted in the metrics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use shopstream_core::kafka::{client_config, Lease, Producer};
use shopstream_core::metrics::{Health, Metrics};
use shopstream_core::{attributes, now_ms, Codec, Topics};
use shopstream_schemas::{CrawlRequest, DeadLetter, RawPage, RunEvent, RunFailure};
use tokio_util::sync::CancellationToken;

use super::service::{ClickHouseError, Sql};

/// Failures listed in a summary at most (the counts are complete).
pub const MAX_FAILURES: usize = 100;
/// The attribute a retried request carries: which retry it is (1-based).
pub const RETRY: &str = "retry";

/// How the watcher runs.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The lease's consumer group.
    pub group: String,
    /// How long a dead holder keeps the lease.
    pub session_timeout_ms: u64,
    /// Between two looks at the open runs.
    pub tick: Duration,
    /// A settled run's rows must stay unchanged this long before its summary is written.
    pub settle: Duration,
    /// A run whose settled URLs have not changed this long, with no retry pending, is summarized even
    /// when fewer URLs settled than its requests counted: the rest were duplicates that another extractor
    /// process had fetched already (crawl memory is per process), or links to a page of the run that was
    /// enqueued before that page was fetched.
    pub quiet: Duration,
    /// Timeout of a run whose events name none.
    pub default_timeout: Duration,
    /// This instance's name in summaries.
    pub instance: String,
}

/// A run seen in `events.runs`.
#[derive(Debug, Default)]
struct Run {
    source: String,
    what: String,
    schedule: Option<String>,
    scheduled_at: i64,
    started_at: i64,
    /// Requests enqueued by the run's events (seeds, pages), per stagger group.
    requests: BTreeMap<i32, i64>,
    targets: i64,
    groups: i32,
    timeout_ms: i64,
    retries: u32,
    retry_delay_ms: i64,
    summarized: bool,
    /// Dead letters of the run's records: (stage, url) → the newest, with its request when the extract
    /// stage wrote it.
    dead: Vec<Dead>,
    /// Retries enqueued per URL.
    retried: HashMap<String, u32>,
    /// Rows counted at the last look, and since when they are unchanged.
    rows: Option<(i64, Instant)>,
    /// Settled URLs at the last look, and since when they are unchanged.
    progress: Option<(i64, Instant)>,
}

#[derive(Debug, Clone)]
struct Dead {
    stage: String,
    url: String,
    reason: String,
    external: bool,
    failed_at: i64,
    targets: Vec<String>,
    request: Option<CrawlRequest>,
}

impl Run {
    fn fired_groups(&self) -> usize {
        self.requests.len()
    }

    fn seeds(&self) -> i64 {
        self.requests.values().sum()
    }
}

/// Fetch outcomes of a run, per URL its newest.
#[derive(Debug, Default, PartialEq, Eq)]
struct Settled {
    urls: i64,
    ok: i64,
    not_modified: i64,
    failed: i64,
    discovered: i64,
}

/// Watch runs until `shutdown`, while holding the lease.
pub async fn watch(
    cfg: WatchConfig,
    sql: Sql,
    brokers: String,
    schema_registry_url: String,
    topics: Topics,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    shopstream_core::kafka::ensure_topics(&brokers, &[topics.runs_lease.as_str()], 1).await?;
    let lease = Lease::join(&brokers, &cfg.group, &topics.runs_lease, cfg.session_timeout_ms)?;
    let producer = Producer::new(&brokers)?;
    let codec = Codec::new(&schema_registry_url);
    let mut state: Option<Watcher> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(cfg.tick) => {}
        }
        if !lease.is_held() {
            if state.take().is_some() {
                tracing::info!("The run watcher lost its lease: standing by.");
            }
            continue;
        }
        let w = match state.as_mut() {
            Some(w) => w,
            None => match Watcher::new(&brokers, &topics) {
                Ok(w) => {
                    tracing::info!(instance = %cfg.instance, "Watching runs.");
                    state.insert(w)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot start the run watcher yet; retrying.");
                    continue;
                }
            },
        };
        let ctx = Ctx { cfg: &cfg, sql: &sql, producer: &producer, codec: &codec, topics: &topics, metrics: &metrics };
        match w.tick(&ctx).await {
            Ok(()) => metrics.set_health("run_watcher", Health::Healthy, ""),
            Err(e) => {
                metrics.set_health("run_watcher", Health::Degraded, format!("{e:#}"));
                tracing::warn!(error = format!("{e:#}"), "The run watcher's look failed; retrying.");
            }
        }
    }
    drop(lease);
    producer.flush(Duration::from_secs(10))?;
    Ok(())
}

struct Ctx<'a> {
    cfg: &'a WatchConfig,
    sql: &'a Sql,
    producer: &'a Producer,
    codec: &'a Codec,
    topics: &'a Topics,
    metrics: &'a Metrics,
}

struct Watcher {
    consumer: BaseConsumer,
    runs: BTreeMap<String, Run>,
}

impl Watcher {
    /// Read `events.runs` and the extract and transform dead letters from their beginning.
    fn new(brokers: &str, topics: &Topics) -> anyhow::Result<Watcher> {
        let consumer: BaseConsumer = client_config(brokers)?
            .set("group.id", "shopstream-run-watcher")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "200")
            .create()?;
        let mut tpl = TopicPartitionList::new();
        for topic in [&topics.runs, &topics.dlq_extract, &topics.dlq_transform] {
            let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
            for t in md.topics() {
                for p in t.partitions() {
                    tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
                }
            }
        }
        consumer.assign(&tpl)?;
        Ok(Watcher { consumer, runs: BTreeMap::new() })
    }

    async fn tick(&mut self, ctx: &Ctx<'_>) -> anyhow::Result<()> {
        self.read(ctx).await?;
        let open: Vec<String> = self.runs.iter().filter(|(_, r)| !r.summarized).map(|(id, _)| id.clone()).collect();
        ctx.metrics.set("runs_in_flight", &[], open.len() as i64);
        for id in open {
            self.look(ctx, &id).await?;
        }
        Ok(())
    }

    /// Take in what arrived since the last look.
    async fn read(&mut self, ctx: &Ctx<'_>) -> anyhow::Result<()> {
        let mut records = Vec::new();
        for _ in 0..10_000 {
            match self.consumer.poll(Duration::from_millis(50)) {
                None => break,
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => {
                    if let Some(v) = m.payload() {
                        records.push((m.topic().to_string(), v.to_vec()));
                    }
                }
            }
        }
        for (topic, payload) in records {
            if topic == ctx.topics.runs {
                match ctx.codec.decode::<RunEvent>(&payload).await {
                    Ok(e) => self.take_run_event(e),
                    Err(e) if e.is_retriable() => return Err(e.into()),
                    Err(e) => tracing::warn!(error = %e, "A record in the runs topic is not a run event; skipped."),
                }
            } else {
                match ctx.codec.decode::<DeadLetter>(&payload).await {
                    Ok(d) => {
                        if let Err(e) = self.take_dead_letter(ctx, d).await {
                            if e.is_retriable() {
                                return Err(e.into());
                            }
                            tracing::debug!(error = %e, "A dead letter names no run.");
                        }
                    }
                    Err(e) if e.is_retriable() => return Err(e.into()),
                    Err(e) => tracing::warn!(error = %e, topic, "A dead letter cannot be read; skipped."),
                }
            }
        }
        Ok(())
    }

    fn take_run_event(&mut self, e: RunEvent) {
        let run = self.runs.entry(e.run_id.clone()).or_default();
        match e.kind.as_str() {
            "fired" | "started" => {
                run.source = e.source;
                run.what = e.what;
                run.schedule = e.schedule;
                run.scheduled_at = e.scheduled_at;
                run.started_at = if run.started_at == 0 { e.at } else { run.started_at.min(e.at) };
                run.requests.insert(e.group, e.requests);
                run.targets = if run.requests.len() == 1 { e.targets } else { run.targets + e.targets };
                run.groups = e.groups.max(1);
                run.timeout_ms = e.timeout_ms;
                run.retries = u32::try_from(e.retries).unwrap_or(0);
                run.retry_delay_ms = e.retry_delay_ms;
            }
            "summary" => run.summarized = true,
            // A skipped fire enqueued nothing: nothing to summarize.
            "skipped" if run.requests.is_empty() => run.summarized = true,
            _ => {}
        }
    }

    async fn take_dead_letter(&mut self, ctx: &Ctx<'_>, d: DeadLetter) -> shopstream_core::Result<()> {
        let (crawl_id, url, attrs, request) = if ctx.topics.crawl_topics().contains(&d.origin_topic.as_str()) {
            let r: CrawlRequest = ctx.codec.decode(&d.payload).await?;
            (r.crawl_id.clone(), r.url.clone(), r.attributes.clone(), Some(r))
        } else if ctx.topics.raw_topics().contains(&d.origin_topic.as_str()) {
            let p: RawPage = ctx.codec.decode(&d.payload).await?;
            (p.crawl_id, p.url, p.attributes, None)
        } else {
            return Ok(());
        };
        // fetch_log holds URLs as the extractor parsed them.
        let url = url::Url::parse(&url).map(|u| u.to_string()).unwrap_or(url);
        let Some(run) = self.runs.get_mut(&crawl_id) else { return Ok(()) };
        let targets = target_ids(&attrs);
        if let Some(n) = request.as_ref().and_then(|r| r.attributes.get(RETRY)).and_then(|v| v.parse::<u32>().ok()) {
            let seen = run.retried.entry(url.clone()).or_default();
            *seen = (*seen).max(n);
        }
        run.dead.push(Dead {
            stage: d.stage,
            url,
            reason: d.reason,
            external: d.error_kind == "external",
            failed_at: d.failed_at,
            targets,
            request,
        });
        Ok(())
    }

    /// Look at one open run: retry what is due, and write its summary once it settled.
    async fn look(&mut self, ctx: &Ctx<'_>, id: &str) -> anyhow::Result<()> {
        let now = now_ms();
        let Some(run) = self.runs.get_mut(id) else { return Ok(()) };
        if run.requests.is_empty() {
            // Only a summary or dead letters seen so far (the run's events are older than this topic).
            return Ok(());
        }
        let settled = settled(ctx.sql, id).await?;
        // Retries: the newest extract dead letter per URL, when that URL's newest fetch failed.
        let failing = failing_urls(ctx.sql, id).await?;
        let mut pending = 0usize;
        let mut newest: BTreeMap<&str, &Dead> = BTreeMap::new();
        for d in run.dead.iter().filter(|d| d.stage == "extract" && d.external && d.request.is_some()) {
            if newest.get(d.url.as_str()).is_none_or(|n| n.failed_at <= d.failed_at) {
                newest.insert(&d.url, d);
            }
        }
        let mut to_send = Vec::new();
        for (url, d) in newest {
            let done = run.retried.get(url).copied().unwrap_or(0);
            if !failing.contains_key(url) || done >= run.retries {
                continue;
            }
            let attempt_of_dead = d
                .request
                .as_ref()
                .and_then(|r| r.attributes.get(RETRY))
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0);
            if attempt_of_dead < done {
                // The retry after this dead letter is out already.
                pending += 1;
                continue;
            }
            if d.failed_at + run.retry_delay_ms > now {
                pending += 1;
                continue;
            }
            let mut req = d.request.clone().expect("filtered on a request");
            req.attributes.insert(RETRY.to_string(), (done + 1).to_string());
            req.requested_at = now;
            to_send.push(req);
        }
        for req in to_send {
            let topic = ctx.topics.crawl_for(&req.priority).unwrap_or(&ctx.topics.crawl_normal).to_string();
            let host =
                url::Url::parse(&req.url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
            let value = ctx.codec.encode(&topic, &req).await?;
            ctx.producer.send(&topic, host.as_bytes(), &value).await?;
            let n = req.attributes.get(RETRY).and_then(|v| v.parse::<u32>().ok()).unwrap_or(1);
            run.retried.insert(req.url.clone(), n);
            ctx.metrics.add("run_retries", &[], 1);
            tracing::info!(run_id = id, url = %req.url, retry = n, "Retrying a failed request of a run.");
            pending += 1;
        }
        let mut total = run.seeds() + settled.discovered;
        let all_fired = run.fired_groups() >= usize::try_from(run.groups).unwrap_or(1);
        let mut fetched = all_fired && settled.urls >= total && pending == 0;
        let timeout_ms = if run.timeout_ms > 0 { run.timeout_ms } else { ctx.cfg.default_timeout.as_millis() as i64 };
        let timed_out = now - run.started_at > timeout_ms;
        // Quiet = no new settled URL for a while (counting rows here would scan the tables every tick).
        let progress = settled.urls;
        let quiet_for = match run.progress {
            Some((p, since)) if p == progress => since.elapsed(),
            _ => {
                run.progress = Some((progress, Instant::now()));
                Duration::ZERO
            }
        };
        if !fetched && all_fired && pending == 0 && settled.urls > 0 && quiet_for >= ctx.cfg.quiet {
            tracing::info!(
                run_id = id,
                settled = settled.urls,
                counted = total,
                "A run is quiet with fewer URLs settled than counted: the rest were duplicates; summarizing."
            );
            total = settled.urls;
            fetched = true;
        }
        if !fetched && !timed_out {
            run.rows = None;
            return Ok(());
        }
        let rows = rows(ctx.sql, id).await?;
        if !timed_out {
            match run.rows {
                Some((n, since)) if n == rows && since.elapsed() >= ctx.cfg.settle => {}
                Some((n, _)) if n == rows => return Ok(()),
                _ => {
                    run.rows = Some((rows, Instant::now()));
                    return Ok(());
                }
            }
        }
        let summary = summarize(run, id, &settled, &failing, rows, total, timed_out, now, &ctx.cfg.instance);
        let value = ctx.codec.encode(&ctx.topics.runs, &summary).await?;
        ctx.producer.send(&ctx.topics.runs, id.as_bytes(), &value).await?;
        run.summarized = true;
        let status = summary.status.clone().unwrap_or_default();
        ctx.metrics.add("run_summaries", &[("status", &status)], 1);
        tracing::info!(
            run_id = id, status = %status, total = summary.total, ok = summary.ok,
            not_modified = summary.not_modified, failed = summary.failed, dead_lettered = summary.dead_lettered,
            retried = summary.retried, rows = summary.rows, elapsed_ms = summary.elapsed_ms,
            "Run summary."
        );
        Ok(())
    }
}

/// The summary event of a run.
#[allow(clippy::too_many_arguments)]
fn summarize(
    run: &Run,
    id: &str,
    settled: &Settled,
    failing: &BTreeMap<String, String>,
    rows: i64,
    total: i64,
    timed_out: bool,
    now: i64,
    instance: &str,
) -> RunEvent {
    // Targets per URL, from the dead letters that carried the request.
    let mut targets_of: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for d in &run.dead {
        targets_of.entry(d.url.as_str()).or_default().extend(d.targets.iter().cloned());
    }
    let mut failures: Vec<RunFailure> = failing
        .iter()
        .map(|(url, reason)| RunFailure {
            url: url.clone(),
            reason: reason.clone(),
            targets: targets_of.get(url.as_str()).map(|t| t.iter().cloned().collect()).unwrap_or_default(),
        })
        .collect();
    // Pages whose fetch was fine but whose records the transform stage dead-lettered.
    let mut transform_failed = BTreeSet::new();
    for d in run.dead.iter().filter(|d| d.stage != "extract") {
        if !failing.contains_key(&d.url) && transform_failed.insert(d.url.clone()) {
            failures.push(RunFailure { url: d.url.clone(), reason: d.reason.clone(), targets: d.targets.clone() });
        }
    }
    let unsettled = (total - settled.urls).max(0);
    let failed = settled.failed + unsettled;
    let status = if timed_out && unsettled > 0 {
        "timed_out"
    } else if failures.is_empty() {
        "ok"
    } else if settled.ok + settled.not_modified == 0 {
        "failed"
    } else {
        "partial"
    };
    failures.truncate(MAX_FAILURES);
    RunEvent {
        schedule: run.schedule.clone(),
        requests: run.seeds(),
        targets: run.targets,
        groups: run.groups,
        scheduler: instance.to_string(),
        timeout_ms: run.timeout_ms,
        retries: i32::try_from(run.retries).unwrap_or(i32::MAX),
        retry_delay_ms: run.retry_delay_ms,
        status: Some(status.to_string()),
        total,
        ok: settled.ok,
        not_modified: settled.not_modified,
        failed,
        dead_lettered: run.dead.len() as i64,
        retried: run.retried.values().map(|n| i64::from(*n)).sum(),
        rows,
        elapsed_ms: now - run.started_at,
        failures,
        ..RunEvent::new(id, "summary", &run.source, &run.what, run.scheduled_at, now)
    }
}

/// The tracking target ids a record was for (its `targets` attribute).
fn target_ids(attrs: &BTreeMap<String, String>) -> Vec<String> {
    let Some(text) = attrs.get(attributes::TARGETS) else { return Vec::new() };
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    items.iter().filter_map(|t| t.get("id").and_then(|v| v.as_str()).map(str::to_string)).collect()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Per URL of the run its newest fetch outcome, counted.
async fn settled(sql: &Sql, id: &str) -> Result<Settled, ClickHouseError> {
    let db = sql.database();
    let text = sql
        .query_text(&format!(
            "SELECT count(), countIf(o = 'ok'), countIf(o = 'not_modified'),
                    countIf(o NOT IN ('ok', 'not_modified')), sum(d)
             FROM (SELECT url, argMax(outcome, fetched_at) AS o, max(discovered) AS d
                   FROM {db}.fetch_log FINAL WHERE crawl_id = {} GROUP BY url)",
            quote(id)
        ))
        .await?;
    let n: Vec<i64> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    let [urls, ok, not_modified, failed, discovered] = n[..] else {
        return Err(ClickHouseError::Unknown(format!("unexpected answer counting the fetches of run {id}: {text:?}")));
    };
    Ok(Settled { urls, ok, not_modified, failed, discovered })
}

/// The run's URLs whose newest fetch failed, with why.
async fn failing_urls(sql: &Sql, id: &str) -> Result<BTreeMap<String, String>, ClickHouseError> {
    let db = sql.database();
    let text = sql
        .query_text(&format!(
            "SELECT url, o, s, e FROM (
                 SELECT url, argMax(outcome, fetched_at) AS o, argMax(status, fetched_at) AS s,
                        argMax(ifNull(error, ''), fetched_at) AS e
                 FROM {db}.fetch_log FINAL WHERE crawl_id = {} GROUP BY url)
             WHERE o NOT IN ('ok', 'not_modified') ORDER BY url FORMAT JSONEachRow",
            quote(id)
        ))
        .await?;
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| ClickHouseError::Unknown(format!("unexpected failing-URL row {line:?}: {e}")))?;
        let get = |k: &str| v.get(k).map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()));
        let (Some(url), Some(outcome), Some(status), Some(error)) = (get("url"), get("o"), get("s"), get("e")) else {
            continue;
        };
        let reason = match (status.as_str(), error.is_empty()) {
            ("0", _) => format!("{outcome}: {error}"),
            (s, true) => format!("{outcome}: HTTP {s}"),
            (s, false) => format!("{outcome}: HTTP {s} {error}"),
        };
        out.insert(url, reason);
    }
    Ok(out)
}

/// Rows loaded for the run: product, price and rank observations and tracked targets' pages.
async fn rows(sql: &Sql, id: &str) -> Result<i64, ClickHouseError> {
    let db = sql.database();
    let id = quote(id);
    let text = sql
        .query_text(&format!(
            "SELECT (SELECT count() FROM {db}.product_observations FINAL WHERE crawl_id = {id})
                  + (SELECT count() FROM {db}.price_observations FINAL WHERE crawl_id = {id})
                  + (SELECT count() FROM {db}.rank_observations FINAL WHERE crawl_id = {id})
                  + (SELECT count() FROM {db}.target_pages FINAL WHERE run_id = {id})"
        ))
        .await?;
    text.trim()
        .parse()
        .map_err(|_| ClickHouseError::Unknown(format!("unexpected answer counting the rows of run {id}: {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        Run {
            source: "books".into(),
            what: "seeds".into(),
            started_at: 1_000,
            requests: BTreeMap::from([(0, 3)]),
            groups: 1,
            retries: 2,
            retry_delay_ms: 60_000,
            ..Run::default()
        }
    }

    #[test]
    fn a_run_with_no_failure_is_ok() {
        let s = Settled { urls: 5, ok: 4, not_modified: 1, failed: 0, discovered: 2 };
        let e = summarize(&run(), "r", &s, &BTreeMap::new(), 9, 5, false, 3_000, "w");
        assert_eq!(e.status.as_deref(), Some("ok"));
        assert_eq!((e.total, e.ok, e.not_modified, e.failed, e.rows, e.elapsed_ms), (5, 4, 1, 0, 9, 2_000));
        assert_eq!(e.kind, "summary");
    }

    #[test]
    fn failures_name_their_targets_and_a_timeout_counts_what_never_settled() {
        let mut r = run();
        r.dead.push(Dead {
            stage: "extract".into(),
            url: "http://x/p2".into(),
            reason: "network".into(),
            external: true,
            failed_at: 2_000,
            targets: vec!["t-1".into()],
            request: None,
        });
        r.dead.push(Dead {
            stage: "transform".into(),
            url: "http://x/p3".into(),
            reason: "no product found".into(),
            external: false,
            failed_at: 2_000,
            targets: vec![],
            request: None,
        });
        let failing = BTreeMap::from([("http://x/p2".to_string(), "network_error: refused".to_string())]);
        let s = Settled { urls: 3, ok: 2, not_modified: 0, failed: 1, discovered: 0 };
        let e = summarize(&r, "r", &s, &failing, 1, 4, true, 5_000, "w");
        assert_eq!(e.status.as_deref(), Some("timed_out"));
        assert_eq!(e.failed, 2, "one failed fetch and one request that never settled");
        assert_eq!(e.failures.len(), 2);
        assert_eq!(e.failures[0].targets, vec!["t-1".to_string()]);
        assert_eq!(e.failures[1].reason, "no product found");
        let e = summarize(&r, "r", &s, &failing, 1, 3, false, 5_000, "w");
        assert_eq!(e.status.as_deref(), Some("partial"));
    }

    #[test]
    fn target_ids_come_from_the_targets_attribute() {
        let attrs = BTreeMap::from([(
            attributes::TARGETS.to_string(),
            r#"[{"id":"t-a","product":"1","timezone":"UTC","pages":5},{"id":"t-b","product":"2"}]"#.to_string(),
        )]);
        assert_eq!(target_ids(&attrs), vec!["t-a".to_string(), "t-b".to_string()]);
        assert!(target_ids(&BTreeMap::new()).is_empty());
    }
}
