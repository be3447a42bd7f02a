//! The seller-API side of the extractor against the sandbox's seller center, without a broker: every
//! auth scheme signs its requests as the marketplace expects, and following each API's paging signal
//! page by page yields exactly the orders the sandbox generated (read by the real mappers).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use shopstream_core::api::{self, attr, Accounts, ApiConfig, Window};
use shopstream_core::metrics::Metrics;
use shopstream_extractors::http::api::ApiRuntime;
use shopstream_extractors::http::fetch::{self, Fetched};
use shopstream_extractors::http::SourceFetch;
use shopstream_parse::seller::{parse_seller, SellerContext, SellerMapper};
use shopstream_sandbox::seller::{self, SellerConfig, TruthField};
use shopstream_schemas::CrawlRequest;

const CONFIG: &str = include_str!("../../config/seller-sandbox.toml");
const DAY: i64 = 86_400_000;

struct Source {
    api: ApiConfig,
    fetch: SourceFetch,
    currency: Option<String>,
}

fn sources() -> BTreeMap<String, Source> {
    let table: toml::Table = CONFIG.parse().expect("config");
    let sources = table["sources"].as_table().expect("sources");
    sources
        .iter()
        .map(|(name, s)| {
            let api: ApiConfig = s["api"].clone().try_into().expect("api section");
            let fetch: SourceFetch = s.get("fetch").cloned().map(|f| f.try_into().expect("fetch")).unwrap_or_default();
            let currency = s.get("default_currency").and_then(|c| c.as_str()).map(str::to_string);
            (name.clone(), Source { api, fetch, currency })
        })
        .collect()
}

/// A sandbox serving the seller center: its base URL, the token that stops it, and its seller handle
/// (ground truth and request stats).
async fn start(
    cfg: SellerConfig,
) -> (String, tokio_util::sync::CancellationToken, std::sync::Arc<shopstream_sandbox::Seller>) {
    let sandbox = shopstream_sandbox::Sandbox::bind(shopstream_sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        seller: cfg,
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let base = sandbox.url().trim_end_matches('/').to_string();
    let seller = sandbox.seller();
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move { sandbox.run(t).await });
    (base, token, seller)
}

