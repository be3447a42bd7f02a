//! Naver Commerce API: the bcrypt-signed client-credentials token, and the last-changed product orders with
//! `moreFrom`/`moreSequence` paging.

use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::universe::{Order, Status};
use super::{fmt_time, lock, parse_time, reply_json, too_many, Req, Seller, KST};

const DEFAULT_LIMIT: usize = 300;
const MAX_LIMIT: usize = 300;
const MAX_WINDOW_MS: i64 = 24 * 3_600_000;
const MAX_SKEW_MS: i64 = 5 * 60 * 1000;
const CHANGED_TYPES: [&str; 14] = [
    "PAY_WAITING",
    "PAYED",
    "EXCHANGE_OPTION",
    "DELIVERY_ADDRESS_CHANGED",
    "GIFT_RECEIVED",
    "CLAIM_REJECTED",
    "DISPATCHED",
    "CLAIM_REQUESTED",
    "COLLECT_DONE",
    "CLAIM_HOLDBACK_RELEASED",
    "CLAIM_COMPLETED",
    "PURCHASE_DECIDED",
    "HOPE_DELIVERY_INFO_CHANGED",
    "CLAIM_REDELIVERING",
];

fn now_kst(req: &Req) -> String {
    fmt_time(req.now_ms, KST, true)
}

fn unauthorized(req: &Req, message: &str) -> Response {
    reply_json(
        StatusCode::UNAUTHORIZED,
        &json!({ "code": "GW.AUTHN", "message": message, "timestamp": now_kst(req) }),
        Vec::new(),
    )
}

fn bad_request(req: &Req, name: &str, message: &str) -> Response {
    reply_json(
        StatusCode::BAD_REQUEST,
        &json!({
            "code": "BadRequest",
            "message": message,
            "timestamp": now_kst(req),
            "invalidInputs": [{ "name": name, "type": "Invalid", "message": message }]
        }),
        Vec::new(),
    )
}

fn rate_limited(req: &Req) -> Response {
    too_many(&json!({
        "code": "GW.RATE_LIMIT",
        "message": "요청이 많아 서비스를 일시적으로 사용할 수 없습니다.",
        "timestamp": now_kst(req)
    }))
}

/// Whether `sign` is Base64(bcrypt(`client_id_timestamp`, salt = `secret`)).
fn sign_ok(sign: &str, secret: &str, client_id: &str, timestamp: &str) -> bool {
    let Some(hash) = STANDARD.decode(sign.trim()).ok().and_then(|raw| String::from_utf8(raw).ok()) else {
        return false;
    };
    // The salt (and with it the cost 04) must be the client secret's; only then is verifying cheap and meaningful.
    hash.len() == 60
        && hash.get(..29) == Some(secret)
        && bcrypt::verify(format!("{client_id}_{timestamp}"), &hash).unwrap_or(false)
}

/// `POST /external/v1/oauth2/token` (form or query parameters).
pub(super) fn token(s: &Seller, req: &Req) -> Response {
    let mut params = req.form();
    params.extend(req.query.iter().cloned());
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(client_id) = get("client_id") else {
        return bad_request(req, "client_id", "client_id is required.");
    };
    let Some(index) = s.find_account(|c| c.naver_client_id == client_id) else {
        return unauthorized(req, "The client_id is not registered.");
    };
    let Some(timestamp) = get("timestamp") else {
        return bad_request(req, "timestamp", "timestamp is required.");
    };
    match timestamp.parse::<i64>() {
        Ok(t) if (t - req.now_ms).abs() <= MAX_SKEW_MS => {}
        _ => return unauthorized(req, "The timestamp is invalid or too far from the server time."),
    }
    if get("grant_type") != Some("client_credentials") {
        return bad_request(req, "grant_type", "grant_type must be client_credentials.");
    }
    if get("type") != Some("SELF") {
        return bad_request(req, "type", "type must be SELF.");
    }
    let creds = s.creds(index);
    let signed =
        get("client_secret_sign").is_some_and(|sign| sign_ok(sign, &creds.naver_client_secret, client_id, timestamp));
    if !signed {
        return unauthorized(req, "client_secret_sign is invalid.");
    }
    if s.throttled("naver.token", index, req) {
        return rate_limited(req);
    }
    let ttl = s.config().token_ttl_secs;
    let access_token = s.fresh_token("naver", 44);
    let expires = req.now_ms.saturating_add(i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX));
    {
        let mut tokens = lock(&s.naver_tokens);
        tokens.retain(|_, (_, until)| *until > req.now_ms);
        tokens.insert(access_token.clone(), (index, expires));
    }
    reply_json(
        StatusCode::OK,
        &json!({ "access_token": access_token, "expires_in": ttl, "token_type": "Bearer" }),
        Vec::new(),
    )
}

/// The account of a valid bearer token.
fn bearer(s: &Seller, req: &Req) -> Option<usize> {
    let token = req.header(AUTHORIZATION.as_str())?.strip_prefix("Bearer ")?.trim();
    let mut tokens = lock(&s.naver_tokens);
    match tokens.get(token) {
        Some((index, until)) if *until > req.now_ms => Some(*index),
        Some(_) => {
            tokens.remove(token);
            None
        }
        None => None,
    }
}

