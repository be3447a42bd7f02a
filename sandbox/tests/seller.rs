//! The seller center over real HTTP: every marketplace's auth and paging against the ground truth, rate limits,
//! login with CSRF and a second factor, token and session expiry, determinism.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LINK, LOCATION, RETRY_AFTER, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;
use shopstream_sandbox::seller::EndpointStats;
use shopstream_sandbox::{
    credentials, inquiry_ids, review_ids, truth, RateLimit, RateScope, Sandbox, SandboxConfig, SandboxError, Seller,
    SellerConfig, SellerCredentials, Truth, TruthField,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DAY_MS: i64 = 86_400_000;
const KST_MS: i64 = 9 * 3_600_000;

struct Running {
    /// `http://127.0.0.1:PORT`
    base: String,
    seller: Arc<Seller>,
    anchor: i64,
    cfg: SellerConfig,
    client: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), SandboxError>>,
}

impl Running {
    async fn start(cfg: SellerConfig) -> Running {
        let config = SandboxConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seller: cfg.clone(),
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::bind(config).await.expect("bind");
        let base = format!("http://{}", sandbox.local_addr());
        assert_eq!(sandbox.seller_url(), format!("{base}/seller/"));
        let seller = sandbox.seller();
        let anchor = sandbox.seller_anchor_ms();
        assert_eq!(anchor, seller.anchor_ms());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(sandbox.run(shutdown.clone()));
        Running { base, seller, anchor, cfg, client: client(false), shutdown, task }
    }

    /// The anchor cut to whole seconds: every generated time is a whole second, so windows built from this are exact
    /// in every marketplace's time format.
    fn whole(&self) -> i64 {
        self.anchor - self.anchor.rem_euclid(1000)
    }

    fn creds(&self, account: &str) -> SellerCredentials {
        credentials(&self.cfg, account).expect("known account")
    }

    fn truth(&self, account: &str, field: TruthField, from: i64, to: i64) -> Truth {
        truth(&self.cfg, self.anchor, account, field, from, to)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("join").expect("run");
    }
}

/// `url` with the pairs appended as an encoded query.
fn q<K: AsRef<str>, V: AsRef<str>>(url: &str, pairs: &[(K, V)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k.as_ref(), v.as_ref());
    }
    format!("{url}{}{}", if url.contains('?') { '&' } else { '?' }, query.finish())
}

trait FormPairs {
    /// An `application/x-www-form-urlencoded` body.
    fn form_pairs<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self;
}

impl FormPairs for reqwest::RequestBuilder {
    fn form_pairs<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            body.append_pair(k.as_ref(), v.as_ref());
        }
        self.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body.finish())
    }
}

fn client(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .build()
        .expect("client")
}

