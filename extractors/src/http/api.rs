//! Seller-side API requests: the account's credentials applied at the moment of sending (static headers,
//! HTTP basic, Coupang HMAC signatures, OAuth 2 client-credentials tokens cached and renewed, cookie
//! sessions from a login form or an imported cookie file), rate budgets (token bucket + concurrency cap
//! per scope), and the next page from the API's own paging signal.
//!
//! Secrets stay here: what is recorded (raw records, fetch events, dead letters, logs) carries the
//! request URL without secret parameters and the account's id, and every error text is redacted.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use reqwest::{Client, RequestBuilder};
use shopstream_core::api::{self, attr, Account, Accounts, ApiConfig, AuthConfig, EndpointConfig};
use shopstream_core::metrics::{Health, Metrics};
use shopstream_core::secrets::Secret;
use shopstream_schemas::CrawlRequest;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::config::SourceFetch;
use super::fetch::{self, Fetched};

/// One rate budget: a token bucket and a cap on requests in flight.
struct Budget {
    bucket: DefaultDirectRateLimiter,
    in_flight: Arc<Semaphore>,
}

/// A cached OAuth access token.
struct Token {
    value: Secret,
    renew_at: Instant,
}

/// A login session: the account's own client with its cookie jar.
struct Session {
    client: Client,
    /// Logged in (or a cookie file was imported) and not known to have expired.
    live: bool,
}

/// The seller-API side of the extractor.
pub struct ApiRuntime {
    sources: HashMap<String, ApiConfig>,
    accounts: Accounts,
    /// Every secret value of every account, for redacting error texts.
    secrets: Vec<String>,
    budgets: Mutex<HashMap<String, Arc<Budget>>>,
    tokens: tokio::sync::Mutex<HashMap<(String, String), Token>>,
    sessions: tokio::sync::Mutex<HashMap<(String, String), Session>>,
    expired: Mutex<BTreeSet<String>>,
    sessions_dir: PathBuf,
    metrics: Metrics,
}

/// Where `shopstream session import` keeps cookie files: `SHOPSTREAM_SESSIONS_DIR`, else
/// `$XDG_STATE_HOME/shopstream/sessions` or `~/.local/state/shopstream/sessions`.
pub fn sessions_dir() -> PathBuf {
    if let Ok(d) = std::env::var("SHOPSTREAM_SESSIONS_DIR") {
        if !d.is_empty() {
            return PathBuf::from(d);
        }
    }
    let state = std::env::var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into())).join(".local/state"));
    state.join("shopstream").join("sessions")
}

/// The cookie file of one account.
pub fn session_file(dir: &std::path::Path, source: &str, account: &str) -> PathBuf {
    dir.join(source).join(format!("{account}.cookies.txt"))
}

/// Cookies of a Netscape cookie file (as browsers' exporters write it) as `(url, Set-Cookie text)`.
/// Lines starting with `#HttpOnly_` are cookies; other `#` lines are comments.
pub fn parse_netscape_cookies(text: &str) -> Result<Vec<(Url, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 7 {
            return Err(format!("line {}: a cookie line has 7 tab-separated fields", i + 1));
        }
        let (domain, path, secure, name, value) = (f[0], f[2], f[3].eq_ignore_ascii_case("TRUE"), f[5], f[6]);
        let host = domain.trim_start_matches('.');
        let scheme = if secure { "https" } else { "http" };
        let url = Url::parse(&format!("{scheme}://{host}{path}"))
            .map_err(|e| format!("line {}: domain {host:?} / path {path:?}: {e}", i + 1))?;
        let mut cookie = format!("{name}={value}; Path={path}");
        if domain.starts_with('.') {
            cookie.push_str(&format!("; Domain={host}"));
        }
        if secure {
            cookie.push_str("; Secure");
        }
        if http_only {
            cookie.push_str("; HttpOnly");
        }
        out.push((url, cookie));
    }
    Ok(out)
}

/// Why an API request could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong for the configuration (unknown endpoint, account or variable).
    #[error("{0}")]
    Config(String),
    /// The account's session needs a person (a second factor): recorded, never retried blindly.
    #[error("{0}")]
    Session(String),
    /// The login or token endpoint failed.
    #[error("{0}")]
    Auth(String),
}

