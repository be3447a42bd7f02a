//! `shopstream collect` (seller APIs: the first request of each account and window chunk) and
//! `shopstream session import` (a browser's cookie file for a seller-center account behind a second
//! factor).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use shopstream_core::api::Accounts;
use shopstream_core::kafka::Producer;
use shopstream_core::{now_ms, Codec, Endpoints, Topics};
use shopstream_producers::collect::{window_from_args, CollectPlan};
use shopstream_schemas::RunEvent;

use crate::config::PipelineConfig;

#[derive(Args)]
pub struct CollectArgs {
    /// The `kind = "api"` source (from the config).
    #[arg(long)]
    source: String,
    /// The endpoint (from the source's `[api.endpoints]`).
    #[arg(long)]
    endpoint: String,
    /// One account (repeatable); its credentials come from SHOPSTREAM_SECRETS or SHOPSTREAM_ACCOUNT__…
    #[arg(long = "account", required_unless_present = "all_accounts", conflicts_with = "all_accounts")]
    accounts: Vec<String>,
    /// Every account of the source.
    #[arg(long)]
    all_accounts: bool,
    /// Changed since this time (RFC 3339), up to now.
    #[arg(long, conflicts_with = "window")]
    since: Option<String>,
    /// Changed in the last DURATION (e.g. 7d, 10m), up to now.
    #[arg(long)]
    window: Option<String>,
    /// high, normal or low.
    #[arg(long, default_value = "normal")]
    priority: String,
    /// Collection (crawl) id; default: `<source>-<endpoint>-<now ms>`.
    #[arg(long)]
    crawl_id: Option<String>,
    /// Print the requests (topic, key, URL, account) and publish nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct SessionArgs {
    #[command(subcommand)]
    what: SessionWhat,
}

#[derive(Subcommand)]
enum SessionWhat {
    /// Store a Netscape cookie file (exported from a browser after logging in with the second factor) as
    /// the account's session; the extractor uses it until the site expires it.
    Import {
        #[arg(long)]
        source: String,
        #[arg(long)]
        account: String,
        /// The cookie file (`cookies.txt`).
        file: PathBuf,
    },
}

pub async fn collect(
    endpoints: &Endpoints,
    topics: &Topics,
    pipeline: &PipelineConfig,
    a: CollectArgs,
) -> anyhow::Result<()> {
    let source = pipeline.sources.get(&a.source).with_context(|| {
        let known: Vec<&String> = pipeline.sources.keys().collect();
        format!("no source named {:?} in the config (known: {known:?})", a.source)
    })?;
    let api = source.api.as_ref().with_context(|| format!("source {:?} is not an api source", a.source))?;
    let names: Vec<&str> = pipeline.sources.keys().map(String::as_str).collect();
    let accounts = Accounts::from_env(&names)?;
    let now = now_ms();
    let window = window_from_args(a.since.as_deref(), a.window.as_deref(), now).map_err(anyhow::Error::msg)?;
    let plan = CollectPlan {
        crawl_id: a.crawl_id.unwrap_or_else(|| format!("{}-{}-{now}", a.source, a.endpoint)),
        source: a.source.clone(),
        endpoint: a.endpoint.clone(),
        accounts: a.accounts,
        all_accounts: a.all_accounts,
        window,
        priority: a.priority,
    };
    let planned = plan.requests(api, &accounts, topics).map_err(anyhow::Error::msg)?;
    if a.dry_run {
        for (topic, key, r) in &planned {
            println!("{topic}\t{}\t{}\taccount={}", String::from_utf8_lossy(key), r.url, r.attributes["account"]);
        }
        return Ok(());
    }
    let producer = Producer::new(&endpoints.kafka_brokers)?;
    let codec = Codec::new(&endpoints.schema_registry_url);
    let mut records = Vec::with_capacity(planned.len());
    for (topic, key, r) in &planned {
        records.push((topic.clone(), key.clone(), codec.encode(topic, r).await?));
    }
    for chunk in records.chunks(1000) {
        producer.send_all(chunk).await?;
    }
    // The collection is a run like a crawl: its summary is written once its requests (and the pages
    // they lead to) settle.
    let started = now_ms();
    let event = RunEvent {
        requests: records.len() as i64,
        scheduler: format!("collect-{}", std::process::id()),
        timeout_ms: 2 * 3_600_000,
        ..RunEvent::new(&plan.crawl_id, "started", &plan.source, "api", started, started)
    };
    let value = codec.encode(&topics.runs, &event).await?;
    producer.send(&topics.runs, plan.crawl_id.as_bytes(), &value).await?;
    let accounts_n: std::collections::BTreeSet<&str> =
        planned.iter().map(|(_, _, r)| r.attributes["account"].as_str()).collect();
    println!(
        "collect {}: published {} request(s) for {} account(s) of {} ({})",
        plan.crawl_id,
        records.len(),
        accounts_n.len(),
        plan.source,
        plan.endpoint
    );
    Ok(())
}

pub fn session(pipeline: &PipelineConfig, a: SessionArgs) -> anyhow::Result<()> {
    match a.what {
        SessionWhat::Import { source, account, file } => {
            let s = pipeline.sources.get(&source).with_context(|| format!("no source named {source:?}"))?;
            match s.api.as_ref().map(|api| &api.auth) {
                Some(shopstream_core::api::AuthConfig::Session { .. }) => {}
                _ => anyhow::bail!("source {source:?} does not log in with a session (auth scheme \"session\")"),
            }
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let cookies = shopstream_extractors::http::api::parse_netscape_cookies(&text)
                .map_err(|e| anyhow::anyhow!("{}: not a Netscape cookie file: {e}", file.display()))?;
            if cookies.is_empty() {
                anyhow::bail!("{}: holds no cookie", file.display());
            }
            let dir = shopstream_extractors::http::api::sessions_dir();
            let target = shopstream_extractors::http::api::session_file(&dir, &source, &account);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            write_private(&target, &text)?;
            println!("session of {source}/{account}: {} cookie(s) stored in {}", cookies.len(), target.display());
            Ok(())
        }
    }
}

/// Write a file only its owner can read (it holds a live session).
pub fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