/// A fixed anchor (2025-01-15T10:20:30.456Z) unless a test needs the server's own.
fn config() -> SellerConfig {
    SellerConfig { anchor_ms: Some(1_736_936_430_456), ..SellerConfig::default() }
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).expect("time").to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The URL of `rel` in a `Link` header.
fn link(response: &reqwest::Response, rel: &str) -> Option<String> {
    let header = response.headers().get(LINK)?.to_str().ok()?;
    header.split(", ").find_map(|part| {
        let (url, params) = part.split_once(';')?;
        (params.trim() == format!("rel=\"{rel}\""))
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

fn sorted_unique(ids: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "duplicates across pages: {ids:?}");
    let mut v: Vec<String> = ids.to_vec();
    v.sort();
    v
}

fn expected(t: &Truth) -> Vec<String> {
    let mut v = t.order_ids.clone();
    v.sort();
    v
}

fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn shopify_pages_by_cursor_and_matches_the_truth() {
    let s = Running::start(SellerConfig { orders_per_day: 12, ..config() }).await;
    let c = s.creds("acct-001");
    let url = format!("{}/seller/shopify/acct-001/admin/api/2025-10/orders.json", s.base);

    for token in [None, Some("shpat_wrong"), Some(s.creds("acct-002").shopify_token.as_str())] {
        let mut request = s.client.get(q(&url, &[("status", "any")]));
        if let Some(token) = token {
            request = request.header("X-Shopify-Access-Token", token);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.expect("json");
        assert!(body["errors"].as_str().expect("errors").contains("Invalid API key or access token"));
    }

    let (from, to) = (s.whole() - 10 * DAY_MS, s.whole() - 2 * DAY_MS);
    let want = s.truth("acct-001", TruthField::Changed, from, to);
    assert!(want.orders > 30, "{want:?}");
    let mut ids = Vec::new();
    let mut lines = 0;
    let mut pages = Vec::new();
    let mut next = Some(format!(
        "{url}?status=any&updated_at_min={}&updated_at_max={}&limit=25",
        rfc3339(from).replace('+', "%2B"),
        rfc3339(to).replace('+', "%2B")
    ));
    while let Some(page_url) = next {
        let response =
            s.client.get(&page_url).header("X-Shopify-Access-Token", &c.shopify_token).send().await.expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        if !pages.is_empty() {
            assert!(link(&response, "previous").is_some(), "a later page links back");
        }
        next = link(&response, "next");
        if let Some(n) = &next {
            assert!(n.starts_with(&url) && n.contains("limit=25&page_info="), "{n}");
        }
        let body: Value = response.json().await.expect("json");
        let orders = body["orders"].as_array().expect("orders").clone();
        let mut last = (String::new(), 0);
        for o in &orders {
            let updated = DateTime::parse_from_rfc3339(o["updated_at"].as_str().expect("updated_at")).expect("time");
            let t = updated.timestamp_millis();
            assert!(t >= from && t < to);
            assert!(o["updated_at"].as_str().expect("updated_at").ends_with("-05:00"));
            let key = (o["updated_at"].as_str().expect("t").to_string(), o["id"].as_u64().expect("id"));
            assert!(key >= last, "ordered by updated_at, id");
            last = key;
            assert_eq!(o["currency"], "USD");
            assert!(o["total_price"].as_str().expect("price").contains('.'));
            assert!(o["email"].as_str().expect("email").ends_with("@example.test"));
            assert_eq!(o["customer"]["email"], o["email"]);
            for l in o["line_items"].as_array().expect("lines") {
                assert!(l["id"].is_u64() && l["product_id"].is_u64() && l["variant_id"].is_u64());
                assert!(l["sku"].is_string() && l["title"].is_string() && l["price"].is_string());
                assert!((1..=3).contains(&l["quantity"].as_u64().expect("qty")));
                lines += 1;
            }
            ids.push(id_string(&o["id"]));
        }
        pages.push((page_url, orders.len()));
    }
    assert!(pages.len() >= 2);
    assert_eq!(sorted_unique(&ids), expected(&want));
    assert_eq!(lines, want.lines);

    // The previous link of page 2 leads back to page 1.
    let second = s.client.get(&pages[1].0).header("X-Shopify-Access-Token", &c.shopify_token).send().await.expect("p2");
    let previous = link(&second, "previous").expect("previous");
    let back: Value = s
        .client
        .get(&previous)
        .header("X-Shopify-Access-Token", &c.shopify_token)
        .send()
        .await
        .expect("previous")
        .json()
        .await
        .expect("json");
    let back_ids: Vec<String> =
        back["orders"].as_array().expect("orders").iter().map(|o| id_string(&o["id"])).collect();
    assert_eq!(back_ids, ids[..25].to_vec());

    // page_info carries the filter: another filter next to it is a 400, a garbled one too.
    let with_filter = format!("{}&status=any", pages[1].0);
    let response =
        s.client.get(&with_filter).header("X-Shopify-Access-Token", &c.shopify_token).send().await.expect("x");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let garbled = format!("{url}?page_info=garbage");
    let response = s.client.get(&garbled).header("X-Shopify-Access-Token", &c.shopify_token).send().await.expect("x");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // A limit above 250 is clamped.
    let response = s
        .client
        .get(q(&url, &[("status", "any"), ("limit", "1000")]))
        .header("X-Shopify-Access-Token", &c.shopify_token)
        .send()
        .await
        .expect("all");
    assert!(link(&response, "next").is_some());
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["orders"].as_array().expect("orders").len(), 250);
    s.stop().await;
}

#[tokio::test]
async fn woocommerce_pages_by_number_with_basic_or_query_keys() {
    let s = Running::start(config()).await;
    let c = s.creds("acct-002");
    let url = format!("{}/seller/woo/acct-002/wp-json/wc/v3/orders", s.base);

    let missing = s.client.get(&url).send().await.expect("request");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let wrong = s.client.get(&url).basic_auth(&c.woo_consumer_key, Some("cs_wrong")).send().await.expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(body["data"]["status"], 401);
    let other = s.creds("acct-001");
    let response = s
        .client
        .get(&url)
        .basic_auth(&other.woo_consumer_key, Some(&other.woo_consumer_secret))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (from, to) = (s.whole() - 20 * DAY_MS, s.whole() - 5 * DAY_MS);
    let want = s.truth("acct-002", TruthField::Changed, from, to);
    let naive =
        |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).expect("t").format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut ids = Vec::new();
    let mut next = Some(format!(
        "{url}?modified_after={}&modified_before={}&dates_are_gmt=true&per_page=9&page=1",
        naive(from),
        naive(to)
    ));
    let mut page_no = 0;
    while let Some(page_url) = next {
        page_no += 1;
        // Alternate the two ways of authenticating.
        let request = if page_no % 2 == 1 {
            s.client.get(&page_url).basic_auth(&c.woo_consumer_key, Some(&c.woo_consumer_secret))
        } else {
            s.client.get(q(
                &page_url,
                &[("consumer_key", &c.woo_consumer_key), ("consumer_secret", &c.woo_consumer_secret)],
            ))
        };
        let response = request.send().await.expect("page");
        assert_eq!(response.status(), StatusCode::OK, "{page_url}");
        assert_eq!(response.headers()["x-wp-total"].to_str().expect("total"), want.orders.to_string());
        let pages = want.orders.div_ceil(9);
        assert_eq!(response.headers()["x-wp-totalpages"].to_str().expect("pages"), pages.to_string());
        next = link(&response, "next");
        let body: Vec<Value> = response.json().await.expect("json");
        for o in &body {
            assert_eq!(o["currency"], "EUR");
            assert!(["pending", "processing", "completed", "cancelled", "refunded"]
                .contains(&o["status"].as_str().expect("status")));
            assert!(o["billing"]["email"].as_str().expect("email").ends_with("@example.test"));
            let modified = o["date_modified_gmt"].as_str().expect("modified");
            assert!(modified >= naive(from).as_str() && modified < naive(to).as_str());
            for l in o["line_items"].as_array().expect("lines") {
                assert!(l["price"].is_number() && l["total"].is_string() && l["subtotal"].is_string());
                assert!(l["variation_id"].is_u64() && l["product_id"].is_u64());
            }
            ids.push(id_string(&o["id"]));
        }
    }
    assert!(page_no >= 2);
    assert_eq!(sorted_unique(&ids), expected(&want));

    // per_page above 100 is clamped; a page past the end is a 400.
    let response = s
        .client
        .get(q(&url, &[("per_page", "500")]))
        .basic_auth(&c.woo_consumer_key, Some(&c.woo_consumer_secret))
        .send()
        .await
        .expect("request");
    let total: usize = response.headers()["x-wp-total"].to_str().expect("total").parse().expect("number");
    assert_eq!(response.headers()["x-wp-totalpages"].to_str().expect("pages"), total.div_ceil(100).to_string());
    let past = s
        .client
        .get(q(&url, &[("page", "99")]))
        .basic_auth(&c.woo_consumer_key, Some(&c.woo_consumer_secret))
        .send()
        .await
        .expect("request");
    assert_eq!(past.status(), StatusCode::BAD_REQUEST);

    // Reviews: same auth and paging; the union is the generator's reviews.
    let reviews_url = format!("{}/seller/woo/acct-002/wp-json/wc/v3/products/reviews", s.base);
    let want_reviews = review_ids(&s.cfg, s.anchor, "acct-002", 0, s.anchor + 1);
    assert!(!want_reviews.is_empty());
    let mut got = Vec::new();
    let mut next = Some(format!("{reviews_url}?per_page=4"));
    while let Some(page_url) = next {
        let response = s
            .client
            .get(&page_url)
            .basic_auth(&c.woo_consumer_key, Some(&c.woo_consumer_secret))
            .send()
            .await
            .expect("reviews");
        assert_eq!(response.status(), StatusCode::OK);
        next = link(&response, "next");
        for r in response.json::<Vec<Value>>().await.expect("json") {
            assert_eq!(r["status"], "approved");
            assert!((1..=5).contains(&r["rating"].as_u64().expect("rating")));
            assert!(r["review"].as_str().expect("review").starts_with("<p>"));
            got.push(id_string(&r["id"]));
        }
    }
    let mut want_sorted = want_reviews.clone();
    want_sorted.sort();
    assert_eq!(sorted_unique(&got), want_sorted);
    s.stop().await;
}

fn coupang_authorization(c: &SellerCredentials, signed_date: &str, method: &str, path: &str, query: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(c.coupang_secret_key.as_bytes()).expect("key");
    mac.update(format!("{signed_date}{method}{path}{query}").as_bytes());
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "CEA algorithm=HmacSHA256, access-key={}, signed-date={signed_date}, signature={signature}",
        c.coupang_access_key
    )
}

