//! Shopify Admin REST orders (`GET /admin/api/{v}/orders.json`, `orders/{id}.json`, and the order that
//! `cancel` / `close` return).
//!
//! - Amounts are in the shop currency (`currency`; `price`, `total_price`), the source's default currency
//!   when the order names none. The order total is `total_price` (what the buyer was charged at checkout).
//! - A line's total is `price × quantity` less its discount allocations (or `total_discount` on old API
//!   versions that have no allocations).
//! - Status: `cancelled_at` set → cancelled; `financial_status` refunded → refunded, voided → cancelled;
//!   `fulfillment_status` fulfilled/partial → shipped, restocked → returned; then pending/authorized/
//!   partially_paid → pending, paid/partially_refunded → paid. `raw_status` is
//!   `financial_status[/fulfillment_status][/cancelled]`.
//! - The REST order has no payment time (that is on its transactions): `paid_at` stays empty.
//! - The buyer is the customer id, else the order e-mail, hashed.

use serde_json::Value;

use super::util::{
    add, currency, email_ref, field, id_ref, int_req, json, keys, latest, list, minor, mul, obj, objects, short, text,
    time, unrecognized, Currency, Obj,
};
use super::{OrderFact, OrderLineFact, SellerContext, SellerParsed};
use crate::ParseError;

/// An object that looks like a Shopify order (the python fixture's list has no line items; WooCommerce
/// orders also have `id` and `line_items`, but neither `financial_status` nor `total_price`).
fn is_order(o: &Obj) -> bool {
    o.contains_key("id") && (o.contains_key("financial_status") || o.contains_key("total_price"))
}

pub(crate) fn orders(p: &'static str, body: &[u8], ctx: &SellerContext<'_>) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let items: Vec<&Obj> = match &v {
        Value::Array(a) => objects(p, "orders", a)?,
        Value::Object(o) => {
            if let Some(a) = list(o, "orders") {
                objects(p, "orders", a)?
            } else if let Some(one) = obj(o, "order") {
                vec![one]
            } else if is_order(o) {
                vec![o]
            } else if let Some(e) = o.get("errors").or_else(|| o.get("error")) {
                return Err(unrecognized(p, format!("an error response ({})", short(e))));
            } else {
                return Err(unrecognized(p, format!("not an orders payload (keys {})", keys(o))));
            }
        }
        _ => return Err(unrecognized(p, "not a JSON object or array")),
    };
    let mut parsed = SellerParsed::default();
    for (i, o) in items.into_iter().enumerate() {
        if !is_order(o) {
            return Err(unrecognized(p, format!("item {i} is not an order (keys {})", keys(o))));
        }
        parsed.orders.push(order(p, o, ctx)?);
    }
    Ok(parsed)
}

/// The normalized status of an order from its financial and fulfillment statuses.
pub(crate) fn status(financial: Option<&str>, fulfillment: Option<&str>, cancelled: bool) -> &'static str {
    if cancelled {
        return "cancelled";
    }
    match financial {
        Some("refunded") => return "refunded",
        Some("voided") => return "cancelled",
        _ => {}
    }
    match fulfillment {
        Some("fulfilled" | "partial" | "shipped") => return "shipped",
        Some("restocked") => return "returned",
        _ => {}
    }
    match financial {
        Some("pending" | "authorized" | "partially_paid") => "pending",
        Some("paid" | "partially_refunded") => "paid",
        _ => "other",
    }
}

fn line_status(fulfillment: Option<&str>) -> Option<String> {
    match fulfillment? {
        "fulfilled" | "partial" | "shipped" => Some("shipped".into()),
        "restocked" => Some("returned".into()),
        _ => None,
    }
}

