//! Seller-side API mappers: a marketplace's seller-API payload (orders, status changes, reviews, customer
//! inquiries, settlements) in, normalized [`SellerParsed`] facts out. Pure functions, like the page parsers.
//!
//! Normalization, the same for every mapper:
//! - amounts in minor units of the ISO 4217 currency, read exactly from the payload's text (never `f64`);
//!   the payload's currency, else [`SellerContext::default_currency`] (Naver, Coupang: KRW from config);
//! - times in Unix milliseconds UTC: RFC 3339 with its offset; naive times in the zone the API documents
//!   (WooCommerce `*_gmt`: UTC; Naver, Coupang, Cafe24: Korea time, UTC+9); dates as their day in that zone;
//! - statuses normalized to `pending`, `paid`, `shipped`, `delivered`, `cancelled`, `returned`, `refunded`
//!   or `other`, the marketplace's own word(s) kept in `raw_status`; an order whose lines carry their own
//!   statuses is as far as its least advanced live line (see `util::rollup`);
//! - people only as hex SHA-256 of the marketplace's buyer id or of the trimmed, lowercased e-mail; names,
//!   phones, addresses and e-mails are never copied. Review and inquiry text is kept (it is the content);
//! - settlement `fees_minor` is what the marketplace keeps, positive for a charge (APIs that report
//!   deductions as negative amounts are negated), so `net ≈ gross − fees` (other deductions aside).
//!
//! A payload of another shape (another endpoint, an error response) is refused as unrecognized, never read
//! as an empty success; an empty list is a valid empty result.

mod amazon;
mod cafe24;
mod coupang;
mod etsy;
pub mod facts;
mod naver;
mod shopify;
mod util;
mod woocommerce;

pub use facts::*;
pub use util::sha256_hex;

use crate::ParseError;

/// The version of the seller mappers: part of every event id, like the page parsers' version.
pub const SELLER_VERSION: &str = "1";

/// Which mapper reads an API endpoint's payload (`mapper = "..."` in a source's endpoint config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SellerMapper {
    /// Shopify Admin REST orders: `{"orders":[…]}`, `{"order":{…}}`, a bare order or array of orders.
    ShopifyOrders,
    /// WooCommerce REST v3 orders: a list, one order, or a batch response (`create` + `update`).
    WoocommerceOrders,
    /// WooCommerce REST v3 product reviews: a list or one review.
    WoocommerceReviews,
    /// Naver Commerce `GET /v1/pay-order/seller/product-orders/last-changed-statuses`.
    NaverLastChangedStatuses,
    /// Naver Commerce product orders: `POST …/product-orders/query` or `GET …/product-orders` (conditions).
    NaverProductOrders,
    /// Naver Commerce product Q&A: `GET /v1/contents/qnas`.
    NaverQnas,
    /// Naver Commerce customer inquiries: `GET /v1/pay-user/inquiries`.
    NaverInquiries,
    /// Naver Commerce settlements: `GET /v1/pay-settle/settle/daily` or `…/settle/case`.
    NaverSettlements,
    /// Coupang WING ordersheets (list per day / per minute, by shipmentBoxId, by orderId).
    CoupangOrdersheets,
    /// Coupang WING customer inquiries (`onlineInquiries`) and call-center inquiries (`callCenterInquiries`).
    CoupangInquiries,
    /// Coupang WING revenue history (`revenue-history`) and the retired `settlementDetails`.
    CoupangSettlements,
    /// Cafe24 Admin orders (`{"orders":[…]}`, `{"order":{…}}`, optional embedded `items`) and order items.
    Cafe24Orders,
    /// Amazon SP-API orders: Orders v0 `getOrders` / `getOrder`, Orders 2026-01-01 `searchOrders` / `getOrder`.
    AmazonOrders,
    /// Etsy Open API v3 shop receipts (`{count, results}` or one receipt).
    EtsyReceipts,
}

const ALL: [SellerMapper; 14] = [
    SellerMapper::ShopifyOrders,
    SellerMapper::WoocommerceOrders,
    SellerMapper::WoocommerceReviews,
    SellerMapper::NaverLastChangedStatuses,
    SellerMapper::NaverProductOrders,
    SellerMapper::NaverQnas,
    SellerMapper::NaverInquiries,
    SellerMapper::NaverSettlements,
    SellerMapper::CoupangOrdersheets,
    SellerMapper::CoupangInquiries,
    SellerMapper::CoupangSettlements,
    SellerMapper::Cafe24Orders,
    SellerMapper::AmazonOrders,
    SellerMapper::EtsyReceipts,
];

