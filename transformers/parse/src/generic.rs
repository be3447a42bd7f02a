//! The generic product-page parser, for shops without a parser of their own.
//!
//! Reads, in order of trust: JSON-LD (`Product`, `Offer`, `AggregateOffer`, `AggregateRating`, `ItemList`,
//! `BreadcrumbList`, `@graph`), microdata (turned into the same JSON shape), OpenGraph / `product:` meta
//! tags, and last well-known fallbacks (`h1`, a stray `itemprop="price"`). Each field comes from the most
//! trusted source that has it.
//!
//! - The **main** product is a top-level one (never one nested in another item, so "related" and
//!   "customers also bought" products are not candidates), not one of the page's list items, preferring
//!   the one whose URL is the page's canonical URL, then the first with offers.
//! - The price is the lowest current offer (`AggregateOffer.lowPrice` included); a schema.org list or
//!   strikethrough price, or OpenGraph's original price, is kept as the list price.
//! - A page with no main product but an `ItemList` is a listing: its items become products (title, URL,
//!   image) and ranks, by keyword when the URL has a search parameter.
//! - product_id: `sku`, then a GTIN, then `productID`, then an id derived from the canonical URL.

use scraper::{ElementRef, Html, Selector};
use serde_json::{json, Map, Value};
use shopstream_normalize::{parse_availability, parse_count, parse_rating};
use url::Url;

use crate::common::{collapse, id_from_url, price_fact};
use crate::embedded::{self, EmbeddedProduct};
use crate::heuristic::{
    cards, price_candidates, price_score, title_candidates, tree_distance, Card, PriceCand, Role, TitleCand,
};
use crate::locale::page_currency;
use crate::prepass::Script;
use crate::{Candidate, FieldSource, PageContext, ParseError, Parsed, PriceFact, ProductFact, RankFact};
use shopstream_normalize::{currency_exponent, PriceHints};

pub const NAME: &str = "generic";
pub const VERSION: &str = "1";

fn sel(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

fn field(field: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::Field { parser: NAME, field, reason: reason.into() }
}

/// The schema.org type names of a node (`@type` string or array, or a microdata itemtype URL's last part).
fn types(v: &Value) -> Vec<String> {
    let one = |t: &str| t.rsplit(['/', '#', ':']).next().unwrap_or(t).to_string();
    match v.get("@type") {
        Some(Value::String(t)) => vec![one(t)],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(one).collect(),
        _ => vec![],
    }
}

fn is_type(v: &Value, names: &[&str]) -> bool {
    types(v).iter().any(|t| names.contains(&t.as_str()))
}

const PRODUCT: &[&str] = &["Product", "ProductGroup", "IndividualProduct", "ProductModel", "Vehicle", "Book"];

/// A text value: a string or number, or the `name`/`@value` of an object; first of an array.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(collapse(s)).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(|x| text(Some(x))),
        Value::Object(o) => text(o.get("@value")).or_else(|| text(o.get("name"))),
        _ => None,
    }
}

/// A URL value: a string, or the `url`/`@id`/`contentUrl` of an object; first of an array.
fn url_value(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(|x| url_value(Some(x))),
        Value::Object(o) => {
            url_value(o.get("url")).or_else(|| url_value(o.get("contentUrl"))).or_else(|| url_value(o.get("@id")))
        }
        _ => None,
    }
}

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    }
}

// ---------------------------------------------------------------------------------------------------
// Reading the page

/// Top-level JSON-LD nodes: each script's object, array items, `@graph` members, and a page's
/// `mainEntity`. Scripts that are not valid JSON are skipped (the other sources may still do).
fn json_ld(scripts: &[Script]) -> Vec<Value> {
    let mut nodes = vec![];
    fn push(v: Value, nodes: &mut Vec<Value>) {
        match v {
            Value::Array(a) => a.into_iter().for_each(|x| push(x, nodes)),
            Value::Object(mut o) => {
                if let Some(graph) = o.remove("@graph") {
                    push(graph, nodes);
                }
                if let Some(main) = o.get("mainEntity").filter(|m| is_type(m, PRODUCT) || is_type(m, &["ItemList"])) {
                    push(main.clone(), nodes);
                }
                if !o.is_empty() {
                    nodes.push(Value::Object(o));
                }
            }
            _ => {}
        }
    }
    for script in scripts.iter().filter(|s| s.ty == "application/ld+json") {
        if let Ok(v) = serde_json::from_str::<Value>(script.text.trim()) {
            push(v, &mut nodes);
        }
    }
    nodes
}

/// The value of one microdata property element.
fn microdata_value(el: ElementRef<'_>) -> String {
    let v = el.value();
    let attr = match v.name() {
        _ if v.attr("content").is_some() => v.attr("content"),
        "a" | "link" | "area" => v.attr("href"),
        "img" | "audio" | "video" | "source" | "iframe" | "embed" => v.attr("src"),
        "time" => v.attr("datetime"),
        "data" | "meter" => v.attr("value"),
        _ => None,
    };
    match attr {
        Some(a) => a.trim().to_string(),
        None => collapse(&el.text().collect::<String>()),
    }
}

/// One microdata item as a JSON-LD-shaped object.
fn microdata_item(el: ElementRef<'_>) -> Value {
    let mut props = Map::new();
    if let Some(t) = el.value().attr("itemtype") {
        props.insert("@type".into(), json!(t.split_whitespace().collect::<Vec<_>>()));
    }
    fn walk(el: ElementRef<'_>, props: &mut Map<String, Value>) {
        for child in el.children().filter_map(ElementRef::wrap) {
            let v = child.value();
            let scoped = v.attr("itemscope").is_some();
            if let Some(names) = v.attr("itemprop") {
                let value = if scoped { microdata_item(child) } else { Value::String(microdata_value(child)) };
                for name in names.split_whitespace() {
                    // Keep only the last path part of URL-named properties.
                    let name = name.rsplit(['/', '#']).next().unwrap_or(name).to_string();
                    match props.get_mut(&name) {
                        Some(Value::Array(a)) => a.push(value.clone()),
                        Some(existing) => {
                            let first = existing.take();
                            *existing = Value::Array(vec![first, value.clone()]);
                        }
                        None => {
                            props.insert(name, value.clone());
                        }
                    }
                }
            }
            if !scoped {
                walk(child, props);
            }
        }
    }
    walk(el, &mut props);
    Value::Object(props)
}

/// Top-level microdata items (an `itemscope` with no `itemprop`, so not a property of another item).
fn microdata(doc: &Html) -> Vec<Value> {
    let Some(s) = sel("[itemscope]:not([itemprop])") else {
        return vec![];
    };
    doc.select(&s).map(microdata_item).collect()
}