impl ApiRuntime {
    pub fn new(sources: HashMap<String, ApiConfig>, accounts: Accounts, metrics: Metrics) -> ApiRuntime {
        let public = |s: &str| sources.get(s).map(|c| c.public.clone()).unwrap_or_default();
        let mut secrets = accounts.all_secret_values(&public);
        secrets.retain(|s| s.len() >= 4);
        ApiRuntime {
            accounts,
            secrets,
            sources,
            budgets: Mutex::new(HashMap::new()),
            tokens: Default::default(),
            sessions: Default::default(),
            expired: Mutex::new(BTreeSet::new()),
            sessions_dir: sessions_dir(),
            metrics,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let refs: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        api::redact_text(text, &refs)
    }

    /// A URL as it may be recorded: no secret query parameter, no password.
    pub fn redact_url(&self, url: &str) -> String {
        let refs: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        api::redact_url(url, &refs)
    }

    /// The source, endpoint (none for a request that is only signed, e.g. a tracked search) and account
    /// a request names.
    pub fn resolve<'a>(
        &'a self,
        req: &CrawlRequest,
    ) -> Result<(&'a ApiConfig, Option<&'a EndpointConfig>, &'a Account, &'a str), ApiError> {
        let cfg = self
            .sources
            .get(&req.source)
            .ok_or_else(|| ApiError::Config(format!("source {:?} has no [api] section", req.source)))?;
        let (endpoint_name, endpoint) = match req.attributes.get(attr::ENDPOINT) {
            None => ("", None),
            Some(name) => {
                let (n, e) = cfg
                    .endpoints
                    .get_key_value(name)
                    .ok_or_else(|| ApiError::Config(format!("source {:?} has no endpoint {name:?}", req.source)))?;
                (n.as_str(), Some(e))
            }
        };
        let account_id = req
            .attributes
            .get(attr::ACCOUNT)
            .ok_or_else(|| ApiError::Config("an api request must name its account".into()))?;
        let account = self.accounts.get(&req.source, account_id).ok_or_else(|| {
            ApiError::Config(format!(
                "no credentials for account {account_id:?} of source {:?} (SHOPSTREAM_SECRETS or \
                 SHOPSTREAM_ACCOUNT__… variables)",
                req.source
            ))
        })?;
        Ok((cfg, endpoint, account, endpoint_name))
    }

    /// The request's rate budget (created on first use), with its scope key.
    fn budget(&self, req: &CrawlRequest) -> Option<(Arc<Budget>, String)> {
        let (cfg, _, account, endpoint) = self.resolve(req).ok()?;
        let rate = cfg.rate_for(endpoint)?;
        let key = rate.scope_key(&req.source, endpoint, &account.id);
        let mut budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        let budget = budgets
            .entry(key.clone())
            .or_insert_with(|| {
                let period = Duration::from_secs_f64(1.0 / rate.per_second);
                let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
                Arc::new(Budget {
                    bucket: RateLimiter::direct(quota.allow_burst(burst)),
                    in_flight: Arc::new(Semaphore::new(rate.concurrency.max(1))),
                })
            })
            .clone();
        Some((budget, key))
    }

    /// One token of the budget's bucket (each attempt takes one, retries included).
    async fn take_token(&self, budget: &Option<(Arc<Budget>, String)>) {
        if let Some((budget, key)) = budget {
            let waited = Instant::now();
            budget.bucket.until_ready().await;
            self.metrics.observe("api_rate_wait_seconds", &[("scope", key)], waited.elapsed().as_secs_f64());
            self.metrics.add("api_requests", &[("scope", key)], 1);
        }
    }