fn order(p: &'static str, o: &Obj, ctx: &SellerContext<'_>) -> Result<OrderFact, ParseError> {
    let order_id = text(o, "id").ok_or_else(|| field(p, "id", "an order has none"))?;
    let cur = currency(p, text(o, "currency"), ctx.default_currency)?;
    let financial = text(o, "financial_status");
    let fulfillment = text(o, "fulfillment_status");
    let cancelled_at = time(p, "cancelled_at", o, "cancelled_at", None)?;
    let status = status(financial.as_deref(), fulfillment.as_deref(), cancelled_at.is_some());
    let mut raw: Vec<&str> = [financial.as_deref(), fulfillment.as_deref()].into_iter().flatten().collect();
    if cancelled_at.is_some() {
        raw.push("cancelled");
    }
    let total = match minor(p, "total_price", o.get("total_price"), &cur)? {
        Some(t) => Some(t),
        None => minor(p, "total_price_set", super::util::at(o, &["total_price_set", "shop_money", "amount"]), &cur)?,
    };
    let ordered_at = time(p, "created_at", o, "created_at", None)?;
    let changed_at = latest([
        time(p, "updated_at", o, "updated_at", None)?,
        cancelled_at,
        time(p, "closed_at", o, "closed_at", None)?,
        time(p, "processed_at", o, "processed_at", None)?,
        ordered_at,
    ])
    .ok_or_else(|| field(p, "updated_at", format!("order {order_id} has no time")))?;
    let buyer_ref = id_ref(obj(o, "customer").and_then(|c| text(c, "id")))
        .or_else(|| email_ref(text(o, "email")))
        .or_else(|| email_ref(text(o, "contact_email")));
    let mut lines = vec![];
    if let Some(items) = list(o, "line_items") {
        for li in objects(p, "line_items", items)? {
            lines.push(line(p, li, &cur)?);
        }
    }
    Ok(OrderFact {
        order_id,
        status: status.into(),
        raw_status: raw.join("/"),
        currency: Some(cur.code),
        total_minor: total,
        ordered_at,
        paid_at: None,
        changed_at,
        buyer_ref,
        lines,
    })
}

fn line(p: &'static str, li: &Obj, cur: &Currency) -> Result<OrderLineFact, ParseError> {
    let line_id = text(li, "id").ok_or_else(|| field(p, "line_items.id", "a line has none"))?;
    let quantity = int_req(p, "line_items.quantity", li, "quantity")?;
    let unit = minor(p, "line_items.price", li.get("price"), cur)?;
    let allocations = list(li, "discount_allocations").unwrap_or_default();
    let discount = if allocations.is_empty() {
        minor(p, "line_items.total_discount", li.get("total_discount"), cur)?.unwrap_or(0)
    } else {
        let mut sum = 0;
        for a in objects(p, "discount_allocations", allocations)? {
            let amount = minor(p, "discount_allocations.amount", a.get("amount"), cur)?.unwrap_or(0);
            sum = add(p, "discount_allocations.amount", sum, amount)?;
        }
        sum
    };
    let total = match unit {
        Some(u) => Some(add(p, "line_items.price", mul(p, "line_items.price", u, quantity)?, -discount)?),
        None => None,
    };
    Ok(OrderLineFact {
        line_id,
        product_id: text(li, "product_id"),
        option_id: text(li, "variant_id"),
        sku: text(li, "sku"),
        title: text(li, "name").or_else(|| text(li, "title")),
        quantity,
        unit_price_minor: unit,
        total_minor: total,
        status: line_status(text(li, "fulfillment_status").as_deref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status(Some("partially_refunded"), None, false), "paid");
        assert_eq!(status(Some("authorized"), None, false), "pending");
        assert_eq!(status(Some("paid"), Some("fulfilled"), false), "shipped");
        assert_eq!(status(Some("refunded"), None, true), "cancelled");
        assert_eq!(status(Some("refunded"), Some("fulfilled"), false), "refunded");
        assert_eq!(status(Some("paid"), Some("restocked"), false), "returned");
        assert_eq!(status(Some("voided"), None, false), "cancelled");
        assert_eq!(status(None, None, false), "other");
        assert_eq!(line_status(Some("fulfilled")).as_deref(), Some("shipped"));
        assert_eq!(line_status(None), None);
    }
}
