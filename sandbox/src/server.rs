use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::seller::{Seller, SellerStats};
use crate::snapshot::{try_snapshot, Snapshot};
use crate::{SandboxConfig, SandboxError};

const HTML: &str = "text/html; charset=utf-8";
const NOT_FOUND_BODY: &str =
    "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n";

/// A bound sandbox server; [`Sandbox::run`] serves until cancelled.
#[derive(Debug)]
pub struct Sandbox {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    seller: Arc<Seller>,
}

#[derive(Debug)]
struct Shared {
    config: SandboxConfig,
    snapshot: &'static Snapshot,
    robots: Bytes,
    /// Number of fault draws so far: the n-th draw depends only on the seed and n.
    draws: AtomicU64,
    stats: Arc<Stats>,
    /// The simulated day of the search API.
    search_day: AtomicU32,
    /// The faults that `/_sandbox/faults` changes while serving (a storm on, then off).
    live: std::sync::RwLock<LiveFaults>,
}

/// Faults that can be switched while the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LiveFaults {
    latency_ms: u64,
    error_rate: f64,
    rate_429: f64,
    robots_status: u16,
}

impl LiveFaults {
    /// `latency_ms=N&error_rate=F&rate_429=F&robots_status=S` (any of them) applied to `self`.
    fn with_query(mut self, query: &str) -> Result<LiveFaults, String> {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let rate = |v: &str| v.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r));
            match k.as_ref() {
                "latency_ms" => self.latency_ms = v.parse().map_err(|_| format!("latency_ms={v}: not a number"))?,
                "error_rate" => self.error_rate = rate(&v).ok_or(format!("error_rate={v}: not in 0..1"))?,
                "rate_429" => self.rate_429 = rate(&v).ok_or(format!("rate_429={v}: not in 0..1"))?,
                "robots_status" => {
                    self.robots_status = v
                        .parse()
                        .ok()
                        .filter(|s| StatusCode::from_u16(*s).is_ok())
                        .ok_or(format!("robots_status={v}: not an HTTP status"))?
                }
                other => {
                    return Err(format!("unknown fault {other:?} (latency_ms, error_rate, rate_429, robots_status)"))
                }
            }
        }
        if self.error_rate + self.rate_429 > 1.0 {
            return Err("error_rate + rate_429 is over 1".into());
        }
        Ok(self)
    }
}

/// Counters of what the sandbox answered, live; read them with [`Stats::snapshot`].
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    ok: AtomicU64,
    not_modified: AtomicU64,
    not_found: AtomicU64,
    service_unavailable: AtomicU64,
    too_many_requests: AtomicU64,
    truncated: AtomicU64,
    oversized: AtomicU64,
    robots: AtomicU64,
    disallowed: AtomicU64,
    /// Arrival (ms since the epoch) and user agent of every request but robots.txt and `/_sandbox/`:
    /// what a crawler's rate and user-agent rotation are checked against.
    visits: std::sync::Mutex<Vec<Visit>>,
}

/// One request as it arrived.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Visit {
    pub at_ms: i64,
    pub user_agent: String,
}

/// A copy of [`Stats`] at one moment (`GET /_sandbox/stats` answers it as JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    /// Every request received, robots.txt included.
    pub requests: u64,
    /// Pages answered 200 (truncated and oversized ones included).
    pub ok: u64,
    /// Answered 304 Not Modified.
    pub not_modified: u64,
    /// Answered 404 (unknown paths, dead links).
    pub not_found: u64,
    /// Answered 503 by the `error_rate` fault.
    pub service_unavailable: u64,
    /// Answered 429 by the `rate_429` fault.
    pub too_many_requests: u64,
    /// 200s whose body was truncated.
    pub truncated: u64,
    /// 200s whose body was padded to `oversize_bytes`.
    pub oversized: u64,
    /// Requests for `/robots.txt`.
    pub robots: u64,
    /// Requests for paths robots.txt disallows (a polite crawler makes none).
    pub disallowed: u64,
}

