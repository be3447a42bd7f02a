//! Kafka clients configured for the delivery contract (DESIGN §3): idempotent producers whose sends are
//! done only on a good delivery report, and consumers that auto-commit only the offsets stored after the
//! work is acknowledged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::error::{Error, Result};
use crate::offsets::OffsetTracker;

/// How long a send may wait in the local queue before it fails.
const SEND_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// An idempotent producer (`enable.idempotence=true`, `acks=all`). Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
}

impl Producer {
    pub fn new(brokers: &str) -> Result<Producer> {
        let inner: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "60000")
            .set("message.max.bytes", "8000000")
            .create()?;
        Ok(Producer { inner })
    }

    /// Send one record; done only when the broker acknowledged it. Returns (partition, offset).
    pub async fn send(&self, topic: &str, key: &[u8], payload: &[u8]) -> Result<(i32, i64)> {
        let record = FutureRecord::to(topic).key(key).payload(payload);
        match self.inner.send(record, SEND_QUEUE_TIMEOUT).await {
            Ok(d) => Ok((d.partition, d.offset)),
            Err((e, _)) => Err(Error::Kafka(e)),
        }
    }

    /// Send several records concurrently; done when all are acknowledged. Fails with the first error.
    pub async fn send_all(&self, records: &[(String, Vec<u8>, Vec<u8>)]) -> Result<()> {
        let sends = records.iter().map(|(topic, key, payload)| self.send(topic, key, payload));
        for r in futures::future::join_all(sends).await {
            r?;
        }
        Ok(())
    }

    /// Wait for everything queued to be delivered.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        use rdkafka::producer::Producer as _;
        self.inner.flush(timeout).map_err(Error::Kafka)
    }
}

/// Consumer context that forgets revoked partitions in the offset tracker and logs rebalances.
pub struct TrackingContext {
    tracker: Arc<Mutex<OffsetTracker>>,
    group: String,
}

impl ClientContext for TrackingContext {}

impl ConsumerContext for TrackingContext {
    fn pre_rebalance(&self, _base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                // librdkafka commits the stored offsets before revoking (auto commit is on); work still
                // in flight for these partitions will be redone by the next owner (at-least-once).
                let mut tracker = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
                for el in tpl.elements() {
                    tracker.forget(el.topic(), el.partition());
                }
                tracing::info!(group = %self.group, partitions = tpl.count(), "Partitions were revoked.");
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(group = %self.group, partitions = tpl.count(), "Partitions were assigned.");
            }
            Rebalance::Error(e) => tracing::warn!(group = %self.group, error = %e, "Rebalance failed."),
        }
    }
}

/// A group consumer plus the tracker that decides which offsets may be stored.
pub struct TrackedConsumer {
    pub consumer: StreamConsumer<TrackingContext>,
    tracker: Arc<Mutex<OffsetTracker>>,
}

impl TrackedConsumer {
    /// Join `group` and subscribe to `topics`. Auto commit is on, auto offset store off: only offsets
    /// stored through [`TrackedConsumer::done`] are ever committed.
    pub fn new(brokers: &str, group: &str, topics: &[&str]) -> Result<TrackedConsumer> {
        let tracker = Arc::new(Mutex::new(OffsetTracker::new()));
        let context = TrackingContext { tracker: tracker.clone(), group: group.to_string() };
        let consumer: StreamConsumer<TrackingContext> = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "30000")
            .set("max.poll.interval.ms", "300000")
            .set("fetch.max.bytes", "52428800")
            // A crawl is a chain of hops (page → link → page): the default 500 ms fetch wait would be
            // paid on every hop when the topic is quiet.
            .set("fetch.wait.max.ms", "20")
            .create_with_context(context)?;
        consumer.subscribe(topics)?;
        Ok(TrackedConsumer { consumer, tracker })
    }

    /// The record at this position was read and its work begins.
    pub fn begin(&self, topic: &str, partition: i32, offset: i64) {
        self.lock().begin(topic, partition, offset);
    }

    /// The record's work is acknowledged: store the new contiguous watermark, if it moved.
    pub fn done(&self, topic: &str, partition: i32, offset: i64) {
        let advanced = self.lock().done(topic, partition, offset);
        if let Some(next) = advanced {
            let mut tpl = TopicPartitionList::new();
            if tpl.add_partition_offset(topic, partition, Offset::Offset(next)).is_ok() {
                if let Err(e) = self.consumer.store_offsets(&tpl) {
                    // The partition was revoked meanwhile: its next owner redoes the work.
                    tracing::debug!(topic, partition, error = %e, "Could not store an offset.");
                }
            }
        }
    }

    /// Records begun and not yet done.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight()
    }

    /// Commit the stored offsets now (on shutdown).
    pub fn commit_sync(&self) {
        match self.consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
            Ok(()) => {}
            // Nothing stored since the last commit.
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(error = %e, "The final offset commit failed."),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetTracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Create the topics that do not exist yet (the broker does not auto-create them).
pub async fn ensure_topics(brokers: &str, topics: &[&str], partitions: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", brokers).create()?;
    let new: Vec<NewTopic<'_>> =
        topics.iter().map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1))).collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(&new, &opts).await?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(Error::Other(format!("could not create topic {topic}: {code}")));
            }
        }
    }
    Ok(())
}

/// Lag of `group` on `topics`: per topic, the records between its committed offsets and the ends.
/// A partition the group never committed counts from its start.
pub fn group_lag(brokers: &str, group: &str, topics: &[&str]) -> Result<HashMap<String, i64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let mut tpl = TopicPartitionList::new();
    let mut ends: HashMap<(String, i32), (i64, i64)> = HashMap::new();
    for topic in topics {
        let md = consumer.fetch_metadata(Some(topic), timeout)?;
        for t in md.topics() {
            for p in t.partitions() {
                let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
                ends.insert((topic.to_string(), p.id()), (low, high));
                tpl.add_partition(topic, p.id());
            }
        }
    }
    let committed = consumer.committed_offsets(tpl, timeout)?;
    let mut lag: HashMap<String, i64> = HashMap::new();
    for el in committed.elements() {
        let Some(&(low, high)) = ends.get(&(el.topic().to_string(), el.partition())) else { continue };
        let pos = match el.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        *lag.entry(el.topic().to_string()).or_default() += (high - pos).max(0);
    }
    Ok(lag)
}

/// Total records in `topic` (sum of high minus low watermarks).
pub fn topic_size(brokers: &str, topic: &str) -> Result<i64> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", brokers).create()?;
    let timeout = Duration::from_secs(10);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut total = 0;
    for t in md.topics() {
        for p in t.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
            total += high - low;
        }
    }
    Ok(total)
}
