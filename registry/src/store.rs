//! The Kafka side: creates the topic, appends records with an idempotent producer, and applies the
//! topic from the beginning to the state machine on a background task.
//!
//! A write produces its record, then waits until this instance's consumer has applied that
//! record's offset, and returns the outcome the state machine computed for that offset. So two
//! instances racing on the same subject both answer from the one order the log gives them.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::RegistryConfig;
use crate::error::RegistryError;
use crate::state::{Outcome, Record, State};

/// How long a write waits for Kafka's acknowledgement.
const PRODUCE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a write waits for its own record to come back through the consumer.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long startup may take to create the topic and read it to the end.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Outcomes kept for writers that have not collected theirs yet (other instances' records are
/// never collected here, so the map is trimmed to this many).
const MAX_PENDING_OUTCOMES: usize = 10_000;

/// The shared state plus the Kafka clients that change it.
pub(crate) struct Store {
    producer: FutureProducer,
    topic: String,
    state: Arc<RwLock<State>>,
    outcomes: Arc<Mutex<BTreeMap<i64, Outcome>>>,
    /// The next offset the consumer will apply (= last applied + 1).
    applied: watch::Receiver<i64>,
}

/// The consumer task; cancelled and awaited on shutdown.
pub(crate) struct Applier {
    pub(crate) cancel: CancellationToken,
    pub(crate) task: JoinHandle<()>,
}

fn random_suffix() -> u64 {
    RandomState::new().build_hasher().finish()
}

impl Store {
    /// Creates the topic if missing, starts the consumer and returns once the state has caught
    /// up with the topic's end as of startup (readiness).
    pub(crate) async fn open(config: &RegistryConfig) -> Result<(Arc<Store>, Applier), RegistryError> {
        ensure_topic(config, &config.topic).await?;

        let producer: FutureProducer = client_config(config)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", PRODUCE_TIMEOUT.as_millis().to_string())
            .create()
            .map_err(|e| RegistryError::kafka("creating the producer", e))?;

        let consumer: StreamConsumer = client_config(config)
            // Partitions are assigned, never subscribed, so the group is only a formality.
            .set("group.id", format!("shopstream-registry-{:016x}", random_suffix()))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .create()
            .map_err(|e| RegistryError::kafka("creating the consumer", e))?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&config.topic, 0, Offset::Beginning)
            .map_err(|e| RegistryError::kafka("assigning the topic", e))?;
        consumer.assign(&assignment).map_err(|e| RegistryError::kafka("assigning the topic", e))?;

        let consumer = Arc::new(consumer);
        let high = tokio::time::timeout(STARTUP_TIMEOUT, high_watermark(consumer.clone(), config.topic.clone()))
            .await
            .map_err(|_| RegistryError::Timeout(format!("reading the end offset of topic {}", config.topic)))??;

        let state = Arc::new(RwLock::new(State::new(config.default_compatibility)));
        let outcomes = Arc::new(Mutex::new(BTreeMap::new()));
        let (applied_tx, applied) = watch::channel(0i64);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(apply_loop(consumer, state.clone(), outcomes.clone(), applied_tx, cancel.clone()));
        let applier = Applier { cancel, task };
        let store = Arc::new(Store { producer, topic: config.topic.clone(), state, outcomes, applied });

        let mut ready = store.applied.clone();
        let caught_up = tokio::time::timeout(STARTUP_TIMEOUT, ready.wait_for(|next| *next >= high)).await;
        match caught_up {
            Ok(Ok(_)) => {}
            _ => {
                applier.cancel.cancel();
                return Err(RegistryError::Timeout(format!(
                    "reading topic {} up to offset {high} at startup",
                    config.topic
                )));
            }
        }
        tracing::info!(topic = %config.topic, records = high, "The registry has read its topic and is ready.");
        Ok((store, applier))
    }

    /// Runs `f` on the current state.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> Result<R, RegistryError> {
        let state = self.state.read().map_err(|_| RegistryError::Store("the state lock is poisoned".into()))?;
        Ok(f(&state))
    }

    /// Appends `record` and returns the outcome of applying it, once this instance has applied it.
    pub(crate) async fn write(&self, record: &Record) -> Outcome {
        let payload =
            serde_json::to_vec(record).map_err(|e| RegistryError::Store(format!("encoding the record: {e}")))?;
        let delivery = self
            .producer
            .send(FutureRecord::to(&self.topic).partition(0).key(record.key()).payload(&payload), PRODUCE_TIMEOUT)
            .await
            .map_err(|(e, _)| RegistryError::kafka("writing to the schemas topic", e))?;
        let offset = delivery.offset;
        let mut applied = self.applied.clone();
        match tokio::time::timeout(APPLY_TIMEOUT, applied.wait_for(|next| *next > offset)).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Err(RegistryError::Store("the topic consumer stopped".into())),
            Err(_) => {
                return Err(RegistryError::Timeout(format!(
                    "the record at offset {offset} was written but not read back in time"
                )))
            }
        }
        let mut outcomes =
            self.outcomes.lock().map_err(|_| RegistryError::Store("the outcome lock is poisoned".into()))?;
        outcomes
            .remove(&offset)
            .unwrap_or_else(|| Err(RegistryError::Store(format!("the outcome of offset {offset} was lost"))))
    }
}

