//! `shopstream`: the one binary. Each stage runs alone (its own consumer group, so several processes
//! share the work) or all together with `run`. Endpoints come from flags or the environment.

mod chart;
mod collect;
mod config;
mod crawl;
mod normalize;
mod parse;
mod replay;
mod report;
mod runs;
mod scale_advice;
mod schedule;
mod stages;
mod status;
mod track;

use std::net::SocketAddr;
use std::path::PathBuf;

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
    Crawl(crawl::CrawlArgs),
    /// Run the extract stage: fetch crawl requests, publish raw pages.
    Extract(stages::StageArgs),
    /// Run the transform stage: parse raw pages into Avro events.
    Transform(stages::StageArgs),
    /// Run the load stage: upsert events into ClickHouse.
    Load(stages::LoadArgs),
    /// Run extract, transform and load in one process.
    Run(stages::RunArgs),
    /// Reprocess a range of a raw or events topic (by time or offsets) in consumer groups of its own
    /// (--group-prefix), then exit; ClickHouse converges.
    Replay(replay::ReplayArgs),
    /// Wait until every stage's consumer group has caught up (no lag), then exit.
    WaitIdle(crawl::WaitIdleArgs),
    /// Print a short ClickHouse report of what was loaded.
    Report,
    /// A live view of the pipeline (stages' lag, members and rates, dead letters, runs in flight, the
    /// latest summaries, topic sizes); `--once` prints one view, `--json` one JSON document.
    Status(status::StatusArgs),
    /// Parse one saved page or payload offline and print the normalized facts.
    Parse(parse::ParseArgs),
    /// Normalize values (prices) the way the transform stage does.
    Normalize(normalize::NormalizeArgs),
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
        Command::Crawl(a) => crawl::crawl(&g, a).await?,
        Command::Extract(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            stages::extract(&g, &a, metrics, shutdown).await?;
        }
        Command::Transform(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            stages::transform(&g, &a, metrics, shutdown).await?;
        }
        Command::Load(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            stages::load(&g, &a, metrics, shutdown).await?;
        }
        Command::Run(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            stages::run_all(&g, &a, metrics, shutdown).await?;
        }
        Command::Replay(a) => {
            let (metrics, shutdown) = (Metrics::new(), shutdown_on_signals());
            start_metrics(&g, &metrics, &shutdown);
            ensure_topics(&g).await?;
            replay::run(&g, a, metrics, shutdown).await?;
        }
        Command::WaitIdle(a) => crawl::wait_idle(&g, a).await?,
        Command::Status(a) => status::run(&g, a).await?,
        Command::Report => report::print(&g.clickhouse_url, &g.clickhouse_database).await?,
        Command::Chart(a) => chart::run(&g.clickhouse_url, &g.clickhouse_database, a).await?,
        Command::Runs(a) => runs::run(&g.clickhouse_url, &g.clickhouse_database, a).await?,
        Command::Parse(a) => parse::parse_file(&g, a).await?,
        Command::Normalize(a) => match a.what {
            normalize::NormalizeWhat::Price(p) => normalize::normalize_price(p)?,
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

async fn ensure_topics(g: &Global) -> anyhow::Result<()> {
    let partitions: i32 = std::env::var("SHOPSTREAM_PARTITIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    shopstream_core::kafka::ensure_pipeline_topics(&g.brokers, &g.topics(), partitions)
        .await
        .context("cannot create or check the topics")
}