    /// Fetch one API request: signed per attempt, each attempt admitted by the rate budget, with one
    /// renewal of an expired token or session.
    pub async fn fetch(&self, req: &CrawlRequest, url: &Url, client: &Client, rules: &SourceFetch) -> Fetched {
        let resolved = match self.resolve(req) {
            Ok(r) => r,
            Err(e) => return unfetched(e, |t| t),
        };
        let (cfg, endpoint, account, _) = resolved;
        // A slot of the budget's concurrency cap for the whole fetch, retries included.
        let budget = self.budget(req);
        let _slot: Option<OwnedSemaphorePermit> = match &budget {
            Some((b, _)) => b.in_flight.clone().acquire_owned().await.ok(),
            None => None,
        };
        let mut renewed = false;
        loop {
            let session_client = match &cfg.auth {
                AuthConfig::Session { .. } => match self.session_client(cfg, account, rules).await {
                    Ok(c) => Some(c),
                    Err(e) => return unfetched(e, |t| self.redact(&t)),
                },
                _ => None,
            };
            let client = session_client.as_ref().unwrap_or(client);
            let mut build = || async {
                self.take_token(&budget).await;
                let body = req.attributes.get(attr::BODY).map(String::as_str);
                self.build(cfg, endpoint, account, client, (url, body), rules)
                    .await
                    .map_err(|e| self.redact(&e.to_string()))
            };
            let fetched = fetch::fetch_with(url, rules, &mut build).await;
            let fetched = self.redact_fetched(fetched);
            let expired = self.needs_renewal(cfg, account, &fetched);
            if !expired {
                if let AuthConfig::Session { .. } = &cfg.auth {
                    self.session_ok(&req.source, &account.id);
                }
                return fetched;
            }
            if renewed {
                // Renewed, and the site still asks for credentials: refused, never stored as data.
                let why = format!(
                    "account {} of {}: the credentials were renewed and the API still refuses them",
                    account.id, req.source
                );
                if let AuthConfig::Session { .. } = &cfg.auth {
                    self.session_expired(&req.source, &account.id, &why);
                }
                return failed(why);
            }
            // The token or session expired: renew once and send again.
            renewed = true;
            match &cfg.auth {
                AuthConfig::Oauth2ClientCredentials { .. } => {
                    self.tokens.lock().await.remove(&(req.source.clone(), account.id.clone()));
                }
                AuthConfig::Session { .. } => {
                    if let Some(s) = self.sessions.lock().await.get_mut(&(req.source.clone(), account.id.clone())) {
                        s.live = false;
                    }
                    tracing::info!(source = %req.source, account = %account.id, "The session expired; logging in again.");
                }
                _ => return fetched,
            }
        }
    }

    /// Whether an answer says the credentials expired: 401/403, or (sessions) a landing on the login page.
    fn needs_renewal(&self, cfg: &ApiConfig, account: &Account, fetched: &Fetched) -> bool {
        let Fetched::Response { response, .. } = fetched else { return false };
        match &cfg.auth {
            AuthConfig::Oauth2ClientCredentials { .. } => response.status == 401,
            AuthConfig::Session { login_url, .. } => {
                let login = fill(login_url, account).unwrap_or_default();
                matches!(response.status, 401 | 403) || same_path(&response.final_url, &login)
            }
            _ => false,
        }
    }

    fn redact_fetched(&self, fetched: Fetched) -> Fetched {
        match fetched {
            Fetched::Failed { error, attempts, latency, too_large } => {
                Fetched::Failed { error: self.redact(&error), attempts, latency, too_large }
            }
            Fetched::Refused { reason } => Fetched::Refused { reason: self.redact(&reason) },
            Fetched::Response { mut response, attempts } => {
                response.final_url = self.redact_url(&response.final_url);
                Fetched::Response { response, attempts }
            }
        }
    }

