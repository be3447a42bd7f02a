//! Seller-center collection on the real services, against the sandbox's seller center: every auth
//! scheme (static header token, HTTP basic, Coupang HMAC, OAuth 2 client credentials with Naver's bcrypt
//! signature, a cookie login with CSRF and an imported session for an account behind a second factor)
//! and every paging style (Link header, X-WP-TotalPages, cursor, next-link in the body) end to end into
//! ClickHouse, exact against the sandbox's own data; secrets found nowhere; an expired session renewed;
//! an extractor killed mid-collection losing and doubling nothing.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{free_port, read_records, TestEnv};
use shopstream_sandbox::seller::{self, SellerConfig, TruthField};

const CONFIG: &str = include_str!("../config/seller-sandbox.toml");
const DAY: i64 = 86_400_000;

/// A sandbox serving the seller center with `seller`; returns its base URL and the cancel token.
fn start_seller_sandbox(seller: SellerConfig) -> (String, tokio_util::sync::CancellationToken) {
    common::start_sandbox_config(shopstream_sandbox::SandboxConfig { seller, ..Default::default() })
}

fn now_ms() -> i64 {
    shopstream_core::now_ms()
}

/// Every secret of every account (what must never be found).
fn all_secrets(cfg: &SellerConfig) -> Vec<String> {
    let mut out = Vec::new();
    for id in seller::account_ids(cfg) {
        let c = seller::credentials(cfg, &id).expect("credentials");
        out.extend([
            c.shopify_token,
            c.woo_consumer_key,
            c.woo_consumer_secret,
            c.coupang_access_key,
            c.coupang_secret_key,
            c.naver_client_id,
            c.naver_client_secret,
            c.center_password,
            c.etsy_keystring,
            c.etsy_token,
        ]);
        out.extend(c.center_otp);
    }
    out
}

struct Pipeline {
    env: TestEnv,
    extract: usize,
    transform: usize,
    load: usize,
    metrics_port: u16,
    secrets_path: std::path::PathBuf,
    sessions_dir: std::path::PathBuf,
}

impl Pipeline {
    fn start(name: &str, secrets: &str) -> Pipeline {
        let env = TestEnv::new(name, CONFIG);
        let secrets_path = env.dir.path().join("secrets.toml");
        std::fs::write(&secrets_path, secrets).expect("secrets file");
        let sessions_dir = env.dir.path().join("sessions");
        let metrics_port = free_port();
        let mut p = Pipeline { env, extract: 0, transform: 0, load: 0, metrics_port, secrets_path, sessions_dir };
        p.env.run_ok(&["topics"]);
        p.extract = p.spawn_extract();
        let t = p.cmd(&["transform"]);
        p.transform = p.env.spawn(t);
        let l = p.cmd(&["load"]);
        p.load = p.env.spawn(l);
        p
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.env.cmd(args);
        c.env("SHOPSTREAM_SECRETS", &self.secrets_path)
            .env("SHOPSTREAM_SESSIONS_DIR", &self.sessions_dir)
            .env("RUST_LOG", "info,shopstream=debug");
        c
    }

