//! Seller-side API sources (`kind = "api"`): endpoints, auth schemes, paging, collection windows, rate
//! limit scopes, and the seller accounts whose credentials the requests carry.
//!
//! Shared by `collect` (which turns a window into the first request of each endpoint, account and window
//! chunk) and the extractor (which signs each request, follows the API's own paging signal and keeps the
//! rate limits). Everything here is pure and unit-tested; the I/O lives in the stages.
//!
//! Credentials never travel in crawl requests: a request names its source, account and endpoint, and its
//! URL holds only the account's public variables (`public = [...]`). The extractor adds the secrets
//! (headers, signatures, cookies) at the moment it sends.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use crate::secrets::Secret;

/// Attribute names a seller API crawl request carries (besides the shared ones).
pub mod attr {
    pub const ACCOUNT: &str = "account";
    pub const ENDPOINT: &str = "endpoint";
    pub const MAPPER: &str = "mapper";
    pub const WINDOW_FROM: &str = "window_from";
    pub const WINDOW_TO: &str = "window_to";
    pub const PAGE: &str = "page";
    pub const COLLECTION: &str = "collection";
    /// The request body of a POST endpoint (from its template: public variables and the window only).
    pub const BODY: &str = "body";
}

/// `[sources.NAME.api]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// How every request of the source is authenticated.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Account variables that are not secret and may appear in URLs (e.g. `base`, `shop`, `vendor_id`).
    /// Every other variable of an account is a secret, usable only by the auth scheme.
    #[serde(default)]
    pub public: Vec<String>,
    /// The default rate limit of the source's endpoints.
    #[serde(default)]
    pub rate: Option<RateConfig>,
    /// Endpoints `collect` can enqueue (none for a source whose API only signs tracked searches).
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointConfig>,
}

/// How requests are authenticated. Values are templates over the account's variables (`{access_token}`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    #[default]
    None,
    /// Static headers (Shopify `X-Shopify-Access-Token`, Naver Open API client id/secret).
    Headers { headers: BTreeMap<String, String> },
    /// HTTP basic (WooCommerce consumer key / secret).
    Basic { user: String, password: String },
    /// Coupang WING: `Authorization: CEA algorithm=HmacSHA256, access-key=…, signed-date=…, signature=…`,
    /// the signature an HMAC-SHA256 over signed-date + method + path + query.
    CoupangHmac { access_key: String, secret_key: String },
    /// OAuth 2 client credentials; the token is cached per account and renewed before it expires.
    Oauth2ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        /// `naver_bcrypt`: send `client_secret_sign` = Base64(bcrypt(client_id + "_" + timestamp, salt =
        /// client secret)) and a `timestamp` instead of the secret (Naver Commerce API).
        #[serde(default)]
        sign: Option<String>,
        /// Extra form fields of the token request (e.g. `type = "SELF"`).
        #[serde(default)]
        form: BTreeMap<String, String>,
        /// Renew this long before the token expires (default "60s").
        #[serde(default)]
        refresh_before: Option<String>,
    },
    /// A seller center without an API: a login form with a CSRF token, then a cookie session per account.
    Session {
        /// The login form's page (GET) and target (POST, unless the form says otherwise).
        login_url: String,
        username: String,
        password: String,
        #[serde(default = "default_username_field")]
        username_field: String,
        #[serde(default = "default_password_field")]
        password_field: String,
        /// The hidden input carrying the CSRF token (read from the form page).
        #[serde(default = "default_csrf_field")]
        csrf_field: String,
        /// A path that means "a second factor is needed" when a login lands on it: such accounts need a
        /// session imported with `shopstream session import`.
        #[serde(default)]
        second_factor_path: Option<String>,
    },
}

fn default_username_field() -> String {
    "username".into()
}
fn default_password_field() -> String {
    "password".into()
}
fn default_csrf_field() -> String {
    "csrf_token".into()
}

impl AuthConfig {
    pub fn scheme(&self) -> &'static str {
        match self {
            AuthConfig::None => "none",
            AuthConfig::Headers { .. } => "headers",
            AuthConfig::Basic { .. } => "basic",
            AuthConfig::CoupangHmac { .. } => "coupang_hmac",
            AuthConfig::Oauth2ClientCredentials { .. } => "oauth2_client_credentials",
            AuthConfig::Session { .. } => "session",
        }
    }

    /// Every template of the scheme (checked against the account's variables).
    fn templates(&self) -> Vec<&str> {
        match self {
            AuthConfig::None => vec![],
            AuthConfig::Headers { headers } => headers.values().map(String::as_str).collect(),
            AuthConfig::Basic { user, password } => vec![user, password],
            AuthConfig::CoupangHmac { access_key, secret_key } => vec![access_key, secret_key],
            AuthConfig::Oauth2ClientCredentials { token_url, client_id, client_secret, form, .. } => {
                let mut v: Vec<&str> = vec![token_url, client_id, client_secret];
                v.extend(form.values().map(String::as_str));
                v
            }
            AuthConfig::Session { login_url, username, password, .. } => vec![login_url, username, password],
        }
    }
}