    /// The request with the account's credentials applied.
    async fn build(
        &self,
        cfg: &ApiConfig,
        endpoint: Option<&EndpointConfig>,
        account: &Account,
        client: &Client,
        (url, body): (&Url, Option<&str>),
        rules: &SourceFetch,
    ) -> Result<RequestBuilder, ApiError> {
        let post = endpoint.is_some_and(|e| e.method == "POST");
        let method = if post { reqwest::Method::POST } else { reqwest::Method::GET };
        let mut rb = client.request(method.clone(), url.clone()).header("Accept", "application/json");
        let var = |t: &str| fill(t, account);
        for (name, template) in endpoint.map(|e| &e.headers).into_iter().flatten() {
            rb = rb.header(name.as_str(), var(template)?);
        }
        if let Some(body) = body {
            let content_type = endpoint.and_then(|e| e.content_type.as_deref()).unwrap_or("application/json");
            rb = rb.header(reqwest::header::CONTENT_TYPE, content_type).body(body.to_string());
        }
        Ok(match &cfg.auth {
            AuthConfig::None | AuthConfig::Session { .. } => rb,
            AuthConfig::Headers { headers } => {
                let mut rb = rb;
                for (name, template) in headers {
                    rb = rb.header(name.as_str(), var(template)?);
                }
                rb
            }
            AuthConfig::Basic { user, password } => rb.basic_auth(var(user)?, Some(var(password)?)),
            AuthConfig::CoupangHmac { access_key, secret_key } => {
                let signed_date = chrono::Utc::now().format("%y%m%dT%H%M%SZ").to_string();
                let message = format!("{signed_date}{}{}{}", method.as_str(), url.path(), url.query().unwrap_or(""));
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(var(secret_key)?.as_bytes())
                    .map_err(|e| ApiError::Config(format!("the HMAC key is unusable: {e}")))?;
                mac.update(message.as_bytes());
                let signature = hex::encode(mac.finalize().into_bytes());
                rb.header(
                    "Authorization",
                    format!(
                        "CEA algorithm=HmacSHA256, access-key={}, signed-date={signed_date}, signature={signature}",
                        var(access_key)?
                    ),
                )
            }
            AuthConfig::Oauth2ClientCredentials { .. } => {
                let token = self.token(cfg, account, client, rules).await?;
                rb.bearer_auth(token.expose())
            }
        })
    }

