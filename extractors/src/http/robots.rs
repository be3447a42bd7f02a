//! robots.txt per origin (RFC 9309), fetched once per TTL and cached in the process.
//!
//! A host's requests all live in one partition (they are keyed by host), so the process that owns the
//! partition is the only one asking; a new owner fetches the file again. The answer decides:
//! - 2xx: the file's rules for the source's user-agent token (`Allow`/`Disallow`, longest match) and its
//!   `Crawl-delay`, which spaces the starts of the host's requests;
//! - 4xx (429 excepted): no rules, everything is allowed;
//! - 429, 5xx, a network error or a timeout: the file is unavailable; the host's requests are not fetched
//!   and are dead-lettered as external failures ("retry later", which a run's watcher does), and the file
//!   is asked again after [`unavailable_retry`] (30 s);
//! - a refusal by the address guard (the host, or a redirect of the file, is forbidden): no rules; the
//!   page's own fetch goes through the same guard and is refused there with its reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Client;
use url::Url;

use super::config::SourceFetch;
use super::fetch::{self, Fetched};

/// How long an unavailable robots.txt is remembered before it is asked again
/// (`SHOPSTREAM_ROBOTS_RETRY_SECS`, default 30 s).
pub fn unavailable_retry() -> Duration {
    let secs = std::env::var("SHOPSTREAM_ROBOTS_RETRY_SECS").ok().and_then(|v| v.trim().parse::<u64>().ok());
    Duration::from_secs(secs.unwrap_or(30))
}
/// The most of a robots.txt that is read (RFC 9309 asks for at least 500 KiB).
const MAX_ROBOTS_BYTES: usize = 512 * 1024;
/// A longer `Crawl-delay` is capped here (a site asking for an hour between requests would stall a crawl
/// for days; it is still crawled at this pace).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// What robots.txt says about one URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Fetch it; starts of the host's requests at least `delay` apart when the file asks for it.
    Allowed { delay: Option<Duration> },
    /// The file disallows it for this user agent.
    Disallowed,
    /// The file could not be read (5xx, 429, network error): retry later.
    Unavailable(String),
}

/// One origin's file, as last read.
enum Rules {
    AllowAll,
    Parsed(Box<texting_robots::Robot>),
    Unavailable(String),
}

struct Entry {
    rules: Rules,
    read_at: Instant,
}

impl Entry {
    fn fresh(&self, ttl: Duration) -> bool {
        let ttl = if matches!(self.rules, Rules::Unavailable(_)) { unavailable_retry().min(ttl) } else { ttl };
        self.read_at.elapsed() < ttl
    }
}

/// One origin's file, read by one task at a time.
type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// The robots.txt cache of one process.
#[derive(Default)]
pub struct Robots {
    /// Per origin (and user-agent token): one reader at a time, so a burst of requests to a new host
    /// causes one fetch of its file.
    origins: Mutex<HashMap<(String, String), Slot>>,
    /// Per host: when the next request may start (Crawl-delay).
    next_start: Mutex<HashMap<String, Instant>>,
}

/// The user-agent token robots.txt groups are matched against: the product name of the user agent
/// (`shopstream/0.1 (+https://…)` → `shopstream`).
pub fn agent_token(user_agent: &str) -> String {
    let product = user_agent.split(['/', ' ']).find(|s| !s.is_empty()).unwrap_or("*");
    product.to_ascii_lowercase()
}

impl Robots {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the origin's robots.txt says about `url` for a source with these rules, reading the file
    /// when it is not cached or older than the source's TTL.
    pub async fn check(&self, client: &Client, rules: &SourceFetch, url: &Url) -> Verdict {
        let origin = url.origin().ascii_serialization();
        let agent = agent_token(rules.robots_user_agent());
        let slot = {
            let mut origins = self.origins.lock().unwrap_or_else(|p| p.into_inner());
            origins.entry((origin.clone(), agent.clone())).or_default().clone()
        };
        let ttl = Duration::from_secs(rules.robots_ttl_secs);
        let mut entry = slot.lock().await;
        if !entry.as_ref().is_some_and(|e| e.fresh(ttl)) {
            let rules = read(client, rules, &origin, &agent).await;
            *entry = Some(Entry { rules, read_at: Instant::now() });
        }
        match &entry.as_ref().expect("just read").rules {
            Rules::AllowAll => Verdict::Allowed { delay: None },
            Rules::Unavailable(reason) => Verdict::Unavailable(reason.clone()),
            Rules::Parsed(robot) => {
                if robot.allowed(url.as_str()) {
                    let delay = robot
                        .delay
                        .filter(|d| d.is_finite() && *d > 0.0)
                        .map(|d| Duration::from_secs_f32(d).min(MAX_CRAWL_DELAY));
                    Verdict::Allowed { delay }
                } else {
                    Verdict::Disallowed
                }
            }
        }
    }