impl Stats {
    /// The counters now.
    /// Every request so far but robots.txt and `/_sandbox/`, in arrival order.
    pub fn visits(&self) -> Vec<Visit> {
        self.visits.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            requests: get(&self.requests),
            ok: get(&self.ok),
            not_modified: get(&self.not_modified),
            not_found: get(&self.not_found),
            service_unavailable: get(&self.service_unavailable),
            too_many_requests: get(&self.too_many_requests),
            truncated: get(&self.truncated),
            oversized: get(&self.oversized),
            robots: get(&self.robots),
            disallowed: get(&self.disallowed),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Sandbox {
    /// Validates the config, unpacks the snapshot (off the async executor) and binds the listening socket.
    pub async fn bind(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        config.validate()?;
        let snapshot = tokio::task::spawn_blocking(try_snapshot)
            .await
            .map_err(|e| SandboxError::Snapshot(format!("unpacking task failed: {e}")))??;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| SandboxError::Bind { addr: config.listen, source })?;
        let local_addr = listener.local_addr().map_err(|source| SandboxError::Bind { addr: config.listen, source })?;
        let robots = robots_txt(&config.faults.robots_disallow, config.faults.robots_crawl_delay);
        let anchor_ms = config.seller.anchor_ms.unwrap_or_else(crate::seller::now_ms);
        let seller = Arc::new(Seller::new(config.seller.clone(), anchor_ms, local_addr));
        Ok(Sandbox { listener, local_addr, seller, shared: Arc::new(Shared::new(config, snapshot, robots)) })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Base URL of the shop at `/`, e.g. `http://127.0.0.1:8000/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Base URL of copy `n` (1-based), e.g. `http://127.0.0.1:8000/shop3/`; not checked against `copies`.
    pub fn shop_url(&self, n: u32) -> String {
        format!("http://{}/shop{n}/", self.local_addr)
    }

    /// Live counters of what was served; take the handle before [`Sandbox::run`] consumes the server.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.shared.stats)
    }

    /// The seller center (`/seller/`): its anchor, statistics and ground truth; take the handle before
    /// [`Sandbox::run`] consumes the server.
    pub fn seller(&self) -> Arc<Seller> {
        Arc::clone(&self.seller)
    }

    /// The end of the seller center's order history (Unix ms), fixed at bind.
    pub fn seller_anchor_ms(&self) -> i64 {
        self.seller.anchor_ms()
    }

    /// What the seller endpoints answered so far.
    pub fn seller_stats(&self) -> SellerStats {
        self.seller.stats()
    }

    /// Base URL of the seller center, e.g. `http://127.0.0.1:8000/seller/`.
    pub fn seller_url(&self) -> String {
        format!("http://{}/seller/", self.local_addr)
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), SandboxError> {
        let config = &self.shared.config;
        tracing::info!(
            url = %self.url(),
            copies = config.copies,
            faults = ?config.faults,
            "The sandbox is serving Books to Scrape ({} pages per shop).",
            self.shared.snapshot.len()
        );
        tracing::info!(
            url = %self.seller_url(),
            accounts = config.seller.accounts,
            anchor_ms = self.seller.anchor_ms(),
            "The sandbox is serving the seller center."
        );
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&self.shared))
            .merge(crate::seller::router(Arc::clone(&self.seller)));
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .map_err(SandboxError::Serve)?;
        tracing::info!("The sandbox has stopped.");
        Ok(())
    }
}

fn robots_txt(disallow: &[String], crawl_delay: Option<f64>) -> Bytes {
    let mut body = String::from("User-agent: *\n");
    if disallow.is_empty() {
        body.push_str("Disallow:\n");
    }
    for prefix in disallow {
        body.push_str(&format!("Disallow: {prefix}\n"));
    }
    if let Some(delay) = crawl_delay {
        body.push_str(&format!("Crawl-delay: {delay}\n"));
    }
    Bytes::from(body)
}

/// Where a request path leads.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Robots,
    /// A path inside one shop (starting with '/'), to look up in the snapshot.
    Page(&'a str),
    /// `/shopN` without the trailing slash: relative links only work under `/shopN/`.
    Redirect(String),
}

fn route(path: &str, copies: u32) -> Route<'_> {
    if path == "/robots.txt" {
        return Route::Robots;
    }
    if let Some(rest) = path.strip_prefix("/shop") {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (n, tail) = rest.split_at(digits);
        if !n.starts_with('0') {
            if let Ok(n) = n.parse::<u32>() {
                if (1..=copies).contains(&n) {
                    if tail.is_empty() {
                        return Route::Redirect(format!("/shop{n}/"));
                    }
                    if tail.starts_with('/') {
                        return Route::Page(tail);
                    }
                }
            }
        }
    }
    Route::Page(path)
}

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Unavailable,
    TooManyRequests,
    Truncate,
    Oversize,
}