    /// The account's OAuth access token, from the cache or the token endpoint.
    async fn token(
        &self,
        cfg: &ApiConfig,
        account: &Account,
        client: &Client,
        rules: &SourceFetch,
    ) -> Result<Secret, ApiError> {
        let AuthConfig::Oauth2ClientCredentials { token_url, client_id, client_secret, sign, form, refresh_before } =
            &cfg.auth
        else {
            return Err(ApiError::Config("not an OAuth source".into()));
        };
        let key = (account.source.clone(), account.id.clone());
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(&key) {
            if Instant::now() < t.renew_at {
                return Ok(t.value.clone());
            }
        }
        let id = fill(client_id, account)?;
        let secret = fill(client_secret, account)?;
        let mut fields: Vec<(String, String)> =
            vec![("grant_type".into(), "client_credentials".into()), ("client_id".into(), id.clone())];
        if sign.as_deref() == Some("naver_bcrypt") {
            let timestamp = shopstream_core::now_ms().to_string();
            fields.push(("timestamp".into(), timestamp.clone()));
            fields.push(("client_secret_sign".into(), naver_sign(&id, &timestamp, &secret)?));
        } else {
            fields.push(("client_secret".into(), secret));
        }
        for (k, v) in form {
            fields.push((k.clone(), fill(v, account)?));
        }
        let url = fill(token_url, account)?;
        let url = Url::parse(&url).map_err(|e| ApiError::Config(format!("token_url: {e}")))?;
        let body = form_body(&fields);
        let mut build = || async { Ok(form_post(client, &url, &body)) };
        let answer = fetch::fetch_with(&url, rules, &mut build).await;
        let body = match answer {
            Fetched::Response { response, .. } if response.status == 200 => response.body,
            Fetched::Response { response, .. } => {
                return Err(ApiError::Auth(format!(
                    "the token endpoint {} answered {} for account {}",
                    self.redact_url(url.as_str()),
                    fetch::status_text(response.status),
                    account.id
                )))
            }
            Fetched::Failed { error, .. } => {
                return Err(ApiError::Auth(format!("the token endpoint failed: {}", self.redact(&error))))
            }
            Fetched::Refused { reason } => {
                return Err(ApiError::Auth(format!("the token endpoint was refused: {reason}")))
            }
        };
        let json: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::Auth(format!("the token endpoint answered no JSON: {e}")))?;
        let value = json
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ApiError::Auth("the token endpoint answered no access_token".into()))?;
        let expires_in = json.get("expires_in").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
        let refresh = refresh_before.as_deref().map(api::parse_duration).transpose().map_err(ApiError::Config)?;
        let life = Duration::from_secs(expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + life.saturating_sub(refresh.unwrap_or(Duration::from_secs(60)));
        let value = Secret::new(value);
        tokens.insert(key, Token { value: value.clone(), renew_at });
        self.metrics.add("api_tokens_fetched", &[("source", &account.source)], 1);
        Ok(value)
    }

    /// The account's session client, logged in (or holding imported cookies).
    async fn session_client(
        &self,
        cfg: &ApiConfig,
        account: &Account,
        rules: &SourceFetch,
    ) -> Result<Client, ApiError> {
        let key = (account.source.clone(), account.id.clone());
        let mut sessions = self.sessions.lock().await;
        if !sessions.contains_key(&key) {
            let jar = Arc::new(reqwest::cookie::Jar::default());
            let file = session_file(&self.sessions_dir, &account.source, &account.id);
            let imported = match std::fs::read_to_string(&file) {
                Ok(text) => {
                    for (url, cookie) in parse_netscape_cookies(&text)
                        .map_err(|e| ApiError::Session(format!("{}: {e}", file.display())))?
                    {
                        jar.add_cookie_str(&cookie, &url);
                    }
                    true
                }
                Err(_) => false,
            };
            let client = fetch::client_with_cookies(rules, jar.clone()).map_err(ApiError::Config)?;
            sessions.insert(key.clone(), Session { client, live: imported });
        }
        let Some(session) = sessions.get_mut(&key) else {
            return Err(ApiError::Config("the session vanished".into()));
        };
        if !session.live {
            let outcome = self.login(cfg, account, &session.client, rules).await;
            match outcome {
                Ok(()) => {
                    session.live = true;
                    self.metrics.add("api_logins", &[("source", &account.source)], 1);
                }
                Err(e) => {
                    self.session_expired(&account.source, &account.id, &e.to_string());
                    return Err(e);
                }
            }
        }
        Ok(session.client.clone())
    }

    /// Log in through the configured form: GET it, carry its CSRF token, POST the credentials.
    async fn login(
        &self,
        cfg: &ApiConfig,
        account: &Account,
        client: &Client,
        rules: &SourceFetch,
    ) -> Result<(), ApiError> {
        let AuthConfig::Session {
            login_url,
            username,
            password,
            username_field,
            password_field,
            csrf_field,
            second_factor_path,
        } = &cfg.auth
        else {
            return Err(ApiError::Config("not a session source".into()));
        };
        let login = Url::parse(&fill(login_url, account)?).map_err(|e| ApiError::Config(format!("login_url: {e}")))?;
        let mut get = || async { Ok(client.get(login.clone())) };
        let form_page = match fetch::fetch_with(&login, rules, &mut get).await {
            Fetched::Response { response, .. } if response.status == 200 => response,
            Fetched::Response { response, .. } => {
                return Err(ApiError::Auth(format!("the login page answered {}", fetch::status_text(response.status))))
            }
            Fetched::Failed { error, .. } => return Err(ApiError::Auth(format!("the login page failed: {error}"))),
            Fetched::Refused { reason } => return Err(ApiError::Auth(format!("the login page was refused: {reason}"))),
        };
        let html = String::from_utf8_lossy(&form_page.body).into_owned();
        let (action, csrf) = login_form(&html, csrf_field);
        let target = match action {
            Some(a) => login.join(&a).map_err(|e| ApiError::Auth(format!("the login form's action {a:?}: {e}")))?,
            None => login.clone(),
        };
        let mut fields = vec![
            (username_field.clone(), fill(username, account)?),
            (password_field.clone(), fill(password, account)?),
        ];
        if let Some(token) = csrf {
            fields.push((csrf_field.clone(), token));
        }
        let body = form_body(&fields);
        let mut post = || async { Ok(form_post(client, &target, &body)) };
        let answer = match fetch::fetch_with(&target, rules, &mut post).await {
            Fetched::Response { response, .. } => response,
            Fetched::Failed { error, .. } => {
                return Err(ApiError::Auth(format!("the login failed: {}", self.redact(&error))))
            }
            Fetched::Refused { reason } => return Err(ApiError::Auth(format!("the login was refused: {reason}"))),
        };
        if let Some(p) = second_factor_path {
            if Url::parse(&answer.final_url).map(|u| u.path().starts_with(p.as_str())).unwrap_or(false) {
                return Err(ApiError::Session(format!(
                    "account {} of {} needs a second factor: import a browser session with `shopstream session \
                     import --source {} --account {} cookies.txt`",
                    account.id, account.source, account.source, account.id
                )));
            }
        }
        if !(200..300).contains(&answer.status) || same_path(&answer.final_url, login.as_str()) {
            return Err(ApiError::Auth(format!(
                "the login of account {} was refused ({}, landed on {})",
                account.id,
                fetch::status_text(answer.status),
                self.redact_url(&answer.final_url)
            )));
        }
        tracing::info!(source = %account.source, account = %account.id, "Logged in.");
        Ok(())
    }

    fn session_expired(&self, source: &str, account: &str, why: &str) {
        let mut expired = self.expired.lock().unwrap_or_else(|p| p.into_inner());
        expired.insert(format!("{source}/{account}"));
        self.metrics.set("session_expired", &[("source", source), ("account", account)], 1);
        self.metrics.set_health(
            "sessions",
            Health::Degraded,
            format!(
                "no live session for {}: {}",
                expired.iter().cloned().collect::<Vec<_>>().join(", "),
                self.redact(why)
            ),
        );
    }

    fn session_ok(&self, source: &str, account: &str) {
        let mut expired = self.expired.lock().unwrap_or_else(|p| p.into_inner());
        if expired.remove(&format!("{source}/{account}")) {
            self.metrics.set("session_expired", &[("source", source), ("account", account)], 0);
            if expired.is_empty() {
                self.metrics.set_health("sessions", Health::Healthy, "");
            }
        }
    }

    /// The next page's crawl request, when the API says there is one.
    pub fn next_request(
        &self,
        req: &CrawlRequest,
        url: &Url,
        response: &fetch::Response,
    ) -> Result<Option<CrawlRequest>, String> {
        let Some(endpoint) = self.resolve(req).map_err(|e| e.to_string())?.1 else {
            // A request that is only signed (a tracked search) pages by its own requests.
            return Ok(None);
        };
        let header = |name: &str| response.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let page = api::PageResponse { url, header: &header, body: &response.body };
        let next = api::next_page(&endpoint.paging, &page).map_err(|e| format!("paging: {e}"))?;
        let account = req.attributes.get(attr::ACCOUNT).cloned().unwrap_or_default();
        Ok(next.map(|mut next| {
            next.set_fragment(Some(&api::account_fragment(&account)));
            let mut attributes = req.attributes.clone();
            let n = attributes.get(attr::PAGE).and_then(|p| p.parse::<u64>().ok()).unwrap_or(1) + 1;
            attributes.insert(attr::PAGE.into(), n.to_string());
            CrawlRequest {
                crawl_id: req.crawl_id.clone(),
                source: req.source.clone(),
                url: self.redact_url(next.as_str()),
                kind: "api".into(),
                depth: req.depth + 1,
                priority: req.priority.clone(),
                requested_at: shopstream_core::now_ms(),
                referrer: Some(req.url.clone()),
                attributes,
            }
        }))
    }

    /// The partition key of a request (its rate budget).
    pub fn key(&self, req: &CrawlRequest) -> Option<Vec<u8>> {
        let (cfg, _, account, endpoint) = self.resolve(req).ok()?;
        Some(cfg.request_key(&req.source, endpoint, &account.id).into_bytes())
    }
}

