//! WooCommerce REST API v3: orders and product reviews; HTTP Basic (or query) consumer key/secret, `page`/`per_page`
//! paging with `X-WP-Total`, `X-WP-TotalPages` and a `Link` header.

use std::cmp::Reverse;

use axum::http::header::{HeaderName, AUTHORIZATION, LINK};
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::universe::{Order, Review, Status};
use super::{decimal, fmt_local, merge, parse_time, reply_json, too_many, Req, Seller};

const DEFAULT_PER_PAGE: u32 = 10;
const MAX_PER_PAGE: u32 = 100;
/// The site's time zone (UTC+1): `date_created` is local, `date_created_gmt` UTC.
const SITE_OFFSET: i32 = 3600;
const NAIVE: &str = "%Y-%m-%dT%H:%M:%S";
const ORDER_STATUSES: [&str; 9] =
    ["pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash", "any"];

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    reply_json(status, &json!({ "code": code, "message": message, "data": { "status": status.as_u16() } }), Vec::new())
}

fn invalid_param(name: &str, why: &str) -> Response {
    reply_json(
        StatusCode::BAD_REQUEST,
        &json!({
            "code": "rest_invalid_param",
            "message": format!("Invalid parameter(s): {name}"),
            "data": { "status": 400, "params": { name: why } }
        }),
        Vec::new(),
    )
}

fn boxed_error(status: StatusCode, code: &str, message: &str) -> Box<Response> {
    Box::new(error(status, code, message))
}

fn boxed_param(name: &str, why: &str) -> Box<Response> {
    Box::new(invalid_param(name, why))
}

/// Checks the consumer key and secret (Basic auth first, then the query); the account index or the 401.
fn authenticate(s: &Seller, req: &Req, account: &str) -> Result<usize, Box<Response>> {
    let Some(index) = s.account_index(account) else {
        return Err(boxed_error(
            StatusCode::NOT_FOUND,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        ));
    };
    let basic = req
        .header(AUTHORIZATION.as_str())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(k, v)| (k.to_string(), v.to_string())));
    let query = match (req.param("consumer_key"), req.param("consumer_secret")) {
        (Some(k), Some(v)) => Some((k.to_string(), v.to_string())),
        _ => None,
    };
    let Some((key, secret)) = basic.or(query) else {
        return Err(boxed_error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ));
    };
    let creds = s.creds(index);
    if key != creds.woo_consumer_key {
        return Err(boxed_error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            "Consumer key is invalid.",
        ));
    }
    if secret != creds.woo_consumer_secret {
        return Err(boxed_error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            "Invalid signature - provided signature does not match.",
        ));
    }
    Ok(index)
}

/// `per_page` and `page` of the request.
fn paging(req: &Req) -> Result<(usize, usize), Box<Response>> {
    let per_page = match req.param("per_page").map(str::parse::<u32>) {
        None => DEFAULT_PER_PAGE,
        Some(Ok(n)) if n >= 1 => n.min(MAX_PER_PAGE),
        Some(_) => return Err(boxed_param("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")),
    };
    let page = match req.param("page").map(str::parse::<u32>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return Err(boxed_param("page", "page must be greater than or equal to 1")),
    };
    Ok((per_page as usize, page as usize))
}

/// A time filter; without an offset it is site-local time unless `dates_are_gmt=true`.
fn time_param(req: &Req, name: &str) -> Result<Option<i64>, Box<Response>> {
    let gmt = req.param("dates_are_gmt").is_some_and(|v| v == "true" || v == "1");
    match req.param(name) {
        None => Ok(None),
        Some(v) => parse_time(v, if gmt { 0 } else { SITE_OFFSET })
            .map(Some)
            .ok_or_else(|| boxed_param(name, &format!("Invalid date: {v}"))),
    }
}

fn in_range(t: i64, after: Option<i64>, before: Option<i64>) -> bool {
    after.is_none_or(|a| t >= a) && before.is_none_or(|b| t < b)
}

/// Answers one page of `rows` (already filtered and sorted) with WordPress's paging headers.
fn page_of(req: &Req, route: &str, rows: Vec<Value>, per_page: usize, page: usize) -> Response {
    let total = rows.len();
    let pages = total.div_ceil(per_page);
    if total > 0 && page > pages {
        return error(
            StatusCode::BAD_REQUEST,
            "woocommerce_rest_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        );
    }
    let link = |p: usize, rel: &str| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in req.query.iter().filter(|(k, _)| k != "page") {
            query.append_pair(k, v);
        }
        query.append_pair("page", &p.to_string());
        format!("<{}{route}?{}>; rel=\"{rel}\"", req.base, query.finish())
    };
    let mut links = Vec::new();
    if page > 1 && page <= pages {
        links.push(link(page - 1, "prev"));
    }
    if page < pages {
        links.push(link(page + 1, "next"));
    }
    let mut headers = vec![
        (HeaderName::from_static("x-wp-total"), total.to_string()),
        (HeaderName::from_static("x-wp-totalpages"), pages.to_string()),
    ];
    if !links.is_empty() {
        headers.push((LINK, links.join(", ")));
    }
    let body: Vec<Value> = rows.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    reply_json(StatusCode::OK, &Value::Array(body), headers)
}