impl Shared {
    fn new(config: SandboxConfig, snapshot: &'static Snapshot, robots: Bytes) -> Shared {
        let f = &config.faults;
        let live = LiveFaults {
            latency_ms: f.latency_ms,
            error_rate: f.error_rate,
            rate_429: f.rate_429,
            robots_status: f.robots_status,
        };
        Shared {
            snapshot,
            robots,
            draws: AtomicU64::new(0),
            stats: Arc::default(),
            search_day: AtomicU32::new(0),
            live: std::sync::RwLock::new(live),
            config,
        }
    }

    fn live(&self) -> LiveFaults {
        *self.live.read().unwrap_or_else(|p| p.into_inner())
    }

    fn draw(&self) -> Fault {
        let f = &self.config.faults;
        let live = self.live();
        if live.error_rate + live.rate_429 + f.truncate_rate + f.oversize_rate <= 0.0 {
            return Fault::None;
        }
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        let u = unit(f.seed, n);
        let mut edge = live.error_rate;
        if u < edge {
            return Fault::Unavailable;
        }
        edge += live.rate_429;
        if u < edge {
            return Fault::TooManyRequests;
        }
        edge += f.truncate_rate;
        if u < edge {
            return Fault::Truncate;
        }
        edge += f.oversize_rate;
        if u < edge {
            return Fault::Oversize;
        }
        Fault::None
    }
}

/// A uniform number in [0, 1) from (seed, n): SplitMix64, so draws are reproducible without an RNG dependency.
fn unit(seed: u64, n: u64) -> f64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, as RFC 9110 §13.1.2 asks).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    if_none_match.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn with_content_type(content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
}

