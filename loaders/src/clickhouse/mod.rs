//! The ClickHouse loader.
//!
//! Reads: `events.products`, `events.prices`, `events.ranks`, `events.fetches` (Avro, Confluent wire
//! format) as consumer group `shopstream-load`.
//! Writes: the tables `products`, `price_observations`, `rank_observations` and `fetch_log` (all
//! `ReplacingMergeTree`, see [`migrations`]), and `dlq.load` for records or rows that cannot be loaded.
//! Guarantees: a record's offset is stored only after ClickHouse acknowledged the insert of the batch it
//! was in (or its dead letter was acknowledged), as the contiguous watermark per partition. A retriable
//! failure retries the same batch with backoff; a data failure bisects the batch, dead-letters only the
//! rows ClickHouse rejects, with its error text, and loads the rest. A batch is never dropped. Rows are
//! keyed by the fact's natural key, so loading the same events again converges to the same rows.

pub mod config;
pub mod migrations;
pub mod queries;
pub mod rows;
mod run;
pub mod runs;
pub mod service;

pub use config::LoadConfig;
pub use run::run;
pub use service::{client, ClickHouseError};