fn throttled_response() -> Response {
    too_many(&json!({
        "code": "woocommerce_rest_too_many_requests",
        "message": "Too many requests. Please wait and try again.",
        "data": { "status": 429 }
    }))
}

pub(super) fn orders(s: &Seller, req: &Req, account: &str) -> Response {
    let index = match authenticate(s, req, account) {
        Ok(i) => i,
        Err(response) => return *response,
    };
    if s.throttled("woo.orders", index, req) {
        return throttled_response();
    }
    let (per_page, page) = match paging(req) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let mut times = [None; 4];
    for (slot, name) in times.iter_mut().zip(["modified_after", "modified_before", "after", "before"]) {
        match time_param(req, name) {
            Ok(t) => *slot = t,
            Err(response) => return *response,
        }
    }
    let [modified_after, modified_before, after, before] = times;
    let statuses: Vec<&str> = req.param("status").unwrap_or("any").split(',').map(str::trim).collect();
    if let Some(bad) = statuses.iter().find(|st| !ORDER_STATUSES.contains(st)) {
        return invalid_param("status", &format!("status[0] is not one of {}: {bad}", ORDER_STATUSES.join(", ")));
    }
    let ascending = match req.param("order").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        _ => return invalid_param("order", "order is not one of asc and desc."),
    };
    let orderby = req.param("orderby").unwrap_or("date");
    if !["date", "id", "modified", "include", "title", "slug"].contains(&orderby) {
        return invalid_param("orderby", "orderby is not one of date, id, include, title, slug and modified.");
    }

    let universe = s.universe(index);
    let mut rows: Vec<&Order> = universe
        .orders
        .iter()
        .filter(|o| statuses.contains(&"any") || statuses.contains(&status(o)))
        .filter(|o| in_range(o.changed_ms, modified_after, modified_before))
        .filter(|o| in_range(o.created_ms, after, before))
        .collect();
    match orderby {
        "modified" => rows.sort_by_key(|o| (o.changed_ms, o.id)),
        "id" => rows.sort_by_key(|o| o.id),
        _ => rows.sort_by_key(|o| (o.created_ms, o.id)),
    }
    if !ascending {
        rows.reverse();
    }
    let route = format!("/seller/woo/{account}/wp-json/wc/v3/orders");
    let values = rows.iter().map(|o| order_json(o, &req.base, &route)).collect();
    page_of(req, &route, values, per_page, page)
}

pub(super) fn reviews(s: &Seller, req: &Req, account: &str) -> Response {
    let index = match authenticate(s, req, account) {
        Ok(i) => i,
        Err(response) => return *response,
    };
    if s.throttled("woo.reviews", index, req) {
        return throttled_response();
    }
    let (per_page, page) = match paging(req) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let (after, before) = match (time_param(req, "after"), time_param(req, "before")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(response), _) | (_, Err(response)) => return *response,
    };
    let ascending = req.param("order") == Some("asc");
    let universe = s.universe(index);
    let mut rows: Vec<(&Order, &Review)> = universe
        .orders
        .iter()
        .filter_map(|o| o.review.as_ref().map(|r| (o, r)))
        .filter(|(_, r)| in_range(r.created_ms, after, before))
        .collect();
    if ascending {
        rows.sort_by_key(|(_, r)| (r.created_ms, r.id));
    } else {
        rows.sort_by_key(|(_, r)| Reverse((r.created_ms, r.id)));
    }
    let route = format!("/seller/woo/{account}/wp-json/wc/v3/products/reviews");
    let values = rows.iter().map(|(o, r)| review_json(o, r, &req.base, &route)).collect();
    page_of(req, &route, values, per_page, page)
}

fn status(o: &Order) -> &'static str {
    match o.status {
        Status::Pending => "pending",
        Status::Paid | Status::Shipped => "processing",
        Status::Delivered => "completed",
        Status::Cancelled => "cancelled",
        Status::Returned => "refunded",
    }
}

fn local(ms: i64) -> String {
    fmt_local(ms, SITE_OFFSET, NAIVE)
}

fn gmt(ms: i64) -> String {
    fmt_local(ms, 0, NAIVE)
}

fn opt(ms: Option<i64>, f: fn(i64) -> String) -> Value {
    ms.map_or(Value::Null, |t| json!(f(t)))
}

/// A price as WooCommerce's `price` number (whole amounts without decimals, like the fixture's `3`).
fn price_number(cents: i64) -> Value {
    if cents % 100 == 0 {
        json!(cents / 100)
    } else {
        json!(cents as f64 / 100.0)
    }
}

