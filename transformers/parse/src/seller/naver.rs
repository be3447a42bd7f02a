//! Naver Commerce API (스마트스토어 커머스API) seller payloads.
//!
//! - Last-changed statuses (`…/product-orders/last-changed-statuses`): every entry is one product order
//!   (order line) whose status changed. Entries are grouped by `orderId` into orders whose lines carry the
//!   line status (the latest entry per product order wins); the feed has no amounts, quantities or buyer,
//!   so `currency`/`total_minor` are `None`, line `quantity` is 0 (unknown) and the order's `changed_at` is
//!   the latest `lastChangedDate`, `paid_at` the earliest `PAYED` change.
//! - Product orders (`POST …/product-orders/query` → `data[]`; `GET …/product-orders` → `data.contents[]
//!   .content`): grouped by `order.orderId`. Order total = the sum of the order's payment means (general,
//!   Naver Pay points, charge, accumulation, pay-later); line unit price = `unitPrice + optionPrice`, line
//!   total = `totalPaymentAmount`. The buyer is `ordererNo` (else `ordererId`), hashed.
//! - Product Q&A (`contents/qnas`) and customer inquiries (`pay-user/inquiries`): the question and answer
//!   text; writer and customer names/ids are not copied (an inquiry fact has no author).
//! - Settlements: `settle/daily` (one per settlement day range) and `settle/case` (one per product order and
//!   settle type). Naver's amounts carry no currency: the source's default currency (KRW). Dates are Korea
//!   days. Commissions are reported with either sign by different observers of the API, so `fees_minor`
//!   takes the sign of the gross amount (a charge on a sale, a give-back on a cancellation).
//!   `settle/commission-details` is not a settlement (no settled amount) and is refused.
//!
//! Statuses: PAYMENT_WAITING → pending, PAYED → paid, DELIVERING → shipped, DELIVERED / PURCHASE_DECIDED /
//! EXCHANGED → delivered, CANCELED / CANCELED_BY_NOPAYMENT → cancelled, RETURNED → returned.

use serde_json::Value;

use super::util::{
    add, content, currency, day_field, earliest, field, flag, id_ref, int_req, join_distinct, json, keys, latest, list,
    minor, minor_req, obj, objects, rollup, root, short, sum_present, text, time, unrecognized, Currency, Groups, Obj,
    KST,
};
use super::{InquiryFact, OrderFact, OrderLineFact, SellerContext, SellerParsed, SettlementFact};
use crate::ParseError;

/// The normalized status of a Naver product order status.
pub(crate) fn status(raw: &str) -> &'static str {
    match raw {
        "PAYMENT_WAITING" => "pending",
        "PAYED" => "paid",
        "DELIVERING" => "shipped",
        "DELIVERED" | "PURCHASE_DECIDED" | "EXCHANGED" => "delivered",
        "CANCELED" | "CANCELED_BY_NOPAYMENT" => "cancelled",
        "RETURNED" => "returned",
        _ => "other",
    }
}

/// An error response (`{"code":…,"message":…}` without data) is refused with its message.
fn refuse_error(p: &'static str, r: &Obj) -> Result<(), ParseError> {
    if r.contains_key("code") && r.contains_key("message") && !r.contains_key("data") {
        let code = text(r, "code").unwrap_or_default();
        let message = r.get("message").map(short).unwrap_or_default();
        return Err(unrecognized(p, format!("an error response ({code}: {message})")));
    }
    Ok(())
}

/// A time in a Naver payload (RFC 3339; a naive one is Korea time).
fn when(p: &'static str, name: &'static str, o: &Obj, key: &str) -> Result<Option<i64>, ParseError> {
    time(p, name, o, key, Some(KST))
}

// ---------------------------------------------------------------------------------------------------
// Last-changed statuses

struct Change {
    line_id: String,
    raw: String,
    changed_at: i64,
    paid: bool,
}

