//! Embedded state: product objects inside `<script>` JSON (`application/json`, `__NEXT_DATA__`) and inline
//! JS assignments (`window.__INITIAL_STATE__ = {…}`, `var itemInfo = {…};`). The object literal is cut out
//! by brace matching and read as JSON, after cheap repairs of common non-JSON (unquoted keys, single
//! quotes, trailing commas, `undefined`); what still does not parse is skipped.
//!
//! A product object is one with a name/title key beside price-like keys, both matched by multilingual
//! key vocabularies; it counts only when its name agrees with the page's title.

use crate::prepass::Script;
use serde_json::Value;

/// Name keys (lower case, exact).
const NAME_KEYS: &[&str] = &[
    "name",
    "title",
    "productname",
    "product_name",
    "displayname",
    "display_name",
    "itemname",
    "item_name",
    "goodsname",
    "goods_name",
    "goodsnm",
    "prdnm",
    "상품명",
    "商品名",
    "品名",
    "nombre",
    "nome",
    "titel",
    "ten",
];
/// Price keys (lower case, contained).
const PRICE_KEYS: &[&str] = &[
    "price",
    "amount",
    "가격",
    "판매가",
    "価格",
    "售价",
    "价格",
    "preis",
    "prix",
    "precio",
    "preço",
    "preco",
    "prezzo",
    "gia",
    "cena",
    "cost",
];
/// Inside a price key or object: the current price.
const CURRENT_KEYS: &[&str] = &[
    "sale",
    "current",
    "final",
    "selling",
    "offer",
    "now",
    "special",
    "discounted",
    "actual",
    "amount",
    "value",
    "price",
];
/// Inside a price key or object: the regular price.
const LIST_KEYS: &[&str] = &["original", "regular", "list", "was", "msrp", "compare", "old", "reg", "rrp", "before"];
/// Price keys that are not the product's price.
const OTHER_KEYS: &[&str] =
    &["unit", "ship", "deliver", "tax", "instal", "month", "min", "max", "range", "total", "save", "discount_amount"];
const CURRENCY_KEYS: &[&str] = &["currency", "currencycode", "pricecurrency", "currency_code", "currencyiso"];

/// A product object found in embedded state.
#[derive(Debug, Clone)]
pub(crate) struct EmbeddedProduct {
    pub name: String,
    /// Price text (a number as written) and the key path it came from.
    pub price: String,
    pub price_path: String,
    pub list: Option<String>,
    pub currency: Option<String>,
}

/// JSON documents from the page's scripts, each with a label (`__NEXT_DATA__`, `window.__INITIAL_STATE__`,
/// `script#id`, `script[3]`).
pub(crate) fn documents(scripts: &[Script]) -> Vec<(String, Value)> {
    let mut out = vec![];
    for (i, script) in scripts.iter().enumerate() {
        let ty = script.ty.as_str();
        if ty.contains("ld+json") || ty.contains("template") || ty.contains("html") {
            continue;
        }
        let text = script.text.as_str();
        let label = script.id.clone().unwrap_or_else(|| format!("script[{i}]"));
        if ty.contains("json") {
            if let Ok(v) = serde_json::from_str::<Value>(text.trim()) {
                out.push((label, v));
            }
            continue;
        }
        for (name, literal) in assignments(text) {
            if let Some(v) = read_literal(literal) {
                out.push((name, v));
            }
        }
    }
    out
}

/// `name = {…}` assignments in a script: the assigned name and the balanced object literal.
fn assignments(js: &str) -> Vec<(String, &str)> {
    let bytes = js.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while let Some(at) = js[i..].find('=') {
        let eq = i + at;
        i = eq + 1;
        // Not `==`, `=>`, `<=`, `!=`.
        if bytes.get(eq + 1).is_some_and(|b| matches!(b, b'=' | b'>'))
            || (eq > 0 && matches!(bytes[eq - 1], b'=' | b'!' | b'<' | b'>'))
        {
            continue;
        }
        let rest = js[eq + 1..].trim_start();
        if !rest.starts_with('{') {
            continue;
        }
        let start = js.len() - rest.len();
        let Some(end) = balanced(&js[start..]) else { continue };
        let name: String = js[..eq]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '$' | '[' | ']' | '"' | '\''))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() && end > 20 {
            out.push((name, &js[start..start + end]));
        }
        i = start + end;
    }
    out
}

