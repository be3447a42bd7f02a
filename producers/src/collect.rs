//! `shopstream collect`: the first request of every (account, window chunk) of a seller-API endpoint.
//! The extractor follows each API's own paging signal from there, one crawl request per page.

use std::collections::BTreeMap;

use shopstream_core::api::{self, attr, Accounts, ApiConfig, Window};
use shopstream_core::{now_ms, Topics};
use shopstream_schemas::CrawlRequest;

/// What to collect.
#[derive(Debug, Clone)]
pub struct CollectPlan {
    pub crawl_id: String,
    pub source: String,
    pub endpoint: String,
    /// Account ids; empty with `all_accounts`.
    pub accounts: Vec<String>,
    pub all_accounts: bool,
    /// The window `[from, to)` in Unix ms, for endpoints with a `window`.
    pub window: Option<(i64, i64)>,
    pub priority: String,
}

/// One request to publish: topic, partition key (its rate budget), request.
pub type Planned = (String, Vec<u8>, CrawlRequest);

impl CollectPlan {
    /// The requests, checked against the source's config and accounts. Errors name what is missing,
    /// never a secret.
    pub fn requests(&self, cfg: &ApiConfig, accounts: &Accounts, topics: &Topics) -> Result<Vec<Planned>, String> {
        let topic = topics
            .crawl_for(&self.priority)
            .ok_or_else(|| format!("unknown priority {:?} (high, normal or low)", self.priority))?;
        let endpoint = cfg.endpoints.get(&self.endpoint).ok_or_else(|| {
            let known: Vec<&String> = cfg.endpoints.keys().collect();
            format!("source {:?} has no endpoint {:?} (known: {known:?})", self.source, self.endpoint)
        })?;
        let ids = if self.all_accounts {
            accounts.ids(&self.source)
        } else {
            for id in &self.accounts {
                if accounts.get(&self.source, id).is_none() {
                    return Err(format!(
                        "no credentials for account {id:?} of source {:?} (SHOPSTREAM_SECRETS or \
                         SHOPSTREAM_ACCOUNT__… variables)",
                        self.source
                    ));
                }
            }
            self.accounts.clone()
        };
        if ids.is_empty() {
            return Err(format!("source {:?} has no accounts to collect", self.source));
        }
        let chunks = match (&endpoint.window, self.window) {
            (Some(w), Some((from, to))) => {
                let w = Window::from_config(w)?;
                let chunks = w.chunks(from, to);
                if chunks.is_empty() {
                    return Err("the window is empty (--since must be before now)".into());
                }
                chunks
            }
            (Some(_), None) => return Err(format!("endpoint {:?} needs --since or --window", self.endpoint)),
            (None, Some(_)) => {
                return Err(format!("endpoint {:?} has no window: --since/--window do not apply", self.endpoint))
            }
            (None, None) => vec![api::Chunk { from_ms: 0, to_ms: 0, from: String::new(), to: String::new() }],
        };
        let mut out = Vec::with_capacity(ids.len() * chunks.len());
        for id in &ids {
            let Some(account) = accounts.get(&self.source, id) else { continue };
            for c in &chunks {
                let vars = |escape: bool| {
                    move |name: &str| match name {
                        "account" => Some(id.clone()),
                        "from" => Some(if escape { api::query_escape(&c.from) } else { c.from.clone() }),
                        "to" => Some(if escape { api::query_escape(&c.to) } else { c.to.clone() }),
                        n if cfg.public.iter().any(|p| p == n) => account.var(n).map(|s| s.expose().to_string()),
                        _ => None,
                    }
                };
                let url = api::expand(&endpoint.url, &vars(true))
                    .map_err(|e| format!("account {id}: endpoint {}: {e}", self.endpoint))?;
                let body = endpoint
                    .body
                    .as_deref()
                    .map(|b| api::expand(b, &vars(false)))
                    .transpose()
                    .map_err(|e| format!("account {id}: endpoint {} body: {e}", self.endpoint))?;
                let mut parsed = url::Url::parse(&url).map_err(|e| format!("account {id}: {url:?}: {e}"))?;
                // Many APIs name the account only in the credentials (a token, a cookie): the fragment
                // (never sent) keeps each account's URL its own in the crawl memory, fetch_log and runs.
                parsed.set_fragment(Some(&api::account_fragment(id)));
                let mut attributes = BTreeMap::new();
                attributes.insert(attr::ACCOUNT.to_string(), id.clone());
                attributes.insert(attr::ENDPOINT.to_string(), self.endpoint.clone());
                attributes.insert(attr::MAPPER.to_string(), endpoint.mapper.clone());
                attributes.insert(attr::PAGE.to_string(), "1".into());
                attributes.insert(attr::COLLECTION.to_string(), self.crawl_id.clone());
                if let Some(body) = body {
                    attributes.insert(attr::BODY.to_string(), body);
                }
                if endpoint.window.is_some() {
                    attributes.insert(attr::WINDOW_FROM.to_string(), c.from_ms.to_string());
                    attributes.insert(attr::WINDOW_TO.to_string(), c.to_ms.to_string());
                }
                let req = CrawlRequest {
                    crawl_id: self.crawl_id.clone(),
                    source: self.source.clone(),
                    url: parsed.to_string(),
                    kind: "api".into(),
                    depth: 0,
                    priority: self.priority.clone(),
                    requested_at: now_ms(),
                    referrer: None,
                    attributes,
                };
                let key = cfg.request_key(&self.source, &self.endpoint, id).into_bytes();
                out.push((topic.to_string(), key, req));
            }
        }
        Ok(out)
    }
}