    fn spawn_extract(&mut self) -> usize {
        let c = self.cmd(&["extract", "--metrics-listen", &format!("127.0.0.1:{}", self.metrics_port)]);
        self.env.spawn(c)
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("shopstream");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "shopstream {args:?} failed:\n{text}");
        text
    }

    fn wait_idle(&self) {
        let out = self.cmd(&["wait-idle", "--timeout-secs", "420", "--settle-secs", "3"]).output().expect("wait-idle");
        assert!(
            out.status.success(),
            "wait-idle: {}\n--- extract:\n{}\n--- transform:\n{}\n--- load:\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&self.env.child_log(self.extract), 40),
            tail(&self.env.child_log(self.transform), 20),
            tail(&self.env.child_log(self.load), 20)
        );
    }

    /// Order ids in ClickHouse for one source and account.
    fn order_ids(&self, source: &str, account: &str) -> BTreeSet<String> {
        let db = &self.env.database;
        self.env
            .query_text(&format!(
                "SELECT DISTINCT order_id FROM {db}.order_observations FINAL WHERE source = '{source}' AND account = '{account}'"
            ))
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Log in to the seller center with the second factor (as a person would in a browser) and export the
/// session as a Netscape cookie file.
fn browser_session_with_second_factor(base: &str, username: &str, password: &str, otp: &str) -> String {
    let (base, username, password, otp) =
        (base.to_string(), username.to_string(), password.to_string(), otp.to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
            let client = reqwest::Client::builder().cookie_provider(jar.clone()).build().expect("client");
            let csrf = |html: &str| {
                let at = html.find("name=\"csrf_token\"").expect("csrf input");
                let rest = &html[at..];
                let v = rest.find("value=\"").expect("value") + 7;
                rest[v..v + rest[v..].find('"').expect("end")].to_string()
            };
            let form = client
                .get(format!("{base}/seller/center/login"))
                .send()
                .await
                .expect("GET login")
                .text()
                .await
                .expect("text");
            let token = csrf(&form);
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("username", username.as_str()),
                    ("password", password.as_str()),
                    ("csrf_token", token.as_str()),
                ])
                .finish();
            let page = client
                .post(format!("{base}/seller/center/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("POST login");
            assert!(page.url().path().starts_with("/seller/center/otp"), "a second factor is asked: {}", page.url());
            let html = page.text().await.expect("otp page");
            let token = if html.contains("csrf_token") { Some(csrf(&html)) } else { None };
            let mut fields = vec![("code", otp.clone())];
            if let Some(t) = token {
                fields.push(("csrf_token", t));
            }
            let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
            let done = client
                .post(format!("{base}/seller/center/otp"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("POST otp");
            assert!(done.status().is_success(), "the second factor is accepted: {}", done.status());
            use reqwest::cookie::CookieStore;
            let url: url::Url = format!("{base}/seller/center/").parse().expect("url");
            let header = jar.cookies(&url).expect("the session cookie");
            let host = url.host_str().expect("host").to_string();
            let mut file = String::from("# Netscape HTTP Cookie File\n");
            for pair in header.to_str().expect("ascii").split("; ") {
                let (name, value) = pair.split_once('=').expect("name=value");
                file.push_str(&format!("{host}\tFALSE\t/seller\tFALSE\t0\t{name}\t{value}\n"));
            }
            file
        })
    })
    .join()
    .expect("browser thread")
}