/// The length of the balanced `{…}` at the start of `s` (strings and escapes respected).
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'"' | b'\'' | b'`' => quote = Some(b),
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// A JS object literal as JSON: strict first, then with cheap repairs.
fn read_literal(literal: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(literal) {
        return Some(v);
    }
    serde_json::from_str(&js_to_json(literal)?).ok()
}

/// Repairs: unquoted keys quoted, single-quoted strings double-quoted, trailing commas dropped,
/// `undefined`/`!0`/`!1` replaced. `None` for what it cannot repair (functions, template strings).
fn js_to_json(js: &str) -> Option<String> {
    let chars: Vec<char> = js.chars().collect();
    let mut out = String::with_capacity(js.len() + 64);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                let q = c;
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != q {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            if chars[i + 1] == '\'' {
                                out.push('\'');
                            } else {
                                out.push('\\');
                                out.push(chars[i + 1]);
                            }
                            i += 2;
                            continue;
                        }
                        '"' => out.push_str("\\\""),
                        ch => out.push(ch),
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            '`' => return None,
            ',' => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(next, Some('}' | ']')) {
                    out.push(',');
                }
                i += 1;
            }
            '!' if matches!(chars.get(i + 1), Some('0' | '1')) => {
                out.push_str(if chars[i + 1] == '0' { "true" } else { "false" });
                i += 2;
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if next == Some(&':') {
                    out.push('"');
                    out.push_str(&word);
                    out.push('"');
                } else {
                    match word.as_str() {
                        "true" | "false" | "null" => out.push_str(&word),
                        "undefined" | "NaN" | "Infinity" => out.push_str("null"),
                        _ => return None,
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if s.chars().any(|c| c.is_ascii_digit()) && s.len() <= 40 => Some(s.trim().to_string()),
        _ => None,
    }
}

/// A price key's value: (current, list) texts.
fn read_price(key: &str, v: &Value) -> Option<(String, String, Option<String>)> {
    match v {
        Value::Object(o) => {
            let pick = |vocab: &[&str]| {
                o.iter().find_map(|(k, v)| {
                    let k = k.to_lowercase();
                    let hit = vocab.iter().any(|w| k.contains(w))
                        && !OTHER_KEYS.iter().any(|w| k.contains(w))
                        && !k.contains("formatted");
                    hit.then(|| scalar_text(v).map(|t| (k.clone(), t))).flatten()
                })
            };
            let list = pick(LIST_KEYS).map(|(_, t)| t);
            let (k, cur) = o
                .iter()
                .find_map(|(k, v)| {
                    let lk = k.to_lowercase();
                    (CURRENT_KEYS.iter().any(|w| lk.contains(w)) && !LIST_KEYS.iter().any(|w| lk.contains(w)))
                        .then(|| scalar_text(v).map(|t| (lk.clone(), t)))
                        .flatten()
                })
                .or_else(|| pick(CURRENT_KEYS))?;
            Some((format!("{key}.{k}"), cur, list))
        }
        _ => scalar_text(v).map(|t| (key.to_string(), t, None)),
    }
}

/// A product object: its name, price and currency.
/// (name, price key path, price, list price, currency).
type ProductTexts = (String, String, String, Option<String>, Option<String>);

fn product_of(o: &serde_json::Map<String, Value>) -> Option<ProductTexts> {
    // Every object of every script is asked: ASCII keys are compared without lower-casing a copy.
    let is_name_key = |k: &str| {
        if k.is_ascii() {
            NAME_KEYS.iter().any(|n| k.eq_ignore_ascii_case(n))
        } else {
            NAME_KEYS.contains(&k.to_lowercase().as_str())
        }
    };
    let name = o.iter().find_map(|(k, v)| {
        is_name_key(k).then(|| v.as_str()).flatten().filter(|s| (3..=300).contains(&s.trim().len()))
    })?;
    let mut current: Option<(String, String, Option<String>)> = None;
    let mut list: Option<String> = None;
    for (k, v) in o {
        let lk = k.to_lowercase();
        if !PRICE_KEYS.iter().any(|w| lk.contains(w)) || OTHER_KEYS.iter().any(|w| lk.contains(w)) {
            continue;
        }
        if LIST_KEYS.iter().any(|w| lk.contains(w)) {
            list = list.or_else(|| scalar_text(v));
            continue;
        }
        if current.is_none() {
            current = read_price(k, v);
        }
    }
    let (path, price, inner_list) = current?;
    let currency = o
        .iter()
        .chain(
            o.iter()
                .filter_map(|(k, v)| (k.to_lowercase().contains("price")).then_some(v))
                .filter_map(Value::as_object)
                .flatten(),
        )
        .find_map(|(k, v)| CURRENCY_KEYS.contains(&k.to_lowercase().as_str()).then(|| v.as_str()).flatten())
        .map(str::to_string);
    Some((name.trim().to_string(), path, price, inner_list.or(list), currency))
}

/// Every product object in the documents, in document order (at most `limit`).
pub(crate) fn products(docs: &[(String, Value)], limit: usize) -> Vec<EmbeddedProduct> {
    let mut out = vec![];
    fn walk(
        v: &Value,
        path: &mut String,
        depth: usize,
        out: &mut Vec<EmbeddedProduct>,
        limit: usize,
        budget: &mut usize,
    ) {
        if out.len() >= limit || depth > 14 || *budget == 0 {
            return;
        }
        *budget -= 1;
        match v {
            Value::Object(o) => {
                if let Some((name, key, price, list, currency)) = product_of(o) {
                    out.push(EmbeddedProduct { name, price_path: format!("{path}.{key}"), price, list, currency });
                }
                for (k, v) in o {
                    if matches!(v, Value::Object(_) | Value::Array(_)) {
                        let len = path.len();
                        path.push('.');
                        path.push_str(k);
                        walk(v, path, depth + 1, out, limit, budget);
                        path.truncate(len);
                    }
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate().take(200) {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(v, path, depth + 1, out, limit, budget);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    for (label, v) in docs {
        let mut path = format!("{label}$");
        let mut budget = 200_000;
        walk(v, &mut path, 0, &mut out, limit, &mut budget);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_js_state_is_read() {
        let html = r#"<script>window.__INITIAL_STATE__ = {product: {title: 'Mug "Big"', salePrice: 12.5,
        listPrice: 15, currency: 'EUR', tags: ['a', 'b',],}, ok: !0};</script>
        <script id="__NEXT_DATA__" type="application/json">{"props":{"item":{"name":"Lamp","price":{"current":"49.00","original":"59.00","currency":"USD"}}}}</script>
        <script>var f = function() { return {a: 1}; }; var itemInfo = {"goodsNm":"x","판매가":"12,900"};</script>"#;
        let docs = documents(&crate::prepass::strip(html).scripts);
        let found = products(&docs, 10);
        let mug = found.iter().find(|p| p.name == "Mug \"Big\"").expect("mug");
        assert_eq!(
            (mug.price.as_str(), mug.list.as_deref(), mug.currency.as_deref()),
            ("12.5", Some("15"), Some("EUR"))
        );
        assert_eq!(mug.price_path, "window.__INITIAL_STATE__$.product.salePrice");
        let lamp = found.iter().find(|p| p.name == "Lamp").expect("lamp");
        assert_eq!(
            (lamp.price.as_str(), lamp.list.as_deref(), lamp.currency.as_deref()),
            ("49.00", Some("59.00"), Some("USD"))
        );
        assert_eq!(lamp.price_path, "__NEXT_DATA__$.props.item.price.current");
    }

    #[test]
    fn repairs_are_cheap_and_refuse_code() {
        assert_eq!(
            js_to_json("{a: 'x', b: [1,2,], c: undefined}").as_deref(),
            Some(r#"{"a": "x", "b": [1,2], "c": null}"#)
        );
        assert_eq!(js_to_json("{a: foo()}"), None);
    }
}
