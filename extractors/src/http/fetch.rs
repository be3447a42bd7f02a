//! One fetch with retries, the address policy, and the classification of HTTP failures.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, ETAG, LAST_MODIFIED, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use url::Url;

use super::config::SourceFetch;
use super::guard;

/// A response that arrived (any status).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub final_url: String,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Retry-After, as sent.
    pub retry_after: Option<String>,
    /// Every response header (API paging reads `Link`, `X-WP-TotalPages`, …); boxed, as most fetches
    /// never read it.
    pub headers: Box<reqwest::header::HeaderMap>,
    pub body: Vec<u8>,
    pub latency: Duration,
}

/// The result of fetching one URL, after retries.
#[derive(Debug)]
pub enum Fetched {
    /// A response arrived; `attempts` includes retried 429/5xx answers.
    Response { response: Response, attempts: u32 },
    /// No usable response (network error, timeout, body too large) after all attempts. `too_large`: the
    /// body passed the source's cap (the page is the problem, not the network: trying again is useless).
    Failed { error: String, attempts: u32, latency: Duration, too_large: bool },
    /// The address is not allowed for this source.
    Refused { reason: String },
}

/// Errors of one attempt.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request failed: {0}")]
    Network(String),
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The address guard refused the host or a redirect hop.
    #[error("refused: {0}")]
    Refused(String),
}

impl FetchError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, FetchError::Network(_))
    }
}

/// Whether a status is worth retrying.
pub fn retriable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// An HTTP client for one source's rules: guarded by the source's address policy (`guard`).
pub fn client(rules: &SourceFetch) -> Result<Client, String> {
    guard::client(rules.address_policy(), &limits(rules), None)
}

/// A client for one account of a source, with its own cookie jar (login sessions).
pub fn client_with_cookies(rules: &SourceFetch, jar: std::sync::Arc<reqwest::cookie::Jar>) -> Result<Client, String> {
    guard::client(rules.address_policy(), &limits(rules), Some(jar))
}

fn limits(rules: &SourceFetch) -> guard::ClientLimits {
    guard::ClientLimits {
        user_agent: rules.user_agent.clone(),
        timeout: Duration::from_millis(rules.timeout_ms),
        max_redirects: rules.max_redirects,
        pool_max_idle_per_host: rules.per_host_concurrency.max(1) * 2,
    }
}

/// Send one request and read its body up to `max_body` bytes.
pub async fn send_once(request: reqwest::RequestBuilder, max_body: usize) -> Result<Response, FetchError> {
    let start = Instant::now();
    let mut resp = request.send().await.map_err(|e| match guard::refusal(&e) {
        Some(why) => FetchError::Refused(why),
        None => FetchError::Network(error_chain(&e)),
    })?;
    let status = resp.status().as_u16();
    let final_url = resp.url().to_string();
    let header = |name| {
        resp.headers().get(name).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok()).map(str::to_string)
    };
    let content_type = header(CONTENT_TYPE);
    let etag = header(ETAG);
    let last_modified = header(LAST_MODIFIED);
    let retry_after = header(RETRY_AFTER);
    let headers = Box::new(resp.headers().clone());
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| FetchError::Network(error_chain(&e)))? {
        if body.len() + chunk.len() > max_body {
            return Err(FetchError::TooLarge { limit: max_body });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        final_url,
        content_type,
        etag,
        last_modified,
        retry_after,
        headers,
        body,
        latency: start.elapsed(),
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// How long to wait before the next attempt: the server's Retry-After (seconds, capped at 30 s),
/// else exponential backoff from 250 ms.
/// The wait a `Retry-After` header asks for (seconds, at most 30), if it holds one.
fn retry_after(value: Option<&str>) -> Option<Duration> {
    value.and_then(|v| v.trim().parse::<u64>().ok()).map(|secs| Duration::from_secs(secs.min(30)))
}

/// The retries' own backoff when the answer names no wait: 500 ms doubling up to 16 s.
fn retry_backoff() -> shopstream_core::retry::Backoff {
    shopstream_core::retry::Backoff::between(Duration::from_millis(500), Duration::from_secs(16))
}

/// Fetch `url` under the source's rules, retrying network errors, 429 and 5xx.
pub async fn fetch(client: &Client, url: &Url, rules: &SourceFetch) -> Fetched {
    fetch_with(url, rules, &mut || async { Ok(client.get(url.clone())) }).await
}

/// Fetch under the source's rules with a request built anew for every attempt by `build` (which may
/// wait for a rate limit and sign the request); `Err` from `build` fails the fetch with its text.
pub async fn fetch_with<F, Fut>(url: &Url, rules: &SourceFetch, build: &mut F) -> Fetched
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<reqwest::RequestBuilder, String>>,
{
    if let Err(reason) = rules.address_policy().check_url(url) {
        return Fetched::Refused { reason };
    }
    let started = Instant::now();
    let mut attempt = 0;
    let mut delays = retry_backoff();
    loop {
        attempt += 1;
        let last = attempt >= rules.max_attempts;
        let request = match build().await {
            Ok(r) => r,
            Err(error) => {
                return Fetched::Failed { error, attempts: attempt, latency: started.elapsed(), too_large: false }
            }
        };
        match send_once(request, rules.max_body_bytes).await {
            Ok(response) if retriable_status(response.status) && !last => {
                let wait = retry_after(response.retry_after.as_deref()).unwrap_or_else(|| delays.next_delay());
                tracing::debug!(%url, status = response.status, attempt, "Retrying after a retriable status.");
                tokio::time::sleep(wait).await;
            }
            Ok(response) => return Fetched::Response { response, attempts: attempt },
            Err(e) if e.is_retriable() && !last => {
                tracing::debug!(%url, error = %e, attempt, "Retrying after a network error.");
                tokio::time::sleep(delays.next_delay()).await;
            }
            Err(FetchError::Refused(reason)) => return Fetched::Refused { reason },
            Err(e) => {
                let too_large = matches!(e, FetchError::TooLarge { .. });
                return Fetched::Failed {
                    error: e.to_string(),
                    attempts: attempt,
                    latency: started.elapsed(),
                    too_large,
                };
            }
        }
    }
}

/// A short description of a status for fetch logs.
pub fn status_text(status: u16) -> String {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    format!("HTTP {status} {reason}").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_honours_retry_after() {
        assert_eq!(retry_after(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(Some("9999")), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT")), None);
        let mut b = retry_backoff();
        assert_eq!((b.next_delay(), b.next_delay()), (Duration::from_millis(500), Duration::from_secs(1)));
        assert!(retriable_status(503) && retriable_status(429) && !retriable_status(404));
    }
}
