//! Helpers the seller mappers share: JSON access, exact money, times, hashing of people, and the
//! roll-up of line statuses into an order status.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shopstream_normalize::{currency_exponent, Decimal};

use crate::ParseError;

pub(crate) type Obj = Map<String, Value>;

/// Korea Standard Time (UTC+9, no daylight saving): the zone of Naver, Coupang and Cafe24 naive times.
pub(crate) const KST: i32 = 9 * 3600;
/// UTC, for naive times documented as UTC (WooCommerce `*_gmt`).
pub(crate) const UTC: i32 = 0;

// ---------------------------------------------------------------------------------------------------
// Errors and JSON access

pub(crate) fn unrecognized(parser: &'static str, what: impl Into<String>) -> ParseError {
    ParseError::Unrecognized { parser, what: what.into() }
}

pub(crate) fn field(parser: &'static str, field: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::Field { parser, field, reason: reason.into() }
}

/// The body as JSON: invalid UTF-8 is an encoding error, anything else that is not JSON is unrecognized.
pub(crate) fn json(parser: &'static str, body: &[u8]) -> Result<Value, ParseError> {
    let text = std::str::from_utf8(body).map_err(|_| ParseError::Encoding { parser })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|e| unrecognized(parser, format!("the body is not JSON ({e})")))
}

/// The body's top level as an object, or an unrecognized error.
pub(crate) fn root<'a>(parser: &'static str, v: &'a Value) -> Result<&'a Obj, ParseError> {
    v.as_object().ok_or_else(|| unrecognized(parser, "not a JSON object"))
}

/// The first keys of an object, for error messages.
pub(crate) fn keys(o: &Obj) -> String {
    let keys: Vec<&str> = o.keys().map(String::as_str).take(6).collect();
    format!("{keys:?}")
}

/// A short rendering of a value for error messages.
pub(crate) fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    s.chars().take(160).collect()
}

/// A string or number field as text; `None` for null, missing or blank.
pub(crate) fn text(o: &Obj, key: &str) -> Option<String> {
    value_text(o.get(key)?)
}

pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string field kept as written (review, question and answer text); `None` for null, missing or blank.
pub(crate) fn content(o: &Obj, key: &str) -> Option<String> {
    match o.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// An id field; numeric zero counts as absent (WooCommerce `variation_id: 0`, `customer_id: 0`).
pub(crate) fn id(o: &Obj, key: &str) -> Option<String> {
    text(o, key).filter(|s| s != "0")
}

pub(crate) fn obj<'a>(o: &'a Obj, key: &str) -> Option<&'a Obj> {
    o.get(key)?.as_object()
}

pub(crate) fn list<'a>(o: &'a Obj, key: &str) -> Option<&'a [Value]> {
    o.get(key)?.as_array().map(Vec::as_slice)
}

/// The value at a path of object keys.
pub(crate) fn at<'a>(o: &'a Obj, path: &[&str]) -> Option<&'a Value> {
    let (last, init) = path.split_last()?;
    let mut cur = o;
    for k in init {
        cur = obj(cur, k)?;
    }
    cur.get(*last)
}

/// An integer field (JSON integer, or a string of one).
pub(crate) fn int(o: &Obj, key: &str) -> Option<i64> {
    match o.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A required integer field.
pub(crate) fn int_req(parser: &'static str, name: &'static str, o: &Obj, key: &str) -> Result<i64, ParseError> {
    match o.get(key) {
        None | Some(Value::Null) => Err(field(parser, name, "missing")),
        Some(v) => int(o, key).ok_or_else(|| field(parser, name, format!("not an integer: {}", short(v)))),
    }
}

/// A boolean field: JSON booleans, `"true"`/`"false"` and Cafe24's `"T"`/`"F"`.
pub(crate) fn flag(o: &Obj, key: &str) -> Option<bool> {
    match o.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "T" | "t" | "true" | "TRUE" | "Y" => Some(true),
            "F" | "f" | "false" | "FALSE" | "N" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Every item of a list as an object; a non-object item is unrecognized.
pub(crate) fn objects<'a>(parser: &'static str, what: &str, items: &'a [Value]) -> Result<Vec<&'a Obj>, ParseError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_object().ok_or_else(|| unrecognized(parser, format!("{what} item {i} is not an object"))))
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// Money

/// An ISO 4217 currency with its minor-unit exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Currency {
    pub code: String,
    pub exponent: u32,
}

