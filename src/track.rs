//! `shopstream track`: tracked rank targets (events in the compacted topic `tracking.targets`), a manual
//! run of them, and the session numbering computed offline.

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::Context;
use clap::{Args, Subcommand};
use shopstream_core::kafka::Producer;
use shopstream_core::{now_ms, Codec};
use shopstream_producers::schedule::clock::parse_rfc3339;
use shopstream_producers::schedule::run::read_all;
use shopstream_producers::schedule::{RetryPolicy, RUN_TIMEOUT};
use shopstream_producers::track::sessions::{self, Observation};
use shopstream_producers::track::{self as tracking, lane_of};
use shopstream_schemas::{RunEvent, TrackingTarget};

use crate::config::PipelineConfig;
use crate::Global;

#[derive(Args)]
pub struct TrackArgs {
    #[command(subcommand)]
    command: TrackCommand,
}

#[derive(Subcommand)]
enum TrackCommand {
    /// Track a product in a keyword search (or a listing) of a source.
    Add(AddArgs),
    /// Print the targets.
    List(ListArgs),
    /// Stop crawling a target (its history stays).
    Pause(IdArgs),
    /// Crawl a paused target again.
    Resume(IdArgs),
    /// Remove a target (its history stays).
    Remove(IdArgs),
    /// Enqueue one run of a source's active targets now (or as if at --at), outside any schedule.
    Run(RunArgs),
    /// Number observations into sessions offline: JSON lines {"target","observed_at","position"} in,
    /// the same lines with "session" and "exposures_in_session" out, in input order.
    Sessions(SessionsArgs),
}

#[derive(Args)]
struct AddArgs {
    /// Source name (from the config).
    #[arg(long)]
    source: String,
    /// The search keyword.
    #[arg(long, required_unless_present = "list_url", conflicts_with = "list_url")]
    keyword: Option<String>,
    /// A listing URL ({page} and {start} are replaced per page).
    #[arg(long)]
    list_url: Option<String>,
    /// The product to find: its product id, or url:TEXT for a product URL containing TEXT.
    #[arg(long, required_unless_present = "shop", conflicts_with = "shop")]
    product: Option<String>,
    /// Or the shop (mall, seller) to find: the best position of any of its products counts. Needs a
    /// list that names each product's shop (the Naver Shopping search does: mallName).
    #[arg(long)]
    shop: Option<String>,
    /// Tier: high, normal, low or one of the config's [tiers].
    #[arg(long, default_value = "normal")]
    tier: String,
    /// Time zone of the run days (default: the source's track.timezone).
    #[arg(long)]
    timezone: Option<String>,
    /// Pages to look through (default: the source's track.pages).
    #[arg(long)]
    pages: Option<u32>,
    /// Pause it from the start.
    #[arg(long)]
    paused: bool,
}