pub(crate) fn last_changed_statuses(p: &'static str, body: &[u8]) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let r = root(p, &v)?;
    refuse_error(p, r)?;
    let data = obj(r, "data").ok_or_else(|| unrecognized(p, format!("no `data` object (keys {})", keys(r))))?;
    let entries = match list(data, "lastChangeStatuses") {
        Some(a) => objects(p, "lastChangeStatuses", a)?,
        // Nothing changed in the window: Naver may leave the list out and say `count: 0`.
        None if data.get("count").and_then(Value::as_u64) == Some(0) => vec![],
        None => {
            return Err(unrecognized(p, format!("no data.lastChangeStatuses (keys {})", keys(data))));
        }
    };
    let mut groups: Groups<Change> = Groups::new();
    for e in entries {
        let order_id = text(e, "orderId").ok_or_else(|| field(p, "orderId", "an entry has none"))?;
        let line_id = text(e, "productOrderId").ok_or_else(|| field(p, "productOrderId", "an entry has none"))?;
        let raw = text(e, "productOrderStatus")
            .ok_or_else(|| field(p, "productOrderStatus", format!("product order {line_id} has none")))?;
        let changed_at = when(p, "lastChangedDate", e, "lastChangedDate")?
            .ok_or_else(|| field(p, "lastChangedDate", format!("product order {line_id} has none")))?;
        let paid = text(e, "lastChangedType").as_deref() == Some("PAYED");
        groups.push(order_id, Change { line_id, raw, changed_at, paid });
    }
    let mut parsed = SellerParsed::default();
    for (order_id, changes) in groups.groups {
        let changed_at = changes.iter().map(|c| c.changed_at).max().unwrap_or_default();
        let paid_at = earliest(changes.iter().map(|c| c.paid.then_some(c.changed_at)));
        // The latest change of each product order, in first-seen order.
        let mut latest_of: Groups<&Change> = Groups::new();
        for c in &changes {
            latest_of.push(c.line_id.clone(), c);
        }
        let lines: Vec<&Change> =
            latest_of.groups.iter().filter_map(|(_, cs)| cs.iter().max_by_key(|c| c.changed_at).copied()).collect();
        parsed.orders.push(OrderFact {
            order_id,
            status: rollup(lines.iter().map(|c| status(&c.raw))).into(),
            raw_status: join_distinct(lines.iter().map(|c| c.raw.as_str())),
            currency: None,
            total_minor: None,
            ordered_at: None,
            paid_at,
            changed_at,
            buyer_ref: None,
            lines: lines
                .iter()
                .map(|c| OrderLineFact {
                    line_id: c.line_id.clone(),
                    product_id: None,
                    option_id: None,
                    sku: None,
                    title: None,
                    quantity: 0,
                    unit_price_minor: None,
                    total_minor: None,
                    status: Some(status(&c.raw).into()),
                })
                .collect(),
        });
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------------
// Product orders

/// The payment means whose sum is what the buyer paid for the whole order.
const PAYMENT_MEANS: [&str; 5] = [
    "generalPaymentAmount",
    "naverMileagePaymentAmount",
    "chargeAmountPaymentAmount",
    "checkoutAccumulationPaymentAmount",
    "payLaterPaymentAmount",
];

/// Claim times (request, approval, collection, completion) that change a product order's status.
const CLAIM_TIMES: [&str; 9] = [
    "claimRequestDate",
    "cancelApprovalDate",
    "cancelCompletedDate",
    "collectCompletedDate",
    "returnCompletedDate",
    "reDeliveryOperationDate",
    "claimRequestAdmissionDate",
    "claimCompleteOperationDate",
    "holdbackReleaseDate",
];

/// Every status time of one product-order element (order, product order, delivery, claims).
fn element_times(p: &'static str, e: &Obj) -> Result<Vec<Option<i64>>, ParseError> {
    let mut out = vec![];
    if let Some(o) = obj(e, "order") {
        out.push(when(p, "order.orderDate", o, "orderDate")?);
        out.push(when(p, "order.paymentDate", o, "paymentDate")?);
    }
    if let Some(po) = obj(e, "productOrder") {
        out.push(when(p, "productOrder.placeOrderDate", po, "placeOrderDate")?);
        out.push(when(p, "productOrder.decisionDate", po, "decisionDate")?);
    }
    if let Some(d) = obj(e, "delivery") {
        for k in ["sendDate", "pickupDate", "deliveredDate"] {
            out.push(when(p, "delivery", d, k)?);
        }
    }
    let mut claims: Vec<&Obj> = ["cancel", "return", "exchange"].iter().filter_map(|k| obj(e, k)).collect();
    if let Some(c) = obj(e, "currentClaim") {
        claims.extend(["cancel", "return", "exchange"].iter().filter_map(|k| obj(c, k)));
    }
    claims.extend(list(e, "completedClaims").unwrap_or_default().iter().filter_map(Value::as_object));
    for c in claims {
        for k in CLAIM_TIMES {
            out.push(when(p, "claim", c, k)?);
        }
    }
    Ok(out)
}

pub(crate) fn product_orders(
    p: &'static str,
    body: &[u8],
    ctx: &SellerContext<'_>,
) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let r = root(p, &v)?;
    refuse_error(p, r)?;
    let elements: Vec<&Obj> = match r.get("data") {
        Some(Value::Array(a)) => objects(p, "data", a)?,
        Some(Value::Object(d)) if list(d, "contents").is_some() => {
            let contents = objects(p, "data.contents", list(d, "contents").unwrap_or_default())?;
            let mut out = vec![];
            for (i, c) in contents.into_iter().enumerate() {
                out.push(
                    obj(c, "content").ok_or_else(|| unrecognized(p, format!("contents item {i} has no `content`")))?,
                );
            }
            out
        }
        _ => return Err(unrecognized(p, format!("no data list of product orders (keys {})", keys(r)))),
    };
    if let Some((i, e)) = elements.iter().enumerate().find(|(_, e)| obj(e, "productOrder").is_none()) {
        return Err(unrecognized(p, format!("item {i} is not a product order (keys {})", keys(e))));
    }
    let mut parsed = SellerParsed::default();
    if elements.is_empty() {
        return Ok(parsed);
    }
    let cur = currency(p, None, ctx.default_currency)?;
    let mut groups: Groups<&Obj> = Groups::new();
    for e in elements {
        let order_id = obj(e, "order")
            .and_then(|o| text(o, "orderId"))
            .ok_or_else(|| field(p, "order.orderId", "a product order has no order"))?;
        groups.push(order_id, e);
    }
    for (order_id, elements) in groups.groups {
        parsed.orders.push(product_order(p, order_id, &elements, &cur)?);
    }
    Ok(parsed)
}

fn product_order(
    p: &'static str,
    order_id: String,
    elements: &[&Obj],
    cur: &Currency,
) -> Result<OrderFact, ParseError> {
    let order = elements.first().and_then(|e| obj(e, "order"));
    let mut total = None;
    let (mut ordered_at, mut paid_at, mut buyer_ref) = (None, None, None);
    if let Some(o) = order {
        let mut means = vec![];
        for k in PAYMENT_MEANS {
            means.push(minor(p, "order.paymentAmount", o.get(k), cur)?);
        }
        total = sum_present(p, "order.paymentAmount", means)?;
        ordered_at = when(p, "order.orderDate", o, "orderDate")?;
        paid_at = when(p, "order.paymentDate", o, "paymentDate")?;
        buyer_ref = id_ref(text(o, "ordererNo").or_else(|| text(o, "ordererId")));
    }
    let mut times = vec![ordered_at, paid_at];
    let mut lines = vec![];
    let mut raws = vec![];
    for e in elements {
        times.extend(element_times(p, e)?);
        let po = obj(e, "productOrder").ok_or_else(|| field(p, "productOrder", "missing"))?;
        let raw = text(po, "productOrderStatus");
        let line_id = text(po, "productOrderId")
            .or_else(|| text(e, "productOrderId"))
            .ok_or_else(|| field(p, "productOrderId", format!("a line of order {order_id} has none")))?;
        let unit = sum_present(
            p,
            "productOrder.unitPrice",
            [
                minor(p, "productOrder.unitPrice", po.get("unitPrice"), cur)?,
                minor(p, "productOrder.optionPrice", po.get("optionPrice"), cur)?,
            ],
        )?;
        lines.push(OrderLineFact {
            line_id,
            product_id: text(po, "productId"),
            option_id: text(po, "optionCode"),
            sku: text(po, "sellerProductCode"),
            title: text(po, "productName"),
            quantity: int_req(p, "productOrder.quantity", po, "quantity")?,
            unit_price_minor: unit,
            total_minor: minor(p, "productOrder.totalPaymentAmount", po.get("totalPaymentAmount"), cur)?,
            status: raw.as_deref().map(|r| status(r).to_string()),
        });
        raws.push(raw.unwrap_or_default());
    }
    let changed_at =
        latest(times).ok_or_else(|| field(p, "order.orderDate", format!("order {order_id} has no time")))?;
    Ok(OrderFact {
        status: rollup(lines.iter().filter_map(|l| l.status.as_deref())).into(),
        raw_status: join_distinct(raws.iter().map(String::as_str)),
        order_id,
        currency: Some(cur.code.clone()),
        total_minor: total,
        ordered_at,
        paid_at,
        changed_at,
        buyer_ref,
        lines,
    })
}

// ---------------------------------------------------------------------------------------------------
// Q&A and customer inquiries

pub(crate) fn qnas(p: &'static str, body: &[u8]) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let r = root(p, &v)?;
    refuse_error(p, r)?;
    let items = list(r, "contents").ok_or_else(|| unrecognized(p, format!("no `contents` list (keys {})", keys(r))))?;
    let mut parsed = SellerParsed::default();
    for q in objects(p, "contents", items)? {
        let inquiry_id = text(q, "questionId").ok_or_else(|| field(p, "questionId", "a question has none"))?;
        let question =
            content(q, "question").ok_or_else(|| field(p, "question", format!("question {inquiry_id} has no text")))?;
        let answered = flag(q, "answered");
        let answer = content(q, "answer").filter(|_| answered != Some(false));
        let asked_at = when(p, "createDate", q, "createDate")?
            .ok_or_else(|| field(p, "createDate", format!("question {inquiry_id} has none")))?;
        parsed.inquiries.push(InquiryFact {
            inquiry_id,
            product_id: text(q, "productId"),
            order_id: None,
            question,
            status: if answer.is_some() || answered == Some(true) { "answered" } else { "open" }.into(),
            answer,
            asked_at,
            answered_at: None,
        });
    }
    Ok(parsed)
}

pub(crate) fn inquiries(p: &'static str, body: &[u8]) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let r = root(p, &v)?;
    refuse_error(p, r)?;
    let items = list(r, "content").ok_or_else(|| unrecognized(p, format!("no `content` list (keys {})", keys(r))))?;
    let mut parsed = SellerParsed::default();
    for q in objects(p, "content", items)? {
        let inquiry_id = text(q, "inquiryNo").ok_or_else(|| field(p, "inquiryNo", "an inquiry has none"))?;
        let question = match (content(q, "title"), content(q, "inquiryContent")) {
            (Some(t), Some(c)) => format!("{t}\n{c}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return Err(field(p, "inquiryContent", format!("inquiry {inquiry_id} has no text"))),
        };
        let answered = flag(q, "answered");
        let answer = content(q, "answerContent").filter(|_| answered != Some(false));
        let is_answered = answer.is_some() || answered == Some(true);
        let asked_at = when(p, "inquiryRegistrationDateTime", q, "inquiryRegistrationDateTime")?
            .ok_or_else(|| field(p, "inquiryRegistrationDateTime", format!("inquiry {inquiry_id} has none")))?;
        let answered_at =
            if is_answered { when(p, "answerRegistrationDateTime", q, "answerRegistrationDateTime")? } else { None };
        parsed.inquiries.push(InquiryFact {
            inquiry_id,
            product_id: text(q, "productNo"),
            order_id: text(q, "orderId"),
            question,
            answer,
            status: if is_answered { "answered" } else { "open" }.into(),
            asked_at,
            answered_at,
        });
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------------
// Settlements

/// Commissions as the fee the seller bears: the magnitude of their sum, with the sign of the gross amount.
fn fees_like_gross(gross: i64, commissions: i64) -> i64 {
    if gross < 0 {
        -commissions.abs()
    } else {
        commissions.abs()
    }
}

/// `settled` once Naver gives a completion date, else `scheduled`.
fn settle_status(e: &Obj) -> Option<String> {
    Some(if text(e, "settleCompleteDate").is_some() { "settled" } else { "scheduled" }.into())
}

pub(crate) fn settlements(p: &'static str, body: &[u8], ctx: &SellerContext<'_>) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let r = root(p, &v)?;
    refuse_error(p, r)?;
    let items = list(r, "elements").ok_or_else(|| unrecognized(p, format!("no `elements` list (keys {})", keys(r))))?;
    let elements = objects(p, "elements", items)?;
    let mut parsed = SellerParsed::default();
    if elements.is_empty() {
        return Ok(parsed);
    }
    let cur = currency(p, None, ctx.default_currency)?;
    for (i, e) in elements.into_iter().enumerate() {
        let fact = if e.contains_key("settleBasisStartDate") {
            daily(p, e, &cur)?
        } else if e.contains_key("paySettleAmount") && e.contains_key("settleExpectAmount") {
            by_case(p, e, &cur)?
        } else if e.contains_key("commissionAmount") {
            return Err(unrecognized(p, "commission details are not settlements (use settle/daily or settle/case)"));
        } else {
            return Err(unrecognized(
                p,
                format!("element {i} is not a daily or per-case settlement (keys {})", keys(e)),
            ));
        };
        parsed.settlements.push(fact);
    }
    Ok(parsed)
}

fn daily(p: &'static str, e: &Obj, cur: &Currency) -> Result<SettlementFact, ParseError> {
    let start_day = text(e, "settleBasisStartDate").unwrap_or_default();
    let end_day = text(e, "settleBasisEndDate").unwrap_or_else(|| start_day.clone());
    let (period_start, _) = day_field(p, "settleBasisStartDate", e, "settleBasisStartDate", KST)?;
    let end_key = if e.contains_key("settleBasisEndDate") { "settleBasisEndDate" } else { "settleBasisStartDate" };
    let (_, period_end) = day_field(p, "settleBasisEndDate", e, end_key, KST)?;
    let gross = minor_req(p, "paySettleAmount", e.get("paySettleAmount"), cur)?;
    let commissions = minor(p, "commissionSettleAmount", e.get("commissionSettleAmount"), cur)?.unwrap_or(0);
    let mut settlement_id = format!("daily:{start_day}:{end_day}");
    if let Some(method) = text(e, "settleMethodType") {
        settlement_id.push(':');
        settlement_id.push_str(&method);
    }
    Ok(SettlementFact {
        settlement_id,
        period_start,
        period_end,
        currency: cur.code.clone(),
        gross_minor: gross,
        fees_minor: fees_like_gross(gross, commissions),
        net_minor: minor_req(p, "settleAmount", e.get("settleAmount"), cur)?,
        status: settle_status(e),
    })
}

fn by_case(p: &'static str, e: &Obj, cur: &Currency) -> Result<SettlementFact, ParseError> {
    let (period_start, period_end) = day_field(p, "settleBasisDate", e, "settleBasisDate", KST)?;
    let gross = minor_req(p, "paySettleAmount", e.get("paySettleAmount"), cur)?;
    let mut commissions = 0;
    for k in ["totalPayCommissionAmount", "freeInstallmentCommissionAmount", "sellingInterlockCommissionAmount"] {
        let c = minor(p, "commissionAmount", e.get(k), cur)?.unwrap_or(0);
        commissions = add(p, "commissionAmount", commissions, c)?;
    }
    let target = text(e, "productOrderId")
        .or_else(|| text(e, "orderId"))
        .ok_or_else(|| field(p, "productOrderId", "a per-case settlement names no product order"))?;
    let kind = text(e, "productOrderType").unwrap_or_default();
    let settle_type = text(e, "settleType").unwrap_or_default();
    Ok(SettlementFact {
        settlement_id: format!("case:{kind}:{target}:{settle_type}"),
        period_start,
        period_end,
        currency: cur.code.clone(),
        gross_minor: gross,
        fees_minor: fees_like_gross(gross, commissions),
        net_minor: minor_req(p, "settleExpectAmount", e.get("settleExpectAmount"), cur)?,
        status: settle_status(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status("PAYMENT_WAITING"), "pending");
        assert_eq!(status("PAYED"), "paid");
        assert_eq!(status("DELIVERING"), "shipped");
        assert_eq!(status("PURCHASE_DECIDED"), "delivered");
        assert_eq!(status("CANCELED_BY_NOPAYMENT"), "cancelled");
        assert_eq!(status("RETURNED"), "returned");
        assert_eq!(status("string"), "other");
    }

    #[test]
    fn fees_follow_the_sign_of_the_gross_amount() {
        assert_eq!(fees_like_gross(70000, -3000), 3000);
        assert_eq!(fees_like_gross(70000, 3000), 3000);
        assert_eq!(fees_like_gross(-70000, 3000), -3000);
        assert_eq!(fees_like_gross(0, 0), 0);
    }
}
