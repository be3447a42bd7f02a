//! What every shopstream stage shares: endpoints and topic names, Kafka clients configured for the
//! delivery contract (DESIGN §3), the contiguous offset tracker, the Avro codec speaking the Confluent
//! wire format, error classes, deterministic ids and stage metrics.
//!
//! Stage crates depend on this crate and on `shopstream-schemas`, never on each other.

pub mod api;
pub mod attributes;
pub mod codec;
pub mod dlq;
pub mod error;
pub mod group_watch;
pub mod ids;
pub mod kafka;
pub mod metrics;
pub mod offsets;
pub mod replay;
pub mod retry;
pub mod secrets;
pub mod topics;
pub mod worker;

pub use codec::Codec;
pub use error::{Error, ErrorClass, Result};
pub use offsets::OffsetTracker;
pub use tokio_util::sync::CancellationToken;
pub use topics::{Endpoints, Topics};

/// A test hook: true when `SHOPSTREAM_FAILPOINT` names this point (the delivery tests crash or break a
/// stage at a chosen place with it). Never set in production.
pub fn failpoint(name: &str) -> bool {
    std::env::var("SHOPSTREAM_FAILPOINT").is_ok_and(|v| v == name)
}

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
