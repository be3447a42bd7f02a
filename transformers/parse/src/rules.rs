//! Site rules: CSS selectors in config, for shops with no structured data.
//!
//! Each rule is a CSS selector, read as the first match's text; `selector @attr` reads an attribute
//! instead (e.g. `meta[property='og:url'] @content`, `.rating-star-num @style`). A page where the
//! title or price rule matches nothing is refused with the rule that failed, so a site redesign shows up
//! as dead letters with a reason instead of silently empty events.

use scraper::{ElementRef, Html, Selector};
use serde::Deserialize;
use shopstream_normalize::{parse_availability, parse_count, parse_rating};
use url::Url;

use crate::common::{collapse, id_from_url, price_fact};
use crate::{PageContext, ParseError, Parsed, ProductFact, RankFact};

pub const NAME: &str = "site_rules";
pub const VERSION: &str = "1";

/// CSS selector rules for one site (`type = "site_rules"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRules {
    /// Product title (required on product pages).
    #[serde(default)]
    pub title: Option<String>,
    /// Current selling price (required on product pages).
    #[serde(default)]
    pub price: Option<String>,
    /// Struck-through "was" price, kept as the list price.
    #[serde(default)]
    pub list_price: Option<String>,
    /// Rating text: `4.5`, `4.5/5`, `90%` or a `width: 90%` style.
    #[serde(default)]
    pub rating: Option<String>,
    /// Best value of the rating scale when the text does not say (default 5).
    #[serde(default)]
    pub rating_best: Option<f64>,
    /// Review count text (`444,062개 상품평`).
    #[serde(default)]
    pub rating_count: Option<String>,
    /// Availability text (`In stock (3 available)`, `품절`); missing element = unknown.
    #[serde(default)]
    pub stock: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Product id text; when absent (or when it reads a URL), the id is derived from the canonical URL.
    #[serde(default)]
    pub product_id: Option<String>,
    /// The page's canonical URL (default `link[rel=canonical] @href`, then `meta[property='og:url'] @content`).
    #[serde(default)]
    pub canonical: Option<String>,
    /// ISO 4217 currency of prices that name none (else the source's default currency).
    #[serde(default)]
    pub currency: Option<String>,
    /// Listing pages: one element per product, in rank order.
    #[serde(default)]
    pub listing_items: Option<String>,
    /// Inside a listing item: the product link (default `a @href`).
    #[serde(default)]
    pub item_link: Option<String>,
    /// Inside a listing item: the title (default the link's text).
    #[serde(default)]
    pub item_title: Option<String>,
    /// Inside a listing item: the price.
    #[serde(default)]
    pub item_price: Option<String>,
    /// Query parameter holding a search keyword (default `q`, `query`, `keyword`).
    #[serde(default)]
    pub keyword_param: Option<String>,
    /// Query parameter holding the page number (default `page`).
    #[serde(default)]
    pub page_param: Option<String>,
    /// How many items a full listing page holds, for exact absolute positions on a short last page
    /// (default: the items on the page, right for every page but a short last one).
    #[serde(default)]
    pub page_size: Option<u32>,
}

/// A parsed rule: selector and optional attribute.
struct Rule {
    selector: Selector,
    attr: Option<String>,
}

impl SiteRules {
    /// Every problem with the rules, by field name.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = vec![];
        for (name, rule) in self.rules() {
            if let Some(r) = rule {
                if let Err(e) = compile(r) {
                    problems.push(format!("site_rules.{name}: {e}"));
                }
            }
        }
        if self.title.is_none() && self.listing_items.is_none() {
            problems.push("site_rules: set `title` and `price` (product pages) or `listing_items` (listings)".into());
        }
        if self.title.is_some() != self.price.is_some() {
            problems.push("site_rules: `title` and `price` go together".into());
        }
        if self.page_size == Some(0) {
            problems.push("site_rules.page_size: must be at least 1".into());
        }
        problems
    }

    fn rules(&self) -> Vec<(&'static str, Option<&String>)> {
        vec![
            ("title", self.title.as_ref()),
            ("price", self.price.as_ref()),
            ("list_price", self.list_price.as_ref()),
            ("rating", self.rating.as_ref()),
            ("rating_count", self.rating_count.as_ref()),
            ("stock", self.stock.as_ref()),
            ("brand", self.brand.as_ref()),
            ("image", self.image.as_ref()),
            ("category", self.category.as_ref()),
            ("product_id", self.product_id.as_ref()),
            ("canonical", self.canonical.as_ref()),
            ("listing_items", self.listing_items.as_ref()),
            ("item_link", self.item_link.as_ref()),
            ("item_title", self.item_title.as_ref()),
            ("item_price", self.item_price.as_ref()),
        ]
    }
}

fn compile(rule: &str) -> Result<Rule, String> {
    let (sel, attr) = match rule.rsplit_once('@') {
        Some((s, a))
            if !a.trim().is_empty() && a.trim().chars().all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c)) =>
        {
            (s.trim(), Some(a.trim().to_string()))
        }
        _ => (rule.trim(), None),
    };
    let selector = Selector::parse(sel).map_err(|e| format!("invalid selector {sel:?}: {e}"))?;
    Ok(Rule { selector, attr })
}

