//! Which URLs a crawl already enqueued or fetched, so each URL is fetched once per crawl.
//!
//! The memory lives in the process and is bounded by bytes (`extract.crawl_memory_bytes`): when it is
//! full the oldest crawls are forgotten first, and a crawl that alone outgrows it starts over empty.
//! What forgetting costs, like a restart or a rebalance (the new owner of a host starts empty): URLs of
//! a running crawl may be fetched again. That doubles no row (observations are keyed by crawl id and
//! converge in ClickHouse), it costs fetches; and links are followed only down to `max_depth`, so a
//! crawl still ends.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Enqueued,
    Fetched,
}

/// Bytes one remembered URL costs besides its text (map entry, hash, allocation).
const ENTRY_OVERHEAD_BYTES: usize = 64;

#[derive(Default)]
struct Crawls {
    urls: HashMap<String, HashMap<String, Seen>>,
    /// Crawls in the order they were first seen, oldest first.
    order: VecDeque<String>,
    bytes: usize,
}

/// Bounded by `max_bytes`.
pub struct CrawlMemory {
    inner: Mutex<Crawls>,
    max_bytes: usize,
}

fn cost(url: &str) -> usize {
    url.len() + ENTRY_OVERHEAD_BYTES
}

impl CrawlMemory {
    pub fn new(max_bytes: usize) -> Self {
        CrawlMemory { inner: Mutex::new(Crawls::default()), max_bytes }
    }

    /// Run `f` on the crawl's URLs; `f` returns its result and the bytes it added (+) or removed (-).
    fn with<T>(&self, crawl: &str, f: impl FnOnce(&mut HashMap<String, Seen>) -> (T, isize)) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut *guard;
        let m = match c.urls.entry(crawl.to_string()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                c.order.push_back(crawl.to_string());
                e.insert(HashMap::new())
            }
        };
        let (result, delta) = f(m);
        c.bytes = c.bytes.saturating_add_signed(delta);
        self.evict(c, crawl);
        result
    }

    /// Forget the oldest crawls other than `current` until the memory fits; then, if `current` alone does
    /// not fit, forget it too (it starts over).
    fn evict(&self, c: &mut Crawls, current: &str) {
        while c.bytes > self.max_bytes {
            let Some(pos) = c.order.iter().position(|k| k != current) else { break };
            let Some(old) = c.order.remove(pos) else { break };
            if let Some(m) = c.urls.remove(&old) {
                c.bytes -= m.keys().map(|u| cost(u)).sum::<usize>();
                tracing::info!(crawl = %old, urls = m.len(), "The crawl memory is full: forgot an older crawl.");
            }
        }
        if c.bytes > self.max_bytes {
            if let Some(m) = c.urls.get_mut(current) {
                tracing::warn!(
                    crawl = current,
                    urls = m.len(),
                    max_bytes = self.max_bytes,
                    "One crawl outgrew the crawl memory: it starts over, and URLs it already fetched may be fetched again."
                );
                m.clear();
                c.bytes = 0;
            }
        }
    }

    /// Claim `url` for fetching. False when this crawl already fetched it.
    pub fn claim_fetch(&self, crawl: &str, url: &str) -> bool {
        self.with(crawl, |m| match m.insert(url.to_string(), Seen::Fetched) {
            None => (true, cost(url) as isize),
            Some(Seen::Enqueued) => (true, 0),
            Some(Seen::Fetched) => (false, 0),
        })
    }

    /// Claim `url` for enqueueing. False when this crawl already enqueued or fetched it.
    pub fn claim_enqueue(&self, crawl: &str, url: &str) -> bool {
        self.with(crawl, |m| {
            if m.contains_key(url) {
                (false, 0)
            } else {
                m.insert(url.to_string(), Seen::Enqueued);
                (true, cost(url) as isize)
            }
        })
    }

    /// Forget a claim (the fetch or enqueue did not happen, or failed).
    pub fn release(&self, crawl: &str, url: &str) {
        self.with(crawl, |m| ((), if m.remove(url).is_some() { -(cost(url) as isize) } else { 0 }))
    }

    /// Bytes remembered now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_url_is_fetched_once_per_crawl() {
        let m = CrawlMemory::new(1 << 20);
        assert!(m.claim_enqueue("c1", "u"));
        assert!(!m.claim_enqueue("c1", "u"));
        assert!(m.claim_fetch("c1", "u"), "enqueued, not yet fetched");
        assert!(!m.claim_fetch("c1", "u"));
        assert!(!m.claim_enqueue("c1", "u"));
        assert!(m.claim_fetch("c2", "u"), "another crawl fetches again");
    }

    #[test]
    fn a_released_claim_can_be_claimed_again() {
        let m = CrawlMemory::new(1 << 20);
        assert!(m.claim_fetch("c1", "u"));
        m.release("c1", "u");
        assert!(m.claim_fetch("c1", "u"), "a failed fetch is tried again by a later request");
        assert_eq!(m.bytes(), cost("u"));
    }

    #[test]
    fn the_oldest_crawls_are_forgotten_when_the_bytes_run_out() {
        // Room for two URLs.
        let m = CrawlMemory::new(2 * cost("u"));
        assert!(m.claim_fetch("c1", "u"));
        assert!(m.claim_fetch("c2", "u"));
        assert!(m.claim_fetch("c3", "u"));
        assert!(m.bytes() <= 2 * cost("u"));
        assert!(!m.claim_fetch("c3", "u"));
        assert!(!m.claim_fetch("c2", "u"), "c2 is still remembered");
        assert!(m.claim_fetch("c1", "u"), "c1 was forgotten");
    }

    #[test]
    fn a_crawl_that_outgrows_the_memory_starts_over() {
        let m = CrawlMemory::new(2 * cost("u1"));
        assert!(m.claim_fetch("c1", "u1"));
        assert!(m.claim_fetch("c1", "u2"));
        assert!(m.claim_fetch("c1", "u3"), "over the bound: the crawl's memory is cleared");
        assert!(m.bytes() <= 2 * cost("u1"));
    }
}
