//! The event contracts of shopstream.
//!
//! `schemas/*.avsc` are the source of truth; this crate embeds them and defines the Rust types that
//! serialize to exactly those records (a unit test checks every type against its schema). Stages
//! encode and decode these types in the Confluent wire format through a Schema Registry.

use std::collections::BTreeMap;

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

/// One event contract: its Avro schema text and the record name it defines.
pub trait Contract: Serialize + for<'de> Deserialize<'de> {
    /// The `.avsc` text, exactly as in `schemas/`.
    const SCHEMA: &'static str;
    /// The record's full name.
    const NAME: &'static str;

    /// The parsed schema. The texts are fixed at build time and tested, so parsing cannot fail at run time
    /// unless the embedded file is broken, which the unit tests catch.
    fn schema() -> Result<Schema, apache_avro::Error> {
        Schema::parse_str(Self::SCHEMA)
    }
}

macro_rules! contract {
    ($ty:ident, $file:literal, $name:literal) => {
        impl Contract for $ty {
            const SCHEMA: &'static str = include_str!(concat!("../", $file));
            const NAME: &'static str = $name;
        }
    };
}

/// Ask the extract stage to fetch one URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrawlRequest {
    pub crawl_id: String,
    pub source: String,
    pub url: String,
    pub kind: String,
    pub depth: i32,
    pub priority: String,
    pub requested_at: i64,
    pub referrer: Option<String>,
    /// What the request is for (a tracked target's run, …); copied to the raw record.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}
contract!(CrawlRequest, "crawl_request.avsc", "io.shopstream.v1.CrawlRequest");

/// The bytes fetched for one URL and the HTTP facts around them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawPage {
    pub fetch_id: String,
    pub crawl_id: String,
    pub source: String,
    pub url: String,
    pub final_url: String,
    pub kind: String,
    pub depth: i32,
    pub fetched_at: i64,
    pub status: i32,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub latency_ms: i64,
    /// `zstd` or `identity`.
    pub body_encoding: String,
    pub body_size: i64,
    pub body_sha256: String,
    #[serde(with = "apache_avro::serde::bytes")]
    pub body: Vec<u8>,
    /// The crawl request's attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}
contract!(RawPage, "raw_page.avsc", "io.shopstream.v1.RawPage");

/// The outcome of one fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchObserved {
    pub fetch_id: String,
    pub crawl_id: String,
    pub source: String,
    pub url: String,
    pub host: String,
    pub fetched_at: i64,
    pub status: i32,
    pub latency_ms: i64,
    pub bytes: i64,
    pub attempts: i32,
    pub outcome: String,
    pub error: Option<String>,
    /// Crawl requests this fetch enqueued.
    #[serde(default)]
    pub discovered: i32,
}
contract!(FetchObserved, "fetch_observed.avsc", "io.shopstream.v1.FetchObserved");

/// Where an event came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub fetch_id: String,
    pub crawl_id: String,
    pub source: String,
    pub url: String,
    pub fetched_at: i64,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub parser: String,
    pub parser_version: String,
}

/// Descriptive attributes of a product as seen on one fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub product_id: String,
    pub url: String,
    pub title: String,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub upc: Option<String>,
    pub rating: Option<f64>,
    pub rating_count: Option<i64>,
    pub rating_scale: Option<f64>,
    pub in_stock: Option<bool>,
    pub stock: Option<i64>,
    pub image_url: Option<String>,
    /// How the title was read (`json-ld`, `heuristic:h1` …).
    #[serde(default)]
    pub extraction_method: Option<String>,
    /// 0..1: the parser's confidence in the title.
    #[serde(default)]
    pub extraction_confidence: Option<f64>,
    /// The charset the page was decoded with, and how it was chosen.
    #[serde(default)]
    pub charset: Option<String>,
}
contract!(ProductObserved, "product_observed.avsc", "io.shopstream.v1.ProductObserved");

/// The selling price of a product seen on one fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub product_id: String,
    pub amount: String,
    pub currency: String,
    pub price_minor: i64,
    pub list_price_minor: Option<i64>,
    pub raw: String,
    /// How the price was read.
    #[serde(default)]
    pub extraction_method: Option<String>,
    /// 0..1: the parser's confidence in the price.
    #[serde(default)]
    pub extraction_confidence: Option<f64>,
}
contract!(PriceObserved, "price_observed.avsc", "io.shopstream.v1.PriceObserved");