/// `[sources.NAME.api.endpoints.E]`: one API call and how its answers continue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// GET (default) or POST.
    #[serde(default = "default_method")]
    pub method: String,
    /// URL template: `{account}`, the account's public variables, and `{from}` / `{to}` (the window).
    pub url: String,
    /// Request body template (POST), with the same variables as the URL: written by `collect` into the
    /// request (so it holds no secret), sent as is.
    #[serde(default)]
    pub body: Option<String>,
    /// Content type of the body (default `application/json`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Extra headers, templates over every account variable (secrets included: they are added when the
    /// request is sent and never recorded).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Which mapper reads the payload (`shopify_orders`, `woocommerce_orders`, …).
    pub mapper: String,
    #[serde(default)]
    pub paging: Paging,
    /// How "changed since T" windows are cut and written.
    #[serde(default)]
    pub window: Option<WindowConfig>,
    /// This endpoint's rate limit (else the source's).
    #[serde(default)]
    pub rate: Option<RateConfig>,
}

fn default_method() -> String {
    "GET".into()
}

/// How an API says there is a next page. The next page is a new crawl request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paging {
    /// One page.
    #[default]
    None,
    /// `Link: <…>; rel="next"` (Shopify `page_info`, WooCommerce, GitHub…).
    LinkHeader,
    /// A page number parameter, ended by a total-pages header (`X-WP-TotalPages`).
    TotalPagesHeader {
        #[serde(default = "default_page_param")]
        param: String,
        #[serde(default = "default_total_pages_header")]
        header: String,
    },
    /// A page number parameter, ended by a total-pages field or a has-next flag in the body.
    Page {
        #[serde(default = "default_page_param")]
        param: String,
        /// First page number (default 1).
        #[serde(default = "default_first_page")]
        first: u64,
        #[serde(default)]
        total_pages_path: Option<String>,
        #[serde(default)]
        has_next_path: Option<String>,
    },
    /// offset/limit: the next offset is offset + the items received, while the body's total says more
    /// remain (or, without a total, while a page comes back full).
    Offset {
        #[serde(default = "default_offset_param")]
        param: String,
        #[serde(default = "default_limit_param")]
        limit_param: String,
        /// The array of items in the body (`""` = the body itself).
        #[serde(default)]
        items_path: String,
        #[serde(default)]
        total_path: Option<String>,
    },
    /// A next link in the body: an array of `{rel, href}` objects (Cafe24 `links`).
    BodyLink {
        #[serde(default = "default_links_path")]
        path: String,
    },
    /// Cursor / next token: each parameter is set from a body field; ended when the first field is absent
    /// or empty (Coupang `nextToken`, Naver `more.moreFrom` + `more.moreSequence`).
    Cursor { params: BTreeMap<String, String> },
}

fn default_page_param() -> String {
    "page".into()
}
fn default_total_pages_header() -> String {
    "X-WP-TotalPages".into()
}
fn default_first_page() -> u64 {
    1
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_limit_param() -> String {
    "limit".into()
}
fn default_links_path() -> String {
    "links".into()
}

/// `window = { max = "1d", overlap = "10m", format = "rfc3339", timezone = "Asia/Seoul" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// The API's largest window per call (default "1d").
    #[serde(default)]
    pub max: Option<String>,
    /// Each chunk after the first starts this much earlier, so nothing on a boundary is missed (default 0).
    #[serde(default)]
    pub overlap: Option<String>,
    /// How `{from}` / `{to}` are written: `rfc3339` (UTC, `Z`), `rfc3339_offset` (in `timezone`),
    /// `naive_utc` (`2024-01-02T03:04:05`), `date` (`2024-01-02` in `timezone`, both ends inclusive),
    /// `ms` (Unix milliseconds), `unix` (Unix seconds). Default `rfc3339`.
    #[serde(default = "default_time_format")]
    pub format: String,
    /// IANA zone for `rfc3339_offset` and `date` (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
}

fn default_time_format() -> String {
    "rfc3339".into()
}

/// A token bucket and a concurrency cap, and what shares them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub per_second: f64,
    /// Requests allowed at once after a pause (default 1).
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Requests in flight at most (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// `endpoint` (one budget per endpoint across all accounts, as marketplaces limit an app's key),
    /// `account`, or `endpoint_account`. Default `endpoint`.
    #[serde(default)]
    pub scope: RateScope,
}