/// `--window 7d` or `--since RFC3339`, up to now: `[from, to)` in Unix ms.
pub fn window_from_args(since: Option<&str>, window: Option<&str>, now: i64) -> Result<Option<(i64, i64)>, String> {
    match (since, window) {
        (Some(_), Some(_)) => Err("give --since or --window, not both".into()),
        (Some(s), None) => {
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|e| format!("--since {s:?}: not an RFC 3339 time ({e})"))?
                .timestamp_millis();
            Ok(Some((t, now)))
        }
        (None, Some(w)) => {
            let d = api::parse_duration(w).map_err(|e| format!("--window {e}"))?;
            Ok(Some((now - d.as_millis() as i64, now)))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ApiConfig {
        toml::from_str(
            r#"
            public = ["base"]
            rate = { per_second = 20, scope = "endpoint" }
            auth = { scheme = "headers", headers = { "X-Shopify-Access-Token" = "{token}" } }
            [endpoints.orders]
            url = "{base}/shop/{account}/orders.json?updated_at_min={from}&updated_at_max={to}&limit=50"
            mapper = "shopify_orders"
            paging = { style = "link_header" }
            window = { max = "1d", overlap = "10m" }
            "#,
        )
        .expect("config")
    }

    #[test]
    fn a_window_becomes_one_request_per_account_and_chunk_keyed_by_its_budget() {
        let file = "[shop.a1]\nbase = \"http://h\"\ntoken = \"tok-SECRET-1\"\n[shop.a2]\nbase = \"http://h\"\ntoken = \"tok-SECRET-2\"\n";
        let accounts = Accounts::parse(Some(file), &[], &["shop"]).expect("accounts");
        let day = 86_400_000;
        let plan = CollectPlan {
            crawl_id: "c1".into(),
            source: "shop".into(),
            endpoint: "orders".into(),
            accounts: vec![],
            all_accounts: true,
            window: Some((1_700_000_000_000, 1_700_000_000_000 + 3 * day)),
            priority: "normal".into(),
        };
        let reqs = plan.requests(&cfg(), &accounts, &Topics::default()).expect("plan");
        assert_eq!(reqs.len(), 6, "2 accounts x 3 days");
        assert!(reqs.iter().all(|(_, key, _)| key == b"api:shop/orders"), "one budget for the endpoint");
        let (_, _, r) = &reqs[0];
        assert_eq!(r.kind, "api");
        assert_eq!(r.attributes["account"], "a1");
        assert_eq!(r.attributes["mapper"], "shopify_orders");
        assert!(r.url.starts_with("http://h/shop/a1/orders.json?updated_at_min=2023-11-14T22%3A13%3A20Z"), "{}", r.url);
        assert!(r.url.ends_with("#account=a1"), "the account rides in the fragment: {}", r.url);
        assert!(reqs.iter().all(|(_, _, r)| !r.url.contains("SECRET") && !format!("{r:?}").contains("SECRET")));
        let one = CollectPlan { all_accounts: false, accounts: vec!["nope".into()], ..plan.clone() };
        assert!(one.requests(&cfg(), &accounts, &Topics::default()).expect_err("unknown").contains("nope"));
        let no_window = CollectPlan { window: None, ..plan };
        assert!(no_window.requests(&cfg(), &accounts, &Topics::default()).is_err());
    }

    #[test]
    fn a_post_body_is_written_from_public_variables_and_the_window() {
        let cfg: ApiConfig = toml::from_str(
            r#"
            public = ["base"]
            [endpoints.query]
            method = "POST"
            url = "{base}/query"
            body = '{"from":"{from}","to":"{to}"}'
            mapper = "naver_product_orders"
            window = { max = "1d" }
            "#,
        )
        .expect("config");
        let accounts = Accounts::parse(Some("[s.a1]\nbase = \"http://h\"\n"), &[], &["s"]).expect("accounts");
        let plan = CollectPlan {
            crawl_id: "c".into(),
            source: "s".into(),
            endpoint: "query".into(),
            accounts: vec!["a1".into()],
            all_accounts: false,
            window: Some((1_700_000_000_000, 1_700_000_000_000 + 3_600_000)),
            priority: "normal".into(),
        };
        let reqs = plan.requests(&cfg, &accounts, &Topics::default()).expect("plan");
        assert_eq!(reqs[0].2.attributes["body"], r#"{"from":"2023-11-14T22:13:20Z","to":"2023-11-14T23:13:20Z"}"#);
        let bad: ApiConfig = toml::from_str(
            "[endpoints.q]\nmethod = \"POST\"\nurl = \"http://h/q\"\nbody = \"{token}\"\nmapper = \"m\"\n",
        )
        .expect("config");
        assert!(bad.validate("api").iter().any(|p| p.contains("body: {token} is not a public")));
    }

    #[test]
    fn windows_come_from_since_or_a_duration() {
        let now = 1_700_000_000_000;
        assert_eq!(window_from_args(None, Some("7d"), now).expect("ok"), Some((now - 7 * 86_400_000, now)));
        assert_eq!(
            window_from_args(Some("2023-11-14T00:00:00Z"), None, now).expect("ok"),
            Some((1_699_920_000_000, now))
        );
        assert!(window_from_args(Some("x"), None, now).is_err());
        assert!(window_from_args(Some("2023-11-14T00:00:00Z"), Some("1d"), now).is_err());
    }
}
