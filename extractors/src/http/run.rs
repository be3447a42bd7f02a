//! The extractor's run loop: consume crawl requests, fetch with per-host limits, publish, store offsets.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Jitter, Quota, RateLimiter};
use reqwest::Client;
use scraper::Selector;
use shopstream_core::dlq::{Failure, Origin};
use shopstream_core::ids::{sha256_hex, stable_id};
use shopstream_core::kafka::{Producer, TrackedConsumer};
use shopstream_core::metrics::Metrics;
use shopstream_core::worker::{self, DeadLetters, Outcome, PublishError, Stop};
use shopstream_core::{now_ms, Codec, Endpoints, ErrorClass, Topics};
use shopstream_schemas::{CrawlRequest, FetchObserved, RawPage};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::api::ApiRuntime;
use super::config::{ExtractConfig, HostRate, SourceFetch};
use super::crawl_memory::CrawlMemory;
use super::fetch::{self, retriable_status, status_text, Fetched};
use super::links;
use super::robots::{Robots, Verdict};

const STAGE: &str = "extract";

struct Source {
    rules: SourceFetch,
    client: Client,
    follow: Vec<Selector>,
    /// Requests so far: which of `rules.user_agents` the next one uses.
    requests: std::sync::atomic::AtomicUsize,
}

impl Source {
    /// The user agent of the next request when the source rotates several (else the client's own).
    fn next_user_agent(&self) -> Option<String> {
        let agents = &self.rules.user_agents;
        if agents.is_empty() {
            return None;
        }
        let n = self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(agents[n % agents.len()].clone())
    }
}

struct Ctx {
    sources: HashMap<String, Source>,
    producer: Producer,
    codec: Codec,
    topics: Topics,
    memory: CrawlMemory,
    api: ApiRuntime,
    robots: Robots,
    metrics: Metrics,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Per host: its request rate (from the first source that reached it, like its slots).
    rates: Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>,
    shutdown: CancellationToken,
}

/// A record to send: (topic, key, encoded value).
type Out = (String, Vec<u8>, Vec<u8>);

impl Ctx {
    fn host_slot(&self, host: &str, per_host: usize) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.entry(host.to_string()).or_insert_with(|| Arc::new(Semaphore::new(per_host))).clone()
    }

    fn host_rate(&self, host: &str, rate: &HostRate) -> Arc<DefaultDirectRateLimiter> {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        rates
            .entry(host.to_string())
            .or_insert_with(|| {
                let period = Duration::from_secs_f64(1.0 / rate.per_second);
                let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
                Arc::new(RateLimiter::direct(quota.allow_burst(burst)))
            })
            .clone()
    }

    /// Encode for `topic`; a registry outage is waited out, and shutdown leaves the record (never a
    /// dead letter for an outage).
    async fn encode<T: shopstream_schemas::Contract>(&self, topic: &str, key: Vec<u8>, item: &T) -> Result<Out, Stop> {
        match worker::encode_until(&self.codec, topic, item, &self.shutdown).await {
            Ok(Some(bytes)) => Ok((topic.to_string(), key, bytes)),
            Ok(None) => Err(Stop::Interrupted),
            Err(e) => Err(Stop::Failed(failure(e.class(), format!("cannot encode for {topic}: {e}"), None))),
        }
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
        sources.insert(name.clone(), Source { rules: rules.clone(), client, follow, requests: Default::default() });
    }
    let names: Vec<&str> = cfg.sources.keys().map(String::as_str).collect();
    let accounts = shopstream_core::api::Accounts::from_env(&names)?;
    let api = ApiRuntime::new(cfg.apis.clone().into_iter().collect(), accounts, metrics.clone());
    let crawl_topics = topics.crawl_topics();
    let producer = Producer::new(&endpoints.kafka_brokers)?;
    let codec = Codec::new(&endpoints.schema_registry_url).reporting_to(&metrics);
    let consumer = Arc::new(TrackedConsumer::new(&endpoints.kafka_brokers, &cfg.group, &crawl_topics)?);
    let dead_letters =
        DeadLetters { producer: producer.clone(), codec: codec.clone(), topic: topics.dlq_extract.clone() };
    let ctx = Arc::new(Ctx {
        sources,
        producer,
        codec,
        topics: topics.clone(),
        memory: CrawlMemory::new(cfg.crawl_memory_bytes),
        api,
        robots: Robots::new(),
        metrics: metrics.clone(),
        hosts: Mutex::new(HashMap::new()),
        rates: Mutex::new(HashMap::new()),
        shutdown: shutdown.clone(),
    });
    tracing::info!(group = %cfg.group, sources = ctx.sources.len(), "The extractor is running.");
    worker::consume(STAGE, consumer, cfg.concurrency, dead_letters, metrics, shutdown, move |origin| {
        let ctx = ctx.clone();
        async move { process(&ctx, &origin).await }
    })
    .await
}

