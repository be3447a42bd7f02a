//! A simulated seller center: N seller accounts with deterministic orders over the last `days` days, served under
//! `/seller/` in the payload shapes, auth schemes and paging styles of several marketplaces.
//!
//! - Universe: per account, each of the `days` days before the anchor gets 0..=2·`orders_per_day` orders (ids
//!   `10^9 + account_no·10^6 + serial`), each with 1–3 lines and a status history (paid within 30 min, ~5%
//!   cancelled at +1 h, otherwise shipped at +1 day, delivered at +3 days, ~3% of those returned at +5 days).
//!   Events after the anchor have not happened; an order's `changed_at` is its latest event. About one order in
//!   two gets a customer inquiry within three days of its creation, ~60 % of them answered within a day. All times
//!   are whole seconds. [`truth`] and [`inquiry_ids`] compute the ground truth from the generator, not from any
//!   request log.
//! - Marketplaces (every one renders the same orders): Shopify Admin REST (`X-Shopify-Access-Token`, cursor
//!   `page_info` in `Link`), WooCommerce v3 (Basic or query keys, `page`/`per_page`, `X-WP-Total`), Coupang WING
//!   (CEA HMAC-SHA256 signature; ordersheets by `nextToken`, customer inquiries by `pageNum` with `totalPages`),
//!   Naver Commerce (bcrypt-signed OAuth2 client credentials, bearer token, `moreFrom`/`moreSequence`), Etsy Open
//!   API v3 shop receipts (`x-api-key` keystring plus a bearer token, `limit`/`offset` with `count`) and a
//!   login-only seller center (CSRF-protected form, optional second factor, cookie session, Cafe24-shaped JSON with
//!   `offset` paging).
//! - Control (no auth, no rate limit): `GET /seller/_accounts`, `GET /seller/_truth?account=&field=&from=&to=`,
//!   `GET /seller/_inquiries?account=&from=&to=`, `GET /seller/_stats`.
//! - Rate limits ([`RateLimit`]): token buckets per endpoint, account or both; over the limit → 429 with
//!   `Retry-After: 1`. [`SellerStats`] records every request's arrival time and answer.

mod center;
mod coupang;
mod etsy;
mod limits;
mod naver;
mod shopify;
mod universe;
mod woo;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{HeaderName, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use limits::Recorder;
pub use limits::{BucketStats, EndpointStats, SellerStats};
use universe::{Universe, DAY_MS};

/// The endpoint names used for rate-limit scopes and in [`SellerStats`].
pub const ENDPOINTS: [&str; 9] = [
    "shopify.orders",
    "woo.orders",
    "woo.reviews",
    "coupang.ordersheets",
    "coupang.inquiries",
    "naver.token",
    "naver.last_changed_statuses",
    "etsy.receipts",
    "center.orders",
];

/// The most accounts (ids are three digits).
pub const MAX_ACCOUNTS: u32 = 999;
/// The most orders one account may have over its history (serials are six digits).
const MAX_ORDERS_PER_ACCOUNT: u64 = 999_999;
/// Korea time, UTC+9 (Coupang, Naver, the seller center).
pub(crate) const KST: i32 = 9 * 3600;

/// The simulated seller center.
#[derive(Debug, Clone, PartialEq)]
pub struct SellerConfig {
    /// Number of accounts: `acct-001`, `acct-002`, …
    pub accounts: u32,
    /// Seed of the orders and of the credentials.
    pub seed: u64,
    /// History length in days.
    pub days: u32,
    /// End of the history (Unix ms); `None` = the time the sandbox was bound.
    pub anchor_ms: Option<i64>,
    /// Average orders per account per day (the actual count per day is 0..=2·avg, deterministic).
    pub orders_per_day: u32,
    /// `None` = unlimited.
    pub rate: Option<RateLimit>,
    /// Lifetime of a Naver OAuth access token.
    pub token_ttl_secs: u64,
    /// Lifetime of a seller-center login session (from its creation).
    pub session_ttl_secs: u64,
}

impl Default for SellerConfig {
    fn default() -> Self {
        SellerConfig {
            accounts: 3,
            seed: 7,
            days: 30,
            anchor_ms: None,
            orders_per_day: 4,
            rate: None,
            token_ttl_secs: 3600,
            session_ttl_secs: 600,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
    pub scope: RateScope,
}

/// What one bucket covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RateScope {
    /// One bucket per endpoint name, across all accounts.
    Endpoint,
    /// One bucket per marketplace and account (e.g. both WooCommerce endpoints of `acct-001` share one).
    Account,
    /// One bucket per endpoint name and account.
    EndpointAccount,
}

impl SellerConfig {
    /// Every problem of this config, each with its field path under `seller.`.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.accounts > MAX_ACCOUNTS {
            problems.push(format!("seller.accounts: {} is more than the maximum of {MAX_ACCOUNTS}", self.accounts));
        }
        if self.days == 0 || self.days > 3660 {
            problems.push(format!("seller.days: {} is not between 1 and 3660", self.days));
        }
        let most = u64::from(self.days) * 2 * u64::from(self.orders_per_day);
        if most > MAX_ORDERS_PER_ACCOUNT {
            problems.push(format!(
                "seller.orders_per_day: {} over {} days allows {most} orders per account, more than {MAX_ORDERS_PER_ACCOUNT}",
                self.orders_per_day, self.days
            ));
        }
        if let Some(anchor) = self.anchor_ms {
            let start = anchor - i64::from(self.days) * DAY_MS;
            if start < 0 || anchor > 253_402_300_799_000 {
                problems.push(format!("seller.anchor_ms: {anchor} puts the history outside the years 1970 to 9999"));
            }
        }
        if let Some(rate) = &self.rate {
            if !(rate.per_second.is_finite() && rate.per_second > 0.0) {
                problems.push(format!("seller.rate.per_second: {} is not a positive number", rate.per_second));
            }
            if rate.burst == 0 {
                problems.push("seller.rate.burst: must be at least 1".to_string());
            }
        }
        if self.token_ttl_secs == 0 {
            problems.push("seller.token_ttl_secs: must be at least 1".to_string());
        }
        if self.session_ttl_secs == 0 {
            problems.push("seller.session_ttl_secs: must be at least 1".to_string());
        }
        problems
    }
}

