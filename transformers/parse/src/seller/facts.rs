//! The facts seller-side mappers produce: orders (with their lines), reviews, customer inquiries and
//! settlements, normalized (amounts in minor units + ISO 4217, times in Unix milliseconds UTC, ratings on
//! 0–5, people only as hashes). The transform stage wraps them in Avro events with provenance.

use serde::Serialize;

/// Everything one seller API payload says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SellerParsed {
    pub orders: Vec<OrderFact>,
    pub reviews: Vec<ReviewFact>,
    pub inquiries: Vec<InquiryFact>,
    pub settlements: Vec<SettlementFact>,
}

impl SellerParsed {
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty() && self.reviews.is_empty() && self.inquiries.is_empty() && self.settlements.is_empty()
    }
}

/// One order as the marketplace reports it at one moment (its status at `changed_at`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderFact {
    /// The marketplace's own order id (idempotency key with the source and account).
    pub order_id: String,
    /// Normalized status: `pending`, `paid`, `shipped`, `delivered`, `cancelled`, `returned`, `refunded`
    /// or `other` (the marketplace's own word is in `raw_status`).
    pub status: String,
    pub raw_status: String,
    /// ISO 4217; `None` only when the payload carries no amount at all (a status-change feed).
    pub currency: Option<String>,
    /// What the buyer pays for the whole order, in minor units.
    pub total_minor: Option<i64>,
    /// Unix ms UTC.
    pub ordered_at: Option<i64>,
    pub paid_at: Option<i64>,
    /// When the order last changed (the status's time); always known (falls back to the order time).
    pub changed_at: i64,
    /// Hex SHA-256 of the marketplace's buyer identifier (customer id or e-mail), never the clear value.
    pub buyer_ref: Option<String>,
    pub lines: Vec<OrderLineFact>,
}

/// One line (product order) of an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLineFact {
    /// The marketplace's line id (Naver productOrderId, Shopify line item id, Coupang orderItem id…).
    pub line_id: String,
    pub product_id: Option<String>,
    /// Option / variant id.
    pub option_id: Option<String>,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub quantity: i64,
    /// Minor units of the order's currency.
    pub unit_price_minor: Option<i64>,
    pub total_minor: Option<i64>,
    /// The line's own normalized status when the marketplace tracks lines separately.
    pub status: Option<String>,
}

/// One product review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewFact {
    pub review_id: String,
    pub product_id: Option<String>,
    /// 0–5.
    pub rating: f64,
    /// The rating as given and the best value of its scale.
    pub rating_raw: f64,
    pub rating_scale: f64,
    pub text: String,
    /// Hex SHA-256 of the author's name or id.
    pub author_ref: Option<String>,
    pub created_at: i64,
}

/// One customer inquiry (question) and its answer, when answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InquiryFact {
    pub inquiry_id: String,
    pub product_id: Option<String>,
    pub order_id: Option<String>,
    pub question: String,
    pub answer: Option<String>,
    /// `open` or `answered`.
    pub status: String,
    pub asked_at: i64,
    pub answered_at: Option<i64>,
}

/// One settlement (payout) period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettlementFact {
    pub settlement_id: String,
    /// Unix ms UTC of the period's first and last instant (the same for a single day or a single payout).
    pub period_start: i64,
    pub period_end: i64,
    pub currency: String,
    pub gross_minor: i64,
    pub fees_minor: i64,
    pub net_minor: i64,
    pub status: Option<String>,
}
