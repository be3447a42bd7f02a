//! Table rows and their mapping from events (one event, one row).
//!
//! A value a column cannot hold (a negative time, a position below 1) is an error, so the record is
//! dead-lettered with the reason rather than stored clamped.

use clickhouse::Row;
use serde::Serialize;
use shopstream_core::Error;
use shopstream_schemas::{FetchObserved, PriceObserved, ProductObserved, Provenance, RankObserved};

fn bad(field: &str, value: i64, expected: &str) -> Error {
    Error::Decode(format!("{field} = {value} is out of range ({expected})"))
}

/// Epoch milliseconds → a ClickHouse `DateTime` (seconds, 1970–2106).
fn secs(field: &str, ms: i64) -> Result<u32, Error> {
    u32::try_from(ms / 1000).ok().filter(|_| ms >= 0).ok_or_else(|| bad(field, ms, "epoch milliseconds, 1970-2106"))
}

/// The ReplacingMergeTree version: the fetch time in milliseconds (the latest fetch wins).
fn version(ms: i64) -> Result<u64, Error> {
    u64::try_from(ms).map_err(|_| bad("fetched_at", ms, "epoch milliseconds"))
}

/// A 1-based count (position, page) or, with `min` 0, a size.
fn count(field: &str, value: i64, min: u32) -> Result<u32, Error> {
    u32::try_from(value).ok().filter(|v| *v >= min).ok_or_else(|| bad(field, value, &format!("{min} to {}", u32::MAX)))
}

#[derive(Debug, Clone, Row, Serialize)]
pub struct ProductRow {
    pub source: String,
    pub product_id: String,
    pub url: String,
    pub title: String,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub upc: Option<String>,
    pub rating: Option<f64>,
    pub rating_count: Option<i64>,
    pub rating_scale: Option<f64>,
    pub in_stock: Option<u8>,
    pub stock: Option<i64>,
    pub image_url: Option<String>,
    pub observed_at: u32,
    pub fetch_id: String,
    pub crawl_id: String,
    pub event_id: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub parser: String,
    pub parser_version: String,
    pub version: u64,
}

impl TryFrom<ProductObserved> for ProductRow {
    type Error = Error;

    fn try_from(e: ProductObserved) -> Result<Self, Error> {
        let Provenance {
            fetch_id,
            crawl_id,
            source,
            fetched_at,
            raw_topic,
            raw_partition,
            raw_offset,
            parser,
            parser_version,
            ..
        } = e.provenance;
        Ok(ProductRow {
            source,
            product_id: e.product_id,
            url: e.url,
            title: e.title,
            brand: e.brand,
            category: e.category,
            upc: e.upc,
            rating: e.rating,
            rating_count: e.rating_count,
            rating_scale: e.rating_scale,
            in_stock: e.in_stock.map(u8::from),
            stock: e.stock,
            image_url: e.image_url,
            observed_at: secs("fetched_at", fetched_at)?,
            fetch_id,
            crawl_id,
            event_id: e.event_id,
            raw_topic,
            raw_partition,
            raw_offset,
            parser,
            parser_version,
            version: version(fetched_at)?,
        })
    }
}

#[derive(Debug, Clone, Row, Serialize)]
pub struct PriceRow {
    pub source: String,
    pub product_id: String,
    pub crawl_id: String,
    pub observed_at: u32,
    pub price_minor: i64,
    pub currency: String,
    pub amount: String,
    pub list_price_minor: Option<i64>,
    pub raw: String,
    pub url: String,
    pub fetch_id: String,
    pub event_id: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub parser: String,
    pub parser_version: String,
    pub version: u64,
}

impl TryFrom<PriceObserved> for PriceRow {
    type Error = Error;

    fn try_from(e: PriceObserved) -> Result<Self, Error> {
        let p = e.provenance;
        Ok(PriceRow {
            source: p.source,
            product_id: e.product_id,
            crawl_id: p.crawl_id,
            observed_at: secs("fetched_at", p.fetched_at)?,
            price_minor: e.price_minor,
            currency: e.currency,
            amount: e.amount,
            list_price_minor: e.list_price_minor,
            raw: e.raw,
            url: p.url,
            fetch_id: p.fetch_id,
            event_id: e.event_id,
            raw_topic: p.raw_topic,
            raw_partition: p.raw_partition,
            raw_offset: p.raw_offset,
            parser: p.parser,
            parser_version: p.parser_version,
            version: version(p.fetched_at)?,
        })
    }
}

