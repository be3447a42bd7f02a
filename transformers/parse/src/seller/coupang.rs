//! Coupang WING Open API seller payloads. Every response is `{"code":200,"message":"OK","data":…}` (code as
//! a number or a string); another code is an error response and is refused with its message. Amounts carry
//! no currency (the source's default: KRW); naive times and dates are Korea time (UTC+9).
//!
//! - Ordersheets (발주서): one per shipment box; boxes are grouped by `orderId` into one order whose lines
//!   are the boxes' items. A line id is `{shipmentBoxId}:{vendorItemId}` (Coupang has no order-item id);
//!   `product_id` is Coupang's `productId`, `option_id` the `vendorItemId`, `sku` the seller's
//!   `externalVendorSkuCode`. Line total = `orderPrice − discountPrice`; order total = the lines plus each
//!   box's shipping and remote-area fees. A line carries its box's status (cancelled when the item is
//!   `canceled`). Coupang gives only masked buyer data (`eu*****@na`), so `buyer_ref` is `None`.
//!   Statuses: ACCEPT, INSTRUCT → paid; DEPARTURE, DELIVERING, NONE_TRACKING → shipped;
//!   FINAL_DELIVERY → delivered.
//! - Inquiries: product inquiries (`onlineInquiries`, answers = the seller's comments) and call-center
//!   inquiries (`callCenterInquiries`, id prefixed `callcenter:`; answers = the seller's (`vendor`) replies).
//!   The call center's transfer notes (`answerType: csAgent`) are not copied: they embed the customer's
//!   name and phone number.
//! - Settlements: revenue history (`revenue-history`, one per order entry: gross = sales + delivery fee,
//!   fees = service/courantee fees and VAT, net = settlement amounts; the period is the revenue
//!   recognition day), and the retired `settlementDetails` (one per item: gross = paid price + delivery
//!   fees, fees = `fee`, net = `estimatedSettlementAmount`, period = the estimated settlement day).
//!   Retroactive fee corrections are not settlements and are refused.

use serde_json::Value;

use super::util::{
    add, content, currency, day_field, earliest, field, flag, int_req, join_distinct, json, keys, latest, list, minor,
    minor_req, obj, objects, rollup, root, short, sum_present, text, time, unrecognized, Currency, Groups, Obj, KST,
};
use super::{InquiryFact, OrderFact, OrderLineFact, SellerContext, SellerParsed, SettlementFact};
use crate::ParseError;

/// The normalized status of a Coupang ordersheet status.
pub(crate) fn status(raw: &str) -> &'static str {
    match raw {
        "ACCEPT" | "INSTRUCT" => "paid",
        "DEPARTURE" | "DELIVERING" | "NONE_TRACKING" => "shipped",
        "FINAL_DELIVERY" => "delivered",
        _ => "other",
    }
}

/// The `data` of a successful response.
fn data<'a>(p: &'static str, v: &'a Value) -> Result<&'a Value, ParseError> {
    let r = root(p, v)?;
    if let Some(code) = text(r, "code") {
        if code != "200" && code != "SUCCESS" {
            let message = r.get("message").map(short).unwrap_or_default();
            return Err(unrecognized(p, format!("an error response (code {code}: {message})")));
        }
    }
    r.get("data").ok_or_else(|| unrecognized(p, format!("no `data` (keys {})", keys(r))))
}

/// A time in a Coupang payload (naive Korea time).
fn when(p: &'static str, name: &'static str, o: &Obj, key: &str) -> Result<Option<i64>, ParseError> {
    time(p, name, o, key, Some(KST))
}

// ---------------------------------------------------------------------------------------------------
// Ordersheets

pub(crate) fn ordersheets(p: &'static str, body: &[u8], ctx: &SellerContext<'_>) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let sheets: Vec<&Obj> = match data(p, &v)? {
        Value::Array(a) => objects(p, "data", a)?,
        Value::Object(o) => vec![o],
        other => return Err(unrecognized(p, format!("data is not a list or object: {}", short(other)))),
    };
    if let Some((i, s)) =
        sheets.iter().enumerate().find(|(_, s)| !(s.contains_key("shipmentBoxId") && s.contains_key("orderItems")))
    {
        return Err(unrecognized(p, format!("item {i} is not an ordersheet (keys {})", keys(s))));
    }
    let mut parsed = SellerParsed::default();
    if sheets.is_empty() {
        return Ok(parsed);
    }
    let cur = currency(p, None, ctx.default_currency)?;
    let mut groups: Groups<&Obj> = Groups::new();
    for s in sheets {
        let order_id = text(s, "orderId").ok_or_else(|| field(p, "orderId", "an ordersheet has none"))?;
        groups.push(order_id, s);
    }
    for (order_id, sheets) in groups.groups {
        parsed.orders.push(order(p, order_id, &sheets, &cur)?);
    }
    Ok(parsed)
}

