//! Shopify Admin REST `orders.json`: `X-Shopify-Access-Token`, cursor paging with `page_info` in the `Link` header.

use axum::http::header::LINK;
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::universe::{Line, Order, Status};
use super::{decimal, fmt_time, merge, parse_time, reply_json, too_many, Req, Seller};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 250;
/// The shop's time zone (the fixture's shop is at -05:00).
const SHOP_OFFSET: i32 = -5 * 3600;
/// Parameters allowed next to `page_info`.
const WITH_PAGE_INFO: [&str; 3] = ["page_info", "limit", "fields"];

fn error(status: StatusCode, errors: Value) -> Response {
    reply_json(status, &json!({ "errors": errors }), Vec::new())
}

/// The filter of a listing, carried inside `page_info` from page to page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Filter {
    status: String,
    umin: Option<i64>,
    umax: Option<i64>,
    cmin: Option<i64>,
    cmax: Option<i64>,
}

/// The opaque cursor: the filter, a direction and the (updated_at, id) key to continue from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PageInfo {
    f: Filter,
    /// `true` = the page after `key`, `false` = the page before it.
    next: bool,
    key: (i64, u64),
}

impl PageInfo {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(s: &str) -> Option<PageInfo> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
    }
}

impl Filter {
    fn from_params(req: &Req) -> Result<Filter, Box<Response>> {
        let status = req.param("status").unwrap_or("open").to_string();
        if !["open", "closed", "cancelled", "any"].contains(&status.as_str()) {
            return Err(Box::new(error(StatusCode::BAD_REQUEST, json!({ "status": ["is invalid"] }))));
        }
        let time = |name: &str| -> Result<Option<i64>, Box<Response>> {
            match req.param(name) {
                None => Ok(None),
                Some(v) => parse_time(v, SHOP_OFFSET).map(Some).ok_or_else(|| {
                    Box::new(error(StatusCode::BAD_REQUEST, json!({ name: ["must be an ISO 8601 time"] })))
                }),
            }
        };
        Ok(Filter {
            status,
            umin: time("updated_at_min")?,
            umax: time("updated_at_max")?,
            cmin: time("created_at_min")?,
            cmax: time("created_at_max")?,
        })
    }

    fn matches(&self, o: &Order) -> bool {
        let in_range = |t: i64, min: Option<i64>, max: Option<i64>| {
            min.is_none_or(|min| t >= min) && max.is_none_or(|max| t < max)
        };
        let status = match self.status.as_str() {
            "open" => matches!(o.status, Status::Pending | Status::Paid | Status::Shipped),
            "closed" => closed_at(o).is_some(),
            "cancelled" => o.status == Status::Cancelled,
            _ => true,
        };
        status && in_range(o.changed_ms, self.umin, self.umax) && in_range(o.created_ms, self.cmin, self.cmax)
    }
}

/// Delivered orders are archived (closed) at delivery.
fn closed_at(o: &Order) -> Option<i64> {
    match o.status {
        Status::Delivered | Status::Returned => o.delivered_ms,
        _ => None,
    }
}

