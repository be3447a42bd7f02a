//! The consume loop shared by the record-at-a-time stages (extract, transform): read, begin, process
//! concurrently with bounded in-flight work, mark done, and on shutdown stop intake, drain within a
//! deadline and commit.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::codec::Codec;
use crate::dlq::{self, Failure, Origin};
use crate::kafka::{Producer, TrackedConsumer};
use crate::metrics::Metrics;

/// Work in flight gets this long to finish at shutdown (shorter than the session timeout).
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

/// What became of one record.
#[derive(Debug)]
pub enum Outcome {
    /// Everything it caused was acknowledged; the label counts it in `records_out`.
    Done(&'static str),
    /// It could not be processed: dead-letter it.
    Failed(Failure),
    /// Shutdown interrupted it: leave its offset, the next owner redoes it.
    Interrupted,
}

/// Why a step of a record's work stopped early: the typed form of "dead-letter it" and "leave it".
#[derive(Debug)]
pub enum Stop {
    Failed(Failure),
    Interrupted,
}

impl From<Stop> for Outcome {
    fn from(s: Stop) -> Outcome {
        match s {
            Stop::Failed(f) => Outcome::Failed(f),
            Stop::Interrupted => Outcome::Interrupted,
        }
    }
}

/// Run `handler` for every record of `consumer` until `shutdown`, at most `concurrency` at a time.
pub async fn consume<F, Fut>(
    stage: &'static str,
    consumer: Arc<TrackedConsumer>,
    concurrency: usize,
    dead_letters: DeadLetters,
    metrics: Metrics,
    shutdown: CancellationToken,
    handler: F,
) -> anyhow::Result<()>
where
    F: Fn(Origin) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    crate::group_watch::spawn(stage, consumer.clone(), metrics.clone(), shutdown.clone());
    let handler = Arc::new(handler);
    let dead_letters = Arc::new(dead_letters);
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => p?,
        };
        if consumer.range_finished() {
            tracing::info!(stage, "The replay reached the end of its range.");
            break;
        }
        let msg = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = consumer.consumer.recv() => Some(m),
            // A replay checks again whether its range is done even when no record comes.
            _ = tokio::time::sleep(Duration::from_millis(250)), if consumer.range.is_some() => None,
        };
        let origin = match msg {
            None => continue,
            Some(Ok(m)) => Origin::of(&m),
            Some(Err(e)) => {
                tracing::warn!(stage, error = %e, "Kafka consume error.");
                continue;
            }
        };
        if consumer.beyond_range(&origin.topic, origin.partition, origin.offset) {
            continue;
        }
        consumer.begin(&origin.topic, origin.partition, origin.offset);
        metrics.add("records_in", &[("stage", stage)], 1);
        let (handler, consumer, metrics, dead_letters, shutdown) =
            (handler.clone(), consumer.clone(), metrics.clone(), dead_letters.clone(), shutdown.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let (topic, partition, offset) = (origin.topic.clone(), origin.partition, origin.offset);
            // A panic in the handler becomes this record's dead letter: the partition moves on and the
            // panic is logged, instead of the offset freezing with no trace.
            let outcome = match AssertUnwindSafe(handler(origin.clone())).catch_unwind().await {
                Ok(outcome) => outcome,
                Err(panic) => {
                    let message = panic_message(panic.as_ref());
                    tracing::error!(stage, %topic, partition, offset, panic = %message, "Processing a record panicked.");
                    metrics.add("panics", &[("stage", stage)], 1);
                    Outcome::Failed(Failure {
                        stage,
                        reason: format!("processing the record panicked: {message}"),
                        class: crate::ErrorClass::Bug,
                        source: None,
                        parser: None,
                    })
                }
            };
            let acknowledged = match outcome {
                Outcome::Done(label) => {
                    metrics.add("records_out", &[("stage", stage), ("outcome", label)], 1);
                    true
                }
                Outcome::Failed(f) => dead_letters.send(&origin, f, &metrics, &shutdown).await,
                Outcome::Interrupted => false,
            };
            if acknowledged {
                consumer.done(&topic, partition, offset);
            }
        });
        while let Some(joined) = tasks.try_join_next() {
            log_join_error(stage, joined);
        }
    }
    let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
        while let Some(joined) = tasks.join_next().await {
            log_join_error(stage, joined);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            stage,
            in_flight = consumer.in_flight(),
            "Work was still in flight at the drain deadline; it will be redone."
        );
        tasks.abort_all();
    }
    consumer.closing();
    consumer.commit_sync();
    tracing::info!(
        stage,
        records_in = metrics.get("records_in", &[("stage", stage)]),
        records_out = metrics.get("records_out", &[("stage", stage)]),
        dead_lettered = metrics.get("dead_lettered", &[("stage", stage)]),
        "The stage stopped."
    );
    Ok(())
}