fn order(p: &'static str, order_id: String, sheets: &[&Obj], cur: &Currency) -> Result<OrderFact, ParseError> {
    let (mut lines, mut raws, mut amounts) = (vec![], vec![], vec![]);
    let (mut ordered, mut paid, mut times) = (vec![], vec![], vec![]);
    for s in sheets {
        let box_id = text(s, "shipmentBoxId").ok_or_else(|| field(p, "shipmentBoxId", "an ordersheet has none"))?;
        let raw = text(s, "status").ok_or_else(|| field(p, "status", format!("box {box_id} has none")))?;
        let box_status = status(&raw);
        let ordered_at = when(p, "orderedAt", s, "orderedAt")?;
        let paid_at = when(p, "paidAt", s, "paidAt")?;
        ordered.push(ordered_at);
        paid.push(paid_at);
        times.extend([
            ordered_at,
            paid_at,
            when(p, "inTrasitDateTime", s, "inTrasitDateTime")?,
            when(p, "deliveredDate", s, "deliveredDate")?,
        ]);
        amounts.push(minor(p, "shippingPrice", s.get("shippingPrice"), cur)?);
        amounts.push(minor(p, "remotePrice", s.get("remotePrice"), cur)?);
        for item in objects(p, "orderItems", list(s, "orderItems").unwrap_or_default())? {
            let item_id = text(item, "vendorItemId")
                .ok_or_else(|| field(p, "vendorItemId", format!("an item of box {box_id} has none")))?;
            let order_price = minor(p, "orderPrice", item.get("orderPrice"), cur)?;
            let discount = minor(p, "discountPrice", item.get("discountPrice"), cur)?.unwrap_or(0);
            let total = match order_price {
                Some(o) => Some(add(p, "orderPrice", o, -discount)?),
                None => None,
            };
            amounts.push(total);
            let canceled = flag(item, "canceled") == Some(true);
            lines.push(OrderLineFact {
                line_id: format!("{box_id}:{item_id}"),
                product_id: text(item, "productId"),
                option_id: Some(item_id),
                sku: text(item, "externalVendorSkuCode"),
                title: text(item, "vendorItemName").or_else(|| text(item, "sellerProductName")),
                quantity: int_req(p, "shippingCount", item, "shippingCount")?,
                unit_price_minor: minor(p, "salesPrice", item.get("salesPrice"), cur)?,
                total_minor: total,
                status: Some(if canceled { "cancelled" } else { box_status }.into()),
            });
        }
        raws.push(raw);
    }
    let ordered_at = earliest(ordered);
    let changed_at = latest(times).ok_or_else(|| field(p, "orderedAt", format!("order {order_id} has no time")))?;
    Ok(OrderFact {
        status: rollup(lines.iter().filter_map(|l| l.status.as_deref())).into(),
        raw_status: join_distinct(raws.iter().map(String::as_str)),
        order_id,
        currency: Some(cur.code.clone()),
        total_minor: sum_present(p, "orderPrice", amounts)?,
        ordered_at,
        paid_at: earliest(paid),
        changed_at,
        buyer_ref: None,
        lines,
    })
}

// ---------------------------------------------------------------------------------------------------
// Inquiries

pub(crate) fn inquiries(p: &'static str, body: &[u8]) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let items: &[Value] = match data(p, &v)? {
        Value::Array(a) => a,
        Value::Object(o) => {
            list(o, "content").ok_or_else(|| unrecognized(p, format!("no data.content list (keys {})", keys(o))))?
        }
        other => return Err(unrecognized(p, format!("data is not a list or object: {}", short(other)))),
    };
    let mut parsed = SellerParsed::default();
    for (i, q) in objects(p, "content", items)?.into_iter().enumerate() {
        let fact = if q.contains_key("replies") || q.contains_key("csPartnerCounselingStatus") {
            call_center(p, q)?
        } else if q.contains_key("inquiryId") && q.contains_key("inquiryAt") {
            online(p, q)?
        } else {
            return Err(unrecognized(p, format!("item {i} is not a customer inquiry (keys {})", keys(q))));
        };
        parsed.inquiries.push(fact);
    }
    Ok(parsed)
}

