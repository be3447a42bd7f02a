//! Transform configuration: which parser each source uses.

use std::collections::BTreeMap;

use serde::Deserialize;
use shopstream_parse::ParserConfig;

/// How one source's raw records are parsed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformSource {
    /// The parser (`{ type = "books_toscrape" }`, …).
    pub parser: ParserConfig,
    /// ISO 4217 code for prices that name no currency.
    #[serde(default)]
    pub default_currency: Option<String>,
}

/// The transform stage.
#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub group: String,
    /// Records in flight in this process.
    pub concurrency: usize,
    pub sources: BTreeMap<String, TransformSource>,
    /// The largest body a raw record may decompress to (the extractor's largest `max_body_bytes`).
    pub max_body_bytes: usize,
    /// A replay: read only this range of one raw topic, then stop.
    pub replay: Option<shopstream_core::replay::Range>,
}

impl TransformConfig {
    pub fn new(sources: BTreeMap<String, TransformSource>) -> Self {
        TransformConfig {
            group: "shopstream-transform".into(),
            concurrency: 16,
            sources,
            max_body_bytes: 10 * 1024 * 1024,
            replay: None,
        }
    }

    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.concurrency == 0 {
            problems.push("transform.concurrency: must be at least 1".to_string());
        }
        for (name, s) in &self.sources {
            for p in s.parser.validate() {
                problems.push(format!("sources.{name}.parser: {p}"));
            }
            if let Some(c) = &s.default_currency {
                if shopstream_normalize::currency_exponent(c).is_none() {
                    problems.push(format!("sources.{name}.default_currency: {c:?} is not an ISO 4217 code"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