fn form_body(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

fn form_post(client: &Client, url: &Url, body: &str) -> RequestBuilder {
    client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_string())
}

/// A request that could not be sent. Configuration (no such account or endpoint) and sessions that need a
/// person (a second factor) are refusals: dead-lettered as configuration, never retried blindly; a
/// failing login or token endpoint is a failure like any network error.
fn unfetched(e: ApiError, redact: impl Fn(String) -> String) -> Fetched {
    match e {
        ApiError::Config(_) | ApiError::Session(_) => Fetched::Refused { reason: redact(e.to_string()) },
        ApiError::Auth(_) => failed(redact(e.to_string())),
    }
}

fn failed(error: String) -> Fetched {
    Fetched::Failed { error, attempts: 0, latency: Duration::ZERO, too_large: false }
}

fn fill(template: &str, account: &Account) -> Result<String, ApiError> {
    api::expand(template, &|name| {
        if name == "account" {
            Some(account.id.clone())
        } else {
            account.var(name).map(|s| s.expose().to_string())
        }
    })
    .map_err(|e| ApiError::Config(format!("account {} of {}: {e}", account.id, account.source)))
}

fn same_path(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a.path() == b.path(),
        _ => false,
    }
}

/// The login form's action and CSRF token.
fn login_form(html: &str, csrf_field: &str) -> (Option<String>, Option<String>) {
    let doc = scraper::Html::parse_document(html);
    let form = scraper::Selector::parse("form").ok().and_then(|s| {
        doc.select(&s).find(|f| {
            scraper::Selector::parse("input[type=password]").map(|p| f.select(&p).next().is_some()).unwrap_or(false)
        })
    });
    let action = form.and_then(|f| f.value().attr("action")).map(str::to_string);
    let token = scraper::Selector::parse("input").ok().and_then(|s| {
        doc.select(&s)
            .find(|i| i.value().attr("name") == Some(csrf_field))
            .and_then(|i| i.value().attr("value"))
            .map(str::to_string)
    });
    (action, token)
}

