//! Pure parsers: the bytes of a saved page or API payload plus its context in, normalized product,
//! price and rank facts out. No I/O, so saved pages test them without a network (STYLE: parsing is a
//! pure function). The transform stage wraps these facts in Avro events with provenance.
//!
//! A parser is picked per source by [`ParserConfig`], an explicit enum.

mod api;
mod books;
mod charset;
mod common;
mod embedded;
mod explain;
mod facts;
mod generic;
mod heuristic;
mod json_lines;
mod locale;
mod prepass;
mod rules;
pub mod seller;

pub use charset::{decode_page, how as decode_how};
pub use explain::{explain, explanation, Explanation};
pub use facts::{Candidate, FieldSource, Parsed, PriceFact, ProductFact, RankFact};
pub use json_lines::facts_to_json_lines;
pub use rules::SiteRules;

use serde::Deserialize;

/// Which parser a source uses (`type = "..."` in config).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ParserConfig {
    /// Books to Scrape: listing pages give ranks, book pages give product + price.
    BooksToscrape,
    /// Any shop's product or listing page: JSON-LD, microdata, OpenGraph, fallbacks.
    Generic {
        /// Listing pages: how many items a full page holds. Needed for exact absolute positions on a
        /// short last page when the site numbers its `ItemList` per page (default: the items on the page).
        #[serde(default)]
        page_size: Option<u32>,
    },
    /// CSS selectors in config for shops with no structured data.
    SiteRules(Box<SiteRules>),
    /// Naver Shopping search API (`/v1/search/shop.json`); the keyword is the request URL's `query`.
    NaverShopping,
    /// Naver Smartstore product API (`/i/v2/channels/{uid}/products/{id}`).
    NaverSmartstore,
    /// Coupang Partners product search API.
    CoupangPartners,
    /// Shopify Admin REST products / product listings / variants (needs the source's default currency).
    Shopify,
    /// WooCommerce REST v3 products / variations (needs the source's default currency).
    Woocommerce,
}

impl ParserConfig {
    /// The parser's name, recorded in every event's provenance.
    pub fn name(&self) -> &'static str {
        match self {
            ParserConfig::BooksToscrape => books::NAME,
            ParserConfig::Generic { .. } => generic::NAME,
            ParserConfig::SiteRules(_) => rules::NAME,
            ParserConfig::NaverShopping => api::NAVER_SHOPPING,
            ParserConfig::NaverSmartstore => api::NAVER_SMARTSTORE,
            ParserConfig::CoupangPartners => api::COUPANG_PARTNERS,
            ParserConfig::Shopify => api::SHOPIFY,
            ParserConfig::Woocommerce => api::WOOCOMMERCE,
        }
    }

    /// The parser's version: part of every event id, so a new version's events replace nothing by
    /// accident and a replay with the same version converges.
    pub fn version(&self) -> &'static str {
        match self {
            ParserConfig::BooksToscrape => books::VERSION,
            ParserConfig::Generic { .. } => generic::VERSION,
            ParserConfig::SiteRules(_) => rules::VERSION,
            ParserConfig::NaverShopping
            | ParserConfig::NaverSmartstore
            | ParserConfig::CoupangPartners
            | ParserConfig::Shopify
            | ParserConfig::Woocommerce => api::VERSION,
        }
    }

    /// Every problem with the config, with its path (empty when valid).
    pub fn validate(&self) -> Vec<String> {
        match self {
            ParserConfig::SiteRules(rules) => rules.validate(),
            ParserConfig::Generic { page_size: Some(0) } => vec!["generic.page_size: must be at least 1".into()],
            _ => vec![],
        }
    }
}

/// What the parser knows about the page besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct PageContext<'a> {
    /// The URL the bytes were fetched from (after redirects): links resolve against it.
    pub url: &'a str,
    pub content_type: Option<&'a str>,
    /// ISO 4217 code to use when the page names no currency.
    pub default_currency: Option<&'a str>,
}

/// Why a page could not be parsed. Always the page's fault (bad data): retrying cannot help.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{parser}: the page is not one this parser knows ({what})")]
    Unrecognized { parser: &'static str, what: String },
    #[error("{parser}: {field}: {reason}")]
    Field { parser: &'static str, field: &'static str, reason: String },
    #[error("{parser}: the body is not valid UTF-8 text")]
    Encoding { parser: &'static str },
    /// No reading of a field is sure enough to store (the generic parser's fallbacks): refused rather
    /// than guessed. `candidates` are the readings weighed, best first.
    #[error(
        "{parser}: {field}: no reading is sure enough (best {best:.2}, needs {threshold:.2}): {}",
        explain::summary(candidates)
    )]
    LowConfidence { parser: &'static str, field: &'static str, best: f64, threshold: f64, candidates: Vec<Candidate> },
}

impl ParseError {
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// Parse one page or payload with the configured parser.
pub fn parse(config: &ParserConfig, body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    let mut parsed = match config {
        ParserConfig::BooksToscrape => books::parse(body, ctx),
        ParserConfig::Generic { page_size } => generic::parse(body, ctx, *page_size),
        ParserConfig::SiteRules(rules) => rules::parse(rules, body, ctx),
        ParserConfig::NaverShopping => api::naver_shopping(body, ctx),
        ParserConfig::NaverSmartstore => api::naver_smartstore(body, ctx),
        ParserConfig::CoupangPartners => api::coupang_partners(body, ctx),
        ParserConfig::Shopify => api::shopify(body, ctx),
        ParserConfig::Woocommerce => api::woocommerce(body, ctx),
    }?;
    // Every fact says how it was read: parsers that do not say per field read it one way.
    let default_method = match config {
        ParserConfig::BooksToscrape | ParserConfig::Generic { .. } | ParserConfig::SiteRules(_) => config.name(),
        _ => "api",
    };
    for p in &mut parsed.products {
        p.extraction_method.get_or_insert_with(|| default_method.to_string());
        if let Some(price) = &mut p.price {
            price.extraction_method.get_or_insert_with(|| default_method.to_string());
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_shapes() {
        let c: ParserConfig = serde_json::from_str(r#"{"type":"generic"}"#).expect("generic");
        assert_eq!(c.name(), "generic");
        let c: ParserConfig = serde_json::from_str(r#"{"type":"generic","page_size":48}"#).expect("generic");
        assert!(matches!(c, ParserConfig::Generic { page_size: Some(48) }) && c.validate().is_empty());
        let c: ParserConfig = serde_json::from_str(r#"{"type":"generic","page_size":0}"#).expect("generic");
        assert_eq!(c.validate(), vec!["generic.page_size: must be at least 1".to_string()]);
        let c: ParserConfig =
            serde_json::from_str(r#"{"type":"site_rules","listing_items":"li","page_size":0}"#).expect("rules");
        assert_eq!(c.validate(), vec!["site_rules.page_size: must be at least 1".to_string()]);
        let c: ParserConfig =
            serde_json::from_str(r#"{"type":"site_rules","title":"h2.t","price":".p"}"#).expect("rules");
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        for t in ["books_toscrape", "naver_shopping", "naver_smartstore", "coupang_partners", "shopify", "woocommerce"]
        {
            let c: ParserConfig = serde_json::from_str(&format!(r#"{{"type":"{t}"}}"#)).expect(t);
            assert_eq!(c.name(), t);
        }
        assert!(serde_json::from_str::<ParserConfig>(r#"{"type":"site_rules","title":"h1","nope":1}"#).is_err());
    }
}