fn order_json(o: &Order, base: &str, route: &str) -> Value {
    let total = o.eur_cents();
    let completed = match o.status {
        Status::Delivered | Status::Returned => o.delivered_ms,
        _ => None,
    };
    let billing = json!({
        "first_name": o.buyer.first_name,
        "last_name": o.buyer.last_name,
        "company": "",
        "address_1": format!("Beispielstraße {}", o.buyer.id % 100 + 1),
        "address_2": "",
        "city": "Berlin",
        "state": "",
        "postcode": "10115",
        "country": "DE",
        "email": o.buyer.email,
        "phone": ""
    });
    let shipping = json!({
        "first_name": o.buyer.first_name,
        "last_name": o.buyer.last_name,
        "company": "",
        "address_1": format!("Beispielstraße {}", o.buyer.id % 100 + 1),
        "address_2": "",
        "city": "Berlin",
        "state": "",
        "postcode": "10115",
        "country": "DE"
    });
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            let subtotal = l.product.eur_cents * i64::from(l.quantity);
            json!({
                "id": l.id,
                "name": format!("{} &ndash; {}", l.product.title, l.product.variant),
                "product_id": l.product.product_id,
                "variation_id": l.product.variant_id,
                "quantity": l.quantity,
                "tax_class": "",
                "subtotal": decimal(subtotal),
                "subtotal_tax": "0.00",
                "total": decimal(subtotal),
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [{ "id": l.id * 10 + 1, "key": "pa_color", "value": l.product.variant.to_ascii_lowercase() }],
                "sku": l.product.sku,
                "price": price_number(l.product.eur_cents)
            })
        })
        .collect();
    let refunds = if o.status == Status::Returned {
        json!([{ "id": o.id * 10 + 9, "refund": "", "reason": "Returned by the customer", "total": decimal(-total) }])
    } else {
        json!([])
    };
    merge([
        json!({
            "id": o.id,
            "parent_id": 0,
            "number": o.id.to_string(),
            "order_key": format!("wc_order_{:013x}", o.salt % 0x10_0000_0000_0000),
            "created_via": "checkout",
            "version": "9.4.0",
            "status": status(o),
            "currency": "EUR",
            "date_created": local(o.created_ms),
            "date_created_gmt": gmt(o.created_ms),
            "date_modified": local(o.changed_ms),
            "date_modified_gmt": gmt(o.changed_ms)
        }),
        json!({
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": decimal(total),
            "total_tax": "0.00",
            "prices_include_tax": false,
            "customer_id": o.buyer.id,
            "customer_ip_address": "",
            "customer_user_agent": "",
            "customer_note": ""
        }),
        json!({
            "billing": billing,
            "shipping": shipping,
            "payment_method": "stripe",
            "payment_method_title": "Credit Card (Stripe)",
            "transaction_id": if o.paid_ms.is_some() { format!("pi_{:016x}", o.salt) } else { String::new() },
            "date_paid": opt(o.paid_ms, local),
            "date_paid_gmt": opt(o.paid_ms, gmt),
            "date_completed": opt(completed, local),
            "date_completed_gmt": opt(completed, gmt),
            "cart_hash": "",
            "meta_data": [],
            "line_items": lines,
            "tax_lines": [],
            "shipping_lines": [{
            "id": o.id * 10 + 8,
            "method_title": "Free shipping",
            "method_id": "free_shipping",
            "total": "0.00",
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": []
        }],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": refunds,
            "_links": {
                "self": [{ "href": format!("{base}{route}/{}", o.id) }],
                "collection": [{ "href": format!("{base}{route}") }],
                "customer": [{ "href": format!("{base}{}/customers/{}", route.trim_end_matches("/orders"), o.buyer.id) }]
            }
        }),
    ])
}

fn review_json(o: &Order, r: &Review, base: &str, route: &str) -> Value {
    const TEXTS: [&str; 5] = [
        "Terrible, it broke on the first day.",
        "Not what I expected.",
        "Does the job.",
        "Very nice, arrived quickly.",
        "Excellent quality, would buy again!",
    ];
    let text = TEXTS[(r.rating.clamp(1, 5) - 1) as usize];
    json!({
        "id": r.id,
        "date_created": local(r.created_ms),
        "date_created_gmt": gmt(r.created_ms),
        "product_id": r.product_id,
        "product_name": r.product_name,
        "product_permalink": format!("{base}/product/{}/", r.product_id),
        "status": "approved",
        "reviewer": format!("{} {}", o.buyer.first_name, o.buyer.last_name),
        "reviewer_email": o.buyer.email,
        "review": format!("<p>{text}</p>\n"),
        "rating": r.rating,
        "verified": true,
        "reviewer_avatar_urls": {
            "24": "https://secure.gravatar.com/avatar/?s=24&d=mm&r=g",
            "48": "https://secure.gravatar.com/avatar/?s=48&d=mm&r=g",
            "96": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g"
        },
        "_links": {
            "self": [{ "href": format!("{base}{route}/{}", r.id) }],
            "collection": [{ "href": format!("{base}{route}") }],
            "up": [{ "href": format!("{base}{}/{}", route.trim_end_matches("/reviews"), r.product_id) }]
        }
    })
}
