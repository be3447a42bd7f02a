//! The HTTP extractor (reqwest).
//!
//! Reads: `crawl.requests.{high,normal,low}` (CrawlRequest, key = host) as consumer group
//! `shopstream-extract`.
//! Writes: `raw.pages` / `raw.api` (RawPage: the zstd-compressed body plus HTTP facts, key = source +
//! url hash) for every 2xx response; `events.fetches` (FetchObserved, key = host) for every fetch
//! outcome, so dead links and failures are recorded facts; `crawl.requests.*` for links discovered on a
//! page (same host, the source's `follow` selectors, up to `max_depth`); `dlq.extract` for requests that
//! could not be fetched after retries or were refused, with the reason.
//! Guarantees: a request's offset is stored only after everything it caused was acknowledged by the
//! broker. Each URL is fetched once per crawl by an instance that owns its host's partition (links are
//! keyed by host, so they come back to the same partition). Per-host concurrency and delay hold across
//! any number of instances because a host lives in one partition. Special-purpose addresses (loopback,
//! private, link-local, NAT64, 6to4, …) are refused unless the source allows them, by the resolver and
//! on every redirect hop (`guard`); bodies, redirects and time are capped. Each host's robots.txt is read
//! once per TTL and obeyed (`robots`): a disallowed URL is a recorded fetch outcome (`disallowed`), not an
//! error; `Crawl-delay` spaces the host's requests.

pub mod api;
pub mod config;
mod crawl_memory;
pub mod fetch;
pub mod guard;
pub mod links;
pub mod robots;
mod run;

pub use config::{ExtractConfig, SourceFetch};
pub use run::run;