/// Every credential of one account, deterministic from the seed and the account id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SellerCredentials {
    pub account: String,
    /// `X-Shopify-Access-Token` (`shpat_…`).
    pub shopify_token: String,
    /// WooCommerce consumer key (`ck_…`) and secret (`cs_…`).
    pub woo_consumer_key: String,
    pub woo_consumer_secret: String,
    /// Coupang vendor id (in the URL path), access key and secret key (HMAC key).
    pub coupang_vendor_id: String,
    pub coupang_access_key: String,
    pub coupang_secret_key: String,
    /// Naver application id and secret; the secret is a bcrypt salt (`$2a$04$` + 22 characters).
    pub naver_client_id: String,
    pub naver_client_secret: String,
    /// Etsy shop id (in the URL path, a number), app keystring (`x-api-key`) and OAuth2 access token
    /// (`Authorization: Bearer`, `{user_id}.{random}` like Etsy's).
    pub etsy_shop_id: String,
    pub etsy_keystring: String,
    pub etsy_token: String,
    /// Seller-center login.
    pub center_username: String,
    pub center_password: String,
    /// The second factor, for every third account (`acct-003`, `acct-006`, …).
    pub center_otp: Option<String>,
}

/// Which time a [`truth`] window filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruthField {
    /// The time of the order's latest event (Shopify `updated_at`, WooCommerce `date_modified`, Naver).
    Changed,
    /// The creation time (Coupang ordersheets, the seller center).
    Created,
}

impl FromStr for TruthField {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "changed" => Ok(TruthField::Changed),
            "created" => Ok(TruthField::Created),
            other => Err(format!("field must be changed or created, not {other:?}")),
        }
    }
}

/// The orders of a window: count, lines and ids (ascending).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Truth {
    pub orders: u64,
    pub lines: u64,
    pub order_ids: Vec<String>,
}

/// `acct-001` … `acct-NNN`.
pub fn account_ids(cfg: &SellerConfig) -> Vec<String> {
    (1..=cfg.accounts.min(MAX_ACCOUNTS)).map(account_id).collect()
}

fn account_id(no: u32) -> String {
    format!("acct-{no:03}")
}

/// The 1-based number of an account id of this config.
fn account_no(cfg: &SellerConfig, account: &str) -> Option<u32> {
    let digits = account.strip_prefix("acct-")?;
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let no: u32 = digits.parse().ok()?;
    (1..=cfg.accounts.min(MAX_ACCOUNTS)).contains(&no).then_some(no)
}

