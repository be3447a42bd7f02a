//! Kafka clients configured for the delivery contract (DESIGN §3): idempotent producers whose sends are
//! done only on a good delivery report, and consumers that auto-commit only the offsets stored after the
//! work is acknowledged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
use crate::secrets::Secret;

/// How long a send may wait in the local queue before it fails.
const SEND_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// Variables under `SHOPSTREAM_KAFKA_` that are not client options.
const NOT_OPTIONS: [&str; 2] = ["BROKERS", "PORT"];

/// librdkafka options for a real cluster (SASL, TLS, …) from the environment: `SHOPSTREAM_KAFKA_<NAME>`
/// sets option `<name>` in lower case with `_` read as `.` (`SHOPSTREAM_KAFKA_SECURITY_PROTOCOL=SASL_SSL`
/// sets `security.protocol`); a name ending in `_FILE` reads the value from that file, for secrets
/// (`SHOPSTREAM_KAFKA_SASL_PASSWORD_FILE`). Values are [`Secret`]s: never printed.
pub fn env_options() -> Result<Vec<(String, Secret)>> {
    let mut options = Vec::new();
    for (var, _) in std::env::vars() {
        let Some(rest) = var.strip_prefix("SHOPSTREAM_KAFKA_") else { continue };
        if NOT_OPTIONS.contains(&rest) || rest.is_empty() {
            continue;
        }
        let name = rest.strip_suffix("_FILE").unwrap_or(rest);
        let Some(value) = crate::secrets::from_env(&format!("SHOPSTREAM_KAFKA_{name}"))? else { continue };
        options.push((name.to_ascii_lowercase().replace('_', "."), value));
    }
    options.sort_by(|a, b| a.0.cmp(&b.0));
    options.dedup_by(|a, b| a.0 == b.0);
    Ok(options)
}

/// A client config for `brokers` with the options of [`env_options`]: every Kafka client of the
/// pipeline starts from it.
pub fn client_config(brokers: &str) -> Result<ClientConfig> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (name, value) in env_options()? {
        config.set(name, value.expose());
    }
    Ok(config)
}

/// The largest record (key + value) the pipeline publishes, unless `SHOPSTREAM_MESSAGE_MAX_BYTES` says
/// otherwise: 12 MiB, so that the extractor's default 10 MiB page fits with its metadata.
pub const DEFAULT_MESSAGE_MAX_BYTES: usize = 12 * 1024 * 1024;

/// Room the client and broker need around a record (batch and record headers).
const FRAMING_BYTES: usize = 64 * 1024;

/// The one size limit of records: the producers check it before sending, librdkafka's
/// `message.max.bytes` and the topics' `max.message.bytes` are set from it (with room for framing), and
/// the extractor refuses to start with a `max_body_bytes` whose record could not fit
/// ([`max_body_bytes_for`]). From `SHOPSTREAM_MESSAGE_MAX_BYTES`, at least 128 KiB.
pub fn message_max_bytes() -> Result<usize> {
    match std::env::var("SHOPSTREAM_MESSAGE_MAX_BYTES") {
        Err(_) => Ok(DEFAULT_MESSAGE_MAX_BYTES),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (128 * 1024..=1024 * 1024 * 1024).contains(&n) => Ok(n),
            _ => Err(Error::Config(format!(
                "SHOPSTREAM_MESSAGE_MAX_BYTES must be a number of bytes from 131072 to 1073741824, not {v:?}"
            ))),
        },
    }
}

/// The largest page body whose raw record surely fits in `message_max` bytes: the compressed body may
/// be slightly larger than the page (zstd on incompressible bytes) and the record carries metadata.
pub fn max_body_bytes_for(message_max: usize) -> usize {
    message_max.saturating_sub(message_max / 100 + FRAMING_BYTES)
}

/// An idempotent producer (`enable.idempotence=true`, `acks=all`). Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    max_message_bytes: usize,
}

impl Producer {
    pub fn new(brokers: &str) -> Result<Producer> {
        let max_message_bytes = message_max_bytes()?;
        let inner: FutureProducer = client_config(brokers)?
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "60000")
            .set("message.max.bytes", (max_message_bytes + FRAMING_BYTES).to_string())
            .create()?;
        Ok(Producer { inner, max_message_bytes })
    }

    /// Records whose key and value together are larger are refused before sending.
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
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

