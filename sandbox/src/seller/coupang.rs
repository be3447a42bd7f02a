//! Coupang WING: ordersheets by day (`nextToken` paging) and customer product inquiries (`onlineInquiries`,
//! `pageNum`/`pageSize` paging with a `pagination` block); both signed with `Authorization: CEA …` HMAC-SHA256.

use std::cmp::Reverse;

use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::universe::{Inquiry, Order, Status};
use super::{fmt_local, hex, local_day, parse_day, reply_json, too_many, Req, Seller, KST};

const DEFAULT_PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 50;
/// The longest `createdAtTo - createdAtFrom`, in days.
const MAX_SPAN_DAYS: i64 = 31;
const INQUIRY_DEFAULT_PAGE_SIZE: usize = 10;
const INQUIRY_MAX_PAGE_SIZE: usize = 50;
/// The most days (both ends counted) of `inquiryStartAt`..=`inquiryEndAt`.
const INQUIRY_MAX_DAYS: i64 = 7;
const ANSWERED_TYPES: [&str; 3] = ["ALL", "ANSWERED", "NOANSWER"];
/// How far `signed-date` may be from the server's clock.
const MAX_SKEW_MS: i64 = 5 * 60 * 1000;
/// The ordersheet statuses: the delivery flow, then the words Coupang uses for cancellations and returns.
const STATUSES: [&str; 8] =
    ["ACCEPT", "INSTRUCT", "DEPARTURE", "DELIVERING", "FINAL_DELIVERY", "NONE_TRACKING", "CANCEL", "RETURNS_COMPLETED"];

fn error(status: StatusCode, message: &str) -> Response {
    reply_json(status, &json!({ "code": status.as_u16(), "message": message, "data": null }), Vec::new())
}

fn boxed_error(status: StatusCode, message: &str) -> Box<Response> {
    Box::new(error(status, message))
}

/// `signed-date + method + path + query`, signed with the secret key, as lowercase hex.
pub(crate) fn signature(secret_key: &str, signed_date: &str, method: &str, path: &str, query: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{signed_date}{method}{path}{query}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The fields of `CEA algorithm=HmacSHA256, access-key=…, signed-date=…, signature=…`.
struct Cea<'a> {
    algorithm: &'a str,
    access_key: &'a str,
    signed_date: &'a str,
    signature: &'a str,
}

