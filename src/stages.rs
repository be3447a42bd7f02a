//! The pipeline's stages as commands: `extract`, `transform`, `load` alone, or all three with `run`.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use shopstream_core::metrics::Metrics;
use shopstream_core::CancellationToken;

use crate::config::PipelineConfig;
use crate::Global;

#[derive(Args, Clone)]
pub struct StageArgs {
    /// Records in flight in this process.
    #[arg(long)]
    concurrency: Option<usize>,
}

#[derive(Args, Clone)]
pub struct LoadArgs {
    /// Rows per ClickHouse insert at most.
    #[arg(long, default_value_t = 5000)]
    batch_rows: usize,
    /// Flush a batch after this many milliseconds.
    #[arg(long, default_value_t = 500)]
    batch_max_age_ms: u64,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// All stages in one process. Shutdown cascades downstream: extract stops first, then transform
/// drains, then load. A stage that fails stops the others (its error is returned).
pub async fn run_all(g: &Global, a: &RunArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
    let extract_stop = shutdown.child_token();
    let transform_stop = CancellationToken::new();
    let load_stop = CancellationToken::new();
    let fail = |what: &'static str, r: anyhow::Result<()>| {
        if let Err(e) = &r {
            tracing::error!(error = format!("{e:#}"), "The {what} stage failed; stopping the others.");
            shutdown.cancel();
        }
        r.with_context(|| format!("the {what} stage failed"))
    };
    let (e, t, l) = tokio::join!(
        async {
            let r = fail("extract", extract(g, &a.stage, metrics.clone(), extract_stop).await);
            transform_stop.cancel();
            r
        },
        async {
            let r = fail("transform", transform(g, &a.stage, metrics.clone(), transform_stop.clone()).await);
            load_stop.cancel();
            r
        },
        async { fail("load", load(g, &a.load, metrics.clone(), load_stop.clone()).await) }
    );
    e.and(t).and(l)
}

pub async fn extract(g: &Global, a: &StageArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pipeline = PipelineConfig::load(g.config.as_deref())?;
    let mut cfg = shopstream_extractors::http::ExtractConfig::new(pipeline.fetch_rules());
    cfg.apis = pipeline.apis();
    cfg.group = g.group("extract");
    cfg.message_max_bytes = shopstream_core::kafka::message_max_bytes()?;
    if let Ok(v) = std::env::var("SHOPSTREAM_CRAWL_MEMORY_BYTES") {
        cfg.crawl_memory_bytes = v
            .trim()
            .parse()
            .with_context(|| format!("SHOPSTREAM_CRAWL_MEMORY_BYTES must be a number of bytes, not {v:?}"))?;
    }
    if let Some(c) = a.concurrency {
        cfg.concurrency = c;
    }
    shopstream_extractors::http::run(cfg, &g.endpoints(), &g.topics(), metrics, shutdown).await
}

pub async fn transform(g: &Global, a: &StageArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pipeline = PipelineConfig::load(g.config.as_deref())?;
    let mut cfg = shopstream_transformers::stage::TransformConfig::new(pipeline.transform_sources());
    cfg.group = g.group("transform");
    // A raw body is never larger than the largest body the extractor may fetch: a record that says
    // otherwise is dead-lettered instead of sizing a buffer from its own word.
    cfg.max_body_bytes = pipeline.fetch_rules().values().map(|f| f.max_body_bytes).max().unwrap_or(cfg.max_body_bytes);
    if let Some(c) = a.concurrency {
        cfg.concurrency = c;
    }
    shopstream_transformers::stage::run(cfg, &g.endpoints(), &g.topics(), metrics, shutdown).await
}

pub async fn load(g: &Global, a: &LoadArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut cfg =
        shopstream_loaders::clickhouse::LoadConfig::new(g.clickhouse_url.clone(), g.clickhouse_database.clone());
    cfg.group = g.group("load");
    cfg.batch_rows = a.batch_rows;
    cfg.batch_max_age = Duration::from_millis(a.batch_max_age_ms);
    let env_ms = |name: &str, default: u64| -> anyhow::Result<u64> {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().parse::<u64>().with_context(|| format!("{name} must be milliseconds")))
            .transpose()
            .map(|v| v.unwrap_or(default))
    };
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    cfg.watch_runs = Some(shopstream_loaders::clickhouse::runs::WatchConfig {
        group: g.group("runs"),
        session_timeout_ms: env_ms("SHOPSTREAM_RUNS_SESSION_TIMEOUT_MS", 6_000)?,
        tick: Duration::from_millis(env_ms("SHOPSTREAM_RUNS_TICK_MS", 2_000)?),
        settle: Duration::from_millis(env_ms("SHOPSTREAM_RUNS_SETTLE_MS", 5_000)?),
        quiet: Duration::from_millis(env_ms("SHOPSTREAM_RUNS_QUIET_MS", 600_000)?),
        default_timeout: shopstream_producers::schedule::RUN_TIMEOUT,
        instance: format!("{}-{}", if host.is_empty() { "loader" } else { &host }, std::process::id()),
    });
    shopstream_loaders::clickhouse::run(cfg, &g.endpoints(), &g.topics(), metrics, shutdown).await
}
