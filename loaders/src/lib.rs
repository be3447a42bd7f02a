//! Load stages: consume the event topics and upsert into sinks.

pub mod clickhouse;
