//! Table rows and their mapping from events (one event, one row).
//!
//! A value a column cannot hold (a negative time, a position below 1) is an error, so the record is
//! dead-lettered with the reason rather than stored clamped.

use clickhouse::Row;
use serde::Serialize;
use shopstream_core::Error;
use shopstream_schemas::{
    FetchObserved, InquiryObserved, OrderObserved, PriceObserved, ProductObserved, Provenance, RankObserved,
    ReviewObserved, RunEvent, SettlementObserved, TargetRankObserved, TrackingTarget,
};

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
    pub discovered: i32,
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
            discovered: e.discovered,
        })
    }
}

/// A `YYYY-MM-DD` day → a ClickHouse `Date` (days since 1970-01-01).
fn day(field: &str, text: &str) -> Result<u16, Error> {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| Error::Decode(format!("{field} = {text:?} is not a YYYY-MM-DD day: {e}")))?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    u16::try_from((d - epoch).num_days())
        .map_err(|_| Error::Decode(format!("{field} = {text:?} is out of range (1970-2149)")))
}

/// One page of a tracked target's rank run. `position` 0: the product is not on this page.
#[derive(Debug, Clone, Row, Serialize)]
pub struct TargetPageRow {
    pub target_id: String,
    pub run_id: String,
    pub observed_at: u32,
    pub run_day: u16,
    pub page: u32,
    pub pages: u32,
    pub position: u32,
    pub product_id: String,
    pub list_id: String,
    pub source: String,
    pub url: String,
    pub fetch_id: String,
    pub fetched_at: u32,
    pub event_id: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub parser: String,
    pub parser_version: String,
    pub version: u64,
}

impl TryFrom<TargetRankObserved> for TargetPageRow {
    type Error = Error;