fn value(el: ElementRef<'_>, attr: Option<&str>) -> Option<String> {
    let v = match attr {
        Some(a) => el.value().attr(a).map(|s| s.trim().to_string()),
        None => Some(collapse(&el.text().collect::<String>())),
    };
    v.filter(|s| !s.is_empty())
}

fn config_error(e: String) -> ParseError {
    ParseError::Field { parser: NAME, field: "config", reason: e }
}

fn read(root: ElementRef<'_>, rule: Option<&String>) -> Result<Option<String>, ParseError> {
    let Some(rule) = rule else { return Ok(None) };
    let r = compile(rule).map_err(config_error)?;
    Ok(root.select(&r.selector).find_map(|el| value(el, r.attr.as_deref())))
}

pub fn parse(rules: &SiteRules, body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    let (html, _, _) = crate::decode_page(body, ctx.content_type);
    let page_url = Url::parse(ctx.url).map_err(|e| ParseError::Field {
        parser: NAME,
        field: "url",
        reason: format!("{e}: {}", ctx.url),
    })?;
    let doc = Html::parse_document(&html);
    let currency = rules.currency.as_deref().or(ctx.default_currency);
    let title = read(doc.root_element(), rules.title.as_ref())?;
    if let (Some(title), Some(price_rule)) = (title, rules.price.as_ref()) {
        return product_page(rules, &doc, &page_url, currency, title, price_rule);
    }
    if let Some(items_rule) = &rules.listing_items {
        return listing_page(rules, &doc, &page_url, currency, items_rule);
    }
    let rule = rules.title.as_deref().unwrap_or_default();
    Err(ParseError::Unrecognized { parser: NAME, what: format!("the title rule {rule:?} matches nothing") })
}

fn field(f: &'static str, reason: String) -> ParseError {
    ParseError::Field { parser: NAME, field: f, reason }
}

/// A product page: the title rule matched, and the price rule must.
fn product_page(
    rules: &SiteRules,
    doc: &Html,
    page_url: &Url,
    currency: Option<&str>,
    title: String,
    price_rule: &String,
) -> Result<Parsed, ParseError> {
    let root = doc.root_element();
    let raw_price =
        read(root, Some(price_rule))?.ok_or_else(|| field("price", format!("{price_rule:?} matches nothing")))?;
    let list = read(root, rules.list_price.as_ref())?;
    let mut price = price_fact(NAME, &raw_price, list.as_deref(), currency, currency)?
        .ok_or_else(|| field("price", format!("no price in {raw_price:?}")))?;
    price.extraction_method = Some(format!("site-rules:{price_rule}"));
    let canonical_rule = rules.canonical.clone();
    let canonical = match canonical_rule {
        Some(r) => read(root, Some(&r))?,
        None => read(root, Some(&"link[rel=canonical] @href".to_string()))?
            .or(read(root, Some(&"meta[property='og:url'] @content".to_string()))?),
    }
    .and_then(|u| page_url.join(&u).ok())
    .unwrap_or_else(|| page_url.clone());
    let product_id = match read(root, rules.product_id.as_ref())? {
        Some(id) => match Url::parse(&id) {
            Ok(u) => id_from_url(&u).unwrap_or(id),
            Err(_) => id,
        },
        None => id_from_url(&canonical).ok_or_else(|| field("product_id", format!("no id in {canonical}")))?,
    };
    let rating = read(root, rules.rating.as_ref())?.and_then(|r| parse_rating(&r, rules.rating_best, None));
    let rating_count = read(root, rules.rating_count.as_ref())?.and_then(|c| parse_count(&c));
    let availability = read(root, rules.stock.as_ref())?.and_then(|s| parse_availability(&s));
    let image = read(root, rules.image.as_ref())?.and_then(|i| page_url.join(&i).ok()).map(|u| u.to_string());
    Ok(Parsed {
        products: vec![ProductFact {
            product_id,
            url: canonical.to_string(),
            title,
            brand: read(root, rules.brand.as_ref())?,
            category: read(root, rules.category.as_ref())?,
            upc: None,
            rating: rating.as_ref().map(|r| r.value),
            rating_count: rating_count.or(rating.as_ref().and_then(|r| r.count)),
            rating_scale: rating.as_ref().map(|r| r.scale),
            in_stock: availability.as_ref().map(|a| a.in_stock),
            stock: availability.as_ref().and_then(|a| a.stock),
            image_url: image,
            extraction_method: Some(format!("site-rules:{}", rules.title.as_deref().unwrap_or_default())),
            price: Some(price),
        }],
        ..Parsed::default()
    })
}

