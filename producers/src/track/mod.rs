//! Tracked rank targets: a product (or a product URL) to find in a keyword search or a listing of a
//! source, crawled once per run to a depth of pages. Targets are events in the compacted topic
//! `tracking.targets` (the latest record per target is its state); a run of a target is one crawl
//! request per page, each carrying the target in its attributes, so the transform stage can record
//! where the product stood on every page, found or not.

pub mod sessions;

use std::collections::BTreeMap;

use serde::Deserialize;
use shopstream_core::ids::stable_id;
use shopstream_schemas::{CrawlRequest, TrackingTarget};
use url::Url;

use shopstream_core::attributes as attr;

/// How a source's targets are crawled: `[sources.NAME.track]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackConfig {
    /// The search URL of a keyword, with `{keyword}` (URL-encoded), `{page}` (1-based), `{start}`
    /// (1-based position of the page's first item) and `{page_size}`.
    #[serde(default)]
    pub search_url: Option<String>,
    /// Items per page of the search or listing.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Pages a run looks through before it records "not found" (a target can set its own).
    #[serde(default = "default_pages")]
    pub pages: u32,
    /// Time zone of the run days of targets that do not set one.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// The search URL is an API (its payloads go to `raw.api`), not a page.
    #[serde(default)]
    pub api: bool,
    /// The account whose credentials sign the search requests (the source's `[api]` auth, e.g. the Naver
    /// Open API's client id and secret headers); none: unsigned.
    #[serde(default)]
    pub account: Option<String>,
}

fn default_page_size() -> u32 {
    40
}

fn default_pages() -> u32 {
    5
}

fn default_timezone() -> String {
    "UTC".into()
}

impl Default for TrackConfig {
    fn default() -> Self {
        TrackConfig {
            search_url: None,
            page_size: default_page_size(),
            pages: default_pages(),
            timezone: default_timezone(),
            api: false,
            account: None,
        }
    }
}

impl TrackConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.page_size == 0 || self.pages == 0 {
            return Err("page_size and pages must be at least 1".into());
        }
        if self.pages > 100 {
            return Err(format!("pages = {} is over 100", self.pages));
        }
        self.timezone.parse::<chrono_tz::Tz>().map_err(|_| format!("unknown time zone {:?}", self.timezone))?;
        if let Some(u) = &self.search_url {
            if !u.contains("{keyword}") {
                return Err(format!("search_url {u:?} has no {{keyword}}"));
            }
            Url::parse(&fill(u, "x", 1, 1, self.page_size)).map_err(|e| format!("search_url {u:?}: {e}"))?;
        }
        Ok(())
    }
}

/// The lanes (crawl priorities) of tiers: `[tiers.NAME] lane = "high"`. `high`, `normal` and `low` are
/// tiers of their own lane unless configured otherwise.
pub fn lane_of(tier: &str, tiers: &BTreeMap<String, String>) -> Option<String> {
    match tiers.get(tier) {
        Some(lane) => Some(lane.clone()),
        None if matches!(tier, "high" | "normal" | "low") => Some(tier.to_string()),
        None => None,
    }
}

/// A target's id: stable for the same source, query and product, so adding a target twice is one target.
pub fn target_id(source: &str, keyword: Option<&str>, list_url: Option<&str>, product: &str) -> String {
    let query = keyword.map(|k| format!("keyword:{k}")).or_else(|| list_url.map(|u| format!("list:{u}")));
    format!("t-{}", &stable_id(&[source, query.as_deref().unwrap_or_default(), product])[..12])
}

/// What went wrong planning a target's run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrackError {
    #[error("target {0}: the source has no [track] search_url, so keyword targets cannot be crawled")]
    NoSearchUrl(String),
    #[error("target {0}: neither a keyword nor a list URL")]
    NoQuery(String),
    #[error("target {target}: invalid URL {url:?}: {reason}")]
    Url { target: String, url: String, reason: String },
    #[error("target {0}: unknown tier {1:?} (high, normal, low or one of [tiers])")]
    Tier(String, String),
}

