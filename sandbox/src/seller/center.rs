//! A seller center without a public API: a CSRF-protected login form, a second factor for some accounts, a cookie
//! session, and an internal JSON API shaped like Cafe24's `GET /api/v2/admin/orders` (with `embed=items`).

use std::collections::HashMap;

use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::universe::{Order, Status};
use super::{fmt_local, fmt_time, local_day, lock, merge, parse_day, reply, reply_json, too_many, Req, Seller, KST};

const HTML: &str = "text/html; charset=utf-8";
const LOGIN: &str = "/seller/center/login";
const OTP: &str = "/seller/center/otp";
const HOME: &str = "/seller/center/";
const PRELOGIN_COOKIE: &str = "center_prelogin";
const HALF_COOKIE: &str = "center_half";
const SESSION_COOKIE: &str = "center_session";
/// A login form (or a half-finished login) stays usable at least this long.
const FORM_LIFETIME_MS: i64 = 10 * 60 * 1000;
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;
const MAX_OFFSET: usize = 15_000;
/// `start_date`/`end_date` may span at most three months.
const MAX_SPAN_DAYS: i64 = 92;

#[derive(Debug)]
struct PreLogin {
    csrf: String,
    created_ms: i64,
}

#[derive(Debug)]
struct Half {
    account: usize,
    csrf: String,
    created_ms: i64,
}

#[derive(Debug)]
struct Session {
    account: usize,
    created_ms: i64,
}

/// The pre-login forms, half sessions (waiting for the second factor) and sessions.
#[derive(Debug, Default)]
pub(crate) struct CenterState {
    prelogins: HashMap<String, PreLogin>,
    halves: HashMap<String, Half>,
    sessions: HashMap<String, Session>,
}

impl CenterState {
    fn prune(&mut self, now_ms: i64, session_ms: i64) {
        let form_ms = session_ms.max(FORM_LIFETIME_MS);
        self.prelogins.retain(|_, p| now_ms - p.created_ms < form_ms);
        self.halves.retain(|_, h| now_ms - h.created_ms < form_ms);
        self.sessions.retain(|_, s| now_ms - s.created_ms < session_ms);
    }
}

fn session_ms(s: &Seller) -> i64 {
    i64::try_from(s.config().session_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

fn page_html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title} · Seller Center</title></head>\n\
         <body>\n<h1>{title}</h1>\n{body}\n</body></html>\n"
    )
}

fn login_form(csrf: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\">{e}</p>\n")).unwrap_or_default();
    page_html(
        "Log in",
        &format!(
            "{error}<form method=\"post\" action=\"{LOGIN}\">\n\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
             <label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\"></label>\n\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label>\n\
             <button type=\"submit\">Log in</button>\n</form>"
        ),
    )
}

fn otp_form(csrf: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\">{e}</p>\n")).unwrap_or_default();
    page_html(
        "Verification",
        &format!(
            "{error}<p>Enter the 6-digit code from your authenticator app.</p>\n\
             <form method=\"post\" action=\"{OTP}\">\n\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
             <label>Code <input type=\"text\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>\n\
             <button type=\"submit\">Verify</button>\n</form>"
        ),
    )
}

fn html(status: StatusCode, body: String, headers: Vec<(axum::http::HeaderName, String)>) -> Response {
    reply(status, HTML, headers, body)
}

fn redirect(status: StatusCode, to: &str, cookies: Vec<String>) -> Response {
    let mut headers = vec![(LOCATION, to.to_string())];
    headers.extend(cookies.into_iter().map(|c| (SET_COOKIE, c)));
    html(status, String::new(), headers)
}

fn to_login() -> Response {
    redirect(StatusCode::FOUND, LOGIN, Vec::new())
}

fn bad_csrf() -> Response {
    html(StatusCode::BAD_REQUEST, page_html("Bad request", "<p>Invalid or missing CSRF token.</p>"), Vec::new())
}

fn cookie(name: &str, value: &str, path: &str) -> String {
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax")
}

fn clear_cookie(name: &str, path: &str) -> String {
    format!("{name}=; Path={path}; HttpOnly; Max-Age=0")
}

fn new_session(s: &Seller, state: &mut CenterState, account: usize, now_ms: i64) -> String {
    let id = s.fresh_token("center-session", 48);
    state.sessions.insert(id.clone(), Session { account, created_ms: now_ms });
    cookie(SESSION_COOKIE, &id, "/seller")
}