async fn handle(State(shared): State<Arc<Shared>>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let stats = &shared.stats;
    let faults = &shared.config.faults;
    bump(&stats.requests);
    if uri.path() != "/robots.txt" && !uri.path().starts_with("/_sandbox/") {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        stats.visits.lock().unwrap_or_else(|p| p.into_inner()).push(Visit { at_ms, user_agent });
    }
    let latency_ms = shared.live().latency_ms;
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    if method != Method::GET && method != Method::HEAD {
        let mut headers = with_content_type(HTML);
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return (StatusCode::METHOD_NOT_ALLOWED, headers, "").into_response();
    }
    let path = uri.path();
    let route = route(path, shared.config.copies);
    if route == Route::Robots {
        bump(&stats.robots);
        let status = StatusCode::from_u16(shared.live().robots_status).unwrap_or(StatusCode::OK);
        if status != StatusCode::OK {
            return (status, with_content_type("text/plain; charset=utf-8"), format!("{status}\n")).into_response();
        }
        return (StatusCode::OK, with_content_type("text/plain; charset=utf-8"), shared.robots.clone()).into_response();
    }
    if path == "/_sandbox/day" {
        // Control of the search API's simulated day: ?set=N.
        let set = uri.query().and_then(|q| q.strip_prefix("set=")).map(|n| n.parse::<u32>());
        return match set {
            Some(Ok(day)) => {
                shared.search_day.store(day, Ordering::SeqCst);
                (StatusCode::OK, format!("{day}\n")).into_response()
            }
            Some(Err(_)) => (StatusCode::BAD_REQUEST, "set=N needs a whole number\n").into_response(),
            None => (StatusCode::OK, format!("{}\n", shared.search_day.load(Ordering::SeqCst))).into_response(),
        };
    }
    if path == "/_sandbox/stats" {
        // The counters, and with `?visits` every request's arrival and user agent.
        let mut body = serde_json::to_value(stats.snapshot()).unwrap_or_default();
        if uri.query() == Some("visits") {
            body["visits"] = serde_json::to_value(stats.visits()).unwrap_or_default();
        }
        let body = body.to_string();
        return (StatusCode::OK, with_content_type("application/json"), body).into_response();
    }
    if path == "/_sandbox/faults" {
        // Switch faults while serving: ?latency_ms=N&error_rate=F&rate_429=F (no query: read them).
        let mut live = shared.live.write().unwrap_or_else(|p| p.into_inner());
        return match live.with_query(uri.query().unwrap_or_default()) {
            Ok(next) => {
                *live = next;
                tracing::info!(faults = ?next, "The sandbox's faults changed.");
                (StatusCode::OK, format!("{next:?}\n")).into_response()
            }
            Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        };
    }
    if let Some(poisoned) = crate::poison::answer(path, shared.snapshot) {
        bump(&stats.ok);
        return poisoned;
    }
    if faults.robots_disallow.iter().any(|prefix| path.starts_with(prefix.as_str())) {
        bump(&stats.disallowed);
    }
    let fault = shared.draw();
    if let Fault::Unavailable | Fault::TooManyRequests = fault {
        let status = if fault == Fault::Unavailable {
            bump(&stats.service_unavailable);
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            bump(&stats.too_many_requests);
            StatusCode::TOO_MANY_REQUESTS
        };
        let mut headers = with_content_type(HTML);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(faults.retry_after_secs));
        let body = format!("<!DOCTYPE html>\n<html><body><h1>{status}</h1></body></html>\n");
        tracing::debug!(path, %status, "The sandbox injected an error response.");
        return (status, headers, body).into_response();
    }
    if path == "/v1/search/shop.json" {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let query = uri.path_and_query().map(|p| p.as_str()).unwrap_or(path);
        let day = shared.search_day.load(Ordering::SeqCst);
        return match crate::search::answer(query, day, &format!("http://{host}/")) {
            Ok(body) => {
                bump(&stats.ok);
                (StatusCode::OK, with_content_type("application/json; charset=utf-8"), body).into_response()
            }
            Err(e) => {
                let body = serde_json::json!({"errorMessage": e, "errorCode": "SE01"}).to_string();
                (StatusCode::BAD_REQUEST, with_content_type("application/json; charset=utf-8"), body).into_response()
            }
        };
    }
    let inner = match route {
        Route::Redirect(location) => {
            let mut headers = with_content_type(HTML);
            if let Ok(location) = HeaderValue::from_str(&location) {
                headers.insert(header::LOCATION, location);
            }
            return (StatusCode::MOVED_PERMANENTLY, headers, "").into_response();
        }
        Route::Page(inner) => inner,
        Route::Robots => "/robots.txt",
    };
    let page = if inner.ends_with('/') {
        shared.snapshot.page(&format!("{inner}index.html"))
    } else {
        shared.snapshot.page(inner)
    };
    let Some(page) = page else {
        bump(&stats.not_found);
        return (StatusCode::NOT_FOUND, with_content_type(HTML), NOT_FOUND_BODY).into_response();
    };

    let mut out = with_content_type(HTML);
    let body = match fault {
        Fault::Truncate => {
            bump(&stats.truncated);
            page.body.slice(..page.body.len() / 2)
        }
        Fault::Oversize => {
            bump(&stats.oversized);
            oversized(&page.body, faults.oversize_bytes)
        }
        _ => {
            if faults.etag {
                if let Ok(etag) = HeaderValue::from_str(&page.etag) {
                    out.insert(header::ETAG, etag);
                }
                let inm = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
                if inm.is_some_and(|inm| etag_matches(inm, &page.etag)) {
                    bump(&stats.not_modified);
                    out.remove(header::CONTENT_TYPE);
                    return (StatusCode::NOT_MODIFIED, out).into_response();
                }
            }
            page.body.clone()
        }
    };
    bump(&stats.ok);
    (StatusCode::OK, out, body).into_response()
}