#[derive(Debug, Clone, Row, Serialize)]
pub struct RankRow {
    pub source: String,
    pub list_id: String,
    pub product_id: String,
    pub crawl_id: String,
    pub observed_at: u32,
    pub list_kind: String,
    pub keyword: Option<String>,
    pub position: u32,
    pub page: u32,
    pub page_size: u32,
    pub product_url: String,
    pub url: String,
    pub fetch_id: String,
    pub event_id: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub parser: String,
    pub parser_version: String,
    pub version: u64,
}

impl TryFrom<RankObserved> for RankRow {
    type Error = Error;

    fn try_from(e: RankObserved) -> Result<Self, Error> {
        let p = e.provenance;
        Ok(RankRow {
            source: p.source,
            list_id: e.list_id,
            product_id: e.product_id,
            crawl_id: p.crawl_id,
            observed_at: secs("fetched_at", p.fetched_at)?,
            list_kind: e.list_kind,
            keyword: e.keyword,
            position: count("position", e.position.into(), 1)?,
            page: count("page", e.page.into(), 1)?,
            page_size: count("page_size", e.page_size.into(), 0)?,
            product_url: e.product_url,
            url: p.url,
            fetch_id: p.fetch_id,
            event_id: e.event_id,
            raw_topic: p.raw_topic,
            raw_partition: p.raw_partition,
            raw_offset: p.raw_offset,
            parser: p.parser,
            parser_version: p.parser_version,
            version: version(p.fetched_at)?,
        })
    }
}

#[derive(Debug, Clone, Row, Serialize)]
pub struct FetchRow {
    pub host: String,
    pub fetched_at: u32,
    pub fetch_id: String,
    pub crawl_id: String,
    pub source: String,
    pub url: String,
    pub status: i32,
    pub latency_ms: i64,
    pub bytes: i64,
    pub attempts: i32,
    pub outcome: String,
    pub error: Option<String>,
    pub version: u64,
}

impl TryFrom<FetchObserved> for FetchRow {
    type Error = Error;

    fn try_from(e: FetchObserved) -> Result<Self, Error> {
        Ok(FetchRow {
            host: e.host,
            fetched_at: secs("fetched_at", e.fetched_at)?,
            fetch_id: e.fetch_id,
            crawl_id: e.crawl_id,
            source: e.source,
            url: e.url,
            status: e.status,
            latency_ms: e.latency_ms,
            bytes: e.bytes,
            attempts: e.attempts,
            outcome: e.outcome,
            error: e.error,
            version: version(e.fetched_at)?,
        })
    }
}

/// Rows whose facts feed a merged table: after a batch of them is stored, the loader rewrites the merged
/// rows of their keys (product facts → `products`).
pub trait Merged {
    /// (source, product_id) of a product fact.
    fn merged_key(&self) -> Option<(&str, &str)> {
        None
    }
}

impl Merged for ProductRow {
    fn merged_key(&self) -> Option<(&str, &str)> {
        Some((&self.source, &self.product_id))
    }
}
impl Merged for PriceRow {}
impl Merged for RankRow {}
impl Merged for FetchRow {}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank() -> RankObserved {
        serde_json::from_str(include_str!("../../../schemas/examples/rank_observed.json")).expect("example")
    }

    #[test]
    fn an_event_maps_to_its_row() {
        let row = RankRow::try_from(rank()).expect("row");
        assert_eq!((row.position, row.page, row.page_size), (1, 1, 20));
        assert_eq!((row.observed_at, row.version), (1_795_300_200, 1_795_300_200_123));
    }

    #[test]
    fn values_a_column_cannot_hold_are_errors_not_clamped() {
        let mut e = rank();
        e.position = 0;
        let err = RankRow::try_from(e).expect_err("position 0");
        assert!(err.to_string().contains("position = 0 is out of range"), "{err}");
        assert_eq!(err.class(), shopstream_core::ErrorClass::BadData);
        let mut e = rank();
        e.page = -2;
        assert!(RankRow::try_from(e).expect_err("page").to_string().contains("page = -2"));
        let mut e = rank();
        e.provenance.fetched_at = -1;
        assert!(RankRow::try_from(e).expect_err("time").to_string().contains("fetched_at = -1"));
        let mut e = rank();
        e.provenance.fetched_at = (i64::from(u32::MAX) + 1) * 1000;
        assert!(RankRow::try_from(e).is_err(), "past 2106 does not fit a DateTime");
        let mut e = rank();
        e.page_size = 0;
        assert!(RankRow::try_from(e).is_ok(), "a size may be 0");
    }
}