/// The account of a valid session cookie.
fn session(s: &Seller, req: &Req) -> Option<usize> {
    let id = req.cookie(SESSION_COOKIE)?;
    let mut state = lock(&s.center);
    state.prune(req.now_ms, session_ms(s));
    state.sessions.get(&id).map(|session| session.account)
}

/// The login pages: `login`, `otp`, the dashboard (`/seller/center/`) and `logout`.
pub(super) fn page(s: &Seller, req: &Req, segs: &[&str]) -> Response {
    let get = req.method == Method::GET || req.method == Method::HEAD;
    let post = req.method == Method::POST;
    match segs {
        ["login"] if get => login_page(s, req),
        ["login"] if post => login(s, req),
        ["otp"] if get => otp_page(s, req),
        ["otp"] if post => otp(s, req),
        [""] if get => match session(s, req) {
            Some(account) => {
                let creds = s.creds(account);
                let body = format!(
                    "<p>Welcome, {} ({}).</p>\n<ul>\n<li><a href=\"/seller/center/api/v2/admin/orders\">Orders</a></li>\n\
                     <li><a href=\"/seller/center/logout\">Log out</a></li>\n</ul>",
                    creds.center_username, creds.account
                );
                html(StatusCode::OK, page_html("Dashboard", &body), Vec::new())
            }
            None => to_login(),
        },
        ["logout"] if get => {
            if let Some(id) = req.cookie(SESSION_COOKIE) {
                lock(&s.center).sessions.remove(&id);
            }
            redirect(StatusCode::SEE_OTHER, LOGIN, vec![clear_cookie(SESSION_COOKIE, "/seller")])
        }
        ["login" | "otp" | "" | "logout"] => {
            html(StatusCode::METHOD_NOT_ALLOWED, page_html("Method not allowed", ""), Vec::new())
        }
        _ => html(StatusCode::NOT_FOUND, page_html("Not found", ""), Vec::new()),
    }
}

fn login_page(s: &Seller, req: &Req) -> Response {
    let id = s.fresh_token("center-prelogin", 32);
    let csrf = s.fresh_token("center-csrf", 40);
    {
        let mut state = lock(&s.center);
        state.prune(req.now_ms, session_ms(s));
        state.prelogins.insert(id.clone(), PreLogin { csrf: csrf.clone(), created_ms: req.now_ms });
    }
    html(StatusCode::OK, login_form(&csrf, None), vec![(SET_COOKIE, cookie(PRELOGIN_COOKIE, &id, "/seller/center"))])
}

fn login(s: &Seller, req: &Req) -> Response {
    let form = req.form();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut state = lock(&s.center);
    state.prune(req.now_ms, session_ms(s));
    let Some(prelogin_id) = req.cookie(PRELOGIN_COOKIE) else {
        return bad_csrf();
    };
    let csrf = match state.prelogins.get(&prelogin_id) {
        Some(p) if field("csrf_token") == Some(p.csrf.as_str()) => p.csrf.clone(),
        _ => return bad_csrf(),
    };
    let (username, password) = (field("username").unwrap_or(""), field("password").unwrap_or(""));
    let Some(account) = s.find_account(|c| c.center_username == username && c.center_password == password) else {
        return html(StatusCode::OK, login_form(&csrf, Some("Invalid username or password")), Vec::new());
    };
    state.prelogins.remove(&prelogin_id);
    let clear = clear_cookie(PRELOGIN_COOKIE, "/seller/center");
    if s.creds(account).center_otp.is_some() {
        let half_id = s.fresh_token("center-half", 32);
        let half = Half { account, csrf: s.fresh_token("center-csrf", 40), created_ms: req.now_ms };
        state.halves.insert(half_id.clone(), half);
        return redirect(StatusCode::SEE_OTHER, OTP, vec![clear, cookie(HALF_COOKIE, &half_id, "/seller/center")]);
    }
    let session = new_session(s, &mut state, account, req.now_ms);
    redirect(StatusCode::SEE_OTHER, HOME, vec![clear, session])
}