fn digest(seed: u64, account: &str, label: &str) -> [u8; 32] {
    Sha256::digest(format!("shopstream-seller/{seed}/{account}/{label}")).into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn alnum(bytes: &[u8], len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    bytes.iter().take(len).map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// The credentials of `account`, or `None` if the config has no such account.
pub fn credentials(cfg: &SellerConfig, account: &str) -> Option<SellerCredentials> {
    use base64::Engine as _;
    let no = account_no(cfg, account)?;
    let seed = cfg.seed;
    let d = |label: &str| digest(seed, account, label);
    let uuid = hex(&d("coupang-access-key")[..16]);
    let vendor = d("coupang-vendor");
    let vendor_no = 10_000_000 + u64::from(no) * 1000 + u64::from(u16::from_be_bytes([vendor[0], vendor[1]]) % 1000);
    let salt: [u8; 16] = {
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&d("naver-client-secret")[..16]);
        salt
    };
    let otp = d("center-otp");
    Some(SellerCredentials {
        account: account.to_string(),
        shopify_token: format!("shpat_{}", &hex(&d("shopify-token"))[..32]),
        woo_consumer_key: format!("ck_{}", &hex(&d("woo-consumer-key"))[..40]),
        woo_consumer_secret: format!("cs_{}", &hex(&d("woo-consumer-secret"))[..40]),
        coupang_vendor_id: format!("A{vendor_no:08}"),
        coupang_access_key: format!(
            "{}-{}-{}-{}-{}",
            &uuid[..8],
            &uuid[8..12],
            &uuid[12..16],
            &uuid[16..20],
            &uuid[20..32]
        ),
        coupang_secret_key: hex(&d("coupang-secret-key"))[..40].to_string(),
        naver_client_id: alnum(&d("naver-client-id"), 22),
        // Canonical bcrypt base64 of 16 bytes, so a bcrypt hash made with it shows the same salt string.
        naver_client_secret: format!("$2a$04${}", bcrypt::BASE_64.encode(salt)),
        etsy_shop_id: etsy::shop_id(no).to_string(),
        etsy_keystring: hex(&d("etsy-keystring"))[..24].to_string(),
        etsy_token: format!("{}.{}", etsy::seller_user_id(no), alnum(&d("etsy-token"), 32)),
        center_username: format!("seller{no:03}"),
        center_password: alnum(&d("center-password"), 20),
        center_otp: (no % 3 == 0)
            .then(|| format!("{:06}", u32::from_be_bytes([otp[0], otp[1], otp[2], otp[3]]) % 1_000_000)),
    })
}

fn truth_of(u: &Universe, field: TruthField, from_ms: i64, to_ms: i64) -> Truth {
    let mut truth = Truth::default();
    for o in &u.orders {
        let t = match field {
            TruthField::Changed => o.changed_ms,
            TruthField::Created => o.created_ms,
        };
        if t >= from_ms && t < to_ms {
            truth.orders += 1;
            truth.lines += o.lines.len() as u64;
            truth.order_ids.push(o.id.to_string());
        }
    }
    truth
}

/// The orders and lines of `account` whose `field` time is in `[from_ms, to_ms)`, as the universe anchored at
/// `anchor_ms` has them. Empty for an unknown account.
pub fn truth(cfg: &SellerConfig, anchor_ms: i64, account: &str, field: TruthField, from_ms: i64, to_ms: i64) -> Truth {
    match account_no(cfg, account) {
        Some(no) => truth_of(&universe::generate(cfg, anchor_ms, no), field, from_ms, to_ms),
        None => Truth::default(),
    }
}

/// The ids of the WooCommerce product reviews of `account` created in `[from_ms, to_ms)`, ascending.
pub fn review_ids(cfg: &SellerConfig, anchor_ms: i64, account: &str, from_ms: i64, to_ms: i64) -> Vec<String> {
    let Some(no) = account_no(cfg, account) else {
        return Vec::new();
    };
    let u = universe::generate(cfg, anchor_ms, no);
    u.orders
        .iter()
        .filter_map(|o| o.review.as_ref())
        .filter(|r| r.created_ms >= from_ms && r.created_ms < to_ms)
        .map(|r| r.id.to_string())
        .collect()
}

fn inquiry_ids_of(u: &Universe, from_ms: i64, to_ms: i64) -> Vec<String> {
    let mut ids: Vec<u64> = u
        .orders
        .iter()
        .filter_map(|o| o.inquiry.as_ref())
        .filter(|q| q.asked_ms >= from_ms && q.asked_ms < to_ms)
        .map(|q| q.id)
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(|id| id.to_string()).collect()
}

/// The ids of the Coupang customer inquiries of `account` asked in `[from_ms, to_ms)`, ascending (decimal strings
/// of one length, so the string order is the numeric order). Empty for an unknown account.
pub fn inquiry_ids(cfg: &SellerConfig, anchor_ms: i64, account: &str, from_ms: i64, to_ms: i64) -> Vec<String> {
    match account_no(cfg, account) {
        Some(no) => inquiry_ids_of(&universe::generate(cfg, anchor_ms, no), from_ms, to_ms),
        None => Vec::new(),
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The live seller center of one sandbox: config, anchor, sessions, tokens, limiter and statistics.
#[derive(Debug)]
pub struct Seller {
    config: SellerConfig,
    anchor_ms: i64,
    local_addr: SocketAddr,
    creds: Vec<SellerCredentials>,
    universes: Vec<OnceLock<Arc<Universe>>>,
    recorder: Recorder,
    /// Makes tokens and session ids differ between runs.
    nonce: u64,
    counter: AtomicU64,
    /// Naver access token → (account index, expiry in Unix ms).
    naver_tokens: Mutex<HashMap<String, (usize, i64)>>,
    center: Mutex<center::CenterState>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Seller {
    /// A seller center whose history ends at `anchor_ms`; `local_addr` serves as the host of links when a request
    /// has no `Host` header.
    pub fn new(config: SellerConfig, anchor_ms: i64, local_addr: SocketAddr) -> Seller {
        let creds = account_ids(&config).iter().filter_map(|a| credentials(&config, a)).collect::<Vec<_>>();
        let universes = creds.iter().map(|_| OnceLock::new()).collect();
        let nonce = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
            ^ config.seed.rotate_left(17);
        Seller {
            recorder: Recorder::new(config.rate.clone()),
            config,
            anchor_ms,
            local_addr,
            creds,
            universes,
            nonce,
            counter: AtomicU64::new(0),
            naver_tokens: Mutex::new(HashMap::new()),
            center: Mutex::new(center::CenterState::default()),
        }
    }

    /// The end of the history (Unix ms).
    pub fn anchor_ms(&self) -> i64 {
        self.anchor_ms
    }

    pub fn config(&self) -> &SellerConfig {
        &self.config
    }

    /// The statistics now.
    pub fn stats(&self) -> SellerStats {
        self.recorder.snapshot()
    }

    /// The ground truth of this seller center (see [`truth`]).
    pub fn truth(&self, account: &str, field: TruthField, from_ms: i64, to_ms: i64) -> Truth {
        match self.account_index(account) {
            Some(i) => truth_of(&self.universe(i), field, from_ms, to_ms),
            None => Truth::default(),
        }
    }

    /// The customer inquiries of this seller center asked in `[from_ms, to_ms)` (see [`inquiry_ids`]).
    pub fn inquiry_ids(&self, account: &str, from_ms: i64, to_ms: i64) -> Vec<String> {
        match self.account_index(account) {
            Some(i) => inquiry_ids_of(&self.universe(i), from_ms, to_ms),
            None => Vec::new(),
        }
    }

    pub(crate) fn account_index(&self, account: &str) -> Option<usize> {
        account_no(&self.config, account).map(|no| no as usize - 1)
    }

    pub(crate) fn creds(&self, index: usize) -> &SellerCredentials {
        &self.creds[index]
    }

    pub(crate) fn find_account(&self, pred: impl Fn(&SellerCredentials) -> bool) -> Option<usize> {
        self.creds.iter().position(pred)
    }

    pub(crate) fn universe(&self, index: usize) -> Arc<Universe> {
        Arc::clone(
            self.universes[index]
                .get_or_init(|| Arc::new(universe::generate(&self.config, self.anchor_ms, index as u32 + 1))),
        )
    }

    /// A fresh unguessable-looking token (hex).
    pub(crate) fn fresh_token(&self, label: &str, len: usize) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let d = Sha256::digest(format!("{}/{n}/{label}", self.nonce));
        let h = hex(&d);
        h[..len.min(h.len())].to_string()
    }

    /// Whether the rate limit refuses this request (answer 429).
    pub(crate) fn throttled(&self, endpoint: &'static str, index: usize, req: &Req) -> bool {
        !self.recorder.admit(endpoint, &self.creds[index].account, req.now_ms)
    }

    fn endpoint(&self, name: &'static str, req: &Req, answer: impl FnOnce() -> Response) -> Response {
        self.recorder.arrive(name, req.now_ms);
        let response = answer();
        self.recorder.answered(name, response.status());
        response
    }

    fn dispatch(&self, req: &Req) -> Response {
        let rest = req.path.strip_prefix("/seller/").unwrap_or("");
        let segs: Vec<&str> = rest.split('/').collect();
        let get = req.method == Method::GET || req.method == Method::HEAD;
        let post = req.method == Method::POST;
        match segs.as_slice() {
            ["_accounts"] if get => reply_json(StatusCode::OK, &json!(account_ids(&self.config)), Vec::new()),
            ["_stats"] if get => match serde_json::to_value(self.stats()) {
                Ok(v) => reply_json(StatusCode::OK, &v, Vec::new()),
                Err(e) => reply_json(StatusCode::INTERNAL_SERVER_ERROR, &json!({"error": e.to_string()}), Vec::new()),
            },
            ["_truth"] if get => self.truth_endpoint(req),
            ["_inquiries"] if get => self.inquiries_endpoint(req),
            ["shopify", account, "admin", "api", version, "orders.json"] => {
                self.endpoint("shopify.orders", req, || only(get, || shopify::orders(self, req, account, version)))
            }
            ["woo", account, "wp-json", "wc", "v3", "orders"] => {
                self.endpoint("woo.orders", req, || only(get, || woo::orders(self, req, account)))
            }
            ["woo", account, "wp-json", "wc", "v3", "products", "reviews"] => {
                self.endpoint("woo.reviews", req, || only(get, || woo::reviews(self, req, account)))
            }
            ["coupang", "v2", "providers", "openapi", "apis", "api", "v4", "vendors", vendor, "ordersheets"] => {
                self.endpoint("coupang.ordersheets", req, || only(get, || coupang::ordersheets(self, req, vendor)))
            }
            ["coupang", "v2", "providers", "openapi", "apis", "api", "v4", "vendors", vendor, "onlineInquiries"] => {
                self.endpoint("coupang.inquiries", req, || only(get, || coupang::inquiries(self, req, vendor)))
            }
            ["etsy", "v3", "application", "shops", shop, "receipts"] => {
                self.endpoint("etsy.receipts", req, || only(get, || etsy::receipts(self, req, shop)))
            }
            ["naver", "external", "v1", "oauth2", "token"] => {
                self.endpoint("naver.token", req, || only(post, || naver::token(self, req)))
            }
            ["naver", "external", "v1", "pay-order", "seller", "product-orders", "last-changed-statuses"] => self
                .endpoint("naver.last_changed_statuses", req, || only(get, || naver::last_changed_statuses(self, req))),
            ["center", "api", "v2", "admin", "orders"] => {
                self.endpoint("center.orders", req, || only(get, || center::orders(self, req)))
            }
            ["center", page @ ..] => center::page(self, req, page),
            _ => reply_json(StatusCode::NOT_FOUND, &json!({"error": "not found"}), Vec::new()),
        }
    }

    fn truth_endpoint(&self, req: &Req) -> Response {
        let field = match req.param("field").unwrap_or("changed").parse::<TruthField>() {
            Ok(f) => f,
            Err(e) => return reply_json(StatusCode::BAD_REQUEST, &json!({ "error": e }), Vec::new()),
        };
        match self.control_window(req) {
            Ok((account, from, to)) => {
                reply_json(StatusCode::OK, &json!(self.truth(account, field, from, to)), Vec::new())
            }
            Err(response) => *response,
        }
    }

    /// `{"inquiries": n, "inquiry_ids": [...]}`: the customer inquiries asked in `[from, to)`.
    fn inquiries_endpoint(&self, req: &Req) -> Response {
        match self.control_window(req) {
            Ok((account, from, to)) => {
                let ids = self.inquiry_ids(account, from, to);
                reply_json(StatusCode::OK, &json!({ "inquiries": ids.len(), "inquiry_ids": ids }), Vec::new())
            }
            Err(response) => *response,
        }
    }

    /// `account`, `from` and `to` (Unix ms) of a control request; 400 when missing, 404 for an unknown account.
    fn control_window<'r>(&self, req: &'r Req) -> Result<(&'r str, i64, i64), Box<Response>> {
        let bad = |msg: &str| Box::new(reply_json(StatusCode::BAD_REQUEST, &json!({ "error": msg }), Vec::new()));
        let Some(account) = req.param("account") else {
            return Err(bad("account is required"));
        };
        let ms = |name: &str| req.param(name).map(|v| v.parse::<i64>());
        let (from, to) = match (ms("from"), ms("to")) {
            (Some(Ok(from)), Some(Ok(to))) => (from, to),
            _ => return Err(bad("from and to (Unix ms) are required")),
        };
        if self.account_index(account).is_none() {
            let body = json!({"error": format!("no account {account:?}")});
            return Err(Box::new(reply_json(StatusCode::NOT_FOUND, &body, Vec::new())));
        }
        Ok((account, from, to))
    }
}

fn only(allowed: bool, answer: impl FnOnce() -> Response) -> Response {
    if allowed {
        answer()
    } else {
        reply_json(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "method not allowed"}), Vec::new())
    }
}