    /// Wait until a request to `host` may start under a crawl delay, and book the next start.
    pub async fn pace(&self, host: &str, delay: Duration) {
        let wait = {
            let mut next = self.next_start.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let start = next.get(host).copied().filter(|t| *t > now).unwrap_or(now);
            next.insert(host.to_string(), start + delay);
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Read `origin`'s robots.txt with the source's client (the same address guard, redirects re-checked).
async fn read(client: &Client, rules: &SourceFetch, origin: &str, agent: &str) -> Rules {
    let Ok(url) = Url::parse(&format!("{origin}/robots.txt")) else { return Rules::AllowAll };
    let fetch_rules = SourceFetch { max_body_bytes: MAX_ROBOTS_BYTES, max_attempts: 1, ..rules.clone() };
    match fetch::fetch(client, &url, &fetch_rules).await {
        Fetched::Refused { reason } => {
            tracing::debug!(%url, %reason, "robots.txt refused by the address guard; the pages will be too.");
            Rules::AllowAll
        }
        Fetched::Failed { error, .. } => {
            Rules::Unavailable(format!("robots.txt of {origin} could not be read: {error}"))
        }
        Fetched::Response { response, .. } => interpret(origin, agent, response.status, &response.body),
    }
}

/// The rules an answer for robots.txt gives (RFC 9309 §2.3.1).
fn interpret(origin: &str, agent: &str, status: u16, body: &[u8]) -> Rules {
    match status {
        200..=299 => match texting_robots::Robot::new(agent, body) {
            Ok(robot) => Rules::Parsed(Box::new(robot)),
            // A file that cannot be parsed at all says nothing: allow.
            Err(e) => {
                tracing::warn!(origin, error = %e, "robots.txt does not parse; everything is allowed.");
                Rules::AllowAll
            }
        },
        429 | 500..=599 => {
            Rules::Unavailable(format!("robots.txt of {origin} answered {}: retry later", fetch::status_text(status)))
        }
        // 4xx: unavailable, "the crawler MAY access any resources on the server"; 3xx left after the
        // client's redirects likewise.
        _ => Rules::AllowAll,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(rules: &Rules, url: &str) -> bool {
        match rules {
            Rules::AllowAll => true,
            Rules::Parsed(r) => r.allowed(url),
            Rules::Unavailable(_) => false,
        }
    }

    #[test]
    fn statuses_follow_rfc_9309() {
        let o = "http://shop.test";
        assert!(matches!(interpret(o, "shopstream", 404, b""), Rules::AllowAll));
        assert!(matches!(interpret(o, "shopstream", 410, b""), Rules::AllowAll));
        assert!(matches!(interpret(o, "shopstream", 503, b""), Rules::Unavailable(r) if r.contains("503")));
        assert!(matches!(interpret(o, "shopstream", 429, b""), Rules::Unavailable(_)));
    }

    #[test]
    fn the_agents_group_and_the_longest_match_decide() {
        let txt = b"User-agent: *\nDisallow: /private/\n\nUser-agent: shopstream\nDisallow: /cart\nAllow: /cart/view\nCrawl-delay: 1.5\n";
        let rules = interpret("http://shop.test", "shopstream", 200, txt);
        assert!(!verdict(&rules, "http://shop.test/cart"));
        assert!(verdict(&rules, "http://shop.test/cart/view/1"));
        // Our group replaces the `*` group.
        assert!(verdict(&rules, "http://shop.test/private/x"));
        let Rules::Parsed(robot) = &rules else { panic!("parsed") };
        assert_eq!(robot.delay, Some(1.5));
        let other = interpret("http://shop.test", "otherbot", 200, txt);
        assert!(!verdict(&other, "http://shop.test/private/x"));
    }

    #[test]
    fn the_agent_token_is_the_product_name() {
        assert_eq!(agent_token("shopstream/0.1.0"), "shopstream");
        assert_eq!(agent_token("Mozilla/5.0 (X11; Linux)"), "mozilla");
        assert_eq!(agent_token(""), "*");
    }

    #[tokio::test]
    async fn pace_spaces_the_starts_of_a_hosts_requests() {
        let robots = Robots::new();
        let started = Instant::now();
        for _ in 0..4 {
            robots.pace("h", Duration::from_millis(50)).await;
        }
        // Starts at 0, 50, 100, 150 ms.
        assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
        let other = Instant::now();
        robots.pace("other-host", Duration::from_millis(50)).await;
        assert!(other.elapsed() < Duration::from_millis(40));
    }
}
