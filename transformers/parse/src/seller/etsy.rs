//! Etsy Open API v3 shop receipts (`GET /v3/application/shops/{shop_id}/receipts` → `{count, results}`;
//! `…/receipts/{receipt_id}` → one receipt).
//!
//! - Money is `{amount, divisor, currency_code}` (value = amount / divisor, divisor a power of ten).
//!   Order total = `grandtotal`. A line is a transaction: product = `listing_id`, option = Etsy's
//!   `product_id` (the listing's variant), unit price = `price`, total = `price × quantity` (receipt-level
//!   discounts are not spread over lines).
//! - Times are Unix seconds. `paid_at` = the earliest transaction `paid_timestamp`.
//! - Status: Open, Payment Processing → pending; Paid → paid (shipped when `is_shipped`); Completed → shipped
//!   (Etsy completes a receipt when the seller ships it; delivery is not tracked); Canceled → cancelled;
//!   Fully Refunded → refunded; Partially Refunded → shipped or paid by `is_shipped`.
//! - The buyer is `buyer_user_id` (else the buyer e-mail), hashed; names and addresses are not copied.

use serde_json::Value;

use super::util::{
    earliest, email_ref, field, flag, id_ref, int, int_req, json, keys, latest, list, mul, objects, secs_ms, short,
    text, unrecognized, Currency, Obj,
};
use super::{OrderFact, OrderLineFact, SellerParsed};
use crate::ParseError;

/// The normalized status of a receipt status.
pub(crate) fn status(raw: &str, shipped: bool) -> &'static str {
    match raw.to_ascii_lowercase().as_str() {
        "open" | "payment processing" => "pending",
        "paid" | "partially refunded" if shipped => "shipped",
        "paid" | "partially refunded" => "paid",
        "completed" => "shipped",
        "canceled" | "cancelled" => "cancelled",
        "fully refunded" => "refunded",
        _ => "other",
    }
}

fn is_receipt(o: &Obj) -> bool {
    o.contains_key("receipt_id")
}

pub(crate) fn receipts(p: &'static str, body: &[u8]) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let items: Vec<&Obj> = match &v {
        Value::Array(a) => objects(p, "receipts", a)?,
        Value::Object(o) if is_receipt(o) => vec![o],
        Value::Object(o) => match list(o, "results") {
            Some(a) => objects(p, "results", a)?,
            None if o.contains_key("error") => {
                let e = o.get("error").map(short).unwrap_or_default();
                return Err(unrecognized(p, format!("an error response ({e})")));
            }
            None => return Err(unrecognized(p, format!("not a receipts payload (keys {})", keys(o)))),
        },
        _ => return Err(unrecognized(p, "not a JSON object or array")),
    };
    let mut parsed = SellerParsed::default();
    for (i, r) in items.into_iter().enumerate() {
        if !is_receipt(r) {
            return Err(unrecognized(p, format!("item {i} is not a receipt (keys {})", keys(r))));
        }
        parsed.orders.push(receipt(p, r)?);
    }
    Ok(parsed)
}

/// An Etsy money object in minor units of its currency.
fn money(p: &'static str, name: &'static str, o: &Obj, key: &str) -> Result<Option<(Currency, i64)>, ParseError> {
    let Some(m) = o.get(key).and_then(Value::as_object) else { return Ok(None) };
    let code = text(m, "currency_code").ok_or_else(|| field(p, name, "no currency_code"))?;
    let cur = Currency::new(p, &code)?;
    let amount = int(m, "amount").ok_or_else(|| field(p, name, "no integer amount"))?;
    let divisor = int(m, "divisor").unwrap_or(1);
    // divisor = 10^scale: the value is amount × 10^-scale.
    let scale = (0..=18u32)
        .find(|s| 10i64.checked_pow(*s) == Some(divisor))
        .ok_or_else(|| field(p, name, format!("divisor {divisor} is not a power of ten")))?;
    let minor = shopstream_normalize::Decimal::new(i128::from(amount), scale)
        .to_minor_units(cur.exponent)
        .ok_or_else(|| field(p, name, format!("{amount}/{divisor} is not a whole number of {code} minor units")))?;
    Ok(Some((cur, minor)))
}

fn receipt(p: &'static str, r: &Obj) -> Result<OrderFact, ParseError> {
    let order_id = text(r, "receipt_id").ok_or_else(|| field(p, "receipt_id", "a receipt has none"))?;
    let raw = text(r, "status").unwrap_or_default();
    let shipped = flag(r, "is_shipped") == Some(true);
    let total = money(p, "grandtotal", r, "grandtotal")?;
    let cur = total.as_ref().map(|(c, _)| c.clone());
    let mut lines = vec![];
    let mut paid = vec![];
    for t in objects(p, "transactions", list(r, "transactions").unwrap_or_default())? {
        let line_id = text(t, "transaction_id").ok_or_else(|| field(p, "transaction_id", "a transaction has none"))?;
        let quantity = int_req(p, "quantity", t, "quantity")?;
        let unit = match (money(p, "transactions.price", t, "price")?, &cur) {
            (Some((c, _)), Some(order)) if c != *order => {
                return Err(field(
                    p,
                    "transactions.price",
                    format!("in {} while the receipt is in {}", c.code, order.code),
                ));
            }
            (Some((_, a)), _) => Some(a),
            (None, _) => None,
        };
        paid.push(secs_ms(t, "paid_timestamp"));
        lines.push(OrderLineFact {
            line_id,
            product_id: text(t, "listing_id"),
            option_id: text(t, "product_id"),
            sku: text(t, "sku"),
            title: text(t, "title"),
            quantity,
            unit_price_minor: unit,
            total_minor: match unit {
                Some(u) => Some(mul(p, "transactions.price", u, quantity)?),
                None => None,
            },
            status: None,
        });
    }
    let ordered_at = secs_ms(r, "create_timestamp").or_else(|| secs_ms(r, "created_timestamp"));
    let changed_at = latest([secs_ms(r, "update_timestamp"), secs_ms(r, "updated_timestamp"), ordered_at])
        .ok_or_else(|| field(p, "update_timestamp", format!("receipt {order_id} has no time")))?;
    Ok(OrderFact {
        order_id,
        status: status(&raw, shipped).into(),
        raw_status: raw,
        currency: cur.map(|c| c.code),
        total_minor: total.map(|(_, a)| a),
        ordered_at,
        paid_at: earliest(paid),
        changed_at,
        buyer_ref: id_ref(text(r, "buyer_user_id")).or_else(|| email_ref(text(r, "buyer_email"))),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status("Completed", true), "shipped");
        assert_eq!(status("Paid", false), "paid");
        assert_eq!(status("Paid", true), "shipped");
        assert_eq!(status("Fully Refunded", true), "refunded");
        assert_eq!(status("Partially Refunded", false), "paid");
        assert_eq!(status("Canceled", false), "cancelled");
        assert_eq!(status("Open", false), "pending");
        assert_eq!(status("Payment Processing", false), "pending");
        assert_eq!(status("something", false), "other");
    }
}