fn parse_cea(header: &str) -> Option<Cea<'_>> {
    let rest = header.trim().strip_prefix("CEA ")?;
    let (mut algorithm, mut access_key, mut signed_date, mut signature) = (None, None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim() {
            "algorithm" => algorithm = Some(v.trim()),
            "access-key" => access_key = Some(v.trim()),
            "signed-date" => signed_date = Some(v.trim()),
            "signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    Some(Cea { algorithm: algorithm?, access_key: access_key?, signed_date: signed_date?, signature: signature? })
}

fn authenticate(s: &Seller, req: &Req, vendor: &str) -> Result<usize, Box<Response>> {
    let Some(cea) = req.header(AUTHORIZATION.as_str()).and_then(parse_cea) else {
        return Err(boxed_error(StatusCode::UNAUTHORIZED, "Missing or malformed CEA Authorization header."));
    };
    if cea.algorithm != "HmacSHA256" {
        return Err(boxed_error(StatusCode::UNAUTHORIZED, "Unsupported signature algorithm."));
    }
    let Some(index) = s.find_account(|c| c.coupang_vendor_id == vendor) else {
        return Err(boxed_error(StatusCode::UNAUTHORIZED, "The access key is not registered for this vendor."));
    };
    let creds = s.creds(index);
    if cea.access_key != creds.coupang_access_key {
        return Err(boxed_error(StatusCode::UNAUTHORIZED, "The access key is not registered for this vendor."));
    }
    let signed =
        NaiveDateTime::parse_from_str(cea.signed_date, "%y%m%dT%H%M%SZ").map(|t| t.and_utc().timestamp_millis()).ok();
    match signed {
        Some(t) if (t - req.now_ms).abs() <= MAX_SKEW_MS => {}
        _ => return Err(boxed_error(StatusCode::UNAUTHORIZED, "Specified signature is expired.")),
    }
    let expected = signature(&creds.coupang_secret_key, cea.signed_date, req.method.as_str(), req.path, req.raw_query);
    if !cea.signature.eq_ignore_ascii_case(&expected) {
        return Err(boxed_error(StatusCode::UNAUTHORIZED, "Invalid signature."));
    }
    Ok(index)
}

pub(super) fn ordersheets(s: &Seller, req: &Req, vendor: &str) -> Response {
    let index = match authenticate(s, req, vendor) {
        Ok(i) => i,
        Err(response) => return *response,
    };
    if s.throttled("coupang.ordersheets", index, req) {
        return too_many(&json!({ "code": 429, "message": "Too many requests", "data": null }));
    }
    let day = |name: &str| req.param(name).and_then(parse_day);
    let (Some(from), Some(to)) = (day("createdAtFrom"), day("createdAtTo")) else {
        return error(StatusCode::BAD_REQUEST, "createdAtFrom and createdAtTo (yyyy-MM-dd) are required.");
    };
    if to < from {
        return error(StatusCode::BAD_REQUEST, "createdAtTo is before createdAtFrom.");
    }
    if to - from > MAX_SPAN_DAYS {
        return error(StatusCode::BAD_REQUEST, "The search period may be at most 31 days.");
    }
    let status = req.param("status").filter(|st| !st.is_empty());
    if let Some(st) = status {
        if !STATUSES.contains(&st) {
            return error(StatusCode::BAD_REQUEST, &format!("Unknown status {st}."));
        }
    }
    let per_page = match req.param("maxPerPage").map(str::parse::<usize>) {
        None => DEFAULT_PER_PAGE,
        Some(Ok(n)) if n >= 1 => n.min(MAX_PER_PAGE),
        Some(_) => return error(StatusCode::BAD_REQUEST, "maxPerPage must be a positive number."),
    };
    let after = match req.param("nextToken").filter(|t| !t.is_empty()).map(str::parse::<u64>) {
        None => None,
        Some(Ok(box_id)) => Some(box_id),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "Invalid nextToken."),
    };

    let universe = s.universe(index);
    let rows: Vec<&Order> = universe
        .orders
        .iter()
        .filter(|o| (from..=to).contains(&local_day(o.created_ms, KST)))
        .filter(|o| status.is_none_or(|st| st == status_of(o)))
        .filter(|o| after.is_none_or(|t| shipment_box_id(o) > t))
        .collect();
    let page = &rows[..per_page.min(rows.len())];
    let next_token = match page.last() {
        Some(last) if rows.len() > page.len() => shipment_box_id(last).to_string(),
        _ => String::new(),
    };
    let body = json!({
        "code": 200,
        "message": "OK",
        "data": page.iter().map(|o| ordersheet_json(o)).collect::<Vec<_>>(),
        "nextToken": next_token
    });
    reply_json(StatusCode::OK, &body, Vec::new())
}

