//! The loader's run loop: consume, batch per table, insert, then store offsets.

use std::time::{Duration, Instant};

use clickhouse::Client;
use serde::Serialize;
use shopstream_core::dlq::{Failure, Origin};
use shopstream_core::kafka::{Producer, TrackedConsumer};
use shopstream_core::metrics::{Health, Metrics};
use shopstream_core::retry::Backoff;
use shopstream_core::worker::{self, DeadLetters};
use shopstream_core::{Codec, Endpoints, ErrorClass, Topics};
use shopstream_schemas::{
    FetchObserved, InquiryObserved, OrderObserved, PriceObserved, ProductObserved, RankObserved, ReviewObserved,
    RunEvent, SettlementObserved, TargetRankObserved, TrackingTarget,
};
use tokio_util::sync::CancellationToken;

use super::config::LoadConfig;
use super::migrations;
use super::rows::{
    FetchRow, InquiryRow, Merged, OrderRow, PriceRow, ProductRow, RankRow, ReviewRow, RunEventRow, RunRow,
    SettlementRow, TargetPageRow, TargetRow,
};
use super::service::{classify, client, ClickHouseError, Sql};

const STAGE: &str = "load";

/// A row type the loader can insert.
trait LoadRow:
    clickhouse::Row + Serialize + Send + Sync + Clone + Merged + 'static + for<'b> clickhouse::RowWrite<Value<'b> = Self>
{
}
impl<R> LoadRow for R where
    R: clickhouse::Row
        + Serialize
        + Send
        + Sync
        + Clone
        + Merged
        + 'static
        + for<'b> clickhouse::RowWrite<Value<'b> = R>
{
}

/// One table's pending rows and the records they came from (one row per record).
struct Batch<R> {
    table: &'static str,
    rows: Vec<R>,
    origins: Vec<Origin>,
    started: Option<Instant>,
}

impl<R> Batch<R> {
    fn new(table: &'static str) -> Self {
        Batch { table, rows: Vec::new(), origins: Vec::new(), started: None }
    }

    fn push(&mut self, row: R, origin: Origin) {
        self.started.get_or_insert_with(Instant::now);
        self.rows.push(row);
        self.origins.push(origin);
    }

    /// Keep only the rows whose record `keep` accepts; how many were dropped.
    fn release(&mut self, keep: impl Fn(&Origin) -> bool) -> usize {
        let before = self.rows.len();
        let (rows, origins): (Vec<R>, Vec<Origin>) =
            self.rows.drain(..).zip(self.origins.drain(..)).filter(|(_, o)| keep(o)).unzip();
        (self.rows, self.origins) = (rows, origins);
        if self.rows.is_empty() {
            self.started = None;
        }
        before - self.rows.len()
    }

    fn due(&self, cfg: &LoadConfig) -> bool {
        self.rows.len() >= cfg.batch_rows || self.started.is_some_and(|s| s.elapsed() >= cfg.batch_max_age)
    }
}

/// Apply macro `$m` to the name of every batch in [`Batches`].
macro_rules! every_batch {
    ($m:ident) => {
        $m!(
            products,
            prices,
            ranks,
            fetches,
            targets,
            tracking,
            runs,
            summaries,
            orders,
            reviews,
            inquiries,
            settlements
        )
    };
}

/// The pending batch of every table.
struct Batches {
    products: Batch<ProductRow>,
    prices: Batch<PriceRow>,
    ranks: Batch<RankRow>,
    fetches: Batch<FetchRow>,
    targets: Batch<TargetPageRow>,
    tracking: Batch<TargetRow>,
    runs: Batch<RunEventRow>,
    summaries: Batch<RunRow>,
    orders: Batch<OrderRow>,
    reviews: Batch<ReviewRow>,
    inquiries: Batch<InquiryRow>,
    settlements: Batch<SettlementRow>,
}

impl Batches {
    fn new() -> Batches {
        Batches {
            // Product facts are kept whole in product_observations; `products` is rewritten from them.
            products: Batch::new("product_observations"),
            prices: Batch::new("price_observations"),
            ranks: Batch::new("rank_observations"),
            fetches: Batch::new("fetch_log"),
            targets: Batch::new("target_pages"),
            tracking: Batch::new("tracking_targets"),
            runs: Batch::new("run_events"),
            summaries: Batch::new("runs"),
            orders: Batch::new("order_observations"),
            reviews: Batch::new("reviews"),
            inquiries: Batch::new("inquiries"),
            settlements: Batch::new("settlements"),
        }
    }

