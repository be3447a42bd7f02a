//! Extract stages: fetch pages and API payloads and publish the raw bytes.

pub mod http;
