//! The pipeline configuration file (TOML): one entry per source. Typed, unknown keys refused, validated
//! as a whole before anything starts.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use shopstream_extractors::http::SourceFetch;
use shopstream_parse::ParserConfig;
use shopstream_producers::schedule::{RetryPolicy, Schedule, ScheduleConfig, What};
use shopstream_producers::track::TrackConfig;
use shopstream_transformers::stage::TransformSource;

/// The built-in configuration, used when no `--config` is given.
pub const DEFAULT: &str = include_str!("../config/default.toml");

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Sources by name; a crawl request names its source.
    pub sources: BTreeMap<String, SourceConfig>,
    /// Schedules by name (`shopstream schedule` fires them).
    #[serde(default)]
    pub schedules: BTreeMap<String, ScheduleConfig>,
    /// Tracking tiers by name: which crawl lane a target of the tier uses.
    #[serde(default)]
    pub tiers: BTreeMap<String, TierConfig>,
}

/// `[tiers.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// `high`, `normal` or `low`.
    pub lane: String,
    /// Retries of a target's failed page before the target counts as failed in the run's summary
    /// (default: the schedule's, 2).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Wait between a failure and its retry (default: the schedule's, "60s").
    #[serde(default)]
    pub retry_delay: Option<String>,
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
    /// Start URLs a schedule with `enqueue = { seeds = "NAME" }` enqueues.
    #[serde(default)]
    pub seeds: Vec<String>,
    /// How the source's tracking targets are crawled.
    #[serde(default)]
    pub track: Option<TrackConfig>,
    /// `site` (pages, the default) or `api` (a seller API: endpoints, auth, paging; `shopstream collect`).
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The seller API of a `kind = "api"` source.
    #[serde(default)]
    pub api: Option<shopstream_core::api::ApiConfig>,
}

fn default_kind() -> String {
    "site".into()
}

impl PipelineConfig {
    pub fn parse(text: &str) -> anyhow::Result<PipelineConfig> {
        let config: PipelineConfig = toml::from_str(text)?;
        if let Err(problems) = config.validate() {
            anyhow::bail!("{}", problems.join("; "));
        }
        Ok(config)
    }

    /// Every problem of the file as a whole (references between sections).
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for (name, tier) in &self.tiers {
            if !matches!(tier.lane.as_str(), "high" | "normal" | "low") {
                problems.push(format!("tiers.{name}.lane = {:?}: high, normal or low", tier.lane));
            }
            if let Err(e) =
                RetryPolicy::from_config(&format!("tiers.{name}"), tier.retries, tier.retry_delay.as_deref())
            {
                problems.push(e);
            }
        }
        for (name, source) in &self.sources {
            if let Some(t) = &source.track {
                if let Err(e) = t.validate() {
                    problems.push(format!("sources.{name}.track: {e}"));
                }
                if t.account.is_some() && (source.api.is_none() || !t.api) {
                    problems.push(format!(
                        "sources.{name}.track.account: signing tracked searches needs api = true and an [api] section \
                         with the auth scheme"
                    ));
                }
            }
            match (source.kind.as_str(), &source.api) {
                ("api", Some(api)) => problems.extend(api.validate(&format!("sources.{name}.api"))),
                ("api", None) => problems.push(format!("sources.{name}: kind = \"api\" needs an [api] section")),
                ("site", None) => {}
                ("site", Some(_)) => problems.push(format!("sources.{name}.api: only for kind = \"api\"")),
                (k, _) => problems.push(format!("sources.{name}.kind = {k:?}: site or api")),
            }
            for seed in &source.seeds {
                if url::Url::parse(seed).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true) {
                    problems.push(format!("sources.{name}.seeds: {seed:?} is not an http(s) URL"));
                }
            }
        }
        for (name, c) in &self.schedules {
            match Schedule::new(name, c) {
                Err(e) => problems.push(format!("schedules.{name}: {e}")),
                Ok(s) => match self.sources.get(s.what.source()) {
                    None => problems.push(format!("schedules.{name}: no source named {:?}", s.what.source())),
                    Some(src) => match &s.what {
                        What::Seeds(_) if src.seeds.is_empty() => {
                            problems.push(format!("schedules.{name}: source {:?} has no seeds", s.what.source()))
                        }
                        What::Collect { source, endpoint, .. } => match &src.api {
                            None => problems.push(format!("schedules.{name}: source {source:?} is not an api source")),
                            Some(api) => match api.endpoints.get(endpoint) {
                                None => problems
                                    .push(format!("schedules.{name}: source {source:?} has no endpoint {endpoint:?}")),
                                Some(e) if e.window.is_none() => problems.push(format!(
                                    "schedules.{name}: endpoint {endpoint:?} of {source:?} has no window to collect"
                                )),
                                Some(_) => {}
                            },
                        },
                        _ => {}
                    },
                },
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The schedules, validated.
    pub fn schedules(&self) -> anyhow::Result<Vec<Schedule>> {
        self.schedules
            .iter()
            .map(|(name, c)| Schedule::new(name, c).map_err(|e| anyhow::anyhow!("schedules.{name}: {e}")))
            .collect()
    }

    /// Tier → lane.
    pub fn tier_lanes(&self) -> BTreeMap<String, String> {
        self.tiers.iter().map(|(k, v)| (k.clone(), v.lane.clone())).collect()
    }

    /// Tier → retry policy, for the tiers that set `retries` or `retry_delay`.
    pub fn tier_retries(&self) -> BTreeMap<String, RetryPolicy> {
        self.tiers
            .iter()
            .filter(|(_, t)| t.retries.is_some() || t.retry_delay.is_some())
            .filter_map(|(k, t)| {
                RetryPolicy::from_config(k, t.retries, t.retry_delay.as_deref()).ok().map(|p| (k.clone(), p))
            })
            .collect()
    }

    /// The track rules of `source`, or the defaults.
    pub fn track_rules(&self, source: &str) -> TrackConfig {
        self.sources.get(source).and_then(|s| s.track.clone()).unwrap_or_default()
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

    /// The `[api]` sections of the seller-API sources.
    pub fn apis(&self) -> BTreeMap<String, shopstream_core::api::ApiConfig> {
        self.sources.iter().filter_map(|(k, v)| v.api.clone().map(|a| (k.clone(), a))).collect()
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
        let seller = PipelineConfig::parse(include_str!("../config/seller-sandbox.toml")).expect("seller sandbox");
        assert_eq!(seller.apis().len(), 6);
        let schedule = |enqueue: &str| {
            let text = format!(
                "{}\n[schedules.s]\ncron = \"*/10 * * * *\"\nenqueue = {enqueue}\n",
                include_str!("../config/seller-sandbox.toml")
            );
            PipelineConfig::parse(&text).map(|_| ()).map_err(|e| format!("{e:#}"))
        };
        schedule(r#"{ collect = "shopify-sandbox", endpoint = "orders", window = "15m" }"#).expect("a collection");
        let err =
            schedule(r#"{ collect = "shopify-sandbox", endpoint = "nope", window = "15m" }"#).expect_err("endpoint");
        assert!(err.contains("no endpoint \"nope\""), "{err}");
        let err = schedule(r#"{ collect = "shopify-sandbox", endpoint = "orders" }"#).expect_err("window");
        assert!(err.contains("window"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = PipelineConfig::parse("[sources.x]\nparser = { type = \"books_toscrape\" }\ncolour = 1\n")
            .expect_err("refused");
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
    }
}