#[derive(Args)]
struct ListArgs {
    /// Only this source's targets.
    #[arg(long)]
    source: Option<String>,
    /// Include removed targets.
    #[arg(long)]
    all: bool,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct IdArgs {
    /// The target id (from `track add` or `track list`).
    target_id: String,
}

#[derive(Args)]
struct RunArgs {
    /// Source whose active targets to run.
    #[arg(long)]
    source: String,
    /// Only this target.
    #[arg(long)]
    target: Option<String>,
    /// The run's time (RFC 3339); default: now. Runs at the same time are one run.
    #[arg(long)]
    at: Option<String>,
}

#[derive(Args)]
struct SessionsArgs {
    /// Read the observations from standard input.
    #[arg(long, required = true)]
    stdin: bool,
    /// JSON lines out (the only format; accepted for symmetry with other commands).
    #[arg(long)]
    json: bool,
}

pub async fn run(g: &Global, a: TrackArgs) -> anyhow::Result<()> {
    match a.command {
        TrackCommand::Add(a) => add(g, a).await,
        TrackCommand::List(a) => list(g, a).await,
        TrackCommand::Pause(a) => set_status(g, &a.target_id, "paused").await,
        TrackCommand::Resume(a) => set_status(g, &a.target_id, "active").await,
        TrackCommand::Remove(a) => set_status(g, &a.target_id, "removed").await,
        TrackCommand::Run(a) => run_now(g, a).await,
        TrackCommand::Sessions(a) => {
            let _ = a.json;
            number_sessions()
        }
    }
}

async fn publish(g: &Global, t: &TrackingTarget) -> anyhow::Result<()> {
    crate::ensure_topics(g).await?;
    let topics = g.topics();
    let producer = Producer::new(&g.brokers)?;
    let codec = Codec::new(&g.schema_registry_url);
    let value = codec.encode(&topics.tracking, t).await?;
    producer.send(&topics.tracking, t.target_id.as_bytes(), &value).await?;
    Ok(())
}

/// Every target's latest state.
async fn targets(g: &Global) -> anyhow::Result<BTreeMap<String, TrackingTarget>> {
    crate::ensure_topics(g).await?;
    let codec = Codec::new(&g.schema_registry_url);
    let mut decoded = Vec::new();
    for payload in read_all(&g.brokers, &g.topics().tracking).await? {
        decoded.push(codec.decode::<TrackingTarget>(&payload).await?);
    }
    Ok(tracking::latest(decoded))
}

async fn add(g: &Global, a: AddArgs) -> anyhow::Result<()> {
    let pipeline = PipelineConfig::load(g.config.as_deref())?;
    anyhow::ensure!(pipeline.sources.contains_key(&a.source), "no source named {:?} in the config", a.source);
    let rules = pipeline.track_rules(&a.source);
    if a.keyword.is_some() && rules.search_url.is_none() {
        anyhow::bail!(
            "source {:?} has no [sources.{}.track] search_url: keyword targets cannot be crawled",
            a.source,
            a.source
        );
    }
    if let Some(u) = &a.list_url {
        url::Url::parse(&u.replace("{page}", "1").replace("{start}", "1"))
            .with_context(|| format!("--list-url {u:?}"))?;
    }
    lane_of(&a.tier, &pipeline.tier_lanes())
        .with_context(|| format!("unknown tier {:?} (high, normal, low or one of [tiers])", a.tier))?;
    let timezone = a.timezone.unwrap_or(rules.timezone);
    timezone.parse::<chrono_tz::Tz>().map_err(|_| anyhow::anyhow!("unknown time zone {timezone:?}"))?;
    let product = match (&a.product, &a.shop) {
        (_, Some(shop)) => {
            anyhow::ensure!(!shop.trim().is_empty(), "--shop is empty");
            format!("shop:{}", shop.trim())
        }
        (Some(p), None) => {
            anyhow::ensure!(!p.trim().is_empty(), "--product is empty");
            p.trim().to_string()
        }
        (None, None) => anyhow::bail!("--product or --shop is required"),
    };
    let pages = a.pages.map(|p| i32::try_from(p.clamp(1, 100)).unwrap_or(100));
    let target = TrackingTarget {
        target_id: tracking::target_id(&a.source, a.keyword.as_deref(), a.list_url.as_deref(), &product),
        source: a.source,
        keyword: a.keyword,
        list_url: a.list_url,
        product,
        tier: a.tier,
        status: if a.paused { "paused".into() } else { "active".into() },
        timezone,
        pages,
        updated_at: now_ms(),
    };
    publish(g, &target).await?;
    println!("{}", target.target_id);
    Ok(())
}

async fn list(g: &Global, a: ListArgs) -> anyhow::Result<()> {
    let all = targets(g).await?;
    let shown = all
        .values()
        .filter(|t| a.source.as_ref().is_none_or(|s| &t.source == s))
        .filter(|t| a.all || t.status != "removed");
    if a.json {
        for t in shown {
            println!("{}", serde_json::to_string(t)?);
        }
        return Ok(());
    }
    println!(
        "{:<16} {:<10} {:<8} {:<8} {:<12} {:<16} {:<6} query",
        "target", "source", "status", "tier", "timezone", "product", "pages"
    );
    for t in shown {
        let query =
            t.keyword.clone().map(|k| format!("keyword {k:?}")).or_else(|| t.list_url.clone()).unwrap_or_default();
        let pages = t.pages.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        println!(
            "{:<16} {:<10} {:<8} {:<8} {:<12} {:<16} {:<6} {query}",
            t.target_id, t.source, t.status, t.tier, t.timezone, t.product, pages
        );
    }
    Ok(())
}

async fn set_status(g: &Global, id: &str, status: &str) -> anyhow::Result<()> {
    let all = targets(g).await?;
    let mut t =
        all.get(id).cloned().with_context(|| format!("no target {id:?} (see `shopstream track list --all`)"))?;
    if t.status == status {
        println!("{id}: already {status}");
        return Ok(());
    }
    if t.status == "removed" && status != "removed" {
        anyhow::bail!("target {id} was removed; add it again to track it");
    }
    t.status = status.to_string();
    t.updated_at = now_ms().max(t.updated_at + 1);
    publish(g, &t).await?;
    println!("{id}: {status}");
    Ok(())
}

/// A manual run: every active target of the source (or one) enqueued with one run id derived from the
/// run's time, and a `fired` run event.
async fn run_now(g: &Global, a: RunArgs) -> anyhow::Result<()> {
    let pipeline = PipelineConfig::load(g.config.as_deref())?;
    anyhow::ensure!(pipeline.sources.contains_key(&a.source), "no source named {:?} in the config", a.source);
    let at = match &a.at {
        Some(t) => parse_rfc3339(t).map_err(|e| anyhow::anyhow!("--at: {e}"))?,
        None => chrono::Utc::now(),
    };
    let all = targets(g).await?;
    let chosen: Vec<&TrackingTarget> = all
        .values()
        .filter(|t| t.source == a.source && t.status == "active")
        .filter(|t| a.target.as_ref().is_none_or(|id| &t.target_id == id))
        .collect();
    if chosen.is_empty() {
        anyhow::bail!(
            "no active target of source {:?}{}",
            a.source,
            a.target.map(|t| format!(" with id {t}")).unwrap_or_default()
        );
    }
    let run_id = format!("manual-{}-{}", a.source, at.format("%Y%m%dT%H%M%SZ"));
    let rules = pipeline.track_rules(&a.source);
    let tiers = pipeline.tier_lanes();
    let (requests, errors) = tracking::run_requests(&chosen, &rules, &tiers, &run_id, at.timestamp_millis());
    if !errors.is_empty() {
        let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::bail!("cannot run: {}", reasons.join("; "));
    }
    let topics = g.topics();
    let producer = Producer::new(&g.brokers)?;
    let codec = Codec::new(&g.schema_registry_url);
    shopstream_producers::send_requests(&producer, &codec, &topics, &requests).await?;
    let tier_retries = pipeline.tier_retries();
    let retry =
        chosen.iter().filter_map(|t| tier_retries.get(&t.tier).copied()).reduce(RetryPolicy::max).unwrap_or_default();
    let event = RunEvent {
        schedule: None,
        requests: requests.len() as i64,
        targets: chosen.len() as i64,
        scheduler: "manual".into(),
        timeout_ms: RUN_TIMEOUT.as_millis() as i64,
        retries: i32::try_from(retry.retries).unwrap_or(i32::MAX),
        retry_delay_ms: retry.delay.as_millis() as i64,
        ..RunEvent::new(&run_id, "fired", &a.source, "targets", at.timestamp_millis(), now_ms())
    };
    producer.send(&topics.runs, run_id.as_bytes(), &codec.encode(&topics.runs, &event).await?).await?;
    println!("run {run_id}: {} target(s), {} request(s)", chosen.len(), requests.len());
    Ok(())
}

fn number_sessions() -> anyhow::Result<()> {
    let mut lines: Vec<serde_json::Map<String, serde_json::Value>> = Vec::new();
    let mut observations = Vec::new();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&line).with_context(|| format!("line {n}: not a JSON object"))?;
        let target = match obj.get("target") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(v)) => v.to_string(),
            _ => anyhow::bail!("line {n}: \"target\" must be a string"),
        };
        let observed_at = obj
            .get("observed_at")
            .and_then(serde_json::Value::as_str)
            .with_context(|| format!("line {n}: \"observed_at\" must be an RFC 3339 string"))?;
        let observed_at = parse_rfc3339(observed_at).map_err(|e| anyhow::anyhow!("line {n}: observed_at: {e}"))?;
        let position = match obj.get("position") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => {
                Some(v.as_u64().filter(|p| *p >= 1).and_then(|p| u32::try_from(p).ok()).with_context(|| {
                    format!("line {n}: \"position\" must be null or a whole number from 1, not {v}")
                })?)
            }
        };
        observations.push(Observation { target, observed_at: observed_at.timestamp_millis(), position });
        lines.push(obj);
    }
    let numbers = sessions::number(&observations);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (mut obj, n) in lines.into_iter().zip(numbers) {
        obj.insert("session".into(), n.session.into());
        obj.insert("exposures_in_session".into(), n.exposures_in_session.into());
        use std::io::Write;
        writeln!(out, "{}", serde_json::Value::Object(obj))?;
    }
    Ok(())
}
