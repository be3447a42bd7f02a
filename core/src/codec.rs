//! Avro in the Confluent wire format (magic byte, 4-byte schema id, Avro datum) through a Schema
//! Registry. Schemas are registered under `<topic>-value` (TopicNameStrategy) on first use; a schema the
//! registry rejects (e.g. not BACKWARD compatible) fails the encode, so nothing is produced with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    /// Schema ids the registry answered "not found" for, since when.
    unknown: Arc<Mutex<HashMap<u32, Instant>>>,
    /// How long records with an unknown schema id are retried before they are dead-lettered
    /// (`SHOPSTREAM_UNKNOWN_SCHEMA_WAIT_SECS`, default 60).
    unknown_schema_wait: Duration,
    /// Where the registry's reachability is reported as health (component `registry`), and whether it
    /// is reported down now (so only changes touch the metrics).
    health: Option<(crate::metrics::Metrics, Arc<std::sync::atomic::AtomicBool>)>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec")
    }
}

fn registry_error(e: SRCError) -> Error {
    // Refused credentials are an outage of ours to fix, not a verdict on the record: waited out (the
    // stage retries with the reason in its log) instead of dead-lettering every record.
    if e.retriable || is_unauthorized(&e) {
        Error::Registry(e.to_string())
    } else {
        // Rejected by the registry (incompatible or invalid schema) or not encodable: not a transient fault.
        Error::Config(format!("schema registry refused: {e}"))
    }
}

/// The registry answered 404 (Confluent error codes 40401–40403: subject, version or schema not found).
fn is_not_found(e: &SRCError) -> bool {
    let text = e.to_string();
    text.contains("status 404") || text.contains("error_code: 4040")
}

/// The registry refused the credentials (HTTP 401 or 403; not Confluent's 40403, "schema not found").
fn is_unauthorized(e: &SRCError) -> bool {
    let text = e.to_string();
    text.contains("status 401") || text.contains("status 403") || text.contains("Unauthorized")
}

impl Codec {
    /// A codec for the registry at `schema_registry_url`, with HTTP basic auth when
    /// `SHOPSTREAM_SCHEMA_REGISTRY_BASIC_AUTH` (or `…_FILE`) holds `user:password`. A malformed setting
    /// is logged and the codec goes without auth (the registry then refuses it with 401, which is waited
    /// out as an outage with that reason, never dead-lettered).
    pub fn new(schema_registry_url: &str) -> Self {
        Codec::try_new(schema_registry_url).unwrap_or_else(|e| {
            tracing::error!(error = %e, "The schema registry credentials are unusable; going without them.");
            let settings = SrSettings::new(schema_registry_url.trim_end_matches('/').to_string());
            Codec::with_settings(settings)
        })
    }

    pub fn try_new(schema_registry_url: &str) -> Result<Self> {
        let url = schema_registry_url.trim_end_matches('/').to_string();
        let settings = match crate::secrets::basic_auth_from_env("SHOPSTREAM_SCHEMA_REGISTRY_BASIC_AUTH")? {
            None => SrSettings::new(url),
            Some((user, password)) => SrSettings::new_builder(url)
                .set_basic_authorization(&user, Some(password.expose()))
                .build()
                .map_err(|e| Error::Config(format!("schema registry client: {}", e.error)))?,
        };
        Ok(Codec::with_settings(settings))
    }

    fn with_settings(settings: SrSettings) -> Codec {
        let wait = std::env::var("SHOPSTREAM_UNKNOWN_SCHEMA_WAIT_SECS").ok().and_then(|v| v.parse::<u64>().ok());
        Codec {
            encoder: Arc::new(AvroEncoder::new(settings.clone())),
            decoder: Arc::new(AvroDecoder::new(settings)),
            unknown: Arc::default(),
            unknown_schema_wait: Duration::from_secs(wait.unwrap_or(60)),
            health: None,
        }
    }

