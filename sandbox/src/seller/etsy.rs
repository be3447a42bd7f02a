//! Etsy Open API v3 shop receipts (`getShopReceipts`): `x-api-key` (the app's keystring) plus an OAuth2
//! `Authorization: Bearer` token, `limit`/`offset` paging with the total in `count`.

use std::cmp::Reverse;

use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::universe::{Line, Order, Status};
use super::{merge, reply_json, too_many, Req, Seller};

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;
/// The first Etsy shop id; account N has shop `SHOP_ID_BASE + N`.
const SHOP_ID_BASE: u64 = 10_000_000;
/// The first Etsy user id of a seller; account N is user `SELLER_USER_ID_BASE + N`.
const SELLER_USER_ID_BASE: u64 = 80_000_000;
/// Etsy's property id of a listing's primary color.
const COLOR_PROPERTY: u64 = 200;

/// The Etsy shop id of account number `no`.
pub(super) fn shop_id(no: u32) -> u64 {
    SHOP_ID_BASE + u64::from(no)
}

/// The Etsy user id of the seller of account number `no` (the prefix of its OAuth token, as Etsy's are).
pub(super) fn seller_user_id(no: u32) -> u64 {
    SELLER_USER_ID_BASE + u64::from(no)
}

fn error(status: StatusCode, message: &str) -> Response {
    reply_json(status, &json!({ "error": message }), Vec::new())
}

/// Checks the keystring, then the token, then that the shop is the token owner's; the account index or the error.
fn authenticate(s: &Seller, req: &Req, shop: &str) -> Result<usize, Box<Response>> {
    let key = req.header("x-api-key").map(str::trim).unwrap_or("");
    let Some(index) = s.find_account(|c| !key.is_empty() && c.etsy_keystring == key) else {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, "Invalid API key")));
    };
    let token = req.header(AUTHORIZATION.as_str()).and_then(|h| h.trim().strip_prefix("Bearer ")).map(str::trim);
    if token != Some(s.creds(index).etsy_token.as_str()) {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, "invalid_token")));
    }
    match s.find_account(|c| c.etsy_shop_id == shop) {
        Some(owner) if owner == index => Ok(index),
        Some(_) => Err(Box::new(error(
            StatusCode::FORBIDDEN,
            &format!("Shop {shop} does not belong to the authenticated user"),
        ))),
        None => Err(Box::new(error(StatusCode::NOT_FOUND, &format!("Could not find a Shop with shop_id = {shop}")))),
    }
}

/// An optional non-negative integer parameter.
fn uint(req: &Req, name: &str) -> Result<Option<u64>, Box<Response>> {
    match req.param(name).map(|v| v.trim().parse::<u64>()) {
        None => Ok(None),
        Some(Ok(n)) => Ok(Some(n)),
        Some(Err(_)) => Err(Box::new(error(StatusCode::BAD_REQUEST, &format!("Expected int >= 0 for {name}")))),
    }
}

/// An optional boolean parameter.
fn boolean(req: &Req, name: &str) -> Result<Option<bool>, Box<Response>> {
    match req.param(name).map(str::trim) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(Box::new(error(StatusCode::BAD_REQUEST, &format!("Expected a boolean for {name}")))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortOn {
    Created,
    Updated,
    ReceiptId,
}

/// The query of one receipts request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    min_created: Option<u64>,
    max_created: Option<u64>,
    min_modified: Option<u64>,
    max_modified: Option<u64>,
    was_paid: Option<bool>,
    was_shipped: Option<bool>,
    was_delivered: Option<bool>,
    was_canceled: Option<bool>,
    sort_on: SortOn,
    ascending: bool,
    limit: usize,
    offset: usize,
}

impl Filter {
    fn from_params(req: &Req) -> Result<Filter, Box<Response>> {
        let limit = match uint(req, "limit")? {
            None => DEFAULT_LIMIT,
            Some(0) => return Err(Box::new(error(StatusCode::BAD_REQUEST, "Expected int >= 1 for limit"))),
            Some(n) => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
        };
        let sort_on = match req.param("sort_on").unwrap_or("created") {
            "created" => SortOn::Created,
            "updated" => SortOn::Updated,
            "receipt_id" => SortOn::ReceiptId,
            _ => {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "sort_on must be one of created, updated, receipt_id",
                )))
            }
        };
        let ascending = match req.param("sort_order").unwrap_or("desc") {
            "asc" | "ascending" | "up" => true,
            "desc" | "descending" | "down" => false,
            _ => {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "sort_order must be one of asc, ascending, desc, descending",
                )))
            }
        };
        Ok(Filter {
            min_created: uint(req, "min_created")?,
            max_created: uint(req, "max_created")?,
            min_modified: uint(req, "min_last_modified")?,
            max_modified: uint(req, "max_last_modified")?,
            was_paid: boolean(req, "was_paid")?,
            was_shipped: boolean(req, "was_shipped")?,
            was_delivered: boolean(req, "was_delivered")?,
            was_canceled: boolean(req, "was_canceled")?,
            sort_on,
            ascending,
            limit,
            offset: uint(req, "offset")?.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        })
    }

    fn matches(&self, o: &Order) -> bool {
        let flag = |want: Option<bool>, has: bool| want.is_none_or(|w| w == has);
        in_window(o.created_ms, self.min_created, self.max_created)
            && in_window(o.changed_ms, self.min_modified, self.max_modified)
            && flag(self.was_paid, o.paid_ms.is_some())
            && flag(self.was_shipped, o.shipped_ms.is_some())
            && flag(self.was_delivered, o.delivered_ms.is_some())
            && flag(self.was_canceled, o.status == Status::Cancelled)
    }
}