fn default_burst() -> u32 {
    1
}
fn default_concurrency() -> usize {
    4
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateScope {
    #[default]
    Endpoint,
    Account,
    EndpointAccount,
}

impl RateConfig {
    /// The budget a request of `source`/`endpoint`/`account` draws from. Requests are keyed by it, so one
    /// budget's requests live in one partition and one extractor keeps it, across processes.
    pub fn scope_key(&self, source: &str, endpoint: &str, account: &str) -> String {
        match self.scope {
            RateScope::Endpoint => format!("api:{source}/{endpoint}"),
            RateScope::Account => format!("api:{source}@{account}"),
            RateScope::EndpointAccount => format!("api:{source}/{endpoint}@{account}"),
        }
    }
}

impl ApiConfig {
    /// The rate limit of an endpoint (its own, else the source's).
    pub fn rate_for(&self, endpoint: &str) -> Option<&RateConfig> {
        self.endpoints.get(endpoint).and_then(|e| e.rate.as_ref()).or(self.rate.as_ref())
    }

    /// The partition key of a request: its rate budget, else the source and account (a collection of
    /// one account stays in order).
    pub fn request_key(&self, source: &str, endpoint: &str, account: &str) -> String {
        match self.rate_for(endpoint) {
            Some(r) => r.scope_key(source, endpoint, account),
            None => format!("api:{source}@{account}"),
        }
    }

    /// Every problem, with its path.
    pub fn validate(&self, path: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for t in self.auth.templates() {
            if let Err(e) = template_names(t) {
                problems.push(format!("{path}.auth: {e}"));
            }
        }
        if let AuthConfig::Oauth2ClientCredentials { sign: Some(s), .. } = &self.auth {
            if s != "naver_bcrypt" {
                problems.push(format!("{path}.auth.sign = {s:?}: only \"naver_bcrypt\" is known"));
            }
        }
        if let AuthConfig::Oauth2ClientCredentials { refresh_before: Some(r), .. } = &self.auth {
            if let Err(e) = parse_duration(r) {
                problems.push(format!("{path}.auth.refresh_before: {e}"));
            }
        }
        fn check_rate(problems: &mut Vec<String>, p: String, r: &RateConfig) {
            if !(r.per_second > 0.0 && r.per_second.is_finite()) {
                problems.push(format!("{p}.per_second: must be above 0"));
            }
            if r.burst == 0 || r.concurrency == 0 {
                problems.push(format!("{p}: burst and concurrency must be at least 1"));
            }
        }
        if let Some(r) = &self.rate {
            check_rate(&mut problems, format!("{path}.rate"), r);
        }
        for (name, e) in &self.endpoints {
            let p = format!("{path}.endpoints.{name}");
            if let Some(r) = &e.rate {
                check_rate(&mut problems, format!("{p}.rate"), r);
            }
            if !matches!(e.method.as_str(), "GET" | "POST") {
                problems.push(format!("{p}.method = {:?}: GET or POST", e.method));
            }
            let recorded = std::iter::once(("url", e.url.as_str())).chain(e.body.as_deref().map(|b| ("body", b)));
            for (what, template) in recorded {
                match template_names(template) {
                    Err(err) => problems.push(format!("{p}.{what}: {err}")),
                    Ok(names) => {
                        for n in names {
                            let known = matches!(n.as_str(), "account" | "from" | "to") || self.public.contains(&n);
                            if !known {
                                problems.push(format!(
                                    "{p}.{what}: {{{n}}} is not a public account variable (list it in `public` if \
                                     it is not a secret; secrets never go into URLs or bodies)"
                                ));
                            }
                            if matches!(n.as_str(), "from" | "to") && e.window.is_none() {
                                problems.push(format!("{p}.{what}: {{{n}}} needs a `window`"));
                            }
                        }
                    }
                }
            }
            if e.body.is_some() && e.method != "POST" {
                problems.push(format!("{p}.body: only a POST endpoint sends a body"));
            }
            for (name, t) in &e.headers {
                if let Err(err) = template_names(t) {
                    problems.push(format!("{p}.headers.{name}: {err}"));
                }
            }
            if let Some(w) = &e.window {
                if let Err(err) = Window::from_config(w) {
                    problems.push(format!("{p}.window: {err}"));
                }
            }
            if let Paging::Cursor { params } = &e.paging {
                if params.is_empty() {
                    problems.push(format!("{p}.paging.params: a cursor needs at least one parameter"));
                }
            }
        }
        problems
    }
}

/// A duration like "1d", "10m", "90s".
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{text:?}: {e} (e.g. \"10m\", \"1d\")"))
}

/// The placeholder starting at `text[0] == '{'`: its name and length, when `{` opens `{name}` (letters,
/// digits, `_`). Any other `{` is literal text, so JSON bodies need no escaping.
fn placeholder(text: &str) -> Option<(&str, usize)> {
    let rest = &text[1..];
    let close = rest.find('}')?;
    let name = &rest[..close];
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some((name, close + 2))
}

/// The `{name}` placeholders of a template.
pub fn template_names(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        match placeholder(&rest[open..]) {
            Some((name, len)) => {
                names.push(name.to_string());
                rest = &rest[open + len..];
            }
            None => rest = &rest[open + 1..],
        }
    }
    Ok(names)
}