#[test]
fn every_auth_scheme_and_paging_style_collects_exactly_the_orders_the_sandbox_made_and_no_secret_leaks() {
    let sellers = SellerConfig { accounts: 3, anchor_ms: Some(now_ms() / 1000 * 1000), ..Default::default() };
    let (base, _sandbox) = start_seller_sandbox(sellers.clone());
    let sources = [
        "shopify-sandbox",
        "woo-sandbox",
        "coupang-sandbox",
        "naver-commerce-sandbox",
        "center-sandbox",
        "etsy-sandbox",
    ];
    let mut p = Pipeline::start("seller", &seller::secrets_toml(&sellers, &base));
    let db = p.env.database.clone();
    let anchor = sellers.anchor_ms.expect("anchor");
    let since_ms = anchor - 5 * DAY;
    let since = chrono::DateTime::from_timestamp_millis(since_ms).expect("time").to_rfc3339();
    let mut outputs = Vec::new();

    // acct-003 sits behind a second factor: a person logs in once and exports the browser's cookies.
    let otp_account = seller::account_ids(&sellers)
        .into_iter()
        .find(|id| seller::credentials(&sellers, id).is_some_and(|c| c.center_otp.is_some()))
        .expect("an account with a second factor");
    let c = seller::credentials(&sellers, &otp_account).expect("credentials");
    let cookies = browser_session_with_second_factor(
        &base,
        &c.center_username,
        &c.center_password,
        c.center_otp.as_deref().expect("otp"),
    );
    let cookie_file = p.env.dir.path().join("cookies.txt");
    std::fs::write(&cookie_file, cookies).expect("cookie file");
    outputs.push(p.run_ok(&[
        "session",
        "import",
        "--source",
        "center-sandbox",
        "--account",
        &otp_account,
        cookie_file.to_str().expect("path"),
    ]));

    for (source, endpoint) in [
        ("shopify-sandbox", "orders"),
        ("woo-sandbox", "orders"),
        ("woo-sandbox", "reviews"),
        ("coupang-sandbox", "ordersheets"),
        ("coupang-sandbox", "inquiries"),
        ("naver-commerce-sandbox", "last-changed-statuses"),
        ("center-sandbox", "orders"),
        ("etsy-sandbox", "receipts"),
    ] {
        outputs.push(p.run_ok(&[
            "collect",
            "--source",
            source,
            "--endpoint",
            endpoint,
            "--all-accounts",
            "--since",
            &since,
        ]));
    }
    p.wait_idle();
    let metrics = common::reqwest::blocking_get_text(&format!("http://127.0.0.1:{}/metrics", p.metrics_port));
    let health = common::reqwest::blocking_get_text(&format!("http://127.0.0.1:{}/health", p.metrics_port));

    // Exactly the sandbox's orders, per source and account, counted from its own generator.
    let kst_midnight = |ms: i64| {
        let kst = 9 * 3_600_000;
        (ms + kst).div_euclid(DAY) * DAY - kst
    };
    for id in seller::account_ids(&sellers) {
        let changed = seller::truth(&sellers, anchor, &id, TruthField::Changed, since_ms, anchor + DAY);
        let created_days = seller::truth(
            &sellers,
            anchor,
            &id,
            TruthField::Created,
            kst_midnight(since_ms),
            kst_midnight(anchor) + DAY,
        );
        let created = seller::truth(&sellers, anchor, &id, TruthField::Created, since_ms, anchor + DAY);
        // Inquiries (paged by page number), asked on the collected Korea-time days.
        let want: BTreeSet<String> =
            seller::inquiry_ids(&sellers, anchor, &id, kst_midnight(since_ms), kst_midnight(anchor) + DAY)
                .into_iter()
                .collect();
        let got: BTreeSet<String> = p
            .env
            .query_text(&format!(
                "SELECT inquiry_id FROM {db}.inquiries FINAL WHERE source = 'coupang-sandbox' AND account = '{id}'"
            ))
            .lines()
            .map(str::to_string)
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "coupang inquiries {id}: exactly the sandbox's");
        for (source, truth) in [
            ("shopify-sandbox", &changed),
            ("woo-sandbox", &changed),
            ("naver-commerce-sandbox", &changed),
            ("coupang-sandbox", &created_days),
            ("center-sandbox", &created_days),
            ("etsy-sandbox", &created),
        ] {
            let want: BTreeSet<String> = truth.order_ids.iter().cloned().collect();
            assert!(!want.is_empty(), "the sandbox made orders for {id}");
            assert_eq!(p.order_ids(source, &id), want, "{source} {id}: exactly the sandbox's orders");
        }
        // Lines: every line of every order, once (the latest observation of each order).
        let lines = p.env.count(&format!(
            "SELECT sum(lines) FROM (SELECT order_id, argMax(length(line_ids), changed_at) AS lines FROM {db}.order_observations FINAL WHERE source = 'shopify-sandbox' AND account = '{id}' GROUP BY order_id)"
        ));
        assert_eq!(lines as u64, changed.lines, "shopify {id}: every line");
    }
    // Re-collected overlaps doubled nothing: one row per (order, change).
    let doubles = p.env.count(&format!(
        "SELECT count() FROM (SELECT source, account, order_id, changed_at, status, count() AS n FROM {db}.order_observations FINAL GROUP BY source, account, order_id, changed_at, status HAVING n > 1)"
    ));
    assert_eq!(doubles, 0);
    assert!(p.env.count(&format!("SELECT count() FROM {db}.reviews FINAL")) > 0, "reviews were collected");
    assert!(p.env.count(&format!("SELECT count() FROM {db}.orders_per_day")) > 0, "the orders_per_day view answers");
    // Paging happened in every style (more than one page for some account), and nothing was dead-lettered.
    for source in sources {
        let pages = p
            .env
            .count(&format!("SELECT count() FROM {db}.fetch_log FINAL WHERE source = '{source}' AND outcome = 'ok'"));
        let firsts = p
            .env
            .count(&format!("SELECT count() FROM {db}.fetch_log FINAL WHERE source = '{source}' AND discovered = 1"));
        assert!(firsts > 0 && pages > firsts, "{source}: pages followed ({pages} pages, {firsts} with a next)");
    }
    // Each collection is a run: its summary comes once its pages settled, every page counted.
    let collections: Vec<String> = outputs
        .iter()
        .filter_map(|o| o.lines().find_map(|l| l.strip_prefix("collect ")?.split(':').next().map(str::to_string)))
        .collect();
    assert_eq!(collections.len(), 8, "{outputs:?}");
    for run in &collections {
        let sql = format!("SELECT status, total, ok, failed FROM {db}.runs FINAL WHERE run_id = '{run}' FORMAT TSV");
        common::eventually(&format!("the summary of {run}"), Duration::from_secs(120), || {
            common::reqwest::blocking_post(&p.env.clickhouse, &sql).is_ok_and(|t| !t.trim().is_empty())
        });
        let row = p.env.query_text(&sql);
        let f: Vec<&str> = row.trim().split('\t').collect();
        let fetched = p.env.count(&format!("SELECT count() FROM {db}.fetch_log FINAL WHERE crawl_id = '{run}'"));
        assert_eq!((f[0], f[3]), ("ok", "0"), "{run}: {row}");
        assert_eq!(
            (f[1].parse::<i64>().ok(), f[2].parse::<i64>().ok()),
            (Some(fetched), Some(fetched)),
            "{run}: {row}"
        );
    }
    let topics = shopstream_core::Topics::with_prefix(&p.env.topic_prefix());
    for dlq in [&topics.dlq_extract, &topics.dlq_transform, &topics.dlq_load] {
        assert_eq!(shopstream_core::kafka::topic_size(&p.env.brokers, dlq).expect("size"), 0, "{dlq} is empty");
    }
    assert!(metrics.contains("shopstream_api_requests"), "observed API request counts are exported");
    let e = p.extract;
    p.env.stop(e);
    for args in [&["--help"][..], &["collect", "--help"], &["session", "import", "--help"], &["extract", "--help"]] {
        outputs.push(p.run_ok(args));
    }

    // The secrets grep: every topic record (raw bodies decompressed), every row, every log, the metrics.
    let mut haystack: Vec<(String, Vec<u8>)> = vec![
        ("extract log".into(), p.env.child_log(p.extract).into_bytes()),
        ("transform log".into(), p.env.child_log(p.transform).into_bytes()),
        ("load log".into(), p.env.child_log(p.load).into_bytes()),
        ("metrics".into(), metrics.into_bytes()),
        ("health".into(), health.into_bytes()),
    ];
    haystack.extend(outputs.into_iter().enumerate().map(|(i, o)| (format!("command output {i}"), o.into_bytes())));
    for topic in topics.all() {
        for (i, (key, value)) in read_records(&p.env, topic).into_iter().enumerate() {
            if topic == topics.raw_api {
                let raw: shopstream_schemas::RawPage = decode(&p.env, &value);
                haystack
                    .push((format!("{topic} record {i} body"), zstd::decode_all(raw.body.as_slice()).expect("zstd")));
            }
            haystack.push((format!("{topic} record {i} key"), key));
            haystack.push((format!("{topic} record {i}"), value));
        }
    }
    for table in p.env.query_text(&format!("SELECT name FROM system.tables WHERE database = '{db}'")).lines() {
        let rows = p.env.query_text(&format!("SELECT * FROM {db}.{table} FORMAT TabSeparated"));
        haystack.push((format!("table {table}"), rows.into_bytes()));
    }
    let secrets = all_secrets(&sellers);
    assert!(secrets.len() >= 8 * 3 && haystack.len() > 100, "{} secrets, {} places", secrets.len(), haystack.len());
    for (place, bytes) in &haystack {
        for secret in &secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a secret leaked into {place}");
        }
    }
}

