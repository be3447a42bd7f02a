//! The extractor's run loop: consume crawl requests, fetch with per-host limits, publish, store offsets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Client;
use scraper::Selector;
use shopstream_core::dlq::{Failure, Origin};
use shopstream_core::ids::{sha256_hex, stable_id};
use shopstream_core::kafka::{Producer, TrackedConsumer};
use shopstream_core::metrics::Metrics;
use shopstream_core::worker::{self, DeadLetters, Outcome};
use shopstream_core::{now_ms, Codec, Endpoints, ErrorClass, Topics};
use shopstream_schemas::{CrawlRequest, FetchObserved, RawPage};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::config::{ExtractConfig, SourceFetch};
use super::crawl_memory::CrawlMemory;
use super::fetch::{self, retriable_status, status_text, Fetched};
use super::links;

const STAGE: &str = "extract";

struct Source {
    rules: SourceFetch,
    client: Client,
    follow: Vec<Selector>,
}

struct Ctx {
    sources: HashMap<String, Source>,
    producer: Producer,
    codec: Codec,
    topics: Topics,
    memory: CrawlMemory,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    shutdown: CancellationToken,
}

/// A record to send: (topic, key, encoded value).
type Out = (String, Vec<u8>, Vec<u8>);

impl Ctx {
    fn host_slot(&self, host: &str, per_host: usize) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.entry(host.to_string()).or_insert_with(|| Arc::new(Semaphore::new(per_host))).clone()
    }

    async fn encode<T: shopstream_schemas::Contract>(
        &self,
        topic: &str,
        key: Vec<u8>,
        item: &T,
    ) -> Result<Out, Failure> {
        worker::encode_until(&self.codec, topic, item, &self.shutdown)
            .await
            .map(|bytes| (topic.to_string(), key, bytes))
            .map_err(|e| failure(e.class(), format!("cannot encode for {topic}: {e}"), None))
    }
}

fn failure(class: ErrorClass, reason: String, source: Option<&str>) -> Failure {
    Failure { stage: STAGE, reason, class, source: source.map(str::to_string), parser: None }
}

