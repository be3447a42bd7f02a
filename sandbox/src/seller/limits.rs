//! Rate limiting (token buckets) and the request statistics of the seller endpoints.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use axum::http::StatusCode;
use serde::Serialize;

use super::{RateLimit, RateScope, ENDPOINTS};

/// What the seller endpoints answered, per endpoint name and per rate-limit bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SellerStats {
    /// Per endpoint name (`shopify.orders`, … see [`super::ENDPOINTS`]); every endpoint is listed, used or not.
    pub endpoints: BTreeMap<String, EndpointStats>,
    /// Per rate-limit bucket (only when a rate limit is configured). The key is the endpoint name (scope
    /// `Endpoint`), `marketplace/account` (scope `Account`, e.g. `woo/acct-001`) or `endpoint/account` (scope
    /// `EndpointAccount`, e.g. `woo.orders/acct-001`).
    pub buckets: BTreeMap<String, BucketStats>,
}

/// The answers of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointStats {
    /// Every request routed to the endpoint.
    pub requests: u64,
    /// Answered 200.
    pub ok: u64,
    /// Answered 400 (bad parameters, a window too long, filters with a cursor, a bad CSRF token …).
    pub bad_request: u64,
    /// Answered 401, or for `center.orders` the 302 to the login page (no valid session).
    pub unauthorized: u64,
    /// Answered 429 by the rate limit.
    pub too_many: u64,
    /// Anything else (404 for an unknown account, 405).
    pub other: u64,
    /// Arrival time (Unix ms) of every request, in arrival order.
    pub arrivals_ms: Vec<i64>,
    /// The most requests that arrived within any 1-second sliding window.
    pub max_in_1s: u64,
}

impl EndpointStats {
    /// Requests per second between the first and the last arrival (0 with fewer than two requests).
    pub fn observed_rate(&self) -> f64 {
        let (Some(first), Some(last)) = (self.arrivals_ms.iter().min(), self.arrivals_ms.iter().max()) else {
            return 0.0;
        };
        if last <= first {
            return 0.0;
        }
        (self.arrivals_ms.len() - 1) as f64 * 1000.0 / (last - first) as f64
    }
}

/// The traffic of one rate-limit bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BucketStats {
    /// Requests that reached the limiter (authenticated ones).
    pub requests: u64,
    /// Requests the bucket let through.
    pub admitted: u64,
    /// Requests answered 429.
    pub limited: u64,
    /// The most requests that reached the bucket within any 1-second sliding window.
    pub max_in_1s: u64,
    /// The most admitted requests within any 1-second sliding window (at most `burst + per_second`).
    pub max_admitted_in_1s: u64,
}

/// The most times within any window `[t, t + 1000)`.
pub(crate) fn max_in_window(times: &[i64]) -> u64 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= 1000 {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best as u64
}

#[derive(Debug, Default)]
struct Counters {
    requests: u64,
    ok: u64,
    bad_request: u64,
    unauthorized: u64,
    too_many: u64,
    other: u64,
    arrivals_ms: Vec<i64>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    /// Arrival time (Unix ms) of the newest request the bucket counted.
    last_ms: i64,
    arrivals_ms: Vec<i64>,
    admitted_ms: Vec<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    endpoints: BTreeMap<&'static str, Counters>,
    buckets: HashMap<String, Bucket>,
}

/// The limiter and the counters, behind one lock (no lock is held across an await).
#[derive(Debug)]
pub(crate) struct Recorder {
    rate: Option<RateLimit>,
    inner: Mutex<Inner>,
}

/// The marketplace part of an endpoint name (`woo.reviews` → `woo`).
fn marketplace(endpoint: &str) -> &str {
    endpoint.split('.').next().unwrap_or(endpoint)
}