fn decode<T: shopstream_schemas::Contract>(env: &TestEnv, bytes: &[u8]) -> T {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let codec = shopstream_core::Codec::new(&env.registry);
    rt.block_on(codec.decode::<T>(bytes)).expect("decodes")
}

#[test]
fn an_expired_session_is_renewed_and_an_account_behind_a_second_factor_is_a_health_reason() {
    let sellers = SellerConfig {
        accounts: 3,
        anchor_ms: Some(now_ms() / 1000 * 1000),
        session_ttl_secs: 2,
        ..Default::default()
    };
    let (base, _sandbox) = start_seller_sandbox(sellers.clone());
    let mut config = CONFIG.replace(
        "rate = { per_second = 19.5, burst = 1, concurrency = 8, scope = \"account\" }",
        "rate = { per_second = 4, burst = 1, concurrency = 1, scope = \"account\" }",
    );
    config = config.replace("limit=3&embed=items", "limit=2&embed=items");
    assert!(config.contains("per_second = 4") && config.contains("limit=2&"), "the test's config took");
    let mut p = Pipeline::start("session", &seller::secrets_toml(&sellers, &base));
    std::fs::write(&p.env.config, &config).expect("config");
    // Restart the extractor with the slower config (pages at 4/s outlive the 2-second sessions).
    let e = p.extract;
    p.env.stop(e);
    p.extract = p.spawn_extract();
    let anchor = sellers.anchor_ms.expect("anchor");
    let since = chrono::DateTime::from_timestamp_millis(anchor - 3 * DAY).expect("time").to_rfc3339();
    p.run_ok(&["collect", "--source", "center-sandbox", "--endpoint", "orders", "--all-accounts", "--since", &since]);
    p.wait_idle();
    let metrics = common::reqwest::blocking_get_text(&format!("http://127.0.0.1:{}/metrics", p.metrics_port));
    let health = common::reqwest::blocking_get_text(&format!("http://127.0.0.1:{}/health", p.metrics_port));
    let log = p.env.child_log(p.extract);
    assert!(log.contains("The session expired; logging in again."), "{}", tail(&log, 40));
    // The accounts without a second factor: exact.
    let kst = 9 * 3_600_000;
    let day0 = (anchor - 3 * DAY + kst).div_euclid(DAY) * DAY - kst;
    for id in seller::account_ids(&sellers) {
        let c = seller::credentials(&sellers, &id).expect("credentials");
        let truth = seller::truth(
            &sellers,
            anchor,
            &id,
            TruthField::Created,
            day0,
            (anchor + kst).div_euclid(DAY) * DAY - kst + DAY,
        );
        let got = p.order_ids("center-sandbox", &id);
        if c.center_otp.is_some() {
            assert!(got.is_empty(), "{id} needs a second factor: nothing was collected");
            let expired = metrics
                .lines()
                .find(|l| l.starts_with("shopstream_session_expired") && l.contains(&format!("\"{id}\"")))
                .unwrap_or_else(|| panic!("no session_expired metric for {id}:\n{metrics}"));
            assert!(expired.ends_with(" 1"), "{expired}");
        } else {
            let want: BTreeSet<String> = truth.order_ids.into_iter().collect();
            assert_eq!(got, want, "{id}: exact across session renewals");
        }
    }
    assert!(health.contains("second factor"), "the health names the account's missing second factor: {health}");
    let topics = shopstream_core::Topics::with_prefix(&p.env.topic_prefix());
    let dead = read_records(&p.env, &topics.dlq_extract);
    assert!(!dead.is_empty(), "the requests of the account behind a second factor are dead-lettered");
    for (_, v) in &dead {
        let d: shopstream_schemas::DeadLetter = decode(&p.env, v);
        assert!(d.reason.contains("second factor"), "{}", d.reason);
    }
}

