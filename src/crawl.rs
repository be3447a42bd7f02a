//! `crawl` (publish a crawl's seed requests, optionally wait for its summary) and `wait-idle`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::config::PipelineConfig;
use crate::{ensure_topics, runs, Global};

#[derive(Args)]
pub struct CrawlArgs {
    /// Seed URL (repeatable).
    #[arg(long = "seed", required_unless_present = "urls_file")]
    seeds: Vec<String>,
    /// A file with one URL per line (blank lines and # comments skipped).
    #[arg(long)]
    urls_file: Option<PathBuf>,
    /// Source name (from the config).
    #[arg(long, default_value = "books")]
    source: String,
    /// high, normal or low.
    #[arg(long, default_value = "normal")]
    priority: String,
    /// Crawl id; default: `<source>-<now ms>`.
    #[arg(long)]
    crawl_id: Option<String>,
    /// Print what would be published and publish nothing.
    #[arg(long)]
    dry_run: bool,
    /// Retries of a failed request before it counts as failed in the run's summary.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Wait between a failure and its retry (e.g. 60s, 5m).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    retry_delay: Duration,
    /// The run's summary is written when every request settled or after this long (e.g. 2h).
    #[arg(long, default_value = "2h", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Wait for the run's summary (written by a loader's run watcher), with a progress bar on a
    /// terminal, and print it; exit 1 when the run failed or timed out.
    #[arg(long)]
    wait: bool,
}

#[derive(Args)]
pub struct WaitIdleArgs {
    /// Give up after this many seconds (exit 1).
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Lag must stay zero this long.
    #[arg(long, default_value_t = 3)]
    settle_secs: u64,
    /// Which stages' groups to wait for.
    #[arg(long, value_delimiter = ',', default_value = "extract,transform,load")]
    stages: Vec<String>,
}

pub async fn crawl(g: &Global, a: CrawlArgs) -> anyhow::Result<()> {
    let pipeline = PipelineConfig::load(g.config.as_deref())?;
    if !pipeline.sources.contains_key(&a.source) {
        let known: Vec<&String> = pipeline.sources.keys().collect();
        anyhow::bail!("no source named {:?} in the config (known: {known:?})", a.source);
    }
    let mut urls = a.seeds;
    if let Some(f) = &a.urls_file {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        urls.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string));
    }
    let plan = shopstream_producers::CrawlPlan {
        crawl_id: a.crawl_id.unwrap_or_else(|| shopstream_producers::CrawlPlan::new_crawl_id(&a.source)),
        source: a.source,
        priority: a.priority,
        kind: "seed".into(),
        urls,
    };
    let topics = g.topics();
    if a.dry_run {
        for (topic, key, req) in plan.requests(&topics)? {
            println!("{topic}\t{key}\t{}", req.url);
        }
        return Ok(());
    }
    ensure_topics(g).await?;
    let retry = shopstream_producers::schedule::RetryPolicy { retries: a.retries, delay: a.retry_delay };
    let n = shopstream_producers::publish(&plan, &g.endpoints(), &topics, retry, a.timeout).await?;
    println!("crawl {}: published {n} crawl request(s)", plan.crawl_id);
    if a.wait {
        // The watcher writes the summary at the timeout at the latest; allow it a few looks more.
        let r = runs::wait(
            &g.clickhouse_url,
            &g.clickhouse_database,
            &plan.crawl_id,
            i64::try_from(n).unwrap_or(i64::MAX),
            a.timeout + Duration::from_secs(120),
        )
        .await?;
        println!("{}", runs::summary_line(&r));
        for f in &r.failures {
            println!("failed: {} ({})", f.url, f.reason);
        }
        if r.status == "failed" || r.status == "timed_out" {
            anyhow::bail!("run {} {}", r.run_id, r.status);
        }
    }
    Ok(())
}

pub async fn wait_idle(g: &Global, a: WaitIdleArgs) -> anyhow::Result<()> {
    let topics = g.topics();
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for stage in &a.stages {
        let ts = match stage.as_str() {
            "extract" => topics.crawl_topics().to_vec(),
            "transform" => topics.raw_topics().to_vec(),
            "load" => topics.event_topics().to_vec(),
            other => anyhow::bail!("--stages: unknown stage {other:?} (extract, transform, load)"),
        };
        groups.push((g.group(stage), ts));
    }
    let start = Instant::now();
    let mut idle_since: Option<Instant> = None;
    // Lag worked off since the start (the most lag seen minus the lag now); drawn on a terminal only.
    let bar = runs::bar(
        0,
        "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} records of lag worked off ({per_sec}, ETA {eta}) {msg}",
    )?;
    let mut most = 0i64;
    loop {
        let mut total = 0i64;
        // Where the lag sits ("group topic[partition]=n"), named when the wait times out.
        let mut lagging: Vec<String> = Vec::new();
        for (group, ts) in &groups {
            let (brokers, group_id, ts) =
                (g.brokers.clone(), group.clone(), ts.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            let lag = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = ts.iter().map(String::as_str).collect();
                shopstream_core::kafka::group_partition_lag(&brokers, &group_id, &refs)
            })
            .await??;
            let mut parts: Vec<_> = lag.into_iter().filter(|(_, n)| *n > 0).collect();
            parts.sort();
            for ((topic, partition), n) in parts {
                total += n;
                lagging.push(format!("{group} {topic}[{partition}]={n}"));
            }
        }
        most = most.max(total);
        bar.set_length(u64::try_from(most).unwrap_or(0));
        bar.set_position(u64::try_from(most - total).unwrap_or(0));
        if total == 0 {
            let since = *idle_since.get_or_insert_with(Instant::now);
            bar.set_message("idle, settling");
            if since.elapsed() >= Duration::from_secs(a.settle_secs) {
                bar.finish_and_clear();
                eprintln!("idle after {:.1}s", start.elapsed().as_secs_f64());
                return Ok(());
            }
        } else {
            idle_since = None;
            bar.set_message("");
        }
        if start.elapsed() > Duration::from_secs(a.timeout_secs) {
            bar.abandon();
            anyhow::bail!("still {total} record(s) of lag after {}s: {}", a.timeout_secs, lagging.join(", "));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
