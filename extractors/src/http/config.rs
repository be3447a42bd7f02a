//! Extractor configuration: per-source fetch rules.

use std::collections::BTreeMap;

use serde::Deserialize;

fn default_max_depth() -> u32 {
    // Pagination is a chain of links: a listing of N pages needs depth N + 1.
    1000
}
fn default_per_host_concurrency() -> usize {
    4
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_max_body_bytes() -> usize {
    10 * 1024 * 1024
}
fn default_max_redirects() -> usize {
    5
}
fn default_max_attempts() -> u32 {
    3
}
fn default_true() -> bool {
    true
}
fn default_robots_ttl_secs() -> u64 {
    // RFC 9309: a cached robots.txt should not be used for more than 24 hours.
    24 * 3600
}
fn default_user_agent() -> String {
    concat!("shopstream/", env!("CARGO_PKG_VERSION")).to_string()
}

fn default_burst() -> u32 {
    1
}

/// A host's request rate: `per_second` on average, at most `burst` at once.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRate {
    pub per_second: f64,
    #[serde(default = "default_burst")]
    pub burst: u32,
}

/// How one source is fetched.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFetch {
    /// Allow every special-purpose address: loopback, private, link-local, … (the local sandbox). Off
    /// by default.
    #[serde(default)]
    pub allow_private_network: bool,
    /// Special-purpose networks (CIDR, e.g. `"10.1.2.0/24"`) this source may reach although
    /// `allow_private_network` is off: an internal shop, without opening every private address.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    /// CSS selectors of the links to follow (`a` elements; their `href`). Empty: follow nothing.
    #[serde(default)]
    pub follow: Vec<String>,
    /// Links followed from the seed at most.
    #[serde(default = "default_max_depth")]
    pub max_depth: u32,
    /// Requests in flight per host.
    #[serde(default = "default_per_host_concurrency")]
    pub per_host_concurrency: usize,
    /// Pause after each request to a host, per slot.
    #[serde(default)]
    pub per_host_delay_ms: u64,
    /// Time for one request, connect to last byte.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Larger bodies are cut off and the fetch fails.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    /// Tries for network errors, 429 and 5xx.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// User agents used in turn, one per request (empty: `user_agent` always). robots.txt is read for the
    /// first one's product token.
    #[serde(default)]
    pub user_agents: Vec<String>,
    /// Requests per second to a host (every attempt counts), e.g. `{ per_second = 2, burst = 1 }`; none:
    /// only `per_host_concurrency` and `per_host_delay_ms` bound it.
    #[serde(default)]
    pub rate: Option<HostRate>,
    /// A random wait of up to this long before each request to a host, so requests do not come on a beat.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Read each host's robots.txt and obey it: disallowed URLs are not fetched (a recorded outcome,
    /// `disallowed`), `Crawl-delay` spaces the host's requests. On by default.
    #[serde(default = "default_true")]
    pub obey_robots: bool,
    /// How long a host's robots.txt is used before it is read again.
    #[serde(default = "default_robots_ttl_secs")]
    pub robots_ttl_secs: u64,
}

impl SourceFetch {
    /// The user agent robots.txt is read for: the first of `user_agents`, else `user_agent`.
    pub fn robots_user_agent(&self) -> &str {
        self.user_agents.first().unwrap_or(&self.user_agent)
    }

    /// The addresses this source may reach (networks that do not parse are refused by `validate`).
    pub fn address_policy(&self) -> crate::http::guard::AddressPolicy {
        crate::http::guard::AddressPolicy {
            allow_private_network: self.allow_private_network,
            allowed_networks: self.allowed_networks.iter().filter_map(|n| n.parse().ok()).collect(),
        }
    }
}

impl Default for SourceFetch {
    fn default() -> Self {
        SourceFetch {
            allow_private_network: false,
            allowed_networks: Vec::new(),
            follow: Vec::new(),
            max_depth: default_max_depth(),
            per_host_concurrency: default_per_host_concurrency(),
            per_host_delay_ms: 0,
            timeout_ms: default_timeout_ms(),
            max_body_bytes: default_max_body_bytes(),
            max_redirects: default_max_redirects(),
            max_attempts: default_max_attempts(),
            user_agent: default_user_agent(),
            user_agents: Vec::new(),
            rate: None,
            jitter_ms: 0,
            obey_robots: true,
            robots_ttl_secs: default_robots_ttl_secs(),
        }
    }
}