#[test]
fn an_extractor_killed_mid_collection_loses_and_doubles_nothing() {
    // The marketplace allows 6 requests/s and the budget sends 8/s: 429s with Retry-After, honoured.
    let rate =
        shopstream_sandbox::RateLimit { per_second: 6.0, burst: 1, scope: shopstream_sandbox::RateScope::Endpoint };
    let sellers =
        SellerConfig { accounts: 4, anchor_ms: Some(now_ms() / 1000 * 1000), rate: Some(rate), ..Default::default() };
    let (base, _sandbox) = start_seller_sandbox(sellers.clone());
    let mut p = Pipeline::start("seller_crash", &seller::secrets_toml(&sellers, &base));
    let config = CONFIG.replace("limit=5\"", "limit=2\"").replacen(
        "rate = { per_second = 19.5, burst = 1, concurrency = 8, scope = \"endpoint\" }",
        "rate = { per_second = 8, burst = 1, concurrency = 2, scope = \"endpoint\" }",
        1,
    );
    assert!(config.contains("per_second = 8") && config.contains("limit=2\""), "the test's config took");
    std::fs::write(&p.env.config, &config).expect("config");
    let e = p.extract;
    p.env.stop(e);
    p.extract = p.spawn_extract();
    let anchor = sellers.anchor_ms.expect("anchor");
    let since_ms = anchor - 7 * DAY;
    let since = chrono::DateTime::from_timestamp_millis(since_ms).expect("time").to_rfc3339();
    p.run_ok(&["collect", "--source", "shopify-sandbox", "--endpoint", "orders", "--all-accounts", "--since", &since]);
    // Mid-collection (pages at 8/s): kill -9, then start a new extractor.
    std::thread::sleep(Duration::from_secs(4));
    let e = p.extract;
    p.env.kill9(e);
    let left = p
        .cmd(&["wait-idle", "--stages", "extract", "--timeout-secs", "1", "--settle-secs", "0"])
        .output()
        .expect("wait-idle");
    assert!(!left.status.success(), "the extractor was killed mid-collection: requests were left");
    p.extract = p.spawn_extract();
    p.wait_idle();
    let db = p.env.database.clone();
    for id in seller::account_ids(&sellers) {
        let truth = seller::truth(&sellers, anchor, &id, TruthField::Changed, since_ms, anchor + DAY);
        let want: BTreeSet<String> = truth.order_ids.into_iter().collect();
        assert_eq!(p.order_ids("shopify-sandbox", &id), want, "{id}: nothing lost");
    }
    let doubles = p.env.count(&format!(
        "SELECT count() FROM (SELECT order_id, changed_at, status, count() AS n FROM {db}.order_observations FINAL GROUP BY order_id, changed_at, status HAVING n > 1)"
    ));
    assert_eq!(doubles, 0, "nothing doubled");
    let stats = common::reqwest::blocking_get_json(&format!("{base}/seller/_stats"));
    let too_many = stats["endpoints"]["shopify.orders"]["too_many"].as_u64().expect("too_many");
    assert!(too_many > 0, "the marketplace answered 429 and the pipeline waited them out: {stats}");
}