impl Currency {
    pub(crate) fn new(parser: &'static str, code: &str) -> Result<Currency, ParseError> {
        let code = code.trim().to_ascii_uppercase();
        let exponent = currency_exponent(&code)
            .ok_or_else(|| field(parser, "currency", format!("unknown ISO 4217 code {code:?}")))?;
        Ok(Currency { code, exponent })
    }
}

/// The payload's currency, else the source's default; an error when neither names one.
pub(crate) fn currency(
    parser: &'static str,
    payload: Option<String>,
    default: Option<&str>,
) -> Result<Currency, ParseError> {
    match payload.as_deref().or(default) {
        Some(code) => Currency::new(parser, code),
        None => Err(field(parser, "currency", "the payload names none (set the source's default currency)")),
    }
}

/// An exact decimal from a JSON string or number (numbers are read from their text, never as floats).
/// `None` for null, missing or blank.
pub(crate) fn decimal(
    parser: &'static str,
    name: &'static str,
    v: Option<&Value>,
) -> Result<Option<Decimal>, ParseError> {
    let raw = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(field(parser, name, format!("not an amount: {}", short(other)))),
    };
    raw.parse::<Decimal>().map(Some).map_err(|e| field(parser, name, e.to_string()))
}

/// An amount in minor units of `cur`; an error when it has more decimals than the currency.
pub(crate) fn minor(
    parser: &'static str,
    name: &'static str,
    v: Option<&Value>,
    cur: &Currency,
) -> Result<Option<i64>, ParseError> {
    let Some(d) = decimal(parser, name, v)? else { return Ok(None) };
    d.to_minor_units(cur.exponent)
        .map(Some)
        .ok_or_else(|| field(parser, name, format!("{d} is not a whole number of {} minor units", cur.code)))
}

/// A required amount in minor units.
pub(crate) fn minor_req(
    parser: &'static str,
    name: &'static str,
    v: Option<&Value>,
    cur: &Currency,
) -> Result<i64, ParseError> {
    minor(parser, name, v, cur)?.ok_or_else(|| field(parser, name, "missing"))
}

/// An amount that may be inexact (a derived per-unit price): `None` instead of an error when it does not fit.
pub(crate) fn minor_lenient(v: Option<&Value>, cur: &Currency) -> Option<i64> {
    let d = decimal("", "", v).ok()??;
    d.to_minor_units(cur.exponent)
}

/// `a + b` without overflow.
pub(crate) fn add(parser: &'static str, name: &'static str, a: i64, b: i64) -> Result<i64, ParseError> {
    a.checked_add(b).ok_or_else(|| field(parser, name, "amount overflow"))
}

/// `a × b` without overflow.
pub(crate) fn mul(parser: &'static str, name: &'static str, a: i64, b: i64) -> Result<i64, ParseError> {
    a.checked_mul(b).ok_or_else(|| field(parser, name, "amount overflow"))
}

/// The sum of the amounts present; `None` when none is.
pub(crate) fn sum_present(
    parser: &'static str,
    name: &'static str,
    amounts: impl IntoIterator<Item = Option<i64>>,
) -> Result<Option<i64>, ParseError> {
    let mut total: Option<i64> = None;
    for a in amounts.into_iter().flatten() {
        total = Some(add(parser, name, total.unwrap_or(0), a)?);
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------------
// Times

/// Unix milliseconds of a time text: RFC 3339 with any offset (`2022-05-11T21:05:26.000+09:00`, `…Z`), or a
/// naive `YYYY-MM-DD[T ]HH:MM[:SS[.fff]]` read at `naive_offset` seconds east of UTC (`None`: refused).
pub(crate) fn instant_ms(s: &str, naive_offset: Option<i32>) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.timestamp_millis());
        }
    }
    let offset = FixedOffset::east_opt(naive_offset?)?;
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
    offset.from_local_datetime(&naive).single().map(|t| t.timestamp_millis())
}

/// A time field: `None` when null, missing or blank; an error when present but not a time.
pub(crate) fn time(
    parser: &'static str,
    name: &'static str,
    o: &Obj,
    key: &str,
    naive_offset: Option<i32>,
) -> Result<Option<i64>, ParseError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            instant_ms(s, naive_offset).map(Some).ok_or_else(|| field(parser, name, format!("not a time: {s:?}")))
        }
        Some(other) => Err(field(parser, name, format!("not a time: {}", short(other)))),
    }
}

