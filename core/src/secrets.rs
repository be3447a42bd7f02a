//! Secrets (DESIGN §9): read from the environment or from a file named by the environment, never from
//! the pipeline config or the command line, and never printed: [`Secret`] shows as `***` in `Debug` and
//! `Display`, so a secret that reaches a log line, an error or `status` output is redacted there.

use std::fmt;

use crate::error::{Error, Result};

/// A secret value. Only [`Secret::expose`] gives the text, at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The secret in `NAME`, or in the file `NAME_FILE` names (trailing newline removed); `None` when
/// neither is set. A file that cannot be read is a configuration error (naming the file, not its text).
pub fn from_env(name: &str) -> Result<Option<Secret>> {
    if let Ok(v) = std::env::var(name) {
        return Ok(Some(Secret(v)));
    }
    let file_var = format!("{name}_FILE");
    match std::env::var(&file_var) {
        Err(_) => Ok(None),
        Ok(path) => std::fs::read_to_string(&path)
            .map(|t| Some(Secret(t.trim_end_matches(['\n', '\r']).to_string())))
            .map_err(|e| Error::Config(format!("{file_var}: cannot read {path}: {e}"))),
    }
}

/// A `user:password` pair (HTTP basic auth) from `NAME` or `NAME_FILE`.
pub fn basic_auth_from_env(name: &str) -> Result<Option<(String, Secret)>> {
    match from_env(name)? {
        None => Ok(None),
        Some(s) => match s.expose().split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Some((user.to_string(), Secret::new(password)))),
            _ => Err(Error::Config(format!("{name} must be user:password"))),
        },
    }
}

/// ClickHouse credentials: `SHOPSTREAM_CLICKHOUSE_USER` and `SHOPSTREAM_CLICKHOUSE_PASSWORD` (or
/// `SHOPSTREAM_CLICKHOUSE_PASSWORD_FILE`).
#[derive(Debug, Clone, Default)]
pub struct ClickHouseAuth {
    pub user: Option<String>,
    pub password: Option<Secret>,
}

impl ClickHouseAuth {
    pub fn from_env() -> Result<ClickHouseAuth> {
        Ok(ClickHouseAuth {
            user: std::env::var("SHOPSTREAM_CLICKHOUSE_USER").ok().filter(|u| !u.is_empty()),
            password: from_env("SHOPSTREAM_CLICKHOUSE_PASSWORD")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secrets_come_from_a_variable_or_a_file() {
        let dir = tempfile_dir();
        let file = dir.join("pw");
        std::fs::write(&file, "from-file\n").expect("write");
        // Distinct names per test: the environment is shared by the test threads.
        std::env::set_var("SHOPSTREAM_TEST_SECRET_A", "direct");
        std::env::set_var("SHOPSTREAM_TEST_SECRET_B_FILE", &file);
        assert_eq!(from_env("SHOPSTREAM_TEST_SECRET_A").expect("ok").expect("set").expose(), "direct");
        assert_eq!(from_env("SHOPSTREAM_TEST_SECRET_B").expect("ok").expect("set").expose(), "from-file");
        assert!(from_env("SHOPSTREAM_TEST_SECRET_C").expect("ok").is_none());
        std::env::set_var("SHOPSTREAM_TEST_SECRET_D_FILE", dir.join("missing"));
        let err = from_env("SHOPSTREAM_TEST_SECRET_D").expect_err("missing file").to_string();
        assert!(err.contains("SHOPSTREAM_TEST_SECRET_D_FILE"), "{err}");
        std::env::set_var("SHOPSTREAM_TEST_SECRET_E", "user:pa:ss");
        let (user, pw) = basic_auth_from_env("SHOPSTREAM_TEST_SECRET_E").expect("ok").expect("set");
        assert_eq!((user.as_str(), pw.expose()), ("user", "pa:ss"));
        std::env::set_var("SHOPSTREAM_TEST_SECRET_F", "no-colon");
        assert!(basic_auth_from_env("SHOPSTREAM_TEST_SECRET_F").is_err());
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("shopstream-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }
}
