//! The crate's one error type, with Confluent's error codes for the REST API.

use std::fmt;

/// Everything that can go wrong in the registry, from a bad request to a broken Kafka link.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// 40401: the subject has no versions (or never existed).
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    /// 40402: the subject exists but not this version.
    #[error("Version {0} not found.")]
    VersionNotFound(String),
    /// 40403: no schema with this id, or the schema is not registered under the subject.
    #[error("Schema {0} not found")]
    SchemaNotFound(String),
    /// 40404: the subject was soft-deleted.
    #[error("Subject '{0}' was soft deleted. Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    /// 40405: a permanent delete of a subject that was not soft-deleted first.
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    /// 40406: the version was soft-deleted.
    #[error("Subject '{subject}' Version {version} was soft deleted. Set permanent=true to delete permanently")]
    VersionSoftDeleted { subject: String, version: u32 },
    /// 40407: a permanent delete of a version that was not soft-deleted first.
    #[error("Subject '{subject}' Version {version} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted { subject: String, version: u32 },
    /// 40408: the subject has no compatibility level of its own.
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectLevelCompatibilityNotConfigured(String),
    /// 409: the schema breaks the subject's compatibility rule.
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: {}", .messages.join("; "))]
    IncompatibleSchema { subject: String, messages: Vec<String> },
    /// 42201: the schema does not parse as Avro, or uses something this registry does not support.
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    /// 42202: a version that is neither a positive number, -1 nor `latest`.
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    /// 42203: an unknown compatibility level.
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive (got '{0}')")]
    InvalidCompatibilityLevel(String),
    /// 42206 style catch-all for request bodies that are not the expected JSON (HTTP 422, code 422).
    #[error("Unprocessable entity: {0}")]
    BadRequest(String),
    /// 50001: Kafka refused or lost a write, or the topic could not be read.
    #[error("Error in the backend data store: {0}")]
    Store(String),
    /// 50002: a write was accepted by Kafka but this instance did not apply it in time.
    #[error("Operation timed out: {0}")]
    Timeout(String),
    /// The HTTP listener could not be bound or failed.
    #[error("HTTP server error: {0}")]
    Http(#[source] std::io::Error),
    /// The configuration is unusable (e.g. an empty topic name).
    #[error("Invalid registry configuration: {0}")]
    Config(String),
}

/// Whose fault an error is, for logging and retry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The client sent something wrong; retrying the same request cannot help.
    BadData,
    /// Kafka or the network; a retry may help.
    External,
    /// The registry's configuration.
    Config,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::BadData => "bad data",
            ErrorKind::External => "external service",
            ErrorKind::Config => "config",
        })
    }
}

impl RegistryError {
    /// Confluent's `error_code` for the JSON error body.
    pub fn error_code(&self) -> u32 {
        match self {
            RegistryError::SubjectNotFound(_) => 40401,
            RegistryError::VersionNotFound(_) => 40402,
            RegistryError::SchemaNotFound(_) => 40403,
            RegistryError::SubjectSoftDeleted(_) => 40404,
            RegistryError::SubjectNotSoftDeleted(_) => 40405,
            RegistryError::VersionSoftDeleted { .. } => 40406,
            RegistryError::VersionNotSoftDeleted { .. } => 40407,
            RegistryError::SubjectLevelCompatibilityNotConfigured(_) => 40408,
            RegistryError::IncompatibleSchema { .. } => 409,
            RegistryError::InvalidSchema(_) => 42201,
            RegistryError::InvalidVersion(_) => 42202,
            RegistryError::InvalidCompatibilityLevel(_) => 42203,
            RegistryError::BadRequest(_) => 422,
            RegistryError::Store(_) | RegistryError::Http(_) | RegistryError::Config(_) => 50001,
            RegistryError::Timeout(_) => 50002,
        }
    }

    /// The HTTP status Confluent uses for this error.
    pub fn http_status(&self) -> u16 {
        match self.error_code() {
            409 => 409,
            422 => 422,
            c if (40400..40500).contains(&c) => 404,
            c if (42200..42300).contains(&c) => 422,
            _ => 500,
        }
    }

    /// Whether repeating the same operation later may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, RegistryError::Store(_) | RegistryError::Timeout(_) | RegistryError::Http(_))
    }

    /// Whose fault the error is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Store(_) | RegistryError::Timeout(_) | RegistryError::Http(_) => ErrorKind::External,
            RegistryError::Config(_) => ErrorKind::Config,
            _ => ErrorKind::BadData,
        }
    }

    /// The classification of Kafka errors: every rdkafka error is an external, retriable store error.
    pub(crate) fn kafka(context: &str, e: rdkafka::error::KafkaError) -> Self {
        RegistryError::Store(format!("{context}: {e}"))
    }
}