/// Consumer context that drains and commits revoked partitions before they are released (DESIGN §3.3)
/// and logs rebalances.
pub struct TrackingContext {
    tracker: Arc<Mutex<OffsetTracker>>,
    group: String,
    /// Partitions this member owns now (the eager protocol assigns and revokes the whole set).
    assigned: Arc<AtomicI64>,
    /// Set when a revoke must not wait for work in flight: the stage stops (its own drain ran), or it
    /// holds records in batches it drops on a revoke instead (the loader).
    no_drain: Arc<AtomicBool>,
    /// Revokes so far: a stage holding records in batches drops those of revoked partitions.
    revocations: Arc<AtomicU64>,
    /// How long a revoke waits for the revoked partitions' work in flight.
    drain_deadline: Duration,
}

impl TrackingContext {
    /// Wait until no record of `partitions` is in flight, or the deadline passed; the records left.
    /// Runs on the thread that polls the consumer (inside `recv`): on a multi-threaded runtime the
    /// wait moves that thread's other tasks elsewhere, so the work it waits for goes on.
    fn drain(&self, partitions: &[(String, i32)]) -> usize {
        let deadline = Instant::now() + self.drain_deadline;
        let wait = || loop {
            let left = self.tracker.lock().unwrap_or_else(|p| p.into_inner()).in_flight_in(partitions);
            if left == 0 || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_threaded {
            tokio::task::block_in_place(wait)
        } else {
            wait()
        }
    }
}

impl ClientContext for TrackingContext {}

impl ConsumerContext for TrackingContext {
    fn pre_rebalance(&self, base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                // Drain: the work in flight for these partitions finishes (and stores its offsets)
                // before they go, so the next owner neither redoes it nor runs it alongside; then the
                // stored offsets are committed synchronously. Work still running at the deadline is
                // redone by the next owner (at-least-once).
                let partitions: Vec<(String, i32)> =
                    tpl.elements().iter().map(|el| (el.topic().to_string(), el.partition())).collect();
                let started = Instant::now();
                let left = if self.no_drain.load(Ordering::Relaxed) { 0 } else { self.drain(&partitions) };
                match base.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
                    Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                    Err(e) => tracing::warn!(group = %self.group, error = %e, "The commit on revoke failed."),
                }
                let mut tracker = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
                for (topic, partition) in &partitions {
                    tracker.forget(topic, *partition);
                }
                drop(tracker);
                self.revocations.fetch_add(1, Ordering::Relaxed);
                self.assigned.store(0, Ordering::Relaxed);
                if left > 0 {
                    tracing::warn!(
                        group = %self.group,
                        in_flight = left,
                        "Work was still in flight at the rebalance drain deadline; the next owner redoes it."
                    );
                }
                tracing::info!(
                    group = %self.group,
                    partitions = tpl.count(),
                    drained_ms = started.elapsed().as_millis() as u64,
                    "Partitions were revoked."
                );
            }
            Rebalance::Assign(tpl) => {
                self.assigned.store(tpl.count() as i64, Ordering::Relaxed);
                tracing::info!(group = %self.group, partitions = tpl.count(), "Partitions were assigned.");
            }
            Rebalance::Error(e) => tracing::warn!(group = %self.group, error = %e, "Rebalance failed."),
        }
    }

    /// Auto commits report here; a failed one would otherwise leave the group's position behind in silence.
    fn commit_callback(&self, result: rdkafka::error::KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(
                group = %self.group,
                partitions = offsets.count(),
                error = %e,
                "An offset commit failed; the stored positions are committed again with the next one."
            ),
        }
    }
}

/// How long a revoke waits for the work in flight of the revoked partitions
/// (`SHOPSTREAM_REBALANCE_DRAIN_SECS`, default 15 s: below the session timeout, so the rebalance
/// completes while the draining member is still alive to the group).
pub fn rebalance_drain_deadline() -> Duration {
    let secs = std::env::var("SHOPSTREAM_REBALANCE_DRAIN_SECS").ok().and_then(|v| v.trim().parse::<u64>().ok());
    Duration::from_secs(secs.unwrap_or(15))
}

/// A millisecond setting from the environment (tests shorten the group timeouts), else the default.
fn env_ms(name: &str, default: u64) -> String {
    std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default).to_string()
}

