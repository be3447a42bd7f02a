//! The registry's configuration and the compatibility levels it understands.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;

/// The default name of the topic holding the registry's state, as in Confluent.
pub const DEFAULT_TOPIC: &str = "_schemas";

/// How to run one registry instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Address the REST API listens on (port 0 picks a free port; see [`crate::Server::local_addr`]).
    pub listen: SocketAddr,
    /// Kafka bootstrap servers, comma separated (`host:port,host:port`).
    pub kafka_brokers: String,
    /// Topic holding every mutation, created with one partition if missing (default `_schemas`).
    pub topic: String,
    /// Level used when neither the subject nor a `PUT /config` says otherwise (default BACKWARD).
    pub default_compatibility: CompatibilityLevel,
    /// Extra librdkafka options for the state topic's clients (SASL, TLS on a real cluster).
    pub kafka_options: KafkaOptions,
    /// Require HTTP basic auth with these credentials on every request (none: open, as on localhost).
    pub basic_auth: Option<BasicAuth>,
}

/// librdkafka options (name, value). Values may be secrets: `Debug` shows the names only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct KafkaOptions(pub Vec<(String, String)>);

impl fmt::Debug for KafkaOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(k, _)| format!("{k}=***"))).finish()
    }
}

/// A user and password for HTTP basic auth. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BasicAuth({}:***)", self.user)
    }
}

impl RegistryConfig {
    /// A configuration with the default topic and BACKWARD compatibility.
    pub fn new(listen: SocketAddr, kafka_brokers: impl Into<String>) -> Self {
        RegistryConfig {
            listen,
            kafka_brokers: kafka_brokers.into(),
            topic: DEFAULT_TOPIC.to_string(),
            default_compatibility: CompatibilityLevel::Backward,
            kafka_options: KafkaOptions::default(),
            basic_auth: None,
        }
    }

    /// Every problem with the configuration, each naming its field.
    pub fn validate(&self) -> Result<(), RegistryError> {
        let mut problems = Vec::new();
        if self.kafka_brokers.trim().is_empty() {
            problems.push("kafka_brokers: must name at least one broker".to_string());
        }
        if self.topic.trim().is_empty() {
            problems.push("topic: must not be empty".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::Config(problems.join("; ")))
        }
    }
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig::new(SocketAddr::from(([0, 0, 0, 0], 8081)), "localhost:9092")
    }
}

/// Confluent's compatibility levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    /// No check.
    None,
    /// The new schema can read data written with the latest version.
    #[default]
    Backward,
    /// The new schema can read data written with every version.
    BackwardTransitive,
    /// The latest version can read data written with the new schema.
    Forward,
    /// Every version can read data written with the new schema.
    ForwardTransitive,
    /// Backward and forward against the latest version.
    Full,
    /// Backward and forward against every version.
    FullTransitive,
}

impl CompatibilityLevel {
    /// Every level, for messages and tests.
    pub const ALL: [CompatibilityLevel; 7] = [
        CompatibilityLevel::None,
        CompatibilityLevel::Backward,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::Forward,
        CompatibilityLevel::ForwardTransitive,
        CompatibilityLevel::Full,
        CompatibilityLevel::FullTransitive,
    ];

    /// The name used on the wire (`BACKWARD_TRANSITIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether the new schema must read data written with older versions.
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether older versions must read data written with the new schema.
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether the check covers every version rather than only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatibilityLevel {
    type Err = RegistryError;

    /// Case-insensitive, as Confluent accepts `backward` and `BACKWARD`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        CompatibilityLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == upper)
            .ok_or_else(|| RegistryError::InvalidCompatibilityLevel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_case_insensitively_and_round_trip() {
        for level in CompatibilityLevel::ALL {
            assert_eq!(level.as_str().parse::<CompatibilityLevel>().ok(), Some(level));
            assert_eq!(level.as_str().to_lowercase().parse::<CompatibilityLevel>().ok(), Some(level));
            let json = serde_json::to_string(&level).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
        }
        let err = "SIDEWAYS".parse::<CompatibilityLevel>().err();
        assert_eq!(err.map(|e| e.error_code()), Some(42203));
    }

    #[test]
    fn validate_names_every_problem() {
        let mut config = RegistryConfig::default();
        assert!(config.validate().is_ok());
        config.kafka_brokers = " ".into();
        config.topic = String::new();
        let message = config.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("kafka_brokers") && message.contains("topic"), "{message}");
    }
}
