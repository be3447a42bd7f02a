//! The one error type of the core crate, with its class: whose fault it is and whether a retry can help.

/// Whose fault an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The input is bad: retrying cannot help; dead-letter it.
    BadData,
    /// An external service failed or is unreachable: retry with backoff.
    External,
    /// The configuration is wrong: stop and tell the operator.
    Config,
    /// A bug in shopstream.
    Bug,
}

impl ErrorClass {
    /// The label used in dead letters and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::BadData => "bad_data",
            ErrorClass::External => "external",
            ErrorClass::Config => "config",
            ErrorClass::Bug => "bug",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("schema registry: {0}")]
    Registry(String),
    #[error("Avro: {0}")]
    Avro(String),
    #[error("the record could not be decoded: {0}")]
    Decode(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Kafka(e) => match e.rdkafka_error_code() {
                Some(rdkafka::types::RDKafkaErrorCode::MessageSizeTooLarge) => ErrorClass::BadData,
                _ => ErrorClass::External,
            },
            Error::Registry(_) => ErrorClass::External,
            Error::Avro(_) => ErrorClass::BadData,
            Error::Decode(_) => ErrorClass::BadData,
            Error::Config(_) => ErrorClass::Config,
            Error::Other(_) => ErrorClass::Bug,
        }
    }

    pub fn is_retriable(&self) -> bool {
        self.class() == ErrorClass::External
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
