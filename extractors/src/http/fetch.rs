//! One fetch with retries, the address policy, and the classification of HTTP failures.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, ETAG, LAST_MODIFIED, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use url::Url;

use super::config::SourceFetch;

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
    pub body: Vec<u8>,
    pub latency: Duration,
}

/// The result of fetching one URL, after retries.
#[derive(Debug)]
pub enum Fetched {
    /// A response arrived; `attempts` includes retried 429/5xx answers.
    Response { response: Response, attempts: u32 },
    /// No usable response (network error, timeout, body too large) after all attempts.
    Failed { error: String, attempts: u32, latency: Duration },
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

/// Loopback, private, link-local, CGNAT, unspecified, multicast and documentation addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Refuse URLs this source may not fetch: non-HTTP schemes, and private addresses unless allowed.
pub async fn check_address(url: &Url, rules: &SourceFetch) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {} is not fetched", url.scheme()));
    }
    let host = url.host_str().ok_or_else(|| "the URL has no host".to_string())?;
    if rules.allow_private_network {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    if let Some(ip) = addrs.iter().find(|ip| is_private(**ip)) {
        return Err(format!(
            "{host} resolves to the private address {ip}, and the source does not allow private networks"
        ));
    }
    Ok(())
}

/// An HTTP client for one source's rules.
pub fn client(rules: &SourceFetch) -> Result<Client, String> {
    Client::builder()
        .user_agent(rules.user_agent.clone())
        .timeout(Duration::from_millis(rules.timeout_ms))
        .connect_timeout(Duration::from_millis(rules.timeout_ms.min(10_000)))
        .redirect(reqwest::redirect::Policy::limited(rules.max_redirects))
        .pool_max_idle_per_host(rules.per_host_concurrency.max(1) * 2)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn fetch_once(client: &Client, url: &Url, max_body: usize) -> Result<Response, FetchError> {
    let start = Instant::now();
    let mut resp = client.get(url.clone()).send().await.map_err(|e| FetchError::Network(error_chain(&e)))?;
    let status = resp.status().as_u16();
    let final_url = resp.url().to_string();
    let header = |name| {
        resp.headers().get(name).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok()).map(str::to_string)
    };
    let content_type = header(CONTENT_TYPE);
    let etag = header(ETAG);
    let last_modified = header(LAST_MODIFIED);
    let retry_after = header(RETRY_AFTER);
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| FetchError::Network(error_chain(&e)))? {
        if body.len() + chunk.len() > max_body {
            return Err(FetchError::TooLarge { limit: max_body });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, final_url, content_type, etag, last_modified, retry_after, body, latency: start.elapsed() })
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
fn backoff(attempt: u32, retry_after: Option<&str>) -> Duration {
    if let Some(secs) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Duration::from_secs(secs.min(30));
    }
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(6)))
}

/// Fetch `url` under the source's rules, retrying network errors, 429 and 5xx.
pub async fn fetch(client: &Client, url: &Url, rules: &SourceFetch) -> Fetched {
    if let Err(reason) = check_address(url, rules).await {
        return Fetched::Refused { reason };
    }
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= rules.max_attempts;
        match fetch_once(client, url, rules.max_body_bytes).await {
            Ok(response) if retriable_status(response.status) && !last => {
                let wait = backoff(attempt, response.retry_after.as_deref());
                tracing::debug!(%url, status = response.status, attempt, "Retrying after a retriable status.");
                tokio::time::sleep(wait).await;
            }
            Ok(response) => return Fetched::Response { response, attempts: attempt },
            Err(e) if e.is_retriable() && !last => {
                tracing::debug!(%url, error = %e, attempt, "Retrying after a network error.");
                tokio::time::sleep(backoff(attempt, None)).await;
            }
            Err(e) => return Fetched::Failed { error: e.to_string(), attempts: attempt, latency: started.elapsed() },
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
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let url = Url::parse("http://127.0.0.1:1/x").expect("url");
        let mut rules = SourceFetch::default();
        assert!(check_address(&url, &rules).await.is_err());
        rules.allow_private_network = true;
        assert!(check_address(&url, &rules).await.is_ok());
        let ftp = Url::parse("ftp://example.com/").expect("url");
        assert!(check_address(&ftp, &rules).await.is_err());
    }

    #[test]
    fn backoff_honours_retry_after() {
        assert_eq!(backoff(1, Some("2")), Duration::from_secs(2));
        assert_eq!(backoff(1, Some("9999")), Duration::from_secs(30));
        assert_eq!(backoff(1, None), Duration::from_millis(500));
        assert!(retriable_status(503) && retriable_status(429) && !retriable_status(404));
    }
}
