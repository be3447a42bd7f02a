//! `shopstream`: the one binary. Each stage runs alone (its own consumer group, so several processes
//! share the work) or all together with `run`. Endpoints come from flags or the environment.

mod chart;
mod collect;
mod config;
mod replay;
mod report;
mod runs;
mod scale_advice;
mod schedule;
mod status;
mod track;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use shopstream_core::metrics::Metrics;
use shopstream_core::{CancellationToken, Endpoints, Topics};

use crate::config::PipelineConfig;

#[derive(Parser)]
#[command(
    name = "shopstream",
    version,
    about = "An event-sourced e-commerce data pipeline over Kafka, Avro and ClickHouse."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Global {
    /// Kafka bootstrap servers. Client options for a real cluster (SASL, TLS):
    /// SHOPSTREAM_KAFKA_<OPTION>, e.g. SHOPSTREAM_KAFKA_SECURITY_PROTOCOL=SASL_SSL,
    /// SHOPSTREAM_KAFKA_SASL_PASSWORD_FILE=/run/secrets/kafka.
    #[arg(
        long,
        global = true,
        env = "SHOPSTREAM_KAFKA_BROKERS",
        hide_env_values = true,
        default_value = "127.0.0.1:9092"
    )]
    brokers: String,
    /// Schema Registry URL. Basic auth: SHOPSTREAM_SCHEMA_REGISTRY_BASIC_AUTH[_FILE]=user:password.
    #[arg(
        long,
        global = true,
        env = "SHOPSTREAM_SCHEMA_REGISTRY_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8081"
    )]
    schema_registry_url: String,
    /// ClickHouse HTTP URL (`https://` for TLS). Credentials come from SHOPSTREAM_CLICKHOUSE_USER and
    /// SHOPSTREAM_CLICKHOUSE_PASSWORD (or SHOPSTREAM_CLICKHOUSE_PASSWORD_FILE), never from flags.
    #[arg(
        long,
        global = true,
        env = "SHOPSTREAM_CLICKHOUSE_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8123"
    )]
    clickhouse_url: String,
    /// ClickHouse database.
    #[arg(long, global = true, env = "SHOPSTREAM_CLICKHOUSE_DATABASE", default_value = "shopstream")]
    clickhouse_database: String,
    /// Prefix of every topic name (e.g. per environment or per test).
    #[arg(long, global = true, env = "SHOPSTREAM_TOPIC_PREFIX", default_value = "")]
    topic_prefix: String,
    /// Prefix of every consumer group name.
    #[arg(long, global = true, env = "SHOPSTREAM_GROUP_PREFIX", default_value = "shopstream")]
    group_prefix: String,
    /// Pipeline config file (TOML); the built-in one crawls books.toscrape.com.
    #[arg(long, global = true, env = "SHOPSTREAM_CONFIG")]
    config: Option<PathBuf>,
    /// Serve /metrics and /health on this address.
    #[arg(long, global = true, env = "SHOPSTREAM_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "SHOPSTREAM_LOG_JSON")]
    log_json: bool,
}