fn otp_page(s: &Seller, req: &Req) -> Response {
    let Some(half_id) = req.cookie(HALF_COOKIE) else {
        return to_login();
    };
    let mut state = lock(&s.center);
    state.prune(req.now_ms, session_ms(s));
    match state.halves.get(&half_id) {
        Some(half) => html(StatusCode::OK, otp_form(&half.csrf, None), Vec::new()),
        None => to_login(),
    }
}

fn otp(s: &Seller, req: &Req) -> Response {
    let form = req.form();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(half_id) = req.cookie(HALF_COOKIE) else {
        return to_login();
    };
    let mut state = lock(&s.center);
    state.prune(req.now_ms, session_ms(s));
    let Some(half) = state.halves.get(&half_id) else {
        return to_login();
    };
    if field("csrf_token") != Some(half.csrf.as_str()) {
        return bad_csrf();
    }
    let account = half.account;
    let expected = s.creds(account).center_otp.as_deref();
    if expected.is_none() || field("code").map(str::trim) != expected {
        let form = otp_form(&half.csrf, Some("Invalid verification code"));
        return html(StatusCode::OK, form, Vec::new());
    }
    state.halves.remove(&half_id);
    let session = new_session(s, &mut state, account, req.now_ms);
    redirect(StatusCode::SEE_OTHER, HOME, vec![clear_cookie(HALF_COOKIE, "/seller/center"), session])
}

fn error(status: StatusCode, message: &str) -> Response {
    reply_json(status, &json!({ "error": { "code": status.as_u16(), "message": message } }), Vec::new())
}

/// `GET /seller/center/api/v2/admin/orders?start_date=&end_date=&limit=&offset=` with a session cookie.
pub(super) fn orders(s: &Seller, req: &Req) -> Response {
    let Some(account) = session(s, req) else {
        return to_login();
    };
    if s.throttled("center.orders", account, req) {
        return too_many(&json!({ "error": { "code": 429, "message": "Too Many Requests" } }));
    }
    let day = |name: &str| req.param(name).and_then(parse_day);
    let (Some(start), Some(end)) = (day("start_date"), day("end_date")) else {
        return error(StatusCode::BAD_REQUEST, "start_date and end_date (yyyy-mm-dd) are required.");
    };
    if end < start {
        return error(StatusCode::BAD_REQUEST, "end_date is before start_date.");
    }
    if end - start > MAX_SPAN_DAYS {
        return error(StatusCode::BAD_REQUEST, "The search period may be at most 3 months.");
    }
    let limit = match req.param("limit").map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => return error(StatusCode::BAD_REQUEST, "limit must be a positive number."),
    };
    let offset = match req.param("offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) if n <= MAX_OFFSET => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "offset must be a number from 0 to 15000."),
    };
    let universe = s.universe(account);
    let rows: Vec<&Order> =
        universe.orders.iter().filter(|o| (start..=end).contains(&local_day(o.created_ms, KST))).collect();
    let page: Vec<Value> = rows.iter().skip(offset).take(limit).map(|o| order_json(o)).collect();
    let mut links = Vec::new();
    if offset + limit < rows.len() {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in req.query.iter().filter(|(k, _)| k != "offset") {
            query.append_pair(k, v);
        }
        query.append_pair("offset", &(offset + limit).to_string());
        links.push(json!({ "rel": "next", "href": format!("{}{}?{}", req.base, req.path, query.finish()) }));
    }
    reply_json(StatusCode::OK, &json!({ "orders": page, "links": links }), Vec::new())
}

fn won(amount: i64) -> String {
    format!("{amount}.00")
}

fn kst(ms: i64) -> String {
    fmt_time(ms, KST, false)
}

fn opt_kst(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| json!(kst(t)))
}

fn opt_spaced(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| json!(fmt_local(t, KST, "%Y-%m-%d %H:%M:%S")))
}

/// Cafe24's (order_status, status_text, shipping_status).
fn status_of(o: &Order) -> (&'static str, &'static str, &'static str) {
    match o.status {
        Status::Pending => ("N00", "Before Deposit", "F"),
        Status::Paid => ("N10", "Preparing Product", "F"),
        Status::Shipped => ("N30", "Shipping", "M"),
        Status::Delivered => ("N40", "Shipping Complete", "T"),
        Status::Cancelled => ("C40", "Cancellation Complete", "F"),
        Status::Returned => ("R40", "Return Complete", "T"),
    }
}