/// Fill a template; a missing variable is an error naming it (never its neighbours' values).
pub fn expand(template: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match placeholder(&rest[open..]) {
            Some((name, len)) => {
                out.push_str(&vars(name).ok_or_else(|| format!("no variable {{{name}}} for this account"))?);
                rest = &rest[open + len..];
            }
            None => {
                out.push('{');
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The fragment an API request's URL carries to name its account (`account=ID`). Fragments are never
/// sent, so the request is the API's; the URL stays distinct per account where the API names the
/// account only in the credentials.
pub fn account_fragment(account: &str) -> String {
    format!("account={}", query_escape(account))
}

/// Percent-encode a value for a URL query (window times contain `+` and `:`).
pub fn query_escape(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------------
// Accounts

/// One seller account: its variables (public ones and secrets alike, each a [`Secret`] until the
/// source's `public` list says otherwise).
#[derive(Clone, Default)]
pub struct Account {
    pub source: String,
    pub id: String,
    vars: BTreeMap<String, Secret>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("source", &self.source)
            .field("id", &self.id)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Account {
    pub fn new(source: &str, id: &str, vars: BTreeMap<String, Secret>) -> Account {
        Account { source: source.into(), id: id.into(), vars }
    }

    /// A variable's value, for the code that sends it (auth) or a public URL variable.
    pub fn var(&self, name: &str) -> Option<&Secret> {
        self.vars.get(name)
    }

    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// Every secret value of the account (for redaction): the variables not listed as public.
    pub fn secret_values<'a>(&'a self, public: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
        self.vars.iter().filter(|(k, _)| !public.contains(k)).map(|(_, v)| v.expose())
    }
}

/// Every account, from the secrets file `SHOPSTREAM_SECRETS` (TOML: one table per account,
/// `[SOURCE.ACCOUNT]`) and from variables `SHOPSTREAM_ACCOUNT__SOURCE__ACCOUNT__VAR` (names upper-cased,
/// `-` written `_`; matched against the configured sources; the account id is the lower-cased segment
/// with `_` read as `-`). The environment wins over the file.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    by_source: BTreeMap<String, BTreeMap<String, Account>>,
}

impl Accounts {
    /// Load from the environment and the file it names. `sources` are the configured source names.
    pub fn from_env(sources: &[&str]) -> crate::Result<Accounts> {
        let file = match std::env::var("SHOPSTREAM_SECRETS") {
            Ok(path) if !path.is_empty() => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| crate::Error::Config(format!("SHOPSTREAM_SECRETS: cannot read {path}: {e}")))?,
            ),
            _ => None,
        };
        let vars: Vec<(String, String)> =
            std::env::vars().filter(|(k, _)| k.starts_with("SHOPSTREAM_ACCOUNT__")).collect();
        Accounts::parse(file.as_deref(), &vars, sources)
    }

    /// The pure part of [`Accounts::from_env`]. Errors never quote a value.
    pub fn parse(file: Option<&str>, env: &[(String, String)], sources: &[&str]) -> crate::Result<Accounts> {
        let mut accounts = Accounts::default();
        if let Some(text) = file {
            let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
                crate::Error::Config(format!("SHOPSTREAM_SECRETS: not valid TOML: {}", e.message()))
            })?;
            for (source, accts) in table {
                let Some(accts) = accts.as_table() else {
                    return Err(crate::Error::Config(format!(
                        "SHOPSTREAM_SECRETS: [{source}] must hold one table per account"
                    )));
                };
                for (id, vars) in accts {
                    let Some(vars) = vars.as_table() else {
                        return Err(crate::Error::Config(format!(
                            "SHOPSTREAM_SECRETS: [{source}.{id}] must be a table of variables"
                        )));
                    };
                    let mut map = BTreeMap::new();
                    for (k, v) in vars {
                        let value = match v {
                            toml::Value::String(s) => s.clone(),
                            toml::Value::Integer(i) => i.to_string(),
                            _ => {
                                return Err(crate::Error::Config(format!(
                                    "SHOPSTREAM_SECRETS: [{source}.{id}].{k} must be a string"
                                )))
                            }
                        };
                        map.insert(k.clone(), Secret::new(value));
                    }
                    accounts.insert(&source, id, map);
                }
            }
        }
        let norm = |s: &str| s.to_ascii_uppercase().replace('-', "_");
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("SHOPSTREAM_ACCOUNT__") else { continue };
            let parts: Vec<&str> = rest.split("__").collect();
            let [source, account, var] = parts[..] else {
                return Err(crate::Error::Config(format!(
                    "{key}: expected SHOPSTREAM_ACCOUNT__SOURCE__ACCOUNT__VARIABLE"
                )));
            };
            let Some(source) = sources.iter().find(|s| norm(s) == source) else {
                return Err(crate::Error::Config(format!("{key}: no configured source matches {source:?}")));
            };
            let id = account.to_ascii_lowercase().replace('_', "-");
            let var = var.to_ascii_lowercase();
            let entry = accounts.by_source.entry(source.to_string()).or_default();
            let acct = entry.entry(id.clone()).or_insert_with(|| Account::new(source, &id, BTreeMap::new()));
            acct.vars.insert(var, Secret::new(value.clone()));
        }
        Ok(accounts)
    }

    fn insert(&mut self, source: &str, id: &str, vars: BTreeMap<String, Secret>) {
        self.by_source.entry(source.to_string()).or_default().insert(id.to_string(), Account::new(source, id, vars));
    }

    pub fn get(&self, source: &str, account: &str) -> Option<&Account> {
        self.by_source.get(source).and_then(|a| a.get(account))
    }

    /// The account ids of a source, sorted.
    pub fn ids(&self, source: &str) -> Vec<String> {
        self.by_source.get(source).map(|a| a.keys().cloned().collect()).unwrap_or_default()
    }

    /// Every secret value of every account (for redaction and tests), given each source's public names.
    pub fn all_secret_values<'a>(&'a self, public: &'a dyn Fn(&str) -> Vec<String>) -> Vec<String> {
        let mut out = Vec::new();
        for (source, accts) in &self.by_source {
            let public = public(source);
            for a in accts.values() {
                out.extend(a.secret_values(&public).map(str::to_string));
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------------
// Windows

/// A window rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub max: chrono::Duration,
    pub overlap: chrono::Duration,
    pub format: TimeFormat,
    pub tz: chrono_tz::Tz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    Rfc3339,
    Rfc3339Offset,
    NaiveUtc,
    Date,
    Ms,
    Unix,
}

/// One chunk of a collection window: `[from, to)` in Unix ms, and its `{from}`/`{to}` texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub from_ms: i64,
    pub to_ms: i64,
    pub from: String,
    pub to: String,
}

