//! API mappers: JSON payloads of shop and search APIs to facts.
//!
//! - Naver Shopping search (`/v1/search/shop.json`): every item is a product with its lowest price, and a
//!   rank by keyword (the request URL's `query`) and absolute position (`start` + index).
//! - Naver Smartstore product (`/i/v2/channels/{uid}/products/{id}`): one product, sale price after the
//!   seller's immediate discount, the pre-discount price as list price, review score and stock.
//! - Coupang Partners product search: products with prices, and ranks by keyword (the payload's own
//!   `rank`).
//! - Shopify Admin REST products, product listings and variants.
//! - WooCommerce REST v3 products and variations (single, list or batch).
//!
//! Shopify and WooCommerce payloads carry no currency: the source's default currency is required.
//! A payload of another kind (images, categories, reviews, …) is refused with a reason.

use serde_json::{Map, Value};
use url::Url;

use crate::common::{collapse, price_fact, strip_tags};
use crate::{PageContext, ParseError, Parsed, ProductFact, RankFact};

pub const VERSION: &str = "1";

type Obj = Map<String, Value>;

fn json(parser: &'static str, body: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice(body)
        .map_err(|e| ParseError::Unrecognized { parser, what: format!("the body is not JSON ({e})") })
}

fn unrecognized(parser: &'static str, what: impl Into<String>) -> ParseError {
    ParseError::Unrecognized { parser, what: what.into() }
}

fn field(parser: &'static str, field: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::Field { parser, field, reason: reason.into() }
}

/// A string or number field as text; `None` for null, missing or empty.
fn text(o: &Obj, key: &str) -> Option<String> {
    match o.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn num(o: &Obj, key: &str) -> Option<f64> {
    match o.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn uint(o: &Obj, key: &str) -> Option<u64> {
    match o.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn obj<'a>(o: &'a Obj, key: &str) -> Option<&'a Obj> {
    o.get(key)?.as_object()
}

/// A keyword search's ranks, absolute positions from `start` (1-based) and the page size.
fn search_rank(
    list_id: &str,
    keyword: &str,
    p: &ProductFact,
    position: u32,
    page_size: u32,
    seller: Option<String>,
) -> RankFact {
    let page_size = page_size.max(1);
    RankFact {
        list_id: list_id.to_string(),
        list_kind: "search".into(),
        keyword: Some(keyword.to_string()),
        product_id: p.product_id.clone(),
        product_url: p.url.clone(),
        position,
        page: (position - 1) / page_size + 1,
        page_size,
        seller,
    }
}

fn query_param(url: &str, names: &[&str]) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let value = url.query_pairs().find(|(k, _)| names.contains(&k.as_ref())).map(|(_, v)| v.to_string());
    value.filter(|v| !v.trim().is_empty())
}

// ---------------------------------------------------------------------------------------------------
// Naver Shopping search

pub const NAVER_SHOPPING: &str = "naver_shopping";

pub fn naver_shopping(body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    const P: &str = NAVER_SHOPPING;
    let v = json(P, body)?;
    let root = v.as_object().ok_or_else(|| unrecognized(P, "not a JSON object"))?;
    let items = root
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| unrecognized(P, "no `items` array (not a shop.json search response)"))?;
    let keyword = query_param(ctx.url, &["query"])
        .ok_or_else(|| field(P, "keyword", format!("the request URL has no `query` parameter: {}", ctx.url)))?;
    let start = root.get("start").and_then(Value::as_u64).unwrap_or(1).max(1);
    let display = root.get("display").and_then(Value::as_u64).unwrap_or(items.len() as u64);
    let page_size = u32::try_from(display).map_err(|_| field(P, "display", "too large"))?;
    let list_id = format!("naver-shopping:{keyword}");
    let mut parsed = Parsed::default();
    for (i, item) in items.iter().enumerate() {
        let item = item.as_object().ok_or_else(|| field(P, "items", format!("item {i} is not an object")))?;
        let id = text(item, "productId").ok_or_else(|| field(P, "productId", format!("item {i} has none")))?;
        let title = text(item, "title")
            .map(|t| strip_tags(&t))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| field(P, "title", format!("item {id} has none")))?;
        let mut p = ProductFact::new(id, text(item, "link").unwrap_or_default(), title);
        p.brand = text(item, "brand").or_else(|| text(item, "maker"));
        p.category = ["category4", "category3", "category2", "category1"].iter().find_map(|k| text(item, k));
        p.image_url = text(item, "image");
        // `lprice` is the lowest price on offer; `hprice` the highest (a range), not a list price.
        if let Some(lprice) = text(item, "lprice") {
            p.price = price_fact(P, &lprice, None, Some("KRW"), Some("KRW"))?;
        }
        let position = u32::try_from(start + i as u64).map_err(|_| field(P, "start", "too large"))?;
        let seller = text(item, "mallName").map(|m| strip_tags(&m)).filter(|m| !m.is_empty());
        parsed.ranks.push(search_rank(&list_id, &keyword, &p, position, page_size, seller));
        parsed.products.push(p);
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------------
// Naver Smartstore product

