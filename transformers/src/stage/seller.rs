//! Seller-API facts to events: orders, reviews, inquiries and settlements of one account, with provenance.
//! A raw record of an `[api]` source names its mapper and account in its attributes (set by `collect`),
//! so a replay needs nothing but the record.

use shopstream_core::api::attr;
use shopstream_core::ids::stable_id;
use shopstream_parse::seller::{SellerMapper, SellerParsed, SELLER_VERSION};
use shopstream_schemas::{
    InquiryObserved, OrderLine, OrderObserved, Provenance, RawPage, ReviewObserved, SettlementObserved,
};

use super::events::RawPosition;

/// The events of one seller-API payload.
#[derive(Debug, Default, PartialEq)]
pub struct SellerEvents {
    pub orders: Vec<OrderObserved>,
    pub reviews: Vec<ReviewObserved>,
    pub inquiries: Vec<InquiryObserved>,
    pub settlements: Vec<SettlementObserved>,
}

impl SellerEvents {
    pub fn len(&self) -> usize {
        self.orders.len() + self.reviews.len() + self.inquiries.len() + self.settlements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The mapper and account a raw record names; `None` when it is not a seller-API record, `Err` when it
/// names a mapper this build does not know.
pub fn mapper_of(raw: &RawPage) -> Result<Option<(SellerMapper, String)>, String> {
    let Some(name) = raw.attributes.get(attr::MAPPER) else { return Ok(None) };
    let mapper = SellerMapper::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = SellerMapper::all().iter().map(|m| m.name()).collect();
        format!("unknown mapper {name:?} (known: {})", known.join(", "))
    })?;
    let account = raw
        .attributes
        .get(attr::ACCOUNT)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("the record names mapper {name:?} but no account"))?;
    Ok(Some((mapper, account.clone())))
}

/// The key of an account's event: source + account + the marketplace's id.
pub fn seller_key(source: &str, account: &str, id: &str) -> Vec<u8> {
    format!("{source}:{account}:{id}").into_bytes()
}

/// Wrap the facts in events. Ids depend on the fetch, the mapper version and the fact's identity.
pub fn build(
    raw: &RawPage,
    at: RawPosition<'_>,
    mapper: SellerMapper,
    account: &str,
    parsed: SellerParsed,
) -> SellerEvents {
    let provenance = Provenance {
        fetch_id: raw.fetch_id.clone(),
        crawl_id: raw.crawl_id.clone(),
        source: raw.source.clone(),
        url: raw.url.clone(),
        fetched_at: raw.fetched_at,
        raw_topic: at.topic.to_string(),
        raw_partition: at.partition,
        raw_offset: at.offset,
        parser: mapper.name().to_string(),
        parser_version: SELLER_VERSION.to_string(),
    };
    let id = |kind: &str, a: &str| stable_id(&[&raw.fetch_id, mapper.name(), SELLER_VERSION, kind, account, a]);
    let mut ev = SellerEvents::default();
    for o in parsed.orders {
        ev.orders.push(OrderObserved {
            event_id: id("order", &format!("{}@{}", o.order_id, o.changed_at)),
            provenance: provenance.clone(),
            account: account.to_string(),
            order_id: o.order_id,
            status: o.status,
            raw_status: o.raw_status,
            currency: o.currency,
            total_minor: o.total_minor,
            ordered_at: o.ordered_at,
            paid_at: o.paid_at,
            changed_at: o.changed_at,
            buyer_ref: o.buyer_ref,
            mapper: mapper.name().to_string(),
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLine {
                    line_id: l.line_id,
                    product_id: l.product_id,
                    option_id: l.option_id,
                    sku: l.sku,
                    title: l.title,
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    total_minor: l.total_minor,
                    status: l.status,
                })
                .collect(),
        });
    }
    for r in parsed.reviews {
        ev.reviews.push(ReviewObserved {
            event_id: id("review", &r.review_id),
            provenance: provenance.clone(),
            account: account.to_string(),
            review_id: r.review_id,
            product_id: r.product_id,
            rating: r.rating,
            rating_raw: r.rating_raw,
            rating_scale: r.rating_scale,
            text: r.text,
            author_ref: r.author_ref,
            created_at: r.created_at,
            mapper: mapper.name().to_string(),
        });
    }
    for q in parsed.inquiries {
        ev.inquiries.push(InquiryObserved {
            event_id: id("inquiry", &q.inquiry_id),
            provenance: provenance.clone(),
            account: account.to_string(),
            inquiry_id: q.inquiry_id,
            product_id: q.product_id,
            order_id: q.order_id,
            question: q.question,
            answer: q.answer,
            status: q.status,
            asked_at: q.asked_at,
            answered_at: q.answered_at,
            mapper: mapper.name().to_string(),
        });
    }
    for s in parsed.settlements {
        ev.settlements.push(SettlementObserved {
            event_id: id("settlement", &s.settlement_id),
            provenance: provenance.clone(),
            account: account.to_string(),
            settlement_id: s.settlement_id,
            period_start: s.period_start,
            period_end: s.period_end,
            currency: s.currency,
            gross_minor: s.gross_minor,
            fees_minor: s.fees_minor,
            net_minor: s.net_minor,
            status: s.status,
            mapper: mapper.name().to_string(),
        });
    }
    ev
}
