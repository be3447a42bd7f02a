//! The ClickHouse I/O: the insert client, plain SQL over HTTP, and the one function that classifies
//! ClickHouse's errors.

use std::time::Duration;

use clickhouse::{Client, Compression};

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
/// SYNTAX_ERROR (62), UNKNOWN_IDENTIFIER (47), ILLEGAL_AGGREGATION (184), NOT_AN_AGGREGATE (215). Anything else (memory, too many parts, timeouts, unknown codes) is retried: a batch
/// is never dropped on a guess.
pub fn classify_message(message: &str) -> ClickHouseError {
    let m = message.to_string();
    match error_code(message) {
        Some(6 | 27 | 33 | 53 | 69 | 70 | 72 | 117 | 131 | 321) => ClickHouseError::Data(m),
        Some(16 | 47 | 60 | 62 | 81 | 184 | 192 | 194 | 215 | 516) => ClickHouseError::Config(m),
        _ => ClickHouseError::Retriable(m),
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
/// answers SELECTs with no rows and rejects the schema probe (see the project brief).
pub fn client(url: &str, database: &str) -> Client {
    Client::default().with_url(url).with_database(database).with_compression(Compression::None).with_validation(false)
}

/// Plain SQL over HTTP, for DDL and small text queries (TabSeparated results).
#[derive(Clone)]
pub struct Sql {
    http: reqwest::Client,
    url: String,
    database: String,
}

impl Sql {
    pub fn new(url: &str, database: &str) -> Result<Sql, ClickHouseError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClickHouseError::Config(format!("HTTP client: {e}")))?;
        Ok(Sql { http, url: url.trim_end_matches('/').to_string(), database: database.to_string() })
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
        let resp = self
            .http
            .post(&self.url)
            .body(sql.to_string())
            .send()
            .await
            .map_err(|e| ClickHouseError::Retriable(format!("{e}")))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| ClickHouseError::Retriable(format!("{e}")))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(classify_message(&text))
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
        assert_eq!(error_code("Code: 6, e.displayText()"), Some(6));
    }
}