fn online(p: &'static str, q: &Obj) -> Result<InquiryFact, ParseError> {
    let inquiry_id = text(q, "inquiryId").ok_or_else(|| field(p, "inquiryId", "an inquiry has none"))?;
    let question =
        content(q, "content").ok_or_else(|| field(p, "content", format!("inquiry {inquiry_id} has no text")))?;
    let asked_at = when(p, "inquiryAt", q, "inquiryAt")?
        .ok_or_else(|| field(p, "inquiryAt", format!("inquiry {inquiry_id} has none")))?;
    let (mut answers, mut times) = (vec![], vec![]);
    for c in objects(p, "commentDtoList", list(q, "commentDtoList").unwrap_or_default())? {
        if let Some(text) = content(c, "content") {
            answers.push(text);
            times.push(when(p, "inquiryCommentAt", c, "inquiryCommentAt")?);
        }
    }
    let order_ids: Vec<String> =
        list(q, "orderIds").unwrap_or_default().iter().filter_map(super::util::value_text).collect();
    Ok(InquiryFact {
        inquiry_id,
        product_id: text(q, "productId"),
        order_id: (!order_ids.is_empty()).then(|| order_ids.join(",")),
        question,
        status: if answers.is_empty() { "open" } else { "answered" }.into(),
        answer: (!answers.is_empty()).then(|| answers.join("\n\n")),
        asked_at,
        answered_at: latest(times),
    })
}

fn call_center(p: &'static str, q: &Obj) -> Result<InquiryFact, ParseError> {
    let id = text(q, "inquiryId").ok_or_else(|| field(p, "inquiryId", "an inquiry has none"))?;
    let question = content(q, "content").ok_or_else(|| field(p, "content", format!("inquiry {id} has no text")))?;
    let asked_at =
        when(p, "inquiryAt", q, "inquiryAt")?.ok_or_else(|| field(p, "inquiryAt", format!("inquiry {id} has none")))?;
    let (mut answers, mut times) = (vec![], vec![]);
    for r in objects(p, "replies", list(q, "replies").unwrap_or_default())? {
        if text(r, "answerType").as_deref() != Some("vendor") {
            continue;
        }
        if let Some(text) = content(r, "content") {
            answers.push(text);
            times.push(when(p, "replyAt", r, "replyAt")?);
        }
    }
    let answered = !answers.is_empty() || text(q, "csPartnerCounselingStatus").as_deref() == Some("answered");
    let answered_at = if answered { latest([when(p, "answeredAt", q, "answeredAt")?, latest(times)]) } else { None };
    Ok(InquiryFact {
        inquiry_id: format!("callcenter:{id}"),
        product_id: None,
        order_id: text(q, "orderId"),
        question,
        answer: (!answers.is_empty()).then(|| answers.join("\n\n")),
        status: if answered { "answered" } else { "open" }.into(),
        asked_at,
        answered_at,
    })
}

// ---------------------------------------------------------------------------------------------------
// Settlements

pub(crate) fn settlements(p: &'static str, body: &[u8], ctx: &SellerContext<'_>) -> Result<SellerParsed, ParseError> {
    let v = json(p, body)?;
    let items = match data(p, &v)? {
        Value::Array(a) => objects(p, "data", a)?,
        other => return Err(unrecognized(p, format!("data is not a list: {}", short(other)))),
    };
    let mut parsed = SellerParsed::default();
    if items.is_empty() {
        return Ok(parsed);
    }
    let cur = currency(p, None, ctx.default_currency)?;
    for (i, e) in items.into_iter().enumerate() {
        let fact = if e.contains_key("saleType") && e.contains_key("items") {
            revenue(p, e, &cur)?
        } else if e.contains_key("estimatedSettlementAmount") {
            settlement_detail(p, e, &cur)?
        } else if e.contains_key("feeCorrection") {
            return Err(unrecognized(p, "retroactive fee corrections are not settlements"));
        } else {
            return Err(unrecognized(p, format!("item {i} is not a revenue or settlement entry (keys {})", keys(e))));
        };
        parsed.settlements.push(fact);
    }
    Ok(parsed)
}