/// Run the extractor until `shutdown`.
pub async fn run(
    cfg: ExtractConfig,
    endpoints: &Endpoints,
    topics: &Topics,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if let Err(problems) = cfg.validate() {
        anyhow::bail!("invalid extractor configuration:\n  {}", problems.join("\n  "));
    }
    let mut sources = HashMap::new();
    for (name, rules) in &cfg.sources {
        let client = fetch::client(rules).map_err(anyhow::Error::msg)?;
        let follow = rules
            .follow
            .iter()
            .map(|s| Selector::parse(s).map_err(|e| anyhow::anyhow!("sources.{name}.follow: {s:?}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        sources.insert(name.clone(), Source { rules: rules.clone(), client, follow });
    }
    let crawl_topics = topics.crawl_topics();
    let producer = Producer::new(&endpoints.kafka_brokers)?;
    let codec = Codec::new(&endpoints.schema_registry_url);
    let consumer = Arc::new(TrackedConsumer::new(&endpoints.kafka_brokers, &cfg.group, &crawl_topics)?);
    let dead_letters =
        DeadLetters { producer: producer.clone(), codec: codec.clone(), topic: topics.dlq_extract.clone() };
    let ctx = Arc::new(Ctx {
        sources,
        producer,
        codec,
        topics: topics.clone(),
        memory: CrawlMemory::new(64),
        hosts: Mutex::new(HashMap::new()),
        shutdown: shutdown.clone(),
    });
    tracing::info!(group = %cfg.group, sources = ctx.sources.len(), "The extractor is running.");
    worker::consume(STAGE, consumer, cfg.concurrency, dead_letters, metrics, shutdown, move |origin| {
        let ctx = ctx.clone();
        async move {
            match process(&ctx, &origin).await {
                Ok(label) => Outcome::Done(label),
                Err(Some(f)) => Outcome::Failed(f),
                Err(None) => Outcome::Interrupted,
            }
        }
    })
    .await
}

/// Ok(outcome label) when done; Err(Some) to dead-letter; Err(None) when interrupted by shutdown.
async fn process(ctx: &Ctx, origin: &Origin) -> Result<&'static str, Option<Failure>> {
    let req: CrawlRequest = match worker::decode_until(&ctx.codec, &origin.payload, &ctx.shutdown).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(None),
        Err(e) => return Err(Some(failure(e.class(), format!("not a crawl request: {e}"), None))),
    };
    let Some(source) = ctx.sources.get(&req.source) else {
        return Err(Some(failure(
            ErrorClass::Config,
            format!("no source named {:?} is configured", req.source),
            Some(&req.source),
        )));
    };
    let url = Url::parse(&req.url).map_err(|e| {
        Some(failure(ErrorClass::BadData, format!("invalid URL {:?}: {e}", req.url), Some(&req.source)))
    })?;
    let host = url.host_str().unwrap_or_default().to_string();
    if !ctx.memory.claim_fetch(&req.crawl_id, url.as_str()) {
        return Ok("duplicate");
    }
    let slot = ctx.host_slot(&host, source.rules.per_host_concurrency);
    let fetched = {
        let _permit = tokio::select! {
            p = slot.acquire_owned() => p.map_err(|_| None)?,
            _ = ctx.shutdown.cancelled() => { ctx.memory.release(&req.crawl_id, url.as_str()); return Err(None) }
        };
        let f = fetch::fetch(&source.client, &url, &source.rules).await;
        if source.rules.per_host_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(source.rules.per_host_delay_ms)).await;
        }
        f
    };
    let fetched_at = now_ms();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let fetch_id = stable_id(&[&req.crawl_id, url.as_str(), &nanos.to_string()]);
    let fetch_event =
        |status: i32, latency_ms: i64, bytes: i64, attempts: u32, outcome: &str, error: Option<String>| FetchObserved {
            fetch_id: fetch_id.clone(),
            crawl_id: req.crawl_id.clone(),
            source: req.source.clone(),
            url: url.to_string(),
            host: host.clone(),
            fetched_at,
            status,
            latency_ms,
            bytes,
            attempts: attempts as i32,
            outcome: outcome.to_string(),
            error,
        };
    let host_key = host.as_bytes().to_vec();
    let mut out: Vec<Out> = Vec::new();
    let (label, dead): (&'static str, Option<Failure>) = match fetched {
        Fetched::Refused { reason } => {
            let ev = fetch_event(0, 0, 0, 0, "refused", Some(reason.clone()));
            out.push(ctx.encode(&ctx.topics.fetches, host_key, &ev).await.map_err(Some)?);
            ("refused", Some(failure(ErrorClass::Config, format!("refused {url}: {reason}"), Some(&req.source))))
        }
        Fetched::Failed { error, attempts, latency } => {
            let ev = fetch_event(0, latency.as_millis() as i64, 0, attempts, "network_error", Some(error.clone()));
            out.push(ctx.encode(&ctx.topics.fetches, host_key, &ev).await.map_err(Some)?);
            (
                "network_error",
                Some(failure(
                    ErrorClass::External,
                    format!("fetching {url} failed after {attempts} attempts: {error}"),
                    Some(&req.source),
                )),
            )
        }
        Fetched::Response { response, attempts } => {
            let latency_ms = response.latency.as_millis() as i64;
            let bytes = response.body.len() as i64;
            if (200..300).contains(&response.status) {
                let ev = fetch_event(i32::from(response.status), latency_ms, bytes, attempts, "ok", None);
                out.push(ctx.encode(&ctx.topics.fetches, host_key.clone(), &ev).await.map_err(Some)?);
                out.extend(discovered(ctx, &req, source, &response).await?);
                let raw = raw_page(&req, &fetch_id, fetched_at, &response)
                    .map_err(|e| Some(failure(ErrorClass::Bug, e, Some(&req.source))))?;
                let topic = if req.kind == "api" { &ctx.topics.raw_api } else { &ctx.topics.raw_pages };
                let key = format!("{}:{}", req.source, &sha256_hex(url.as_str().as_bytes())[..16]).into_bytes();
                out.push(ctx.encode(topic, key, &raw).await.map_err(Some)?);
                ("ok", None)
            } else if response.status == 304 {
                let ev = fetch_event(304, latency_ms, 0, attempts, "not_modified", None);
                out.push(ctx.encode(&ctx.topics.fetches, host_key, &ev).await.map_err(Some)?);
                ("not_modified", None)
            } else {
                let text = status_text(response.status);
                let ev = fetch_event(
                    i32::from(response.status),
                    latency_ms,
                    bytes,
                    attempts,
                    "http_error",
                    Some(text.clone()),
                );
                out.push(ctx.encode(&ctx.topics.fetches, host_key, &ev).await.map_err(Some)?);
                if retriable_status(response.status) {
                    // Retries are spent: a transient failure becomes a dead letter, replayable later.
                    (
                        "http_error",
                        Some(failure(
                            ErrorClass::External,
                            format!("{url}: {text} after {attempts} attempts"),
                            Some(&req.source),
                        )),
                    )
                } else {
                    // A dead link (404, 410, 403): a recorded fact, not an error that stops anything.
                    ("http_error", None)
                }
            }
        }
    };
    worker::publish_all(&ctx.producer, &out, &ctx.shutdown).await.map_err(|_| None)?;
    match dead {
        None => Ok(label),
        Some(f) => Err(Some(f)),
    }
}