/// One request, as the marketplace handlers see it.
pub(crate) struct Req<'a> {
    pub method: &'a Method,
    /// The path as sent (percent-encoding kept).
    pub path: &'a str,
    /// The query string as sent, without '?'.
    pub raw_query: &'a str,
    /// The decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// `http://host` of this request.
    pub base: String,
    pub now_ms: i64,
}

impl Req<'_> {
    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
            line.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k == name).then(|| v.to_string())
            })
        })
    }

    /// The decoded `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body).into_owned().collect()
    }
}

pub(crate) fn reply(
    status: StatusCode,
    content_type: &'static str,
    headers: Vec<(HeaderName, String)>,
    body: String,
) -> Response {
    let mut map = HeaderMap::new();
    map.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.append(name, value);
        }
    }
    (status, map, body).into_response()
}

pub(crate) fn reply_json(status: StatusCode, body: &Value, headers: Vec<(HeaderName, String)>) -> Response {
    reply(status, "application/json; charset=utf-8", headers, body.to_string())
}

/// One JSON object from several (`json!` cannot take very large objects at once); later keys win.
pub(crate) fn merge(parts: impl IntoIterator<Item = Value>) -> Value {
    let mut out = serde_json::Map::new();
    for part in parts {
        if let Value::Object(map) = part {
            out.extend(map);
        }
    }
    Value::Object(out)
}