fn signed_date(offset_secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(offset_secs)).format("%y%m%dT%H%M%SZ").to_string()
}

/// The KST date of `ms` and the Unix ms of that date's midnight in Korea.
fn kst_day(ms: i64) -> (String, i64) {
    let day = (ms + KST_MS).div_euclid(DAY_MS);
    let date = DateTime::<Utc>::from_timestamp_millis(day * DAY_MS).expect("t").format("%Y-%m-%d").to_string();
    (date, day * DAY_MS - KST_MS)
}

#[tokio::test]
async fn coupang_checks_the_hmac_signature_and_pages_by_next_token() {
    let s = Running::start(config()).await;
    let c = s.creds("acct-003");
    let path = format!("/seller/coupang/v2/providers/openapi/apis/api/v4/vendors/{}/ordersheets", c.coupang_vendor_id);
    let (from_date, from_ms) = kst_day(s.anchor - 12 * DAY_MS);
    let (to_date, to_start) = kst_day(s.anchor - 3 * DAY_MS);
    let want = s.truth("acct-003", TruthField::Created, from_ms, to_start + DAY_MS);
    assert!(want.orders > 10);
    let send = |query: String, auth: String| {
        let url = format!("{}{path}?{query}", s.base);
        s.client.get(url).header(AUTHORIZATION, auth).send()
    };

    let query = format!("createdAtFrom={from_date}&createdAtTo={to_date}&maxPerPage=7");
    // A tampered signature, another account's keys, an old signed-date, no header: all 401.
    let good = coupang_authorization(&c, &signed_date(0), "GET", &path, &query);
    let last = good.chars().last().expect("char");
    let tampered = format!("{}{}", &good[..good.len() - 1], if last == '0' { '1' } else { '0' });
    let response = send(query.clone(), tampered).await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], 401);
    let other = s.creds("acct-001");
    let response = send(query.clone(), coupang_authorization(&other, &signed_date(0), "GET", &path, &query)).await;
    assert_eq!(response.expect("request").status(), StatusCode::UNAUTHORIZED);
    let response = send(query.clone(), coupang_authorization(&c, &signed_date(-600), "GET", &path, &query)).await;
    assert_eq!(response.expect("request").status(), StatusCode::UNAUTHORIZED);
    let reordered = format!("maxPerPage=7&createdAtFrom={from_date}&createdAtTo={to_date}");
    let response = send(reordered, good.clone()).await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the query is signed in the order sent");

    let mut ids = Vec::new();
    let mut lines = 0;
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let q = if token.is_empty() { query.clone() } else { format!("{query}&nextToken={token}") };
        let auth = coupang_authorization(&c, &signed_date(0), "GET", &path, &q);
        let response = send(q, auth).await.expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], 200);
        pages += 1;
        for sheet in body["data"].as_array().expect("data") {
            let ordered = sheet["orderedAt"].as_str().expect("orderedAt");
            assert!(ordered >= from_date.as_str() && ordered < format!("{to_date}T99").as_str(), "{ordered}");
            assert!(sheet["orderer"]["name"].as_str().expect("name").contains('*'));
            for item in sheet["orderItems"].as_array().expect("items") {
                assert!(item["salesPrice"].is_i64() && item["orderPrice"].is_i64() && item["vendorItemId"].is_u64());
                lines += 1;
            }
            ids.push(id_string(&sheet["orderId"]));
        }
        token = body["nextToken"].as_str().expect("nextToken").to_string();
        if token.is_empty() {
            break;
        }
    }
    assert!(pages >= 2);
    assert_eq!(sorted_unique(&ids), expected(&want));
    assert_eq!(lines, want.lines);

    // More than 31 days is a 400.
    let (far, _) = kst_day(s.anchor - 40 * DAY_MS);
    let q = format!("createdAtFrom={far}&createdAtTo={to_date}");
    let response = send(q.clone(), coupang_authorization(&c, &signed_date(0), "GET", &path, &q)).await.expect("x");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    s.stop().await;
}

