//! The ClickHouse I/O: the insert client, plain SQL over HTTP, and the one function that classifies
//! ClickHouse's errors.

use std::time::Duration;

use clickhouse::{Client, Compression};
use shopstream_core::secrets::ClickHouseAuth;

/// A ClickHouse failure, classified.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// ClickHouse rejected the data (parse, type, range): retrying the same rows cannot help.
    #[error("ClickHouse rejected the data: {0}")]
    Data(String),
    /// Unreachable, overloaded, timed out: retry the same batch.
    #[error("ClickHouse is unavailable: {0}")]
    Retriable(String),
    /// Missing table or database, bad credentials: an operator must act.
    #[error("ClickHouse configuration: {0}")]
    Config(String),
    /// ClickHouse refused with a code this loader does not know: retried a few times, then taken as
    /// bad data (see the loader), so that an unknown code neither stalls a partition nor drops rows.
    #[error("ClickHouse failed with an unknown error: {0}")]
    Unknown(String),
}

impl ClickHouseError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, ClickHouseError::Retriable(_))
    }
}

/// The ClickHouse error code in a server message (`Code: 53. DB::Exception: …`).
fn error_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Classify a server message by its code. Data errors: CANNOT_PARSE_TEXT (6), CANNOT_PARSE_INPUT_
/// ASSERTION_FAILED (27), CANNOT_READ_ALL_DATA (33), TYPE_MISMATCH (53), ARGUMENT_OUT_OF_BOUND (69),
/// CANNOT_CONVERT_TYPE (70), CANNOT_PARSE_NUMBER (72), INCORRECT_DATA (117), TOO_LARGE_STRING_SIZE (131),
/// VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE (321). Configuration: NO_SUCH_COLUMN_IN_TABLE (16), UNKNOWN_TABLE
/// (60), UNKNOWN_DATABASE (81), UNKNOWN_USER (192), REQUIRED_PASSWORD (194), AUTHENTICATION_FAILED (516),
/// SYNTAX_ERROR (62), UNKNOWN_IDENTIFIER (47), ILLEGAL_AGGREGATION (184), NOT_AN_AGGREGATE (215).
/// Transient: TIMEOUT_EXCEEDED (159), TOO_MANY_SIMULTANEOUS_QUERIES (202), NO_FREE_CONNECTION (203),
/// SOCKET_TIMEOUT (209), NETWORK_ERROR (210), MEMORY_LIMIT_EXCEEDED (241), TABLE_IS_READ_ONLY (242),
/// TOO_MANY_PARTS (252), ALL_CONNECTION_TRIES_FAILED (279), ALL_REPLICAS_ARE_STALE (285),
/// QUERY_WAS_CANCELLED (394), KEEPER_EXCEPTION (999), and a message with no code (a proxy's 502, a
/// reset connection). Any other code is `Unknown`.
pub fn classify_message(message: &str) -> ClickHouseError {
    let m = message.to_string();
    match error_code(message) {
        Some(6 | 27 | 33 | 53 | 69 | 70 | 72 | 117 | 131 | 321) => ClickHouseError::Data(m),
        Some(16 | 47 | 60 | 62 | 81 | 184 | 192 | 194 | 215 | 516) => ClickHouseError::Config(m),
        Some(159 | 202 | 203 | 209 | 210 | 241 | 242 | 252 | 279 | 285 | 394 | 999) | None => {
            ClickHouseError::Retriable(m)
        }
        Some(_) => ClickHouseError::Unknown(m),
    }
}

/// Classify an HTTP answer: its code first; without one, a 4xx says the request itself was refused
/// (bad data), anything else is transient.
pub fn classify_response(status: reqwest::StatusCode, body: &str) -> ClickHouseError {
    match classify_message(body) {
        ClickHouseError::Retriable(m) if error_code(body).is_none() && status.is_client_error() => {
            ClickHouseError::Data(format!("HTTP {status}: {m}"))
        }
        other => other,
    }
}

