//! Table rows and their mapping from events (one event, one row).

use clickhouse::Row;
use serde::Serialize;
use shopstream_schemas::{FetchObserved, PriceObserved, ProductObserved, Provenance, RankObserved};

fn secs(ms: i64) -> u32 {
    u32::try_from(ms.max(0) / 1000).unwrap_or(u32::MAX)
}

fn version(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
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

impl From<ProductObserved> for ProductRow {
    fn from(e: ProductObserved) -> Self {
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
        ProductRow {
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
            observed_at: secs(fetched_at),
            fetch_id,
            crawl_id,
            event_id: e.event_id,
            raw_topic,
            raw_partition,
            raw_offset,
            parser,
            parser_version,
            version: version(fetched_at),
        }
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

impl From<PriceObserved> for PriceRow {
    fn from(e: PriceObserved) -> Self {
        let p = e.provenance;
        PriceRow {
            source: p.source,
            product_id: e.product_id,
            crawl_id: p.crawl_id,
            observed_at: secs(p.fetched_at),
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
            version: version(p.fetched_at),
        }
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

impl From<RankObserved> for RankRow {
    fn from(e: RankObserved) -> Self {
        let p = e.provenance;
        RankRow {
            source: p.source,
            list_id: e.list_id,
            product_id: e.product_id,
            crawl_id: p.crawl_id,
            observed_at: secs(p.fetched_at),
            list_kind: e.list_kind,
            keyword: e.keyword,
            position: u32::try_from(e.position).unwrap_or(0),
            page: u32::try_from(e.page).unwrap_or(0),
            page_size: u32::try_from(e.page_size).unwrap_or(0),
            product_url: e.product_url,
            url: p.url,
            fetch_id: p.fetch_id,
            event_id: e.event_id,
            raw_topic: p.raw_topic,
            raw_partition: p.raw_partition,
            raw_offset: p.raw_offset,
            parser: p.parser,
            parser_version: p.parser_version,
            version: version(p.fetched_at),
        }
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

impl From<FetchObserved> for FetchRow {
    fn from(e: FetchObserved) -> Self {
        FetchRow {
            host: e.host,
            fetched_at: secs(e.fetched_at),
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
            version: version(e.fetched_at),
        }
    }
}