/// The ids of `content` and its `pagination` block, checking each inquiry's shape and its KST day.
fn inquiry_page(body: &Value, first_day: &str, last_day: &str) -> (Vec<String>, Value) {
    assert_eq!(body["code"], 200);
    assert_eq!(body["message"], "OK");
    let mut ids = Vec::new();
    for q in body["data"]["content"].as_array().expect("content") {
        let id = q["inquiryId"].as_u64().expect("inquiryId");
        assert!(q["productId"].is_u64() && q["vendorItemId"].is_u64(), "{q}");
        assert!(!q["content"].as_str().expect("content").is_empty());
        let at = q["inquiryAt"].as_str().expect("inquiryAt");
        assert!(chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").is_ok(), "{at}");
        assert!(&at[..10] >= first_day && &at[..10] <= last_day, "{at} outside {first_day}..={last_day}");
        match &q["orderIds"] {
            Value::Null => {}
            Value::Array(a) => assert!(a.len() == 1 && a[0].is_u64(), "{q}"),
            other => panic!("orderIds {other}"),
        }
        let email = q["buyerEmail"].as_str().expect("buyerEmail");
        assert!(email.len() == 9 && email.contains("***@"), "{email}");
        for c in q["commentDtoList"].as_array().expect("commentDtoList") {
            assert_eq!(c["inquiryId"].as_u64(), Some(id));
            assert!(c["inquiryCommentId"].is_u64() && c["content"].is_string());
            assert!(c["inquiryCommentAt"].as_str().expect("inquiryCommentAt") > at);
        }
        ids.push(id.to_string());
    }
    (ids, body["data"]["pagination"].clone())
}

#[tokio::test]
async fn coupang_inquiries_page_by_number_with_total_pages() {
    let s = Running::start(SellerConfig { orders_per_day: 6, ..config() }).await;
    let c = s.creds("acct-002");
    let path =
        format!("/seller/coupang/v2/providers/openapi/apis/api/v4/vendors/{}/onlineInquiries", c.coupang_vendor_id);
    let send = |query: String, auth: Option<String>| {
        let mut request = s.client.get(format!("{}{path}?{query}", s.base));
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        request.send()
    };
    let signed = |query: &str| Some(coupang_authorization(&c, &signed_date(0), "GET", &path, query));
    // Seven KST days, both ends counted.
    let (first_day, from_ms) = kst_day(s.anchor - 9 * DAY_MS);
    let (last_day, last_start) = kst_day(s.anchor - 3 * DAY_MS);
    let want = inquiry_ids(&s.cfg, s.anchor, "acct-002", from_ms, last_start + DAY_MS);
    assert!(want.len() > 8, "{want:?}");
    let window = format!("inquiryStartAt={first_day}&inquiryEndAt={last_day}&answeredType=ALL");

    // No header, another account's keys, a tampered signature: 401.
    let query = format!("{window}&pageNum=1&pageSize=5");
    assert_eq!(send(query.clone(), None).await.expect("request").status(), StatusCode::UNAUTHORIZED);
    let other = coupang_authorization(&s.creds("acct-001"), &signed_date(0), "GET", &path, &query);
    assert_eq!(send(query.clone(), Some(other)).await.expect("request").status(), StatusCode::UNAUTHORIZED);
    let good = coupang_authorization(&c, &signed_date(0), "GET", &path, &query);
    let last = good.chars().last().expect("char");
    let tampered = format!("{}{}", &good[..good.len() - 1], if last == 'a' { 'b' } else { 'a' });
    let response = send(query.clone(), Some(tampered)).await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], 401);
    // The signature covers the path: a valid one for the ordersheets path does not open the inquiries.
    let sheets = path.replace("onlineInquiries", "ordersheets");
    let wrong_path = coupang_authorization(&c, &signed_date(0), "GET", &sheets, &query);
    assert_eq!(send(query.clone(), Some(wrong_path)).await.expect("request").status(), StatusCode::UNAUTHORIZED);

    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let query = format!("{window}&pageNum={page}&pageSize=4");
        let response = send(query.clone(), signed(&query)).await.expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        let (page_ids, pagination) = inquiry_page(&response.json().await.expect("json"), &first_day, &last_day);
        assert_eq!(pagination["currentPage"], page);
        assert_eq!(pagination["countPerPage"], 4);
        assert_eq!(pagination["totalElements"], want.len());
        assert_eq!(pagination["totalPages"], want.len().div_ceil(4));
        assert!(page_ids.len() <= 4);
        ids.extend(page_ids);
        if pagination["currentPage"].as_u64().expect("page") >= pagination["totalPages"].as_u64().expect("pages") {
            break;
        }
        page += 1;
    }
    assert!(page >= 3);
    assert_eq!(sorted_unique(&ids), want);

    // A page past the end: empty, same totals.
    let query = format!("{window}&pageNum={}&pageSize=4", page + 5);
    let response = send(query.clone(), signed(&query)).await.expect("past");
    assert_eq!(response.status(), StatusCode::OK);
    let (past, pagination) = inquiry_page(&response.json().await.expect("json"), &first_day, &last_day);
    assert!(past.is_empty());
    assert_eq!(pagination["totalElements"], want.len());
    assert_eq!(pagination["currentPage"], page + 5);

    // Defaults (page 1, 10 per page), a pageSize above 50 is clamped, ANSWERED and NOANSWER split ALL.
    let response = send(window.clone(), signed(&window)).await.expect("defaults");
    let (first, pagination) = inquiry_page(&response.json().await.expect("json"), &first_day, &last_day);
    assert_eq!((pagination["currentPage"].as_u64(), pagination["countPerPage"].as_u64()), (Some(1), Some(10)));
    assert_eq!(first.len(), want.len().min(10));
    let mut split = Vec::new();
    for answered in ["ANSWERED", "NOANSWER"] {
        let query = format!("inquiryStartAt={first_day}&inquiryEndAt={last_day}&answeredType={answered}&pageSize=99");
        let response = send(query.clone(), signed(&query)).await.expect("split");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["data"]["pagination"]["countPerPage"], 50);
        for q in body["data"]["content"].as_array().expect("content") {
            let comments = q["commentDtoList"].as_array().expect("comments");
            assert_eq!(comments.is_empty(), answered == "NOANSWER");
        }
        let (part, _) = inquiry_page(&body, &first_day, &last_day);
        assert!(!part.is_empty(), "{answered}");
        split.extend(part);
    }
    assert_eq!(sorted_unique(&split), want);

    // Eight days, a missing or unknown answeredType, a bad pageNum: 400.
    let (eight, _) = kst_day(s.anchor - 10 * DAY_MS);
    for query in [
        format!("inquiryStartAt={eight}&inquiryEndAt={last_day}&answeredType=ALL"),
        format!("inquiryStartAt={first_day}&inquiryEndAt={last_day}"),
        format!("inquiryStartAt={first_day}&inquiryEndAt={last_day}&answeredType=SOME"),
        format!("{window}&pageNum=0"),
    ] {
        let response = send(query.clone(), signed(&query)).await.expect("bad");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }

    // The control endpoint agrees with the library.
    let response = s
        .client
        .get(q(
            &format!("{}/seller/_inquiries", s.base),
            &[("account", "acct-002"), ("from", &from_ms.to_string()), ("to", &(last_start + DAY_MS).to_string())],
        ))
        .send()
        .await
        .expect("control");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["inquiries"], want.len());
    let control: Vec<String> =
        body["inquiry_ids"].as_array().expect("ids").iter().map(|v| v.as_str().expect("id").to_string()).collect();
    assert_eq!(control, want);
    assert_eq!(s.seller.inquiry_ids("acct-002", from_ms, last_start + DAY_MS), want);
    let unknown = s.client.get(format!("{}/seller/_inquiries?account=acct-009&from=0&to=1", s.base)).send().await;
    assert_eq!(unknown.expect("control").status(), StatusCode::NOT_FOUND);

    let stats = s.seller.stats();
    let inquiries = &stats.endpoints["coupang.inquiries"];
    assert_eq!(inquiries.unauthorized, 4);
    assert_eq!(inquiries.bad_request, 4);
    assert_eq!(inquiries.ok, page as u64 + 4);
    assert_eq!(stats.endpoints["coupang.ordersheets"].requests, 0);
    s.stop().await;
}