/// `[min, max)` in Unix seconds over a time in ms.
fn in_window(ms: i64, min: Option<u64>, max: Option<u64>) -> bool {
    let secs = ms.div_euclid(1000);
    min.is_none_or(|m| i128::from(secs) >= i128::from(m)) && max.is_none_or(|m| i128::from(secs) < i128::from(m))
}

/// `GET /v3/application/shops/{shop_id}/receipts?min_created=&max_created=&min_last_modified=&max_last_modified=
/// &was_paid=&was_shipped=&was_delivered=&was_canceled=&sort_on=&sort_order=&limit=&offset=`.
pub(super) fn receipts(s: &Seller, req: &Req, shop: &str) -> Response {
    let index = match authenticate(s, req, shop) {
        Ok(i) => i,
        Err(response) => return *response,
    };
    if s.throttled("etsy.receipts", index, req) {
        return too_many(&json!({ "error": "You have exceeded your rate limit. Please try again later." }));
    }
    let f = match Filter::from_params(req) {
        Ok(f) => f,
        Err(response) => return *response,
    };

    let universe = s.universe(index);
    let mut rows: Vec<&Order> = universe.orders.iter().filter(|o| f.matches(o)).collect();
    let key = |o: &Order| match f.sort_on {
        SortOn::Updated => (o.changed_ms, o.id),
        SortOn::ReceiptId => (0, o.id),
        SortOn::Created => (o.created_ms, o.id),
    };
    if f.ascending {
        rows.sort_by_key(|o| key(o));
    } else {
        rows.sort_by_key(|o| Reverse(key(o)));
    }
    let total = rows.len();
    let start = f.offset.min(total);
    let end = start.saturating_add(f.limit).min(total);
    let no = index as u32 + 1;
    let results: Vec<Value> = rows[start..end].iter().map(|o| receipt_json(o, no)).collect();
    reply_json(StatusCode::OK, &json!({ "count": total, "results": results }), Vec::new())
}

fn money(cents: i64) -> Value {
    json!({ "amount": cents, "divisor": 100, "currency_code": "USD" })
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn opt_secs(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| json!(secs(t)))
}

/// Etsy's receipt status of an order.
fn status_of(o: &Order) -> &'static str {
    match o.status {
        Status::Pending => "Payment Processing",
        Status::Paid => "Paid",
        Status::Shipped | Status::Delivered => "Completed",
        Status::Cancelled => "Canceled",
        Status::Returned => "Fully Refunded",
    }
}