pub const NAVER_SMARTSTORE: &str = "naver_smartstore";

pub fn naver_smartstore(body: &[u8], _ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    const P: &str = NAVER_SMARTSTORE;
    let v = json(P, body)?;
    let o = v.as_object().ok_or_else(|| unrecognized(P, "not a JSON object"))?;
    if !(o.contains_key("salePrice") && o.contains_key("name")) {
        return Err(unrecognized(P, "no `name` and `salePrice` (not a channel product response)"));
    }
    let id = text(o, "id").or_else(|| text(o, "productNo")).ok_or_else(|| field(P, "id", "missing"))?;
    let title = text(o, "dispName")
        .or_else(|| text(o, "name"))
        .map(|t| collapse(&t))
        .ok_or_else(|| field(P, "name", "missing"))?;
    let url = text(o, "productUrl").unwrap_or_default();
    let mut p = ProductFact::new(id, url, title);
    let search = obj(o, "naverShoppingSearchInfo");
    p.brand = search.and_then(|s| text(s, "brandName")).or_else(|| search.and_then(|s| text(s, "manufacturerName")));
    p.category = obj(o, "category").and_then(|c| text(c, "categoryName"));
    p.image_url = obj(o, "representImage").and_then(|i| text(i, "url"));
    if let Some(reviews) = obj(o, "reviewAmount") {
        let count = uint(reviews, "totalReviewCount");
        p.rating_count = count;
        if count.unwrap_or(0) > 0 {
            p.rating = num(reviews, "averageReviewScore");
            p.rating_scale = p.rating.map(|_| 5.0);
        }
    }
    let soldout = o.get("soldout").and_then(Value::as_bool).unwrap_or(false);
    let selling = text(o, "productStatusType").is_none_or(|s| s == "SALE");
    p.in_stock = Some(!soldout && selling);
    p.stock = uint(o, "stockQuantity");
    // The price after the seller's immediate discount; `salePrice` before it is the list price.
    let sale = obj(o, "benefitsView")
        .and_then(|b| text(b, "dispDiscountedSalePrice").or_else(|| text(b, "discountedSalePrice")))
        .or_else(|| text(o, "discountedSalePrice"))
        .or_else(|| text(o, "salePrice"))
        .ok_or_else(|| field(P, "price", "no salePrice"))?;
    let list = text(o, "salePrice");
    p.price = price_fact(P, &sale, list.as_deref(), Some("KRW"), Some("KRW"))?;
    Ok(Parsed { products: vec![p], ..Parsed::default() })
}

// ---------------------------------------------------------------------------------------------------
// Coupang Partners product search

pub const COUPANG_PARTNERS: &str = "coupang_partners";

