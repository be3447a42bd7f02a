//! The pipeline configuration file (TOML): one entry per source. Typed, unknown keys refused, validated
//! as a whole before anything starts.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use shopstream_extractors::http::SourceFetch;
use shopstream_parse::ParserConfig;
use shopstream_transformers::stage::TransformSource;

/// The built-in configuration, used when no `--config` is given.
pub const DEFAULT: &str = include_str!("../config/default.toml");

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Sources by name; a crawl request names its source.
    pub sources: BTreeMap<String, SourceConfig>,
}

/// One source: how it is fetched and how it is parsed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The parser (`{ type = "books_toscrape" }`, …).
    pub parser: ParserConfig,
    /// ISO 4217 code for prices that name no currency.
    #[serde(default)]
    pub default_currency: Option<String>,
    /// Fetch rules.
    #[serde(default)]
    pub fetch: SourceFetch,
}

impl PipelineConfig {
    pub fn parse(text: &str) -> anyhow::Result<PipelineConfig> {
        Ok(toml::from_str(text)?)
    }

    /// The file at `path`, or the built-in default.
    pub fn load(path: Option<&Path>) -> anyhow::Result<PipelineConfig> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the config file {}", p.display()))?;
                Self::parse(&text).with_context(|| format!("invalid config file {}", p.display()))
            }
            None => Self::parse(DEFAULT).context("the built-in config is invalid"),
        }
    }

    pub fn fetch_rules(&self) -> BTreeMap<String, SourceFetch> {
        self.sources.iter().map(|(k, v)| (k.clone(), v.fetch.clone())).collect()
    }

    pub fn transform_sources(&self) -> BTreeMap<String, TransformSource> {
        self.sources
            .iter()
            .map(|(k, v)| {
                (k.clone(), TransformSource { parser: v.parser.clone(), default_currency: v.default_currency.clone() })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_configs_parse() {
        let d = PipelineConfig::parse(DEFAULT).expect("default");
        assert!(!d.sources["books"].fetch.allow_private_network, "the real site must not allow private networks");
        let s = PipelineConfig::parse(include_str!("../config/sandbox.toml")).expect("sandbox");
        assert!(s.sources["books"].fetch.allow_private_network);
        assert_eq!(s.sources["books"].parser, ParserConfig::BooksToscrape);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = PipelineConfig::parse("[sources.x]\nparser = { type = \"books_toscrape\" }\ncolour = 1\n")
            .expect_err("refused");
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
    }
}
