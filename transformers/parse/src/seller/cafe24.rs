//! Cafe24 Admin API orders: `GET /api/v2/admin/orders` (`{"orders":[…]}`), `GET …/orders/{id}`
//! (`{"order":{…}}`), with their `items` when embedded (`embed=items`), and `GET …/orders/{id}/items`
//! (`{"items":[…]}`, grouped into orders by the order id that prefixes `order_item_code`).
//!
//! - Order total = `actual_order_amount.payment_amount` (what the buyer pays after partial cancellations),
//!   else `payment_amount`, in the order's `currency` (order items: the source's default currency).
//! - Line: id `order_item_code`, product `product_no`, option `variant_code`, sku = the seller's custom
//!   variant (else product) code, unit price = `product_price + option_price`, total = `payment_amount`.
//! - Item status (`order_status`): N00 → pending; N10, N20, N21, N22 → paid; N30 → shipped; N40, N50 →
//!   delivered; C… (cancellation) → cancelled; R… (return) → returned; E… (exchange) → other.
//!   An order with items rolls its items' statuses up; without items: `canceled` T → cancelled,
//!   `return_confirmed_date` → returned, `paid` F → pending, `shipping_status` T → delivered,
//!   M → shipped, else paid (`raw_status` = `paid:…,canceled:…,shipping_status:…`).
//! - Item times are naive shop times: read as Korea time (UTC+9). The buyer is `member_id` (else the
//!   member e-mail), hashed.

use super::util::{
    currency, earliest, email_ref, field, flag, id_ref, int_req, join_distinct, json, keys, latest, list, minor, obj,
    objects, rollup, root, short, sum_present, text, time, unrecognized, Currency, Groups, Obj, KST,
};
use super::{OrderFact, OrderLineFact, SellerContext, SellerParsed};
use crate::ParseError;

/// The normalized status of a Cafe24 order item status code.
pub(crate) fn item_status(raw: &str) -> &'static str {
    match raw {
        "N00" => "pending",
        "N10" | "N20" | "N21" | "N22" => "paid",
        "N30" => "shipped",
        "N40" | "N50" => "delivered",
        _ if raw.starts_with('C') => "cancelled",
        _ if raw.starts_with('R') => "returned",
        _ => "other",
    }
}

/// The normalized status of an order without its items.
pub(crate) fn order_status(
    paid: Option<bool>,
    canceled: Option<&str>,
    shipping: Option<&str>,
    returned: bool,
) -> &'static str {
    if canceled == Some("T") {
        return "cancelled";
    }
    if returned {
        return "returned";
    }
    if paid == Some(false) {
        return "pending";
    }
    match shipping {
        Some("T") => "delivered",
        Some("M") => "shipped",
        _ => "paid",
    }
}

/// Times of an item that change its status.
const ITEM_TIMES: [&str; 12] = [
    "ordered_date",
    "shipped_date",
    "delivered_date",
    "purchaseconfirmation_date",
    "cancel_request_date",
    "cancel_date",
    "return_request_date",
    "return_collected_date",
    "return_confirmed_date",
    "refund_date",
    "exchange_request_date",
    "exchange_date",
];

fn when(p: &'static str, name: &'static str, o: &Obj, key: &str) -> Result<Option<i64>, ParseError> {
    time(p, name, o, key, Some(KST))
}

fn is_item(o: &Obj) -> bool {
    o.contains_key("order_item_code")
}

pub(crate) fn orders(p: &'static str, body: &[u8], ctx: &SellerContext<'_>) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let r = root(p, &v)?;
    let mut parsed = SellerParsed::default();
    let orders: Vec<&Obj> = if let Some(a) = list(r, "orders") {
        objects(p, "orders", a)?
    } else if let Some(o) = obj(r, "order") {
        vec![o]
    } else if let Some(items) = list(r, "items") {
        let items = objects(p, "items", items)?;
        if let Some((i, o)) = items.iter().enumerate().find(|(_, o)| !is_item(o)) {
            return Err(unrecognized(p, format!("item {i} is not an order item (keys {})", keys(o))));
        }
        if items.is_empty() {
            return Ok(parsed);
        }
        let cur = currency(p, None, ctx.default_currency)?;
        let mut groups: Groups<&Obj> = Groups::new();
        for it in items {
            let code = text(it, "order_item_code").unwrap_or_default();
            // `20170710-0000013-01` is item 01 of order `20170710-0000013`.
            let order_id = text(it, "order_id")
                .or_else(|| code.rsplit_once('-').map(|(o, _)| o.to_string()))
                .ok_or_else(|| field(p, "order_item_code", format!("{code:?} names no order")))?;
            groups.push(order_id, it);
        }
        for (order_id, items) in groups.groups {
            parsed.orders.push(items_order(p, order_id, &items, &cur)?);
        }
        return Ok(parsed);
    } else if let Some(e) = r.get("error") {
        return Err(unrecognized(p, format!("an error response ({})", short(e))));
    } else {
        return Err(unrecognized(p, format!("not an orders payload (keys {})", keys(r))));
    };
    for (i, o) in orders.into_iter().enumerate() {
        if !o.contains_key("order_id") {
            return Err(unrecognized(p, format!("item {i} is not an order (keys {})", keys(o))));
        }
        parsed.orders.push(order(p, o, ctx)?);
    }
    Ok(parsed)
}