pub fn coupang_partners(body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    const P: &str = COUPANG_PARTNERS;
    let v = json(P, body)?;
    let o = v.as_object().ok_or_else(|| unrecognized(P, "not a JSON object"))?;
    if let Some(code) = text(o, "rCode").filter(|c| c != "0") {
        let msg = text(o, "rMessage").unwrap_or_default();
        return Err(unrecognized(P, format!("an error response (rCode {code}: {msg})")));
    }
    let items = obj(o, "data")
        .and_then(|d| d.get("productData"))
        .and_then(Value::as_array)
        .ok_or_else(|| unrecognized(P, "no data.productData array (not a products/search response)"))?;
    let url_keyword = query_param(ctx.url, &["keyword"]);
    let page_size = u32::try_from(items.len()).map_err(|_| field(P, "productData", "too many items"))?;
    let mut parsed = Parsed::default();
    for (i, item) in items.iter().enumerate() {
        let item = item.as_object().ok_or_else(|| field(P, "productData", format!("item {i} is not an object")))?;
        let id = text(item, "productId").ok_or_else(|| field(P, "productId", format!("item {i} has none")))?;
        let title = text(item, "productName")
            .map(|t| collapse(&t))
            .ok_or_else(|| field(P, "productName", format!("item {id} has none")))?;
        let mut p = ProductFact::new(id, text(item, "productUrl").unwrap_or_default(), title);
        p.category = text(item, "categoryName");
        p.image_url = text(item, "productImage");
        if let Some(price) = text(item, "productPrice") {
            p.price = price_fact(P, &price, None, Some("KRW"), Some("KRW"))?;
        }
        let keyword = url_keyword.clone().or_else(|| text(item, "keyword"));
        if let Some(keyword) = keyword {
            let rank = uint(item, "rank").and_then(|r| u32::try_from(r).ok()).filter(|r| *r >= 1);
            let position = rank.unwrap_or(i as u32 + 1);
            let list_id = format!("coupang-partners:{keyword}");
            parsed.ranks.push(search_rank(&list_id, &keyword, &p, position, page_size, None));
        }
        parsed.products.push(p);
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------------
// Shopify Admin REST

pub const SHOPIFY: &str = "shopify";

/// The storefront URL of a handle: the shop's origin (from the request URL) + `/products/<handle>`.
fn storefront(ctx_url: &str, path: &str) -> String {
    match Url::parse(ctx_url).ok().and_then(|u| u.join(path).ok()) {
        Some(u) => u.to_string(),
        None => path.to_string(),
    }
}

pub fn shopify(body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    const P: &str = SHOPIFY;
    let v = json(P, body)?;
    let mut parsed = Parsed::default();
    let (products, variants): (Vec<&Value>, Vec<&Value>) = match &v {
        Value::Array(a) => {
            // Some clients save the bare array of products.
            (a.iter().collect(), vec![])
        }
        Value::Object(o) => {
            let list = |k: &str| o.get(k).and_then(Value::as_array).map(|a| a.iter().collect::<Vec<_>>());
            let one = |k: &str| o.get(k).filter(|x| x.is_object()).map(|x| vec![x]);
            let products = list("products")
                .or_else(|| one("product"))
                .or_else(|| list("product_listings"))
                .or_else(|| one("product_listing"));
            let variants = list("variants").or_else(|| one("variant"));
            // A bare product or product listing (the object without its wrapper) has its own variants.
            let bare = o.contains_key("variants") && o.contains_key("title") && o.contains_key("handle");
            match (products, variants) {
                (Some(p), _) => (p, vec![]),
                _ if bare => (vec![&v], vec![]),
                (None, Some(v)) => (vec![], v),
                (None, None) => {
                    let keys: Vec<&str> = o.keys().map(String::as_str).take(5).collect();
                    return Err(unrecognized(
                        P,
                        format!("not a products, product listings or variants payload (keys {keys:?})"),
                    ));
                }
            }
        }
        _ => return Err(unrecognized(P, "not a JSON object or array")),
    };
    for (i, item) in products.iter().enumerate() {
        let o = item.as_object().ok_or_else(|| field(P, "products", format!("item {i} is not an object")))?;
        let id = text(o, "id")
            .or_else(|| text(o, "product_id"))
            .ok_or_else(|| field(P, "id", format!("product {i} has none")))?;
        let title = text(o, "title")
            .map(|t| collapse(&t))
            .ok_or_else(|| field(P, "title", format!("product {id} has none")))?;
        let url = text(o, "handle").map(|h| storefront(ctx.url, &format!("/products/{h}"))).unwrap_or_default();
        let mut p = ProductFact::new(id, url, title);
        p.brand = text(o, "vendor");
        p.category = text(o, "product_type");
        p.image_url = o
            .get("images")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_object)
            .and_then(|i| text(i, "src"));
        let vs: Vec<&Obj> = o
            .get("variants")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        // The product's price is its cheapest variant's (the lowest offer of the range).
        let cheapest =
            vs.iter().filter_map(|v| Some((num(v, "price")?, *v))).min_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, v)| v);
        if let Some(v) = cheapest {
            if let Some(price) = text(v, "price") {
                p.price = price_fact(P, &price, text(v, "compare_at_price").as_deref(), None, ctx.default_currency)?;
            }
            p.upc = text(v, "barcode").or_else(|| text(v, "sku"));
        }
        let quantities: Vec<u64> = vs.iter().filter_map(|v| uint(v, "inventory_quantity")).collect();
        if !quantities.is_empty() {
            p.stock = Some(quantities.iter().sum());
        }
        let sells_when_out = vs.iter().any(|v| text(v, "inventory_policy").as_deref() == Some("continue"));
        p.in_stock = match o.get("available").and_then(Value::as_bool) {
            Some(a) => Some(a),
            None if !vs.is_empty() => Some(p.stock.unwrap_or(0) > 0 || sells_when_out),
            None => None,
        };
        parsed.products.push(p);
    }
    for (i, item) in variants.iter().enumerate() {
        let v = item.as_object().ok_or_else(|| field(P, "variants", format!("item {i} is not an object")))?;
        let vid = text(v, "id").ok_or_else(|| field(P, "id", format!("variant {i} has none")))?;
        // A variant payload has no product title: the variant is its own product, keyed under its parent.
        let id = match text(v, "product_id") {
            Some(parent) => format!("{parent}:{vid}"),
            None => vid,
        };
        let title = text(v, "title")
            .map(|t| collapse(&t))
            .ok_or_else(|| field(P, "title", format!("variant {id} has none")))?;
        let mut p = ProductFact::new(id, String::new(), title);
        p.upc = text(v, "barcode").or_else(|| text(v, "sku"));
        p.stock = uint(v, "inventory_quantity");
        let sells_when_out = text(v, "inventory_policy").as_deref() == Some("continue");
        p.in_stock = v.get("available").and_then(Value::as_bool).or(p.stock.map(|s| s > 0 || sells_when_out));
        if let Some(price) = text(v, "price") {
            p.price = price_fact(P, &price, text(v, "compare_at_price").as_deref(), None, ctx.default_currency)?;
        }
        parsed.products.push(p);
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------------
// WooCommerce REST v3

pub const WOOCOMMERCE: &str = "woocommerce";

pub fn woocommerce(body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    const P: &str = WOOCOMMERCE;
    let v = json(P, body)?;
    let items: Vec<&Obj> = match &v {
        Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
        // A batch response: deleted items are no longer on sale, so only created and updated ones count.
        Value::Object(o) if o.contains_key("create") || o.contains_key("update") || o.contains_key("delete") => {
            ["create", "update"]
                .iter()
                .filter_map(|k| o.get(*k).and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_object)
                .collect()
        }
        Value::Object(o) => vec![o],
        _ => return Err(unrecognized(P, "not a JSON object or array")),
    };
    let is_item = |o: &Obj| o.contains_key("price") && o.contains_key("regular_price") && o.contains_key("permalink");
    if items.is_empty() && !matches!(&v, Value::Array(_)) || !items.iter().all(|o| is_item(o)) {
        return Err(unrecognized(P, "not a products or variations payload (no price, regular_price and permalink)"));
    }
    let mut parsed = Parsed::default();
    for o in items {
        let id = text(o, "id").ok_or_else(|| field(P, "id", "an item has none"))?;
        let url = text(o, "permalink").unwrap_or_default();
        let (id, title) = match text(o, "name") {
            Some(name) => (id, collapse(&name)),
            None => {
                // A variation: no name of its own; key it under its parent and name it by its attributes.
                let parent = o
                    .get("_links")
                    .and_then(|l| l.get("up"))
                    .and_then(|u| u.get(0))
                    .and_then(|u| u.get("href"))
                    .and_then(Value::as_str)
                    .and_then(|h| h.trim_end_matches('/').rsplit('/').next())
                    .map(str::to_string)
                    .or_else(|| text(o, "parent_id").filter(|p| p != "0"));
                let attrs: Vec<String> = o
                    .get("attributes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_object)
                            .filter_map(|a| Some(format!("{}: {}", text(a, "name")?, text(a, "option")?)))
                            .collect()
                    })
                    .unwrap_or_default();
                let id = match parent {
                    Some(parent) => format!("{parent}:{id}"),
                    None => id,
                };
                let title = if attrs.is_empty() { format!("Variation {id}") } else { attrs.join(", ") };
                (id, title)
            }
        };
        let mut p = ProductFact::new(id, url, title);
        p.upc = text(o, "sku");
        p.category = o
            .get("categories")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .and_then(Value::as_object)
            .and_then(|c| text(c, "name"));
        p.image_url = o
            .get("images")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .or_else(|| o.get("image"))
            .and_then(Value::as_object)
            .and_then(|i| text(i, "src"));
        let count = uint(o, "rating_count");
        p.rating_count = count;
        if count.unwrap_or(0) > 0 {
            p.rating = num(o, "average_rating");
            p.rating_scale = p.rating.map(|_| 5.0);
        }
        p.stock = uint(o, "stock_quantity");
        p.in_stock = text(o, "stock_status").map(|s| s != "outofstock");
        if let Some(price) = text(o, "price") {
            p.price = price_fact(P, &price, text(o, "regular_price").as_deref(), None, ctx.default_currency)?;
        }
        parsed.products.push(p);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(url: &str) -> PageContext<'_> {
        PageContext { url, content_type: Some("application/json"), default_currency: Some("USD") }
    }

    #[test]
    fn naver_search_needs_the_keyword_and_strips_tags() {
        let body = r#"{"start":21,"display":20,"items":[{"productId":"1","title":"<b>반팔</b> 티","lprice":"34990","hprice":"","link":"https://x/1"}]}"#.as_bytes();
        let err = naver_shopping(body, &ctx("https://openapi.naver.com/v1/search/shop.json")).expect_err("no keyword");
        assert!(err.to_string().contains("query"), "{err}");
        let parsed = naver_shopping(
            body,
            &ctx("https://openapi.naver.com/v1/search/shop.json?query=%EB%B0%98%ED%8C%94&start=21"),
        )
        .expect("parses");
        assert_eq!(parsed.products[0].title, "반팔 티");
        let r = &parsed.ranks[0];
        assert_eq!((r.position, r.page, r.page_size, r.keyword.as_deref()), (21, 2, 20, Some("반팔")));
    }

    #[test]
    fn shopify_uses_the_cheapest_variant_and_its_compare_at_price() {
        let body = br#"{"product":{"id":7,"title":"Shoe","handle":"shoe","variants":[{"price":"20.00","compare_at_price":"25.00","inventory_quantity":0,"inventory_policy":"deny"},{"price":"18.00","compare_at_price":"30.00","inventory_quantity":2}]}}"#;
        let parsed = shopify(body, &ctx("https://s.myshopify.com/admin/api/2024-01/products/7.json")).expect("parses");
        let p = &parsed.products[0];
        assert_eq!(p.url, "https://s.myshopify.com/products/shoe");
        let price = p.price.as_ref().expect("price");
        assert_eq!((price.amount.as_str(), price.list_price.as_deref()), ("18.00", Some("30.00")));
        assert_eq!((p.stock, p.in_stock), (Some(2), Some(true)));
    }

    #[test]
    fn shopify_without_a_default_currency_is_a_field_error() {
        let body = br#"{"product":{"id":7,"title":"Shoe","variants":[{"price":"20.00"}]}}"#;
        let ctx = PageContext { url: "https://s/admin/products/7.json", content_type: None, default_currency: None };
        let err = shopify(body, &ctx).expect_err("no currency");
        assert!(err.to_string().contains("currency"), "{err}");
    }

    #[test]
    fn other_payloads_are_refused_with_a_reason() {
        assert!(matches!(
            woocommerce(b"[{\"id\":1,\"name\":\"Music\"}]", &ctx("https://x/")),
            Err(ParseError::Unrecognized { .. })
        ));
        assert!(matches!(shopify(b"{\"images\":[]}", &ctx("https://x/")), Err(ParseError::Unrecognized { .. })));
        assert!(matches!(coupang_partners(b"not json", &ctx("https://x/")), Err(ParseError::Unrecognized { .. })));
        let err =
            coupang_partners(br#"{"rCode":"400","rMessage":"bad"}"#, &ctx("https://x/")).expect_err("error response");
        assert!(err.to_string().contains("rCode 400"), "{err}");
    }
}