impl Window {
    pub fn from_config(w: &WindowConfig) -> Result<Window, String> {
        let dur = |t: &Option<String>, default: &str| -> Result<chrono::Duration, String> {
            let d = parse_duration(t.as_deref().unwrap_or(default))?;
            chrono::Duration::from_std(d).map_err(|e| e.to_string())
        };
        let max = dur(&w.max, "1d")?;
        let overlap = dur(&w.overlap, "0s")?;
        if max <= chrono::Duration::zero() {
            return Err("max must be above 0".into());
        }
        if overlap >= max {
            return Err("overlap must be shorter than max".into());
        }
        let format = match w.format.as_str() {
            "rfc3339" => TimeFormat::Rfc3339,
            "rfc3339_offset" => TimeFormat::Rfc3339Offset,
            "naive_utc" => TimeFormat::NaiveUtc,
            "date" => TimeFormat::Date,
            "ms" => TimeFormat::Ms,
            "unix" => TimeFormat::Unix,
            f => return Err(format!("format = {f:?}: rfc3339, rfc3339_offset, naive_utc, date, ms or unix")),
        };
        let tz: chrono_tz::Tz = match &w.timezone {
            None => chrono_tz::UTC,
            Some(z) => z.parse().map_err(|_| format!("timezone = {z:?}: not an IANA time zone"))?,
        };
        if format == TimeFormat::Date && max.num_seconds() % 86_400 != 0 {
            return Err("a date window's max must be whole days".into());
        }
        Ok(Window { max, overlap, format, tz })
    }

    /// Cut `[from, to)` into chunks of at most `max`, each after the first starting `overlap` earlier.
    /// With the `date` format the chunks are whole local days (both ends inclusive in the texts).
    pub fn chunks(&self, from_ms: i64, to_ms: i64) -> Vec<Chunk> {
        let mut out = Vec::new();
        if to_ms <= from_ms {
            return out;
        }
        if self.format == TimeFormat::Date {
            let day = |ms: i64| self.tz.timestamp_millis_opt(ms).single().map(|t| t.date_naive());
            let (Some(first), Some(last)) = (day(from_ms), day(to_ms - 1)) else { return out };
            let step = self.max.num_days().max(1);
            let mut d = first;
            while d <= last {
                let end = std::cmp::min(d + chrono::Duration::days(step - 1), last);
                let start_ms = self.local_midnight_ms(d);
                let end_ms = self.local_midnight_ms(end + chrono::Duration::days(1));
                out.push(Chunk {
                    from_ms: start_ms,
                    to_ms: end_ms,
                    from: d.format("%Y-%m-%d").to_string(),
                    to: end.format("%Y-%m-%d").to_string(),
                });
                d = end + chrono::Duration::days(1);
            }
            return out;
        }
        let (max, overlap) = (self.max.num_milliseconds(), self.overlap.num_milliseconds());
        let mut start = from_ms;
        let mut first = true;
        while start < to_ms {
            let end = (start + max).min(to_ms);
            let s = if first { start } else { (start - overlap).max(from_ms) };
            out.push(Chunk { from_ms: s, to_ms: end, from: self.format_ms(s), to: self.format_ms(end) });
            first = false;
            start = end;
        }
        out
    }

    fn local_midnight_ms(&self, d: NaiveDate) -> i64 {
        let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        self.tz.from_local_datetime(&naive).earliest().map(|t| t.timestamp_millis()).unwrap_or(0)
    }

    /// `ms` written in the window's format.
    pub fn format_ms(&self, ms: i64) -> String {
        let utc: DateTime<Utc> = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        match self.format {
            TimeFormat::Rfc3339 => utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            TimeFormat::Rfc3339Offset => utc.with_timezone(&self.tz).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
            TimeFormat::NaiveUtc => utc.format("%Y-%m-%dT%H:%M:%S").to_string(),
            TimeFormat::Date => utc.with_timezone(&self.tz).format("%Y-%m-%d").to_string(),
            TimeFormat::Ms => ms.to_string(),
            TimeFormat::Unix => ms.div_euclid(1000).to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Paging

/// What a response offers for deciding its next page.
pub struct PageResponse<'a> {
    /// The URL that was requested (the next page is built from it).
    pub url: &'a url::Url,
    /// Response header lookup, case-insensitive.
    pub header: &'a dyn Fn(&str) -> Option<String>,
    pub body: &'a [u8],
}

/// The URL of the next page, `Ok(None)` when the API says this was the last, `Err` when the answer does
/// not carry the signal the paging style reads (a wrong config or a changed API: never guessed).
pub fn next_page(paging: &Paging, r: &PageResponse<'_>) -> Result<Option<url::Url>, String> {
    let json = || -> Result<serde_json::Value, String> {
        serde_json::from_slice(r.body).map_err(|e| format!("the body is not JSON ({e}), so its paging is unknown"))
    };
    match paging {
        Paging::None => Ok(None),
        Paging::LinkHeader => match (r.header)("link") {
            None => Ok(None),
            Some(link) => match link_rel(&link, "next") {
                None => Ok(None),
                Some(next) => r.url.join(&next).map(Some).map_err(|e| format!("Link rel=next {next:?}: {e}")),
            },
        },
        Paging::TotalPagesHeader { param, header } => {
            let total = (r.header)(header)
                .ok_or_else(|| format!("the answer has no {header} header"))?
                .trim()
                .parse::<u64>()
                .map_err(|e| format!("{header}: {e}"))?;
            let page = query_u64(r.url, param).unwrap_or(1);
            Ok((page < total).then(|| with_query(r.url, param, &(page + 1).to_string())))
        }
        Paging::Page { param, first, total_pages_path, has_next_path } => {
            let body = json()?;
            let page = query_u64(r.url, param).unwrap_or(*first);
            let more = if let Some(p) = has_next_path {
                lookup(&body, p).and_then(serde_json::Value::as_bool).ok_or_else(|| format!("no boolean at {p}"))?
            } else if let Some(p) = total_pages_path {
                let total = lookup(&body, p).and_then(as_u64).ok_or_else(|| format!("no number at {p}"))?;
                // Pages counted from `first`: page index (from 1) below the total.
                page + 1 - first < total
            } else {
                return Err("page paging needs total_pages_path or has_next_path".into());
            };
            Ok(more.then(|| with_query(r.url, param, &(page + 1).to_string())))
        }
        Paging::Offset { param, limit_param, items_path, total_path } => {
            let body = json()?;
            let items = lookup(&body, items_path)
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| format!("no array at {items_path:?}"))?
                .len() as u64;
            let offset = query_u64(r.url, param).unwrap_or(0);
            let next = offset + items;
            let more = match total_path {
                Some(p) => next < lookup(&body, p).and_then(as_u64).ok_or_else(|| format!("no number at {p}"))?,
                None => {
                    let limit = query_u64(r.url, limit_param)
                        .ok_or_else(|| format!("the URL has no {limit_param} to compare a page with"))?;
                    items > 0 && items >= limit
                }
            };
            Ok(more.then(|| with_query(r.url, param, &next.to_string())))
        }
        Paging::BodyLink { path } => {
            let body = json()?;
            let links = match lookup(&body, path) {
                None => return Ok(None),
                Some(l) => l.as_array().ok_or_else(|| format!("{path} is not an array"))?,
            };
            let next = links.iter().find(|l| l.get("rel").and_then(|v| v.as_str()) == Some("next"));
            match next.and_then(|l| l.get("href")).and_then(|h| h.as_str()) {
                None => Ok(None),
                Some(href) => r.url.join(href).map(Some).map_err(|e| format!("next link {href:?}: {e}")),
            }
        }
        Paging::Cursor { params } => {
            let body = json()?;
            let mut url = r.url.clone();
            for (i, (param, path)) in params.iter().enumerate() {
                let value = lookup(&body, path).and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                match value {
                    Some(v) if !v.is_empty() => url = with_query(&url, param, &v),
                    _ if i == 0 => return Ok(None),
                    _ => return Err(format!("the cursor has {} but no {path}", params_first(params))),
                }
            }
            Ok(Some(url))
        }
    }
}

fn params_first(params: &BTreeMap<String, String>) -> String {
    params.values().next().cloned().unwrap_or_default()
}

fn as_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A dotted path (`data.more.moreFrom`, `items.0.id`); `""` is the value itself.
pub fn lookup<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    if path.is_empty() {
        return Some(v);
    }
    path.split('.').try_fold(v, |cur, part| match cur {
        serde_json::Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
        serde_json::Value::Object(o) => o.get(part),
        _ => None,
    })
}