impl Global {
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            kafka_brokers: self.brokers.clone(),
            schema_registry_url: self.schema_registry_url.clone(),
            clickhouse_url: self.clickhouse_url.clone(),
            clickhouse_database: self.clickhouse_database.clone(),
        }
    }

    fn topics(&self) -> Topics {
        Topics::with_prefix(&self.topic_prefix)
    }

    fn group(&self, stage: &str) -> String {
        format!("{}-{stage}", self.group_prefix)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve a Confluent Schema Registry-compatible API, state in the `_schemas` topic.
    Registry(RegistryArgs),
    /// Serve the bundled Books to Scrape snapshot on localhost.
    Sandbox(SandboxArgs),
    /// Create the pipeline's topics (idempotent).
    Topics(TopicsArgs),
    /// Apply the ClickHouse migrations (idempotent).
    Migrate,
    /// Publish crawl requests for seed URLs.
    Crawl(CrawlArgs),
    /// Run the extract stage: fetch crawl requests, publish raw pages.
    Extract(StageArgs),
    /// Run the transform stage: parse raw pages into Avro events.
    Transform(StageArgs),
    /// Run the load stage: upsert events into ClickHouse.
    Load(LoadArgs),
    /// Run extract, transform and load in one process.
    Run(RunArgs),
    /// Reprocess a range of a raw or events topic (by time or offsets) in consumer groups of its own
    /// (--group-prefix), then exit; ClickHouse converges.
    Replay(replay::ReplayArgs),
    /// Wait until every stage's consumer group has caught up (no lag), then exit.
    WaitIdle(WaitIdleArgs),
    /// Print a short ClickHouse report of what was loaded.
    Report,
    /// A live view of the pipeline (stages' lag, members and rates, dead letters, runs in flight, the
    /// latest summaries, topic sizes); `--once` prints one view, `--json` one JSON document.
    Status(status::StatusArgs),
    /// Parse one saved page or payload offline and print the normalized facts.
    Parse(ParseArgs),
    /// Normalize values (prices) the way the transform stage does.
    Normalize(NormalizeArgs),
    /// Run the scheduler (one active instance per group, the others stand by), or: `schedule next`,
    /// `schedule list`.
    Schedule(schedule::ScheduleArgs),
    /// Tracked rank targets: add, list, pause, resume, remove, run; sessions offline.
    Track(track::TrackArgs),
    /// Draw a product's price history or a tracked target's rank history from ClickHouse (.svg or .png).
    Chart(chart::ChartArgs),
    /// Per stage: its group's lag, the rate it consumes (sampled) and the instances that would drain the
    /// lag within --drain-secs, bounded by the partitions.
    ScaleAdvice(scale_advice::ScaleAdviceArgs),
    /// Run summaries (status, totals, failures with their targets) and the runs still in flight.
    Runs(runs::RunsArgs),
    /// Seller APIs: enqueue the first request of every account and window chunk of an endpoint (the
    /// extractor signs each request and follows the API's paging).
    Collect(collect::CollectArgs),
    /// Seller-center login sessions: `session import` a browser's cookie file for an account that needs
    /// a second factor.
    Session(collect::SessionArgs),
}

#[derive(Args)]
struct RegistryArgs {
    /// Address to listen on.
    #[arg(long, env = "SHOPSTREAM_REGISTRY_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Topic holding the registry's state.
    #[arg(long, default_value = shopstream_registry::DEFAULT_TOPIC)]
    topic: String,
    /// Default compatibility level.
    #[arg(long, default_value = "BACKWARD")]
    compatibility: String,
}

#[derive(Args)]
struct SandboxArgs {
    /// Port on 127.0.0.1.
    #[arg(long, env = "SHOPSTREAM_SANDBOX_PORT", default_value_t = shopstream_sandbox::DEFAULT_PORT)]
    port: u16,
    /// Also serve N copies of the shop under /shop1/ … /shopN/.
    #[arg(long, default_value_t = 0)]
    copies: u32,
    /// Added latency per response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of requests answered 503 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Fraction of requests answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    rate_429: f64,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seller center (/seller/): simulated seller accounts.
    #[arg(long, default_value_t = 3)]
    seller_accounts: u32,
    /// Seller center: seed of the accounts, their credentials and orders.
    #[arg(long, default_value_t = 7)]
    seller_seed: u64,
    /// Seller center: average orders per account and day.
    #[arg(long, default_value_t = 4)]
    seller_orders_per_day: u32,
    /// Seller center: requests per second allowed (429 with Retry-After above it); none: unlimited.
    #[arg(long)]
    seller_rate: Option<f64>,
    /// Seller center: burst of the rate limit.
    #[arg(long, default_value_t = 1)]
    seller_burst: u32,
    /// Seller center: what one rate limit covers: endpoint (across all accounts), account, endpoint-account.
    #[arg(long, default_value = "endpoint")]
    seller_rate_scope: String,
    /// Seller center: lifetime of a login session, in seconds.
    #[arg(long, default_value_t = 600)]
    seller_session_ttl_secs: u64,
    /// Seller center: lifetime of an OAuth access token, in seconds.
    #[arg(long, default_value_t = 3600)]
    seller_token_ttl_secs: u64,
    /// Write the seller accounts' credentials as a secrets file (SHOPSTREAM_SECRETS) for
    /// config/seller-sandbox.toml to this path (created with owner-only permissions).
    #[arg(long)]
    seller_secrets: Option<PathBuf>,
}