/// The page followed by an HTML comment that pads it to `size` bytes (or the page alone if it is bigger).
fn oversized(page: &Bytes, size: usize) -> Bytes {
    const OPEN: &[u8] = b"\n<!-- oversized by the shopstream sandbox ";
    const CLOSE: &[u8] = b" -->\n";
    let fixed = page.len() + OPEN.len() + CLOSE.len();
    if size <= fixed {
        return page.clone();
    }
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(page);
    body.extend_from_slice(OPEN);
    body.resize(size - CLOSE.len(), b'x');
    body.extend_from_slice(CLOSE);
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Faults;

    #[test]
    fn live_faults_change_by_query_and_refuse_nonsense() {
        let calm = LiveFaults { latency_ms: 0, error_rate: 0.0, rate_429: 0.0, robots_status: 200 };
        let storm = calm.with_query("error_rate=0.3&rate_429=0.2&latency_ms=50").expect("storm");
        assert_eq!(storm, LiveFaults { latency_ms: 50, error_rate: 0.3, rate_429: 0.2, robots_status: 200 });
        assert_eq!(storm.with_query("error_rate=0&rate_429=0").expect("calm").latency_ms, 50);
        assert_eq!(storm.with_query("").expect("read"), storm);
        assert!(calm.with_query("error_rate=2").is_err());
        assert!(calm.with_query("error_rate=0.6&rate_429=0.6").is_err());
        assert!(calm.with_query("truncate=1").expect_err("unknown").contains("unknown fault"));
    }

    #[test]
    fn routes_root_shop_copies_and_robots() {
        assert_eq!(route("/", 0), Route::Page("/"));
        assert_eq!(route("/robots.txt", 3), Route::Robots);
        assert_eq!(route("/shop3/catalogue/page-2.html", 3), Route::Page("/catalogue/page-2.html"));
        assert_eq!(route("/shop3/", 3), Route::Page("/"));
        assert_eq!(route("/shop3", 3), Route::Redirect("/shop3/".into()));
        // Not a copy: looked up as is, so it 404s.
        assert_eq!(route("/shop4/", 3), Route::Page("/shop4/"));
        assert_eq!(route("/shop0/", 3), Route::Page("/shop0/"));
        assert_eq!(route("/shop03/", 3), Route::Page("/shop03/"));
        assert_eq!(route("/shop1x/", 3), Route::Page("/shop1x/"));
        assert_eq!(route("/shop1/", 0), Route::Page("/shop1/"));
        assert_eq!(route("/shop99999999999999/", 3), Route::Page("/shop99999999999999/"));
    }

    #[test]
    fn etag_matching_follows_if_none_match_rules() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
        assert!(!etag_matches("abc", "\"abc\""));
    }

    #[test]
    fn draws_are_uniform_and_reproducible() {
        let draws: Vec<f64> = (0..10_000).map(|n| unit(7, n)).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let below_third = draws.iter().filter(|u| **u < 1.0 / 3.0).count();
        assert!((3000..3700).contains(&below_third), "{below_third}");
        assert_eq!(draws[..5], (0..5).map(|n| unit(7, n)).collect::<Vec<_>>()[..]);
        assert_ne!(unit(7, 0), unit(8, 0));
    }

    fn shared(faults: Faults) -> Shared {
        Shared::new(SandboxConfig { faults, ..SandboxConfig::default() }, crate::snapshot(), robots_txt(&[], None))
    }

    #[test]
    fn fault_rates_split_the_draws() {
        let s = shared(Faults { error_rate: 0.2, rate_429: 0.1, truncate_rate: 0.1, ..Faults::default() });
        let mut counts = [0usize; 5];
        for _ in 0..10_000 {
            counts[s.draw() as usize] += 1;
        }
        let [none, e503, e429, truncated, oversized] = counts;
        assert!((1800..2200).contains(&e503), "{counts:?}");
        assert!((850..1150).contains(&e429), "{counts:?}");
        assert!((850..1150).contains(&truncated), "{counts:?}");
        assert_eq!(oversized, 0);
        assert_eq!(none + e503 + e429 + truncated, 10_000);

        let all = shared(Faults { error_rate: 1.0, ..Faults::default() });
        assert!((0..100).all(|_| all.draw() == Fault::Unavailable));
        let none = shared(Faults::default());
        assert!((0..100).all(|_| none.draw() == Fault::None));
    }

    #[test]
    fn robots_txt_allows_all_by_default() {
        assert_eq!(robots_txt(&[], None), "User-agent: *\nDisallow:\n");
        assert_eq!(
            robots_txt(&["/shop2/".into(), "/catalogue/page-3.html".into()], Some(0.5)),
            "User-agent: *\nDisallow: /shop2/\nDisallow: /catalogue/page-3.html\nCrawl-delay: 0.5\n"
        );
    }

    #[test]
    fn oversized_pads_to_the_size_with_a_comment() {
        let page = Bytes::from_static(b"<html></html>");
        let big = oversized(&page, 100_000);
        assert_eq!(big.len(), 100_000);
        assert!(big.starts_with(b"<html></html>\n<!-- "));
        assert!(big.ends_with(b"x -->\n"));
        assert_eq!(oversized(&page, 10), page);
    }
}