/// `<meta property|name=… content=…>` pairs, first value per name.
fn metas(doc: &Html) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(s) = sel("meta[content]") else {
        return out;
    };
    for m in doc.select(&s) {
        let v = m.value();
        let Some(name) = v.attr("property").or_else(|| v.attr("name")) else {
            continue;
        };
        let content = v.attr("content").unwrap_or_default().trim();
        if name == "product:price:amount" && !content.is_empty() {
            // Some pages give one price per variant: all are kept for checking against the page.
            let all = out.entry("product:price:amount:all").or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(a) = all {
                a.push(Value::String(content.to_string()));
            }
        }
        if !content.is_empty() && !out.contains_key(name) {
            out.insert(name.to_string(), Value::String(content.to_string()));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Facts

/// What one source says about the main product (all optional, merged by trust).
#[derive(Debug, Default)]
struct Found {
    id: Option<String>,
    gtin: Option<String>,
    sku: Option<String>,
    url: Option<String>,
    title: Option<String>,
    brand: Option<String>,
    category: Option<String>,
    image: Option<String>,
    /// (price text, list price text, currency)
    price: Option<(String, Option<String>, Option<String>)>,
    /// An offer whose price text could not be read (no or ambiguous currency, inexact amount): kept so
    /// that a product with no readable price is refused with the reason, not stored without a price.
    refused_price: Option<(String, Option<String>, Option<String>)>,
    rating: Option<(String, Option<f64>, Option<f64>)>,
    rating_count: Option<u64>,
    availability: Option<String>,
}

impl Found {
    fn or(self, other: Found) -> Found {
        Found {
            id: self.id.or(other.id),
            gtin: self.gtin.or(other.gtin),
            sku: self.sku.or(other.sku),
            url: self.url.or(other.url),
            title: self.title.or(other.title),
            brand: self.brand.or(other.brand),
            category: self.category.or(other.category),
            image: self.image.or(other.image),
            price: self.price.or(other.price),
            refused_price: self.refused_price.or(other.refused_price),
            rating: self.rating.or(other.rating),
            rating_count: self.rating_count.or(other.rating_count),
            availability: self.availability.or(other.availability),
        }
    }
}

fn num(v: Option<&Value>) -> Option<f64> {
    text(v).and_then(|t| t.parse().ok())
}

/// One offer's `(price, list price, currency, availability)` texts.
type OfferText = (String, Option<String>, Option<String>, Option<String>);

/// One `ItemList` entry: position, URL, name, image, and the item node.
type ListItem<'a> = (u32, Url, Option<String>, Option<String>, &'a Value);

/// Every price an offer gives.
fn offers(product: &Value) -> Vec<OfferText> {
    let mut out = vec![];
    fn visit(o: &Value, out: &mut Vec<OfferText>) {
        let currency = text(o.get("priceCurrency"));
        let availability = url_value(o.get("availability")).or_else(|| text(o.get("availability")));
        let mut list = None;
        let mut spec_price = None;
        let mut spec_currency = None;
        for spec in as_list(o.get("priceSpecification")) {
            let kind = url_value(spec.get("priceType")).unwrap_or_default();
            let p = text(spec.get("price"));
            if kind.ends_with("ListPrice") || kind.ends_with("StrikethroughPrice") || kind.ends_with("MSRP") {
                list = list.or(p);
            } else if spec_price.is_none() {
                spec_price = p;
                spec_currency = text(spec.get("priceCurrency"));
            }
        }
        let price = if is_type(o, &["AggregateOffer"]) {
            text(o.get("lowPrice")).or_else(|| text(o.get("price")))
        } else {
            text(o.get("price")).or(spec_price).or_else(|| text(o.get("lowPrice")))
        };
        if let Some(price) = price {
            out.push((price, list, currency.or(spec_currency), availability));
        }
        for inner in as_list(o.get("offers")) {
            visit(inner, out);
        }
    }
    for o in as_list(product.get("offers")) {
        visit(o, &mut out);
    }
    out
}

fn from_node(p: &Value, ctx: &PageContext<'_>) -> Found {
    let gtin = ["gtin13", "gtin", "gtin14", "gtin12", "gtin8", "isbn"].iter().find_map(|k| text(p.get(*k)));
    // The lowest current offer; its availability goes with it.
    let hints_currency = ctx.default_currency;
    let mut best: Option<(f64, OfferText)> = None;
    let mut refused: Option<OfferText> = None;
    for offer in offers(p) {
        let currency = offer.2.as_deref().or(hints_currency);
        match price_fact(NAME, &offer.0, None, currency, hints_currency) {
            Ok(Some(fact)) => {
                let value = fact.minor_units as f64;
                if best.as_ref().is_none_or(|(b, _)| value < *b) {
                    best = Some((value, offer));
                }
            }
            Ok(None) => {}
            Err(_) => {
                refused.get_or_insert(offer);
            }
        }
    }
    let any_availability = offers(p).into_iter().find_map(|o| o.3);
    let rating = p.get("aggregateRating");
    Found {
        id: text(p.get("productID")),
        gtin,
        sku: text(p.get("sku")),
        url: url_value(p.get("url")),
        title: text(p.get("name")),
        brand: text(p.get("brand")).or_else(|| text(p.get("manufacturer"))),
        category: text(p.get("category")),
        image: url_value(p.get("image")),
        availability: best.as_ref().and_then(|(_, o)| o.3.clone()).or(any_availability),
        price: best.map(|(_, o)| (o.0, o.1, o.2)),
        refused_price: refused.map(|o| (o.0, o.1, o.2)),
        rating: rating
            .and_then(|r| Some((text(r.get("ratingValue"))?, num(r.get("bestRating")), num(r.get("worstRating"))))),
        rating_count: rating
            .and_then(|r| text(r.get("ratingCount")).or_else(|| text(r.get("reviewCount"))))
            .and_then(|c| parse_count(&c)),
    }
}

fn from_meta(m: &Map<String, Value>) -> Found {
    let get = |k: &str| text(m.get(k));
    let price =
        get("product:sale_price:amount").or_else(|| get("product:price:amount")).or_else(|| get("og:price:amount"));
    let currency = get("product:sale_price:currency")
        .or_else(|| get("product:price:currency"))
        .or_else(|| get("og:price:currency"));
    let is_product = get("og:type").is_some_and(|t| t.starts_with("product")) || price.is_some();
    if !is_product {
        return Found::default();
    }
    let list = get("product:original_price:amount").or_else(|| {
        // When a sale price is given, the plain price is the regular one.
        get("product:sale_price:amount").and(get("product:price:amount"))
    });
    Found {
        id: None,
        gtin: get("product:gtin")
            .or_else(|| get("product:upc"))
            .or_else(|| get("product:ean"))
            .or_else(|| get("product:isbn")),
        sku: get("product:retailer_item_id").or_else(|| get("product:sku")),
        url: get("og:url"),
        title: get("og:title"),
        brand: get("product:brand").or_else(|| get("og:brand")),
        category: get("product:category"),
        image: get("og:image"),
        price: price.map(|p| (p, list, currency)),
        refused_price: None,
        rating: None,
        rating_count: None,
        availability: get("product:availability").or_else(|| get("og:availability")),
    }
}

fn from_fallbacks(doc: &Html) -> Found {
    let first_text = |s: &str| {
        sel(s)
            .and_then(|s| doc.select(&s).next())
            .map(|e| collapse(&e.text().collect::<String>()))
            .filter(|t| !t.is_empty())
    };
    let price =
        sel("[itemprop=price]").and_then(|s| doc.select(&s).next()).map(microdata_value).filter(|p| !p.is_empty());
    let currency = sel("[itemprop=priceCurrency]").and_then(|s| doc.select(&s).next()).map(microdata_value);
    Found { title: first_text("h1"), price: price.map(|p| (p, None, currency)), ..Found::default() }
}

fn resolve(base: &Url, href: &str) -> Option<Url> {
    base.join(href.trim()).ok()
}

fn same_page(a: &Url, b: &Url) -> bool {
    id_from_url(a) == id_from_url(b)
}

/// Below this confidence a fallback reading (embedded state, page heuristics) is refused, not stored.
pub const MIN_CONFIDENCE: f64 = 0.5;

fn source(field: &str, method: &str, confidence: f64, value: &str) -> FieldSource {
    FieldSource { field: field.into(), method: method.into(), confidence, value: value.into() }
}

/// The items (by URL) of the page's JSON-LD `ItemList`s, with their positions.
fn item_lists<'v>(ld: &'v [Value], page_url: &Url) -> Vec<ListItem<'v>> {
    let mut items: Vec<ListItem<'v>> = vec![];
    for list in ld.iter().filter(|n| is_type(n, &["ItemList"])) {
        for (i, el) in as_list(list.get("itemListElement")).into_iter().enumerate() {
            let item = el.get("item").filter(|i| i.is_object()).unwrap_or(el);
            let Some(url) = url_value(item.get("url"))
                .or_else(|| url_value(el.get("url")))
                .or_else(|| url_value(el.get("item")))
                .and_then(|u| resolve(page_url, &u))
            else {
                continue;
            };
            let position = num(el.get("position")).filter(|p| *p >= 1.0).map(|p| p as u32).unwrap_or(i as u32 + 1);
            let name = text(item.get("name")).or_else(|| text(el.get("name")));
            let image = url_value(item.get("image")).or_else(|| url_value(el.get("image")));
            items.push((position, url, name, image, item));
        }
    }
    items
}