/// One crawl request: decode, claim the URL for this crawl, fetch, publish. A claim is kept only when
/// the fetch's effects were published and the record is not dead-lettered, so a later request for the
/// URL in the same crawl fetches it again after a failure, a refusal or an interruption.
async fn process(ctx: &Ctx, origin: &Origin) -> Outcome {
    let req: CrawlRequest = match worker::decode_until(&ctx.codec, &origin.payload, &ctx.shutdown).await {
        Ok(Some(r)) => r,
        Ok(None) => return Outcome::Interrupted,
        Err(e) => return Outcome::Failed(failure(e.class(), format!("not a crawl request: {e}"), None)),
    };
    let Some(source) = ctx.sources.get(&req.source) else {
        return Outcome::Failed(failure(
            ErrorClass::Config,
            format!("no source named {:?} is configured", req.source),
            Some(&req.source),
        ));
    };
    let url = match Url::parse(&req.url) {
        Ok(u) => u,
        Err(e) => {
            let reason = format!("invalid URL {:?}: {e}", req.url);
            return Outcome::Failed(failure(ErrorClass::BadData, reason, Some(&req.source)));
        }
    };
    if !ctx.memory.claim_fetch(&req.crawl_id, url.as_str()) {
        return Outcome::Done("duplicate");
    }
    ctx.metrics.set("crawl_memory_bytes", &[("stage", STAGE)], ctx.memory.bytes() as i64);
    let mut links_claimed = Vec::new();
    let outcome = match fetch_and_publish(ctx, &req, source, &url, &mut links_claimed).await {
        Ok(Settled::Done(label)) => return Outcome::Done(label),
        Ok(Settled::Failed(f)) => Outcome::Failed(f),
        Err(stop) => stop.into(),
    };
    ctx.memory.release(&req.crawl_id, url.as_str());
    for link in &links_claimed {
        ctx.memory.release(&req.crawl_id, link);
    }
    outcome
}