/// The text of a panic payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// A worker task that did not end normally (the handler's panics are caught inside; this is the rest).
fn log_join_error(stage: &'static str, joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        if !e.is_cancelled() {
            tracing::error!(stage, error = %e, "A worker task failed; its record will be redone by the next owner.");
        }
    }
}

/// Where a stage's dead letters go.
pub struct DeadLetters {
    pub producer: Producer,
    pub codec: Codec,
    pub topic: String,
}

impl DeadLetters {
    /// Send until acknowledged (true), or until shutdown (false: the offset stays). A dead letter the
    /// broker refuses for good (too large) is sent again with its payload cut to fit, the reason saying so.
    pub async fn send(&self, origin: &Origin, f: Failure, metrics: &Metrics, shutdown: &CancellationToken) -> bool {
        let stage = f.stage;
        let mut origin = std::borrow::Cow::Borrowed(origin);
        let mut f = f;
        let mut backoff = Backoff::new();
        loop {
            match dlq::send(&self.producer, &self.codec, &self.topic, &origin, f.clone()).await {
                Ok(()) => {
                    metrics.add("dead_lettered", &[("stage", stage)], 1);
                    return true;
                }
                Err(e) if !e.is_retriable() && origin.payload.len() > dlq::TRUNCATED_PAYLOAD_BYTES => {
                    tracing::warn!(error = %e, "A dead letter was refused; sending it with its payload truncated.");
                    let mut cut = origin.into_owned();
                    let full = cut.payload.len();
                    cut.payload.truncate(dlq::TRUNCATED_PAYLOAD_BYTES);
                    f.reason = format!(
                        "{} [payload truncated from {full} to {} bytes: {e}]",
                        f.reason,
                        dlq::TRUNCATED_PAYLOAD_BYTES
                    );
                    origin = std::borrow::Cow::Owned(cut);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Could not send a dead letter; retrying.");
                    if !backoff.sleep(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }
}

/// Why records could not be published.
#[derive(Debug)]
pub enum PublishError {
    /// Shutdown came first: leave the offset, the next owner redoes the record.
    Interrupted,
    /// The broker or the producer refuses them for good (too large, invalid): dead-letter the origin.
    Rejected(String),
}

/// Publish records until the broker acknowledged all of them. Transient errors are retried with
/// backoff; a record over the producer's size limit, or one the broker refuses for good, is `Rejected`
/// (before anything is sent when the size is known to be too large, so no partial output).
pub async fn publish_all(
    producer: &Producer,
    records: &[(String, Vec<u8>, Vec<u8>)],
    shutdown: &CancellationToken,
) -> Result<(), PublishError> {
    let limit = producer.max_message_bytes();
    if let Some((topic, key, value)) = records.iter().find(|(_, k, v)| k.len() + v.len() > limit) {
        return Err(PublishError::Rejected(format!(
            "a record for {topic} is {} bytes, over the {limit}-byte message limit (SHOPSTREAM_MESSAGE_MAX_BYTES)",
            key.len() + value.len()
        )));
    }
    let mut backoff = Backoff::new();
    loop {
        match producer.send_all(records).await {
            Ok(()) => return Ok(()),
            Err(e) if !e.is_retriable() => {
                return Err(PublishError::Rejected(format!("the broker refused a record: {e}")));
            }
            Err(e) => {
                tracing::warn!(error = %e, "Publishing failed; retrying.");
                if !backoff.sleep(shutdown).await {
                    return Err(PublishError::Interrupted);
                }
            }
        }
    }
}

/// Encode for `topic`, waiting out registry outages. `Ok(None)` at shutdown (the record is left for
/// the next owner, never dead-lettered for an outage); `Err` for a refusal (the record is dead-lettered).
pub async fn encode_until<T: shopstream_schemas::Contract>(
    codec: &Codec,
    topic: &str,
    item: &T,
    shutdown: &CancellationToken,
) -> crate::Result<Option<Vec<u8>>> {
    let mut backoff = Backoff::new();
    loop {
        if shutdown.is_cancelled() {
            return Ok(None);
        }
        match codec.encode(topic, item).await {
            Ok(bytes) => {
                codec.report_registry(None);
                return Ok(Some(bytes));
            }
            Err(e) if e.is_retriable() => {
                codec.report_registry(Some(&e));
                tracing::warn!(error = %e, "The schema registry failed; retrying.");
                if !backoff.sleep(shutdown).await {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Decode, waiting out registry outages. `Ok(None)` at shutdown.
pub async fn decode_until<T: shopstream_schemas::Contract>(
    codec: &Codec,
    bytes: &[u8],
    shutdown: &CancellationToken,
) -> crate::Result<Option<T>> {
    let mut backoff = Backoff::new();
    loop {
        match codec.decode(bytes).await {
            Ok(v) => {
                codec.report_registry(None);
                return Ok(Some(v));
            }
            Err(e) if e.is_retriable() => {
                codec.report_registry(Some(&e));
                tracing::warn!(error = %e, "The schema registry failed; retrying.");
                if !backoff.sleep(shutdown).await {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

pub use crate::retry::Backoff;