/// A group consumer plus the tracker that decides which offsets may be stored.
pub struct TrackedConsumer {
    pub consumer: StreamConsumer<TrackingContext>,
    tracker: Arc<Mutex<OffsetTracker>>,
    assigned: Arc<AtomicI64>,
    no_drain: Arc<AtomicBool>,
    revocations: Arc<AtomicU64>,
    paused: AtomicBool,
    /// The brokers, the group and the topics it subscribed to.
    pub brokers: String,
    pub group: String,
    pub topics: Vec<String>,
    /// A replay's range: records past it are not processed, and the consumer is finished at its end.
    pub range: Option<crate::replay::Range>,
}

impl TrackedConsumer {
    /// Join `group` and subscribe to `topics`. Auto commit is on, auto offset store off: only offsets
    /// stored through [`TrackedConsumer::done`] are ever committed.
    pub fn new(brokers: &str, group: &str, topics: &[&str]) -> Result<TrackedConsumer> {
        let tracker = Arc::new(Mutex::new(OffsetTracker::new()));
        let assigned = Arc::new(AtomicI64::new(0));
        let no_drain = Arc::new(AtomicBool::new(false));
        let revocations = Arc::new(AtomicU64::new(0));
        let context = TrackingContext {
            tracker: tracker.clone(),
            group: group.to_string(),
            assigned: assigned.clone(),
            no_drain: no_drain.clone(),
            revocations: revocations.clone(),
            drain_deadline: rebalance_drain_deadline(),
        };
        let consumer: StreamConsumer<TrackingContext> = client_config(brokers)?
            .set("group.id", group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", env_ms("SHOPSTREAM_SESSION_TIMEOUT_MS", 30_000))
            .set("max.poll.interval.ms", env_ms("SHOPSTREAM_MAX_POLL_INTERVAL_MS", 300_000))
            .set("fetch.max.bytes", "52428800")
            // A crawl is a chain of hops (page → link → page): the default 500 ms fetch wait would be
            // paid on every hop when the topic is quiet.
            .set("fetch.wait.max.ms", "20")
            .create_with_context(context)?;
        consumer.subscribe(topics)?;
        Ok(TrackedConsumer {
            consumer,
            tracker,
            assigned,
            no_drain,
            revocations,
            paused: AtomicBool::new(false),
            brokers: brokers.to_string(),
            group: group.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            range: None,
        })
    }

    /// A consumer of `group` for a replay: subscribed to the range's topic only, bounded by its ends.
    pub fn for_range(brokers: &str, group: &str, range: crate::replay::Range) -> Result<TrackedConsumer> {
        let mut c = TrackedConsumer::new(brokers, group, &[range.topic.as_str()])?;
        c.range = Some(range);
        Ok(c)
    }

    /// True for a record past the replay's range (not to be processed).
    pub fn beyond_range(&self, topic: &str, partition: i32, offset: i64) -> bool {
        self.range.as_ref().is_some_and(|r| r.end(topic, partition).is_none_or(|end| offset >= end))
    }

    /// True once every partition of the replay's range is done up to its end (never without a range).
    pub fn range_finished(&self) -> bool {
        let Some(range) = &self.range else { return false };
        let tracker = self.lock();
        range
            .partitions
            .iter()
            .all(|(p, (start, end))| start >= end || tracker.position(&range.topic, *p).is_some_and(|pos| pos >= *end))
    }

    /// How many partitions this member owns now.
    pub fn assigned(&self) -> i64 {
        self.assigned.load(Ordering::Relaxed)
    }

    /// The record at this position was read and its work begins.
    pub fn begin(&self, topic: &str, partition: i32, offset: i64) {
        self.lock().begin(topic, partition, offset);
    }

    /// The record's work is acknowledged: store the new contiguous watermark, if it moved.
    ///
    /// The store happens under the tracker's lock: a revoke's drain sees the record done only once its
    /// position is stored, so the commit on revoke includes it (otherwise the next owner redoes it; a
    /// listing page redone re-enqueues the rest of its chain).
    pub fn done(&self, topic: &str, partition: i32, offset: i64) {
        let mut tracker = self.lock();
        let Some(next) = tracker.done(topic, partition, offset) else { return };
        if crate::failpoint("kafka.lose_first_store") && self.lose_store_once(topic, partition, offset) {
            // Test hook: the record's work is done but its position is never stored (as if the store
            // was lost); the partition's stall is healed by `refetch`.
            return;
        }
        let mut tpl = TopicPartitionList::new();
        if tpl.add_partition_offset(topic, partition, Offset::Offset(next)).is_ok() {
            if let Err(e) = self.consumer.store_offsets(&tpl) {
                // The partition was revoked meanwhile: its next owner redoes the work.
                tracing::debug!(topic, partition, error = %e, "Could not store an offset.");
            }
        }
        drop(tracker);
    }

    /// The first time an offset's store would happen under the `kafka.lose_first_store` failpoint: true
    /// (skip it). A record read again stores normally.
    fn lose_store_once(&self, topic: &str, partition: i32, offset: i64) -> bool {
        static LOST: std::sync::OnceLock<Mutex<std::collections::HashSet<(String, i32, i64)>>> =
            std::sync::OnceLock::new();
        let lost = LOST.get_or_init(Default::default);
        lost.lock().unwrap_or_else(|p| p.into_inner()).insert((topic.to_string(), partition, offset))
    }

    /// Pause (or resume) fetching for every partition this member owns; the consumer keeps being a
    /// member while the application goes on polling it.
    pub fn set_paused(&self, paused: bool) -> Result<()> {
        let assignment = self.consumer.assignment()?;
        if paused {
            self.consumer.pause(&assignment)?;
        } else {
            self.consumer.resume(&assignment)?;
        }
        self.paused.store(paused, Ordering::Relaxed);
        Ok(())
    }

    /// True while the application paused fetching (e.g. the loader while ClickHouse is down).
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Whether this member owns the partition now.
    pub fn owns(&self, topic: &str, partition: i32) -> bool {
        self.consumer.assignment().is_ok_and(|a| a.find_partition(topic, partition).is_some())
    }

    /// Records of one partition begun and not done, and the position stored last for it.
    pub fn partition_state(&self, topic: &str, partition: i32) -> (usize, Option<i64>) {
        let t = self.lock();
        (t.in_flight_in(&[(topic.to_string(), partition)]), t.position(topic, partition))
    }

    /// Read a partition again from its committed offset (the earliest record when none is committed),
    /// forgetting what the tracker knew of it: for a partition whose position stopped moving while it
    /// has lag and nothing in flight. Records read again are processed again (idempotent downstream).
    pub fn refetch(&self, topic: &str, partition: i32) -> Result<Offset> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        let committed = self.consumer.committed_offsets(tpl, Duration::from_secs(10))?;
        let offset = match committed.elements().first().map(|e| e.offset()) {
            Some(Offset::Offset(o)) => Offset::Offset(o),
            _ => Offset::Beginning,
        };
        self.lock().forget(topic, partition);
        self.consumer.seek(topic, partition, offset, Duration::from_secs(10))?;
        Ok(offset)
    }