/// Naver Commerce API: Base64(bcrypt(client_id + "_" + timestamp, salt = client secret)).
pub fn naver_sign(client_id: &str, timestamp: &str, client_secret: &str) -> Result<String, ApiError> {
    let bad = || ApiError::Config("the client secret is not a bcrypt salt ($2a$NN$ + 22 characters)".into());
    let parts: Vec<&str> = client_secret.split('$').collect();
    let (cost, salt) = match parts[..] {
        ["", _version, cost, salt] if salt.len() >= 22 => (cost.parse::<u32>().map_err(|_| bad())?, &salt[..22]),
        _ => return Err(bad()),
    };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::BCRYPT,
        base64::engine::GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let bytes = engine.decode(salt).map_err(|_| bad())?;
    let salt: [u8; 16] = bytes.get(..16).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    let hashed = bcrypt::hash_with_salt(format!("{client_id}_{timestamp}"), cost, salt)
        .map_err(|e| ApiError::Config(format!("bcrypt: {e}")))?
        .format_for_version(bcrypt::Version::TwoA);
    Ok(base64::engine::general_purpose::STANDARD.encode(hashed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_naver_signature_is_bcrypt_of_id_and_time_salted_with_the_secret() {
        let secret = "$2a$04$abcdefghijklmnopqrstuv";
        let sign = naver_sign("client-1", "1700000000000", secret).expect("sign");
        let hash = base64::engine::general_purpose::STANDARD.decode(sign).expect("base64");
        let hash = String::from_utf8(hash).expect("text");
        assert!(hash.starts_with("$2a$04$abcdefghijklmnopqrstu"), "{hash}");
        assert!(bcrypt::verify("client-1_1700000000000", &hash).expect("verify"));
        assert!(!bcrypt::verify("client-1_1700000000001", &hash).expect("verify"));
        assert!(naver_sign("c", "1", "not-a-salt").is_err());
    }

    #[test]
    fn netscape_cookie_files_are_read() {
        let text = "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/seller\tFALSE\t0\tcenter_session\tabc123\n#HttpOnly_.example.com\tTRUE\t/\tTRUE\t1999999999\tsid\txyz\n\n";
        let cookies = parse_netscape_cookies(text).expect("cookies");
        assert_eq!(cookies.len(), 2);
        assert_eq!(cookies[0].0.as_str(), "http://127.0.0.1/seller");
        assert_eq!(cookies[0].1, "center_session=abc123; Path=/seller");
        assert!(cookies[1].1.contains("Domain=example.com") && cookies[1].1.contains("HttpOnly"));
        assert!(parse_netscape_cookies("host\tonly-two").is_err());
    }

    #[test]
    fn the_login_form_gives_its_action_and_token() {
        let html = r#"<form method="post" action="/seller/center/login"><input type="hidden" name="csrf_token" value="t0k"><input name="username"><input type="password" name="password"></form>"#;
        assert_eq!(login_form(html, "csrf_token"), (Some("/seller/center/login".into()), Some("t0k".into())));
    }
}