/// What a fetch came to, once its records are published.
enum Settled {
    /// Done, with the outcome label `records_out` counts it under.
    Done(&'static str),
    /// Dead-letter the request (its fetch event was published all the same).
    Failed(Failure),
}

/// Fetch under the host's slot and publish everything the fetch caused, in one acknowledged batch.
async fn fetch_and_publish(
    ctx: &Ctx,
    req: &CrawlRequest,
    source: &Source,
    url: &Url,
    links_claimed: &mut Vec<String>,
) -> Result<Settled, Stop> {
    let host = url.host_str().unwrap_or_default().to_string();
    let fetched = if is_api(req) {
        // Seller APIs: the request's rate budget admits each attempt, the account's credentials sign it.
        tokio::select! {
            f = ctx.api.fetch(req, url, &source.client, &source.rules) => f,
            _ = ctx.shutdown.cancelled() => return Err(Stop::Interrupted),
        }
    } else {
        let mut crawl_delay = None;
        if source.rules.obey_robots {
            let verdict = tokio::select! {
                v = ctx.robots.check(&source.client, &source.rules, url) => v,
                _ = ctx.shutdown.cancelled() => return Err(Stop::Interrupted),
            };
            let unavailable = match verdict {
                Verdict::Allowed { delay } => {
                    crawl_delay = delay;
                    None
                }
                Verdict::Disallowed => Some(None),
                Verdict::Unavailable(reason) => Some(Some(reason)),
            };
            if let Some(unavailable) = unavailable {
                let facts = FetchFacts::new(req, url, host);
                let (settled, out) = settle_robots(ctx, req, &facts, unavailable).await?;
                return publish(ctx, req, url, settled, &out).await;
            }
        }
        let slot = ctx.host_slot(&host, source.rules.per_host_concurrency);
        let _permit = tokio::select! {
            p = slot.acquire_owned() => p.map_err(|_| Stop::Interrupted)?,
            _ = ctx.shutdown.cancelled() => return Err(Stop::Interrupted),
        };
        if let Some(delay) = crawl_delay {
            tokio::select! {
                _ = ctx.robots.pace(&host, delay) => {}
                _ = ctx.shutdown.cancelled() => return Err(Stop::Interrupted),
            }
        }
        // Every attempt waits for the host's rate and a random jitter; the request says the next user agent.
        let limiter = source.rules.rate.as_ref().map(|r| ctx.host_rate(&host, r));
        let jitter_ms = source.rules.jitter_ms;
        let jitter = Jitter::up_to(Duration::from_millis(jitter_ms));
        let user_agent = source.next_user_agent();
        let f = fetch::fetch_with(url, &source.rules, &mut || {
            let (limiter, user_agent, request) = (limiter.clone(), user_agent.clone(), source.client.get(url.clone()));
            async move {
                match &limiter {
                    Some(l) => l.until_ready_with_jitter(jitter).await,
                    None if jitter_ms > 0 => tokio::time::sleep(jitter + Duration::ZERO).await,
                    None => {}
                }
                Ok(match user_agent {
                    Some(ua) => request.header(reqwest::header::USER_AGENT, ua),
                    None => request,
                })
            }
        })
        .await;
        if source.rules.per_host_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(source.rules.per_host_delay_ms)).await;
        }
        f
    };
    record_fetch(&ctx.metrics, &host, &fetched);
    let facts = FetchFacts::new(req, url, host);
    let (settled, out) = settle(ctx, req, source, &facts, fetched, links_claimed).await?;
    publish(ctx, req, url, settled, &out).await
}

/// Publish a request's records in one acknowledged batch; then the request is settled.
async fn publish(ctx: &Ctx, req: &CrawlRequest, url: &Url, settled: Settled, out: &[Out]) -> Result<Settled, Stop> {
    match worker::publish_all(&ctx.producer, out, &ctx.shutdown).await {
        Ok(()) => Ok(settled),
        Err(PublishError::Interrupted) => Err(Stop::Interrupted),
        Err(PublishError::Rejected(reason)) => {
            Err(Stop::Failed(failure(ErrorClass::BadData, format!("{url}: {reason}"), Some(&req.source))))
        }
    }
}

/// A URL robots.txt keeps us from: disallowed (`unavailable` is `None`) is a recorded outcome, done; an
/// unavailable robots.txt (5xx, 429, network; the reason) is an external failure, dead-lettered for a
/// retry later. Either way, a fetch event.
async fn settle_robots(
    ctx: &Ctx,
    req: &CrawlRequest,
    facts: &FetchFacts,
    unavailable: Option<String>,
) -> Result<(Settled, Vec<Out>), Stop> {
    let host_key = facts.host.as_bytes().to_vec();
    let (outcome, error, settled) = match unavailable {
        None => ("disallowed", "robots.txt disallows it".to_string(), Settled::Done("disallowed")),
        Some(reason) => {
            let failed = failure(ErrorClass::External, format!("{}: {reason}", facts.url), Some(&req.source));
            ("robots_unavailable", reason, Settled::Failed(failed))
        }
    };
    let ev = with_outcome(facts.event(req, 0, Duration::ZERO, 0, 0), outcome, Some(error));
    Ok((settled, vec![ctx.encode(&ctx.topics.fetches, host_key, &ev).await?]))
}