    /// Leave the group and join it again (the subscription is unchanged): a revoke, then a fresh
    /// assignment from the group's coordinator.
    pub fn rejoin(&self) -> Result<()> {
        self.consumer.unsubscribe();
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        self.consumer.subscribe(&topics)?;
        Ok(())
    }

    /// The stage stops (its own drain ran): a revoke while the consumer closes releases at once.
    pub fn closing(&self) {
        self.no_drain.store(true, Ordering::Relaxed);
    }

    /// A revoke releases at once instead of waiting for the work in flight: for a stage whose work in
    /// flight waits in batches that its own loop inserts (it could not progress during the wait) and
    /// that drops a revoked partition's rows instead, see [`TrackedConsumer::revocations`].
    pub fn release_on_revoke(&self) {
        self.no_drain.store(true, Ordering::Relaxed);
    }

    /// Revokes so far (to notice one since the last look).
    pub fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::Relaxed)
    }

    /// True while this record is begun and not done in a partition this member still owns.
    pub fn holds(&self, topic: &str, partition: i32, offset: i64) -> bool {
        self.lock().holds(topic, partition, offset)
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

/// Create the topics that do not exist yet (the broker does not auto-create them), with
/// `max.message.bytes` from [`message_max_bytes`].
pub async fn ensure_topics(brokers: &str, topics: &[&str], partitions: i32) -> Result<()> {
    let specs: Vec<(&str, Vec<(&str, &str)>)> = topics.iter().map(|t| (*t, Vec::new())).collect();
    create_topics(brokers, &specs, partitions).await
}

/// The retention of the raw topics: unlimited (they are the source of truth that replays read).
const RAW_RETENTION: [(&str, &str); 2] = [("retention.ms", "-1"), ("retention.bytes", "-1")];

/// Create the pipeline's topics that do not exist yet: the raw topics with unlimited retention, every
/// topic with the record size limit. Then check that the raw topics really keep everything (a topic
/// created by hand or by an older version may not): `Err` names the topic and the fix.
pub async fn ensure_pipeline_topics(brokers: &str, topics: &crate::Topics, partitions: i32) -> Result<()> {
    let raw = topics.raw_topics();
    let compacted = topics.compacted_topics();
    let specs: Vec<(&str, Vec<(&str, &str)>)> = topics
        .all()
        .into_iter()
        .map(|t| {
            let configs = if raw.contains(&t) {
                RAW_RETENTION.to_vec()
            } else if compacted.contains(&t) {
                vec![("cleanup.policy", "compact")]
            } else {
                Vec::new()
            };
            (t, configs)
        })
        .collect();
    create_topics(brokers, &specs, partitions).await?;
    check_retention(brokers, &raw).await
}

async fn create_topics(brokers: &str, specs: &[(&str, Vec<(&str, &str)>)], partitions: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(brokers)?.create()?;
    let max_message = (message_max_bytes()? + FRAMING_BYTES).to_string();
    let new: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|(t, configs)| {
            let mut topic =
                NewTopic::new(t, partitions, TopicReplication::Fixed(1)).set("max.message.bytes", &max_message);
            for (k, v) in configs {
                topic = topic.set(k, v);
            }
            topic
        })
        .collect();
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

/// `Err` when a topic's `retention.ms` or `retention.bytes` is finite. A broker that cannot describe
/// its topics' configs is trusted (logged): the topics were created with unlimited retention.
async fn check_retention(brokers: &str, topics: &[&str]) -> Result<()> {
    use rdkafka::admin::{ConfigSource, ResourceSpecifier};
    let admin: AdminClient<DefaultClientContext> = client_config(brokers)?.create()?;
    let specs: Vec<ResourceSpecifier<'_>> = topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(30)));
    let results = match admin.describe_configs(&specs, &opts).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "The broker cannot describe topic configs; the raw topics' retention is not checked.");
            return Ok(());
        }
    };
    for r in results {
        let resource = match r {
            Ok(resource) => resource,
            Err(e) => {
                tracing::warn!(error = %e, "Could not describe a raw topic's config; its retention is not checked.");
                continue;
            }
        };
        let name = match &resource.specifier {
            rdkafka::admin::OwnedResourceSpecifier::Topic(t) => t.clone(),
            other => format!("{other:?}"),
        };
        for key in ["retention.ms", "retention.bytes"] {
            let Some(entry) = resource.get(key) else { continue };
            let finite = entry.value.as_deref().is_some_and(|v| v.trim() != "-1");
            if finite && !matches!(entry.source, ConfigSource::Unknown) {
                return Err(Error::Config(format!(
                    "raw topic {name} has {key}={}: raw topics are the source of truth that replays read and \
                     must keep every record; set {key}=-1 on it",
                    entry.value.as_deref().unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// Lag of `group` on `topics`: per topic, the records between its committed offsets and the ends.
/// A partition the group never committed counts from its start.
pub fn group_lag(brokers: &str, group: &str, topics: &[&str]) -> Result<HashMap<String, i64>> {
    let mut lag: HashMap<String, i64> = HashMap::new();
    for ((topic, _), n) in group_partition_lag(brokers, group, topics)? {
        *lag.entry(topic).or_default() += n;
    }
    Ok(lag)
}

/// Lag of `group` per (topic, partition), counted as [`group_lag`] does.
pub fn group_partition_lag(brokers: &str, group: &str, topics: &[&str]) -> Result<HashMap<(String, i32), i64>> {
    let consumer: BaseConsumer =
        client_config(brokers)?.set("group.id", group).set("enable.auto.commit", "false").create()?;
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
    let mut lag = HashMap::new();
    for el in committed.elements() {
        let key = (el.topic().to_string(), el.partition());
        let Some(&(low, high)) = ends.get(&key) else { continue };
        let pos = match el.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        lag.insert(key, (high - pos).max(0));
    }
    Ok(lag)
}

/// True when `group` has a committed position on any partition of `topic`.
pub fn group_has_positions(brokers: &str, group: &str, topic: &str) -> Result<bool> {
    let consumer: BaseConsumer =
        client_config(brokers)?.set("group.id", group).set("enable.auto.commit", "false").create()?;
    let timeout = Duration::from_secs(10);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut tpl = TopicPartitionList::new();
    for t in md.topics() {
        for p in t.partitions() {
            tpl.add_partition(topic, p.id());
        }
    }
    let committed = consumer.committed_offsets(tpl, timeout)?;
    Ok(committed.elements().iter().any(|e| matches!(e.offset(), Offset::Offset(o) if o >= 0)))
}

/// Total records in `topic` (sum of high minus low watermarks).
pub fn topic_size(brokers: &str, topic: &str) -> Result<i64> {
    let consumer: BaseConsumer = client_config(brokers)?.create()?;
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

/// A record read by [`read_to_end`]: key and value (a tombstone has no value).
pub type KeyedRecord = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Every record of `topic` from the start of each partition up to its end at the time of the call, in
/// partition order (blocking; for small state topics: tracking targets, schedule fires).
pub fn read_to_end(brokers: &str, topic: &str) -> Result<Vec<KeyedRecord>> {
    use rdkafka::message::Message;
    let consumer: BaseConsumer = client_config(brokers)?
        .set("group.id", "shopstream-read-to-end")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()?;
    let timeout = Duration::from_secs(10);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut tpl = TopicPartitionList::new();
    let mut ends: HashMap<i32, i64> = HashMap::new();
    for t in md.topics() {
        if let Some(e) = t.error() {
            return Err(Error::Other(format!("cannot read topic {topic}: {e:?}")));
        }
        for p in t.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
            if high > low {
                ends.insert(p.id(), high);
                tpl.add_partition_offset(topic, p.id(), Offset::Offset(low))?;
            }
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&tpl)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ends.is_empty() {
        if std::time::Instant::now() > deadline {
            return Err(Error::Other(format!("reading {topic} to its end took over 60 s")));
        }
        let Some(msg) = consumer.poll(Duration::from_millis(500)) else { continue };
        let msg = msg?;
        let partition = msg.partition();
        out.push((msg.key().map(<[u8]>::to_vec), msg.payload().map(<[u8]>::to_vec)));
        if ends.get(&partition).is_some_and(|end| msg.offset() + 1 >= *end) {
            ends.remove(&partition);
        }
    }
    Ok(out)
}

/// Leadership by consumer group: the member of `group` that owns partition 0 of a one-partition
/// topic holds the lease. A member that dies loses it when its session times out, and the group gives
/// the partition to a standby. Polled on its own thread, so the membership stays alive whatever the
/// holder does.
pub struct Lease {
    held: Arc<std::sync::atomic::AtomicBool>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lease {
    /// Join `group` on `topic` (which must exist with one partition). `session_timeout_ms` bounds how
    /// long a dead holder keeps the lease.
    pub fn join(brokers: &str, group: &str, topic: &str, session_timeout_ms: u64) -> Result<Lease> {
        let consumer: BaseConsumer = client_config(brokers)?
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", (session_timeout_ms / 6).max(100).to_string())
            .set("fetch.wait.max.ms", "1000")
            .set("partition.assignment.strategy", "range")
            .create()?;
        consumer.subscribe(&[topic])?;
        let held = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, s) = (held.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("lease".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    // The lease topic carries no records: polling only keeps the membership alive and
                    // runs rebalances.
                    if let Some(Err(e)) = consumer.poll(Duration::from_millis(250)) {
                        tracing::debug!(error = %e, "Lease poll.");
                    }
                    let owns = consumer.assignment().map(|a| a.count() > 0).unwrap_or(false);
                    if owns != h.swap(owns, Ordering::SeqCst) {
                        tracing::info!(held = owns, "The lease changed hands.");
                    }
                }
                h.store(false, Ordering::SeqCst);
                consumer.unsubscribe();
            })
            .map_err(|e| Error::Other(format!("cannot start the lease thread: {e}")))?;
        Ok(Lease { held, stop, thread: Some(thread) })
    }

    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