    /// Report the registry's reachability to `metrics` (health component `registry`): critical while
    /// encodes or decodes wait out an outage, healthy again after the next success.
    pub fn reporting_to(mut self, metrics: &crate::metrics::Metrics) -> Codec {
        self.health = Some((metrics.clone(), Arc::default()));
        self
    }

    /// The registry answered (or failed with `error`): update the health when that is news.
    pub fn report_registry(&self, error: Option<&Error>) {
        use std::sync::atomic::Ordering;
        let Some((metrics, down)) = &self.health else { return };
        match error {
            Some(e) => {
                down.store(true, Ordering::Relaxed);
                metrics.set_health(
                    "registry",
                    crate::metrics::Health::Critical,
                    format!("the schema registry is unreachable or refusing: {e}"),
                );
            }
            None => {
                if down.swap(false, Ordering::Relaxed) {
                    metrics.set_health("registry", crate::metrics::Health::Healthy, "");
                }
            }
        }
    }

    fn lock_unknown(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Instant>> {
        self.unknown.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encode `item` for `topic`, registering its schema under `<topic>-value` if needed.
    pub async fn encode<T: Contract>(&self, topic: &str, item: &T) -> Result<Vec<u8>> {
        let schema = SuppliedSchema::new(Some(T::NAME.to_string()), SchemaType::Avro, T::SCHEMA.to_string());
        let strategy = SubjectNameStrategy::TopicNameStrategyWithSchema(topic.to_string(), false, schema);
        match self.encoder.encode_struct(item, &strategy).await {
            Ok(bytes) => Ok(bytes),
            Err(e) => {
                // Never cache transient failures (schema_registry_converter #171).
                if e.retriable || is_unauthorized(&e) {
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
        let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let decoded = match self.decoder.decode(Some(bytes)).await {
            Ok(d) => {
                self.lock_unknown().remove(&id);
                d
            }
            Err(e) => {
                // Failures are never left in the converter's cache: a schema the registry does not know
                // now (a second registry still catching up on `_schemas`, a schema registered late, a
                // deleted one restored) is asked for again by the next record instead of failing every
                // record with that id for the life of the process.
                self.decoder.remove_errors_from_cache();
                if e.retriable || is_unauthorized(&e) {
                    return Err(Error::Registry(e.to_string()));
                }
                if is_not_found(&e) {
                    // Waited out for a while (the record is retried, its offset stays), then a verdict.
                    let first = *self.lock_unknown().entry(id).or_insert_with(Instant::now);
                    if first.elapsed() < self.unknown_schema_wait {
                        return Err(Error::Registry(format!("schema id {id} is not (yet) in the registry: {e}")));
                    }
                    return Err(Error::Decode(format!(
                        "schema id {id} is unknown to the registry (for {} s): {e}",
                        first.elapsed().as_secs()
                    )));
                }
                return Err(Error::Decode(e.to_string()));
            }
        };
        // The registry gives the writer's schema; the record is read as this build's (the reader's)
        // schema: Avro schema resolution fills fields the writer did not have from their defaults and
        // drops the ones the reader no longer has. That is what BACKWARD compatibility promises a replay.
        let reader = reader_schema::<T>()?;
        let value = decoded
            .value
            .resolve(&reader)
            .map_err(|e| Error::Decode(format!("the record cannot be read as {}: {e}", T::NAME)))?;
        apache_avro::from_value::<T>(&value)
            .map_err(|e| Error::Decode(format!("record does not match {}: {e}", T::NAME)))
    }
}

/// The parsed reader schema of `T`, parsed once per process.
fn reader_schema<T: Contract>() -> Result<Arc<apache_avro::Schema>> {
    static SCHEMAS: OnceLock<Mutex<HashMap<&'static str, Arc<apache_avro::Schema>>>> = OnceLock::new();
    let mut map = SCHEMAS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = map.get(T::NAME) {
        return Ok(s.clone());
    }
    let schema =
        Arc::new(T::schema().map_err(|e| Error::Config(format!("the schema of {} does not parse: {e}", T::NAME)))?);
    map.insert(T::NAME, schema.clone());
    Ok(schema)
}
