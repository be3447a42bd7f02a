//! WooCommerce REST API v3 orders (`/wp-json/wc/v3/orders`) and product reviews (`…/products/reviews`).
//!
//! - Times are the `*_gmt` fields (naive UTC); the plain `date_*` fields are in the site's own zone, which
//!   the payload does not name, so they are not used.
//! - Order amounts are in the order's `currency`. A line's unit price is `price` when exact, else
//!   `subtotal / quantity` when that divides evenly (WooCommerce computes `price` as a float); its total is
//!   `total` (after discounts, before tax).
//! - Status: pending, on-hold, checkout-draft → pending; processing → paid; completed → delivered;
//!   cancelled; refunded; failed, trash and extensions' own statuses → other.
//! - The buyer is the billing e-mail hashed (guests have `customer_id: 0`, and reviews carry only the
//!   reviewer's e-mail, so the e-mail ties orders and reviews of one person), else the customer id.
//! - A batch response (`{"create":[…],"update":[…],"delete":[…]}`) gives its created and updated orders; the
//!   deleted ones are left out (they are gone from the shop).
//! - Reviews: rating on 0–5, text without its HTML markup, author = hashed reviewer e-mail (else name);
//!   reviews held as `spam` or in the `trash` are left out.

use serde_json::Value;

use super::util::{
    currency, email_ref, field, id, id_ref, int_req, json, keys, latest, list, minor, minor_lenient, obj, objects,
    plain, short, text, time, unrecognized, Currency, Obj, UTC,
};
use super::{OrderFact, OrderLineFact, ReviewFact, SellerContext, SellerParsed};
use crate::ParseError;

/// The items of a list, single-object or batch payload, each checked with `is_item`.
fn items<'a>(p: &'static str, v: &'a Value, what: &str, is_item: fn(&Obj) -> bool) -> Result<Vec<&'a Obj>, ParseError> {
    let items: Vec<&Obj> = match v {
        Value::Array(a) => objects(p, what, a)?,
        Value::Object(o) if is_item(o) => vec![o],
        Value::Object(o) if o.contains_key("create") || o.contains_key("update") || o.contains_key("delete") => {
            let mut all = vec![];
            for k in ["create", "update"] {
                all.extend(objects(p, k, list(o, k).unwrap_or_default())?);
            }
            all
        }
        // WordPress REST errors: `{"code":"woocommerce_rest_…"|"rest_…","message":…,"data":{"status":404}}`.
        Value::Object(o)
            if text(o, "code").is_some_and(|c| c.starts_with("woocommerce_") || c.starts_with("rest_"))
                && o.contains_key("message") =>
        {
            let code = text(o, "code").unwrap_or_default();
            let message = o.get("message").map(short).unwrap_or_default();
            return Err(unrecognized(p, format!("an error response ({code}: {message})")));
        }
        Value::Object(o) => return Err(unrecognized(p, format!("not a {what} payload (keys {})", keys(o)))),
        _ => return Err(unrecognized(p, "not a JSON object or array")),
    };
    // Per-item errors in a batch response (`{"id":0,"error":{…}}`) are not items.
    let items: Vec<&Obj> = items.into_iter().filter(|o| !o.contains_key("error")).collect();
    if let Some((i, o)) = items.iter().enumerate().find(|(_, o)| !is_item(o)) {
        return Err(unrecognized(p, format!("item {i} is not one of {what} (keys {})", keys(o))));
    }
    Ok(items)
}

fn is_order(o: &Obj) -> bool {
    o.contains_key("id") && (o.contains_key("line_items") || o.contains_key("order_key"))
}

fn is_review(o: &Obj) -> bool {
    o.contains_key("id") && o.contains_key("review") && o.contains_key("rating")
}

/// The normalized status of a WooCommerce order status.
pub(crate) fn status(raw: &str) -> &'static str {
    match raw {
        "pending" | "on-hold" | "checkout-draft" => "pending",
        "processing" => "paid",
        "completed" => "delivered",
        "cancelled" => "cancelled",
        "refunded" => "refunded",
        _ => "other",
    }
}

pub(crate) fn orders(p: &'static str, body: &[u8], ctx: &SellerContext<'_>) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let mut parsed = SellerParsed::default();
    for o in items(p, &v, "orders", is_order)? {
        parsed.orders.push(order(p, o, ctx)?);
    }
    Ok(parsed)
}

