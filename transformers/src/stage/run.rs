//! The transform stage's run loop.

use std::collections::HashMap;
use std::sync::Arc;

use shopstream_core::dlq::{Failure, Origin};
use shopstream_core::kafka::{Producer, TrackedConsumer};
use shopstream_core::metrics::Metrics;
use shopstream_core::worker::{self, DeadLetters, Outcome, PublishError};
use shopstream_core::{Codec, Endpoints, ErrorClass, Topics};
use shopstream_parse::PageContext;
use shopstream_schemas::RawPage;
use tokio_util::sync::CancellationToken;

use super::config::{TransformConfig, TransformSource};
use super::events::{self, list_key, product_key, RawPosition};
use super::seller::{self, seller_key};

const STAGE: &str = "transform";

struct Ctx {
    sources: HashMap<String, Arc<TransformSource>>,
    producer: Producer,
    codec: Codec,
    topics: Topics,
    max_body_bytes: usize,
    shutdown: CancellationToken,
}

fn failure(class: ErrorClass, reason: String, source: Option<&str>, parser: Option<&str>) -> Failure {
    Failure { stage: STAGE, reason, class, source: source.map(str::to_string), parser: parser.map(str::to_string) }
}

/// Run the transform stage until `shutdown`.
pub async fn run(
    cfg: TransformConfig,
    endpoints: &Endpoints,
    topics: &Topics,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if let Err(problems) = cfg.validate() {
        anyhow::bail!("invalid transform configuration:\n  {}", problems.join("\n  "));
    }
    let producer = Producer::new(&endpoints.kafka_brokers)?;
    let codec = Codec::new(&endpoints.schema_registry_url).reporting_to(&metrics);
    let consumer = Arc::new(match cfg.replay.clone() {
        Some(range) => TrackedConsumer::for_range(&endpoints.kafka_brokers, &cfg.group, range)?,
        None => TrackedConsumer::new(&endpoints.kafka_brokers, &cfg.group, &topics.raw_topics())?,
    });
    let dead_letters =
        DeadLetters { producer: producer.clone(), codec: codec.clone(), topic: topics.dlq_transform.clone() };
    let ctx = Arc::new(Ctx {
        sources: cfg.sources.iter().map(|(k, v)| (k.clone(), Arc::new(v.clone()))).collect(),
        producer,
        codec,
        topics: topics.clone(),
        max_body_bytes: cfg.max_body_bytes,
        shutdown: shutdown.clone(),
    });
    tracing::info!(group = %cfg.group, sources = ctx.sources.len(), "The transformer is running.");
    worker::consume(STAGE, consumer, cfg.concurrency, dead_letters, metrics, shutdown, move |origin| {
        let ctx = ctx.clone();
        async move { process(&ctx, origin).await }
    })
    .await
}

async fn process(ctx: &Ctx, origin: Origin) -> Outcome {
    if shopstream_core::failpoint("transform.panic") {
        panic!("failpoint transform.panic: a bug in the transform stage");
    }
    let raw: RawPage = match worker::decode_until(&ctx.codec, &origin.payload, &ctx.shutdown).await {
        Ok(Some(r)) => r,
        Ok(None) => return Outcome::Interrupted,
        Err(e) => return Outcome::Failed(failure(e.class(), format!("not a raw page: {e}"), None, None)),
    };
    let Some(source) = ctx.sources.get(&raw.source).cloned() else {
        return Outcome::Failed(failure(
            ErrorClass::Config,
            format!("no parser is configured for source {:?}", raw.source),
            Some(&raw.source),
            None,
        ));
    };
    let parser_name = source.parser.name();
    let seller_mapper = match seller::mapper_of(&raw) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed(failure(ErrorClass::Config, e, Some(&raw.source), None)),
    };
    let body = match events::body(&raw, ctx.max_body_bytes) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(failure(ErrorClass::BadData, e, Some(&raw.source), Some(parser_name))),
    };
    if let Some((mapper, account)) = seller_mapper {
        return process_seller(ctx, &origin, raw, body, mapper, account, source.default_currency.clone()).await;
    }
    // Parsing is CPU work: off the async executor.
    let (raw, parsed) = {
        let source = source.clone();
        match tokio::task::spawn_blocking(move || {
            let ctx = PageContext {
                url: &raw.final_url,
                content_type: raw.content_type.as_deref(),
                default_currency: source.default_currency.as_deref(),
            };
            let parsed = shopstream_parse::parse(&source.parser, &body, &ctx);
            (raw, parsed)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Failed(failure(
                    ErrorClass::Bug,
                    format!("the parser panicked: {e}"),
                    None,
                    Some(parser_name),
                ))
            }
        }
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            return Outcome::Failed(failure(
                ErrorClass::BadData,
                format!("{e} ({})", raw.final_url),
                Some(&raw.source),
                Some(parser_name),
            ))
        }
    };
    let at = RawPosition { topic: &origin.topic, partition: origin.partition, offset: origin.offset };
    let evs = match events::build(&raw, at, &source.parser, parsed) {
        Ok(e) => e,
        Err(e) => return Outcome::Failed(failure(ErrorClass::BadData, e, Some(&raw.source), Some(parser_name))),
    };
    let mut out = Vec::with_capacity(evs.len());
    let t = &ctx.topics;
    let encode_err = |e: shopstream_core::Error| {
        Outcome::Failed(failure(
            e.class(),
            format!("cannot encode an event: {e}"),
            Some(&raw.source),
            Some(parser_name),
        ))
    };
    macro_rules! encode {
        ($topic:expr, $event:expr) => {
            match worker::encode_until(&ctx.codec, $topic, $event, &ctx.shutdown).await {
                Ok(Some(b)) => b,
                // Shutdown during a registry outage: the record stays for the next owner.
                Ok(None) => return Outcome::Interrupted,
                Err(err) => return encode_err(err),
            }
        };
    }
    for e in &evs.products {
        out.push((t.products.clone(), product_key(&raw.source, &e.product_id), encode!(&t.products, e)));
    }
    for e in &evs.prices {
        out.push((t.prices.clone(), product_key(&raw.source, &e.product_id), encode!(&t.prices, e)));
    }
    for e in &evs.ranks {
        out.push((t.ranks.clone(), list_key(&raw.source, &e.list_id), encode!(&t.ranks, e)));
    }
    for e in &evs.targets {
        out.push((t.targets.clone(), e.target_id.clone().into_bytes(), encode!(&t.targets, e)));
    }
    match worker::publish_all(&ctx.producer, &out, &ctx.shutdown).await {
        Ok(()) => {}
        Err(PublishError::Interrupted) => return Outcome::Interrupted,
        Err(PublishError::Rejected(reason)) => {
            return Outcome::Failed(failure(ErrorClass::BadData, reason, Some(&raw.source), Some(parser_name)))
        }
    }
    if evs.is_empty() {
        Outcome::Done("no_facts")
    } else {
        Outcome::Done("parsed")
    }
}