#[tokio::test]
async fn etsy_receipts_page_by_offset_with_a_count() {
    let s = Running::start(SellerConfig { orders_per_day: 8, ..config() }).await;
    let c = s.creds("acct-001");
    let url = format!("{}/seller/etsy/v3/application/shops/{}/receipts", s.base, c.etsy_shop_id);
    let get = |url: String, key: Option<&str>, token: Option<&str>| {
        let mut request = s.client.get(url);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    // Both headers must be the account's own.
    let other = s.creds("acct-002");
    for (key, token, error) in [
        (None, None, "Invalid API key"),
        (None, Some(c.etsy_token.as_str()), "Invalid API key"),
        (Some("wrongkeystring0000000000"), Some(c.etsy_token.as_str()), "Invalid API key"),
        (Some(c.etsy_keystring.as_str()), None, "invalid_token"),
        (Some(c.etsy_keystring.as_str()), Some("80000001.wrong"), "invalid_token"),
        (Some(c.etsy_keystring.as_str()), Some(other.etsy_token.as_str()), "invalid_token"),
    ] {
        let response = get(url.clone(), key, token).await.expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{key:?} {token:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], error);
    }
    // Another account's valid credentials on this shop: 403; a shop nobody has: 404.
    let response = get(url.clone(), Some(&other.etsy_keystring), Some(&other.etsy_token)).await.expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let nowhere = format!("{}/seller/etsy/v3/application/shops/123/receipts", s.base);
    let response = get(nowhere, Some(&c.etsy_keystring), Some(&c.etsy_token)).await.expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let (min, max) = ((s.whole() - 12 * DAY_MS) / 1000, (s.whole() - 2 * DAY_MS) / 1000);
    let want = s.truth("acct-001", TruthField::Created, min * 1000, max * 1000);
    assert!(want.orders > 40, "{want:?}");
    let mut ids = Vec::new();
    let mut lines = 0;
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let page_url = format!("{url}?min_created={min}&max_created={max}&limit=15&offset={offset}");
        let response = get(page_url, Some(&c.etsy_keystring), Some(&c.etsy_token)).await.expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        pages += 1;
        let count = body["count"].as_u64().expect("count");
        assert_eq!(count, want.orders);
        let results = body["results"].as_array().expect("results");
        assert!(results.len() <= 15);
        let mut previous = i64::MAX;
        for r in results {
            let created = r["create_timestamp"].as_i64().expect("create_timestamp");
            assert!(created >= min && created < max);
            assert!(created <= previous, "newest first");
            previous = created;
            assert_eq!(r["created_timestamp"], r["create_timestamp"]);
            assert!(r["update_timestamp"].as_i64().expect("update") >= created);
            assert_eq!(r["updated_timestamp"], r["update_timestamp"]);
            let status = r["status"].as_str().expect("status");
            assert!(["Payment Processing", "Paid", "Completed", "Canceled", "Fully Refunded"].contains(&status));
            assert_eq!(r["is_shipped"].as_bool(), Some(!r["shipments"].as_array().expect("shipments").is_empty()));
            assert!(
                r["buyer_user_id"].is_u64() && r["buyer_email"].as_str().expect("email").ends_with("@example.test")
            );
            let grand = &r["grandtotal"];
            assert_eq!((grand["divisor"].as_i64(), grand["currency_code"].as_str()), (Some(100), Some("USD")));
            let mut sum = 0;
            for t in r["transactions"].as_array().expect("transactions") {
                assert_eq!(t["receipt_id"], r["receipt_id"]);
                assert!(t["transaction_id"].is_u64() && t["listing_id"].is_u64() && t["product_id"].is_u64());
                assert!(t["title"].is_string() && t["sku"].is_string());
                let quantity = t["quantity"].as_i64().expect("quantity");
                assert_eq!(t["price"]["currency_code"], "USD");
                sum += t["price"]["amount"].as_i64().expect("amount") * quantity;
                lines += 1;
            }
            assert_eq!(grand["amount"].as_i64(), Some(sum));
            ids.push(id_string(&r["receipt_id"]));
        }
        offset += 15;
        if offset >= count {
            break;
        }
    }
    assert!(pages >= 3);
    assert_eq!(sorted_unique(&ids), expected(&want));
    assert_eq!(lines, want.lines);

    // Past the end: empty results, the same count; limit above 100 is clamped; a bad number is a 400.
    let past = format!("{url}?min_created={min}&max_created={max}&offset={}", want.orders + 3);
    let body: Value =
        get(past, Some(&c.etsy_keystring), Some(&c.etsy_token)).await.expect("past").json().await.expect("json");
    assert_eq!(body["count"], want.orders);
    assert!(body["results"].as_array().expect("results").is_empty());
    let all = format!("{url}?limit=500&sort_order=asc");
    let body: Value =
        get(all, Some(&c.etsy_keystring), Some(&c.etsy_token)).await.expect("all").json().await.expect("json");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 100);
    assert!(body["count"].as_u64().expect("count") > 100);
    assert!(results.windows(2).all(|w| w[0]["create_timestamp"].as_i64() <= w[1]["create_timestamp"].as_i64()));
    let bad = format!("{url}?min_created=yesterday");
    let response = get(bad, Some(&c.etsy_keystring), Some(&c.etsy_token)).await.expect("bad");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let stats = s.seller.stats();
    let receipts = &stats.endpoints["etsy.receipts"];
    assert_eq!((receipts.unauthorized, receipts.other, receipts.bad_request), (6, 2, 1));
    assert_eq!(receipts.ok, pages + 2);
    s.stop().await;
}