/// Classify an error of the `clickhouse` crate.
pub fn classify(e: &clickhouse::error::Error) -> ClickHouseError {
    use clickhouse::error::Error as E;
    match e {
        E::BadResponse(msg) => classify_message(msg),
        E::Network(_) | E::TimedOut => ClickHouseError::Retriable(e.to_string()),
        E::InvalidParams(_) => ClickHouseError::Config(e.to_string()),
        other => ClickHouseError::Retriable(other.to_string()),
    }
}

/// The insert client. Compression off and validation off: with LZ4 or validation, ClickHouse 18.16
/// answers SELECTs with no rows and rejects the schema probe (see the project brief). Credentials from
/// `SHOPSTREAM_CLICKHOUSE_USER` / `SHOPSTREAM_CLICKHOUSE_PASSWORD[_FILE]`; TLS with an `https://` URL.
pub fn client(url: &str, database: &str) -> Result<Client, ClickHouseError> {
    let auth = auth()?;
    let mut c = Client::default()
        .with_url(url)
        .with_database(database)
        .with_compression(Compression::None)
        .with_validation(false);
    if let Some(user) = &auth.user {
        c = c.with_user(user);
    }
    if let Some(password) = &auth.password {
        c = c.with_password(password.expose());
    }
    Ok(c)
}

fn auth() -> Result<ClickHouseAuth, ClickHouseError> {
    ClickHouseAuth::from_env().map_err(|e| ClickHouseError::Config(e.to_string()))
}

/// Plain SQL over HTTP, for DDL and small text queries (TabSeparated results).
#[derive(Clone)]
pub struct Sql {
    http: reqwest::Client,
    url: String,
    database: String,
    auth: ClickHouseAuth,
}

impl Sql {
    pub fn new(url: &str, database: &str) -> Result<Sql, ClickHouseError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClickHouseError::Config(format!("HTTP client: {e}")))?;
        Ok(Sql { http, url: url.trim_end_matches('/').to_string(), database: database.to_string(), auth: auth()? })
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// Run a statement.
    pub async fn execute(&self, sql: &str) -> Result<(), ClickHouseError> {
        self.query_text(sql).await.map(|_| ())
    }

    /// Run a query; the body as text.
    pub async fn query_text(&self, sql: &str) -> Result<String, ClickHouseError> {
        let mut request = self.http.post(&self.url).body(sql.to_string());
        if self.auth.user.is_some() || self.auth.password.is_some() {
            let user = self.auth.user.as_deref().unwrap_or("default");
            request = request.basic_auth(user, self.auth.password.as_ref().map(|p| p.expose()));
        }
        let resp = request.send().await.map_err(|e| ClickHouseError::Retriable(format!("{e}")))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| ClickHouseError::Retriable(format!("{e}")))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(classify_response(status, &text))
        }
    }

    /// Health check: `SELECT 1`.
    pub async fn ping(&self) -> Result<(), ClickHouseError> {
        let t = self.query_text("SELECT 1").await?;
        if t.trim() == "1" {
            Ok(())
        } else {
            Err(ClickHouseError::Retriable(format!("unexpected answer to SELECT 1: {t:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_classified_by_code() {
        let data = "Code: 53, e.displayText() = DB::Exception: Type mismatch";
        assert!(matches!(classify_message(data), ClickHouseError::Data(_)));
        assert!(matches!(classify_message("Code: 117. DB::Exception: bad"), ClickHouseError::Data(_)));
        assert!(matches!(
            classify_message("Code: 60. DB::Exception: Table x doesn't exist"),
            ClickHouseError::Config(_)
        ));
        assert!(matches!(classify_message("Code: 241. DB::Exception: Memory limit"), ClickHouseError::Retriable(_)));
        assert!(matches!(classify_message("502 Bad Gateway"), ClickHouseError::Retriable(_)));
        assert!(matches!(classify_message("Code: 4242. DB::Exception: new in 26.1"), ClickHouseError::Unknown(_)));
        let bad_request = classify_response(reqwest::StatusCode::BAD_REQUEST, "Cannot parse input");
        assert!(matches!(bad_request, ClickHouseError::Data(_)));
        let unavailable = classify_response(reqwest::StatusCode::SERVICE_UNAVAILABLE, "overloaded");
        assert!(matches!(unavailable, ClickHouseError::Retriable(_)));
        assert_eq!(error_code("Code: 6, e.displayText()"), Some(6));
    }
}
