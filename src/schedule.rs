//! `shopstream schedule`: run the scheduler, list the configured schedules, or print a cron
//! expression's next fire times.

use anyhow::Context;
use clap::{Args, Subcommand};
use shopstream_core::metrics::Metrics;
use shopstream_core::CancellationToken;
use shopstream_producers::schedule::clock::{parse_rfc3339, utc_text};
use shopstream_producers::schedule::run::{Clock, SchedulerConfig};
use shopstream_producers::schedule::CronClock;

use crate::config::PipelineConfig;
use crate::Global;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    command: Option<ScheduleCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum ScheduleCommand {
    /// Print the next fire times of a cron expression in UTC (RFC 3339), one per line.
    Next(NextArgs),
    /// Print each configured schedule with its next fire.
    List,
}

#[derive(Args)]
struct NextArgs {
    /// 5 fields: minute hour day-of-month month day-of-week.
    #[arg(long)]
    cron: String,
    /// IANA time zone the expression is read in.
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// Fires strictly after this time (RFC 3339); default: now.
    #[arg(long)]
    from: Option<String>,
    /// How many fires.
    #[arg(long, default_value_t = 5)]
    count: usize,
    /// Print a JSON array of strings.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RunArgs {
    /// This instance's name in run events (default: host and process id).
    #[arg(long)]
    instance: Option<String>,
    /// A fake clock for tests and rehearsals: the time it starts at (RFC 3339).
    #[arg(long, hide = true, requires = "clock_rate")]
    clock_start: Option<String>,
    /// How many times faster than real time the fake clock runs.
    #[arg(long, hide = true)]
    clock_rate: Option<f64>,
    /// Real time (epoch ms) at which the fake clock reads --clock-start (default: now); instances given
    /// the same value agree.
    #[arg(long, hide = true)]
    clock_epoch_ms: Option<i64>,
}

pub async fn run(g: &Global, a: ScheduleArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
    match a.command {
        Some(ScheduleCommand::Next(n)) => next(n),
        Some(ScheduleCommand::List) => list(g),
        None => scheduler(g, a.run, metrics, shutdown).await,
    }
}

fn next(a: NextArgs) -> anyhow::Result<()> {
    let clock = CronClock::new(&a.cron, &a.timezone)?;
    let from = match &a.from {
        Some(t) => parse_rfc3339(t).map_err(|e| anyhow::anyhow!("--from: {e}"))?,
        None => chrono::Utc::now(),
    };
    let mut fires = Vec::with_capacity(a.count);
    let mut cursor = from;
    for _ in 0..a.count {
        cursor = clock.next_after(cursor)?;
        fires.push(utc_text(cursor));
    }
    if a.json {
        println!("{}", serde_json::to_string(&fires)?);
    } else {
        for f in fires {
            println!("{f}");
        }
    }
    Ok(())
}

fn list(g: &Global) -> anyhow::Result<()> {
    let pipeline = PipelineConfig::load(g.config.as_deref())?;
    let schedules = pipeline.schedules()?;
    if schedules.is_empty() {
        println!("no schedules in the config (add [schedules.NAME] with cron, timezone and enqueue)");
        return Ok(());
    }
    println!(
        "{:<20} {:<16} {:<18} {:<22} {:<22} next (local)",
        "schedule", "cron", "timezone", "enqueue", "next (UTC)"
    );
    let now = chrono::Utc::now();
    for s in schedules {
        let next = s.clock.next_after(now)?;
        let local = next.with_timezone(&s.clock.timezone()).format("%Y-%m-%d %H:%M %Z").to_string();
        let what = format!("{} of {}", s.what.label(), s.what.source());
        println!(
            "{:<20} {:<16} {:<18} {:<22} {:<22} {local}",
            s.name,
            s.clock.expr(),
            s.clock.timezone().name(),
            what,
            utc_text(next)
        );
    }
    Ok(())
}

async fn scheduler(g: &Global, a: RunArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pipeline = PipelineConfig::load(g.config.as_deref())?;
    let schedules = pipeline.schedules()?;
    if schedules.is_empty() {
        anyhow::bail!("the config has no [schedules.NAME]: nothing to fire");
    }
    let clock = match (&a.clock_start, a.clock_rate) {
        (Some(start), Some(rate)) => {
            let start = parse_rfc3339(start).map_err(|e| anyhow::anyhow!("--clock-start: {e}"))?;
            anyhow::ensure!(rate > 0.0, "--clock-rate must be above 0");
            Clock::fake(start, a.clock_epoch_ms.unwrap_or_else(shopstream_core::now_ms), rate)
        }
        _ => Clock::real(),
    };
    let instance = a.instance.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        format!("{}-{}", if host.is_empty() { "scheduler" } else { &host }, std::process::id())
    });
    let session_timeout_ms = std::env::var("SHOPSTREAM_SCHEDULER_SESSION_TIMEOUT_MS")
        .ok()
        .map(|v| v.trim().parse::<u64>().context("SHOPSTREAM_SCHEDULER_SESSION_TIMEOUT_MS must be milliseconds"))
        .transpose()?
        .unwrap_or(6_000);
    let cfg = SchedulerConfig {
        schedules,
        seeds: pipeline.sources.iter().map(|(k, v)| (k.clone(), v.seeds.clone())).collect(),
        track: pipeline.sources.keys().map(|k| (k.clone(), pipeline.track_rules(k))).collect(),
        apis: pipeline.apis(),
        accounts: shopstream_core::api::Accounts::from_env(
            &pipeline.sources.keys().map(String::as_str).collect::<Vec<_>>(),
        )?,
        tiers: pipeline.tier_lanes(),
        tier_retries: pipeline.tier_retries(),
        group: g.group("schedule"),
        instance,
        clock,
        session_timeout_ms,
    };
    crate::ensure_topics(g).await?;
    shopstream_producers::schedule::run::run(cfg, &g.endpoints(), &g.topics(), metrics, shutdown).await
}