impl Recorder {
    pub fn new(rate: Option<RateLimit>) -> Recorder {
        let mut inner = Inner::default();
        for name in ENDPOINTS {
            inner.endpoints.insert(name, Counters::default());
        }
        Recorder { rate, inner: Mutex::new(inner) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn arrive(&self, endpoint: &'static str, now_ms: i64) {
        let mut inner = self.lock();
        let c = inner.endpoints.entry(endpoint).or_default();
        c.requests += 1;
        c.arrivals_ms.push(now_ms);
    }

    pub fn answered(&self, endpoint: &'static str, status: StatusCode) {
        let mut inner = self.lock();
        let c = inner.endpoints.entry(endpoint).or_default();
        match status {
            StatusCode::OK => c.ok += 1,
            StatusCode::BAD_REQUEST => c.bad_request += 1,
            StatusCode::UNAUTHORIZED => c.unauthorized += 1,
            StatusCode::FOUND if endpoint == "center.orders" => c.unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => c.too_many += 1,
            _ => c.other += 1,
        }
    }

    /// Takes a token from the bucket of (endpoint, account); `false` = over the limit (answer 429).
    pub fn admit(&self, endpoint: &'static str, account: &str, now_ms: i64) -> bool {
        let Some(rate) = &self.rate else {
            return true;
        };
        let key = match rate.scope {
            RateScope::Endpoint => endpoint.to_string(),
            RateScope::Account => format!("{}/{account}", marketplace(endpoint)),
            RateScope::EndpointAccount => format!("{endpoint}/{account}"),
        };
        let burst = f64::from(rate.burst);
        // Refilled by arrival times (taken when the request came in), so a server busy for a moment
        // does not bunch requests that arrived spaced.
        let mut inner = self.lock();
        let bucket = inner.buckets.entry(key).or_insert_with(|| Bucket {
            tokens: burst,
            last_ms: now_ms,
            arrivals_ms: Vec::new(),
            admitted_ms: Vec::new(),
        });
        let elapsed = (now_ms - bucket.last_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(burst);
        bucket.last_ms = bucket.last_ms.max(now_ms);
        bucket.arrivals_ms.push(now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.admitted_ms.push(now_ms);
            true
        } else {
            false
        }
    }

    pub fn snapshot(&self) -> SellerStats {
        let inner = self.lock();
        let endpoints = inner
            .endpoints
            .iter()
            .map(|(name, c)| {
                let stats = EndpointStats {
                    requests: c.requests,
                    ok: c.ok,
                    bad_request: c.bad_request,
                    unauthorized: c.unauthorized,
                    too_many: c.too_many,
                    other: c.other,
                    arrivals_ms: c.arrivals_ms.clone(),
                    max_in_1s: max_in_window(&c.arrivals_ms),
                };
                (name.to_string(), stats)
            })
            .collect();
        let buckets = inner
            .buckets
            .iter()
            .map(|(key, b)| {
                let requests = b.arrivals_ms.len() as u64;
                let admitted = b.admitted_ms.len() as u64;
                let stats = BucketStats {
                    requests,
                    admitted,
                    limited: requests - admitted,
                    max_in_1s: max_in_window(&b.arrivals_ms),
                    max_admitted_in_1s: max_in_window(&b.admitted_ms),
                };
                (key.clone(), stats)
            })
            .collect();
        SellerStats { endpoints, buckets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_counts_the_densest_second() {
        assert_eq!(max_in_window(&[]), 0);
        assert_eq!(max_in_window(&[5]), 1);
        assert_eq!(max_in_window(&[0, 999, 1000, 1500, 1999, 2999]), 3);
        assert_eq!(max_in_window(&[0, 10, 20, 999, 1000]), 4);
        assert_eq!(max_in_window(&[3000, 0, 10, 20]), 3);
    }

    #[test]
    fn buckets_allow_the_burst_then_refuse() {
        let r = Recorder::new(Some(RateLimit { per_second: 0.001, burst: 3, scope: RateScope::EndpointAccount }));
        let admitted = (0..10).filter(|_| r.admit("woo.orders", "acct-001", 0)).count();
        assert_eq!(admitted, 3);
        // Another account has its own bucket; with scope Account the two woo endpoints share one.
        assert!(r.admit("woo.orders", "acct-002", 0));
        let stats = r.snapshot();
        assert_eq!(stats.buckets["woo.orders/acct-001"].limited, 7);
        assert_eq!(stats.buckets["woo.orders/acct-001"].max_admitted_in_1s, 3);

        let shared = Recorder::new(Some(RateLimit { per_second: 0.001, burst: 2, scope: RateScope::Account }));
        assert!(shared.admit("woo.orders", "acct-001", 0));
        assert!(shared.admit("woo.reviews", "acct-001", 0));
        assert!(!shared.admit("woo.orders", "acct-001", 0));
        assert!(shared.snapshot().buckets.contains_key("woo/acct-001"));

        let open = Recorder::new(None);
        assert!((0..100).all(|_| open.admit("shopify.orders", "acct-001", 0)));
        assert!(open.snapshot().buckets.is_empty());
    }

    #[test]
    fn observed_rate_spans_first_to_last() {
        let s = EndpointStats { arrivals_ms: vec![0, 500, 1000], ..EndpointStats::default() };
        assert!((s.observed_rate() - 2.0).abs() < 1e-9);
        assert_eq!(EndpointStats::default().observed_rate(), 0.0);
    }
}