/// A seller-API payload: the mapper the record names reads it; its events go to the seller topics.
async fn process_seller(
    ctx: &Ctx,
    origin: &Origin,
    raw: RawPage,
    body: Vec<u8>,
    mapper: shopstream_parse::seller::SellerMapper,
    account: String,
    default_currency: Option<String>,
) -> Outcome {
    let name = mapper.name();
    let parsed = tokio::task::spawn_blocking(move || {
        let ctx = shopstream_parse::seller::SellerContext { default_currency: default_currency.as_deref() };
        shopstream_parse::seller::parse_seller(mapper, &body, &ctx)
    })
    .await;
    let parsed = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            return Outcome::Failed(failure(
                ErrorClass::BadData,
                format!("{e} ({})", raw.url),
                Some(&raw.source),
                Some(name),
            ))
        }
        Err(e) => {
            return Outcome::Failed(failure(ErrorClass::Bug, format!("the mapper panicked: {e}"), None, Some(name)))
        }
    };
    let at = RawPosition { topic: &origin.topic, partition: origin.partition, offset: origin.offset };
    let evs = seller::build(&raw, at, mapper, &account, parsed);
    let t = &ctx.topics;
    let mut out = Vec::with_capacity(evs.len());
    macro_rules! encode {
        ($topic:expr, $event:expr) => {
            match worker::encode_until(&ctx.codec, $topic, $event, &ctx.shutdown).await {
                Ok(Some(b)) => b,
                Ok(None) => return Outcome::Interrupted,
                Err(err) => {
                    return Outcome::Failed(failure(
                        err.class(),
                        format!("cannot encode an event: {err}"),
                        Some(&raw.source),
                        Some(name),
                    ))
                }
            }
        };
    }
    for e in &evs.orders {
        out.push((t.orders.clone(), seller_key(&raw.source, &account, &e.order_id), encode!(&t.orders, e)));
    }
    for e in &evs.reviews {
        out.push((t.reviews.clone(), seller_key(&raw.source, &account, &e.review_id), encode!(&t.reviews, e)));
    }
    for e in &evs.inquiries {
        out.push((t.inquiries.clone(), seller_key(&raw.source, &account, &e.inquiry_id), encode!(&t.inquiries, e)));
    }
    for e in &evs.settlements {
        let key = seller_key(&raw.source, &account, &e.settlement_id);
        out.push((t.settlements.clone(), key, encode!(&t.settlements, e)));
    }
    match worker::publish_all(&ctx.producer, &out, &ctx.shutdown).await {
        Ok(()) => {}
        Err(PublishError::Interrupted) => return Outcome::Interrupted,
        Err(PublishError::Rejected(reason)) => {
            return Outcome::Failed(failure(ErrorClass::BadData, reason, Some(&raw.source), Some(name)))
        }
    }
    if evs.is_empty() {
        Outcome::Done("no_facts")
    } else {
        Outcome::Done("parsed")
    }
}