impl SellerMapper {
    /// The snake_case name (as in config), recorded in every event's provenance.
    pub fn name(&self) -> &'static str {
        match self {
            SellerMapper::ShopifyOrders => "shopify_orders",
            SellerMapper::WoocommerceOrders => "woocommerce_orders",
            SellerMapper::WoocommerceReviews => "woocommerce_reviews",
            SellerMapper::NaverLastChangedStatuses => "naver_last_changed_statuses",
            SellerMapper::NaverProductOrders => "naver_product_orders",
            SellerMapper::NaverQnas => "naver_qnas",
            SellerMapper::NaverInquiries => "naver_inquiries",
            SellerMapper::NaverSettlements => "naver_settlements",
            SellerMapper::CoupangOrdersheets => "coupang_ordersheets",
            SellerMapper::CoupangInquiries => "coupang_inquiries",
            SellerMapper::CoupangSettlements => "coupang_settlements",
            SellerMapper::Cafe24Orders => "cafe24_orders",
            SellerMapper::AmazonOrders => "amazon_orders",
            SellerMapper::EtsyReceipts => "etsy_receipts",
        }
    }

    /// The mapper of a snake_case name.
    pub fn from_name(s: &str) -> Option<SellerMapper> {
        ALL.iter().copied().find(|m| m.name() == s)
    }

    /// Every mapper.
    pub fn all() -> &'static [SellerMapper] {
        &ALL
    }
}

/// What a mapper knows about the payload besides its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SellerContext<'a> {
    /// ISO 4217 code to use when the payload names no currency (Naver, Coupang, Cafe24 order items: the
    /// source's config says KRW).
    pub default_currency: Option<&'a str>,
}

/// Map one seller-API payload with the configured mapper.
pub fn parse_seller(mapper: SellerMapper, body: &[u8], ctx: &SellerContext<'_>) -> Result<SellerParsed, ParseError> {
    let p = mapper.name();
    match mapper {
        SellerMapper::ShopifyOrders => shopify::orders(p, body, ctx),
        SellerMapper::WoocommerceOrders => woocommerce::orders(p, body, ctx),
        SellerMapper::WoocommerceReviews => woocommerce::reviews(p, body),
        SellerMapper::NaverLastChangedStatuses => naver::last_changed_statuses(p, body),
        SellerMapper::NaverProductOrders => naver::product_orders(p, body, ctx),
        SellerMapper::NaverQnas => naver::qnas(p, body),
        SellerMapper::NaverInquiries => naver::inquiries(p, body),
        SellerMapper::NaverSettlements => naver::settlements(p, body, ctx),
        SellerMapper::CoupangOrdersheets => coupang::ordersheets(p, body, ctx),
        SellerMapper::CoupangInquiries => coupang::inquiries(p, body),
        SellerMapper::CoupangSettlements => coupang::settlements(p, body, ctx),
        SellerMapper::Cafe24Orders => cafe24::orders(p, body, ctx),
        SellerMapper::AmazonOrders => amazon::orders(p, body),
        SellerMapper::EtsyReceipts => etsy::receipts(p, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        assert_eq!(SellerMapper::all().len(), 14);
        for m in SellerMapper::all() {
            assert_eq!(SellerMapper::from_name(m.name()), Some(*m));
            let json = serde_json::to_string(m).expect("serialize");
            assert_eq!(json, format!("\"{}\"", m.name()));
            let back: SellerMapper = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, *m);
        }
        assert_eq!(SellerMapper::from_name("shopify"), None);
    }

    #[test]
    fn every_mapper_refuses_non_json_and_a_foreign_object() {
        let ctx = SellerContext { default_currency: Some("KRW") };
        for m in SellerMapper::all() {
            let err = parse_seller(*m, b"<html></html>", &ctx).expect_err(m.name());
            assert!(matches!(err, ParseError::Unrecognized { parser, .. } if parser == m.name()), "{err:?}");
            let err = parse_seller(*m, br#"{"products":[{"id":1,"title":"Shoe"}]}"#, &ctx).expect_err(m.name());
            assert!(matches!(err, ParseError::Unrecognized { .. }), "{}: {err:?}", m.name());
            let err = parse_seller(*m, b"\xff\xfe", &ctx).expect_err(m.name());
            assert!(matches!(err, ParseError::Encoding { .. }), "{}: {err:?}", m.name());
        }
    }
}