fn transaction_json(o: &Order, l: &Line, seller: u64) -> Value {
    let p = &l.product;
    let value_id = 52_000_000_000 + p.variant_no;
    json!({
        "transaction_id": l.id,
        "title": p.title,
        "description": format!("{} in {}. Handmade to order by the Shopstream Sandbox shop.", p.title, p.variant),
        "seller_user_id": seller,
        "buyer_user_id": o.buyer.id,
        "create_timestamp": secs(o.created_ms),
        "created_timestamp": secs(o.created_ms),
        "paid_timestamp": opt_secs(o.paid_ms),
        "shipped_timestamp": opt_secs(o.shipped_ms),
        "quantity": l.quantity,
        "listing_image_id": p.product_id * 10 + 7,
        "receipt_id": o.id,
        "is_digital": false,
        "file_data": "",
        "listing_id": p.product_id,
        "sku": p.sku,
        "product_id": p.variant_id,
        "transaction_type": "listing",
        "price": money(p.usd_cents),
        "shipping_cost": money(0),
        "variations": [{
            "property_id": COLOR_PROPERTY,
            "value_id": value_id,
            "formatted_name": "Color",
            "formatted_value": p.variant
        }],
        "product_data": [{
            "property_id": COLOR_PROPERTY,
            "property_name": "Primary color",
            "scale_id": null,
            "scale_name": null,
            "value_ids": [value_id],
            "values": [p.variant]
        }],
        "shipping_profile_id": 208_000_000_000u64 + u64::from(o.account_no),
        "min_processing_days": 1,
        "max_processing_days": 3,
        "shipping_method": null,
        "shipping_upgrade": null,
        "expected_ship_date": secs(o.created_ms) + 3 * 86_400,
        "buyer_coupon": 0.0,
        "shop_coupon": 0.0
    })
}

fn receipt_json(o: &Order, no: u32) -> Value {
    let seller = seller_user_id(no);
    let total = o.usd_cents();
    let name = format!("{} {}", o.buyer.first_name, o.buyer.last_name);
    let street = format!("{} Example Street", o.buyer.id % 100 + 1);
    let shipments = match o.shipped_ms {
        Some(shipped) => json!([{
            "receipt_shipping_id": o.id * 10 + 5,
            "shipment_notification_timestamp": secs(shipped),
            "carrier_name": "USPS",
            "tracking_code": format!("9400{:018}", o.salt % 1_000_000_000_000_000_000)
        }]),
        None => json!([]),
    };
    let refunds = match o.refunded_ms() {
        Some(at) => json!([{
            "reason": if o.status == Status::Returned { "Return" } else { "Order Canceled" },
            "note_from_issuer": "",
            "status": "SUCCESS",
            "amount": money(total),
            "created_timestamp": secs(at)
        }]),
        None => json!([]),
    };
    merge([
        json!({
            "receipt_id": o.id,
            "receipt_type": 0,
            "seller_user_id": seller,
            "seller_email": format!("seller-{no:03}@example.test"),
            "buyer_user_id": o.buyer.id,
            "buyer_email": o.buyer.email,
            "name": name,
            "first_line": street,
            "second_line": null,
            "city": "Exampleville",
            "state": "KY",
            "zip": "00000",
            "status": status_of(o),
            "formatted_address": format!("{name}\n{street}\nEXAMPLEVILLE, KY 00000\nUnited States"),
            "country_iso": "US",
            "payment_method": "cc",
            "payment_email": null,
            "message_from_payment": null,
            "message_from_seller": "",
            "message_from_buyer": ""
        }),
        json!({
            "is_shipped": o.shipped_ms.is_some(),
            "is_paid": o.paid_ms.is_some(),
            "create_timestamp": secs(o.created_ms),
            "created_timestamp": secs(o.created_ms),
            "update_timestamp": secs(o.changed_ms),
            "updated_timestamp": secs(o.changed_ms),
            "is_gift": false,
            "gift_message": "",
            "gift_sender": "",
            "grandtotal": money(total),
            "subtotal": money(total),
            "total_price": money(total),
            "total_shipping_cost": money(0),
            "total_tax_cost": money(0),
            "total_vat_cost": money(0),
            "discount_amt": money(0),
            "gift_wrap_price": money(0),
            "shipments": shipments,
            "transactions": o.lines.iter().map(|l| transaction_json(o, l, seller)).collect::<Vec<_>>(),
            "refunds": refunds
        }),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_min_inclusive_max_exclusive_in_seconds() {
        assert!(in_window(5_000, Some(5), Some(6)));
        assert!(in_window(5_999, Some(5), Some(6)));
        assert!(!in_window(6_000, Some(5), Some(6)));
        assert!(!in_window(4_999, Some(5), None));
        assert!(in_window(4_999, None, None));
        assert_eq!(shop_id(7), 10_000_007);
    }
}
