//! A local Books to Scrape: serves the bundled snapshot of <http://books.toscrape.com/> on localhost, optionally as
//! several identical shops and with switchable faults, so tests, the demo and benchmarks have a real site to crawl.
//!
//! - Reads: nothing at run time; the snapshot (`data/books.tar.zst`, 1,050 HTML pages) is embedded in the binary
//!   and unpacked into memory once ([`snapshot`]).
//! - Serves: the shop at `/` (`/` and `/index.html` are the home page, `/catalogue/...` the listing and book pages)
//!   and, with `copies = N`, the same files under `/shop1/` … `/shopN/` (the pages' links are relative, so every
//!   copy is a self-contained site). Unknown paths, including the snapshot's dead category links, get a 404.
//!   `/robots.txt` allows everything unless [`Faults::robots_disallow`] says otherwise. `/v1/search/shop.json` is a
//!   keyword search API shaped like Naver Shopping's whose rankings change per simulated day ([`search`]).
//! - Faults ([`Faults`]): fixed latency; a seeded, reproducible fraction of requests answered 503 or 429 with
//!   `Retry-After`, or with a truncated or oversized body; a strong `ETag` on every page with `If-None-Match` → 304.
//! - Seller center ([`seller`]): under `/seller/`, N seller accounts with deterministic orders in the shapes, auth
//!   schemes and paging styles of several marketplaces' seller APIs (Shopify, WooCommerce, Coupang, Naver, Etsy) and
//!   of a login-only seller center, with optional rate limits and a ground truth ([`seller::truth`],
//!   [`seller::inquiry_ids`]).
//! - Guarantees: the same config, seed and request order give the same responses; [`Stats`] counts what was served
//!   (including requests for paths robots.txt disallows) so tests can assert on a crawl.

mod config;
mod error;
pub mod poison;
pub mod search;
pub mod seller;
mod server;
mod snapshot;

pub use config::{Faults, SandboxConfig, DEFAULT_PORT};
pub use error::SandboxError;
pub use seller::{
    account_ids, credentials, inquiry_ids, review_ids, truth, BucketStats, EndpointStats, RateLimit, RateScope, Seller,
    SellerConfig, SellerCredentials, SellerStats, Truth, TruthField,
};
pub use server::{Sandbox, Stats, StatsSnapshot, Visit};
pub use snapshot::{snapshot, try_snapshot, Snapshot, PAGES_PER_SHOP};