#[test]
fn a_schedule_collects_every_ten_minutes_with_its_accounts_staggered() {
    // Many orders per day, so that 10-minute windows hold some.
    let sellers = SellerConfig {
        accounts: 4,
        anchor_ms: Some(now_ms() / 1000 * 1000),
        orders_per_day: 150,
        ..Default::default()
    };
    let (base, _sandbox) = start_seller_sandbox(sellers.clone());
    let anchor = sellers.anchor_ms.expect("anchor");
    let config = format!(
        "{CONFIG}\n[schedules.orders-every-10m]\ncron = \"*/10 * * * *\"\ntimezone = \"UTC\"\n\
         enqueue = {{ collect = \"shopify-sandbox\", endpoint = \"orders\", window = \"10m\" }}\n\
         stagger = {{ groups = 2, spread = \"4m\" }}\nmissed = \"skip\"\n"
    );
    let mut p = Pipeline::start("seller_schedule", &seller::secrets_toml(&sellers, &base));
    std::fs::write(&p.env.config, &config).expect("config");
    // A fake clock from 2 h before the sandbox's anchor (on a 10-minute boundary), 60 times as fast:
    // a fire every 10 real seconds, its second group 2 seconds later.
    let start = (anchor - 2 * 3_600_000) / 600_000 * 600_000 + 1000;
    let start_text = chrono::DateTime::from_timestamp_millis(start).expect("time").to_rfc3339();
    let sched = p.cmd(&["schedule", "--instance", "s1", "--clock-start", &start_text, "--clock-rate", "60"]);
    let s = p.env.spawn(sched);
    std::thread::sleep(Duration::from_secs(36));
    p.env.stop(s);
    p.wait_idle();
    // What fired: (fire time, group) from events.runs.
    let topics = shopstream_core::Topics::with_prefix(&p.env.topic_prefix());
    // Both schedules fire: this test's, and the one config/seller-sandbox.toml ships (15 minutes, 5 groups).
    let windows = std::collections::BTreeMap::from([("orders-every-10m", 600_000i64), ("shopify-orders", 900_000)]);
    let fired: Vec<shopstream_schemas::RunEvent> = read_records(&p.env, &topics.runs)
        .into_iter()
        .map(|(_, v)| decode::<shopstream_schemas::RunEvent>(&p.env, &v))
        .filter(|r| r.kind == "fired")
        .collect();
    let fires: BTreeSet<i64> =
        fired.iter().filter(|r| r.schedule.as_deref() == Some("orders-every-10m")).map(|r| r.scheduled_at).collect();
    assert!(fires.len() >= 3, "three fires or more in 36 s of a 60x clock: {fires:?}\n{}", p.env.child_log(s));
    assert!(fired.iter().all(|r| r.what == "api"), "fired as collections");
    let mut want = BTreeSet::new();
    for r in &fired {
        let schedule = r.schedule.as_deref().expect("a schedule's fire");
        let window = windows[schedule];
        for id in seller::account_ids(&sellers) {
            if shopstream_producers::track::stagger_group(&id, r.groups as u32) == r.group as u32 {
                let t =
                    seller::truth(&sellers, anchor, &id, TruthField::Changed, r.scheduled_at - window, r.scheduled_at);
                want.extend(t.order_ids.into_iter().map(|o| (id.clone(), o)));
            }
        }
    }
    assert!(want.len() >= 10, "the windows held orders: {}", want.len());
    let db = &p.env.database;
    let got: BTreeSet<(String, String)> = p
        .env
        .query_text(&format!(
            "SELECT DISTINCT account, order_id FROM {db}.order_observations FINAL WHERE source = 'shopify-sandbox'"
        ))
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(a, o)| (a.to_string(), o.to_string())))
        .collect();
    assert_eq!(got, want, "each fire collected exactly its window, for the accounts of its group");
}