    fn try_from(e: TargetRankObserved) -> Result<Self, Error> {
        let p = e.provenance;
        Ok(TargetPageRow {
            target_id: e.target_id,
            run_id: e.run_id,
            observed_at: secs("observed_at", e.observed_at)?,
            run_day: day("run_day", &e.run_day)?,
            page: count("page", i64::from(e.page), 1)?,
            pages: count("pages", i64::from(e.pages), 1)?,
            position: match e.position {
                Some(p) => count("position", i64::from(p), 1)?,
                None => 0,
            },
            product_id: e.product_id.unwrap_or_default(),
            list_id: e.list_id,
            source: p.source,
            url: p.url,
            fetch_id: p.fetch_id,
            fetched_at: secs("fetched_at", p.fetched_at)?,
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

/// A tracking target's state.
#[derive(Debug, Clone, Row, Serialize)]
pub struct TargetRow {
    pub target_id: String,
    pub source: String,
    pub keyword: Option<String>,
    pub list_url: Option<String>,
    pub product: String,
    pub tier: String,
    pub status: String,
    pub timezone: String,
    pub pages: Option<i32>,
    pub updated_at: u32,
    pub version: u64,
}

impl TryFrom<TrackingTarget> for TargetRow {
    type Error = Error;

    fn try_from(e: TrackingTarget) -> Result<Self, Error> {
        Ok(TargetRow {
            updated_at: secs("updated_at", e.updated_at)?,
            version: u64::try_from(e.updated_at).map_err(|_| bad("updated_at", e.updated_at, "epoch milliseconds"))?,
            target_id: e.target_id,
            source: e.source,
            keyword: e.keyword,
            list_url: e.list_url,
            product: e.product,
            tier: e.tier,
            status: e.status,
            timezone: e.timezone,
            pages: e.pages,
        })
    }
}

/// A run event (a schedule fire).
#[derive(Debug, Clone, Row, Serialize)]
pub struct RunEventRow {
    pub run_id: String,
    pub kind: String,
    pub schedule: Option<String>,
    pub source: String,
    pub what: String,
    pub scheduled_at: u32,
    pub at: u32,
    pub requests: i64,
    pub targets: i64,
    pub stagger_group: i32,
    pub stagger_groups: i32,
    pub catch_up: u8,
    pub scheduler: String,
    pub version: u64,
}

impl TryFrom<RunEvent> for RunEventRow {
    type Error = Error;

    fn try_from(e: RunEvent) -> Result<Self, Error> {
        Ok(RunEventRow {
            scheduled_at: secs("scheduled_at", e.scheduled_at)?,
            at: secs("at", e.at)?,
            version: u64::try_from(e.at).map_err(|_| bad("at", e.at, "epoch milliseconds"))?,
            run_id: e.run_id,
            kind: e.kind,
            schedule: e.schedule,
            source: e.source,
            what: e.what,
            requests: e.requests,
            targets: e.targets,
            stagger_group: e.group,
            stagger_groups: e.groups,
            catch_up: u8::from(e.catch_up),
            scheduler: e.scheduler,
        })
    }
}

/// A run's summary (a `RunEvent` of kind `summary`).
#[derive(Debug, Clone, Row, Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub schedule: Option<String>,
    pub source: String,
    pub what: String,
    pub status: String,
    pub scheduled_at: u32,
    pub started_at: u32,
    pub settled_at: u32,
    pub elapsed_ms: i64,
    pub requests: i64,
    pub targets: i64,
    pub total: i64,
    pub ok: i64,
    pub not_modified: i64,
    pub failed: i64,
    pub dead_lettered: i64,
    pub retried: i64,
    pub rows: i64,
    pub failed_urls: Vec<String>,
    pub failed_reasons: Vec<String>,
    pub failed_targets: Vec<String>,
    pub watcher: String,
    pub version: u64,
}

impl TryFrom<RunEvent> for RunRow {
    type Error = Error;

    fn try_from(e: RunEvent) -> Result<Self, Error> {
        if e.kind != "summary" {
            return Err(Error::Decode(format!("run event kind {:?} is not a summary", e.kind)));
        }
        let status = e.status.ok_or_else(|| Error::Decode(format!("the summary of run {} has no status", e.run_id)))?;
        Ok(RunRow {
            scheduled_at: secs("scheduled_at", e.scheduled_at)?,
            started_at: secs("at - elapsed_ms", e.at - e.elapsed_ms)?,
            settled_at: secs("at", e.at)?,
            version: u64::try_from(e.at).map_err(|_| bad("at", e.at, "epoch milliseconds"))?,
            failed_urls: e.failures.iter().map(|f| f.url.clone()).collect(),
            failed_reasons: e.failures.iter().map(|f| f.reason.clone()).collect(),
            failed_targets: e.failures.iter().map(|f| f.targets.join(",")).collect(),
            run_id: e.run_id,
            schedule: e.schedule,
            source: e.source,
            what: e.what,
            status,
            elapsed_ms: e.elapsed_ms,
            requests: e.requests,
            targets: e.targets,
            total: e.total,
            ok: e.ok,
            not_modified: e.not_modified,
            failed: e.failed,
            dead_lettered: e.dead_lettered,
            retried: e.retried,
            rows: e.rows,
            watcher: e.scheduler,
        })
    }
}

/// The provenance columns every seller-API row carries, after its own columns.
pub struct SellerProvenance {
    pub observed_at: u32,
    pub crawl_id: String,
    pub fetch_id: String,
    pub event_id: String,
    pub url: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub parser: String,
    pub parser_version: String,
    pub version: u64,
}

fn seller_provenance(p: Provenance, event_id: String) -> Result<SellerProvenance, Error> {
    Ok(SellerProvenance {
        observed_at: secs("fetched_at", p.fetched_at)?,
        version: version(p.fetched_at)?,
        crawl_id: p.crawl_id,
        fetch_id: p.fetch_id,
        event_id,
        url: p.url,
        raw_topic: p.raw_topic,
        raw_partition: p.raw_partition,
        raw_offset: p.raw_offset,
        parser: p.parser,
        parser_version: p.parser_version,
    })
}

fn opt_secs(field: &str, ms: Option<i64>) -> Result<Option<u32>, Error> {
    ms.map(|v| secs(field, v)).transpose()
}

/// A seller-API row: its own columns, then the provenance columns (RowBinary has no nested rows).
macro_rules! seller_row {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Row, Serialize)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            pub observed_at: u32,
            pub crawl_id: String,
            pub fetch_id: String,
            pub event_id: String,
            pub url: String,
            pub raw_topic: String,
            pub raw_partition: i32,
            pub raw_offset: i64,
            pub parser: String,
            pub parser_version: String,
            pub version: u64,
        }

        impl $name {
            fn observed(&self) -> u32 {
                self.observed_at
            }
        }
    };
}