#[derive(Args)]
struct TopicsArgs {
    /// Partitions of each new topic.
    #[arg(long, env = "SHOPSTREAM_PARTITIONS", default_value_t = 4)]
    partitions: i32,
}

#[derive(Args)]
struct CrawlArgs {
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

#[derive(Args, Clone)]
struct StageArgs {
    /// Records in flight in this process.
    #[arg(long)]
    concurrency: Option<usize>,
}

#[derive(Args, Clone)]
struct LoadArgs {
    /// Rows per ClickHouse insert at most.
    #[arg(long, default_value_t = 5000)]
    batch_rows: usize,
    /// Flush a batch after this many milliseconds.
    #[arg(long, default_value_t = 500)]
    batch_max_age_ms: u64,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    stage: StageArgs,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Args)]
struct WaitIdleArgs {
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

#[derive(Args)]
struct ParseArgs {
    /// A saved page or payload, or an http(s) URL to fetch once (the parse itself is offline).
    file: String,
    /// Source whose parser to use (from the config); none: the generic parser.
    #[arg(long)]
    source: Option<String>,
    /// The URL the page came from (links and ids resolve against it); default: the URL given, else
    /// http://localhost/.
    #[arg(long)]
    url: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Let a URL reach loopback and private addresses (a local test server); refused by default, as
    /// the extractor refuses them unless the source allows them.
    #[arg(long)]
    allow_private_network: bool,
}

#[derive(Args)]
struct NormalizeArgs {
    #[command(subcommand)]
    what: NormalizeWhat,
}

#[derive(Subcommand)]
enum NormalizeWhat {
    /// A price: amount, ISO currency and minor units.
    Price(PriceArgs),
}

#[derive(Args)]
struct PriceArgs {
    /// The price text.
    #[arg(required_unless_present = "stdin")]
    text: Option<String>,
    /// Text near the price naming the currency.
    #[arg(long)]
    currency_hint: Option<String>,
    /// The site's decimal separator.
    #[arg(long)]
    decimal_separator: Option<char>,
    /// ISO 4217 code when the text names none.
    #[arg(long)]
    default_currency: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Read JSON lines {"raw","currency_hint","decimal_separator"}, write one JSON line each.
    #[arg(long)]
    stdin: bool,
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rdkafka=warn"));
    // Colour only on a terminal: logs written to files stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot listen for SIGTERM.");
                    let _ = ctrl_c.await;
                    t.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("Shutting down.");
        t.cancel();
    });
    token
}