/// A product's position in a list seen on one fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub list_id: String,
    pub list_kind: String,
    pub keyword: Option<String>,
    pub product_id: String,
    pub product_url: String,
    pub position: i32,
    pub page: i32,
    pub page_size: i32,
}
contract!(RankObserved, "rank_observed.avsc", "io.shopstream.v1.RankObserved");

/// One page of a tracked target's rank crawl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRankObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub target_id: String,
    pub run_id: String,
    pub observed_at: i64,
    pub run_day: String,
    pub page: i32,
    pub pages: i32,
    pub position: Option<i32>,
    pub product_id: Option<String>,
    pub list_id: String,
}
contract!(TargetRankObserved, "target_rank_observed.avsc", "io.shopstream.v1.TargetRankObserved");

/// A tracked rank target's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingTarget {
    pub target_id: String,
    pub source: String,
    pub keyword: Option<String>,
    pub list_url: Option<String>,
    pub product: String,
    pub tier: String,
    pub status: String,
    pub timezone: String,
    pub pages: Option<i32>,
    pub updated_at: i64,
}
contract!(TrackingTarget, "tracking_target.avsc", "io.shopstream.v1.TrackingTarget");

/// A run's life (a schedule fire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub run_id: String,
    pub kind: String,
    pub schedule: Option<String>,
    pub source: String,
    pub what: String,
    pub scheduled_at: i64,
    pub at: i64,
    pub requests: i64,
    pub targets: i64,
    #[serde(default)]
    pub group: i32,
    #[serde(default = "one")]
    pub groups: i32,
    #[serde(default)]
    pub catch_up: bool,
    pub scheduler: String,
    #[serde(default)]
    pub timeout_ms: i64,
    #[serde(default)]
    pub retries: i32,
    #[serde(default)]
    pub retry_delay_ms: i64,
    /// The counts below are a summary's (kind `summary`); zero on the other kinds.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub ok: i64,
    #[serde(default)]
    pub not_modified: i64,
    #[serde(default)]
    pub failed: i64,
    #[serde(default)]
    pub dead_lettered: i64,
    #[serde(default)]
    pub retried: i64,
    #[serde(default)]
    pub rows: i64,
    #[serde(default)]
    pub elapsed_ms: i64,
    #[serde(default)]
    pub failures: Vec<RunFailure>,
}
fn one() -> i32 {
    1
}

/// A failed request of a run, in its summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    pub url: String,
    pub reason: String,
    #[serde(default)]
    pub targets: Vec<String>,
}

impl RunEvent {
    /// An event of `kind` for a run, with every summary field empty.
    pub fn new(run_id: &str, kind: &str, source: &str, what: &str, scheduled_at: i64, at: i64) -> RunEvent {
        RunEvent {
            run_id: run_id.to_string(),
            kind: kind.to_string(),
            schedule: None,
            source: source.to_string(),
            what: what.to_string(),
            scheduled_at,
            at,
            requests: 0,
            targets: 0,
            group: 0,
            groups: 1,
            catch_up: false,
            scheduler: String::new(),
            timeout_ms: 0,
            retries: 0,
            retry_delay_ms: 0,
            status: None,
            total: 0,
            ok: 0,
            not_modified: 0,
            failed: 0,
            dead_lettered: 0,
            retried: 0,
            rows: 0,
            elapsed_ms: 0,
            failures: Vec::new(),
        }
    }
}
contract!(RunEvent, "run_event.avsc", "io.shopstream.v1.RunEvent");

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_id: String,
    pub product_id: Option<String>,
    pub option_id: Option<String>,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: Option<i64>,
    pub total_minor: Option<i64>,
    pub status: Option<String>,
}

/// An order as a marketplace reported it at one moment (seller-side API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub account: String,
    pub order_id: String,
    pub status: String,
    pub raw_status: String,
    pub currency: Option<String>,
    pub total_minor: Option<i64>,
    pub ordered_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub changed_at: i64,
    pub buyer_ref: Option<String>,
    pub mapper: String,
    pub lines: Vec<OrderLine>,
}
contract!(OrderObserved, "order_observed.avsc", "io.shopstream.v1.OrderObserved");

/// One product review (seller-side API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub account: String,
    pub review_id: String,
    pub product_id: Option<String>,
    pub rating: f64,
    pub rating_raw: f64,
    pub rating_scale: f64,
    pub text: String,
    pub author_ref: Option<String>,
    pub created_at: i64,
    pub mapper: String,
}
contract!(ReviewObserved, "review_observed.avsc", "io.shopstream.v1.ReviewObserved");