/// A 429 with `Retry-After: 1` and the marketplace's error body.
pub(crate) fn too_many(body: &Value) -> Response {
    reply_json(StatusCode::TOO_MANY_REQUESTS, body, vec![(axum::http::header::RETRY_AFTER, "1".to_string())])
}

/// `ms` at a fixed UTC offset: `2024-01-02T03:04:05+09:00`, or with `.000` milliseconds.
pub(crate) fn fmt_time(ms: i64, offset_secs: i32, millis: bool) -> String {
    let (Some(offset), Some(t)) = (FixedOffset::east_opt(offset_secs), DateTime::from_timestamp_millis(ms)) else {
        return String::new();
    };
    let local = t.with_timezone(&offset);
    let pattern = if millis { "%Y-%m-%dT%H:%M:%S%.3f%:z" } else { "%Y-%m-%dT%H:%M:%S%:z" };
    local.format(pattern).to_string()
}

/// `ms` as naive local time at a fixed UTC offset, in a chrono `pattern`.
pub(crate) fn fmt_local(ms: i64, offset_secs: i32, pattern: &str) -> String {
    let (Some(offset), Some(t)) = (FixedOffset::east_opt(offset_secs), DateTime::from_timestamp_millis(ms)) else {
        return String::new();
    };
    t.with_timezone(&offset).naive_local().format(pattern).to_string()
}