fn start_metrics(global: &Global, metrics: &Metrics, shutdown: &CancellationToken) {
    if let Some(addr) = global.metrics_listen {
        let (m, s) = (metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = shopstream_core::metrics::serve(addr, m, s).await {
                tracing::error!(error = %e, %addr, "The metrics endpoint failed.");
            }
        });
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging(cli.global.log_json);
    if let Err(e) = dispatch(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let g = cli.global;
    match cli.command {
        Command::Registry(a) => {
            let mut cfg = shopstream_registry::RegistryConfig::new(a.listen, g.brokers.clone());
            cfg.topic = a.topic;
            cfg.kafka_options = shopstream_registry::KafkaOptions(
                shopstream_core::kafka::env_options()?.into_iter().map(|(k, v)| (k, v.expose().to_string())).collect(),
            );
            cfg.basic_auth = shopstream_core::secrets::basic_auth_from_env("SHOPSTREAM_REGISTRY_BASIC_AUTH")?.map(
                |(user, password)| shopstream_registry::BasicAuth { user, password: password.expose().to_string() },
            );
            cfg.default_compatibility = a.compatibility.parse().map_err(|e| anyhow::anyhow!("--compatibility: {e}"))?;
            shopstream_registry::serve(cfg, shutdown_on_signals()).await?;
        }
        Command::Sandbox(a) => {
            let mut cfg = shopstream_sandbox::SandboxConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], a.port)),
                copies: a.copies,
                ..Default::default()
            };
            cfg.faults.latency_ms = a.latency_ms;
            cfg.faults.error_rate = a.error_rate;
            cfg.faults.rate_429 = a.rate_429;
            cfg.faults.seed = a.seed;
            cfg.seller = shopstream_sandbox::SellerConfig {
                accounts: a.seller_accounts,
                seed: a.seller_seed,
                orders_per_day: a.seller_orders_per_day,
                rate: a
                    .seller_rate
                    .map(|per_second| -> anyhow::Result<shopstream_sandbox::RateLimit> {
                        let scope = match a.seller_rate_scope.as_str() {
                            "endpoint" => shopstream_sandbox::RateScope::Endpoint,
                            "account" => shopstream_sandbox::RateScope::Account,
                            "endpoint-account" => shopstream_sandbox::RateScope::EndpointAccount,
                            s => anyhow::bail!("--seller-rate-scope {s:?}: endpoint, account or endpoint-account"),
                        };
                        Ok(shopstream_sandbox::RateLimit { per_second, burst: a.seller_burst, scope })
                    })
                    .transpose()?,
                session_ttl_secs: a.seller_session_ttl_secs,
                token_ttl_secs: a.seller_token_ttl_secs,
                ..Default::default()
            };
            let sandbox = shopstream_sandbox::Sandbox::bind(cfg).await?;
            eprintln!("sandbox serving on http://{}/", sandbox.local_addr());
            if let Some(path) = &a.seller_secrets {
                let text = shopstream_sandbox::seller::secrets_toml(sandbox.seller().config(), &sandbox.url());
                collect::write_private(path, &text)?;
                eprintln!("seller accounts' credentials written to {}", path.display());
            }
            sandbox.run(shutdown_on_signals()).await?;
        }
        Command::Topics(a) => {
            let topics = g.topics();
            shopstream_core::kafka::ensure_pipeline_topics(&g.brokers, &topics, a.partitions).await?;
            for t in topics.all() {
                println!("{t}");
            }
        }
        Command::Migrate => {
            let sql = shopstream_loaders::clickhouse::service::Sql::new(&g.clickhouse_url, &g.clickhouse_database)?;
            let applied = shopstream_loaders::clickhouse::migrations::apply(&sql).await?;
            println!("applied migrations: {applied:?}");
        }
        Command::Crawl(a) => crawl(&g, a).await?,
        Command::Extract(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            extract(&g, &a, metrics, shutdown).await?;
        }
        Command::Transform(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            transform(&g, &a, metrics, shutdown).await?;
        }
        Command::Load(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            load(&g, &a, metrics, shutdown).await?;
        }
        Command::Run(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            run_all(&g, &a, metrics, shutdown).await?;
        }
        Command::Replay(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            replay::run(&g, a, metrics, shutdown).await?;
        }
        Command::WaitIdle(a) => wait_idle(&g, a).await?,
        Command::Status(a) => status::run(&g, a).await?,
        Command::Report => report::print(&g.clickhouse_url, &g.clickhouse_database).await?,
        Command::Chart(a) => chart::run(&g.clickhouse_url, &g.clickhouse_database, a).await?,
        Command::Runs(a) => runs::run(&g.clickhouse_url, &g.clickhouse_database, a).await?,
        Command::Parse(a) => parse_file(&g, a).await?,
        Command::Normalize(a) => match a.what {
            NormalizeWhat::Price(p) => normalize_price(p)?,
        },
        Command::Schedule(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            schedule::run(&g, a, metrics, shutdown).await?;
        }
        Command::Track(a) => track::run(&g, a).await?,
        Command::ScaleAdvice(a) => scale_advice::run(&g, a).await?,
        Command::Collect(a) => {
            let pipeline = PipelineConfig::load(g.config.as_deref())?;
            let topics = g.topics();
            if !a.dry_run {
                ensure_topics(&g).await?;
            }
            collect::collect(&g.endpoints(), &topics, &pipeline, a).await?
        }
        Command::Session(a) => collect::session(&PipelineConfig::load(g.config.as_deref())?, a)?,
    }
    Ok(())
}