    /// Flush the batches that are due (all of them with `all`).
    async fn flush(&mut self, loader: &Loader<'_>, all: bool) -> Result<(), ClickHouseError> {
        let cfg = loader.cfg;
        macro_rules! flush {
            ($($b:ident),*) => {$(
                if all || self.$b.due(cfg) {
                    loader.flush(&mut self.$b).await?;
                }
            )*};
        }
        every_batch!(flush);
        Ok(())
    }

    /// Drop the rows of records whose partition was revoked before their batch was inserted: nothing
    /// of them reached ClickHouse and their offsets were not committed, so the partition's next owner
    /// loads them (loading them here too would double the work). Returns how many were dropped.
    fn release_revoked(&mut self, consumer: &TrackedConsumer) -> usize {
        let mut released = 0;
        macro_rules! release {
            ($($b:ident),*) => {$(
                released += self.$b.release(|o| consumer.holds(&o.topic, o.partition, o.offset));
            )*};
        }
        every_batch!(release);
        released
    }
}

struct Loader<'a> {
    cfg: &'a LoadConfig,
    ch: Client,
    sql: Sql,
    producer: Producer,
    codec: Codec,
    topics: &'a Topics,
    consumer: &'a TrackedConsumer,
    metrics: &'a Metrics,
    shutdown: &'a CancellationToken,
    /// Records received while the partitions were paused (ClickHouse down), processed first afterwards.
    held: std::sync::Mutex<std::collections::VecDeque<Origin>>,
    paused: std::sync::atomic::AtomicBool,
}

/// A crash point for tests of the delivery guarantees: `SHOPSTREAM_FAILPOINT=load.before_insert` aborts
/// the process after a batch was consumed and before it is sent; `load.after_insert` aborts after
/// ClickHouse stored it and before its offsets are stored.
fn failpoint(name: &str) {
    if shopstream_core::failpoint(name) {
        eprintln!("failpoint {name}: aborting the process");
        std::process::abort();
    }
}