#[tokio::test]
async fn the_new_endpoints_are_rate_limited() {
    let rate = RateLimit { per_second: 0.2, burst: 3, scope: RateScope::EndpointAccount };
    let s = Running::start(SellerConfig { rate: Some(rate), ..config() }).await;
    let c = s.creds("acct-001");
    let etsy = format!("{}/seller/etsy/v3/application/shops/{}/receipts?limit=1", s.base, c.etsy_shop_id);
    let path =
        format!("/seller/coupang/v2/providers/openapi/apis/api/v4/vendors/{}/onlineInquiries", c.coupang_vendor_id);
    let (day, _) = kst_day(s.anchor - DAY_MS);
    let query = format!("inquiryStartAt={day}&inquiryEndAt={day}&answeredType=ALL");
    let mut statuses = (Vec::new(), Vec::new());
    for _ in 0..6 {
        let response = s
            .client
            .get(&etsy)
            .header("x-api-key", &c.etsy_keystring)
            .bearer_auth(&c.etsy_token)
            .send()
            .await
            .expect("etsy");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()[RETRY_AFTER], "1");
        }
        statuses.0.push(response.status());
        let auth = coupang_authorization(&c, &signed_date(0), "GET", &path, &query);
        let response =
            s.client.get(format!("{}{path}?{query}", s.base)).header(AUTHORIZATION, auth).send().await.expect("cp");
        statuses.1.push(response.status());
    }
    for list in [&statuses.0, &statuses.1] {
        assert_eq!(list.iter().filter(|st| **st == StatusCode::OK).count(), 3, "{list:?}");
        assert_eq!(list.iter().filter(|st| **st == StatusCode::TOO_MANY_REQUESTS).count(), 3, "{list:?}");
    }
    let stats = s.seller.stats();
    assert_eq!(stats.endpoints["etsy.receipts"].too_many, 3);
    assert_eq!(stats.endpoints["coupang.inquiries"].too_many, 3);
    assert_eq!(stats.buckets["etsy.receipts/acct-001"].limited, 3);
    assert_eq!(stats.buckets["coupang.inquiries/acct-001"].admitted, 3);
    s.stop().await;
}

async fn naver_token(s: &Running, c: &SellerCredentials, secret: &str, timestamp: i64) -> reqwest::Response {
    let raw: [u8; 16] = bcrypt::BASE_64.decode(&secret.as_bytes()[7..]).expect("salt").try_into().expect("16 bytes");
    let password = format!("{}_{timestamp}", c.naver_client_id);
    let hash = bcrypt::hash_with_salt(password, 4, raw).expect("hash").format_for_version(bcrypt::Version::TwoA);
    let sign = base64::engine::general_purpose::STANDARD.encode(hash);
    s.client
        .post(format!("{}/seller/naver/external/v1/oauth2/token", s.base))
        .form_pairs(&[
            ("client_id", c.naver_client_id.as_str()),
            ("timestamp", &timestamp.to_string()),
            ("grant_type", "client_credentials"),
            ("client_secret_sign", &sign),
            ("type", "SELF"),
        ])
        .send()
        .await
        .expect("token")
}

fn kst_time(ms: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(9 * 3600).expect("offset");
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("t")
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

#[tokio::test]
async fn naver_signs_tokens_with_bcrypt_and_pages_with_more_sequence() {
    let s = Running::start(config()).await;
    let c = s.creds("acct-001");
    let now = Utc::now().timestamp_millis();

    let wrong = naver_token(&s, &c, &s.creds("acct-002").naver_client_secret, now).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(body["code"], "GW.AUTHN");
    let stale = naver_token(&s, &c, &c.naver_client_secret, now - 10 * 60 * 1000).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let ok = naver_token(&s, &c, &c.naver_client_secret, now).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let token: Value = ok.json().await.expect("json");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let bearer = format!("Bearer {}", token["access_token"].as_str().expect("token"));

    let url = format!("{}/seller/naver/external/v1/pay-order/seller/product-orders/last-changed-statuses", s.base);
    let response = s.client.get(&url).header(AUTHORIZATION, "Bearer nope").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (from, to) = (s.whole() - 4 * DAY_MS, s.whole() - 3 * DAY_MS);
    let want = s.truth("acct-001", TruthField::Changed, from, to);
    assert!(want.lines > 3, "{want:?}");
    let too_long = s
        .client
        .get(q(&url, &[("lastChangedFrom", kst_time(from)), ("lastChangedTo", kst_time(to + 1000))]))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .expect("request");
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);

    let mut order_ids = BTreeSet::new();
    let mut product_orders = Vec::new();
    let mut more: Option<(String, String)> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("lastChangedTo", kst_time(to)), ("limitCount", "3".to_string())];
        match &more {
            None => query.push(("lastChangedFrom", kst_time(from))),
            Some((more_from, sequence)) => {
                query.push(("lastChangedFrom", more_from.clone()));
                query.push(("moreSequence", sequence.clone()));
            }
        }
        let response = s.client.get(q(&url, &query)).header(AUTHORIZATION, &bearer).send().await.expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        pages += 1;
        let entries = body["data"]["lastChangeStatuses"].as_array().expect("entries");
        assert_eq!(body["data"]["count"], entries.len());
        for e in entries {
            assert!(e["lastChangedDate"].as_str().expect("date").ends_with("+09:00"));
            assert!(e["productOrderStatus"].is_string() && e["lastChangedType"].is_string());
            order_ids.insert(id_string(&e["orderId"]));
            product_orders.push(id_string(&e["productOrderId"]));
        }
        match body["data"].get("more") {
            Some(m) => {
                let next = (
                    m["moreFrom"].as_str().expect("moreFrom").to_string(),
                    m["moreSequence"].as_str().expect("moreSequence").to_string(),
                );
                more = Some(next);
            }
            None => break,
        }
    }
    assert!(pages >= 2);
    assert_eq!(sorted_unique(&product_orders).len() as u64, want.lines);
    assert_eq!(order_ids.into_iter().collect::<Vec<_>>(), expected(&want));
    s.stop().await;
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..].split('"').next().expect("value").to_string()
}

