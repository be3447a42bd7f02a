//! Amazon Selling Partner API orders.
//!
//! - Orders v0: `getOrders` (`{"payload":{"Orders":[…]}}`) and `getOrder` (`{"payload":{…order…}}`). These
//!   carry no items (they come from `getOrderItems`, which has no order status or time and is refused:
//!   use Orders 2026-01-01, whose orders embed their items). Total = `OrderTotal`; a pending order often
//!   has none, and then no currency either. Status (`OrderStatus`): PendingAvailability, Pending → pending;
//!   Unshipped → paid; PartiallyShipped, Shipped, InvoiceUnconfirmed → shipped; Canceled → cancelled;
//!   Unfulfillable → other.
//! - Orders 2026-01-01: `searchOrders` (`{"orders":[…]}`) and `getOrder` (`{"order":{…}}`). Total =
//!   `proceeds.grandTotal`; status = `fulfillment.fulfillmentStatus` (same words, upper snake case);
//!   lines from `orderItems` (id `orderItemId`, product = ASIN, sku = seller SKU, unit price =
//!   `product.price.unitPrice`, total = `proceeds.proceedsTotal`; a line whose cancellation was executed is
//!   cancelled, one fully fulfilled is shipped).
//! - Amazon gives no payment time. The buyer is the (Amazon-anonymized) buyer e-mail, hashed.

use serde_json::Value;

use super::util::{
    at, email_ref, field, int, int_req, json, keys, latest, list, minor, obj, objects, root, short, text, time,
    unrecognized, Currency, Obj,
};
use super::{OrderFact, OrderLineFact, SellerParsed};
use crate::ParseError;

/// The normalized status of an order status of either API version.
pub(crate) fn status(raw: &str) -> &'static str {
    match raw.replace('_', "").to_ascii_lowercase().as_str() {
        "pendingavailability" | "pending" => "pending",
        "unshipped" => "paid",
        "partiallyshipped" | "shipped" | "invoiceunconfirmed" => "shipped",
        "delivered" => "delivered",
        "canceled" | "cancelled" => "cancelled",
        _ => "other",
    }
}

pub(crate) fn orders(p: &'static str, body: &[u8]) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let r = root(p, &v)?;
    let mut parsed = SellerParsed::default();
    if let Some(payload) = obj(r, "payload") {
        let v0: Vec<&Obj> = if let Some(a) = list(payload, "Orders") {
            objects(p, "Orders", a)?
        } else if payload.contains_key("AmazonOrderId") && payload.contains_key("OrderStatus") {
            vec![payload]
        } else if payload.contains_key("OrderItems") {
            return Err(unrecognized(
                p,
                "order items without their order (getOrderItems has no status or time; use searchOrders)",
            ));
        } else {
            return Err(unrecognized(p, format!("not an orders payload (payload keys {})", keys(payload))));
        };
        for (i, o) in v0.into_iter().enumerate() {
            if !o.contains_key("AmazonOrderId") {
                return Err(unrecognized(p, format!("item {i} is not an order (keys {})", keys(o))));
            }
            parsed.orders.push(order_v0(p, o)?);
        }
        return Ok(parsed);
    }
    let v2026: Vec<&Obj> = if let Some(a) = list(r, "orders") {
        objects(p, "orders", a)?
    } else if let Some(o) = obj(r, "order") {
        vec![o]
    } else if let Some(e) = r.get("errors") {
        return Err(unrecognized(p, format!("an error response ({})", short(e))));
    } else {
        return Err(unrecognized(p, format!("not an orders payload (keys {})", keys(r))));
    };
    for (i, o) in v2026.into_iter().enumerate() {
        if !o.contains_key("orderId") {
            return Err(unrecognized(p, format!("item {i} is not an order (keys {})", keys(o))));
        }
        parsed.orders.push(order_2026(p, o)?);
    }
    Ok(parsed)
}

/// An amount object `{CurrencyCode, Amount}` / `{currencyCode, amount}`: its currency and minor units.
fn money(p: &'static str, name: &'static str, m: Option<&Obj>) -> Result<Option<(Currency, i64)>, ParseError> {
    let Some(m) = m else { return Ok(None) };
    let Some(code) = text(m, "CurrencyCode").or_else(|| text(m, "currencyCode")) else { return Ok(None) };
    let cur = Currency::new(p, &code)?;
    let amount = m.get("Amount").or_else(|| m.get("amount"));
    Ok(minor(p, name, amount, &cur)?.map(|a| (cur, a)))
}

/// An amount that must be in the order's currency.
fn money_in(
    p: &'static str,
    name: &'static str,
    m: Option<&Obj>,
    cur: &Option<Currency>,
) -> Result<Option<i64>, ParseError> {
    match (money(p, name, m)?, cur) {
        (None, _) => Ok(None),
        (Some((c, a)), Some(order)) if c == *order => Ok(Some(a)),
        (Some((c, _)), Some(order)) => {
            Err(field(p, name, format!("in {} while the order is in {}", c.code, order.code)))
        }
        (Some((_, a)), None) => Ok(Some(a)),
    }
}

