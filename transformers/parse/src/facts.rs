//! The facts parsers produce: plain data, normalized. The stage adds the fetch's provenance; the parser
//! says how it read each field ([`FieldSource`]) and which other readings it turned down ([`Candidate`]).

use serde::Serialize;

/// Everything one page or payload says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Parsed {
    pub products: Vec<ProductFact>,
    pub ranks: Vec<RankFact>,
    /// How each chosen field of the main product was read (generic parser; empty for the others), plus
    /// the page's `charset`.
    pub provenance: Vec<FieldSource>,
    /// Readings considered and turned down, best first per field (for `explain`).
    pub rejected: Vec<Candidate>,
}

/// Where one chosen value came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldSource {
    /// `title`, `price`, `list_price`, `currency` or `charset`.
    pub field: String,
    /// `json-ld`, `microdata`, `opengraph`, `embedded:<json path>`, `heuristic:<css-ish selector>`,
    /// `site-rules:<selector>`, `api`; for `charset` how it was chosen (`utf-8-valid`, `bom`, `content-type`,
    /// `meta`, `detected`).
    pub method: String,
    /// 0..1: how sure the parser is (1 for structured data it took as given).
    pub confidence: f64,
    /// The value as stored (title text, decimal amount, ISO code, charset name).
    pub value: String,
}

/// A reading the parser weighed: the chosen one or one it turned down, with its score and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub field: String,
    pub method: String,
    /// 0..1, comparable within one field.
    pub confidence: f64,
    pub value: String,
    /// Why it lost or was refused (`per-unit price`, `struck through`, `far from the title` …).
    pub reason: String,
}

/// A product and, when the page shows one, its price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductFact {
    /// Stable id within the source.
    pub product_id: String,
    pub url: String,
    pub title: String,
    pub brand: Option<String>,
    pub category: Option<String>,
    /// UPC, GTIN, EAN or SKU as the page gives it.
    pub upc: Option<String>,
    /// 0–5.
    pub rating: Option<f64>,
    pub rating_count: Option<u64>,
    /// Best value of the original scale.
    pub rating_scale: Option<f64>,
    pub in_stock: Option<bool>,
    pub stock: Option<u64>,
    pub image_url: Option<String>,
    pub price: Option<PriceFact>,
    /// How the title was read (`json-ld`, `heuristic:h1` …; see [`FieldSource::method`]).
    pub extraction_method: Option<String>,
}

impl ProductFact {
    /// A product with only its identity and title; the other fields unknown.
    pub fn new(product_id: String, url: String, title: String) -> ProductFact {
        ProductFact {
            product_id,
            url,
            title,
            brand: None,
            category: None,
            upc: None,
            rating: None,
            rating_count: None,
            rating_scale: None,
            in_stock: None,
            stock: None,
            image_url: None,
            price: None,
            extraction_method: None,
        }
    }
}

/// A normalized selling price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceFact {
    /// Exact decimal amount as a string, e.g. `51.77`.
    pub amount: String,
    /// ISO 4217.
    pub currency: String,
    pub minor_units: i64,
    /// The struck-through "was" price in the same currency, in minor units, when the page shows one.
    pub list_price_minor: Option<i64>,
    /// The same list price as an exact decimal string, e.g. `11900`.
    pub list_price: Option<String>,
    /// The text the price was read from.
    pub raw: String,
    /// How the amount was read (`json-ld`, `embedded:$.product.price`, `heuristic:p.price` …).
    pub extraction_method: Option<String>,
}

/// A product's place in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankFact {
    pub list_id: String,
    /// `listing`, `category` or `search`.
    pub list_kind: String,
    pub keyword: Option<String>,
    pub product_id: String,
    pub product_url: String,
    /// 1-based, absolute across pages.
    pub position: u32,
    pub page: u32,
    pub page_size: u32,
    /// The shop (mall, seller) offering the product, when the list names one: a tracking target can
    /// look for a shop rather than a product.
    pub seller: Option<String>,
}