/// The default bound of the crawl memory (which URLs each crawl fetched): 64 MiB, about 400,000 URLs.
pub const DEFAULT_CRAWL_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// The extract stage.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    pub group: String,
    /// Requests in flight in this process.
    pub concurrency: usize,
    pub sources: BTreeMap<String, SourceFetch>,
    /// The `[api]` sections of seller-API sources (their accounts come from the environment).
    pub apis: BTreeMap<String, shopstream_core::api::ApiConfig>,
    /// Bound of the crawl memory in bytes (`SHOPSTREAM_CRAWL_MEMORY_BYTES`).
    pub crawl_memory_bytes: usize,
    /// The record size limit (`SHOPSTREAM_MESSAGE_MAX_BYTES`): every source's `max_body_bytes` must fit.
    pub message_max_bytes: usize,
}

impl ExtractConfig {
    pub fn new(sources: BTreeMap<String, SourceFetch>) -> Self {
        ExtractConfig {
            group: "shopstream-extract".into(),
            concurrency: 32,
            sources,
            apis: BTreeMap::new(),
            crawl_memory_bytes: DEFAULT_CRAWL_MEMORY_BYTES,
            message_max_bytes: shopstream_core::kafka::DEFAULT_MESSAGE_MAX_BYTES,
        }
    }

    /// Every problem, with its path.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.concurrency == 0 {
            problems.push("extract.concurrency: must be at least 1".to_string());
        }
        if self.crawl_memory_bytes < 1024 * 1024 {
            problems.push("SHOPSTREAM_CRAWL_MEMORY_BYTES: must be at least 1 MiB".to_string());
        }
        for (name, s) in &self.sources {
            for (i, f) in s.follow.iter().enumerate() {
                if let Err(e) = scraper::Selector::parse(f) {
                    problems.push(format!("sources.{name}.follow[{i}]: invalid CSS selector {f:?}: {e}"));
                }
            }
            for (i, n) in s.allowed_networks.iter().enumerate() {
                if let Err(e) = n.parse::<ipnet::IpNet>() {
                    problems
                        .push(format!("sources.{name}.fetch.allowed_networks[{i}]: {n:?} is not a CIDR network: {e}"));
                }
            }
            if s.per_host_concurrency == 0 {
                problems.push(format!("sources.{name}.per_host_concurrency: must be at least 1"));
            }
            if let Some(rate) = &s.rate {
                if !(rate.per_second.is_finite() && rate.per_second > 0.0) {
                    problems.push(format!("sources.{name}.fetch.rate.per_second: must be a positive number"));
                }
                if rate.burst == 0 {
                    problems.push(format!("sources.{name}.fetch.rate.burst: must be at least 1"));
                }
            }
            if s.user_agents.iter().any(|u| u.trim().is_empty()) {
                problems.push(format!("sources.{name}.fetch.user_agents: an empty user agent"));
            }
            if s.max_attempts == 0 {
                problems.push(format!("sources.{name}.max_attempts: must be at least 1"));
            }
            let fits = shopstream_core::kafka::max_body_bytes_for(self.message_max_bytes);
            if s.max_body_bytes > fits {
                problems.push(format!(
                    "sources.{name}.fetch.max_body_bytes: {} bytes do not fit in a record of at most {} bytes \
                     (SHOPSTREAM_MESSAGE_MAX_BYTES); lower it to {fits} or raise the limit",
                    s.max_body_bytes, self.message_max_bytes
                ));
            }
        }
        for (name, api) in &self.apis {
            if !self.sources.contains_key(name) {
                problems.push(format!("sources.{name}.api: the source has no fetch rules"));
            }
            problems.extend(api.validate(&format!("sources.{name}.api")));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(toml_text: &str) -> SourceFetch {
        toml::from_str(toml_text).expect("parses")
    }

    #[test]
    fn a_hosts_pace_is_read_and_checked() {
        let s = source("rate = { per_second = 2.5 }\njitter_ms = 100\nuser_agents = [\"a/1\", \"b/1\"]");
        assert_eq!(s.rate, Some(HostRate { per_second: 2.5, burst: 1 }));
        assert_eq!(s.robots_user_agent(), "a/1");
        assert!(s.obey_robots, "robots.txt is obeyed unless a source says otherwise");
        let bad = source("rate = { per_second = 0, burst = 0 }\nuser_agents = [\" \"]");
        let cfg = ExtractConfig::new(BTreeMap::from([("shop".to_string(), bad)]));
        let problems = cfg.validate().expect_err("invalid");
        assert!(problems.iter().any(|p| p.contains("rate.per_second")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("rate.burst")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("user_agents")), "{problems:?}");
        assert_eq!(source("").robots_user_agent(), default_user_agent());
    }
}