/// Build a seller-API row from its own fields and its provenance.
macro_rules! with_provenance {
    ($name:ident, $pv:expr, { $($f:ident : $v:expr),* $(,)? }) => {{
        let pv: SellerProvenance = $pv;
        $name {
            $($f: $v,)*
            observed_at: pv.observed_at,
            crawl_id: pv.crawl_id,
            fetch_id: pv.fetch_id,
            event_id: pv.event_id,
            url: pv.url,
            raw_topic: pv.raw_topic,
            raw_partition: pv.raw_partition,
            raw_offset: pv.raw_offset,
            parser: pv.parser,
            parser_version: pv.parser_version,
            version: pv.version,
        }
    }};
}

seller_row! {
    /// One observation of an order: its status at `changed_at`, and its lines as parallel arrays.
    OrderRow {
        source: String,
        account: String,
        order_id: String,
        changed_at: u32,
        status: String,
        raw_status: String,
        currency: Option<String>,
        total_minor: Option<i64>,
        ordered_at: Option<u32>,
        paid_at: Option<u32>,
        buyer_ref: Option<String>,
        mapper: String,
        line_ids: Vec<String>,
        line_product_ids: Vec<Option<String>>,
        line_option_ids: Vec<Option<String>>,
        line_skus: Vec<Option<String>>,
        line_titles: Vec<Option<String>>,
        line_quantities: Vec<i64>,
        line_unit_price_minor: Vec<Option<i64>>,
        line_total_minor: Vec<Option<i64>>,
        line_statuses: Vec<Option<String>>,
    }
}

impl TryFrom<OrderObserved> for OrderRow {
    type Error = Error;

    fn try_from(e: OrderObserved) -> Result<Self, Error> {
        let lines = &e.lines;
        Ok(with_provenance!(OrderRow, seller_provenance(e.provenance.clone(), e.event_id.clone())?, {
            changed_at: secs("changed_at", e.changed_at)?,
            ordered_at: opt_secs("ordered_at", e.ordered_at)?,
            paid_at: opt_secs("paid_at", e.paid_at)?,
            line_ids: lines.iter().map(|l| l.line_id.clone()).collect(),
            line_product_ids: lines.iter().map(|l| l.product_id.clone()).collect(),
            line_option_ids: lines.iter().map(|l| l.option_id.clone()).collect(),
            line_skus: lines.iter().map(|l| l.sku.clone()).collect(),
            line_titles: lines.iter().map(|l| l.title.clone()).collect(),
            line_quantities: lines.iter().map(|l| l.quantity).collect(),
            line_unit_price_minor: lines.iter().map(|l| l.unit_price_minor).collect(),
            line_total_minor: lines.iter().map(|l| l.total_minor).collect(),
            line_statuses: lines.iter().map(|l| l.status.clone()).collect(),
            source: e.provenance.source,
            account: e.account,
            order_id: e.order_id,
            status: e.status,
            raw_status: e.raw_status,
            currency: e.currency,
            total_minor: e.total_minor,
            buyer_ref: e.buyer_ref,
            mapper: e.mapper,
        }))
    }
}

seller_row! {
    ReviewRow {
        source: String,
        account: String,
        review_id: String,
        product_id: Option<String>,
        rating: f64,
        rating_raw: f64,
        rating_scale: f64,
        text: String,
        author_ref: Option<String>,
        created_at: u32,
        mapper: String,
    }
}

impl TryFrom<ReviewObserved> for ReviewRow {
    type Error = Error;

    fn try_from(e: ReviewObserved) -> Result<Self, Error> {
        if !(0.0..=5.0).contains(&e.rating) {
            return Err(Error::Decode(format!("rating = {} is out of range (0 to 5)", e.rating)));
        }
        Ok(with_provenance!(ReviewRow, seller_provenance(e.provenance.clone(), e.event_id.clone())?, {
            created_at: secs("created_at", e.created_at)?,
            source: e.provenance.source,
            account: e.account,
            review_id: e.review_id,
            product_id: e.product_id,
            rating: e.rating,
            rating_raw: e.rating_raw,
            rating_scale: e.rating_scale,
            text: e.text,
            author_ref: e.author_ref,
            mapper: e.mapper,
        }))
    }
}