/// Logs in through the form (and the second factor when the account has one); returns the client with its cookie.
async fn center_login(s: &Running, account: &str) -> reqwest::Client {
    let c = s.creds(account);
    let client = client(true);
    let form = client.get(format!("{}/seller/center/login", s.base)).send().await.expect("form");
    assert_eq!(form.status(), StatusCode::OK);
    let csrf = csrf_of(&form.text().await.expect("html"));
    let response = client
        .post(format!("{}/seller/center/login", s.base))
        .form_pairs(&[
            ("csrf_token", csrf.as_str()),
            ("username", &c.center_username),
            ("password", &c.center_password),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    if let Some(code) = &c.center_otp {
        assert_eq!(response.headers()[LOCATION], "/seller/center/otp");
        let page = client.get(format!("{}/seller/center/otp", s.base)).send().await.expect("otp form");
        let csrf = csrf_of(&page.text().await.expect("html"));
        let response = client
            .post(format!("{}/seller/center/otp", s.base))
            .form_pairs(&[("csrf_token", csrf.as_str()), ("code", code)])
            .send()
            .await
            .expect("otp");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    client
}

#[tokio::test]
async fn the_center_needs_csrf_a_password_and_sometimes_a_code() {
    let s = Running::start(config()).await;
    let c = s.creds("acct-001");
    let api = format!("{}/seller/center/api/v2/admin/orders", s.base);

    // Without a session the API sends the browser to the login page.
    let response = s.client.get(q(&api, &[("start_date", "2025-01-01"), ("end_date", "2025-01-02")])).send().await;
    let response = response.expect("request");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], "/seller/center/login");

    let browser = client(true);
    let form = browser.get(format!("{}/seller/center/login", s.base)).send().await.expect("form");
    assert!(form.headers().get(SET_COOKIE).is_some());
    let html = form.text().await.expect("html");
    assert!(html.contains("<form method=\"post\" action=\"/seller/center/login\">"));
    let csrf = csrf_of(&html);
    let post = |fields: Vec<(&'static str, String)>| {
        browser.post(format!("{}/seller/center/login", s.base)).form_pairs(&fields).send()
    };
    let bad = post(vec![
        ("csrf_token", "forged".into()),
        ("username", c.center_username.clone()),
        ("password", c.center_password.clone()),
    ]);
    assert_eq!(bad.await.expect("post").status(), StatusCode::BAD_REQUEST);
    // The token is bound to the pre-login cookie: a cookieless client with the right token is refused too.
    let stranger = s
        .client
        .post(format!("{}/seller/center/login", s.base))
        .form_pairs(&[
            ("csrf_token", csrf.as_str()),
            ("username", &c.center_username),
            ("password", &c.center_password),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    let wrong =
        post(vec![("csrf_token", csrf.clone()), ("username", c.center_username.clone()), ("password", "nope".into())]);
    let wrong = wrong.await.expect("post");
    assert_eq!(wrong.status(), StatusCode::OK);
    assert!(wrong.text().await.expect("html").contains("Invalid username or password"));
    let ok = post(vec![
        ("csrf_token", csrf),
        ("username", c.center_username.clone()),
        ("password", c.center_password.clone()),
    ]);
    let ok = ok.await.expect("post");
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()[LOCATION], "/seller/center/");
    let cookie =
        ok.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().expect("ascii").to_string()).collect::<Vec<_>>();
    assert!(
        cookie.iter().any(|c| c.starts_with("center_session=") && c.contains("Path=/seller") && c.contains("HttpOnly")),
        "{cookie:?}"
    );
    let dashboard = browser.get(format!("{}/seller/center/", s.base)).send().await.expect("dashboard");
    assert_eq!(dashboard.status(), StatusCode::OK);
    assert!(dashboard.text().await.expect("html").contains("Dashboard"));

    // The orders of a KST date range, by offset, match the truth by creation time.
    let (start, start_ms) = kst_day(s.anchor - 9 * DAY_MS);
    let (end, end_ms) = kst_day(s.anchor - 2 * DAY_MS);
    let want = s.truth("acct-001", TruthField::Created, start_ms, end_ms + DAY_MS);
    let mut ids = Vec::new();
    let mut lines = 0;
    let mut next = Some(format!("{api}?start_date={start}&end_date={end}&limit=8"));
    while let Some(url) = next {
        let response = browser.get(&url).send().await.expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        for o in body["orders"].as_array().expect("orders") {
            assert_eq!(o["currency"], "KRW");
            assert!(o["order_date"].as_str().expect("date").ends_with("+09:00"));
            assert!(o["actual_order_amount"]["payment_amount"].is_string());
            lines += o["items"].as_array().expect("items").len() as u64;
            ids.push(id_string(&o["order_id"]));
        }
        next =
            body["links"].as_array().expect("links").iter().find(|l| l["rel"] == "next").map(|l| id_string(&l["href"]));
    }
    assert_eq!(sorted_unique(&ids), expected(&want));
    assert_eq!(lines, want.lines);

    // acct-003 has a second factor: no session before the code, a wrong code is refused.
    let c3 = s.creds("acct-003");
    let code = c3.center_otp.clone().expect("acct-003 has a second factor");
    let browser3 = client(true);
    let form = browser3.get(format!("{}/seller/center/login", s.base)).send().await.expect("form");
    let csrf = csrf_of(&form.text().await.expect("html"));
    let response = browser3
        .post(format!("{}/seller/center/login", s.base))
        .form_pairs(&[
            ("csrf_token", csrf.as_str()),
            ("username", &c3.center_username),
            ("password", &c3.center_password),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/seller/center/otp");
    let early = browser3.get(q(&api, &[("start_date", start.as_str()), ("end_date", end.as_str())])).send().await;
    assert_eq!(early.expect("request").status(), StatusCode::FOUND);
    let page = browser3.get(format!("{}/seller/center/otp", s.base)).send().await.expect("otp form");
    let html = page.text().await.expect("html");
    assert!(html.contains("name=\"code\""));
    let csrf = csrf_of(&html);
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let response = browser3
        .post(format!("{}/seller/center/otp", s.base))
        .form_pairs(&[("csrf_token", csrf.as_str()), ("code", wrong_code)])
        .send()
        .await
        .expect("otp");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("html").contains("Invalid verification code"));
    let response = browser3
        .post(format!("{}/seller/center/otp", s.base))
        .form_pairs(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .expect("otp");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/seller/center/");
    let response = browser3.get(q(&api, &[("start_date", start.as_str()), ("end_date", end.as_str())])).send().await;
    assert_eq!(response.expect("request").status(), StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn tokens_and_sessions_expire() {
    let s = Running::start(SellerConfig { token_ttl_secs: 1, session_ttl_secs: 1, ..config() }).await;
    let c = s.creds("acct-002");
    let token: Value =
        naver_token(&s, &c, &c.naver_client_secret, Utc::now().timestamp_millis()).await.json().await.expect("json");
    assert_eq!(token["expires_in"], 1);
    let bearer = format!("Bearer {}", token["access_token"].as_str().expect("token"));
    let url = format!("{}/seller/naver/external/v1/pay-order/seller/product-orders/last-changed-statuses", s.base);
    let query = [("lastChangedFrom", kst_time(s.anchor - DAY_MS))];
    let fresh = s.client.get(q(&url, &query)).header(AUTHORIZATION, &bearer).send().await.expect("request");
    assert_eq!(fresh.status(), StatusCode::OK);

    let browser = center_login(&s, "acct-002").await;
    let api = format!("{}/seller/center/api/v2/admin/orders?start_date=2025-01-01&end_date=2025-01-10", s.base);
    assert_eq!(browser.get(&api).send().await.expect("request").status(), StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(2000)).await;
    let expired = s.client.get(q(&url, &query)).header(AUTHORIZATION, &bearer).send().await.expect("request");
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.expect("json");
    assert_eq!(body["code"], "GW.AUTHN");
    let response = browser.get(&api).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], "/seller/center/login");
    let stats = s.seller.stats();
    assert_eq!(stats.endpoints["center.orders"].unauthorized, 1);
    assert_eq!(stats.endpoints["naver.last_changed_statuses"].unauthorized, 1);
    s.stop().await;
}

#[tokio::test]
async fn rate_limits_answer_429_and_show_in_the_stats() {
    let rate = RateLimit { per_second: 5.0, burst: 5, scope: RateScope::EndpointAccount };
    let s = Running::start(SellerConfig { rate: Some(rate), ..config() }).await;
    let c1 = s.creds("acct-001");
    let url = |account: &str| format!("{}/seller/shopify/{account}/admin/api/2025-10/orders.json?limit=1", s.base);

    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..15 {
        let response = s.client.get(url("acct-001")).header("X-Shopify-Access-Token", &c1.shopify_token).send().await;
        let response = response.expect("request");
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(response.headers()[RETRY_AFTER], "1");
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(ok >= 5 && limited >= 1, "ok {ok}, limited {limited}");
    // Another account has its own bucket; the control endpoints are never limited.
    let c2 = s.creds("acct-002");
    let response = s.client.get(url("acct-002")).header("X-Shopify-Access-Token", &c2.shopify_token).send().await;
    assert_eq!(response.expect("request").status(), StatusCode::OK);
    for _ in 0..20 {
        let response = s.client.get(format!("{}/seller/_accounts", s.base)).send().await.expect("accounts");
        assert_eq!(response.status(), StatusCode::OK);
    }

    let stats: Value =
        s.client.get(format!("{}/seller/_stats", s.base)).send().await.expect("stats").json().await.expect("json");
    let shopify = &stats["endpoints"]["shopify.orders"];
    assert_eq!(shopify["requests"], 16);
    assert_eq!(shopify["ok"], ok + 1);
    assert_eq!(shopify["too_many"], limited);
    assert_eq!(shopify["arrivals_ms"].as_array().expect("arrivals").len(), 16);
    let bucket = &stats["buckets"]["shopify.orders/acct-001"];
    assert_eq!(bucket["limited"], limited);
    assert!(bucket["max_admitted_in_1s"].as_u64().expect("max") <= 10);
    assert!(bucket["max_in_1s"].as_u64().expect("max") >= bucket["max_admitted_in_1s"].as_u64().expect("max"));
    let typed: EndpointStats = s.seller.stats().endpoints["shopify.orders"].clone();
    assert_eq!(typed.too_many, limited);
    assert!(typed.observed_rate() > 0.0);
    s.stop().await;
}

#[tokio::test]
async fn the_universe_is_deterministic_and_the_control_endpoints_agree() {
    let cfg = config();
    let anchor = cfg.anchor_ms.expect("anchor");
    let a = truth(&cfg, anchor, "acct-002", TruthField::Changed, anchor - 30 * DAY_MS, anchor + 1);
    let b = truth(&cfg.clone(), anchor, "acct-002", TruthField::Changed, anchor - 30 * DAY_MS, anchor + 1);
    assert_eq!(a, b);
    let other = truth(&SellerConfig { seed: 8, ..cfg.clone() }, anchor, "acct-002", TruthField::Changed, 0, anchor + 1);
    assert_ne!(a, other);
    assert_eq!(credentials(&cfg, "acct-002"), credentials(&cfg.clone(), "acct-002"));

    // The server's own anchor is its bind time; the HTTP truth is the library's.
    let s = Running::start(SellerConfig { anchor_ms: None, ..cfg }).await;
    let now = Utc::now().timestamp_millis();
    assert!((now - s.anchor).abs() < 60_000);
    let accounts: Vec<String> = s
        .client
        .get(format!("{}/seller/_accounts", s.base))
        .send()
        .await
        .expect("accounts")
        .json()
        .await
        .expect("json");
    assert_eq!(accounts, ["acct-001", "acct-002", "acct-003"]);
    let (from, to) = (s.anchor - 7 * DAY_MS, s.anchor);
    for (field, name) in [(TruthField::Changed, "changed"), (TruthField::Created, "created")] {
        let response = s
            .client
            .get(q(
                &format!("{}/seller/_truth", s.base),
                &[("account", "acct-003"), ("field", name), ("from", &from.to_string()), ("to", &to.to_string())],
            ))
            .send()
            .await
            .expect("truth");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        let want = s.truth("acct-003", field, from, to);
        assert_eq!(body["orders"], want.orders);
        assert_eq!(body["lines"], want.lines);
        assert_eq!(body["order_ids"].as_array().expect("ids").len() as u64, want.orders);
    }
    let unknown = s.client.get(format!("{}/seller/_truth?account=acct-009&from=0&to=1", s.base)).send().await;
    assert_eq!(unknown.expect("truth").status(), StatusCode::NOT_FOUND);
    let nowhere = s.client.get(format!("{}/seller/nowhere", s.base)).send().await.expect("404");
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    // The shop is still there.
    let home = s.client.get(format!("{}/", s.base)).send().await.expect("home");
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.expect("html").contains("Books to Scrape"));
    s.stop().await;
}
