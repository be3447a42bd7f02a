//! Transform stages: parse raw pages and payloads into normalized Avro events.

pub mod stage;