/// Parses an ISO 8601 / RFC 3339 time to Unix ms. Without an offset it is local time at `default_offset_secs`.
/// A space where the offset's '+' should be (an unencoded '+' in a query string) is read as '+'.
pub(crate) fn parse_time(s: &str, default_offset_secs: i32) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Some(i) = s.rfind(' ') {
        let fixed = format!("{}+{}", &s[..i], &s[i + 1..]);
        if let Ok(t) = DateTime::parse_from_rfc3339(&fixed) {
            return Some(t.timestamp_millis());
        }
    }
    let offset = FixedOffset::east_opt(default_offset_secs)?;
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|p| NaiveDateTime::parse_from_str(s, p).ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    Some(naive.and_utc().timestamp_millis() - i64::from(offset.local_minus_utc()) * 1000)
}

/// The day number (days since 1970-01-01) of `ms` in local time at `offset_secs`.
pub(crate) fn local_day(ms: i64, offset_secs: i32) -> i64 {
    (ms + i64::from(offset_secs) * 1000).div_euclid(DAY_MS)
}

/// The day number of a `yyyy-MM-dd` date.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis().div_euclid(DAY_MS))
}

/// `12.34` from cents.
pub(crate) fn decimal(cents: i64) -> String {
    format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100)
}

/// The axum router of `/seller/*`.
pub(crate) fn router(seller: Arc<Seller>) -> Router {
    Router::new().route("/seller/{*rest}", any(handle)).with_state(seller)
}