/// The first and last millisecond of a calendar day `YYYY-MM-DD` in the zone `offset` seconds east of UTC.
pub(crate) fn day_bounds_ms(s: &str, offset: i32) -> Option<(i64, i64)> {
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let zone = FixedOffset::east_opt(offset)?;
    let start = zone.from_local_datetime(&day.and_hms_opt(0, 0, 0)?).single()?.timestamp_millis();
    Some((start, start + 86_400_000 - 1))
}

/// A required date field's day bounds.
pub(crate) fn day_field(
    parser: &'static str,
    name: &'static str,
    o: &Obj,
    key: &str,
    offset: i32,
) -> Result<(i64, i64), ParseError> {
    let s = text(o, key).ok_or_else(|| field(parser, name, "missing"))?;
    day_bounds_ms(&s, offset).ok_or_else(|| field(parser, name, format!("not a date: {s:?}")))
}

/// Unix seconds (Etsy timestamps) to milliseconds.
pub(crate) fn secs_ms(o: &Obj, key: &str) -> Option<i64> {
    int(o, key).filter(|s| *s > 0)?.checked_mul(1000)
}

/// The latest of the times present.
pub(crate) fn latest(times: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    times.into_iter().flatten().max()
}

/// The earliest of the times present.
pub(crate) fn earliest(times: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    times.into_iter().flatten().min()
}

// ---------------------------------------------------------------------------------------------------
// People

/// Lowercase hex SHA-256 of a text.
pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The hash of a marketplace's buyer id (trimmed); `None` when blank.
pub(crate) fn id_ref(id: Option<String>) -> Option<String> {
    id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s != "0").map(|s| sha256_hex(&s))
}

/// The hash of an e-mail (trimmed, lowercased); `None` when blank, not an address, or masked by the
/// marketplace (`eu*****@na`: a masked address names no one and would make unrelated buyers collide).
pub(crate) fn email_ref(email: Option<String>) -> Option<String> {
    let email = email?.trim().to_lowercase();
    (email.contains('@') && !email.contains('*')).then(|| sha256_hex(&email))
}

// ---------------------------------------------------------------------------------------------------
// Statuses

/// The normalized statuses an order moves through, least advanced first.
const PROGRESS: [&str; 4] = ["pending", "paid", "shipped", "delivered"];
/// Statuses that end a line other than by delivery, most telling first.
const ENDED: [&str; 3] = ["returned", "refunded", "cancelled"];

/// One order status from its lines' statuses: an order is as far as its least advanced live line
/// (lines cancelled, returned or refunded aside); when every line ended, the most telling ending.
pub(crate) fn rollup<'a>(statuses: impl IntoIterator<Item = &'a str>) -> &'static str {
    let all: Vec<&str> = statuses.into_iter().collect();
    if let Some(i) = all.iter().filter_map(|s| PROGRESS.iter().position(|p| p == s)).min() {
        return PROGRESS[i];
    }
    ENDED.iter().find(|e| all.contains(e)).copied().unwrap_or("other")
}

/// The distinct raw statuses, in first-seen order, joined by `,`.
pub(crate) fn join_distinct<'a>(raws: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = vec![];
    for r in raws {
        if !r.is_empty() && !seen.contains(&r) {
            seen.push(r);
        }
    }
    seen.join(",")
}

// ---------------------------------------------------------------------------------------------------
// Grouping

/// Items grouped by a key, groups in first-seen order.
pub(crate) struct Groups<T> {
    index: HashMap<String, usize>,
    pub groups: Vec<(String, Vec<T>)>,
}

impl<T> Groups<T> {
    pub(crate) fn new() -> Self {
        Groups { index: HashMap::new(), groups: vec![] }
    }