/// A request signed with an account's credentials: an endpoint of an `[api]` source, or a tracked search
/// of a source whose track rules name an account.
fn is_api(req: &CrawlRequest) -> bool {
    req.kind == "api" && req.attributes.contains_key(shopstream_core::api::attr::ACCOUNT)
}

/// Per-host latency histogram and status counts (classes, so the label set stays bounded per host).
fn record_fetch(metrics: &Metrics, host: &str, fetched: &Fetched) {
    let (class, latency) = match fetched {
        Fetched::Refused { .. } => ("refused", None),
        Fetched::Failed { latency, .. } => ("error", Some(*latency)),
        Fetched::Response { response, .. } => {
            let class = match response.status {
                200..=299 => "2xx",
                300..=399 => "3xx",
                400..=499 => "4xx",
                _ => "5xx",
            };
            (class, Some(response.latency))
        }
    };
    metrics.add("fetch_status", &[("host", host), ("class", class)], 1);
    if let Some(l) = latency {
        metrics.observe("fetch_latency_seconds", &[("host", host)], l.as_secs_f64());
    }
}

/// The identity of one fetch, shared by its fetch event and raw record.
struct FetchFacts {
    fetch_id: String,
    fetched_at: i64,
    host: String,
    url: String,
}

impl FetchFacts {
    fn new(req: &CrawlRequest, url: &Url, host: String) -> FetchFacts {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        FetchFacts {
            fetch_id: stable_id(&[&req.crawl_id, url.as_str(), &nanos.to_string()]),
            fetched_at: now_ms(),
            host,
            url: url.to_string(),
        }
    }

    fn event(&self, req: &CrawlRequest, status: i32, latency: Duration, bytes: i64, attempts: u32) -> FetchObserved {
        FetchObserved {
            fetch_id: self.fetch_id.clone(),
            crawl_id: req.crawl_id.clone(),
            source: req.source.clone(),
            url: self.url.clone(),
            host: self.host.clone(),
            fetched_at: self.fetched_at,
            status,
            latency_ms: latency.as_millis() as i64,
            bytes,
            attempts: attempts as i32,
            outcome: String::new(),
            error: None,
            discovered: 0,
        }
    }
}

/// A fetch event with its outcome and error.
fn with_outcome(mut ev: FetchObserved, outcome: &str, error: Option<String>) -> FetchObserved {
    ev.outcome = outcome.to_string();
    ev.error = error;
    ev
}

/// Turn a fetch result into the records it causes (fetch event, raw page, discovered links) and its
/// settlement.
async fn settle(
    ctx: &Ctx,
    req: &CrawlRequest,
    source: &Source,
    facts: &FetchFacts,
    fetched: Fetched,
    links_claimed: &mut Vec<String>,
) -> Result<(Settled, Vec<Out>), Stop> {
    let host_key = facts.host.as_bytes().to_vec();
    let url = &facts.url;
    let failed = |class: ErrorClass, reason: String| Settled::Failed(failure(class, reason, Some(&req.source)));
    match fetched {
        Fetched::Refused { reason } => {
            let ev = with_outcome(facts.event(req, 0, Duration::ZERO, 0, 0), "refused", Some(reason.clone()));
            let out = vec![ctx.encode(&ctx.topics.fetches, host_key, &ev).await?];
            Ok((failed(ErrorClass::Config, format!("refused {url}: {reason}")), out))
        }
        Fetched::Failed { error, attempts, latency, too_large } => {
            // A body over the cap is the page's doing: bad data, not retried; anything else is the network's.
            let (outcome, class) =
                if too_large { ("too_large", ErrorClass::BadData) } else { ("network_error", ErrorClass::External) };
            let ev = with_outcome(facts.event(req, 0, latency, 0, attempts), outcome, Some(error.clone()));
            let out = vec![ctx.encode(&ctx.topics.fetches, host_key, &ev).await?];
            let reason = format!("fetching {url} failed after {attempts} attempts: {error}");
            Ok((failed(class, reason), out))
        }
        Fetched::Response { response, attempts } => {
            let ok = (200..300).contains(&response.status);
            match (ok, is_api(req)) {
                (true, true) => settle_api_page(ctx, req, facts, &response, attempts).await,
                (true, false) => settle_page(ctx, req, source, facts, &response, attempts, links_claimed).await,
                (false, _) => settle_error_status(ctx, req, facts, &response, attempts).await,
            }
        }
    }
}