pub fn parse(body: &[u8], ctx: &PageContext<'_>, page_size: Option<u32>) -> Result<Parsed, ParseError> {
    let (html, charset, how) = crate::decode_page(body, ctx.content_type);
    let page_url = Url::parse(ctx.url).map_err(|e| field("url", format!("{e}: {}", ctx.url)))?;
    let stripped = crate::prepass::strip(&html);
    let doc = Html::parse_document(&stripped.html);
    let charset_source = source("charset", how, if how == crate::decode_how::DETECTED { 0.7 } else { 1.0 }, charset);
    let canonical = sel(r#"link[rel="canonical"]"#)
        .and_then(|s| doc.select(&s).next())
        .and_then(|l| l.value().attr("href"))
        .and_then(|h| resolve(&page_url, h))
        // A listing's canonical URL is often the site root: only trust it when it names a page.
        .filter(|u| u.path() != "/")
        .unwrap_or_else(|| page_url.clone());

    let ld = json_ld(&stripped.scripts);
    let md = microdata(&doc);
    let meta = metas(&doc);

    let list_items = item_lists(&ld, &page_url);
    let in_list = |p: &Value| {
        url_value(p.get("url"))
            .and_then(|u| resolve(&page_url, &u))
            .is_some_and(|u| list_items.iter().any(|(_, l, ..)| same_page(l, &u)))
    };
    let pick = |nodes: &[Value]| -> Option<Value> {
        let candidates: Vec<&Value> = nodes.iter().filter(|n| is_type(n, PRODUCT) && !in_list(n)).collect();
        let on_page = |n: &&&Value| {
            url_value(n.get("url"))
                .and_then(|u| resolve(&page_url, &u))
                .is_some_and(|u| same_page(&u, &canonical) || same_page(&u, &page_url))
        };
        if !list_items.is_empty() {
            // On a page with a list, a product elsewhere than the page itself is a carousel or list item.
            return candidates.iter().find(on_page).map(|n| (*n).clone());
        }
        candidates
            .iter()
            .find(on_page)
            .or_else(|| candidates.iter().find(|n| !offers(n).is_empty()))
            .or_else(|| candidates.first())
            .map(|n| (*n).clone())
    };
    let ld_main = pick(&ld);
    let md_main = pick(&md);
    let meta_found = from_meta(&meta);
    let has_main = ld_main.is_some() || md_main.is_some() || meta_found.price.is_some();

    if !has_main && !list_items.is_empty() {
        let mut parsed = listing(&list_items, &ld, &page_url, &canonical, page_size)?;
        parsed.provenance.push(charset_source);
        return Ok(parsed);
    }
    let page = Page::read(&doc, &stripped.scripts, &page_url, ctx);
    if !has_main {
        let mut parsed = fallback(&page, &doc, ctx, &page_url, &canonical, page_size)?;
        parsed.provenance.insert(0, charset_source);
        return Ok(parsed);
    }
    // Each source separately, so that every field knows where it came from.
    let ld_found = ld_main.as_ref().map(|p| from_node(p, ctx)).unwrap_or_default();
    let md_found = md_main.as_ref().map(|p| from_node(p, ctx)).unwrap_or_default();
    let fb_found = from_fallbacks(&doc);
    let method_of = |pick: &dyn Fn(&Found) -> bool| -> &'static str {
        if pick(&ld_found) {
            "json-ld"
        } else if pick(&md_found) {
            "microdata"
        } else if pick(&meta_found) {
            "opengraph"
        } else {
            "heuristic"
        }
    };
    let title_method = method_of(&|f: &Found| f.title.is_some());
    let price_method = method_of(&|f: &Found| f.price.is_some() || f.refused_price.is_some());
    let title_method = match title_method {
        "heuristic" => "heuristic:h1",
        m => m,
    };
    let price_method = match price_method {
        "heuristic" => "heuristic:[itemprop=price]",
        m => m,
    };
    let found = ld_found.or(md_found).or(meta_found).or(fb_found);
    let title = found.title.clone().ok_or_else(|| field("title", "no name in structured data, no og:title, no h1"))?;
    let title = if title_method == "opengraph" {
        let site = text(meta.get("og:site_name"));
        crate::heuristic::strip_site_name(&title, page_url.host_str(), site.as_deref())
    } else {
        title
    };
    let url = found.url.as_deref().and_then(|u| resolve(&page_url, u)).unwrap_or_else(|| canonical.clone());
    let product_id = found
        .sku
        .clone()
        .or_else(|| found.gtin.clone())
        .or_else(|| found.id.clone())
        .or_else(|| id_from_url(&canonical))
        .ok_or_else(|| field("product_id", format!("no sku, gtin or productID, and no usable URL in {canonical}")))?;
    let category = found.category.clone().or_else(|| breadcrumb_category(&ld, &url, &title));
    // No readable price anywhere, but an offer that could not be read: refused with that offer's reason.
    let structured = match found.price.as_ref().or(found.refused_price.as_ref()) {
        Some((raw, list, currency)) => {
            price_fact(NAME, raw, list.as_deref(), currency.as_deref().or(ctx.default_currency), ctx.default_currency)?
        }
        None => None,
    };
    let mut provenance = vec![charset_source, source("title", title_method, 1.0, &title)];
    let mut rejected = vec![];
    let price = check_structured_price(&page, &meta, &title, structured, price_method, &mut provenance, &mut rejected);
    let rating = found.rating.as_ref().and_then(|(v, best, worst)| parse_rating(v, *best, *worst));
    let availability = found.availability.as_deref().and_then(parse_availability);
    let product = ProductFact {
        product_id,
        url: url.to_string(),
        title,
        brand: found.brand.clone(),
        category,
        upc: found.gtin.clone().or(found.sku.clone()),
        rating: rating.as_ref().map(|r| r.value),
        rating_count: found.rating_count.or(rating.as_ref().and_then(|r| r.count)),
        rating_scale: rating.as_ref().map(|r| r.scale),
        in_stock: availability.as_ref().map(|a| a.in_stock),
        stock: availability.as_ref().and_then(|a| a.stock),
        image_url: found.image.as_deref().and_then(|i| resolve(&page_url, i)).map(|u| u.to_string()),
        price,
        extraction_method: Some(title_method.to_string()),
    };
    Ok(Parsed { products: vec![product], ranks: vec![], provenance, rejected })
}

// ---------------------------------------------------------------------------------------------------
// Fallbacks: embedded state and page heuristics

/// What the heuristics read from a page once: price-looking texts, title candidates, the locale's currency.
struct Page<'a> {
    prices: Vec<PriceCand<'a>>,
    titles: Vec<TitleCand<'a>>,
    /// Embedded-state products, read on first use: only a page without a structured price needs them,
    /// and reading every script's JSON is a large part of a page's cost.
    embedded: std::cell::OnceCell<Vec<EmbeddedProduct>>,
    scripts: &'a [Script],
    /// The currency the page's locale implies, and where it was read.
    locale: Option<(&'static str, String)>,
}

