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
            Error::Kafka(e) => kafka_class(e),
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

/// The one classifier of Kafka client errors: records the broker refuses for what they are (too large,
/// invalid) are bad data, refusals of the client's rights are configuration, the rest is transient.
pub fn kafka_class(e: &rdkafka::error::KafkaError) -> ErrorClass {
    use rdkafka::types::RDKafkaErrorCode as C;
    match e.rdkafka_error_code() {
        Some(
            C::MessageSizeTooLarge | C::InvalidMessageSize | C::InvalidMessage | C::InvalidRecord | C::PolicyViolation,
        ) => ErrorClass::BadData,
        Some(
            C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::SaslAuthenticationFailed
            | C::InvalidConfig
            | C::InvalidRequiredAcks,
        ) => ErrorClass::Config,
        _ => ErrorClass::External,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode as C;

    #[test]
    fn kafka_errors_are_classified_by_their_code() {
        let too_large = KafkaError::MessageProduction(C::MessageSizeTooLarge);
        assert_eq!(kafka_class(&too_large), ErrorClass::BadData);
        assert!(!Error::Kafka(too_large).is_retriable());
        assert_eq!(kafka_class(&KafkaError::MessageProduction(C::TopicAuthorizationFailed)), ErrorClass::Config);
        for transient in [C::BrokerTransportFailure, C::RequestTimedOut, C::NotLeaderForPartition, C::MessageTimedOut] {
            assert!(Error::Kafka(KafkaError::MessageProduction(transient)).is_retriable(), "{transient:?}");
        }
    }
}