fn line(p: &'static str, it: &Obj, cur: &Currency) -> Result<(OrderLineFact, Vec<Option<i64>>), ParseError> {
    let line_id = text(it, "order_item_code").ok_or_else(|| field(p, "order_item_code", "an item has none"))?;
    let unit = sum_present(
        p,
        "product_price",
        [
            minor(p, "product_price", it.get("product_price"), cur)?,
            minor(p, "option_price", it.get("option_price"), cur)?,
        ],
    )?;
    let mut times = vec![];
    for k in ITEM_TIMES {
        times.push(when(p, "items.date", it, k)?);
    }
    let fact = OrderLineFact {
        line_id,
        product_id: text(it, "product_no"),
        option_id: text(it, "variant_code"),
        sku: text(it, "custom_variant_code").or_else(|| text(it, "custom_product_code")),
        title: text(it, "product_name"),
        quantity: int_req(p, "quantity", it, "quantity")?,
        unit_price_minor: unit,
        total_minor: minor(p, "items.payment_amount", it.get("payment_amount"), cur)?,
        status: text(it, "order_status").map(|s| item_status(&s).to_string()),
    };
    Ok((fact, times))
}

fn order(p: &'static str, o: &Obj, ctx: &SellerContext<'_>) -> Result<OrderFact, ParseError> {
    let order_id = text(o, "order_id").ok_or_else(|| field(p, "order_id", "an order has none"))?;
    let cur = currency(p, text(o, "currency"), ctx.default_currency)?;
    let total = match minor(
        p,
        "actual_order_amount.payment_amount",
        super::util::at(o, &["actual_order_amount", "payment_amount"]),
        &cur,
    )? {
        Some(t) => Some(t),
        None => minor(p, "payment_amount", o.get("payment_amount"), &cur)?,
    };
    let ordered_at = time(p, "order_date", o, "order_date", Some(KST))?;
    let paid_at = time(p, "payment_date", o, "payment_date", Some(KST))?;
    let returned_at = time(p, "return_confirmed_date", o, "return_confirmed_date", Some(KST))?;
    let mut times = vec![ordered_at, paid_at, returned_at, time(p, "cancel_date", o, "cancel_date", Some(KST))?];
    let (mut lines, mut raws) = (vec![], vec![]);
    for it in objects(p, "items", list(o, "items").unwrap_or_default())? {
        let (l, t) = line(p, it, &cur)?;
        times.extend(t);
        raws.push(text(it, "order_status").unwrap_or_default());
        lines.push(l);
    }
    let (status, raw_status) = if lines.iter().any(|l| l.status.is_some()) {
        (rollup(lines.iter().filter_map(|l| l.status.as_deref())), join_distinct(raws.iter().map(String::as_str)))
    } else {
        let paid = flag(o, "paid");
        let canceled = text(o, "canceled");
        let shipping = text(o, "shipping_status");
        let raw = format!(
            "paid:{},canceled:{},shipping_status:{}",
            text(o, "paid").unwrap_or_default(),
            canceled.as_deref().unwrap_or_default(),
            shipping.as_deref().unwrap_or_default()
        );
        (order_status(paid, canceled.as_deref(), shipping.as_deref(), returned_at.is_some()), raw)
    };
    let changed_at = latest(times).ok_or_else(|| field(p, "order_date", format!("order {order_id} has no time")))?;
    Ok(OrderFact {
        order_id,
        status: status.into(),
        raw_status,
        currency: Some(cur.code),
        total_minor: total,
        ordered_at,
        paid_at,
        changed_at,
        buyer_ref: id_ref(text(o, "member_id")).or_else(|| email_ref(text(o, "member_email"))),
        lines,
    })
}

/// An order known only from its items (`…/orders/{id}/items`): no total, payment time or buyer.
fn items_order(p: &'static str, order_id: String, items: &[&Obj], cur: &Currency) -> Result<OrderFact, ParseError> {
    let (mut lines, mut raws, mut times, mut ordered) = (vec![], vec![], vec![], vec![]);
    for it in items {
        let (l, t) = line(p, it, cur)?;
        times.extend(t);
        ordered.push(when(p, "ordered_date", it, "ordered_date")?);
        raws.push(text(it, "order_status").unwrap_or_default());
        lines.push(l);
    }
    let changed_at = latest(times).ok_or_else(|| field(p, "ordered_date", format!("order {order_id} has no time")))?;
    Ok(OrderFact {
        status: rollup(lines.iter().filter_map(|l| l.status.as_deref())).into(),
        raw_status: join_distinct(raws.iter().map(String::as_str)),
        order_id,
        currency: Some(cur.code.clone()),
        total_minor: None,
        ordered_at: earliest(ordered),
        paid_at: None,
        changed_at,
        buyer_ref: None,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(item_status("N00"), "pending");
        assert_eq!(item_status("N20"), "paid");
        assert_eq!(item_status("N30"), "shipped");
        assert_eq!(item_status("N40"), "delivered");
        assert_eq!(item_status("C40"), "cancelled");
        assert_eq!(item_status("R40"), "returned");
        assert_eq!(item_status("E10"), "other");
        assert_eq!(order_status(Some(true), Some("F"), Some("T"), false), "delivered");
        assert_eq!(order_status(Some(true), Some("F"), Some("M"), false), "shipped");
        assert_eq!(order_status(Some(true), Some("M"), Some("F"), false), "paid");
        assert_eq!(order_status(Some(false), Some("F"), Some("F"), false), "pending");
        assert_eq!(order_status(Some(true), Some("T"), Some("T"), false), "cancelled");
        assert_eq!(order_status(Some(true), Some("F"), Some("T"), true), "returned");
    }
}