/// `GET /external/v1/pay-order/seller/product-orders/last-changed-statuses`.
pub(super) fn last_changed_statuses(s: &Seller, req: &Req) -> Response {
    let Some(index) = bearer(s, req) else {
        return unauthorized(req, "The access token is invalid or expired.");
    };
    if s.throttled("naver.last_changed_statuses", index, req) {
        return rate_limited(req);
    }
    let Some(raw_from) = req.param("lastChangedFrom") else {
        return bad_request(req, "lastChangedFrom", "lastChangedFrom is required.");
    };
    let Some(from) = parse_time(raw_from, KST) else {
        return bad_request(req, "lastChangedFrom", "lastChangedFrom must be an ISO 8601 date-time.");
    };
    let to = match req.param("lastChangedTo").map(|v| parse_time(v, KST)) {
        None => from + MAX_WINDOW_MS,
        Some(Some(to)) => to,
        Some(None) => return bad_request(req, "lastChangedTo", "lastChangedTo must be an ISO 8601 date-time."),
    };
    if to < from {
        return bad_request(req, "lastChangedTo", "lastChangedTo is before lastChangedFrom.");
    }
    if to - from > MAX_WINDOW_MS {
        return bad_request(req, "lastChangedTo", "The search period may be at most 24 hours.");
    }
    let limit = match req.param("limitCount").map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => return bad_request(req, "limitCount", "limitCount must be between 1 and 300."),
    };
    let changed_type = req.param("lastChangedType");
    if let Some(t) = changed_type {
        if !CHANGED_TYPES.contains(&t) {
            return bad_request(req, "lastChangedType", &format!("Unknown lastChangedType {t}."));
        }
    }
    let sequence = req.param("moreSequence").filter(|v| !v.is_empty());

    let universe = s.universe(index);
    let mut rows: Vec<(i64, String, &Order)> = universe
        .orders
        .iter()
        .filter(|o| o.changed_ms >= from && o.changed_ms < to)
        .filter(|o| changed_type.is_none_or(|t| t == state(o).1))
        .flat_map(|o| o.lines.iter().map(move |l| (o.changed_ms, l.id.to_string(), o)))
        .filter(|(t, id, _)| sequence.is_none_or(|seq| (*t, id.as_str()) >= (from, seq)))
        .collect();
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let page = &rows[..limit.min(rows.len())];
    let entries: Vec<Value> = page.iter().map(|(_, id, o)| entry(o, id)).collect();
    let mut data = json!({ "lastChangeStatuses": entries, "count": page.len() });
    if let Some((t, id, _)) = rows.get(page.len()) {
        data["more"] = json!({ "moreFrom": fmt_time(*t, KST, true), "moreSequence": id });
    }
    reply_json(StatusCode::OK, &json!({ "timestamp": now_kst(req), "data": data }), Vec::new())
}

/// (productOrderStatus, lastChangedType, claim type and status).
fn state(o: &Order) -> (&'static str, &'static str, Option<(&'static str, &'static str)>) {
    match o.status {
        Status::Pending => ("PAYMENT_WAITING", "PAY_WAITING", None),
        Status::Paid => ("PAYED", "PAYED", None),
        Status::Shipped => ("DELIVERING", "DISPATCHED", None),
        // Naver has no change type for the carrier's delivery; the last seller-side change is the dispatch.
        Status::Delivered => ("DELIVERED", "DISPATCHED", None),
        Status::Cancelled => ("CANCELED", "CLAIM_COMPLETED", Some(("CANCEL", "CANCEL_DONE"))),
        Status::Returned => ("RETURNED", "CLAIM_COMPLETED", Some(("RETURN", "RETURN_DONE"))),
    }
}

fn entry(o: &Order, product_order_id: &str) -> Value {
    let (status, changed_type, claim) = state(o);
    let mut e = json!({
        "productOrderStatus": status,
        "productOrderId": product_order_id,
        "orderId": o.id.to_string(),
        "lastChangedDate": fmt_time(o.changed_ms, KST, true),
        "lastChangedType": changed_type,
        "receiverAddressChanged": false
    });
    if let Some((claim_type, claim_status)) = claim {
        e["claimType"] = json!(claim_type);
        e["claimStatus"] = json!(claim_status);
    }
    if let Some(paid) = o.paid_ms {
        e["paymentDate"] = json!(fmt_time(paid, KST, true));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secret_sign_is_checked_against_the_secret() {
        let cfg = super::super::SellerConfig::default();
        let c = super::super::credentials(&cfg, "acct-001").expect("account");
        let salt: [u8; 16] =
            bcrypt::BASE_64.decode(&c.naver_client_secret[7..]).expect("salt").try_into().expect("16 bytes");
        let pw = format!("{}_1700000000000", c.naver_client_id);
        let hash = bcrypt::hash_with_salt(&pw, 4, salt).expect("hash").format_for_version(bcrypt::Version::TwoA);
        let sign = STANDARD.encode(&hash);
        assert!(sign_ok(&sign, &c.naver_client_secret, &c.naver_client_id, "1700000000000"));
        assert!(!sign_ok(&sign, &c.naver_client_secret, &c.naver_client_id, "1700000000001"));
        let other = super::super::credentials(&cfg, "acct-002").expect("account");
        assert!(!sign_ok(&sign, &other.naver_client_secret, &c.naver_client_id, "1700000000000"));
        assert!(!sign_ok("not base64!", &c.naver_client_secret, &c.naver_client_id, "1700000000000"));
    }
}