/// An API page: its fetch event, the request for the next page (a request of its own, so pages spread
/// over workers and survive a crash) and its raw record.
async fn settle_api_page(
    ctx: &Ctx,
    req: &CrawlRequest,
    facts: &FetchFacts,
    response: &fetch::Response,
    attempts: u32,
) -> Result<(Settled, Vec<Out>), Stop> {
    let url = &facts.url;
    let parsed =
        Url::parse(url).map_err(|e| Stop::Failed(failure(ErrorClass::Bug, e.to_string(), Some(&req.source))))?;
    let (next, settled) = match ctx.api.next_request(req, &parsed, response) {
        Ok(next) => (next, Settled::Done("ok")),
        Err(e) => (None, Settled::Failed(failure(ErrorClass::BadData, format!("{url}: {e}"), Some(&req.source)))),
    };
    let (status, bytes) = (i32::from(response.status), response.body.len() as i64);
    let mut ev = with_outcome(facts.event(req, status, response.latency, bytes, attempts), "ok", None);
    ev.discovered = i32::from(next.is_some());
    let mut out = vec![ctx.encode(&ctx.topics.fetches, facts.host.as_bytes().to_vec(), &ev).await?];
    if let Some(next) = next {
        let topic = ctx.topics.crawl_for(&req.priority).unwrap_or(&ctx.topics.crawl_normal).to_string();
        let key = ctx.api.key(&next).unwrap_or_else(|| facts.host.as_bytes().to_vec());
        out.push(ctx.encode(&topic, key, &next).await?);
    }
    out.push(raw_record(ctx, req, facts, response, &ctx.topics.raw_api).await?);
    Ok((settled, out))
}

/// A page: its fetch event, the links it leads to and its raw record.
async fn settle_page(
    ctx: &Ctx,
    req: &CrawlRequest,
    source: &Source,
    facts: &FetchFacts,
    response: &fetch::Response,
    attempts: u32,
    links_claimed: &mut Vec<String>,
) -> Result<(Settled, Vec<Out>), Stop> {
    let links = discovered(ctx, req, source, response, links_claimed).await?;
    let (status, bytes) = (i32::from(response.status), response.body.len() as i64);
    let mut ev = with_outcome(facts.event(req, status, response.latency, bytes, attempts), "ok", None);
    ev.discovered = i32::try_from(links.len()).unwrap_or(i32::MAX);
    let mut out = vec![ctx.encode(&ctx.topics.fetches, facts.host.as_bytes().to_vec(), &ev).await?];
    out.extend(links);
    let topic = if req.kind == "api" { &ctx.topics.raw_api } else { &ctx.topics.raw_pages };
    out.push(raw_record(ctx, req, facts, response, topic).await?);
    Ok((Settled::Done("ok"), out))
}