fn order(p: &'static str, o: &Obj, ctx: &SellerContext<'_>) -> Result<OrderFact, ParseError> {
    let order_id = text(o, "id").ok_or_else(|| field(p, "id", "an order has none"))?;
    let cur = currency(p, text(o, "currency"), ctx.default_currency)?;
    let raw = text(o, "status").unwrap_or_default();
    let ordered_at = time(p, "date_created_gmt", o, "date_created_gmt", Some(UTC))?;
    let paid_at = time(p, "date_paid_gmt", o, "date_paid_gmt", Some(UTC))?;
    let changed_at = latest([
        time(p, "date_modified_gmt", o, "date_modified_gmt", Some(UTC))?,
        time(p, "date_completed_gmt", o, "date_completed_gmt", Some(UTC))?,
        paid_at,
        ordered_at,
    ])
    .ok_or_else(|| field(p, "date_modified_gmt", format!("order {order_id} has no time")))?;
    let buyer_ref =
        email_ref(obj(o, "billing").and_then(|b| text(b, "email"))).or_else(|| id_ref(id(o, "customer_id")));
    let mut lines = vec![];
    for li in objects(p, "line_items", list(o, "line_items").unwrap_or_default())? {
        lines.push(line(p, li, &cur)?);
    }
    Ok(OrderFact {
        order_id,
        status: status(&raw).into(),
        raw_status: raw,
        total_minor: minor(p, "total", o.get("total"), &cur)?,
        currency: Some(cur.code),
        ordered_at,
        paid_at,
        changed_at,
        buyer_ref,
        lines,
    })
}

fn line(p: &'static str, li: &Obj, cur: &Currency) -> Result<OrderLineFact, ParseError> {
    let line_id = text(li, "id").ok_or_else(|| field(p, "line_items.id", "a line has none"))?;
    let quantity = int_req(p, "line_items.quantity", li, "quantity")?;
    let subtotal = minor(p, "line_items.subtotal", li.get("subtotal"), cur)?;
    let unit = minor_lenient(li.get("price"), cur).or_else(|| {
        let s = subtotal?;
        (quantity > 0 && s % quantity == 0).then(|| s / quantity)
    });
    Ok(OrderLineFact {
        line_id,
        product_id: id(li, "product_id"),
        option_id: id(li, "variation_id"),
        sku: text(li, "sku"),
        title: text(li, "name").map(|n| plain(&n)).filter(|n| !n.is_empty()),
        quantity,
        unit_price_minor: unit,
        total_minor: minor(p, "line_items.total", li.get("total"), cur)?,
        status: None,
    })
}

pub(crate) fn reviews(p: &'static str, body: &[u8]) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let mut parsed = SellerParsed::default();
    for o in items(p, &v, "product reviews", is_review)? {
        if matches!(text(o, "status").as_deref(), Some("spam" | "trash")) {
            continue;
        }
        let review_id = text(o, "id").ok_or_else(|| field(p, "id", "a review has none"))?;
        let scale = 5.0;
        let rating_raw = o
            .get("rating")
            .and_then(Value::as_f64)
            .filter(|r| (0.0..=scale).contains(r))
            .ok_or_else(|| field(p, "rating", format!("review {review_id}: not a 0–5 rating")))?;
        let created_at = time(p, "date_created_gmt", o, "date_created_gmt", Some(UTC))?
            .ok_or_else(|| field(p, "date_created_gmt", format!("review {review_id} has none")))?;
        let author_ref = email_ref(text(o, "reviewer_email")).or_else(|| id_ref(text(o, "reviewer")));
        parsed.reviews.push(ReviewFact {
            review_id,
            product_id: id(o, "product_id"),
            rating: rating_raw / scale * 5.0,
            rating_raw,
            rating_scale: scale,
            text: text(o, "review").map(|t| plain(&t)).unwrap_or_default(),
            author_ref,
            created_at,
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status("processing"), "paid");
        assert_eq!(status("on-hold"), "pending");
        assert_eq!(status("completed"), "delivered");
        assert_eq!(status("failed"), "other");
        assert_eq!(status("refunded"), "refunded");
    }

    #[test]
    fn a_float_price_falls_back_to_an_even_subtotal_share() {
        let usd = Currency::new("t", "USD").expect("usd");
        let li: Obj = serde_json::from_str(
            r#"{"id":1,"quantity":3,"subtotal":"10.00","total":"9.00","price":3.3333333333333335}"#,
        )
        .expect("json");
        let l = line("t", &li, &usd).expect("line");
        assert_eq!((l.unit_price_minor, l.total_minor), (None, Some(900)));
        let li: Obj = serde_json::from_str(
            r#"{"id":1,"quantity":3,"subtotal":"9.00","total":"9.00","price":2.9999999999999996}"#,
        )
        .expect("json");
        assert_eq!(line("t", &li, &usd).expect("line").unit_price_minor, Some(300));
    }
}