fn fill(template: &str, keyword: &str, page: u32, start: u32, page_size: u32) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(keyword.as_bytes()).collect();
    template
        .replace("{keyword}", &encoded)
        .replace("{page}", &page.to_string())
        .replace("{start}", &start.to_string())
        .replace("{page_size}", &page_size.to_string())
}

/// A target's own depth in pages.
fn depth(t: &TrackingTarget, cfg: &TrackConfig, paged: bool) -> u32 {
    if !paged {
        return 1;
    }
    t.pages.and_then(|p| u32::try_from(p).ok()).filter(|p| *p > 0).unwrap_or(cfg.pages)
}

/// The query a target searches: its keyword, or its list URL.
pub fn query_key(t: &TrackingTarget) -> String {
    match (&t.keyword, &t.list_url) {
        (Some(k), _) => format!("{}|keyword|{k}", t.source),
        (None, Some(u)) => format!("{}|list|{u}", t.source),
        (None, None) => format!("{}|none|{}", t.source, t.target_id),
    }
}

/// One run of targets: a crawl request per (query, page) up to the deepest target's depth, in crawl
/// `run_id`. Targets with the same keyword (or list URL) share each page's fetch: the request carries
/// every target that looks at that page, with the run's scheduled time (`run_at`, epoch ms). A list URL
/// without `{page}` or `{start}` is a single page. The lane is the most urgent of the targets' tiers.
/// Targets that cannot be run come back with the reason.
pub fn run_requests(
    targets: &[&TrackingTarget],
    cfg: &TrackConfig,
    tiers: &BTreeMap<String, String>,
    run_id: &str,
    run_at: i64,
) -> (Vec<CrawlRequest>, Vec<TrackError>) {
    let mut errors = Vec::new();
    let mut queries: BTreeMap<String, Vec<(&TrackingTarget, String)>> = BTreeMap::new();
    for t in targets {
        match lane_of(&t.tier, tiers) {
            Some(lane) => queries.entry(query_key(t)).or_default().push((t, lane)),
            None => errors.push(TrackError::Tier(t.target_id.clone(), t.tier.clone())),
        }
    }
    let mut out = Vec::new();
    for group in queries.values() {
        let first = group[0].0;
        let (template, keyword) = match (&first.keyword, &first.list_url) {
            (Some(k), _) => match &cfg.search_url {
                Some(u) => (u.clone(), k.as_str()),
                None => {
                    errors.extend(group.iter().map(|(t, _)| TrackError::NoSearchUrl(t.target_id.clone())));
                    continue;
                }
            },
            (None, Some(u)) => (u.clone(), ""),
            (None, None) => {
                errors.extend(group.iter().map(|(t, _)| TrackError::NoQuery(t.target_id.clone())));
                continue;
            }
        };
        let paged = template.contains("{page}") || template.contains("{start}");
        let pages = group.iter().map(|(t, _)| depth(t, cfg, paged)).max().unwrap_or(1);
        let lane =
            ["high", "normal", "low"].into_iter().find(|l| group.iter().any(|(_, lane)| lane == l)).unwrap_or("normal");
        for page in 1..=pages {
            let start = (page - 1) * cfg.page_size + 1;
            let url = fill(&template, keyword, page, start, cfg.page_size);
            let parsed = match Url::parse(&url) {
                Ok(u) => u,
                Err(e) => {
                    errors.extend(group.iter().map(|(t, _)| TrackError::Url {
                        target: t.target_id.clone(),
                        url: url.clone(),
                        reason: e.to_string(),
                    }));
                    break;
                }
            };
            let on_page: Vec<serde_json::Value> = group
                .iter()
                .filter(|(t, _)| depth(t, cfg, paged) >= page)
                .map(|(t, _)| {
                    serde_json::json!({
                        "id": t.target_id, "product": t.product, "timezone": t.timezone, "pages": depth(t, cfg, paged),
                    })
                })
                .collect();
            let mut attributes = BTreeMap::from([
                (attr::TARGETS.to_string(), serde_json::Value::Array(on_page).to_string()),
                (attr::TARGET_PAGE.to_string(), page.to_string()),
                (attr::TARGET_PAGES.to_string(), pages.to_string()),
                (attr::TARGET_PAGE_SIZE.to_string(), cfg.page_size.to_string()),
                (attr::RUN_AT.to_string(), run_at.to_string()),
            ]);
            let mut parsed = parsed;
            if let (true, Some(account)) = (cfg.api, &cfg.account) {
                // Signed by the account's credentials in the extractor (never carried here).
                attributes.insert(shopstream_core::api::attr::ACCOUNT.to_string(), account.clone());
                parsed.set_fragment(Some(&shopstream_core::api::account_fragment(account)));
            }
            out.push(CrawlRequest {
                crawl_id: run_id.to_string(),
                source: first.source.clone(),
                url: parsed.to_string(),
                kind: match (cfg.api, first.keyword.is_some()) {
                    (true, true) => "api".into(),
                    (false, true) => "search".into(),
                    (_, false) => "listing".into(),
                },
                depth: 0,
                priority: lane.to_string(),
                requested_at: shopstream_core::now_ms(),
                referrer: None,
                attributes,
            });
        }
    }
    (out, errors)
}

