//! The transform stage.
//!
//! Reads: `raw.pages` and `raw.api` (RawPage) as consumer group `shopstream-transform`.
//! Writes: `events.products` / `events.prices` (key = source + product_id) and `events.ranks`
//! (key = source + list_id); for seller-API records (their attributes name a mapper and an account)
//! `events.orders`, `events.reviews`, `events.inquiries`, `events.settlements` (key = source + account +
//! the marketplace's id); each event with provenance (the raw record's fetch, topic, partition and
//! offset) and the parser's name and version; `dlq.transform` for records that cannot be decoded or
//! parsed, with the parser and the reason.
//! Guarantees: a raw record's offset is stored only when all its events (or its dead letter) were
//! acknowledged. Event ids derive from the fetch and the parser version, so replaying a raw topic
//! produces the same events and the loader converges to the same rows.

pub mod config;
pub mod events;
mod run;
pub mod seller;

pub use config::{TransformConfig, TransformSource};
pub use run::run;