fn amounts(o: &Order, payment: i64) -> Value {
    json!({
        "order_price_amount": won(o.krw()),
        "shipping_fee": "0.00",
        "points_spent_amount": "0.00",
        "credits_spent_amount": "0.00",
        "coupon_discount_price": "0.00",
        "coupon_shipping_fee_amount": "0.00",
        "membership_discount_amount": "0.00",
        "shipping_fee_discount_amount": "0.00",
        "set_product_discount_amount": "0.00",
        "app_discount_amount": "0.00",
        "point_incentive_amount": "0.00",
        "total_amount_due": if o.paid_ms.is_some() { "0.00".to_string() } else { won(payment) },
        "payment_amount": won(payment),
        "market_other_discount_amount": "0.00",
        "tax": "0.00"
    })
}

fn order_json(o: &Order) -> Value {
    let order_id = o.id.to_string();
    let (order_status, status_text, shipping_status) = status_of(o);
    let total = o.krw();
    let actual = if o.refunded_ms().is_some() { 0 } else { total };
    let claim_code = o.refunded_ms().map(|_| format!("C{}", o.id));
    let items: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let p = &l.product;
            let product_code = format!("P{:07X}", p.product_id % 0x1000_0000);
            merge([json!({
                "shop_no": 1,
                "item_no": i + 1,
                "order_item_code": format!("{order_id}-{:02}", i + 1),
                "variant_code": format!("{product_code}{:04X}", p.variant_no + 10),
                "product_no": p.product_id,
                "product_code": product_code,
                "internal_product_name": p.title,
                "custom_product_code": "",
                "custom_variant_code": p.sku,
                "eng_product_name": p.title,
                "option_id": format!("{:04X}", p.variant_no + 10),
                "option_value": format!("Color={}", p.variant),
                "option_value_default": format!("Color={}", p.variant),
                "additional_option_value": "",
                "additional_option_values": [],
                "product_name": p.title,
                "product_name_default": p.title,
                "product_price": won(p.krw),
                "option_price": "0.00",
                "additional_discount_price": "0.00",
                "coupon_discount_price": "0.00",
                "app_item_discount_amount": "0.00",
                "payment_amount": won(p.krw * i64::from(l.quantity)),
                "quantity": l.quantity,
                "product_tax_type": "A",
                "tax_rate": 10,
                "supplier_product_name": "",
                "supplier_transaction_type": "D",
                "supplier_id": "S0000000",
                "supplier_name": "Shopstream Sandbox"
            }),
            json!({
                "tracking_no": if o.shipped_ms.is_some() { json!(format!("{:012}", o.salt % 1_000_000_000_000)) } else { Value::Null },
                "shipping_code": format!("D-{order_id}-00"),
                "claim_code": &claim_code,
                "claim_reason_type": if o.refunded_ms().is_some() { json!("A") } else { Value::Null },
                "claim_reason": match o.status {
                    Status::Cancelled => json!("Changed my mind"),
                    Status::Returned => json!("Damaged product"),
                    _ => Value::Null,
                },
                "claim_quantity": if o.refunded_ms().is_some() { l.quantity } else { 0 },
                "order_status": order_status,
                "status_code": "N1",
                "status_text": status_text,
                "open_market_status": "",
                "bundled_shipping_type": "N",
                "shipping_company_id": if o.shipped_ms.is_some() { json!("2") } else { Value::Null },
                "shipping_company_name": if o.shipped_ms.is_some() { json!("CJ 대한통운") } else { Value::Null },
                "shipping_company_code": if o.shipped_ms.is_some() { json!("0006") } else { Value::Null },
                "product_bundle": "F",
                "individual_shipping_fee": "0.00",
                "shipping_fee_type": "X",
                "shipping_fee_type_text": "Free",
                "store_pickup": "F"
            }),
            json!({
                "ordered_date": fmt_local(o.created_ms, KST, "%Y-%m-%d %H:%M:%S"),
                "shipped_date": opt_spaced(o.shipped_ms),
                "delivered_date": opt_spaced(o.delivered_ms),
                "purchaseconfirmation_date": null,
                "cancel_date": opt_spaced(o.cancelled_ms),
                "return_confirmed_date": opt_spaced(o.returned_ms),
                "return_request_date": opt_spaced(o.returned_ms),
                "return_collected_date": opt_spaced(o.returned_ms),
                "cancel_request_date": opt_spaced(o.cancelled_ms),
                "refund_date": opt_spaced(o.refunded_ms()),
                "exchange_request_date": null,
                "exchange_date": null,
                "product_weight": "0.20",
                "origin_place": "Domestic",
                "made_in_code": "KR",
                "gift": "F",
                "subscription": "F",
                "options": [],
                "market_discount_amount": "0.00",
                "labels": null,
                "order_status_before_cs": if o.refunded_ms().is_some() { json!("N40") } else { Value::Null },
                "supply_price": won(p.krw * i64::from(l.quantity) * 10 / 11)
            }),
            json!({
                "hs_code": "",
                "option_type": null,
                "request_undone": null,
                "order_status_additional_info": null,
                "post_express_flag": null,
                "refund_bank_name": null,
                "refund_bank_account_no": null,
                "refund_bank_account_holder": null,
                "naver_pay_order_id": null,
                "naver_pay_claim_status": null,
                "product_bundle_no": "0",
                "product_bundle_name": null,
                "product_bundle_name_default": null,
                "product_bundle_type": null,
                "product_bundle_list": null,
                "was_product_bundle": null,
                "original_bundle_item_no": null,
                "original_item_no": [],
                "payment_info_id": "0",
                "shipping_payment_option": "F",
                "market_cancel_request": null,
                "market_cancel_request_quantity": null,
                "market_fail_reason": null,
                "market_fail_reason_guide": null,
                "market_item_no": null,
                "market_custom_variant_code": null
            })])
        })
        .collect();
    merge([
        json!({
            "shop_no": 1,
            "currency": "KRW",
            "order_id": order_id,
            "market_id": "self",
            "market_order_no": null,
            "member_id": format!("buyer{}", o.buyer.id),
            "member_email": o.buyer.email,
            "member_authentication": "T",
            "initial_order_amount": amounts(o, total),
            "actual_order_amount": amounts(o, actual),
            "billing_name": o.buyer.masked_name,
            "bank_code": null,
            "bank_account_no": null,
            "bank_account_owner_name": null,
            "market_discount_info": null,
            "shipping_fee_detail": [],
            "regional_surcharge_detail": [],
            "tax_detail": [],
            "additional_order_info_list": [],
            "bank_code_name": null,
            "payment_method": ["card"],
            "payment_method_name": ["Card"],
            "payment_gateway_names": null,
            "sub_payment_method_name": null,
            "sub_payment_method_code": null,
            "transaction_ids": null
        }),
        json!({
            "paid": if o.paid_ms.is_some() { "T" } else { "F" },
            "canceled": if o.status == Status::Cancelled { "T" } else { "F" },
            "order_date": kst(o.created_ms),
            "first_order": "F",
            "payment_date": opt_kst(o.paid_ms),
            "order_from_mobile": "F",
            "use_escrow": "F",
            "market_seller_id": null,
            "payment_amount": won(total),
            "cancel_date": opt_kst(o.cancelled_ms),
            "order_place_name": "PC Shopping Mall",
            "order_place_id": "self",
            "payment_confirmation": null,
            "commission": "0.00",
            "postpay": "F",
            "admin_additional_amount": "0.00",
            "additional_shipping_fee": "0.00",
            "international_shipping_insurance": "0.00",
            "additional_handling_fee": "0.00"
        }),
        json!({
            "shipping_type": "A",
            "shipping_type_text": "Domestic Shipping",
            "shipping_status": shipping_status,
            "wished_delivery_date": "",
            "wished_delivery_time": null,
            "wished_carrier_id": null,
            "wished_carrier_name": null,
            "return_confirmed_date": opt_kst(o.returned_ms),
            "total_supply_price": (total * 10 / 11).to_string(),
            "naver_point": 0,
            "store_pickup": "F",
            "easypay_name": "",
            "loan_status": null,
            "subscription": "F",
            "multiple_addresses": "F",
            "exchange_rate": "1.0000",
            "first_payment_methods": ["card"],
            "naverpay_payment_information": "N",
            "include_tax": "F",
            "show_shipping_address": "T",
            "social_member_code": null,
            "social_name": null,
            "items": items
        }),
    ])
}