seller_row! {
    InquiryRow {
        source: String,
        account: String,
        inquiry_id: String,
        product_id: Option<String>,
        order_id: Option<String>,
        question: String,
        answer: Option<String>,
        status: String,
        asked_at: u32,
        answered_at: Option<u32>,
        mapper: String,
    }
}

impl TryFrom<InquiryObserved> for InquiryRow {
    type Error = Error;

    fn try_from(e: InquiryObserved) -> Result<Self, Error> {
        Ok(with_provenance!(InquiryRow, seller_provenance(e.provenance.clone(), e.event_id.clone())?, {
            asked_at: secs("asked_at", e.asked_at)?,
            answered_at: opt_secs("answered_at", e.answered_at)?,
            source: e.provenance.source,
            account: e.account,
            inquiry_id: e.inquiry_id,
            product_id: e.product_id,
            order_id: e.order_id,
            question: e.question,
            answer: e.answer,
            status: e.status,
            mapper: e.mapper,
        }))
    }
}

seller_row! {
    SettlementRow {
        source: String,
        account: String,
        settlement_id: String,
        period_start: u32,
        period_end: u32,
        currency: String,
        gross_minor: i64,
        fees_minor: i64,
        net_minor: i64,
        status: Option<String>,
        mapper: String,
    }
}

impl TryFrom<SettlementObserved> for SettlementRow {
    type Error = Error;

    fn try_from(e: SettlementObserved) -> Result<Self, Error> {
        Ok(with_provenance!(SettlementRow, seller_provenance(e.provenance.clone(), e.event_id.clone())?, {
            period_start: secs("period_start", e.period_start)?,
            period_end: secs("period_end", e.period_end)?,
            source: e.provenance.source,
            account: e.account,
            settlement_id: e.settlement_id,
            currency: e.currency,
            gross_minor: e.gross_minor,
            fees_minor: e.fees_minor,
            net_minor: e.net_minor,
            status: e.status,
            mapper: e.mapper,
        }))
    }
}

/// Rows whose facts feed a merged table: after a batch of them is stored, the loader rewrites the merged
/// rows of their keys (product facts → `products`).
pub trait Merged {
    /// (source, product_id) of a product fact.
    fn merged_key(&self) -> Option<(&str, &str)> {
        None
    }

    /// When the row's page was fetched (epoch seconds), for the freshness histogram; None for rows that
    /// are not observations of a page.
    fn fetched_secs(&self) -> Option<u32> {
        None
    }
}

impl Merged for ProductRow {
    fn merged_key(&self) -> Option<(&str, &str)> {
        Some((&self.source, &self.product_id))
    }
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.observed_at)
    }
}
impl Merged for PriceRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.observed_at)
    }
}
impl Merged for RankRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.observed_at)
    }
}
impl Merged for FetchRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.fetched_at)
    }
}
impl Merged for OrderRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.observed())
    }
}
impl Merged for ReviewRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.observed())
    }
}
impl Merged for InquiryRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.observed())
    }
}
impl Merged for SettlementRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.observed())
    }
}
impl Merged for TargetPageRow {
    fn fetched_secs(&self) -> Option<u32> {
        Some(self.fetched_at)
    }
}
impl Merged for TargetRow {}
impl Merged for RunEventRow {}
impl Merged for RunRow {}

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

    #[test]
    fn a_target_page_row_keeps_not_found_as_zero_and_the_day_as_a_date() {
        let e: TargetRankObserved =
            serde_json::from_str(include_str!("../../../schemas/examples/target_rank_observed.json")).expect("example");
        let row = TargetPageRow::try_from(e.clone()).expect("row");
        assert_eq!((row.position, row.page, row.pages), (47, 2, 5));
        // 2026-12-02 is day 20,789 since 1970-01-01.
        assert_eq!(row.run_day, 20_789);
        let row = TargetPageRow::try_from(TargetRankObserved { position: None, ..e.clone() }).expect("row");
        assert_eq!(row.position, 0);
        assert!(TargetPageRow::try_from(TargetRankObserved { run_day: "02.12.2026".into(), ..e.clone() }).is_err());
        assert!(TargetPageRow::try_from(TargetRankObserved { position: Some(0), ..e }).is_err());
    }
}
