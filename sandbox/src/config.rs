use std::net::{Ipv4Addr, SocketAddr};

use crate::seller::SellerConfig;
use crate::SandboxError;

/// The port `shopstream sandbox` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8000;

/// The most shop copies one sandbox serves; each copy is the same 1,050 pages, so this is only a sanity bound.
const MAX_COPIES: u32 = 100_000;

/// How to run the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free port (see [`crate::Sandbox::local_addr`]).
    pub listen: SocketAddr,
    /// Number of extra copies of the shop, served under `/shop1/` … `/shopN/`; 0 = only the shop at `/`.
    pub copies: u32,
    /// Faults to inject; the default injects none (but still answers `If-None-Match` with 304).
    pub faults: Faults,
    /// The simulated seller center under `/seller/` (its own auth, paging and rate limits; faults do not apply).
    pub seller: SellerConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            copies: 0,
            faults: Faults::default(),
            seller: SellerConfig::default(),
        }
    }
}

/// Switchable misbehaviour. The rates are fractions of requests (robots.txt excluded) drawn from one seeded
/// pseudo-random number per request, so they are mutually exclusive and must add up to at most 1, and the same
/// seed and request order give the same faults.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Delay before every response, robots.txt included.
    pub latency_ms: u64,
    /// Fraction of requests answered `503 Service Unavailable` with `Retry-After`.
    pub error_rate: f64,
    /// Fraction of requests answered `429 Too Many Requests` with `Retry-After`.
    pub rate_429: f64,
    /// Value of the `Retry-After` header on 503 and 429 responses.
    pub retry_after_secs: u32,
    /// Fraction of page responses whose body is cut to its first half (status 200, honest `Content-Length`,
    /// no `ETag`), like a page mangled by a broken upstream.
    pub truncate_rate: f64,
    /// Fraction of page responses padded with an HTML comment up to `oversize_bytes` (status 200, no `ETag`).
    pub oversize_rate: f64,
    /// Size of an oversized body.
    pub oversize_bytes: usize,
    /// Seed of the fault draws.
    pub seed: u64,
    /// Send a strong `ETag` (a hash of the page) and answer a matching `If-None-Match` with 304.
    pub etag: bool,
    /// Path prefixes robots.txt disallows for every user agent (e.g. `/shop2/`, `/catalogue/page-3.html`);
    /// empty = allow all. The sandbox still serves them but counts them in [`crate::StatsSnapshot::disallowed`].
    pub robots_disallow: Vec<String>,
    /// `Crawl-delay` in robots.txt, in seconds (none when `None`).
    pub robots_crawl_delay: Option<f64>,
    /// The status `/robots.txt` answers (200 serves the file; 404 or 503 serve no file). Switchable while
    /// serving: `/_sandbox/faults?robots_status=503`.
    pub robots_status: u16,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            error_rate: 0.0,
            rate_429: 0.0,
            retry_after_secs: 1,
            truncate_rate: 0.0,
            oversize_rate: 0.0,
            oversize_bytes: 8 * 1024 * 1024,
            seed: 0,
            etag: true,
            robots_disallow: Vec::new(),
            robots_crawl_delay: None,
            robots_status: 200,
        }
    }
}

impl SandboxConfig {
    /// Checks the config and returns every problem, each with its field path.
    pub fn validate(&self) -> Result<(), SandboxError> {
        let mut problems = Vec::new();
        if self.copies > MAX_COPIES {
            problems.push(format!("copies: {} is more than the maximum of {MAX_COPIES}", self.copies));
        }
        let f = &self.faults;
        let rates = [
            ("faults.error_rate", f.error_rate),
            ("faults.rate_429", f.rate_429),
            ("faults.truncate_rate", f.truncate_rate),
            ("faults.oversize_rate", f.oversize_rate),
        ];
        for (path, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                problems.push(format!("{path}: {rate} is not a fraction between 0 and 1"));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            problems
                .push(format!("faults: error_rate + rate_429 + truncate_rate + oversize_rate is {sum}, more than 1"));
        }
        if f.oversize_rate > 0.0 && f.oversize_bytes < 64 * 1024 {
            problems.push(format!(
                "faults.oversize_bytes: {} is smaller than 64 KiB, which is not oversized for any page",
                f.oversize_bytes
            ));
        }
        for (i, prefix) in f.robots_disallow.iter().enumerate() {
            if !prefix.starts_with('/') || prefix.contains(char::is_whitespace) {
                problems.push(format!(
                    "faults.robots_disallow[{i}]: {prefix:?} must be a path starting with '/' and without spaces"
                ));
            }
        }
        problems.extend(self.seller.problems());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SandboxError::Config(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert!(SandboxConfig::default().validate().is_ok());
    }

    #[test]
    fn validate_lists_every_problem() {
        let config = SandboxConfig {
            copies: MAX_COPIES + 1,
            faults: Faults {
                error_rate: 0.7,
                rate_429: 0.6,
                truncate_rate: -0.1,
                robots_disallow: vec!["shop1/".into()],
                ..Faults::default()
            },
            ..SandboxConfig::default()
        };
        let Err(SandboxError::Config(problems)) = config.validate() else {
            panic!("expected config problems");
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("copies:"));
        assert!(problems[1].starts_with("faults.truncate_rate:"));
        assert!(problems[2].starts_with("faults: error_rate + rate_429"));
        assert!(problems[3].starts_with("faults.robots_disallow[0]:"));
    }
}