fn revenue(p: &'static str, e: &Obj, cur: &Currency) -> Result<SettlementFact, ParseError> {
    let order_id = text(e, "orderId").ok_or_else(|| field(p, "orderId", "a revenue entry has none"))?;
    let sale_type = text(e, "saleType").unwrap_or_default();
    let day = text(e, "recognitionDate").unwrap_or_default();
    let (period_start, period_end) = day_field(p, "recognitionDate", e, "recognitionDate", KST)?;
    let (mut gross, mut fees, mut net) = (0i64, 0i64, 0i64);
    for item in objects(p, "items", list(e, "items").unwrap_or_default())? {
        gross = add(p, "saleAmount", gross, minor_req(p, "saleAmount", item.get("saleAmount"), cur)?)?;
        for k in ["serviceFee", "serviceFeeVat", "couranteeFee", "couranteeFeeVat"] {
            fees = add(p, "serviceFee", fees, minor(p, "serviceFee", item.get(k), cur)?.unwrap_or(0))?;
        }
        net = add(p, "settlementAmount", net, minor_req(p, "settlementAmount", item.get("settlementAmount"), cur)?)?;
    }
    if let Some(d) = obj(e, "deliveryFee") {
        let amount = minor(p, "deliveryFee.amount", d.get("amount"), cur)?.unwrap_or(0);
        let fee = add(
            p,
            "deliveryFee.fee",
            minor(p, "deliveryFee.fee", d.get("fee"), cur)?.unwrap_or(0),
            minor(p, "deliveryFee.feeVat", d.get("feeVat"), cur)?.unwrap_or(0),
        )?;
        // `settlementAmount` of the delivery fee is often null: it is the amount less its fee and VAT.
        let settled = match minor(p, "deliveryFee.settlementAmount", d.get("settlementAmount"), cur)? {
            Some(s) => s,
            None => add(p, "deliveryFee.amount", amount, -fee)?,
        };
        gross = add(p, "deliveryFee.amount", gross, amount)?;
        fees = add(p, "deliveryFee.fee", fees, fee)?;
        net = add(p, "deliveryFee.settlementAmount", net, settled)?;
    }
    Ok(SettlementFact {
        settlement_id: format!("{order_id}:{sale_type}:{day}"),
        period_start,
        period_end,
        currency: cur.code.clone(),
        gross_minor: gross,
        fees_minor: fees,
        net_minor: net,
        status: None,
    })
}

fn settlement_detail(p: &'static str, e: &Obj, cur: &Currency) -> Result<SettlementFact, ParseError> {
    let order_id = text(e, "orderId").ok_or_else(|| field(p, "orderId", "a settlement entry has none"))?;
    let box_id = text(e, "shipmentBoxId").unwrap_or_default();
    let item_id = text(e, "vendorItemId").unwrap_or_default();
    let (period_start, period_end) = day_field(p, "estimatedSettlementDate", e, "estimatedSettlementDate", KST)?;
    let gross = sum_present(
        p,
        "paidPrice",
        [
            Some(minor_req(p, "paidPrice", e.get("paidPrice"), cur)?),
            minor(p, "orderDeliveryPrice", e.get("orderDeliveryPrice"), cur)?,
            minor(p, "orderRemoteAreaDeliveryPrice", e.get("orderRemoteAreaDeliveryPrice"), cur)?,
        ],
    )?
    .unwrap_or(0);
    Ok(SettlementFact {
        settlement_id: format!("{order_id}:{box_id}:{item_id}"),
        period_start,
        period_end,
        currency: cur.code.clone(),
        gross_minor: gross,
        fees_minor: minor(p, "fee", e.get("fee"), cur)?.unwrap_or(0),
        net_minor: minor_req(p, "estimatedSettlementAmount", e.get("estimatedSettlementAmount"), cur)?,
        status: Some("scheduled".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status("ACCEPT"), "paid");
        assert_eq!(status("INSTRUCT"), "paid");
        assert_eq!(status("DEPARTURE"), "shipped");
        assert_eq!(status("DELIVERING"), "shipped");
        assert_eq!(status("FINAL_DELIVERY"), "delivered");
        assert_eq!(status("SOMETHING_NEW"), "other");
    }

    #[test]
    fn an_error_code_is_refused_with_its_message() {
        let err = ordersheets("t", br#"{"code":400,"message":"Invalid vendorId"}"#, &SellerContext::default())
            .expect_err("error");
        assert!(err.to_string().contains("Invalid vendorId"), "{err}");
    }
}