async fn handle(
    State(seller): State<Arc<Seller>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    let raw_query = uri.query().unwrap_or("");
    let req = Req {
        method: &method,
        path: uri.path(),
        raw_query,
        query: url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect(),
        headers: &headers,
        body: &body,
        base: format!("http://{}", host.unwrap_or_else(|| seller.local_addr.to_string())),
        now_ms: now_ms(),
    };
    seller.dispatch(&req)
}

/// The accounts as a secrets file (`SHOPSTREAM_SECRETS`) for the sources of `config/seller-sandbox.toml`:
/// one table per source and account, `base` (the sandbox's URL, the only public variable) and the
/// account's credentials under the names that config's auth templates use.
pub fn secrets_toml(cfg: &SellerConfig, base: &str) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from("# The sandbox seller center's accounts (shopstream sandbox --seller-secrets).\n");
    for id in account_ids(cfg) {
        let Some(c) = credentials(cfg, &id) else { continue };
        let sources: [(&str, Vec<(&str, &str)>); 6] = [
            ("shopify-sandbox", vec![("access_token", &c.shopify_token)]),
            ("woo-sandbox", vec![("consumer_key", &c.woo_consumer_key), ("consumer_secret", &c.woo_consumer_secret)]),
            (
                "coupang-sandbox",
                vec![
                    ("vendor_id", &c.coupang_vendor_id),
                    ("access_key", &c.coupang_access_key),
                    ("secret_key", &c.coupang_secret_key),
                ],
            ),
            (
                "naver-commerce-sandbox",
                vec![("client_id", &c.naver_client_id), ("client_secret", &c.naver_client_secret)],
            ),
            ("center-sandbox", vec![("username", &c.center_username), ("password", &c.center_password)]),
            (
                "etsy-sandbox",
                vec![("shop_id", &c.etsy_shop_id), ("keystring", &c.etsy_keystring), ("token", &c.etsy_token)],
            ),
        ];
        for (source, vars) in sources {
            out.push_str(&format!("\n[{source}.{id}]\nbase = {}\n", q(base.trim_end_matches('/'))));
            for (k, v) in vars {
                out.push_str(&format!("{k} = {}\n", q(v)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_deterministic_distinct_and_well_formed() {
        let cfg = SellerConfig { accounts: 6, ..SellerConfig::default() };
        assert_eq!(account_ids(&cfg), ["acct-001", "acct-002", "acct-003", "acct-004", "acct-005", "acct-006"]);
        assert!(credentials(&cfg, "acct-007").is_none());
        assert!(credentials(&cfg, "acct-1").is_none());
        let mut all: Vec<String> = Vec::new();
        for account in account_ids(&cfg) {
            let c = credentials(&cfg, &account).expect("known account");
            assert_eq!(Some(&c), credentials(&cfg, &account).as_ref());
            let no: u32 = account[5..].parse().expect("number");
            assert_eq!(c.center_otp.is_some(), no.is_multiple_of(3));
            assert!(c.naver_client_secret.starts_with("$2a$04$") && c.naver_client_secret.len() == 29);
            let secrets = [
                &c.shopify_token,
                &c.woo_consumer_key,
                &c.woo_consumer_secret,
                &c.coupang_access_key,
                &c.coupang_secret_key,
                &c.naver_client_id,
                &c.naver_client_secret,
                &c.etsy_keystring,
                &c.etsy_token,
                &c.center_password,
            ];
            for s in secrets {
                assert!(s.len() >= 16, "{s}");
                all.push(s.to_string());
            }
            all.push(c.coupang_vendor_id.clone());
            all.push(c.etsy_shop_id.clone());
            assert_eq!(c.etsy_shop_id, (10_000_000 + no).to_string());
        }
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert!(i == j || !a.contains(b.as_str()), "{a} contains {b}");
            }
        }
        let other = credentials(&SellerConfig { seed: 8, ..cfg.clone() }, "acct-001").expect("account");
        assert_ne!(other.shopify_token, credentials(&cfg, "acct-001").expect("account").shopify_token);
    }

    #[test]
    fn the_naver_secret_is_a_salt_bcrypt_keeps() {
        let c = credentials(&SellerConfig::default(), "acct-002").expect("account");
        use base64::Engine as _;
        let raw = bcrypt::BASE_64.decode(&c.naver_client_secret[7..]).expect("bcrypt base64");
        let salt: [u8; 16] = raw.try_into().expect("16 bytes");
        let hash = bcrypt::hash_with_salt("id_123", 4, salt).expect("hash").format_for_version(bcrypt::Version::TwoA);
        assert!(hash.starts_with(&c.naver_client_secret));
    }

    #[test]
    fn config_problems_name_their_fields() {
        assert!(SellerConfig::default().problems().is_empty());
        let bad = SellerConfig {
            accounts: 1000,
            days: 0,
            anchor_ms: Some(5),
            rate: Some(RateLimit { per_second: 0.0, burst: 0, scope: RateScope::Endpoint }),
            token_ttl_secs: 0,
            session_ttl_secs: 0,
            ..SellerConfig::default()
        };
        let problems = bad.problems();
        assert_eq!(problems.len(), 6, "{problems:?}");
        let many = SellerConfig { orders_per_day: 100_000, ..SellerConfig::default() }.problems();
        assert!(many[0].starts_with("seller.orders_per_day"), "{many:?}");
    }

    #[test]
    fn times_format_and_parse() {
        let ms = 1_704_164_645_000; // 2024-01-02T03:04:05Z
        assert_eq!(fmt_time(ms, KST, false), "2024-01-02T12:04:05+09:00");
        assert_eq!(fmt_time(ms, KST, true), "2024-01-02T12:04:05.000+09:00");
        assert_eq!(fmt_time(ms, -5 * 3600, false), "2024-01-01T22:04:05-05:00");
        assert_eq!(fmt_local(ms, 0, "%Y-%m-%dT%H:%M:%S"), "2024-01-02T03:04:05");
        assert_eq!(parse_time("2024-01-02T12:04:05+09:00", 0), Some(ms));
        assert_eq!(parse_time("2024-01-02T12:04:05.000 09:00", 0), Some(ms));
        assert_eq!(parse_time("2024-01-02T03:04:05Z", KST), Some(ms));
        assert_eq!(parse_time("2024-01-02T03:04:05", 0), Some(ms));
        assert_eq!(parse_time("2024-01-02T12:04:05.000", KST), Some(ms));
        assert_eq!(parse_time("2024-01-02", 0), Some(1_704_153_600_000));
        assert_eq!(parse_time("yesterday", 0), None);
        assert_eq!(local_day(ms, 0), parse_day("2024-01-02").expect("day"));
        assert_eq!(local_day(1_704_123_000_000, KST), parse_day("2024-01-02").expect("day"));
        assert_eq!(decimal(1234), "12.34");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(-250), "-2.50");
    }

    #[test]
    fn truth_counts_orders_and_lines_in_a_window() {
        let cfg = SellerConfig::default();
        let anchor = 1_735_689_600_000;
        let all = truth(&cfg, anchor, "acct-001", TruthField::Created, 0, anchor + 1);
        let u = universe::generate(&cfg, anchor, 1);
        assert_eq!(all.orders as usize, u.orders.len());
        assert_eq!(all.lines as usize, u.orders.iter().map(|o| o.lines.len()).sum::<usize>());
        let mid = anchor - 10 * DAY_MS;
        let a = truth(&cfg, anchor, "acct-001", TruthField::Changed, 0, mid);
        let b = truth(&cfg, anchor, "acct-001", TruthField::Changed, mid, anchor + 1);
        assert_eq!(a.orders + b.orders, all.orders);
        assert_eq!(truth(&cfg, anchor, "acct-009", TruthField::Changed, 0, anchor), Truth::default());
        let seller = Seller::new(cfg.clone(), anchor, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(seller.truth("acct-001", TruthField::Changed, 0, mid), a);
        assert!(!review_ids(&cfg, anchor, "acct-001", 0, anchor + 1).is_empty());
        let inquiries = inquiry_ids(&cfg, anchor, "acct-001", 0, anchor + 1);
        assert!(inquiries.len() * 4 > u.orders.len() && inquiries.len() * 4 < 3 * u.orders.len(), "{inquiries:?}");
        assert!(inquiries.windows(2).all(|w| w[0] < w[1]));
        let early = inquiry_ids(&cfg, anchor, "acct-001", 0, mid);
        let late = inquiry_ids(&cfg, anchor, "acct-001", mid, anchor + 1);
        let mut both = [early, late].concat();
        both.sort();
        assert_eq!(both, inquiries);
        assert_eq!(seller.inquiry_ids("acct-001", 0, anchor + 1), inquiries);
        assert!(inquiry_ids(&cfg, anchor, "acct-009", 0, anchor).is_empty());
    }
}
