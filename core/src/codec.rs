//! Avro in the Confluent wire format (magic byte, 4-byte schema id, Avro datum) through a Schema
//! Registry. Schemas are registered under `<topic>-value` (TopicNameStrategy) on first use; a schema the
//! registry rejects (e.g. not BACKWARD compatible) fails the encode, so nothing is produced with it.

use std::sync::Arc;

use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{SchemaType, SubjectNameStrategy, SuppliedSchema};
use shopstream_schemas::Contract;

use crate::error::{Error, Result};

/// Encodes and decodes the event contracts. Cheap to clone.
#[derive(Clone)]
pub struct Codec {
    encoder: Arc<AvroEncoder>,
    decoder: Arc<AvroDecoder>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec")
    }
}

fn registry_error(e: SRCError) -> Error {
    if e.retriable {
        Error::Registry(e.to_string())
    } else {
        // Rejected by the registry (incompatible or invalid schema) or not encodable: not a transient fault.
        Error::Config(format!("schema registry refused: {e}"))
    }
}

impl Codec {
    pub fn new(schema_registry_url: &str) -> Self {
        let settings = SrSettings::new(schema_registry_url.trim_end_matches('/').to_string());
        Codec { encoder: Arc::new(AvroEncoder::new(settings.clone())), decoder: Arc::new(AvroDecoder::new(settings)) }
    }

    /// Encode `item` for `topic`, registering its schema under `<topic>-value` if needed.
    pub async fn encode<T: Contract>(&self, topic: &str, item: &T) -> Result<Vec<u8>> {
        let schema = SuppliedSchema::new(Some(T::NAME.to_string()), SchemaType::Avro, T::SCHEMA.to_string());
        let strategy = SubjectNameStrategy::TopicNameStrategyWithSchema(topic.to_string(), false, schema);
        match self.encoder.encode_struct(item, &strategy).await {
            Ok(bytes) => Ok(bytes),
            Err(e) => {
                // Never cache transient failures (schema_registry_converter #171).
                if e.retriable {
                    self.encoder.remove_errors_from_cache();
                }
                Err(registry_error(e))
            }
        }
    }

    /// Decode a Confluent-framed Avro record into `T`.
    pub async fn decode<T: Contract>(&self, bytes: &[u8]) -> Result<T> {
        if bytes.len() < 5 || bytes[0] != 0 {
            return Err(Error::Decode("not in the Confluent wire format (no magic byte 0 and schema id)".into()));
        }
        let decoded = match self.decoder.decode(Some(bytes)).await {
            Ok(d) => d,
            Err(e) => {
                if e.retriable {
                    self.decoder.remove_errors_from_cache();
                    return Err(Error::Registry(e.to_string()));
                }
                return Err(Error::Decode(e.to_string()));
            }
        };
        apache_avro::from_value::<T>(&decoded.value)
            .map_err(|e| Error::Decode(format!("record does not match {}: {e}", T::NAME)))
    }
}