#[test]
fn an_order_history_inquiries_and_settlements_load_and_their_views_answer() {
    use shopstream_schemas::{InquiryObserved, OrderObserved, SettlementObserved};
    let mut env = TestEnv::new("seller_tables", "[sources]\n");
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let db = env.database.clone();
    env.run_ok(&["topics"]);
    // One order observed paid, then shipped, then delivered; the delivered state observed twice (a
    // re-collected window).
    let paid: OrderObserved = common::example(include_str!("../schemas/examples/order_observed.json"));
    let at = |status: &str, changed_at: i64, event: &str| OrderObserved {
        status: status.into(),
        raw_status: status.into(),
        changed_at,
        event_id: event.into(),
        ..paid.clone()
    };
    let shipped = at("shipped", paid.changed_at + DAY, "e-shipped");
    let delivered = at("delivered", paid.changed_at + 3 * DAY, "e-delivered");
    let mut again = delivered.clone();
    again.event_id = "e-delivered-again".into();
    again.provenance.fetched_at += 600_000;
    common::produce(&env, &topics.orders, &[paid.clone(), shipped, delivered, again]);
    // Two inquiries, one answered; one settlement.
    let open: InquiryObserved = common::example(include_str!("../schemas/examples/inquiry_observed.json"));
    let answered = InquiryObserved {
        inquiry_id: "q2".into(),
        event_id: "e-q2".into(),
        answer: Some("Tomorrow.".into()),
        status: "answered".into(),
        answered_at: Some(open.asked_at + 3_600_000),
        ..open.clone()
    };
    common::produce(&env, &topics.inquiries, &[open, answered]);
    let settlement: SettlementObserved = common::example(include_str!("../schemas/examples/settlement_observed.json"));
    common::produce(&env, &topics.settlements, &[settlement]);
    let l = env.spawn(env.cmd(&["load"]));
    env.wait_idle(&format!("g_{}", env.id));
    env.stop(l);

    let history = env.query_text(&format!(
        "SELECT status FROM {db}.order_observations FINAL WHERE order_id = '{}' ORDER BY changed_at",
        paid.order_id
    ));
    assert_eq!(
        history.lines().collect::<Vec<_>>(),
        vec!["paid", "shipped", "delivered"],
        "the status history, once each"
    );
    let current = env.query(&format!("SELECT status, lines, observations FROM {db}.orders"));
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["status"], "delivered");
    assert_eq!(common::as_i64(&current[0]["lines"]), 1);
    let lines = env
        .query(&format!("SELECT line_id, quantity, unit_price_minor FROM {db}.order_lines WHERE status = 'delivered'"));
    assert_eq!(lines.len(), 1);
    assert_eq!(common::as_i64(&lines[0]["unit_price_minor"]), 19900);
    let per_day = env.query(&format!("SELECT status, orders, revenue_minor FROM {db}.orders_per_day"));
    assert_eq!(per_day.len(), 1);
    assert_eq!((common::as_i64(&per_day[0]["orders"]), common::as_i64(&per_day[0]["revenue_minor"])), (1, 59800));
    assert_eq!(
        env.count(&format!("SELECT sum(revenue_minor) FROM {db}.revenue")),
        59800,
        "a delivered order is revenue"
    );
    let open_ids = env.query_text(&format!("SELECT inquiry_id FROM {db}.open_inquiries"));
    assert_eq!(open_ids.trim(), "q1", "only the unanswered inquiry is open");
    let s = env.query(&format!("SELECT gross_minor, fees_minor, net_minor, currency FROM {db}.settlements FINAL"));
    assert_eq!(s.len(), 1);
    assert_eq!(
        common::as_i64(&s[0]["gross_minor"]) - common::as_i64(&s[0]["fees_minor"]),
        common::as_i64(&s[0]["net_minor"])
    );
}