pub(super) fn orders(s: &Seller, req: &Req, account: &str, version: &str) -> Response {
    let Some(index) = s.account_index(account) else {
        return error(StatusCode::NOT_FOUND, json!("Not Found"));
    };
    if req.header("x-shopify-access-token") != Some(s.creds(index).shopify_token.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            json!("[API] Invalid API key or access token (unrecognized login or wrong password)"),
        );
    }
    if s.throttled("shopify.orders", index, req) {
        return too_many(&json!({
            "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
        }));
    }
    let limit = match req.param("limit").map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => return error(StatusCode::BAD_REQUEST, json!({ "limit": ["must be a number from 1 to 250"] })),
    } as usize;
    let (filter, cursor) = match req.param("page_info") {
        Some(raw) => {
            if let Some((extra, _)) = req.query.iter().find(|(k, _)| !WITH_PAGE_INFO.contains(&k.as_str())) {
                return error(
                    StatusCode::BAD_REQUEST,
                    json!({ "page_info": [format!("cannot be passed with {extra}")] }),
                );
            }
            match PageInfo::decode(raw) {
                Some(p) => (p.f.clone(), Some(p)),
                None => return error(StatusCode::BAD_REQUEST, json!({ "page_info": ["Invalid value."] })),
            }
        }
        None => match Filter::from_params(req) {
            Ok(f) => (f, None),
            Err(response) => return *response,
        },
    };

    let universe = s.universe(index);
    let mut rows: Vec<&Order> = universe.orders.iter().filter(|o| filter.matches(o)).collect();
    rows.sort_by_key(|o| (o.changed_ms, o.id));
    let key = |o: &Order| (o.changed_ms, o.id);
    let (start, end) = match &cursor {
        None => (0, limit.min(rows.len())),
        Some(p) if p.next => {
            let start = rows.partition_point(|o| key(o) <= p.key);
            (start, (start + limit).min(rows.len()))
        }
        Some(p) => {
            let end = rows.partition_point(|o| key(o) < p.key);
            (end.saturating_sub(limit), end)
        }
    };
    let page = &rows[start..end];

    let mut links = Vec::new();
    let link = |p: PageInfo, rel: &str| {
        format!(
            "<{}/seller/shopify/{account}/admin/api/{version}/orders.json?limit={limit}&page_info={}>; rel=\"{rel}\"",
            req.base,
            p.encode()
        )
    };
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        if start > 0 {
            links.push(link(PageInfo { f: filter.clone(), next: false, key: key(first) }, "previous"));
        }
        if end < rows.len() {
            links.push(link(PageInfo { f: filter.clone(), next: true, key: key(last) }, "next"));
        }
    }
    let headers = if links.is_empty() { Vec::new() } else { vec![(LINK, links.join(", "))] };
    let body = json!({ "orders": page.iter().map(|o| order_json(o)).collect::<Vec<_>>() });
    reply_json(StatusCode::OK, &body, headers)
}

fn money_set(cents: i64) -> Value {
    let m = json!({ "amount": decimal(cents), "currency_code": "USD" });
    json!({ "shop_money": m, "presentment_money": m })
}

fn time(ms: i64) -> String {
    fmt_time(ms, SHOP_OFFSET, false)
}

fn opt_time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| json!(time(t)))
}

fn line_json(o: &Order, l: &Line) -> Value {
    let refunded = o.refunded_ms().is_some();
    let shipped = o.shipped_ms.is_some();
    let fulfillable = o.paid_ms.is_some() && !shipped && o.status != Status::Cancelled;
    json!({
        "id": l.id,
        "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", l.id),
        "attributed_staffs": [],
        "current_quantity": if refunded { 0 } else { l.quantity },
        "fulfillable_quantity": if fulfillable { l.quantity } else { 0 },
        "fulfillment_service": "manual",
        "fulfillment_status": if shipped { json!("fulfilled") } else { Value::Null },
        "gift_card": false,
        "grams": 200,
        "name": l.product.full_name(),
        "price": decimal(l.product.usd_cents),
        "price_set": money_set(l.product.usd_cents),
        "product_exists": true,
        "product_id": l.product.product_id,
        "properties": [],
        "quantity": l.quantity,
        "requires_shipping": true,
        "sku": l.product.sku,
        "taxable": true,
        "title": l.product.title,
        "total_discount": "0.00",
        "total_discount_set": money_set(0),
        "variant_id": l.product.variant_id,
        "variant_inventory_management": "shopify",
        "variant_title": l.product.variant,
        "vendor": "Shopstream Sandbox",
        "tax_lines": [],
        "duties": [],
        "discount_allocations": []
    })
}

fn address(o: &Order) -> Value {
    json!({
        "first_name": o.buyer.first_name,
        "address1": format!("{} Example Street", o.buyer.id % 100 + 1),
        "phone": null,
        "city": "Exampleville",
        "zip": "00000",
        "province": "Kentucky",
        "country": "United States",
        "last_name": o.buyer.last_name,
        "address2": "",
        "company": null,
        "latitude": null,
        "longitude": null,
        "name": format!("{} {}", o.buyer.first_name, o.buyer.last_name),
        "country_code": "US",
        "province_code": "KY"
    })
}

