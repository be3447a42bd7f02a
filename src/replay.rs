//! `shopstream replay`: reprocess a range of one topic through the current code, in consumer groups of
//! the replay's own, and exit at the range's end. Raw topics go through the transform stage (a new
//! parser), events topics through the loader; ClickHouse converges (deterministic ids, ReplacingMergeTree).
//! Crawl request topics are refused: replaying them re-fetches pages (new fetches, new fetch ids), which
//! is a new crawl, not a replay; dead-letter topics hold failures, not facts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use shopstream_core::metrics::Metrics;
use shopstream_core::replay::{self, Start};
use shopstream_core::CancellationToken;

use crate::Global;

#[derive(Args)]
pub struct ReplayArgs {
    /// The topic to replay, as named in the pipeline (with the topic prefix): a raw topic
    /// (raw.pages, raw.api) or an events topic (events.products, events.prices, events.ranks,
    /// events.fetches).
    #[arg(long)]
    pub topic: String,
    /// Start at the first record at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long, conflicts_with = "from_offsets")]
    pub from_time: Option<String>,
    /// Start at these offsets, PARTITION:OFFSET,… (partitions not named start at their beginning).
    #[arg(long)]
    pub from_offsets: Option<String>,
    /// Stop before the first record at or after this time (default: where the topic ends now).
    #[arg(long)]
    pub to_time: Option<String>,
    /// Records in flight (the transform stage's concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn parse_time(flag: &str, text: &str) -> anyhow::Result<i64> {
    let t = humantime::parse_rfc3339_weak(text.trim())
        .with_context(|| format!("{flag}: {text:?} is not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)"))?;
    let ms = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis();
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

pub async fn run(g: &Global, a: ReplayArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
    let topics = g.topics();
    let stage = if topics.raw_topics().contains(&a.topic.as_str()) {
        "transform"
    } else if topics.event_topics().contains(&a.topic.as_str()) {
        "load"
    } else if topics.crawl_topics().contains(&a.topic.as_str()) {
        anyhow::bail!(
            "{} is a crawl request topic: replaying it would fetch the pages again (new fetches with new fetch \
             ids), which is a new crawl, not a replay. Replay the raw topics instead, or run `shopstream crawl`.",
            a.topic
        );
    } else {
        let known: Vec<&str> = topics.raw_topics().into_iter().chain(topics.event_topics()).collect();
        anyhow::bail!("--topic {}: not a raw or events topic of this pipeline (one of {known:?})", a.topic);
    };
    let start = match (&a.from_time, &a.from_offsets) {
        (Some(t), _) => Start::Time(parse_time("--from-time", t)?),
        (None, Some(o)) => {
            Start::Offsets(replay::parse_offsets(o).map_err(|e| anyhow::anyhow!("--from-offsets: {e}"))?)
        }
        (None, None) => Start::Beginning,
    };
    let to_time = a.to_time.as_deref().map(|t| parse_time("--to-time", t)).transpose()?;
    let group = g.group(stage);
    let (brokers, topic, group2) = (g.brokers.clone(), a.topic.clone(), group.clone());
    let range = tokio::task::spawn_blocking(move || -> anyhow::Result<replay::Range> {
        // A group that already has positions on the topic is live (or an earlier replay): resetting it
        // would move the pipeline's own work. A replay gets groups of its own.
        let lag = shopstream_core::kafka::group_has_positions(&brokers, &group2, &topic)?;
        anyhow::ensure!(
            !lag,
            "group {group2} already has positions on {topic}: it is the live pipeline's or an earlier replay's; \
             give the replay a new --group-prefix"
        );
        let range = replay::plan(&brokers, &topic, &start, to_time)?;
        replay::commit_starts(&brokers, &group2, &range)?;
        Ok(range)
    })
    .await??;
    eprintln!(
        "replaying {} record(s) of {} ({}) through the {stage} stage as group {group}",
        range.len(),
        range.topic,
        range.partitions.iter().map(|(p, (s, e))| format!("{p}:{s}..{e}")).collect::<Vec<_>>().join(", ")
    );
    let started = SystemTime::now();
    if range.is_empty() {
        eprintln!("nothing to replay");
        return Ok(());
    }
    let records = range.len();
    // Progress from the stage's records_in, drawn on a terminal only.
    let bar = crate::runs::bar(
        u64::try_from(records).unwrap_or(0),
        "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} records replayed ({per_sec}, ETA {eta})",
    )?;
    let ticker = {
        let (bar, metrics) = (bar.clone(), metrics.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position(metrics.get("records_in", &[("stage", stage)]));
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    let result = replay_through(g, &a, stage, group, range, &topics, &metrics, shutdown).await;
    ticker.abort();
    bar.finish_and_clear();
    result?;
    let elapsed = started.elapsed().unwrap_or_default().as_secs_f64();
    println!(
        "replayed {records} record(s) of {}: {} out, {} dead-lettered, {elapsed:.1} s",
        a.topic,
        metrics.get("records_out", &[("stage", stage)]),
        metrics.get("dead_lettered", &[("stage", stage)]),
    );
    Ok(())
}

/// Run the stage over the range until it is done.
#[allow(clippy::too_many_arguments)]
async fn replay_through(
    g: &Global,
    a: &ReplayArgs,
    stage: &'static str,
    group: String,
    range: replay::Range,
    topics: &shopstream_core::Topics,
    metrics: &Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    match stage {
        "transform" => {
            let pipeline = crate::config::PipelineConfig::load(g.config.as_deref())?;
            let mut cfg = shopstream_transformers::stage::TransformConfig::new(pipeline.transform_sources());
            cfg.group = group.clone();
            cfg.max_body_bytes =
                pipeline.fetch_rules().values().map(|f| f.max_body_bytes).max().unwrap_or(cfg.max_body_bytes);
            if let Some(c) = a.concurrency {
                cfg.concurrency = c;
            }
            cfg.replay = Some(range);
            shopstream_transformers::stage::run(cfg, &g.endpoints(), topics, metrics.clone(), shutdown).await?;
        }
        _ => {
            let mut cfg = shopstream_loaders::clickhouse::LoadConfig::new(
                g.clickhouse_url.clone(),
                g.clickhouse_database.clone(),
            );
            cfg.group = group.clone();
            cfg.replay = Some(range);
            shopstream_loaders::clickhouse::run(cfg, &g.endpoints(), topics, metrics.clone(), shutdown).await?;
        }
    }
    Ok(())
}