/// One customer inquiry and its answer (seller-side API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InquiryObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub account: String,
    pub inquiry_id: String,
    pub product_id: Option<String>,
    pub order_id: Option<String>,
    pub question: String,
    pub answer: Option<String>,
    pub status: String,
    pub asked_at: i64,
    pub answered_at: Option<i64>,
    pub mapper: String,
}
contract!(InquiryObserved, "inquiry_observed.avsc", "io.shopstream.v1.InquiryObserved");

/// One settlement (payout) period (seller-side API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementObserved {
    pub event_id: String,
    pub provenance: Provenance,
    pub account: String,
    pub settlement_id: String,
    pub period_start: i64,
    pub period_end: i64,
    pub currency: String,
    pub gross_minor: i64,
    pub fees_minor: i64,
    pub net_minor: i64,
    pub status: Option<String>,
    pub mapper: String,
}
contract!(SettlementObserved, "settlement_observed.avsc", "io.shopstream.v1.SettlementObserved");

/// A record a stage could not process, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub stage: String,
    pub reason: String,
    pub error_kind: String,
    pub source: Option<String>,
    pub parser: Option<String>,
    pub origin_topic: String,
    pub origin_partition: i32,
    pub origin_offset: i64,
    #[serde(with = "apache_avro::serde::bytes_opt")]
    pub key: Option<Vec<u8>>,
    #[serde(with = "apache_avro::serde::bytes")]
    pub payload: Vec<u8>,
    pub failed_at: i64,
}
contract!(DeadLetter, "dead_letter.avsc", "io.shopstream.v1.DeadLetter");

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::writer::datum::GenericDatumWriter;
    use apache_avro::{from_value, to_value};

    fn provenance() -> Provenance {
        Provenance {
            fetch_id: "f1".into(),
            crawl_id: "c1".into(),
            source: "books".into(),
            url: "http://x/".into(),
            fetched_at: 1_700_000_000_123,
            raw_topic: "raw.pages".into(),
            raw_partition: 2,
            raw_offset: 42,
            parser: "books_toscrape".into(),
            parser_version: "1".into(),
        }
    }

    /// Encodes with the embedded schema, decodes, and checks the value survived unchanged and that the
    /// record name matches.
    fn round_trip<T: Contract + PartialEq + std::fmt::Debug>(item: T) {
        let schema = T::schema().expect("schema parses");
        assert_eq!(schema.name().map(|n| n.fullname(None)), Some(T::NAME.to_string()));
        let value = to_value(&item).expect("to value").resolve(&schema).expect("resolves against schema");
        let bytes =
            GenericDatumWriter::builder(&schema).build().expect("writer").write_value_to_vec(value).expect("encodes");
        let back = GenericDatumReader::builder(&schema)
            .build()
            .expect("reader")
            .read_value(&mut bytes.as_slice())
            .expect("decodes");
        let back: T = from_value(&back).expect("from value");
        assert_eq!(back, item);
    }

    #[test]
    fn every_contract_round_trips_through_its_schema() {
        round_trip(CrawlRequest {
            crawl_id: "c".into(),
            source: "books".into(),
            url: "http://x/".into(),
            kind: "seed".into(),
            depth: 0,
            priority: "normal".into(),
            requested_at: 1,
            referrer: Some("http://y/".into()),
            attributes: BTreeMap::from([("target_id".into(), "t1".into())]),
        });
        round_trip(RawPage {
            fetch_id: "f".into(),
            crawl_id: "c".into(),
            source: "books".into(),
            url: "http://x/".into(),
            final_url: "http://x/".into(),
            kind: "seed".into(),
            depth: 0,
            fetched_at: 5,
            status: 200,
            content_type: Some("text/html".into()),
            etag: None,
            last_modified: None,
            latency_ms: 3,
            body_encoding: "identity".into(),
            body_size: 3,
            body_sha256: "00".into(),
            body: vec![0, 1, 255],
            attributes: BTreeMap::new(),
        });
        round_trip(TargetRankObserved {
            event_id: "e".into(),
            provenance: provenance(),
            target_id: "t".into(),
            run_id: "r".into(),
            observed_at: 1_700_000_000_000,
            run_day: "2023-11-15".into(),
            page: 2,
            pages: 5,
            position: Some(47),
            product_id: Some("p".into()),
            list_id: "naver-shopping:x".into(),
        });
        round_trip(TrackingTarget {
            target_id: "t".into(),
            source: "naver".into(),
            keyword: Some("반팔".into()),
            list_url: None,
            product: "8812".into(),
            tier: "normal".into(),
            status: "active".into(),
            timezone: "Asia/Seoul".into(),
            pages: Some(5),
            updated_at: 1,
        });
        round_trip(RunEvent {
            run_id: "r".into(),
            kind: "fired".into(),
            schedule: Some("daily".into()),
            source: "naver".into(),
            what: "targets".into(),
            scheduled_at: 1,
            at: 2,
            requests: 10,
            targets: 2,
            group: 1,
            groups: 3,
            catch_up: false,
            scheduler: "host-1".into(),
            ..RunEvent::new("r", "fired", "naver", "targets", 1, 2)
        });
        round_trip(RunEvent {
            status: Some("partial".into()),
            total: 3,
            ok: 2,
            failed: 1,
            failures: vec![RunFailure { url: "u".into(), reason: "503".into(), targets: vec!["t-1".into()] }],
            ..RunEvent::new("r", "summary", "naver", "targets", 1, 2)
        });
        round_trip(FetchObserved {
            fetch_id: "f".into(),
            crawl_id: "c".into(),
            source: "s".into(),
            url: "u".into(),
            host: "h".into(),
            fetched_at: 1,
            status: 404,
            latency_ms: 2,
            bytes: 0,
            attempts: 1,
            outcome: "http_error".into(),
            error: Some("Not Found".into()),
            discovered: 0,
        });
        round_trip(ProductObserved {
            event_id: "e".into(),
            provenance: provenance(),
            product_id: "p".into(),
            url: "u".into(),
            title: "t".into(),
            brand: None,
            category: Some("Poetry".into()),
            upc: Some("a897fe39b1053632".into()),
            rating: Some(3.0),
            rating_count: None,
            rating_scale: Some(5.0),
            in_stock: Some(true),
            stock: Some(22),
            image_url: None,
            extraction_method: Some("heuristic:h1".into()),
            extraction_confidence: Some(0.8),
            charset: Some("EUC-KR (content-type)".into()),
        });
        round_trip(PriceObserved {
            event_id: "e".into(),
            provenance: provenance(),
            product_id: "p".into(),
            amount: "51.77".into(),
            currency: "GBP".into(),
            price_minor: 5177,
            list_price_minor: None,
            raw: "£51.77".into(),
            extraction_method: Some("json-ld".into()),
            extraction_confidence: None,
        });
        round_trip(RankObserved {
            event_id: "e".into(),
            provenance: provenance(),
            list_id: "all-products".into(),
            list_kind: "listing".into(),
            keyword: None,
            product_id: "p".into(),
            product_url: "u".into(),
            position: 21,
            page: 2,
            page_size: 20,
        });
        round_trip(DeadLetter {
            stage: "transform".into(),
            reason: "no title".into(),
            error_kind: "bad_data".into(),
            source: Some("books".into()),
            parser: None,
            origin_topic: "raw.pages".into(),
            origin_partition: 0,
            origin_offset: 7,
            key: Some(b"k".to_vec()),
            payload: vec![1, 2, 3],
            failed_at: 9,
        });
    }

    #[test]
    fn every_schema_has_an_example_that_matches_it() {
        // schemas/examples/<name>.json must decode against its schema and into the Rust type.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("examples dir") {
            let path = entry.expect("entry").path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            let text = std::fs::read_to_string(&path).expect("read example");
            let json: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
            match stem.as_str() {
                "crawl_request" => check_example::<CrawlRequest>(json),
                "raw_page" => check_example::<RawPage>(json),
                "fetch_observed" => check_example::<FetchObserved>(json),
                "product_observed" => check_example::<ProductObserved>(json),
                "price_observed" => check_example::<PriceObserved>(json),
                "rank_observed" => check_example::<RankObserved>(json),
                "dead_letter" => check_example::<DeadLetter>(json),
                "target_rank_observed" => check_example::<TargetRankObserved>(json),
                "tracking_target" => check_example::<TrackingTarget>(json),
                "run_event" => check_example::<RunEvent>(json),
                "order_observed" => check_example::<OrderObserved>(json),
                "review_observed" => check_example::<ReviewObserved>(json),
                "inquiry_observed" => check_example::<InquiryObserved>(json),
                "settlement_observed" => check_example::<SettlementObserved>(json),
                other => panic!("example {other} has no contract"),
            }
            seen += 1;
        }
        assert_eq!(seen, 14, "one example per schema");
    }

    fn check_example<T: Contract + PartialEq + std::fmt::Debug>(json: serde_json::Value) {
        let item: T = serde_json::from_value(json).expect("example matches the Rust type");
        round_trip(item);
    }
}