impl<'a> Page<'a> {
    fn read(doc: &'a Html, scripts: &'a [Script], url: &Url, ctx: &PageContext<'_>) -> Page<'a> {
        let locale = page_currency(doc, Some(url));
        let default = ctx.default_currency.filter(|c| currency_exponent(c).is_some());
        let hints = PriceHints {
            currency_hint: locale.as_ref().map(|l| l.0),
            decimal_separator: None,
            default_currency: default,
        };
        let prices = price_candidates(doc, &hints);
        let titles = title_candidates(doc, url.host_str());
        Page { prices, titles, embedded: std::cell::OnceCell::new(), scripts, locale }
    }

    fn embedded(&self) -> &[EmbeddedProduct] {
        self.embedded.get_or_init(|| embedded::products(&embedded::documents(self.scripts), 200))
    }

    /// The best title candidate (an element when a heading agrees with the document title).
    fn title(&self) -> Option<&TitleCand<'a>> {
        self.titles.first()
    }

    /// Current-price candidates scored against the title element, best first, with reasons.
    fn ranked(&self, title: Option<&TitleCand<'a>>) -> Vec<(f64, &PriceCand<'a>, Vec<&'static str>)> {
        let anchor = title.and_then(|t| t.el.map(|e| (e, t.order)));
        let mut out: Vec<(f64, &PriceCand<'a>, Vec<&'static str>)> = self
            .prices
            .iter()
            .filter(|p| p.role == Role::Current)
            .map(|p| {
                let (s, why) = price_score(p, anchor);
                (s, p, why)
            })
            .collect();
        // The same amount shown again near the title is more prominent.
        let amounts: Vec<(i64, f64)> = out.iter().map(|(s, p, _)| (p.minor, *s)).collect();
        for (s, p, _) in &mut out {
            let repeats = amounts.iter().filter(|(m, other)| *m == p.minor && *other > 2.0).count();
            if repeats > 1 {
                *s += 0.3 * ((repeats - 1).min(3) as f64);
            }
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.order.cmp(&b.1.order)));
        out
    }

    /// The struck or "was" price shown beside `price` (nearest, higher, same currency).
    fn list_beside(&self, price: &PriceCand<'a>) -> Option<&PriceCand<'a>> {
        self.prices
            .iter()
            .filter(|p| p.role == Role::List && p.minor > price.minor && p.currency == price.currency)
            .map(|p| (tree_distance(p.el, price.el), p))
            .filter(|(d, _)| *d <= 6)
            .min_by_key(|(d, p)| (*d, p.order))
            .map(|(_, p)| p)
    }

    /// The heading element that shows `title` (for distances), if any.
    fn title_for(&self, title: &str) -> Option<&TitleCand<'a>> {
        let want = collapse(title).to_lowercase();
        self.titles.iter().filter(|t| t.el.is_some()).find(|t| {
            let have = t.text.to_lowercase();
            !have.is_empty() && (have == want || want.contains(&have) || have.contains(&want))
        })
    }
}

fn price_candidate(field: &str, p: &PriceCand<'_>, confidence: f64, reason: String) -> Candidate {
    Candidate {
        field: field.into(),
        method: format!("heuristic:{}", p.selector),
        confidence,
        value: format!("{} {}", p.amount, p.currency.as_deref().unwrap_or("?")),
        reason,
    }
}

/// Check a structured price against what the page shows:
/// - the page shows the structured price struck through / as "was" (or OpenGraph names it the regular
///   price) beside a lower current price: the lower one is the price, the structured one the list price;
/// - the page shows a gross price incl. VAT up to 30 % above a structured net price: the gross one;
/// - OpenGraph lists several prices (one per variant): the one the page shows;
/// - the structured data has no list price: the struck price shown beside the same price.
fn check_structured_price(
    page: &Page<'_>,
    meta: &Map<String, Value>,
    title: &str,
    structured: Option<PriceFact>,
    method: &str,
    provenance: &mut Vec<FieldSource>,
    rejected: &mut Vec<Candidate>,
) -> Option<PriceFact> {
    let anchor = page.title_for(title);
    let ranked = page.ranked(anchor);
    let Some(mut fact) = structured else {
        // Structured data without a price: the fallbacks may find it.
        let (fact, rej) = fallback_price(page, anchor, None);
        rejected.extend(rej);
        if let Some((f, conf)) = &fact {
            push_price_sources(provenance, f, *conf);
        }
        return fact.map(|(f, _)| f);
    };
    fact.extraction_method = Some(method.to_string());
    let mut confidence = 1.0;
    let currency = fact.currency.clone();
    // An ambiguous mark (`Rs.`, `$`) shown with the same amount as the structured price is that price.
    let same_cur = |p: &PriceCand<'_>| p.currency.as_deref() == Some(currency.as_str()) || p.ambiguous;
    // OpenGraph's regular price, or a struck price on the page, equal to the structured price.
    let og_regular = ["og:price:standard_amount", "product:original_price:amount"]
        .iter()
        .find_map(|k| text(meta.get(*k)))
        .and_then(|raw| price_fact(NAME, &raw, None, Some(&fact.currency), Some(&fact.currency)).ok().flatten());
    let og_sale = text(meta.get("product:price:amount"))
        .and_then(|raw| price_fact(NAME, &raw, None, Some(&fact.currency), Some(&fact.currency)).ok().flatten());
    let struck_equal = page.prices.iter().any(|p| p.role == Role::List && same_cur(p) && p.minor == fact.minor_units);
    if og_regular.as_ref().is_some_and(|r| r.minor_units == fact.minor_units) {
        if let Some(sale) = og_sale.filter(|s| s.minor_units < fact.minor_units) {
            rejected.push(Candidate {
                field: "price".into(),
                method: method.into(),
                confidence: 0.3,
                value: format!("{} {}", fact.amount, fact.currency),
                reason: "OpenGraph names it the regular price beside a lower sale price".into(),
            });
            let list = fact.clone();
            fact = PriceFact {
                list_price: Some(list.amount.clone()),
                list_price_minor: Some(list.minor_units),
                extraction_method: Some("opengraph".into()),
                ..sale
            };
            confidence = 0.9;
        }
    } else if struck_equal {
        let lower = ranked.iter().find(|(s, p, _)| *s > 2.5 && same_cur(p) && p.minor < fact.minor_units);
        if let Some((s, v, _)) = lower {
            rejected.push(Candidate {
                field: "price".into(),
                method: method.into(),
                confidence: 0.3,
                value: format!("{} {}", fact.amount, fact.currency),
                reason: "shown struck through / as the old price beside a lower price".into(),
            });
            let list = fact.clone();
            fact = PriceFact {
                amount: v.amount.clone(),
                minor_units: v.minor,
                list_price: Some(list.amount.clone()),
                list_price_minor: Some(list.minor_units),
                raw: v.text.clone(),
                extraction_method: Some(format!("heuristic:{}", v.selector)),
                currency: fact.currency.clone(),
            };
            confidence = confidence_of(*s);
        }
    }
    if confidence == 1.0 {
        // A gross price incl. VAT shown above a structured net price.
        let gross = ranked.iter().find(|(s, p, _)| {
            *s > 2.0
                && p.vat_incl
                && same_cur(p)
                && p.minor > fact.minor_units
                && (p.minor as f64) <= fact.minor_units as f64 * 1.30
        });
        let shown_equal = ranked.iter().any(|(s, p, _)| *s > 2.5 && same_cur(p) && p.minor == fact.minor_units);
        if let (Some((s, g, _)), false) = (gross, shown_equal) {
            rejected.push(Candidate {
                field: "price".into(),
                method: method.into(),
                confidence: 0.4,
                value: format!("{} {}", fact.amount, fact.currency),
                reason: "net of VAT; the page shows the gross price".into(),
            });
            fact = PriceFact {
                amount: g.amount.clone(),
                minor_units: g.minor,
                raw: g.text.clone(),
                list_price: None,
                list_price_minor: None,
                extraction_method: Some(format!("heuristic:{}", g.selector)),
                currency: fact.currency.clone(),
            };
            confidence = confidence_of(*s);
        }
    }
    if confidence == 1.0 && method == "opengraph" {
        // Several OpenGraph prices (one per variant): the one shown.
        let all: Vec<i64> = page_meta_prices(page, &fact.currency, meta);
        if all.len() > 1 {
            if let Some((s, v, _)) = ranked.iter().find(|(s, p, _)| *s > 2.5 && same_cur(p) && all.contains(&p.minor)) {
                if v.minor != fact.minor_units {
                    rejected.push(Candidate {
                        field: "price".into(),
                        method: method.into(),
                        confidence: 0.4,
                        value: format!("{} {}", fact.amount, fact.currency),
                        reason: "one of several OpenGraph prices; the page shows another".into(),
                    });
                    fact.amount = v.amount.clone();
                    fact.minor_units = v.minor;
                    fact.raw = v.text.clone();
                    fact.list_price = None;
                    fact.list_price_minor = None;
                    fact.extraction_method = Some(format!("heuristic:{}", v.selector));
                    confidence = confidence_of(*s).max(0.8);
                }
            }
        }
    }
    if fact.list_price.is_none() {
        // The struck price shown beside the same price.
        let beside = ranked
            .iter()
            .filter(|(s, p, _)| *s > 2.0 && same_cur(p) && p.minor == fact.minor_units)
            .find_map(|(_, p, _)| page.list_beside(p));
        if let Some(l) = beside {
            fact.list_price = Some(l.amount.clone());
            fact.list_price_minor = Some(l.minor);
            provenance.push(source("list_price", &format!("heuristic:{}", l.selector), 0.8, &l.amount));
        }
    } else if let Some(l) = &fact.list_price {
        provenance.push(source("list_price", fact.extraction_method.as_deref().unwrap_or(method), confidence, l));
    }
    for (s, p, why) in ranked.iter().filter(|(_, p, _)| p.minor != fact.minor_units).take(5) {
        rejected.push(price_candidate("price", p, confidence_of(*s), why.join(", ")));
    }
    let m = fact.extraction_method.clone().unwrap_or_default();
    provenance.push(source("price", &m, confidence, &fact.amount));
    provenance.push(source("currency", &m, confidence, &fact.currency));
    Some(fact)
}