/// A non-2xx answer: 304 is a fact (not modified); an API's error and a transient status with its retries
/// spent are dead-lettered with the reason; any other status is a dead link, recorded and done.
async fn settle_error_status(
    ctx: &Ctx,
    req: &CrawlRequest,
    facts: &FetchFacts,
    response: &fetch::Response,
    attempts: u32,
) -> Result<(Settled, Vec<Out>), Stop> {
    let url = &facts.url;
    let (status, latency) = (i32::from(response.status), response.latency);
    let host_key = facts.host.as_bytes().to_vec();
    if response.status == 304 {
        let ev = with_outcome(facts.event(req, 304, latency, 0, attempts), "not_modified", None);
        return Ok((Settled::Done("not_modified"), vec![ctx.encode(&ctx.topics.fetches, host_key, &ev).await?]));
    }
    let text = status_text(response.status);
    let bytes = response.body.len() as i64;
    let ev = with_outcome(facts.event(req, status, latency, bytes, attempts), "http_error", Some(text.clone()));
    let out = vec![ctx.encode(&ctx.topics.fetches, host_key, &ev).await?];
    let settled = if is_api(req) {
        // An API that answers an error is never a dead link (refused credentials are a configuration matter).
        let account = req.attributes.get(shopstream_core::api::attr::ACCOUNT).cloned().unwrap_or_default();
        let (class, reason) = match response.status {
            401 | 403 => {
                (ErrorClass::Config, format!("{url}: {text}: the API refused the credentials of account {account}"))
            }
            _ => (ErrorClass::External, format!("{url}: {text} after {attempts} attempts (account {account})")),
        };
        Settled::Failed(failure(class, reason, Some(&req.source)))
    } else if retriable_status(response.status) {
        // Retries are spent: a transient failure becomes a dead letter, replayable later.
        let reason = format!("{url}: {text} after {attempts} attempts");
        Settled::Failed(failure(ErrorClass::External, reason, Some(&req.source)))
    } else {
        // A dead link (404, 410, 403): a recorded fact, not an error that stops anything.
        Settled::Done("http_error")
    };
    Ok((settled, out))
}

/// The raw record of a response, for `topic`, keyed by source and URL.
async fn raw_record(
    ctx: &Ctx,
    req: &CrawlRequest,
    facts: &FetchFacts,
    response: &fetch::Response,
    topic: &str,
) -> Result<Out, Stop> {
    let raw = raw_page(req, &facts.fetch_id, facts.fetched_at, response)
        .map_err(|e| Stop::Failed(failure(ErrorClass::Bug, e, Some(&req.source))))?;
    let key = format!("{}:{}", req.source, &sha256_hex(facts.url.as_bytes())[..16]).into_bytes();
    ctx.encode(topic, key, &raw).await
}

/// Crawl requests for the links on a page, each at most once per crawl; the links claimed are pushed
/// to `claimed` so that they can be released if the page's records are not published.
async fn discovered(
    ctx: &Ctx,
    req: &CrawlRequest,
    source: &Source,
    response: &fetch::Response,
    claimed: &mut Vec<String>,
) -> Result<Vec<Out>, Stop> {
    let is_html = response.content_type.as_deref().is_none_or(|c| c.contains("html"));
    if source.follow.is_empty() || !is_html || req.depth as u32 >= source.rules.max_depth {
        return Ok(Vec::new());
    }
    let Ok(page) = Url::parse(&response.final_url) else { return Ok(Vec::new()) };
    let html = String::from_utf8_lossy(&response.body).into_owned();
    let selectors = source.follow.clone();
    let found = tokio::task::spawn_blocking(move || links::discover(&html, &page, &selectors)).await.map_err(|e| {
        Stop::Failed(failure(ErrorClass::Bug, format!("link discovery panicked: {e}"), Some(&req.source)))
    })?;
    let topic = ctx.topics.crawl_for(&req.priority).unwrap_or(&ctx.topics.crawl_normal).to_string();
    let mut out = Vec::new();
    for link in found {
        if !ctx.memory.claim_enqueue(&req.crawl_id, link.as_str()) {
            continue;
        }
        claimed.push(link.to_string());
        let next = CrawlRequest {
            crawl_id: req.crawl_id.clone(),
            source: req.source.clone(),
            url: link.to_string(),
            kind: "link".into(),
            depth: req.depth + 1,
            priority: req.priority.clone(),
            requested_at: now_ms(),
            referrer: Some(req.url.clone()),
            // A link is a request of its own: the page's purpose (a tracked run's page) is not inherited.
            attributes: Default::default(),
        };
        let key = link.host_str().unwrap_or_default().as_bytes().to_vec();
        out.push(ctx.encode(&topic, key, &next).await?);
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
        attributes: req.attributes.clone(),
    })
}