fn order_v0(p: &'static str, o: &Obj) -> Result<OrderFact, ParseError> {
    let order_id = text(o, "AmazonOrderId").ok_or_else(|| field(p, "AmazonOrderId", "an order has none"))?;
    let raw = text(o, "OrderStatus").unwrap_or_default();
    let total = money(p, "OrderTotal", obj(o, "OrderTotal"))?;
    let ordered_at = time(p, "PurchaseDate", o, "PurchaseDate", None)?;
    let changed_at = latest([time(p, "LastUpdateDate", o, "LastUpdateDate", None)?, ordered_at])
        .ok_or_else(|| field(p, "LastUpdateDate", format!("order {order_id} has no time")))?;
    Ok(OrderFact {
        order_id,
        status: status(&raw).into(),
        raw_status: raw,
        total_minor: total.as_ref().map(|(_, a)| *a),
        currency: total.map(|(c, _)| c.code),
        ordered_at,
        paid_at: None,
        changed_at,
        buyer_ref: email_ref(obj(o, "BuyerInfo").and_then(|b| text(b, "BuyerEmail"))),
        lines: vec![],
    })
}

fn order_2026(p: &'static str, o: &Obj) -> Result<OrderFact, ParseError> {
    let order_id = text(o, "orderId").ok_or_else(|| field(p, "orderId", "an order has none"))?;
    let raw = obj(o, "fulfillment").and_then(|f| text(f, "fulfillmentStatus")).unwrap_or_default();
    let total = money(p, "proceeds.grandTotal", at(o, &["proceeds", "grandTotal"]).and_then(Value::as_object))?;
    let mut cur = total.as_ref().map(|(c, _)| c.clone());
    let mut lines = vec![];
    for it in objects(p, "orderItems", list(o, "orderItems").unwrap_or_default())? {
        let line_id = text(it, "orderItemId").ok_or_else(|| field(p, "orderItemId", "an item has none"))?;
        let product = obj(it, "product");
        let unit_obj = product.and_then(|pr| at(pr, &["price", "unitPrice"])).and_then(Value::as_object);
        if cur.is_none() {
            cur = money(p, "unitPrice", unit_obj)?.map(|(c, _)| c);
        }
        let unit = money_in(p, "product.price.unitPrice", unit_obj, &cur)?;
        let line_total_obj = at(it, &["proceeds", "proceedsTotal"]).and_then(Value::as_object);
        let line_total = money_in(p, "proceeds.proceedsTotal", line_total_obj, &cur)?;
        let quantity = int_req(p, "quantityOrdered", it, "quantityOrdered")?;
        let fulfilled = obj(it, "fulfillment").and_then(|f| int(f, "quantityFulfilled")).unwrap_or(0);
        let cancelled = at(it, &["cancellation", "cancellationExecution"]).is_some_and(|c| !c.is_null());
        let line_status = if cancelled {
            Some("cancelled")
        } else if quantity > 0 && fulfilled >= quantity {
            Some("shipped")
        } else {
            None
        };
        lines.push(OrderLineFact {
            line_id,
            product_id: product.and_then(|pr| text(pr, "asin")),
            option_id: None,
            sku: product.and_then(|pr| text(pr, "sellerSku")),
            title: product.and_then(|pr| text(pr, "title")),
            quantity,
            unit_price_minor: unit,
            total_minor: line_total,
            status: line_status.map(String::from),
        });
    }
    let ordered_at = time(p, "createdTime", o, "createdTime", None)?;
    let changed_at = latest([time(p, "lastUpdatedTime", o, "lastUpdatedTime", None)?, ordered_at])
        .ok_or_else(|| field(p, "lastUpdatedTime", format!("order {order_id} has no time")))?;
    Ok(OrderFact {
        order_id,
        status: status(&raw).into(),
        raw_status: raw,
        currency: cur.map(|c| c.code),
        total_minor: total.map(|(_, a)| a),
        ordered_at,
        paid_at: None,
        changed_at,
        buyer_ref: email_ref(obj(o, "buyer").and_then(|b| text(b, "buyerEmail"))),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_of_both_versions() {
        assert_eq!(status("Pending"), "pending");
        assert_eq!(status("PendingAvailability"), "pending");
        assert_eq!(status("Unshipped"), "paid");
        assert_eq!(status("UNSHIPPED"), "paid");
        assert_eq!(status("PartiallyShipped"), "shipped");
        assert_eq!(status("PARTIALLY_SHIPPED"), "shipped");
        assert_eq!(status("Shipped"), "shipped");
        assert_eq!(status("Canceled"), "cancelled");
        assert_eq!(status("CANCELLED"), "cancelled");
        assert_eq!(status("Unfulfillable"), "other");
    }
}
