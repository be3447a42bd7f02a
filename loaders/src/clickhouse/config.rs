//! Loader configuration.

use std::time::Duration;

/// How the loader batches and where it writes.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// ClickHouse HTTP URL.
    pub url: String,
    /// Database (created by the migrations).
    pub database: String,
    /// Consumer group.
    pub group: String,
    /// Flush a table's batch at this many rows.
    pub batch_rows: usize,
    /// Flush a batch at this age.
    pub batch_max_age: Duration,
    /// First backoff of a retried insert; doubles up to `retry_max_backoff`.
    pub retry_backoff: Duration,
    pub retry_max_backoff: Duration,
    /// An insert that takes longer fails (and is retried).
    pub insert_timeout: Duration,
    /// Retries of an error whose ClickHouse code is unknown before its rows count as rejected data.
    pub unknown_error_retries: u32,
    /// A replay: read only this range of one events topic, then stop.
    pub replay: Option<shopstream_core::replay::Range>,
    /// Watch runs and write their summaries (one loader at a time holds the watcher's lease).
    pub watch_runs: Option<super::runs::WatchConfig>,
}

impl LoadConfig {
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        LoadConfig {
            url: url.into(),
            database: database.into(),
            group: "shopstream-load".into(),
            batch_rows: 5_000,
            batch_max_age: Duration::from_millis(500),
            retry_backoff: Duration::from_millis(200),
            retry_max_backoff: Duration::from_secs(10),
            insert_timeout: Duration::from_secs(60),
            unknown_error_retries: 5,
            replay: None,
            watch_runs: None,
        }
    }

    /// Every problem with the configuration, with its field.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            problems.push(format!("clickhouse.url: must be an http(s) URL, got {:?}", self.url));
        }
        if self.database.is_empty() || !self.database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            problems.push(format!("clickhouse.database: must be [A-Za-z0-9_]+, got {:?}", self.database));
        }
        if self.batch_rows == 0 {
            problems.push("load.batch_rows: must be at least 1".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