fn page_meta_prices(_page: &Page<'_>, currency: &str, meta: &Map<String, Value>) -> Vec<i64> {
    let mut out = vec![];
    for raw in
        meta.get("product:price:amount:all").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
    {
        if let Ok(Some(p)) = price_fact(NAME, raw, None, Some(currency), Some(currency)) {
            out.push(p.minor_units);
        }
    }
    out
}

fn confidence_of(score: f64) -> f64 {
    crate::heuristic::confidence(score)
}

fn push_price_sources(provenance: &mut Vec<FieldSource>, f: &PriceFact, conf: f64) {
    let m = f.extraction_method.clone().unwrap_or_default();
    provenance.push(source("price", &m, conf, &f.amount));
    if let Some(l) = &f.list_price {
        provenance.push(source("list_price", &m, conf, l));
    }
    provenance.push(source("currency", &m, conf, &f.currency));
}

/// The price by embedded state and page heuristics, with its confidence, and the candidates turned down.
/// `None` when nothing reaches [`MIN_CONFIDENCE`].
fn fallback_price(
    page: &Page<'_>,
    anchor: Option<&TitleCand<'_>>,
    title: Option<&str>,
) -> (Option<(PriceFact, f64)>, Vec<Candidate>) {
    let ranked = page.ranked(anchor);
    let mut rejected = vec![];
    // Embedded product objects whose name agrees with the title, and their price.
    let title_words: Vec<String> = title.or(anchor.map(|a| a.text.as_str())).map(words_of).unwrap_or_default();
    let mut embedded: Vec<(f64, &EmbeddedProduct, PriceFact)> = vec![];
    for e in page.embedded() {
        let agree = if title_words.is_empty() { 0.0 } else { share(&words_of(&e.name), &title_words) };
        let currency = e.currency.as_deref().or(page.locale.as_ref().map(|l| l.0));
        let Ok(Some(mut f)) = price_fact(NAME, &e.price, e.list.as_deref(), currency, currency) else { continue };
        f.extraction_method = Some(format!("embedded:{}", e.price_path));
        let confirmed = ranked.iter().any(|(s, p, _)| *s > 1.5 && p.minor == f.minor_units);
        let score =
            1.0 + 2.0 * agree + if confirmed { 1.0 } else { 0.0 } + if e.currency.is_some() { 0.3 } else { 0.0 };
        embedded.push((score, e, f));
    }
    embedded.sort_by(|a, b| b.0.total_cmp(&a.0));
    let best_embedded = embedded.first().map(|(s, _, f)| (confidence_of(*s), f.clone()));
    for (s, e, f) in embedded.iter().skip(1).take(5) {
        rejected.push(Candidate {
            field: "price".into(),
            method: format!("embedded:{}", e.price_path),
            confidence: confidence_of(*s),
            value: format!("{} {}", f.amount, f.currency),
            reason: format!("object {:?} agrees less with the title", e.name),
        });
    }
    let mut best_visible: Option<(f64, PriceFact)> = None;
    for (i, (s, p, why)) in ranked.iter().enumerate() {
        let conf = confidence_of(*s);
        if i == 0 && p.ambiguous {
            // Keep the dead-letter rule: an ambiguous mark without a hint is refused, never guessed.
            rejected.push(price_candidate("price", p, conf, "ambiguous currency mark".into()));
            if let Err(e) = price_fact(NAME, &p.text, None, None, None) {
                rejected.push(Candidate {
                    field: "price".into(),
                    method: format!("heuristic:{}", p.selector),
                    confidence: conf,
                    value: p.text.clone(),
                    reason: e.to_string(),
                });
            }
            continue;
        }
        if best_visible.is_none() && !p.ambiguous {
            if let Some(cur) = &p.currency {
                let list = page.list_beside(p);
                let fact = PriceFact {
                    amount: p.amount.clone(),
                    currency: cur.clone(),
                    minor_units: p.minor,
                    list_price_minor: list.map(|l| l.minor),
                    list_price: list.map(|l| l.amount.clone()),
                    raw: p.text.clone(),
                    extraction_method: Some(format!("heuristic:{}", p.selector)),
                };
                best_visible = Some((conf, fact));
                continue;
            }
        }
        if rejected.len() < 12 {
            rejected.push(price_candidate("price", p, conf, why.join(", ")));
        }
    }
    for p in page.prices.iter().filter(|p| p.role != Role::Current).take(8) {
        let reason = match &p.role {
            Role::List => "a struck / was / reference price".to_string(),
            Role::Other(why) => why.to_string(),
            Role::Current => String::new(),
        };
        rejected.push(price_candidate("price", p, 0.0, reason));
    }
    // Visible text wins over embedded state unless the state is surer (it agrees with the title and the
    // visible price does not stand out).
    let chosen = match (best_visible, best_embedded) {
        (Some(v), Some(e)) if e.0 > v.0 + 0.1 => Some((e.1, e.0)),
        (Some(v), _) => Some((v.1, v.0)),
        (None, Some(e)) => Some((e.1, e.0)),
        (None, None) => None,
    };
    match chosen {
        Some((f, c)) if c >= MIN_CONFIDENCE => (Some((f, c)), rejected),
        Some((f, c)) => {
            rejected.insert(
                0,
                Candidate {
                    field: "price".into(),
                    method: f.extraction_method.clone().unwrap_or_default(),
                    confidence: c,
                    value: format!("{} {}", f.amount, f.currency),
                    reason: "below the confidence threshold".into(),
                },
            );
            (None, rejected)
        }
        None => (None, rejected),
    }
}