/// Crawl requests for the links on a page, each at most once per crawl.
async fn discovered(
    ctx: &Ctx,
    req: &CrawlRequest,
    source: &Source,
    response: &fetch::Response,
) -> Result<Vec<Out>, Option<Failure>> {
    let is_html = response.content_type.as_deref().is_none_or(|c| c.contains("html"));
    if source.follow.is_empty() || !is_html || req.depth as u32 >= source.rules.max_depth {
        return Ok(Vec::new());
    }
    let Ok(page) = Url::parse(&response.final_url) else { return Ok(Vec::new()) };
    let html = String::from_utf8_lossy(&response.body).into_owned();
    let selectors = source.follow.clone();
    let found = tokio::task::spawn_blocking(move || links::discover(&html, &page, &selectors))
        .await
        .map_err(|e| Some(failure(ErrorClass::Bug, format!("link discovery panicked: {e}"), Some(&req.source))))?;
    let topic = ctx.topics.crawl_for(&req.priority).unwrap_or(&ctx.topics.crawl_normal).to_string();
    let mut out = Vec::new();
    for link in found {
        if !ctx.memory.claim_enqueue(&req.crawl_id, link.as_str()) {
            continue;
        }
        let next = CrawlRequest {
            crawl_id: req.crawl_id.clone(),
            source: req.source.clone(),
            url: link.to_string(),
            kind: "link".into(),
            depth: req.depth + 1,
            priority: req.priority.clone(),
            requested_at: now_ms(),
            referrer: Some(req.url.clone()),
        };
        let key = link.host_str().unwrap_or_default().as_bytes().to_vec();
        out.push(ctx.encode(&topic, key, &next).await.map_err(Some)?);
    }
    Ok(out)
}

/// The raw record of a response: the body zstd-compressed (raw topics are large and long-lived).
fn raw_page(req: &CrawlRequest, fetch_id: &str, fetched_at: i64, r: &fetch::Response) -> Result<RawPage, String> {
    let compressed = zstd::bulk::compress(&r.body, 3).map_err(|e| format!("zstd: {e}"))?;
    Ok(RawPage {
        fetch_id: fetch_id.to_string(),
        crawl_id: req.crawl_id.clone(),
        source: req.source.clone(),
        url: req.url.clone(),
        final_url: r.final_url.clone(),
        kind: req.kind.clone(),
        depth: req.depth,
        fetched_at,
        status: i32::from(r.status),
        content_type: r.content_type.clone(),
        etag: r.etag.clone(),
        last_modified: r.last_modified.clone(),
        latency_ms: r.latency.as_millis() as i64,
        body_encoding: "zstd".into(),
        body_size: r.body.len() as i64,
        body_sha256: sha256_hex(&r.body),
        body: compressed,
    })
}