/// A listing page: every element `listing_items` matches is an item, ranked in page order.
fn listing_page(
    rules: &SiteRules,
    doc: &Html,
    page_url: &Url,
    currency: Option<&str>,
    items_rule: &String,
) -> Result<Parsed, ParseError> {
    let items = compile(items_rule).map_err(config_error)?;
    let link_rule = rules.item_link.clone().unwrap_or_else(|| "a @href".into());
    let link = compile(&link_rule).map_err(config_error)?;
    let param =
        |names: &[&str]| page_url.query_pairs().find(|(k, _)| names.contains(&k.as_ref())).map(|(_, v)| v.to_string());
    let keyword = match &rules.keyword_param {
        Some(p) => param(&[p.as_str()]),
        None => param(&["q", "query", "keyword"]),
    }
    .map(|k| collapse(&k))
    .filter(|k| !k.is_empty());
    let page = param(&[rules.page_param.as_deref().unwrap_or("page")])
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let elements: Vec<ElementRef<'_>> = doc.select(&items.selector).collect();
    if elements.is_empty() {
        return Err(ParseError::Unrecognized {
            parser: NAME,
            what: format!("neither the title rule nor listing_items {items_rule:?} matches"),
        });
    }
    let page_size = rules.page_size.unwrap_or_else(|| u32::try_from(elements.len()).unwrap_or(u32::MAX)).max(1);
    let (list_kind, list_id) = match &keyword {
        Some(k) => ("search", format!("search:{k}")),
        None => ("category", id_from_url(page_url).unwrap_or_default()),
    };
    let mut parsed = Parsed::default();
    for (i, el) in elements.into_iter().enumerate() {
        let Some(href) = el.select(&link.selector).find_map(|a| value(a, link.attr.as_deref())) else {
            continue;
        };
        let Ok(url) = page_url.join(&href) else {
            continue;
        };
        let Some(product_id) = id_from_url(&url) else {
            continue;
        };
        let position = shopstream_normalize::absolute_position(page, page_size, i as u32)
            .map_err(|e| field("position", e.to_string()))?;
        let title = match &rules.item_title {
            Some(r) => read(el, Some(r))?,
            None => el.select(&link.selector).next().and_then(|a| value(a, None)),
        };
        if let Some(title) = title {
            let price = match read(el, rules.item_price.as_ref())? {
                Some(raw) => price_fact(NAME, &raw, None, currency, currency)?,
                None => None,
            };
            parsed.products.push(ProductFact { price, ..ProductFact::new(product_id.clone(), url.to_string(), title) });
        }
        parsed.ranks.push(RankFact {
            list_id: list_id.clone(),
            list_kind: list_kind.into(),
            keyword: keyword.clone(),
            product_id,
            product_url: url.to_string(),
            position,
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

    fn rules(json: &str) -> SiteRules {
        serde_json::from_str(json).expect("rules")
    }

    #[test]
    fn a_listing_gives_ranks_by_keyword_and_page() {
        let r = rules(r#"{"listing_items":"li.item","item_price":".p"}"#);
        let html = r#"<ul><li class="item"><a href="/p/1">One</a><span class="p">1,000원</span></li><li class="item"><a href="/p/2">Two</a></li></ul>"#;
        let ctx = PageContext {
            url: "https://s.example/search?q=shoe&page=3",
            content_type: None,
            default_currency: Some("KRW"),
        };
        let parsed = parse(&r, html.as_bytes(), &ctx).expect("parses");
        let got: Vec<(u32, &str)> = parsed.ranks.iter().map(|r| (r.position, r.product_id.as_str())).collect();
        assert_eq!(got, vec![(5, "s.example/p/1"), (6, "s.example/p/2")]);
        assert_eq!(parsed.ranks[0].keyword.as_deref(), Some("shoe"));
        assert_eq!(parsed.products[0].price.as_ref().map(|p| p.minor_units), Some(1000));

        // The short last page of a 24-per-page listing: page 3 starts at 49, whatever it holds.
        let r = rules(r#"{"listing_items":"li.item","page_size":24}"#);
        let parsed = parse(&r, html.as_bytes(), &ctx).expect("parses");
        let got: Vec<(u32, u32, u32)> = parsed.ranks.iter().map(|r| (r.position, r.page, r.page_size)).collect();
        assert_eq!(got, vec![(49, 3, 24), (50, 3, 24)]);
    }

    #[test]
    fn bad_rules_are_reported_by_field() {
        let r = rules(r#"{"title":"h1[","price":".p"}"#);
        let problems = r.validate();
        assert!(problems.iter().any(|p| p.starts_with("site_rules.title")), "{problems:?}");
        assert!(serde_json::from_str::<SiteRules>(r#"{"titel":"h1"}"#).is_err());
    }

    #[test]
    fn a_page_the_rules_do_not_match_is_refused() {
        let r = rules(r#"{"title":"h1.name","price":".price"}"#);
        let ctx = PageContext { url: "https://s.example/x", content_type: None, default_currency: Some("KRW") };
        let err = parse(&r, b"<h2>nothing</h2>", &ctx).expect_err("refused");
        assert!(err.to_string().contains("h1.name"), "{err}");
    }
}