fn query_u64(url: &url::Url, name: &str) -> Option<u64> {
    url.query_pairs().find(|(k, _)| k == name).and_then(|(_, v)| v.trim().parse().ok())
}

/// `url` with the query parameter `name` set to `value` (replacing it, order of the others kept).
pub fn with_query(url: &url::Url, name: &str, value: &str) -> url::Url {
    let pairs: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut out = url.clone();
    {
        let mut q = out.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        q.append_pair(name, value);
    }
    out
}

/// The target of `rel` in an RFC 8288 `Link` header.
pub fn link_rel(header: &str, rel: &str) -> Option<String> {
    for part in split_links(header) {
        let part = part.trim();
        let Some(end) = part.find('>') else { continue };
        if !part.starts_with('<') {
            continue;
        }
        let target = &part[1..end];
        let is_rel = part[end + 1..].split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"').split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case(rel)))
                .unwrap_or(false)
        });
        if is_rel {
            return Some(target.to_string());
        }
    }
    None
}

/// Split a Link header at the commas between links (not inside `<…>`).
fn split_links(header: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (false, 0);
    for (i, c) in header.char_indices() {
        match c {
            '<' => depth = true,
            '>' => depth = false,
            ',' if !depth => {
                parts.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&header[start..]);
    parts
}

/// `url` without the query parameters whose values are secrets (recorded URLs carry no secret).
pub fn redact_url(url: &str, secrets: &[&str]) -> String {
    let Ok(mut u) = url::Url::parse(url) else { return redact_text(url, secrets) };
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(_, v)| !secrets.iter().any(|s| !s.is_empty() && v.contains(s)))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    let _ = u.set_password(None);
    redact_text(u.as_str(), secrets)
}

/// `text` with every secret value replaced by `***`.
pub fn redact_text(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(*s) {
            out = out.replace(*s, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp<'a>(url: &'a url::Url, headers: &'a dyn Fn(&str) -> Option<String>, body: &'a [u8]) -> PageResponse<'a> {
        PageResponse { url, header: headers, body }
    }

    #[test]
    fn link_headers_give_the_next_page() {
        let h = r#"<https://s.myshopify.com/admin/api/2025-10/orders.json?limit=2&page_info=abc>; rel="previous", <https://s.myshopify.com/admin/api/2025-10/orders.json?limit=2&page_info=def>; rel="next""#;
        assert_eq!(
            link_rel(h, "next").as_deref(),
            Some("https://s.myshopify.com/admin/api/2025-10/orders.json?limit=2&page_info=def")
        );
        assert!(link_rel(h, "last").is_none());
        let url = url::Url::parse("https://s.myshopify.com/admin/api/2025-10/orders.json?limit=2").expect("url");
        let headers = |n: &str| (n == "link").then(|| h.to_string());
        let next = next_page(&Paging::LinkHeader, &resp(&url, &headers, b"{}")).expect("ok").expect("next");
        assert!(next.as_str().ends_with("page_info=def"));
        let none = |_: &str| None;
        assert_eq!(next_page(&Paging::LinkHeader, &resp(&url, &none, b"{}")).expect("ok"), None);
    }

    #[test]
    fn page_numbers_end_at_the_total() {
        let p = Paging::TotalPagesHeader { param: "page".into(), header: "X-WP-TotalPages".into() };
        let url = url::Url::parse("http://h/o?per_page=10").expect("url");
        let three = |n: &str| (n == "X-WP-TotalPages").then(|| "3".to_string());
        let n2 = next_page(&p, &resp(&url, &three, b"[]")).expect("ok").expect("page 2");
        assert_eq!(n2.as_str(), "http://h/o?per_page=10&page=2");
        let n3 = next_page(&p, &resp(&n2, &three, b"[]")).expect("ok").expect("page 3");
        assert_eq!(next_page(&p, &resp(&n3, &three, b"[]")).expect("ok"), None);
        let none = |_: &str| None;
        assert!(next_page(&p, &resp(&url, &none, b"[]")).is_err(), "a missing signal is an error");
        let p = Paging::Page {
            param: "pageNum".into(),
            first: 1,
            total_pages_path: Some("pagination.totalPages".into()),
            has_next_path: None,
        };
        let body = br#"{"pagination":{"currentPage":1,"totalPages":2}}"#;
        assert!(next_page(&p, &resp(&url, &none, body)).expect("ok").is_some());
        let url2 = with_query(&url, "pageNum", "2");
        assert_eq!(next_page(&p, &resp(&url2, &none, body)).expect("ok"), None);
        let p = Paging::Page {
            param: "page".into(),
            first: 1,
            total_pages_path: None,
            has_next_path: Some("hasNext".into()),
        };
        assert_eq!(next_page(&p, &resp(&url, &none, br#"{"hasNext":false}"#)).expect("ok"), None);
    }

    #[test]
    fn offsets_cursors_and_body_links() {
        let none = |_: &str| None;
        let url = url::Url::parse("http://h/o?limit=2&offset=0").expect("url");
        let p = Paging::Offset {
            param: "offset".into(),
            limit_param: "limit".into(),
            items_path: "results".into(),
            total_path: Some("count".into()),
        };
        let n = next_page(&p, &resp(&url, &none, br#"{"count":3,"results":[1,2]}"#)).expect("ok").expect("next");
        assert_eq!(n.as_str(), "http://h/o?limit=2&offset=2");
        assert_eq!(next_page(&p, &resp(&n, &none, br#"{"count":3,"results":[3]}"#)).expect("ok"), None);
        let p = Paging::Offset {
            param: "offset".into(),
            limit_param: "limit".into(),
            items_path: "results".into(),
            total_path: None,
        };
        assert!(next_page(&p, &resp(&url, &none, br#"{"results":[1,2]}"#)).expect("ok").is_some());
        assert_eq!(next_page(&p, &resp(&url, &none, br#"{"results":[1]}"#)).expect("ok"), None);

        let p = Paging::Cursor { params: [("nextToken".to_string(), "nextToken".to_string())].into() };
        let n = next_page(&p, &resp(&url, &none, br#"{"data":[],"nextToken":"t2"}"#)).expect("ok").expect("next");
        assert!(n.as_str().ends_with("nextToken=t2"));
        assert_eq!(next_page(&p, &resp(&url, &none, br#"{"data":[],"nextToken":""}"#)).expect("ok"), None);
        let p = Paging::Cursor {
            params: [
                ("lastChangedFrom".to_string(), "data.more.moreFrom".to_string()),
                ("moreSequence".to_string(), "data.more.moreSequence".to_string()),
            ]
            .into(),
        };
        let u = url::Url::parse("http://h/s?lastChangedFrom=2022-05-11T00%3A00%3A00.000%2B09%3A00&lastChangedTo=x")
            .expect("url");
        let body =
            br#"{"data":{"more":{"moreFrom":"2022-05-11T22:05:27.000+09:00","moreSequence":"2022051122443341"}}}"#;
        let n = next_page(&p, &resp(&u, &none, body)).expect("ok").expect("next");
        let q: BTreeMap<String, String> = n.query_pairs().into_owned().collect();
        assert_eq!(q["lastChangedFrom"], "2022-05-11T22:05:27.000+09:00");
        assert_eq!(q["moreSequence"], "2022051122443341");
        assert_eq!(q["lastChangedTo"], "x");
        assert_eq!(next_page(&p, &resp(&u, &none, br#"{"data":{"count":0}}"#)).expect("ok"), None);

        let p = Paging::BodyLink { path: "links".into() };
        let body = br#"{"orders":[],"links":[{"rel":"next","href":"http://h/o?limit=2&offset=2"}]}"#;
        assert!(next_page(&p, &resp(&url, &none, body)).expect("ok").is_some());
        assert_eq!(next_page(&p, &resp(&url, &none, br#"{"orders":[]}"#)).expect("ok"), None);
    }

    #[test]
    fn windows_are_cut_with_overlap_and_written_in_the_apis_format() {
        let w = Window::from_config(&WindowConfig {
            max: Some("1d".into()),
            overlap: Some("10m".into()),
            format: "rfc3339".into(),
            timezone: None,
        })
        .expect("window");
        let day = 86_400_000;
        let from = 1_700_000_000_000 - 1_700_000_000_000 % day;
        let chunks = w.chunks(from, from + 2 * day + 1000);
        assert_eq!(chunks.len(), 3);
        assert_eq!((chunks[0].from_ms, chunks[0].to_ms), (from, from + day));
        assert_eq!(chunks[1].from_ms, from + day - 600_000, "overlap");
        assert_eq!(chunks[2].to_ms, from + 2 * day + 1000);
        assert_eq!(chunks[0].from, "2023-11-14T00:00:00Z");

        let kst = Window::from_config(&WindowConfig {
            max: Some("1d".into()),
            overlap: None,
            format: "date".into(),
            timezone: Some("Asia/Seoul".into()),
        })
        .expect("window");
        // 2023-11-14 00:00 UTC is 09:00 in Seoul: two local days touched by one UTC day.
        let c = kst.chunks(from, from + day);
        assert_eq!(
            c.iter().map(|c| (c.from.as_str(), c.to.as_str())).collect::<Vec<_>>(),
            vec![("2023-11-14", "2023-11-14"), ("2023-11-15", "2023-11-15")]
        );
        assert_eq!(c[0].from_ms, from - 9 * 3_600_000);
        let off = Window::from_config(&WindowConfig {
            max: None,
            overlap: None,
            format: "rfc3339_offset".into(),
            timezone: Some("Asia/Seoul".into()),
        })
        .expect("w");
        assert_eq!(off.format_ms(from), "2023-11-14T09:00:00.000+09:00");
        let unix =
            Window::from_config(&WindowConfig { max: None, overlap: None, format: "unix".into(), timezone: None })
                .expect("w");
        assert_eq!(unix.format_ms(from + 999), "1699920000");
        assert!(Window::from_config(&WindowConfig {
            max: Some("1d".into()),
            overlap: Some("2d".into()),
            format: "ms".into(),
            timezone: None
        })
        .is_err());
    }

    #[test]
    fn accounts_come_from_the_file_and_the_environment_and_never_print() {
        let file = "[shop-a.acct-1]\nbase = \"http://x\"\ntoken = \"tok-123456\"\n";
        let env = vec![("SHOPSTREAM_ACCOUNT__SHOP_A__ACCT_2__TOKEN".to_string(), "tok-abcdef".to_string())];
        let a = Accounts::parse(Some(file), &env, &["shop-a"]).expect("accounts");
        assert_eq!(a.ids("shop-a"), vec!["acct-1".to_string(), "acct-2".to_string()]);
        assert_eq!(a.get("shop-a", "acct-2").and_then(|x| x.var("token")).map(|s| s.expose()), Some("tok-abcdef"));
        let dbg = format!("{:?}", a);
        assert!(!dbg.contains("tok-123456") && !dbg.contains("tok-abcdef"), "{dbg}");
        let public = |_: &str| vec!["base".to_string()];
        let secrets = a.all_secret_values(&public);
        assert!(secrets.contains(&"tok-123456".to_string()) && !secrets.contains(&"http://x".to_string()));
        let err =
            Accounts::parse(Some("[s.a]\nk = \"sekrit-value\"\nbroken"), &[], &[]).expect_err("bad toml").to_string();
        assert!(!err.contains("sekrit-value"), "{err}");
        assert!(Accounts::parse(None, &[("SHOPSTREAM_ACCOUNT__NOPE__A__B".into(), "v".into())], &["s"]).is_err());
    }

    #[test]
    fn templates_expand_and_urls_are_redacted() {
        assert_eq!(
            template_names("{base}/v/{vendor_id}/o?from={from}").expect("ok"),
            vec!["base", "vendor_id", "from"]
        );
        assert!(template_names("{base").expect("ok").is_empty(), "an unclosed brace is text");
        assert_eq!(template_names(r#"{"from":"{from}","n":{ "x": 1 }}"#).expect("ok"), vec!["from"]);
        let from = |n: &str| (n == "from").then(|| "T".to_string());
        assert_eq!(expand(r#"{"from":"{from}","n":{ "x": 1 }}"#, &from).expect("ok"), r#"{"from":"T","n":{ "x": 1 }}"#);
        let vars = |n: &str| (n == "base").then(|| "http://h".to_string());
        assert_eq!(expand("{base}/x", &vars).expect("ok"), "http://h/x");
        assert!(expand("{token}", &vars).expect_err("missing").contains("{token}"));
        assert_eq!(redact_url("http://h/x?consumer_key=ck_SECRET1&page=2", &["ck_SECRET1"]), "http://h/x?page=2");
        assert_eq!(redact_text("Bearer tok-SECRET in text", &["tok-SECRET"]), "Bearer *** in text");
    }

    #[test]
    fn endpoints_may_put_only_public_variables_in_urls() {
        let cfg: ApiConfig = toml::from_str(
            r#"
            public = ["base"]
            auth = { scheme = "headers", headers = { "X-Token" = "{token}" } }
            [endpoints.orders]
            url = "{base}/orders?token={token}&from={from}"
            mapper = "shopify_orders"
            "#,
        )
        .expect("parses");
        let problems = cfg.validate("sources.s.api");
        assert!(problems.iter().any(|p| p.contains("{token} is not a public")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("{from} needs a `window`")), "{problems:?}");
        let r = RateConfig { per_second: 20.0, burst: 1, concurrency: 4, scope: RateScope::Endpoint };
        assert_eq!(r.scope_key("s", "orders", "a1"), r.scope_key("s", "orders", "a2"));
        let r = RateConfig { scope: RateScope::Account, ..r };
        assert_ne!(r.scope_key("s", "orders", "a1"), r.scope_key("s", "orders", "a2"));
    }
}
