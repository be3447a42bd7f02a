//! The consume loop shared by the record-at-a-time stages (extract, transform): read, begin, process
//! concurrently with bounded in-flight work, mark done, and on shutdown stop intake, drain within a
//! deadline and commit.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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
    let handler = Arc::new(handler);
    let dead_letters = Arc::new(dead_letters);
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => p?,
        };
        let msg = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = consumer.consumer.recv() => m,
        };
        let origin = match msg {
            Ok(m) => Origin::of(&m),
            Err(e) => {
                tracing::warn!(stage, error = %e, "Kafka consume error.");
                continue;
            }
        };
        consumer.begin(&origin.topic, origin.partition, origin.offset);
        metrics.add("records_in", &[("stage", stage)], 1);
        let (handler, consumer, metrics, dead_letters, shutdown) =
            (handler.clone(), consumer.clone(), metrics.clone(), dead_letters.clone(), shutdown.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let (topic, partition, offset) = (origin.topic.clone(), origin.partition, origin.offset);
            let acknowledged = match handler(origin.clone()).await {
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
        while tasks.try_join_next().is_some() {}
    }
    let drained = tokio::time::timeout(DRAIN_DEADLINE, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            stage,
            in_flight = consumer.in_flight(),
            "Work was still in flight at the drain deadline; it will be redone."
        );
        tasks.abort_all();
    }
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

/// Where a stage's dead letters go.
pub struct DeadLetters {
    pub producer: Producer,
    pub codec: Codec,
    pub topic: String,
}

impl DeadLetters {
    /// Send until acknowledged (true), or until shutdown (false: the offset stays).
    pub async fn send(&self, origin: &Origin, f: Failure, metrics: &Metrics, shutdown: &CancellationToken) -> bool {
        let stage = f.stage;
        let mut backoff = Duration::from_millis(200);
        loop {
            match dlq::send(&self.producer, &self.codec, &self.topic, origin, f.clone()).await {
                Ok(()) => {
                    metrics.add("dead_lettered", &[("stage", stage)], 1);
                    return true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Could not send a dead letter; retrying.");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => return false,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

/// Publish records until the broker acknowledged all of them; `Err` only at shutdown.
pub async fn publish_all(
    producer: &Producer,
    records: &[(String, Vec<u8>, Vec<u8>)],
    shutdown: &CancellationToken,
) -> Result<(), ()> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match producer.send_all(records).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "Publishing failed; retrying.");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return Err(()),
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Encode for `topic`, waiting out registry outages; `Err` for a refusal (the record is dead-lettered)
/// or at shutdown.
pub async fn encode_until<T: shopstream_schemas::Contract>(
    codec: &Codec,
    topic: &str,
    item: &T,
    shutdown: &CancellationToken,
) -> crate::Result<Vec<u8>> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match codec.encode(topic, item).await {
            Err(e) if e.is_retriable() && !shutdown.is_cancelled() => {
                tracing::warn!(error = %e, "The schema registry failed; retrying.");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

/// Decode, waiting out registry outages. `Ok(None)` at shutdown.
pub async fn decode_until<T: shopstream_schemas::Contract>(
    codec: &Codec,
    bytes: &[u8],
    shutdown: &CancellationToken,
) -> crate::Result<Option<T>> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match codec.decode(bytes).await {
            Ok(v) => return Ok(Some(v)),
            Err(e) if e.is_retriable() => {
                tracing::warn!(error = %e, "The schema registry failed; retrying.");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return Ok(None),
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
}