fn words_of(s: &str) -> Vec<String> {
    s.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

fn share(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    a.iter().filter(|w| b.contains(w)).count() as f64 / a.len() as f64
}

/// A page without structured product data: a product by embedded state and heuristics, or a listing of
/// repeated product cards, or a refusal that lists the candidates.
fn fallback(
    page: &Page<'_>,
    doc: &Html,
    ctx: &PageContext<'_>,
    page_url: &Url,
    canonical: &Url,
    page_size: Option<u32>,
) -> Result<Parsed, ParseError> {
    let _ = doc;
    let title = page.title();
    let ranked = page.ranked(title);
    // Repeated cards decide a listing when the best price near the title sits inside one of them (a
    // product page's own price is not one of its carousel's cards).
    if let Some((shape, cards)) = cards(&page.prices) {
        let top_in_card =
            ranked.first().is_some_and(|(_, p, _)| cards.iter().any(|c| p.el.ancestors().any(|a| a.id() == c.el.id())));
        let strong_title = title.is_some_and(|t| t.el.is_some_and(|e| e.value().name() == "h1") && t.score > 2.5);
        if cards.len() >= 4 && (top_in_card || !strong_title || ranked.is_empty()) {
            return card_listing(&shape, &cards, page_url, canonical, page_size, ctx);
        }
    }
    let Some(title) = title else {
        return Err(ParseError::Unrecognized {
            parser: NAME,
            what: "no product found (no structured data, no title, no ItemList, no repeated product cards)".into(),
        });
    };
    let (price, mut rejected) = fallback_price(page, title.el.map(|_| title), Some(&title.text));
    let Some((price, confidence)) = price else {
        let best = rejected.first().map(|c| c.confidence).unwrap_or(0.0);
        if rejected.is_empty() {
            return Err(ParseError::Unrecognized {
                parser: NAME,
                what: "no product found (no structured data, no price on the page, no ItemList)".into(),
            });
        }
        return Err(ParseError::LowConfidence {
            parser: NAME,
            field: "price",
            best,
            threshold: MIN_CONFIDENCE,
            candidates: rejected,
        });
    };
    for t in page.titles.iter().skip(1).take(5) {
        rejected.push(Candidate {
            field: "title".into(),
            method: t.method.clone(),
            confidence: confidence_of(t.score + 0.5),
            value: t.text.clone(),
            reason: if t.reason.is_empty() { "lower score".into() } else { t.reason.into() },
        });
    }
    let title_conf = confidence_of(title.score + 0.5);
    let mut provenance = vec![source("title", &title.method, title_conf, &title.text)];
    push_price_sources(&mut provenance, &price, confidence);
    let product_id =
        id_from_url(canonical).ok_or_else(|| field("product_id", format!("no usable URL in {canonical}")))?;
    let mut product = ProductFact::new(product_id, canonical.to_string(), title.text.clone());
    product.extraction_method = Some(title.method.clone());
    product.price = Some(price);
    Ok(Parsed { products: vec![product], ranks: vec![], provenance, rejected })
}

/// Repeated product cards as products and ranks.
fn card_listing(
    shape: &str,
    cards: &[Card<'_>],
    page_url: &Url,
    canonical: &Url,
    page_size: Option<u32>,
    ctx: &PageContext<'_>,
) -> Result<Parsed, ParseError> {
    let _ = ctx;
    let (keyword, list_kind, list_id, page, page_size) = list_meta(page_url, canonical, page_size, cards.len());
    let mut parsed = Parsed::default();
    let method = format!("heuristic:{shape}");
    let mut position = 0u32;
    for card in cards {
        let Some(url) = resolve(page_url, &card.href) else { continue };
        let Some(product_id) = id_from_url(&url) else { continue };
        position += 1;
        let mut product = ProductFact::new(product_id.clone(), url.to_string(), card.title.clone());
        product.extraction_method = Some(method.clone());
        if let Some(p) = card.price.as_ref().filter(|p| !p.ambiguous) {
            if let Some(currency) = &p.currency {
                product.price = Some(PriceFact {
                    amount: p.amount.clone(),
                    currency: currency.clone(),
                    minor_units: p.minor,
                    list_price_minor: card.list.as_ref().map(|l| l.minor),
                    list_price: card.list.as_ref().map(|l| l.amount.clone()),
                    raw: p.text.clone(),
                    extraction_method: Some(format!("heuristic:{}", p.selector)),
                });
            }
        }
        parsed.products.push(product);
        // Cards carry no numbers: positions are the page order, offset by the pages before.
        let offset = if page > 1 {
            shopstream_normalize::absolute_position(page, page_size, 0).map_err(|e| field("position", e.to_string()))?
                - 1
        } else {
            0
        };
        parsed.ranks.push(RankFact {
            list_id: list_id.clone(),
            list_kind: list_kind.into(),
            keyword: keyword.clone(),
            product_id,
            product_url: url.to_string(),
            position: position.checked_add(offset).ok_or_else(|| field("position", "overflows u32"))?,
            page,
            page_size,
            seller: None,
        });
    }
    parsed.provenance.push(source("items", &method, 0.8, &cards.len().to_string()));
    Ok(parsed)
}

/// A listing's keyword, kind, id, page number and page size.
fn list_meta(
    page_url: &Url,
    canonical: &Url,
    page_size: Option<u32>,
    items: usize,
) -> (Option<String>, &'static str, String, u32, u32) {
    let keyword = page_url
        .query_pairs()
        .find(|(k, _)| ["keyword", "q", "query", "search", "k", "s", "_nkw"].contains(&k.as_ref()))
        .map(|(_, v)| collapse(&v))
        .filter(|k| !k.is_empty());
    let page = page_url
        .query_pairs()
        .find(|(k, _)| k == "page" || k == "p")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let (list_kind, list_id) = match &keyword {
        Some(k) => ("search", format!("search:{k}")),
        None => ("category", id_from_url(canonical).unwrap_or_else(|| canonical.to_string())),
    };
    let page_size = page_size.unwrap_or_else(|| u32::try_from(items).unwrap_or(u32::MAX)).max(1);
    (keyword, list_kind, list_id, page, page_size)
}

/// The last breadcrumb before the product itself, skipping the home link.
fn breadcrumb_category(ld: &[Value], product_url: &Url, title: &str) -> Option<String> {
    let list = ld.iter().find(|n| is_type(n, &["BreadcrumbList"]))?;
    let mut items: Vec<(f64, String, Option<String>)> = as_list(list.get("itemListElement"))
        .into_iter()
        .filter_map(|el| {
            let item = el.get("item");
            let name = text(el.get("name")).or_else(|| item.and_then(|i| text(i.get("name"))))?;
            let url = item.and_then(|i| url_value(Some(i)));
            Some((num(el.get("position")).unwrap_or(0.0), name, url))
        })
        .collect();
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let is_product = |(_, name, url): &(f64, String, Option<String>)| {
        name == title
            || url.as_deref().and_then(|u| product_url.join(u).ok()).is_some_and(|u| same_page(&u, product_url))
    };
    if items.last().is_some_and(is_product) {
        items.pop();
    }
    if items.len() < 2 {
        return None;
    }
    items.last().map(|(_, name, _)| name.clone())
}

/// A listing page's items as products and ranks.
///
/// Positions are absolute: a list numbered from 1 on page 2 or later is numbered per page, so its
/// positions are offset by the pages before it (`page_size` a full page, default the items here).
fn listing(
    items: &[ListItem<'_>],
    ld: &[Value],
    page_url: &Url,
    canonical: &Url,
    page_size: Option<u32>,
) -> Result<Parsed, ParseError> {
    let (keyword, list_kind, list_id, page, page_size) = list_meta(page_url, canonical, page_size, items.len());
    let per_page = page > 1 && items.iter().map(|i| i.0).min() == Some(1);
    let offset = if per_page {
        shopstream_normalize::absolute_position(page, page_size, 0).map_err(|e| field("position", e.to_string()))? - 1
    } else {
        0
    };
    let products_by_url: Vec<(Url, &Value)> = ld
        .iter()
        .filter(|n| is_type(n, PRODUCT))
        .filter_map(|n| Some((page_url.join(&url_value(n.get("url"))?).ok()?, n)))
        .collect();
    let mut parsed = Parsed::default();
    for (position, url, name, image, item) in items {
        let Some(product_id) = id_from_url(url) else {
            continue;
        };
        // A full Product elsewhere on the page for the same URL adds its rating and brand.
        let detail = products_by_url
            .iter()
            .find(|(u, _)| same_page(u, url))
            .map(|(_, n)| *n)
            .or(is_type(item, PRODUCT).then_some(*item));
        let rating = detail.and_then(|d| d.get("aggregateRating"));
        let parsed_rating = rating.and_then(|r| {
            parse_rating(&text(r.get("ratingValue"))?, num(r.get("bestRating")), num(r.get("worstRating")))
        });
        if let Some(title) = name.clone().or_else(|| detail.and_then(|d| text(d.get("name")))) {
            parsed.products.push(ProductFact {
                product_id: product_id.clone(),
                url: url.to_string(),
                title,
                brand: detail.and_then(|d| text(d.get("brand"))),
                category: None,
                upc: None,
                rating: parsed_rating.as_ref().map(|r| r.value),
                rating_count: rating
                    .and_then(|r| text(r.get("ratingCount")).or_else(|| text(r.get("reviewCount"))))
                    .and_then(|c| parse_count(&c)),
                rating_scale: parsed_rating.as_ref().map(|r| r.scale),
                in_stock: None,
                stock: None,
                image_url: image.clone(),
                price: None,
                extraction_method: Some("json-ld".into()),
            });
        }
        parsed.ranks.push(RankFact {
            list_id: list_id.clone(),
            list_kind: list_kind.into(),
            keyword: keyword.clone(),
            product_id,
            product_url: url.to_string(),
            position: position.checked_add(offset).ok_or_else(|| field("position", "overflows u32"))?,
            page,
            page_size,
            seller: None,
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(url: &str) -> PageContext<'_> {
        PageContext { url, content_type: Some("text/html"), default_currency: None }
    }

    #[test]
    fn json_ld_main_product_not_the_recommendations() {
        let html = r#"<html><head><link rel="canonical" href="https://shop.example/p/shoe">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"Product","name":"Other shoe","url":"https://shop.example/p/other","offers":{"@type":"Offer","price":"5.00","priceCurrency":"EUR"}},
 {"@type":"Product","name":"Shoe","sku":"S-1","url":"https://shop.example/p/shoe","brand":{"@type":"Brand","name":"Acme"},
  "offers":{"@type":"Offer","price":"79.90","priceCurrency":"EUR","availability":"https://schema.org/InStock",
   "priceSpecification":[{"@type":"UnitPriceSpecification","priceType":"https://schema.org/StrikethroughPrice","price":"99.90","priceCurrency":"EUR"}]},
  "aggregateRating":{"@type":"AggregateRating","ratingValue":"9","bestRating":"10","reviewCount":"12"},
  "isRelatedTo":{"@type":"Product","name":"Sock","offers":{"price":"1.00","priceCurrency":"EUR"}}}]}</script></head><body><h1>Shoe</h1></body></html>"#;
        let parsed = parse(html.as_bytes(), &ctx("https://shop.example/p/shoe?x=1"), None).expect("parses");
        assert_eq!(parsed.products.len(), 1);
        let p = &parsed.products[0];
        assert_eq!((p.product_id.as_str(), p.title.as_str(), p.brand.as_deref()), ("S-1", "Shoe", Some("Acme")));
        assert_eq!((p.rating, p.rating_count, p.in_stock), (Some(4.5), Some(12), Some(true)));
        let price = p.price.as_ref().expect("price");
        assert_eq!(
            (price.amount.as_str(), price.currency.as_str(), price.list_price.as_deref()),
            ("79.90", "EUR", Some("99.90"))
        );
    }

    #[test]
    fn opengraph_alone_is_enough() {
        let html = r#"<meta property="og:type" content="product"><meta property="og:title" content="Mug">
<meta property="product:price:amount" content="12,50"><meta property="product:price:currency" content="EUR">"#;
        let parsed = parse(html.as_bytes(), &ctx("https://shop.example/mug"), None).expect("parses");
        let p = &parsed.products[0];
        assert_eq!(p.product_id, "shop.example/mug");
        assert_eq!(p.price.as_ref().map(|p| p.minor_units), Some(1250));
    }

    #[test]
    fn a_page_without_products_is_refused() {
        let err =
            parse(b"<html><h1>About us</h1></html>", &ctx("https://shop.example/about"), None).expect_err("refused");
        assert!(matches!(err, ParseError::Unrecognized { .. }), "{err}");
    }

    fn item_list(positions: &[u32]) -> String {
        let items: Vec<String> = positions
            .iter()
            .map(|p| format!(r#"{{"@type":"ListItem","position":{p},"url":"/p/item-{p}","name":"Item {p}"}}"#))
            .collect();
        format!(
            r#"<script type="application/ld+json">{{"@context":"https://schema.org","@type":"ItemList",
            "itemListElement":[{}]}}</script>"#,
            items.join(",")
        )
    }

    #[test]
    fn listing_positions_are_absolute_across_pages() {
        let ranks = |html: &str, url: &str, size: Option<u32>| -> Vec<(u32, u32, u32)> {
            let parsed = parse(html.as_bytes(), &ctx(url), size).expect("parses");
            parsed.ranks.iter().map(|r| (r.position, r.page, r.page_size)).collect()
        };
        // Numbered per page: page 3 of 4 per page starts at 9.
        let html = item_list(&[1, 2, 3, 4]);
        assert_eq!(ranks(&html, "https://shop.example/c/mugs?page=3", None)[0], (9, 3, 4));
        // A short last page needs the configured page size: 2 items on page 3 of 4 per page are 9 and 10.
        let html = item_list(&[1, 2]);
        assert_eq!(ranks(&html, "https://shop.example/c/mugs?page=3", Some(4)), vec![(9, 3, 4), (10, 3, 4)]);
        // Already absolute (page 2 numbered from 5): kept as given.
        let html = item_list(&[5, 6, 7, 8]);
        assert_eq!(ranks(&html, "https://shop.example/c/mugs?page=2", None)[0], (5, 2, 4));
        // Page 1 is the same either way.
        let html = item_list(&[1, 2, 3]);
        assert_eq!(ranks(&html, "https://shop.example/c/mugs", Some(20))[2], (3, 1, 20));
    }

    #[test]
    fn an_offer_that_cannot_be_priced_refuses_the_page_with_the_reason() {
        // `$` alone, no priceCurrency and no source default: not stored as a product without a price.
        let html = r#"<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product",
        "name":"Lamp","sku":"L-1","offers":{"@type":"Offer","price":"$24.00"}}</script>"#;
        let err = parse(html.as_bytes(), &ctx("https://shop.example/lamp"), None).expect_err("refused");
        assert!(err.to_string().contains("ambiguous currency"), "{err}");
        // With the source's default currency it is a price.
        let c = PageContext { default_currency: Some("AUD"), ..ctx("https://shop.example/lamp") };
        let p = parse(html.as_bytes(), &c, None).expect("parses").products.remove(0);
        assert_eq!(p.price.map(|p| (p.currency, p.minor_units)), Some(("AUD".to_string(), 2400)));
        // A readable offer beside an unreadable one wins.
        let html = r#"<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product",
        "name":"Lamp","sku":"L-1","offers":[{"@type":"Offer","price":"$20.00"},
        {"@type":"Offer","price":"22.00","priceCurrency":"CAD"}]}</script>"#;
        let p = parse(html.as_bytes(), &ctx("https://shop.example/lamp"), None).expect("parses").products.remove(0);
        assert_eq!(p.price.map(|p| p.minor_units), Some(2200));
    }

    // Fallback heuristics on small synthetic pages (no structured data unless said).

    fn product(html: &str, url: &str) -> ProductFact {
        let c = PageContext { default_currency: None, ..ctx(url) };
        parse(html.as_bytes(), &c, None).expect("parses").products.remove(0)
    }

    #[test]
    fn a_struck_price_beside_the_price_is_the_list_price() {
        let html = r#"<html lang="de-DE"><head><title>Desk Lamp | Acme</title></head><body>
        <h1>Desk Lamp</h1><div class="product-price"><del>59,00 €</del> <span class="price">49,00 €</span></div>
        </body></html>"#;
        let p = product(html, "https://acme.example/desk-lamp");
        let price = p.price.expect("price");
        assert_eq!(
            (price.amount.as_str(), price.currency.as_str(), price.list_price.as_deref()),
            ("49.00", "EUR", Some("59.00"))
        );
        assert!(price.extraction_method.is_some_and(|m| m.starts_with("heuristic:")));
    }

    #[test]
    fn per_unit_and_instalment_prices_are_refused() {
        let html = r#"<html lang="pt-BR"><head><title>Café Torrado 500g - Loja</title></head><body>
        <h1>Café Torrado 500g</h1>
        <div class="box"><span class="installments">12x de R$ 9,90</span></div>
        <div class="box"><span class="price-per-unit">R$ 47,80/kg</span></div>
        <div class="box"><span class="price">R$ 23,90</span></div></body></html>"#;
        let c = ctx("https://loja.example/cafe-torrado");
        let parsed = parse(html.as_bytes(), &c, None).expect("parses");
        assert_eq!(parsed.products[0].price.as_ref().map(|p| p.minor_units), Some(2390));
        let reason = |value: &str| {
            parsed.rejected.iter().find(|r| r.value.starts_with(value)).map(|r| r.reason.clone()).unwrap_or_default()
        };
        assert!(reason("9.90").contains("instalment"), "{:?}", parsed.rejected);
        assert!(reason("47.80").contains("per-unit"), "{:?}", parsed.rejected);
    }

    #[test]
    fn the_title_without_the_site_name() {
        // No heading: the document title, less the site name.
        let html = r#"<html lang="en-GB"><head><title>Oak Side Table | Acme Furniture</title>
        <meta property="og:site_name" content="Acme Furniture"></head><body>
        <div class="product"><span class="price">£120.00</span></div></body></html>"#;
        let p = product(html, "https://www.acmefurniture.example/oak-side-table");
        assert_eq!(p.title, "Oak Side Table");
        assert_eq!(p.price.map(|p| (p.currency, p.minor_units)), Some(("GBP".to_string(), 12000)));
    }

    #[test]
    fn a_currency_in_a_sibling_span_pairs_the_number_with_the_struck_price() {
        let html = r#"<html><head><title>Bedsheet Set</title></head><body>
        <div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Bedsheet Set</h1>
        <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><div>
        <span class="striked-price">Rs. 879</span>
        <span class="now"><span itemprop="priceCurrency" content="INR">Rs.</span><span itemprop="price"> 747</span></span>
        </div></div></div></body></html>"#;
        let price = product(html, "https://shop.example/bedsheet-set").price.expect("price");
        assert_eq!(
            (price.amount.as_str(), price.currency.as_str(), price.list_price.as_deref()),
            ("747", "INR", Some("879"))
        );
    }

    #[test]
    fn a_vat_inclusive_gross_price_beats_a_structured_net_price() {
        let html = r#"<html lang="es-ES"><head><title>Felpudo pintado</title>
        <script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Felpudo pintado",
        "sku":"F-1","offers":{"@type":"Offer","price":"43.90","priceCurrency":"EUR"}}</script></head><body>
        <h1>Felpudo pintado</h1><div><div><p class="big">53,11 €</p></div>
        <div class="note">IVA incluido (cuando corresponda)</div></div></body></html>"#;
        let c = ctx("https://shop.example/felpudo");
        let parsed = parse(html.as_bytes(), &c, None).expect("parses");
        let price = parsed.products[0].price.as_ref().expect("price");
        assert_eq!((price.amount.as_str(), price.currency.as_str()), ("53.11", "EUR"));
        assert!(parsed.rejected.iter().any(|r| r.value == "43.90 EUR" && r.reason.contains("net of VAT")));
        // Without the VAT note the structured price stands.
        let plain = html.replace("IVA incluido (cuando corresponda)", "En stock");
        let parsed = parse(plain.as_bytes(), &c, None).expect("parses");
        assert_eq!(parsed.products[0].price.as_ref().map(|p| p.amount.as_str()), Some("43.90"));
    }

    #[test]
    fn repeated_product_cards_are_a_listing_with_absolute_positions() {
        let cards: String = (1..=5)
            .map(|i| {
                format!(
                    r#"<li class="product-card"><h3><a href="/p/item-{i}">Garden chair model {i}</a></h3>
                    <span class="price">€ {i}9,00</span></li>"#
                )
            })
            .collect();
        let html = format!(
            r#"<html lang="nl-NL"><head><title>Search: chair</title></head><body><h1>Results</h1>
            <ul class="results">{cards}</ul></body></html>"#
        );
        let parsed =
            parse(html.as_bytes(), &ctx("https://shop.example/search?q=chair&page=3"), Some(5)).expect("parses");
        assert_eq!(parsed.products.len(), 5);
        assert_eq!(parsed.products[0].title, "Garden chair model 1");
        assert_eq!(
            parsed.products[2].price.as_ref().map(|p| (p.currency.as_str(), p.minor_units)),
            Some(("EUR", 3900))
        );
        let ranks: Vec<(u32, u32, &str)> =
            parsed.ranks.iter().map(|r| (r.position, r.page, r.list_kind.as_str())).collect();
        assert_eq!(ranks[0], (11, 3, "search"));
        assert_eq!(ranks[4], (15, 3, "search"));
        assert!(parsed.ranks.iter().all(|r| r.keyword.as_deref() == Some("chair") && r.seller.is_none()));
    }

    #[test]
    fn a_page_below_the_confidence_threshold_is_refused_with_its_candidates() {
        // The only price-looking text is a footer's, without a price class: not stored as the price.
        let html = r#"<html lang="en-US"><head><title>Walnut Desk - Acme</title></head><body>
        <h1>Walnut Desk</h1><p>Hand made to order.</p>
        <footer><div><div><div><p>Gift cards from $25</p></div></div></div></footer></body></html>"#;
        let err = parse(html.as_bytes(), &ctx("https://acme.example/walnut-desk"), None).expect_err("refused");
        let ParseError::LowConfidence { field, best, threshold, candidates, .. } = err else {
            panic!("not LowConfidence: {err}")
        };
        assert_eq!(field, "price");
        assert!(best < threshold, "{best} < {threshold}");
        assert!(candidates.iter().any(|c| c.value == "25 USD"), "{candidates:?}");
    }

    #[test]
    fn embedded_state_gives_the_price_with_its_path() {
        for script in [
            r#"<script>window.__INITIAL_STATE__ = {product: {name: 'Stoneware Mug Big', salePrice: 12.5,
            listPrice: 15, currency: 'EUR'}};</script>"#,
            r#"<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"item":
            {"title":"Stoneware Mug Big","price":{"current":"12.50","original":"15.00","currency":"EUR"}}}}}</script>"#,
        ] {
            let html = format!(
                r#"<html><head><title>Stoneware Mug Big | Shop</title>{script}</head><body>
                <h1>Stoneware Mug Big</h1><div id="app"></div></body></html>"#
            );
            let p = product(&html, "https://shop.example/p/mug-big");
            let price = p.price.expect("price");
            assert_eq!((price.currency.as_str(), price.minor_units), ("EUR", 1250), "{script}");
            assert_eq!(price.list_price_minor, Some(1500), "{script}");
            assert!(price.extraction_method.as_deref().is_some_and(|m| m.starts_with("embedded:")), "{price:?}");
        }
    }
}
