//! Pure parsers: the bytes of a saved page or API payload plus its context in, normalized product,
//! price and rank facts out. No I/O, so saved pages test them without a network (STYLE: parsing is a
//! pure function). The transform stage wraps these facts in Avro events with provenance.
//!
//! A parser is picked per source by [`ParserConfig`], an explicit enum.

mod books;
mod facts;

pub use facts::{Parsed, PriceFact, ProductFact, RankFact};

use serde::Deserialize;

/// Which parser a source uses (`type = "..."` in config).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ParserConfig {
    /// Books to Scrape: listing pages give ranks, book pages give product + price.
    BooksToscrape,
}

impl ParserConfig {
    /// The parser's name, recorded in every event's provenance.
    pub fn name(&self) -> &'static str {
        match self {
            ParserConfig::BooksToscrape => "books_toscrape",
        }
    }

    /// The parser's version: part of every event id, so a new version's events replace nothing by
    /// accident and a replay with the same version converges.
    pub fn version(&self) -> &'static str {
        match self {
            ParserConfig::BooksToscrape => books::VERSION,
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
}

impl ParseError {
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// Parse one page or payload with the configured parser.
pub fn parse(config: &ParserConfig, body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    match config {
        ParserConfig::BooksToscrape => books::parse(body, ctx),
    }
}