/// The brokers and the configured extra options.
fn client_config(config: &RegistryConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.kafka_brokers);
    for (k, v) in &config.kafka_options.0 {
        c.set(k, v);
    }
    c
}

/// Creates `topic` with one partition; "already exists" is success.
async fn ensure_topic(config: &RegistryConfig, topic: &str) -> Result<(), RegistryError> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(config).create().map_err(|e| RegistryError::kafka("creating the admin client", e))?;
    // The log is the state: it must never be compacted or expire.
    let new_topic =
        NewTopic::new(topic, 1, TopicReplication::Fixed(1)).set("cleanup.policy", "delete").set("retention.ms", "-1");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics([&new_topic], &options)
        .await
        .map_err(|e| RegistryError::kafka(&format!("creating topic {topic}"), e))?;
    for result in results {
        match result {
            Ok(_) => tracing::info!(%topic, "Created the schemas topic."),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(RegistryError::Store(format!("creating topic {name}: {code}")));
            }
        }
    }
    Ok(())
}

/// The high watermark of partition 0, retried while the topic's metadata propagates.
async fn high_watermark(consumer: Arc<StreamConsumer>, topic: String) -> Result<i64, RegistryError> {
    loop {
        let c = consumer.clone();
        let t = topic.clone();
        // fetch_watermarks blocks on the network.
        let result = tokio::task::spawn_blocking(move || c.fetch_watermarks(&t, 0, Duration::from_secs(5)))
            .await
            .map_err(|e| RegistryError::Store(format!("the watermark task failed: {e}")))?;
        match result {
            Ok((_, high)) => return Ok(high),
            Err(e) if is_transient(&e) => {
                tracing::debug!(%topic, error = %e, "The schemas topic is not readable yet; retrying.");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(RegistryError::kafka(&format!("reading the end offset of {topic}"), e)),
        }
    }
}

/// The one place Kafka errors are classified: which ones waiting can fix.
fn is_transient(e: &KafkaError) -> bool {
    match e.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::NotLeaderForPartition
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown,
        ) => true,
        Some(_) => false,
        None => true,
    }
}

/// Applies every record of the topic, in order, until cancelled.
async fn apply_loop(
    consumer: Arc<StreamConsumer>,
    state: Arc<RwLock<State>>,
    outcomes: Arc<Mutex<BTreeMap<i64, Outcome>>>,
    applied: watch::Sender<i64>,
    cancel: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            _ = cancel.cancelled() => break,
            m = consumer.recv() => m,
        };
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "Reading the schemas topic failed; retrying.");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => continue,
                }
            }
        };
        let offset = message.offset();
        let outcome = match message.payload().map(serde_json::from_slice::<Record>) {
            Some(Ok(record)) => match state.write() {
                Ok(mut state) => state.apply(record),
                Err(_) => Err(RegistryError::Store("the state lock is poisoned".into())),
            },
            Some(Err(e)) => {
                tracing::warn!(offset, error = %e, "Skipping a record of the schemas topic that is not a registry record.");
                Err(RegistryError::Store(format!("unreadable record at offset {offset}: {e}")))
            }
            None => Err(RegistryError::Store(format!("empty record at offset {offset}"))),
        };
        if let Ok(mut pending) = outcomes.lock() {
            pending.insert(offset, outcome);
            while pending.len() > MAX_PENDING_OUTCOMES {
                pending.pop_first();
            }
        }
        // Receivers may all be gone during shutdown; that is fine.
        applied.send_replace(offset + 1);
    }
}