impl Loader<'_> {
    /// Insert `rows` once, within the insert timeout. Ok when ClickHouse acknowledged. (A timed-out
    /// insert may still land: its retry converges, the tables being ReplacingMergeTree.)
    async fn insert_once<R: LoadRow>(&self, table: &str, rows: &[R]) -> Result<(), ClickHouseError> {
        let insert = async {
            let mut insert = self.ch.insert::<R>(table).await.map_err(|e| classify(&e))?;
            for row in rows {
                insert.write(row).await.map_err(|e| classify(&e))?;
            }
            insert.end().await.map_err(|e| classify(&e))
        };
        match tokio::time::timeout(self.cfg.insert_timeout, insert).await {
            Ok(r) => r,
            Err(_) => Err(ClickHouseError::Retriable(format!(
                "the insert into {table} took longer than {} s",
                self.cfg.insert_timeout.as_secs()
            ))),
        }
    }

    /// Wait `delay` before retrying the sink without leaving the consumer group: the partitions are
    /// paused and the consumer keeps being polled (a consumer that is not polled for
    /// `max.poll.interval.ms` is evicted). Records that were already fetched are held for later.
    /// False at shutdown.
    async fn wait_out(&self, delay: Duration) -> bool {
        self.set_paused(true);
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                _ = self.shutdown.cancelled() => return false,
                msg = self.consumer.consumer.recv() => match msg {
                    Ok(m) => self.held.lock().unwrap_or_else(|p| p.into_inner()).push_back(Origin::of(&m)),
                    Err(e) => tracing::warn!(error = %e, "Kafka consume error."),
                },
            }
        }
    }

    /// Pause or resume every partition this member owns.
    fn set_paused(&self, paused: bool) {
        if self.paused.swap(paused, std::sync::atomic::Ordering::Relaxed) == paused {
            return;
        }
        if let Err(e) = self.consumer.set_paused(paused) {
            tracing::debug!(error = %e, paused, "Could not pause or resume the partitions.");
        }
        self.metrics.set("paused", &[("stage", STAGE)], i64::from(paused));
    }

    /// Insert with retries for retriable failures and bisection for data failures. Returns the rows
    /// ClickHouse rejected, with its error text. Err only for configuration errors or shutdown.
    async fn insert<R: LoadRow>(&self, table: &str, rows: &[R]) -> Result<Vec<(usize, String)>, ClickHouseError> {
        // Work list of (start, end) ranges; a data error splits its range in two.
        let mut rejected = Vec::new();
        let mut ranges = vec![(0usize, rows.len())];
        while let Some((start, end)) = ranges.pop() {
            let mut backoff = Backoff::between(self.cfg.retry_backoff, self.cfg.retry_max_backoff);
            let mut unknown_failures = 0u32;
            loop {
                let failure = match self.insert_once(table, &rows[start..end]).await {
                    Ok(()) => {
                        self.metrics.set_health("clickhouse", Health::Healthy, "");
                        self.set_paused(false);
                        break;
                    }
                    // An error ClickHouse explains with a code we do not know: retried a few times (it may be
                    // transient), then taken as bad data, so that the batch is bisected and the rows it rejects
                    // are dead-lettered with the message: never stuck forever, never dropped.
                    Err(ClickHouseError::Unknown(msg)) if unknown_failures >= self.cfg.unknown_error_retries => {
                        ClickHouseError::Data(format!(
                            "{msg} (an unknown error, still failing after {unknown_failures} retries)"
                        ))
                    }
                    Err(ClickHouseError::Unknown(msg)) => {
                        unknown_failures += 1;
                        ClickHouseError::Retriable(msg)
                    }
                    Err(e) => e,
                };
                match failure {
                    ClickHouseError::Data(msg) => {
                        if end - start == 1 {
                            rejected.push((start, msg));
                        } else {
                            let mid = start + (end - start) / 2;
                            ranges.push((mid, end));
                            ranges.push((start, mid));
                        }
                        break;
                    }
                    ClickHouseError::Retriable(msg) | ClickHouseError::Unknown(msg) => {
                        let delay = backoff.next_delay();
                        tracing::warn!(table, error = %msg, backoff_ms = delay.as_millis() as u64, "A ClickHouse insert failed; retrying the same batch.");
                        self.metrics.set_health("clickhouse", Health::Degraded, format!("retrying an insert: {msg}"));
                        self.metrics.add("insert_retries", &[("stage", STAGE), ("table", table)], 1);
                        if !self.wait_out(delay).await {
                            return Err(ClickHouseError::Retriable(format!("shut down while retrying: {msg}")));
                        }
                    }
                    e @ ClickHouseError::Config(_) => {
                        self.metrics.set_health("clickhouse", Health::Critical, e.to_string());
                        return Err(e);
                    }
                }
            }
        }
        Ok(rejected)
    }

    /// Flush one batch: insert, dead-letter rejected rows, then mark every record done.
    async fn flush<R: LoadRow>(&self, batch: &mut Batch<R>) -> Result<(), ClickHouseError> {
        if batch.rows.is_empty() {
            return Ok(());
        }
        failpoint("load.before_insert");
        let rejected = self.insert(batch.table, &batch.rows).await?;
        failpoint("load.after_insert");
        for (i, msg) in &rejected {
            let failure = Failure {
                stage: STAGE,
                reason: format!("ClickHouse rejected the row for table {}: {msg}", batch.table),
                class: ErrorClass::BadData,
                source: None,
                parser: None,
            };
            self.dead_letter(&batch.origins[*i], failure).await?;
        }
        // Product facts: rewrite the merged `products` rows of the products just stored.
        let rejected_rows: std::collections::BTreeSet<usize> = rejected.iter().map(|(i, _)| *i).collect();
        let keys: std::collections::BTreeSet<(&str, &str)> = batch
            .rows
            .iter()
            .enumerate()
            .filter(|(i, _)| !rejected_rows.contains(i))
            .filter_map(|(_, r)| r.merged_key())
            .collect();
        if !keys.is_empty() {
            let keys: Vec<(&str, &str)> = keys.into_iter().collect();
            for chunk in keys.chunks(migrations::MERGE_CHUNK) {
                self.execute_with_retries(&migrations::merge_products(self.sql.database(), chunk)).await?;
            }
        }
        let loaded = (batch.rows.len() - rejected.len()) as u64;
        self.metrics.add("records_out", &[("stage", STAGE), ("table", batch.table)], loaded);
        // Freshness: from the fetch (or observation) to the row being visible, per table.
        let now = shopstream_core::now_ms() as f64 / 1000.0;
        for (_, r) in batch.rows.iter().enumerate().filter(|(i, _)| !rejected_rows.contains(i)) {
            if let Some(at) = r.fetched_secs() {
                self.metrics.observe(
                    "freshness_seconds",
                    &[("stage", STAGE), ("table", batch.table)],
                    now - f64::from(at),
                );
            }
        }
        tracing::debug!(table = batch.table, rows = loaded, rejected = rejected.len(), "Loaded a batch.");
        for o in &batch.origins {
            self.consumer.done(&o.topic, o.partition, o.offset);
        }
        batch.rows.clear();
        batch.origins.clear();
        batch.started = None;
        Ok(())
    }

    /// Run a statement, retrying transient failures like an insert (partitions paused meanwhile).
    async fn execute_with_retries(&self, statement: &str) -> Result<(), ClickHouseError> {
        let mut backoff = Backoff::between(self.cfg.retry_backoff, self.cfg.retry_max_backoff);
        loop {
            match self.sql.execute(statement).await {
                Ok(()) => {
                    self.set_paused(false);
                    return Ok(());
                }
                Err(ClickHouseError::Retriable(msg) | ClickHouseError::Unknown(msg)) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %msg, "Rewriting merged rows failed; retrying.");
                    self.metrics.set_health("clickhouse", Health::Degraded, format!("retrying a merge: {msg}"));
                    if !self.wait_out(delay).await {
                        return Err(ClickHouseError::Retriable(format!("shut down while retrying: {msg}")));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Dead-letter one record, retrying the broker until it acknowledges (or shutdown).
    async fn dead_letter(&self, origin: &Origin, failure: Failure) -> Result<(), ClickHouseError> {
        let dead_letters = DeadLetters {
            producer: self.producer.clone(),
            codec: self.codec.clone(),
            topic: self.topics.dlq_load.clone(),
        };
        if dead_letters.send(origin, failure, self.metrics, self.shutdown).await {
            Ok(())
        } else {
            Err(ClickHouseError::Retriable("shut down while dead-lettering".into()))
        }
    }
}

/// Apply the migrations, waiting for ClickHouse while it is unreachable (a loader started before
/// ClickHouse, or during its restart, waits instead of failing, and under `run` stops no other stage).
/// False at shutdown.
async fn migrate_when_up(sql: &Sql, metrics: &Metrics, shutdown: &CancellationToken) -> anyhow::Result<bool> {
    let mut backoff = Backoff::between(Duration::from_millis(500), Duration::from_secs(15));
    loop {
        let applied = async {
            migrations::apply(sql).await?;
            migrations::check(sql).await
        };
        match applied.await {
            Ok(_) => {
                metrics.set_health("clickhouse", Health::Healthy, "");
                return Ok(true);
            }
            Err(e) if e.is_retriable() => {
                tracing::warn!(error = %e, "ClickHouse is unreachable for the migrations; waiting for it.");
                metrics.set_health("clickhouse", Health::Critical, format!("unreachable at start: {e}"));
                if !backoff.sleep(shutdown).await {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Run the loader until `shutdown`. Applies migrations first.
pub async fn run(
    cfg: LoadConfig,
    endpoints: &Endpoints,
    topics: &Topics,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if let Err(problems) = cfg.validate() {
        anyhow::bail!("invalid loader configuration:\n  {}", problems.join("\n  "));
    }
    let sql = Sql::new(&cfg.url, &cfg.database)?;
    if !migrate_when_up(&sql, &metrics, &shutdown).await? {
        return Ok(());
    }
    let event_topics = topics.event_topics();
    shopstream_core::kafka::ensure_topics(&endpoints.kafka_brokers, &[topics.dlq_load.as_str()], 1).await?;
    let consumer = std::sync::Arc::new(match cfg.replay.clone() {
        Some(range) => TrackedConsumer::for_range(&endpoints.kafka_brokers, &cfg.group, range)?,
        None => TrackedConsumer::new(&endpoints.kafka_brokers, &cfg.group, &event_topics)?,
    });
    // Its records in flight wait in batches this loop inserts, so a revoke drops them (the next owner
    // loads them) instead of waiting inside the poll for an insert that cannot run meanwhile.
    consumer.release_on_revoke();
    shopstream_core::group_watch::spawn(STAGE, consumer.clone(), metrics.clone(), shutdown.clone());
    if let (Some(w), None) = (cfg.watch_runs.clone(), &cfg.replay) {
        let (sql, brokers, registry) =
            (sql.clone(), endpoints.kafka_brokers.clone(), endpoints.schema_registry_url.clone());
        let (topics, metrics, shutdown) = (topics.clone(), metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = super::runs::watch(w, sql, brokers, registry, topics, metrics.clone(), shutdown).await {
                metrics.set_health("run_watcher", Health::Critical, format!("{e:#}"));
                tracing::error!(error = format!("{e:#}"), "The run watcher stopped.");
            }
        });
    }
    let loader = Loader {
        cfg: &cfg,
        ch: client(&cfg.url, &cfg.database)?,
        sql: sql.clone(),
        producer: Producer::new(&endpoints.kafka_brokers)?,
        codec: Codec::new(&endpoints.schema_registry_url).reporting_to(&metrics),
        topics,
        consumer: &consumer,
        metrics: &metrics,
        shutdown: &shutdown,
        held: Default::default(),
        paused: Default::default(),
    };
    metrics.set_health("clickhouse", Health::Healthy, "");
    let mut batches = Batches::new();
    let mut revocations = consumer.revocations();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tracing::info!(group = %cfg.group, database = %cfg.database, "The loader is running.");

    let result: anyhow::Result<()> = async {
        loop {
            if consumer.range_finished() {
                tracing::info!("The replay reached the end of its range.");
                break;
            }
            let held = loader.held.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let origin = match held {
                Some(origin) => Some(origin),
                None => tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => None,
                    msg = consumer.consumer.recv() => match msg {
                        Ok(m) => Some(Origin::of(&m)),
                        Err(e) => {
                            tracing::warn!(error = %e, "Kafka consume error.");
                            None
                        }
                    },
                },
            };
            let origin = origin.filter(|o| !consumer.beyond_range(&o.topic, o.partition, o.offset));
            if let Some(origin) = origin {
                consumer.begin(&origin.topic, origin.partition, origin.offset);
                metrics.add("records_in", &[("stage", STAGE), ("topic", &origin.topic)], 1);
                // Registry outages are waited out inside; Ok(false): shutdown came first, and the
                // record's offset stays for the next run.
                match decode_into(&loader, &origin, &mut batches).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        let class = e.class();
                        let failure =
                            Failure { stage: STAGE, reason: e.to_string(), class, source: None, parser: None };
                        loader.dead_letter(&origin, failure).await?;
                        consumer.done(&origin.topic, origin.partition, origin.offset);
                    }
                }
            }
            if consumer.revocations() != revocations {
                revocations = consumer.revocations();
                let released = batches.release_revoked(&consumer);
                if released > 0 {
                    metrics.add("records_released", &[("stage", STAGE)], released as u64);
                    tracing::info!(released, "Rows of revoked partitions were left to their next owner.");
                }
            }
            batches.flush(&loader, false).await?;
        }
        // Drain: load what was consumed, then commit.
        batches.flush(&loader, true).await?;
        Ok(())
    }
    .await;
    consumer.closing();
    consumer.commit_sync();
    tracing::info!(
        records_in = metrics.get("records_in", &[("stage", STAGE)]),
        records_out = metrics.get("records_out", &[("stage", STAGE)]),
        dead_lettered = metrics.get("dead_lettered", &[("stage", STAGE)]),
        "The loader stopped."
    );
    result
}

async fn decode_into(loader: &Loader<'_>, origin: &Origin, b: &mut Batches) -> shopstream_core::Result<bool> {
    let t = loader.topics;
    let bytes = &origin.payload;
    let sd = loader.shutdown;
    macro_rules! load {
        ($ty:ty, $batch:expr) => {{
            let Some(e) = worker::decode_until::<$ty>(&loader.codec, bytes, sd).await? else { return Ok(false) };
            $batch.push(e.try_into()?, origin.clone());
        }};
    }
    let topic = origin.topic.as_str();
    if topic == t.products {
        load!(ProductObserved, b.products);
    } else if topic == t.prices {
        load!(PriceObserved, b.prices);
    } else if topic == t.ranks {
        load!(RankObserved, b.ranks);
    } else if topic == t.fetches {
        load!(FetchObserved, b.fetches);
    } else if topic == t.targets {
        load!(TargetRankObserved, b.targets);
    } else if topic == t.tracking {
        load!(TrackingTarget, b.tracking);
    } else if topic == t.orders {
        load!(OrderObserved, b.orders);
    } else if topic == t.reviews {
        load!(ReviewObserved, b.reviews);
    } else if topic == t.inquiries {
        load!(InquiryObserved, b.inquiries);
    } else if topic == t.settlements {
        load!(SettlementObserved, b.settlements);
    } else if topic == t.runs {
        let Some(e) = worker::decode_until::<RunEvent>(&loader.codec, bytes, sd).await? else { return Ok(false) };
        // A run's life goes to run_events; its summary is the run's row in `runs`.
        if e.kind == "summary" {
            b.summaries.push(e.try_into()?, origin.clone());
        } else {
            b.runs.push(e.try_into()?, origin.clone());
        }
    } else {
        return Err(shopstream_core::Error::Config(format!("no table for topic {}", origin.topic)));
    }
    Ok(true)
}