fn order_json(o: &Order) -> Value {
    let total = o.usd_cents();
    let refunded = o.refunded_ms();
    let current = if refunded.is_some() { 0 } else { total };
    let financial_status = match o.status {
        Status::Pending => "pending",
        Status::Paid | Status::Shipped | Status::Delivered => "paid",
        Status::Cancelled | Status::Returned => "refunded",
    };
    let number = 1000 + o.number;
    let lines: Vec<Value> = o.lines.iter().map(|l| line_json(o, l)).collect();
    let fulfillments = match o.shipped_ms {
        Some(shipped) => json!([{
            "id": o.id * 10,
            "admin_graphql_api_id": format!("gid://shopify/Fulfillment/{}", o.id * 10),
            "created_at": time(shipped),
            "location_id": 655_441_491,
            "name": format!("#{number}.1"),
            "order_id": o.id,
            "origin_address": {},
            "receipt": {},
            "service": "manual",
            "shipment_status": if o.delivered_ms.is_some() { "delivered" } else { "in_transit" },
            "status": "success",
            "tracking_company": "USPS",
            "tracking_number": format!("1Z{:016}", o.salt % 10_000_000_000_000_000),
            "tracking_numbers": [format!("1Z{:016}", o.salt % 10_000_000_000_000_000)],
            "updated_at": time(o.delivered_ms.unwrap_or(shipped)),
            "line_items": lines.clone()
        }]),
        None => json!([]),
    };
    let refunds = match refunded {
        Some(at) => {
            let refund_id = o.id * 10 + 9;
            let refund_lines: Vec<Value> = o
                .lines
                .iter()
                .zip(&lines)
                .map(|(l, line)| {
                    let subtotal = l.product.usd_cents * i64::from(l.quantity);
                    json!({
                        "id": l.id * 10 + 9,
                        "line_item_id": l.id,
                        "location_id": null,
                        "quantity": l.quantity,
                        "restock_type": if o.status == Status::Returned { "return" } else { "cancel" },
                        "subtotal": subtotal as f64 / 100.0,
                        "subtotal_set": money_set(subtotal),
                        "total_tax": 0.0,
                        "total_tax_set": money_set(0),
                        "line_item": line
                    })
                })
                .collect();
            json!([{
                "id": refund_id,
                "admin_graphql_api_id": format!("gid://shopify/Refund/{refund_id}"),
                "created_at": time(at),
                "note": if o.status == Status::Returned { "returned by the customer" } else { "order cancelled" },
                "order_id": o.id,
                "processed_at": time(at),
                "restock": true,
                "user_id": null,
                "order_adjustments": [],
                "transactions": [{
                    "id": refund_id + 1,
                    "admin_graphql_api_id": format!("gid://shopify/OrderTransaction/{}", refund_id + 1),
                    "amount": decimal(total),
                    "authorization": null,
                    "created_at": time(at),
                    "currency": "USD",
                    "gateway": "bogus",
                    "kind": "refund",
                    "order_id": o.id,
                    "parent_id": null,
                    "processed_at": time(at),
                    "status": "success",
                    "test": false
                }],
                "refund_line_items": refund_lines,
                "duties": []
            }])
        }
        None => json!([]),
    };
    merge([
        json!({
            "id": o.id,
            "admin_graphql_api_id": format!("gid://shopify/Order/{}", o.id),
            "app_id": null,
            "browser_ip": null,
            "buyer_accepts_marketing": false,
            "cancel_reason": if o.cancelled_ms.is_some() { json!("customer") } else { Value::Null },
            "cancelled_at": opt_time(o.cancelled_ms),
            "closed_at": opt_time(closed_at(o)),
            "confirmation_number": format!("{:X}", o.salt % 0xF_FFFF_FFFF),
            "confirmed": true,
            "contact_email": o.buyer.email,
            "created_at": time(o.created_ms),
            "currency": "USD"
        }),
        json!({
            "current_subtotal_price": decimal(current),
            "current_subtotal_price_set": money_set(current),
            "current_total_discounts": "0.00",
            "current_total_discounts_set": money_set(0),
            "current_total_price": decimal(current),
            "current_total_price_set": money_set(current),
            "current_total_tax": "0.00",
            "current_total_tax_set": money_set(0),
            "customer_locale": "en",
            "discount_codes": [],
            "email": o.buyer.email,
            "estimated_taxes": false,
            "financial_status": financial_status,
            "fulfillment_status": if o.shipped_ms.is_some() { json!("fulfilled") } else { Value::Null }
        }),
        json!({
            "name": format!("#{number}"),
            "note": null,
            "number": o.number,
            "order_number": number,
            "presentment_currency": "USD",
            "processed_at": time(o.created_ms),
            "source_name": "web",
            "subtotal_price": decimal(total),
            "subtotal_price_set": money_set(total),
            "tags": "",
            "taxes_included": false,
            "test": false,
            "token": format!("{:016x}", o.salt),
            "total_discounts": "0.00",
            "total_discounts_set": money_set(0),
            "total_line_items_price": decimal(total),
            "total_line_items_price_set": money_set(total),
            "total_outstanding": if o.paid_ms.is_some() { "0.00".to_string() } else { decimal(total) },
            "total_price": decimal(total),
            "total_price_set": money_set(total),
            "total_shipping_price_set": money_set(0),
            "total_tax": "0.00",
            "total_tax_set": money_set(0),
            "total_weight": 200 * o.quantity(),
            "updated_at": time(o.changed_ms),
            "user_id": null
        }),
        json!({
            "billing_address": address(o),
            "customer": {
                "id": o.buyer.id,
                "email": o.buyer.email,
                "created_at": time(o.created_ms),
                "updated_at": time(o.created_ms),
                "first_name": o.buyer.first_name,
                "last_name": o.buyer.last_name,
                "state": "enabled",
                "note": null,
                "verified_email": true,
                "multipass_identifier": null,
                "tax_exempt": false,
                "phone": null,
                "tags": "",
                "currency": "USD",
                "tax_exemptions": [],
                "admin_graphql_api_id": format!("gid://shopify/Customer/{}", o.buyer.id),
                "default_address": merge([address(o), json!({
                    "id": o.buyer.id,
                    "customer_id": o.buyer.id,
                    "country_name": "United States",
                    "default": true
                })])
            },
            "discount_applications": [],
            "fulfillments": fulfillments,
            "line_items": lines,
            "payment_terms": null,
            "refunds": refunds,
            "shipping_address": address(o),
        }),
        json!({
            "shipping_lines": [{
                "id": o.id * 10 + 8,
                "carrier_identifier": null,
                "code": "Standard",
                "discounted_price": "0.00",
                "discounted_price_set": money_set(0),
                "is_removed": false,
                "phone": null,
                "price": "0.00",
                "price_set": money_set(0),
                "requested_fulfillment_service_id": null,
                "source": "shopify",
                "title": "Standard",
                "tax_lines": [],
                "discount_allocations": []
            }],
            "tax_lines": [],
            "tax_exempt": false,
            "phone": null,
            "payment_gateway_names": ["bogus"],
            "note_attributes": [],
            "location_id": null,
            "duties_included": false,
            "total_tip_received": "0.00",
            "client_details": {
                "accept_language": null,
                "browser_height": null,
                "browser_ip": null,
                "browser_width": null,
                "session_hash": null,
                "user_agent": null
            }
        }),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_info_round_trips_and_rejects_garbage() {
        let p = PageInfo {
            f: Filter { status: "any".into(), umin: Some(1), umax: None, cmin: None, cmax: Some(5) },
            next: true,
            key: (1_700_000_000_000, 1_001_000_001),
        };
        let encoded = p.encode();
        assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(PageInfo::decode(&encoded), Some(p));
        assert_eq!(PageInfo::decode("not-a-cursor"), None);
    }
}