/// Collect one endpoint of one account over `[from, to)` page by page; the order ids read.
async fn collect(
    rt: &ApiRuntime,
    src: &Source,
    source: &str,
    endpoint: &str,
    account: &str,
    accounts: &Accounts,
    (from, to): (i64, i64),
) -> (BTreeSet<String>, usize) {
    let e = &src.api.endpoints[endpoint];
    let window = Window::from_config(e.window.as_ref().expect("window")).expect("window");
    let client = fetch::client(&src.fetch).expect("client");
    let mapper = SellerMapper::from_name(&e.mapper).expect("mapper");
    let acct = accounts.get(source, account).expect("account");
    let (mut ids, mut pages) = (BTreeSet::new(), 0);
    for c in window.chunks(from, to) {
        let url = api::expand(&e.url, &|n| match n {
            "account" => Some(account.to_string()),
            "from" => Some(api::query_escape(&c.from)),
            "to" => Some(api::query_escape(&c.to)),
            n => acct.var(n).map(|s| s.expose().to_string()),
        })
        .expect("url");
        // As `collect` writes it: the account in the fragment (never sent).
        let url = format!("{url}#{}", api::account_fragment(account));
        let mut attributes = BTreeMap::new();
        attributes.insert(attr::ACCOUNT.to_string(), account.to_string());
        attributes.insert(attr::ENDPOINT.to_string(), endpoint.to_string());
        let mut req = Some(CrawlRequest {
            crawl_id: "t".into(),
            source: source.into(),
            url,
            kind: "api".into(),
            depth: 0,
            priority: "normal".into(),
            requested_at: 0,
            referrer: None,
            attributes,
        });
        while let Some(r) = req.take() {
            let url = url::Url::parse(&r.url).expect("url");
            let response = match rt.fetch(&r, &url, &client, &src.fetch).await {
                Fetched::Response { response, .. } => response,
                other => panic!("{source} {account} {}: {other:?}", r.url),
            };
            assert_eq!(response.status, 200, "{source} {}: {}", r.url, String::from_utf8_lossy(&response.body));
            pages += 1;
            let ctx = SellerContext { default_currency: src.currency.as_deref() };
            let parsed = parse_seller(mapper, &response.body, &ctx).unwrap_or_else(|e| panic!("{source}: {e}"));
            ids.extend(parsed.orders.into_iter().map(|o| o.order_id));
            ids.extend(parsed.inquiries.into_iter().map(|q| q.inquiry_id));
            req = rt.next_request(&r, &url, &response).expect("paging");
        }
    }
    (ids, pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth_scheme_and_paging_style_reads_exactly_the_sandboxs_orders() {
    let anchor = shopstream_core::now_ms() / 1000 * 1000;
    let cfg = SellerConfig { accounts: 3, anchor_ms: Some(anchor), ..Default::default() };
    let (base, _stop, _) = start(cfg.clone()).await;
    let dir = tempfile::tempdir().expect("dir");
    std::env::set_var("SHOPSTREAM_SESSIONS_DIR", dir.path());
    let srcs = sources();
    let names: Vec<&str> = srcs.keys().map(String::as_str).collect();
    let accounts = Accounts::parse(Some(&seller::secrets_toml(&cfg, &base)), &[], &names).expect("accounts");
    let apis: HashMap<String, ApiConfig> = srcs.iter().map(|(k, v)| (k.clone(), v.api.clone())).collect();
    let rt = ApiRuntime::new(apis, accounts.clone(), Metrics::new());
    let from = anchor - 4 * DAY;
    let kst = 9 * 3_600_000;
    let day = |ms: i64| (ms + kst).div_euclid(DAY) * DAY - kst;
    for account in ["acct-001", "acct-002"] {
        let changed = seller::truth(&cfg, anchor, account, TruthField::Changed, from, anchor + 1000);
        let created = seller::truth(&cfg, anchor, account, TruthField::Created, day(from), day(anchor) + DAY);
        // Etsy's window is exact seconds of creation, not whole days.
        let created_exact = seller::truth(&cfg, anchor, account, TruthField::Created, from, anchor + 1000);
        for (source, endpoint, truth) in [
            ("shopify-sandbox", "orders", &changed),
            ("woo-sandbox", "orders", &changed),
            ("naver-commerce-sandbox", "last-changed-statuses", &changed),
            ("coupang-sandbox", "ordersheets", &created),
            ("center-sandbox", "orders", &created),
            ("etsy-sandbox", "receipts", &created_exact),
        ] {
            let (ids, pages) =
                collect(&rt, &srcs[source], source, endpoint, account, &accounts, (from, anchor + 1000)).await;
            let want: BTreeSet<String> = truth.order_ids.iter().cloned().collect();
            assert!(!want.is_empty());
            assert_eq!(ids, want, "{source} {account}: {pages} pages");
            assert!(pages > 5, "{source} {account}: the API's paging was followed ({pages} pages for 5 windows)");
        }
    }
    // Page numbers up to the body's total pages: Coupang's customer inquiries (asked in the window).
    for account in ["acct-001", "acct-002"] {
        let want: BTreeSet<String> =
            seller::inquiry_ids(&cfg, anchor, account, day(from), day(anchor) + DAY).into_iter().collect();
        let (ids, pages) = collect(
            &rt,
            &srcs["coupang-sandbox"],
            "coupang-sandbox",
            "inquiries",
            account,
            &accounts,
            (from, anchor + 1000),
        )
        .await;
        assert!(want.len() > 5, "{want:?}");
        assert_eq!(ids, want, "coupang inquiries {account}: {pages} pages");
        assert!(pages > 1, "paged by number");
    }
    // The secrets never show in what the runtime would record.
    let secrets: Vec<String> = {
        let c = seller::credentials(&cfg, "acct-001").expect("creds");
        vec![c.shopify_token, c.woo_consumer_secret, c.coupang_secret_key, c.naver_client_secret, c.center_password]
    };
    for s in &secrets {
        assert_eq!(rt.redact(&format!("x {s} y")), "x *** y");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_by_every_scheme() {
    let anchor = shopstream_core::now_ms() / 1000 * 1000;
    let cfg = SellerConfig { accounts: 1, anchor_ms: Some(anchor), ..Default::default() };
    let (base, _stop, _) = start(cfg.clone()).await;
    let srcs = sources();
    let names: Vec<&str> = srcs.keys().map(String::as_str).collect();
    // Every secret of the account replaced by a wrong one (a valid bcrypt salt for Naver's).
    let wrong = seller::secrets_toml(&cfg, &base)
        .lines()
        .map(|l| match l.split_once(" = ") {
            Some((k, _)) if k == "client_secret" => format!("{k} = \"$2a$04$zzzzzzzzzzzzzzzzzzzzzz\""),
            Some((k, v)) if !matches!(k, "base" | "vendor_id" | "username") => format!("{k} = \"x{}", &v[1..]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let accounts = Accounts::parse(Some(&wrong), &[], &names).expect("accounts");
    let apis: HashMap<String, ApiConfig> = srcs.iter().map(|(k, v)| (k.clone(), v.api.clone())).collect();
    let rt = ApiRuntime::new(apis, accounts.clone(), Metrics::new());
    for (source, endpoint) in [
        ("shopify-sandbox", "orders"),
        ("woo-sandbox", "orders"),
        ("coupang-sandbox", "ordersheets"),
        ("naver-commerce-sandbox", "last-changed-statuses"),
        ("center-sandbox", "orders"),
    ] {
        let src = &srcs[source];
        let e = &src.api.endpoints[endpoint];
        let w = Window::from_config(e.window.as_ref().expect("w")).expect("w");
        let c = &w.chunks(anchor - DAY, anchor)[0];
        let acct = accounts.get(source, "acct-001").expect("account");
        let url = api::expand(&e.url, &|n| match n {
            "account" => Some("acct-001".into()),
            "from" => Some(api::query_escape(&c.from)),
            "to" => Some(api::query_escape(&c.to)),
            n => acct.var(n).map(|s| s.expose().to_string()),
        })
        .expect("url");
        let mut attributes = BTreeMap::new();
        attributes.insert(attr::ACCOUNT.to_string(), "acct-001".to_string());
        attributes.insert(attr::ENDPOINT.to_string(), endpoint.to_string());
        let r = CrawlRequest {
            crawl_id: "t".into(),
            source: source.into(),
            url: url.clone(),
            kind: "api".into(),
            depth: 0,
            priority: "normal".into(),
            requested_at: 0,
            referrer: None,
            attributes,
        };
        let client = fetch::client(&src.fetch).expect("client");
        let got = rt.fetch(&r, &url::Url::parse(&url).expect("url"), &client, &src.fetch).await;
        let refused = match &got {
            Fetched::Response { response, .. } => response.status == 401,
            Fetched::Failed { error, .. } => error.contains("refused") || error.contains("401"),
            Fetched::Refused { .. } => false,
        };
        assert!(refused, "{source}: wrong credentials are refused, got {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_keeps_requests_under_the_marketplaces_limit() {
    let anchor = shopstream_core::now_ms() / 1000 * 1000;
    let limit =
        shopstream_sandbox::RateLimit { per_second: 10.0, burst: 1, scope: shopstream_sandbox::RateScope::Endpoint };
    let cfg = SellerConfig { accounts: 3, anchor_ms: Some(anchor), rate: Some(limit), ..Default::default() };
    let (base, stop, seller_handle) = start(cfg.clone()).await;
    let mut srcs = sources();
    let shopify = srcs.get_mut("shopify-sandbox").expect("shopify");
    // A budget of 8/s shared by every account's requests, sent from several tasks at once: 125 ms between
    // requests against the marketplace's 100 ms, the margin a loaded machine's scheduling needs.
    shopify.api.rate =
        Some(api::RateConfig { per_second: 8.0, burst: 1, concurrency: 4, scope: api::RateScope::Endpoint });
    let names: Vec<&str> = srcs.keys().map(String::as_str).collect();
    let accounts = Accounts::parse(Some(&seller::secrets_toml(&cfg, &base)), &[], &names).expect("accounts");
    let apis: HashMap<String, ApiConfig> = srcs.iter().map(|(k, v)| (k.clone(), v.api.clone())).collect();
    let rt = std::sync::Arc::new(ApiRuntime::new(apis, accounts.clone(), Metrics::new()));
    let srcs = std::sync::Arc::new(srcs);
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for account in seller::account_ids(&cfg) {
        let (rt, srcs, accounts) = (rt.clone(), srcs.clone(), accounts.clone());
        tasks.push(tokio::spawn(async move {
            let src = &srcs["shopify-sandbox"];
            collect(&rt, src, "shopify-sandbox", "orders", &account, &accounts, (anchor - 2 * DAY, anchor)).await.1
        }));
    }
    let mut pages = 0;
    for t in tasks {
        pages += t.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = seller_handle.stats();
    let e = &stats.endpoints["shopify.orders"];
    let gaps: Vec<i64> = e.arrivals_ms.windows(2).map(|w| w[1] - w[0]).collect();
    // The observed rate is read from the arrival times. The sandbox's own bucket decides when it gets to
    // a request; on a loaded machine a request whose handler ran late can find it empty once.
    assert!(e.too_many <= 1, "no request crossed the limit: gaps {gaps:?} {stats:?}");
    assert!(e.max_in_1s <= 10, "at most 10 requests in any second, saw {}", e.max_in_1s);
    assert!(pages >= 12, "{pages} pages");
    // The budget, not the client, is the bottleneck: close to pages / 8 (the first is free).
    let bound = (pages - 1) as f64 / 8.0;
    assert!(
        elapsed >= bound * 0.95 && elapsed <= bound * 2.0 + 2.0,
        "{elapsed:.2} s for {pages} pages (bound {bound:.2} s)"
    );
    stop.cancel();
}

/// One request of `endpoint` for `account` over the last day.
async fn one_page(
    rt: &ApiRuntime,
    src: &Source,
    source: &str,
    endpoint: &str,
    account: &str,
    accounts: &Accounts,
    anchor: i64,
) -> Fetched {
    let e = &src.api.endpoints[endpoint];
    let w = Window::from_config(e.window.as_ref().expect("w")).expect("w");
    let c = &w.chunks(anchor - DAY, anchor)[0];
    let acct = accounts.get(source, account).expect("account");
    let url = api::expand(&e.url, &|n| match n {
        "account" => Some(account.to_string()),
        "from" => Some(api::query_escape(&c.from)),
        "to" => Some(api::query_escape(&c.to)),
        n => acct.var(n).map(|s| s.expose().to_string()),
    })
    .expect("url");
    let mut attributes = BTreeMap::new();
    attributes.insert(attr::ACCOUNT.to_string(), account.to_string());
    attributes.insert(attr::ENDPOINT.to_string(), endpoint.to_string());
    let r = CrawlRequest {
        crawl_id: "t".into(),
        source: source.into(),
        url: url.clone(),
        kind: "api".into(),
        depth: 0,
        priority: "normal".into(),
        requested_at: 0,
        referrer: None,
        attributes,
    };
    let client = fetch::client(&src.fetch).expect("client");
    rt.fetch(&r, &url::Url::parse(&url).expect("url"), &client, &src.fetch).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_renewed_and_a_second_factor_is_a_health_reason_not_a_crash() {
    let anchor = shopstream_core::now_ms() / 1000 * 1000;
    let cfg = SellerConfig { accounts: 3, anchor_ms: Some(anchor), session_ttl_secs: 1, ..Default::default() };
    let (base, _stop, _) = start(cfg.clone()).await;
    let srcs = sources();
    let names: Vec<&str> = srcs.keys().map(String::as_str).collect();
    let accounts = Accounts::parse(Some(&seller::secrets_toml(&cfg, &base)), &[], &names).expect("accounts");
    let apis: HashMap<String, ApiConfig> = srcs.iter().map(|(k, v)| (k.clone(), v.api.clone())).collect();
    let metrics = Metrics::new();
    let rt = ApiRuntime::new(apis, accounts.clone(), metrics.clone());
    let src = &srcs["center-sandbox"];
    let ok = |f: &Fetched| matches!(f, Fetched::Response { response, .. } if response.status == 200 && response.body.starts_with(b"{"));
    let first = one_page(&rt, src, "center-sandbox", "orders", "acct-001", &accounts, anchor).await;
    assert!(ok(&first), "{first:?}");
    // The 1-second session expires: the site sends the next request to its login page; the runtime
    // logs in again and sends it again.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let second = one_page(&rt, src, "center-sandbox", "orders", "acct-001", &accounts, anchor).await;
    assert!(ok(&second), "{second:?}");
    assert_eq!(metrics.get("api_logins", &[("source", "center-sandbox")]), 2, "logged in twice");
    // acct-003 needs a second factor: the request is refused with the reason (a person must act, so it
    // is not retried blindly), and the health says so.
    let otp = one_page(&rt, src, "center-sandbox", "orders", "acct-003", &accounts, anchor).await;
    match &otp {
        Fetched::Refused { reason } => {
            assert!(reason.contains("second factor") && reason.contains("session import"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (health, reasons) = metrics.health();
    assert_ne!(health, shopstream_core::metrics::Health::Healthy);
    assert!(reasons.iter().any(|r| r.contains("center-sandbox/acct-003")), "{reasons:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_token_is_cached_and_renewed_before_it_expires() {
    let anchor = shopstream_core::now_ms() / 1000 * 1000;
    // Tokens live 3 s; the source renews 2 s before expiry.
    let cfg = SellerConfig { accounts: 1, anchor_ms: Some(anchor), token_ttl_secs: 3, ..Default::default() };
    let (base, stop, seller_handle) = start(cfg.clone()).await;
    let mut srcs = sources();
    let naver = srcs.get_mut("naver-commerce-sandbox").expect("naver");
    if let api::AuthConfig::Oauth2ClientCredentials { refresh_before, .. } = &mut naver.api.auth {
        *refresh_before = Some("2s".into());
    }
    let names: Vec<&str> = srcs.keys().map(String::as_str).collect();
    let accounts = Accounts::parse(Some(&seller::secrets_toml(&cfg, &base)), &[], &names).expect("accounts");
    let apis: HashMap<String, ApiConfig> = srcs.iter().map(|(k, v)| (k.clone(), v.api.clone())).collect();
    let metrics = Metrics::new();
    let rt = ApiRuntime::new(apis, accounts.clone(), metrics.clone());
    let src = &srcs["naver-commerce-sandbox"];
    let ok = |f: &Fetched| matches!(f, Fetched::Response { response, .. } if response.status == 200);
    for _ in 0..3 {
        let f =
            one_page(&rt, src, "naver-commerce-sandbox", "last-changed-statuses", "acct-001", &accounts, anchor).await;
        assert!(ok(&f), "{f:?}");
    }
    assert_eq!(metrics.get("api_tokens_fetched", &[("source", "naver-commerce-sandbox")]), 1, "one token, cached");
    // 1.5 s later the token has 1.5 s left: inside the renewal margin, so a new one is fetched first.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let f = one_page(&rt, src, "naver-commerce-sandbox", "last-changed-statuses", "acct-001", &accounts, anchor).await;
    assert!(ok(&f), "{f:?}");
    assert_eq!(metrics.get("api_tokens_fetched", &[("source", "naver-commerce-sandbox")]), 2, "renewed before expiry");
    let stats = seller_handle.stats();
    assert_eq!(
        stats.endpoints["naver.last_changed_statuses"].unauthorized, 0,
        "no request went out with an expired token"
    );
    assert_eq!(stats.endpoints["naver.token"].ok, 2);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_endpoint_sends_its_body_and_headers() {
    let (port, seen) = one_shot_server("{\"data\":[]}");
    let api: ApiConfig = toml::from_str(
        r#"
        public = ["base"]
        [endpoints.query]
        method = "POST"
        url = "{base}/orders/query"
        body = '{"from":"{from}","to":"{to}","seller":"{account}"}'
        headers = { "X-Api-Key" = "{api_key}" }
        mapper = "naver_product_orders"
        window = { max = "1d" }
        "#,
    )
    .expect("api");
    assert!(api.validate("api").is_empty(), "{:?}", api.validate("api"));
    let secrets = format!("[post.a1]\nbase = \"http://127.0.0.1:{port}\"\napi_key = \"KEY-SECRET-123\"\n");
    let accounts = Accounts::parse(Some(&secrets), &[], &["post"]).expect("accounts");
    let rt = ApiRuntime::new(HashMap::from([("post".to_string(), api)]), accounts, Metrics::new());
    let mut attributes = BTreeMap::new();
    attributes.insert(attr::ACCOUNT.to_string(), "a1".to_string());
    attributes.insert(attr::ENDPOINT.to_string(), "query".to_string());
    attributes.insert(
        attr::BODY.to_string(),
        r#"{"from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z","seller":"a1"}"#.to_string(),
    );
    let url = format!("http://127.0.0.1:{port}/orders/query#account=a1");
    let r = CrawlRequest {
        crawl_id: "t".into(),
        source: "post".into(),
        url: url.clone(),
        kind: "api".into(),
        depth: 0,
        priority: "normal".into(),
        requested_at: 0,
        referrer: None,
        attributes,
    };
    let rules = SourceFetch { allow_private_network: true, max_attempts: 1, ..Default::default() };
    let client = fetch::client(&rules).expect("client");
    let got = rt.fetch(&r, &url::Url::parse(&url).expect("url"), &client, &rules).await;
    assert!(matches!(&got, Fetched::Response { response, .. } if response.status == 200), "{got:?}");
    let request = seen.join().expect("server");
    assert!(request.starts_with("POST /orders/query HTTP/1.1"), "{request}");
    assert!(request.to_ascii_lowercase().contains("x-api-key: key-secret-123"), "{request}");
    assert!(request.to_ascii_lowercase().contains("content-type: application/json"), "{request}");
    assert!(
        request.ends_with(r#"{"from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z","seller":"a1"}"#),
        "{request}"
    );
    assert!(!request.contains("#account"), "the fragment is never sent");
}

/// A one-shot HTTP server on 127.0.0.1 answering 200 with `body`; joins to the request it received.
fn one_shot_server(body: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = conn.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
        }
        let _ = conn.write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        String::from_utf8_lossy(&buf).into_owned()
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracked_search_is_signed_with_its_accounts_headers() {
    // The default config's Naver Open API source: tracked searches name the account `main`.
    let (port, seen) = one_shot_server("{\"total\":0,\"start\":1,\"display\":0,\"items\":[]}");
    let api: ApiConfig = toml::from_str(
        r#"auth = { scheme = "headers", headers = { "X-Naver-Client-Id" = "{client_id}", "X-Naver-Client-Secret" = "{client_secret}" } }"#,
    )
    .expect("api");
    let secrets = "[naver.main]\nclient_id = \"ID-4711\"\nclient_secret = \"SECRET-0815\"\n";
    let accounts = Accounts::parse(Some(secrets), &[], &["naver"]).expect("accounts");
    let rt = ApiRuntime::new(HashMap::from([("naver".to_string(), api)]), accounts, Metrics::new());
    let url = format!("http://127.0.0.1:{port}/v1/search/shop.json?query=k&display=40&start=1#account=main");
    let r = CrawlRequest {
        crawl_id: "run".into(),
        source: "naver".into(),
        url: url.clone(),
        kind: "api".into(),
        depth: 0,
        priority: "high".into(),
        requested_at: 0,
        referrer: None,
        attributes: BTreeMap::from([(attr::ACCOUNT.to_string(), "main".to_string())]),
    };
    let rules = SourceFetch { allow_private_network: true, max_attempts: 1, ..Default::default() };
    let client = fetch::client(&rules).expect("client");
    let parsed = url::Url::parse(&url).expect("url");
    let got = rt.fetch(&r, &parsed, &client, &rules).await;
    let response = match got {
        Fetched::Response { response, .. } => response,
        other => panic!("{other:?}"),
    };
    assert_eq!(response.status, 200);
    assert_eq!(rt.next_request(&r, &parsed, &response).expect("paging"), None, "a search pages by its own requests");
    let request = seen.join().expect("server").to_ascii_lowercase();
    assert!(request.starts_with("get /v1/search/shop.json?query=k&display=40&start=1 http/1.1"), "{request}");
    assert!(
        request.contains("x-naver-client-id: id-4711") && request.contains("x-naver-client-secret: secret-0815"),
        "{request}"
    );
}