/// Targets by id from the records of the compacted topic, in order: the latest record per target wins.
pub fn latest(records: impl IntoIterator<Item = TrackingTarget>) -> BTreeMap<String, TrackingTarget> {
    let mut out = BTreeMap::new();
    for t in records {
        out.insert(t.target_id.clone(), t);
    }
    out
}

/// Stable stagger group of a target among `groups`.
pub fn stagger_group(target_id: &str, groups: u32) -> u32 {
    let h = stable_id(&["stagger", target_id]);
    let n = u64::from_str_radix(&h[..8], 16).unwrap_or(0);
    (n % u64::from(groups.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(keyword: Option<&str>, list_url: Option<&str>) -> TrackingTarget {
        TrackingTarget {
            target_id: "t-1".into(),
            source: "naver".into(),
            keyword: keyword.map(str::to_string),
            list_url: list_url.map(str::to_string),
            product: "p9".into(),
            tier: "high".into(),
            status: "active".into(),
            timezone: "Asia/Seoul".into(),
            pages: None,
            updated_at: 0,
        }
    }

    fn cfg() -> TrackConfig {
        TrackConfig {
            search_url: Some(
                "http://s.test/v1/search/shop.json?query={keyword}&display={page_size}&start={start}".into(),
            ),
            page_size: 40,
            pages: 3,
            timezone: "UTC".into(),
            api: false,
            account: None,
        }
    }

    fn targets_of(reqs: &CrawlRequest) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(&reqs.attributes[attr::TARGETS]).expect("json");
        v.as_array().expect("array").iter().map(|t| t["id"].as_str().expect("id").to_string()).collect()
    }

    #[test]
    fn a_keyword_run_is_one_request_per_page() {
        let (reqs, errors) = run_requests(&[&target(Some("반팔 티"), None)], &cfg(), &BTreeMap::new(), "run-1", 77);
        assert!(errors.is_empty());
        assert_eq!(reqs.len(), 3);
        assert_eq!(
            reqs[2].url,
            "http://s.test/v1/search/shop.json?query=%EB%B0%98%ED%8C%94+%ED%8B%B0&display=40&start=81"
        );
        assert_eq!(reqs[1].attributes[attr::TARGET_PAGE], "2");
        assert_eq!(reqs[1].attributes[attr::TARGET_PAGES], "3");
        assert_eq!(reqs[0].attributes[attr::RUN_AT], "77");
        assert_eq!(targets_of(&reqs[0]), ["t-1"]);
        assert_eq!(reqs[0].priority, "high");
        assert!(reqs.iter().all(|r| r.crawl_id == "run-1" && r.kind == "search"));
    }

    #[test]
    fn an_api_search_names_the_account_that_signs_it_and_carries_no_credential() {
        let signed = TrackConfig { api: true, account: Some("main".into()), ..cfg() };
        let (reqs, errors) = run_requests(&[&target(Some("k"), None)], &signed, &BTreeMap::new(), "r", 0);
        assert!(errors.is_empty());
        assert!(reqs.iter().all(|r| r.kind == "api" && r.attributes["account"] == "main"));
        assert!(reqs[0].url.ends_with("&start=1#account=main"), "{}", reqs[0].url);
        let (plain, _) = run_requests(&[&target(Some("k"), None)], &cfg(), &BTreeMap::new(), "r", 0);
        assert!(plain.iter().all(|r| !r.attributes.contains_key("account") && !r.url.contains('#')));
    }

    #[test]
    fn targets_of_one_keyword_share_the_fetches_to_the_deepest_depth() {
        let a = target(Some("k"), None);
        let mut b = TrackingTarget { target_id: "t-2".into(), tier: "low".into(), pages: Some(5), ..a.clone() };
        b.product = "p2".into();
        let c = TrackingTarget { target_id: "t-3".into(), keyword: Some("other".into()), ..a.clone() };
        let (reqs, errors) = run_requests(&[&a, &b, &c], &cfg(), &BTreeMap::new(), "r", 0);
        assert!(errors.is_empty());
        let k: Vec<&CrawlRequest> = reqs.iter().filter(|r| r.url.contains("query=k&")).collect();
        assert_eq!(k.len(), 5, "the deepest target's depth");
        assert_eq!(targets_of(k[0]), ["t-1", "t-2"]);
        assert_eq!(targets_of(k[4]), ["t-2"], "page 4 and 5 only for the deeper target");
        assert_eq!(k[0].priority, "high", "the most urgent tier");
        assert_eq!(reqs.len(), 8);
    }

    #[test]
    fn list_urls_page_only_with_a_placeholder_and_targets_may_set_their_depth() {
        let (one, _) = run_requests(&[&target(None, Some("http://s.test/best"))], &cfg(), &BTreeMap::new(), "r", 0);
        assert_eq!(one.len(), 1);
        let mut t = target(None, Some("http://s.test/best?page={page}"));
        t.pages = Some(2);
        let (two, _) = run_requests(&[&t], &cfg(), &BTreeMap::new(), "r", 0);
        assert_eq!(
            two.iter().map(|r| r.url.as_str()).collect::<Vec<_>>(),
            ["http://s.test/best?page=1", "http://s.test/best?page=2"]
        );
    }

    #[test]
    fn tiers_map_to_lanes() {
        let tiers = BTreeMap::from([("paid".to_string(), "high".to_string())]);
        let mut t = target(Some("k"), None);
        t.tier = "paid".into();
        assert_eq!(run_requests(&[&t], &cfg(), &tiers, "r", 0).0[0].priority, "high");
        t.tier = "gold".into();
        let (reqs, errors) = run_requests(&[&t], &cfg(), &tiers, "r", 0);
        assert!(reqs.is_empty());
        assert!(matches!(errors[..], [TrackError::Tier(..)]));
    }

    #[test]
    fn ids_and_groups_are_stable() {
        assert_eq!(target_id("n", Some("k"), None, "p"), target_id("n", Some("k"), None, "p"));
        assert_ne!(target_id("n", Some("k"), None, "p"), target_id("n", Some("k2"), None, "p"));
        let g = stagger_group("t-abc", 4);
        assert!(g < 4);
        assert_eq!(g, stagger_group("t-abc", 4));
        let spread: std::collections::BTreeSet<u32> = (0..100).map(|i| stagger_group(&format!("t-{i}"), 4)).collect();
        assert_eq!(spread.len(), 4, "100 targets reach every group");
    }

    #[test]
    fn config_is_validated() {
        assert!(cfg().validate().is_ok());
        assert!(TrackConfig { search_url: Some("http://x/?q=1".into()), ..cfg() }.validate().is_err());
        assert!(TrackConfig { timezone: "Mars/Base".into(), ..cfg() }.validate().is_err());
        assert!(TrackConfig { pages: 0, ..cfg() }.validate().is_err());
    }
}