/// `GET …/vendors/{vendorId}/onlineInquiries?inquiryStartAt=&inquiryEndAt=&answeredType=&pageNum=&pageSize=`:
/// the inquiries asked on the KST days `inquiryStartAt..=inquiryEndAt` (at most 7), newest first.
pub(super) fn inquiries(s: &Seller, req: &Req, vendor: &str) -> Response {
    let index = match authenticate(s, req, vendor) {
        Ok(i) => i,
        Err(response) => return *response,
    };
    if s.throttled("coupang.inquiries", index, req) {
        return too_many(&json!({ "code": 429, "message": "Too many requests", "data": null }));
    }
    let day = |name: &str| req.param(name).and_then(parse_day);
    let (Some(from), Some(to)) = (day("inquiryStartAt"), day("inquiryEndAt")) else {
        return error(StatusCode::BAD_REQUEST, "inquiryStartAt and inquiryEndAt (yyyy-MM-dd) are required.");
    };
    if to < from {
        return error(StatusCode::BAD_REQUEST, "inquiryEndAt is before inquiryStartAt.");
    }
    if to - from + 1 > INQUIRY_MAX_DAYS {
        return error(StatusCode::BAD_REQUEST, "The search period may be at most 7 days.");
    }
    let answered_type = match req.param("answeredType") {
        Some(t) if ANSWERED_TYPES.contains(&t) => t,
        Some(t) => return error(StatusCode::BAD_REQUEST, &format!("Unknown answeredType {t}.")),
        None => return error(StatusCode::BAD_REQUEST, "answeredType (ALL, ANSWERED or NOANSWER) is required."),
    };
    let page_size = match req.param("pageSize").map(str::parse::<usize>) {
        None => INQUIRY_DEFAULT_PAGE_SIZE,
        Some(Ok(n)) if n >= 1 => n.min(INQUIRY_MAX_PAGE_SIZE),
        Some(_) => return error(StatusCode::BAD_REQUEST, "pageSize must be a positive number."),
    };
    let page_num = match req.param("pageNum").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "pageNum must be a positive number."),
    };

    let universe = s.universe(index);
    let mut rows: Vec<(&Order, &Inquiry)> = universe
        .orders
        .iter()
        .filter_map(|o| o.inquiry.as_ref().map(|q| (o, q)))
        .filter(|(_, q)| (from..=to).contains(&local_day(q.asked_ms, KST)))
        .filter(|(_, q)| match answered_type {
            "ANSWERED" => !q.comments.is_empty(),
            "NOANSWER" => q.comments.is_empty(),
            _ => true,
        })
        .collect();
    rows.sort_by_key(|(_, q)| Reverse((q.asked_ms, q.id)));
    let total = rows.len();
    let start = (page_num - 1).saturating_mul(page_size).min(total);
    let end = start.saturating_add(page_size).min(total);
    let body = json!({
        "code": 200,
        "message": "OK",
        "data": {
            "content": rows[start..end].iter().map(|(o, q)| inquiry_json(o, q)).collect::<Vec<_>>(),
            "pagination": {
                "currentPage": page_num,
                "totalPages": total.div_ceil(page_size),
                "totalElements": total,
                "countPerPage": page_size
            }
        }
    });
    reply_json(StatusCode::OK, &body, Vec::new())
}

fn inquiry_json(o: &Order, q: &Inquiry) -> Value {
    let product = o.lines.get(q.line).or_else(|| o.lines.first()).map(|l| &l.product);
    let comments: Vec<Value> = q
        .comments
        .iter()
        .map(|c| {
            json!({
                "inquiryCommentId": c.id,
                "inquiryId": q.id,
                "content": c.text,
                "inquiryCommentAt": kst_spaced(Some(c.at_ms))
            })
        })
        .collect();
    json!({
        "inquiryId": q.id,
        "productId": product.map(|p| p.product_id + 30_000_000),
        "vendorItemId": product.map(|p| p.variant_id),
        "content": q.text,
        "inquiryAt": kst_spaced(Some(q.asked_ms)),
        "orderIds": if q.with_order { json!([o.id]) } else { Value::Null },
        "buyerEmail": short_masked_email(&o.buyer.email),
        "commentDtoList": comments
    })
}

/// `buy***@ex`, as Coupang masks e-mails in inquiries.
fn short_masked_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    format!("{}***@{}", local.chars().take(3).collect::<String>(), domain.chars().take(2).collect::<String>())
}

fn shipment_box_id(o: &Order) -> u64 {
    o.id * 10
}

fn status_of(o: &Order) -> &'static str {
    match o.status {
        Status::Pending | Status::Paid => "ACCEPT",
        Status::Shipped => "DELIVERING",
        Status::Delivered => "FINAL_DELIVERY",
        Status::Cancelled => "CANCEL",
        Status::Returned => "RETURNS_COMPLETED",
    }
}

fn kst(ms: i64) -> String {
    fmt_local(ms, KST, "%Y-%m-%dT%H:%M:%S")
}

fn kst_spaced(ms: Option<i64>) -> String {
    ms.map(|t| fmt_local(t, KST, "%Y-%m-%d %H:%M:%S")).unwrap_or_default()
}