/// All stages in one process. Shutdown cascades downstream: extract stops first, then transform
/// drains, then load. A stage that fails stops the others (its error is returned).
async fn run_all(g: &Global, a: &RunArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
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

async fn ensure_topics(g: &Global) -> anyhow::Result<()> {
    let partitions: i32 = std::env::var("SHOPSTREAM_PARTITIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    shopstream_core::kafka::ensure_pipeline_topics(&g.brokers, &g.topics(), partitions)
        .await
        .context("cannot create or check the topics")
}

async fn extract(g: &Global, a: &StageArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
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

async fn transform(g: &Global, a: &StageArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
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

async fn load(g: &Global, a: &LoadArgs, metrics: Metrics, shutdown: CancellationToken) -> anyhow::Result<()> {
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

async fn crawl(g: &Global, a: CrawlArgs) -> anyhow::Result<()> {
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

async fn wait_idle(g: &Global, a: WaitIdleArgs) -> anyhow::Result<()> {
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

async fn parse_file(g: &Global, a: ParseArgs) -> anyhow::Result<()> {
    let is_url = a.file.starts_with("http://") || a.file.starts_with("https://");
    let pipeline = match &a.source {
        Some(_) => Some(PipelineConfig::load(g.config.as_deref())?),
        None => None,
    };
    let source = match (&a.source, &pipeline) {
        (Some(name), Some(p)) => {
            Some(p.sources.get(name).with_context(|| format!("no source named {name:?} in the config"))?)
        }
        _ => None,
    };
    let body = if is_url {
        // The extractor's guarded fetch: the source's address policy, body cap, redirect and time limits.
        let mut rules = source.map(|s| s.fetch.clone()).unwrap_or_default();
        rules.allow_private_network |= a.allow_private_network;
        fetch_once(&a.file, &rules).await?
    } else {
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file))?
    };
    let url = a.url.clone().unwrap_or_else(|| if is_url { a.file.clone() } else { "http://localhost/".to_string() });
    let (parser, currency) = match source {
        Some(s) => (s.parser.clone(), s.default_currency.clone()),
        None => (shopstream_parse::ParserConfig::Generic { page_size: None }, None),
    };
    let ctx = shopstream_parse::PageContext { url: &url, content_type: None, default_currency: currency.as_deref() };
    let parsed = shopstream_parse::parse(&parser, &body, &ctx)?;
    let lines = shopstream_parse::facts_to_json_lines(&parsed);
    if a.json {
        for line in &lines {
            println!("{}", serde_json::to_string(line)?);
        }
    } else {
        println!(
            "{} ({} v{}): {} product(s), {} rank(s)",
            a.file,
            parser.name(),
            parser.version(),
            parsed.products.len(),
            parsed.ranks.len()
        );
        for line in &lines {
            println!("{}", serde_json::to_string_pretty(line)?);
        }
    }
    Ok(())
}

/// Fetch one URL the way the extractor does; the body of a 2xx answer.
async fn fetch_once(url: &str, rules: &shopstream_extractors::http::SourceFetch) -> anyhow::Result<Vec<u8>> {
    use shopstream_extractors::http::fetch::{self, Fetched};
    let parsed = url::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
    let client = fetch::client(rules).map_err(anyhow::Error::msg)?;
    match fetch::fetch(&client, &parsed, rules).await {
        Fetched::Response { response, .. } if (200..300).contains(&response.status) => Ok(response.body),
        Fetched::Response { response, .. } => {
            anyhow::bail!("{url} answered {}", fetch::status_text(response.status))
        }
        Fetched::Failed { error, attempts, .. } => anyhow::bail!("cannot fetch {url} ({attempts} attempts): {error}"),
        Fetched::Refused { reason } => anyhow::bail!(
            "refused to fetch {url}: {reason} (a local URL needs --allow-private-network, or a source that allows it)"
        ),
    }
}

fn price_json(
    text: &str,
    hint: Option<&str>,
    sep: Option<char>,
    default_currency: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let hints = shopstream_normalize::PriceHints { currency_hint: hint, decimal_separator: sep, default_currency };
    Ok(match shopstream_normalize::parse_price(text, &hints)? {
        Some(p) => serde_json::json!({
            "amount": p.amount.to_string(),
            "currency": p.currency,
            "minor_units": p.minor_units,
            "currency_raw": p.currency_raw,
            "currency_ambiguous": p.currency_ambiguous,
            "per_unit": p.per_unit,
        }),
        None => serde_json::json!({"amount": null, "currency": null, "minor_units": null}),
    })
}

fn normalize_price(a: PriceArgs) -> anyhow::Result<()> {
    if a.stdin {
        use std::io::BufRead;
        #[derive(serde::Deserialize)]
        struct Line {
            raw: String,
            #[serde(default)]
            currency_hint: Option<String>,
            #[serde(default)]
            decimal_separator: Option<String>,
        }
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let l: Line = serde_json::from_str(&line)
                .with_context(|| format!("line {}: not a JSON object with \"raw\"", i + 1))?;
            let sep = l.decimal_separator.as_deref().and_then(|s| s.chars().next());
            let v = price_json(&l.raw, l.currency_hint.as_deref(), sep, a.default_currency.as_deref())
                .with_context(|| format!("line {}", i + 1))?;
            println!("{v}");
        }
        return Ok(());
    }
    let text = a.text.unwrap_or_default();
    let v = price_json(&text, a.currency_hint.as_deref(), a.decimal_separator, a.default_currency.as_deref())?;
    if a.json {
        println!("{v}");
    } else {
        match (&v["amount"], &v["currency"], &v["minor_units"]) {
            (serde_json::Value::Null, _, _) => {
                let hints = shopstream_normalize::PriceHints {
                    currency_hint: a.currency_hint.as_deref(),
                    decimal_separator: a.decimal_separator,
                    default_currency: a.default_currency.as_deref(),
                };
                match shopstream_normalize::detect_currency(&text, &hints)? {
                    Some(d) => println!(
                        "no price in {text:?} (it names the currency {:?}: {})",
                        d.currency_raw,
                        d.currency.as_deref().unwrap_or("no ISO code")
                    ),
                    None => println!("no price in {text:?}"),
                }
            }
            (amount, currency, minor) => {
                println!(
                    "{} {} ({} minor units)",
                    amount.as_str().unwrap_or_default(),
                    currency.as_str().unwrap_or("(unknown currency)"),
                    minor
                );
                if v["currency_ambiguous"] == serde_json::Value::Bool(true) {
                    println!(
                        "ambiguous: {:?} names several currencies; {} is a guess (pass --currency-hint or \
                         --default-currency)",
                        v["currency_raw"].as_str().unwrap_or_default(),
                        currency.as_str().unwrap_or_default()
                    );
                }
                if v["per_unit"] == serde_json::Value::Bool(true) {
                    println!("per-unit price (a price per measure, not the product's price)");
                }
            }
        }
    }
    Ok(())
}