    pub(crate) fn push(&mut self, key: String, item: T) {
        match self.index.get(&key) {
            Some(&i) => self.groups[i].1.push(item),
            None => {
                self.index.insert(key.clone(), self.groups.len());
                self.groups.push((key, vec![item]));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Text

/// Titles from HTML-escaping APIs (WooCommerce): tags removed and the usual character references decoded.
pub(crate) fn plain(s: &str) -> String {
    let s = s
        .replace("&ndash;", "–")
        .replace("&#8211;", "–")
        .replace("&mdash;", "—")
        .replace("&#8212;", "—")
        .replace("&hellip;", "…")
        .replace("&#8230;", "…")
        .replace("&#038;", "&amp;");
    crate::common::strip_tags(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_offsets_naive_kst_and_utc() {
        // 2022-05-11T12:05:26Z
        assert_eq!(instant_ms("2022-05-11T21:05:26.000+09:00", None), Some(1_652_270_726_000));
        assert_eq!(instant_ms("2022-05-11T12:05:26Z", None), Some(1_652_270_726_000));
        assert_eq!(instant_ms("2024-07-29T15:51:28.071Z", None), Some(1_722_268_288_071));
        assert_eq!(instant_ms("2008-01-10T11:00:00-05:00", None), Some(1_199_980_800_000));
        // Coupang naive Korea time, with T or a space.
        assert_eq!(instant_ms("2019-04-02T10:22:50", Some(KST)), Some(1_554_168_170_000));
        assert_eq!(instant_ms("2019-04-02 10:22:50", Some(KST)), Some(1_554_168_170_000));
        // WooCommerce *_gmt is naive UTC.
        assert_eq!(instant_ms("2017-03-22T19:28:02", Some(UTC)), Some(1_490_210_882_000));
        // A naive time with no zone given is refused, as is junk.
        assert_eq!(instant_ms("2017-03-22T19:28:02", None), None);
        assert_eq!(instant_ms("string", Some(KST)), None);
    }

    #[test]
    fn days_span_their_first_and_last_millisecond_in_the_zone() {
        let (start, end) = day_bounds_ms("2024-07-29", KST).expect("day");
        assert_eq!(start, 1_722_178_800_000); // 2024-07-28T15:00:00Z
        assert_eq!(end - start, 86_399_999);
        assert_eq!(day_bounds_ms("2024-02-30", KST), None);
    }

    #[test]
    fn amounts_are_exact_minor_units() {
        let usd = Currency::new("t", "usd").expect("usd");
        let krw = Currency::new("t", "KRW").expect("krw");
        let j = |s: &str| serde_json::from_str::<Value>(s).expect("json");
        assert_eq!(minor("t", "a", Some(&j("\"598.94\"")), &usd).expect("ok"), Some(59894));
        assert_eq!(minor("t", "a", Some(&j("29.35")), &usd).expect("ok"), Some(2935));
        assert_eq!(minor("t", "a", Some(&j("-150")), &krw).expect("ok"), Some(-150));
        assert_eq!(minor("t", "a", Some(&j("\"30000.00\"")), &krw).expect("ok"), Some(30000));
        assert_eq!(minor("t", "a", Some(&j("null")), &usd).expect("ok"), None);
        assert!(minor("t", "a", Some(&j("\"1.005\"")), &usd).is_err());
        assert!(minor("t", "a", Some(&j("\"12,50\"")), &usd).is_err());
        assert_eq!(minor_lenient(Some(&j("3.3333333333333335")), &usd), None);
        assert!(Currency::new("t", "XXQ").is_err());
        assert!(currency("t", None, None).is_err());
    }

    #[test]
    fn people_are_hashed_and_masked_addresses_ignored() {
        let a = email_ref(Some(" Bob.Norman@Mail.Example.com ".into())).expect("hash");
        assert_eq!(a, sha256_hex("bob.norman@mail.example.com"));
        assert_eq!(a.len(), 64);
        assert_eq!(email_ref(Some("eu*****@na".into())), None);
        assert_eq!(email_ref(Some("".into())), None);
        assert_eq!(id_ref(Some("0".into())), None);
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn an_order_is_as_far_as_its_least_advanced_live_line() {
        assert_eq!(rollup(["delivered", "shipped"]), "shipped");
        assert_eq!(rollup(["cancelled", "delivered"]), "delivered");
        assert_eq!(rollup(["cancelled", "returned"]), "returned");
        assert_eq!(rollup(["cancelled"]), "cancelled");
        assert_eq!(rollup(["other"]), "other");
        assert_eq!(rollup([]), "other");
        assert_eq!(join_distinct(["PAYED", "DELIVERING", "PAYED", ""]), "PAYED,DELIVERING");
    }

    #[test]
    fn titles_lose_tags_and_entities() {
        assert_eq!(plain("Ship Your Idea &ndash; Color: Black"), "Ship Your Idea – Color: Black");
        assert_eq!(plain("<p>Nice album!</p>\n"), "Nice album!");
    }
}