/// `bu*****@ex`, as Coupang masks e-mails.
fn masked_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    format!("{}*****@{}", local.chars().take(2).collect::<String>(), domain.chars().take(2).collect::<String>())
}

fn ordersheet_json(o: &Order) -> Value {
    let safe_number = format!("0503-**-{:04}", o.buyer.id % 10_000);
    let items: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            let p = &l.product;
            json!({
                "vendorItemPackageId": 0,
                "vendorItemPackageName": p.title,
                "productId": p.product_id + 30_000_000,
                "vendorItemId": p.variant_id,
                "vendorItemName": format!("{}, {}", p.title, p.variant),
                "shippingCount": l.quantity,
                "salesPrice": p.krw,
                "orderPrice": p.krw * i64::from(l.quantity),
                "discountPrice": null,
                "externalVendorSkuCode": p.sku,
                "etcInfoHeader": null,
                "etcInfoValue": null,
                "etcInfoValues": [],
                "sellerProductId": p.product_id,
                "sellerProductName": p.title,
                "sellerProductItemName": p.variant,
                "firstSellerProductItemName": p.variant,
                "cancelCount": if o.status == Status::Cancelled { l.quantity } else { 0 },
                "holdCountForCancel": 0,
                "estimatedShippingDate": fmt_local(o.created_ms + 2 * 86_400_000, KST, "%Y-%m-%d"),
                "plannedShippingDate": "",
                "invoiceNumberUploadDate": kst_spaced(o.shipped_ms),
                "extraProperties": {},
                "pricingBadge": false,
                "usedProduct": false,
                "confirmDate": "",
                "deliveryChargeTypeName": "무료",
                "canceled": o.status == Status::Cancelled
            })
        })
        .collect();
    json!({
        "shipmentBoxId": shipment_box_id(o),
        "orderId": o.id,
        "orderedAt": kst(o.created_ms),
        "orderer": {
            "name": o.buyer.masked_name,
            "email": masked_email(&o.buyer.email),
            "safeNumber": safe_number,
            "ordererNumber": null
        },
        "paidAt": o.paid_ms.map_or(Value::Null, |t| json!(kst(t))),
        "status": status_of(o),
        "shippingPrice": 0,
        "remotePrice": null,
        "remoteArea": false,
        "parcelPrintMessage": "문 앞",
        "splitShipping": false,
        "ableSplitShipping": false,
        "receiver": {
            "name": o.buyer.masked_name,
            "safeNumber": safe_number,
            "receiverNumber": null,
            "addr1": "경기 가상시 예시동 테스트아파트",
            "addr2": "000동000호",
            "postCode": "00000"
        },
        "orderItems": items,
        "overseaShippingInfoDto": { "personalCustomsClearanceCode": "", "ordererSsn": "", "ordererPhoneNumber": "" },
        "deliveryCompanyName": if o.shipped_ms.is_some() { "CJ 대한통운" } else { "" },
        "invoiceNumber": if o.shipped_ms.is_some() { format!("{:012}", o.salt % 1_000_000_000_000) } else { String::new() },
        "inTrasitDateTime": kst_spaced(o.shipped_ms),
        "deliveredDate": kst_spaced(o.delivered_ms),
        "refer": "안드로이드앱"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cea_header_parses_and_signatures_follow_the_message() {
        let h = "CEA algorithm=HmacSHA256, access-key=ak, signed-date=240102T030405Z, signature=abc";
        let cea = parse_cea(h).expect("parses");
        assert_eq!(
            (cea.algorithm, cea.access_key, cea.signed_date, cea.signature),
            ("HmacSHA256", "ak", "240102T030405Z", "abc")
        );
        assert!(parse_cea("Bearer x").is_none());
        let a = signature("secret", "240102T030405Z", "GET", "/v2/x", "a=1&b=2");
        assert_eq!(a.len(), 64);
        assert_ne!(a, signature("secret", "240102T030405Z", "GET", "/v2/x", "b=2&a=1"));
        assert_eq!(masked_email("buyer-10042@example.test"), "bu*****@ex");
        assert_eq!(short_masked_email("buyer-10042@example.test"), "buy***@ex");
    }
}
