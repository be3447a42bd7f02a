//! Which URLs a crawl already enqueued or fetched, so each URL is fetched once per crawl.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Enqueued,
    Fetched,
}

/// URLs by crawl, and the crawls in the order they were first seen.
type Crawls = (HashMap<String, HashMap<String, Seen>>, VecDeque<String>);

/// Bounded: remembers the most recent `max_crawls` crawls.
pub struct CrawlMemory {
    inner: Mutex<Crawls>,
    max_crawls: usize,
}

impl CrawlMemory {
    pub fn new(max_crawls: usize) -> Self {
        CrawlMemory { inner: Mutex::new((HashMap::new(), VecDeque::new())), max_crawls }
    }

    fn with<T>(&self, crawl: &str, f: impl FnOnce(&mut HashMap<String, Seen>) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (crawls, order) = &mut *guard;
        if !crawls.contains_key(crawl) {
            order.push_back(crawl.to_string());
            while order.len() > self.max_crawls {
                if let Some(old) = order.pop_front() {
                    crawls.remove(&old);
                }
            }
        }
        f(crawls.entry(crawl.to_string()).or_default())
    }

    /// Claim `url` for fetching. False when this crawl already fetched it.
    pub fn claim_fetch(&self, crawl: &str, url: &str) -> bool {
        self.with(crawl, |m| m.insert(url.to_string(), Seen::Fetched) != Some(Seen::Fetched))
    }

    /// Claim `url` for enqueueing. False when this crawl already enqueued or fetched it.
    pub fn claim_enqueue(&self, crawl: &str, url: &str) -> bool {
        self.with(crawl, |m| {
            if m.contains_key(url) {
                false
            } else {
                m.insert(url.to_string(), Seen::Enqueued);
                true
            }
        })
    }

    /// Forget a claim (the fetch or enqueue did not happen after all).
    pub fn release(&self, crawl: &str, url: &str) {
        self.with(crawl, |m| {
            m.remove(url);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_url_is_fetched_once_per_crawl() {
        let m = CrawlMemory::new(2);
        assert!(m.claim_enqueue("c1", "u"));
        assert!(!m.claim_enqueue("c1", "u"));
        assert!(m.claim_fetch("c1", "u"), "enqueued, not yet fetched");
        assert!(!m.claim_fetch("c1", "u"));
        assert!(!m.claim_enqueue("c1", "u"));
        assert!(m.claim_fetch("c2", "u"), "another crawl fetches again");
    }

    #[test]
    fn old_crawls_are_forgotten() {
        let m = CrawlMemory::new(2);
        assert!(m.claim_fetch("c1", "u"));
        assert!(m.claim_fetch("c2", "u"));
        assert!(m.claim_fetch("c3", "u"));
        assert!(m.claim_fetch("c1", "u"), "c1 was evicted");
    }
}
