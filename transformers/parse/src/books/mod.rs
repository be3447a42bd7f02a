//! Books to Scrape (books.toscrape.com and the sandbox's copies of it).
//!
//! - Book pages (`article.product_page`) give one product with its price, star rating, stock count, UPC
//!   and category.
//! - Listing pages (`article.product_pod` items) give one rank per book: its absolute position in the
//!   list, from the page's own "showing N to M" counter (falling back to the page number).
//!
//! Pages are read with `lol_html` streaming selectors ([`fast`]), about twice as fast as a full DOM parse
//! (issue 3 asks for ≥ 2,000 book pages/s/core). `lol_html` hands out raw text, so the fast path decodes the
//! few character references these pages use; when a field holds one it does not know, the page is
//! re-read with scraper's full HTML5 parse ([`dom`]) so the output never depends on which path ran. Both
//! paths fill the same [`Scan`], and one function turns a scan into facts.

mod dom;
mod fast;

use shopstream_normalize::{parse_availability, parse_price, rating_from_star_class, PriceHints};
use url::Url;

pub(crate) use crate::common::collapse;
use crate::{PageContext, ParseError, Parsed, PriceFact, ProductFact, RankFact};

pub const NAME: &str = "books_toscrape";
pub const VERSION: &str = "1";

/// The raw strings a page gives, before normalization. Texts are already entity-decoded and
/// whitespace-collapsed.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct BookScan {
    /// First `div.product_main h1`.
    title: Option<String>,
    /// First `div.product_main p.price_color`.
    price: Option<String>,
    /// `class` of the first `div.product_main p.star-rating`.
    star_class: Option<String>,
    /// First `div.product_main p.availability`.
    availability: Option<String>,
    /// `UPC` row of the product table (last one wins, as before).
    upc: Option<String>,
    /// Third `ul.breadcrumb li a`.
    category: Option<String>,
    /// `src` of the first gallery image.
    image_src: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
pub(crate) struct ListingScan {
    /// First `div.page-header h1`.
    heading: Option<String>,
    /// `href` of every `article.product_pod h3 a` (empty when missing).
    hrefs: Vec<String>,
    /// First `ul.pager li.current`, e.g. `Page 2 of 50`.
    current: Option<String>,
    /// Every `form.form-horizontal strong`.
    counters: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Scan {
    Book(BookScan),
    Listing(ListingScan),
    Neither,
}

fn field(field: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::Field { parser: NAME, field, reason: reason.into() }
}

/// The product id of a book URL: the `<slug>_<id>` folder under `catalogue/`.
pub fn product_id_from_url(url: &Url) -> Option<String> {
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let i = segments.iter().position(|s| *s == "catalogue")?;
    let slug = segments.get(i + 1)?;
    if slug.ends_with(".html") || *slug == "category" {
        return None;
    }
    Some(slug.to_string())
}

pub fn parse(body: &[u8], ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    let html = std::str::from_utf8(body).map_err(|_| ParseError::Encoding { parser: NAME })?;
    let url = Url::parse(ctx.url).map_err(|e| field("url", format!("{e}: {}", ctx.url)))?;
    let scan = match fast::scan(html) {
        Some(scan) => scan,
        None => dom::scan(html),
    };
    facts(scan, &url, ctx)
}

fn facts(scan: Scan, url: &Url, ctx: &PageContext<'_>) -> Result<Parsed, ParseError> {
    match scan {
        Scan::Book(book) => Ok(Parsed { products: vec![book_fact(book, url, ctx)?], ..Parsed::default() }),
        Scan::Listing(listing) => Ok(Parsed { ranks: listing_ranks(listing, url)?, ..Parsed::default() }),
        Scan::Neither => {
            Err(ParseError::Unrecognized { parser: NAME, what: "neither a book page nor a listing page".into() })
        }
    }
}

fn book_fact(scan: BookScan, url: &Url, ctx: &PageContext<'_>) -> Result<ProductFact, ParseError> {
    let product_id =
        product_id_from_url(url).ok_or_else(|| field("product_id", format!("no catalogue/<slug> in {url}")))?;
    let title = scan.title.filter(|t| !t.is_empty()).ok_or_else(|| field("title", "no div.product_main h1"))?;
    let raw_price = scan.price.ok_or_else(|| field("price", "no p.price_color"))?;
    let hints = PriceHints {
        currency_hint: None,
        decimal_separator: None,
        default_currency: ctx.default_currency.or(Some("GBP")),
    };
    let price = parse_price(&raw_price, &hints)
        .map_err(|e| field("price", format!("{raw_price:?}: {e}")))?
        .ok_or_else(|| field("price", format!("no price in {raw_price:?}")))?;
    let currency = price.currency.clone().ok_or_else(|| field("price", format!("no currency for {raw_price:?}")))?;
    let minor_units = price
        .minor_units
        .ok_or_else(|| field("price", format!("{raw_price:?} has no exact minor units in {currency}")))?;
    let rating = scan.star_class.as_deref().and_then(rating_from_star_class);
    let availability = scan.availability.as_deref().and_then(parse_availability);
    let image_url = scan.image_src.and_then(|src| url.join(&src).ok()).map(|u| u.to_string());
    Ok(ProductFact {
        product_id,
        url: url.to_string(),
        title,
        brand: None,
        category: scan.category,
        upc: scan.upc,
        rating: rating.as_ref().map(|r| r.value),
        rating_count: rating.as_ref().and_then(|r| r.count),
        rating_scale: rating.as_ref().map(|r| r.scale),
        in_stock: availability.as_ref().map(|a| a.in_stock),
        stock: availability.as_ref().and_then(|a| a.stock),
        image_url,
        extraction_method: Some(NAME.into()),
        price: Some(PriceFact {
            amount: price.amount.to_string(),
            currency,
            minor_units,
            list_price_minor: None,
            list_price: None,
            raw: raw_price,
            extraction_method: Some(NAME.into()),
        }),
    })
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn listing_ranks(scan: ListingScan, url: &Url) -> Result<Vec<RankFact>, ParseError> {
    let heading = scan.heading.unwrap_or_else(|| "All products".into());
    let list_kind = if heading == "All products" { "listing" } else { "category" };
    let list_id = slug(&heading);
    let links: Vec<Url> = scan
        .hrefs
        .iter()
        .map(|href| url.join(href).map_err(|e| field("product link", format!("{href:?}: {e}"))))
        .collect::<Result<_, _>>()?;
    // "Page 2 of 50"
    let page: u32 = scan.current.and_then(|t| t.split_whitespace().nth(1).and_then(|n| n.parse().ok())).unwrap_or(1);
    // "<strong>1000</strong> results - showing <strong>21</strong> to <strong>40</strong>."
    let counters: Vec<u32> = scan.counters.iter().filter_map(|t| t.parse().ok()).collect();
    let (first, page_size) = match counters.as_slice() {
        [_, start, end] if end >= start && *start >= 1 => {
            // The page size is what a full page holds: on the last page, infer it from the start.
            let size = if page > 1 { (start - 1) / (page - 1) } else { end - start + 1 };
            (*start, size.max(1))
        }
        _ => {
            let size = u32::try_from(links.len()).map_err(|_| field("product link", "too many links"))?;
            let first =
                shopstream_normalize::absolute_position(page, size, 0).map_err(|e| field("position", e.to_string()))?;
            (first, size.max(1))
        }
    };
    links
        .iter()
        .enumerate()
        .map(|(i, link)| {
            let product_id = product_id_from_url(link)
                .ok_or_else(|| field("product link", format!("no catalogue/<slug> in {link}")))?;
            Ok(RankFact {
                list_id: list_id.clone(),
                list_kind: list_kind.into(),
                keyword: None,
                product_id,
                product_url: link.to_string(),
                position: first + i as u32,
                page,
                page_size,
                seller: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const BOOK: &str = r#"<html><body><ul class="breadcrumb"><li><a href="../../index.html">Home</a></li><li><a href="../category/books_1/index.html">Books</a></li><li><a href="../category/books/poetry_23/index.html">Poetry</a></li><li class="active">A Light in the Attic</li></ul>
<article class="product_page"><div class="row"><div id="product_gallery"><div class="item active"><img src="../../media/cache/fe/72/x.jpg" alt="A Light in the Attic" /></div></div>
<div class="col-sm-6 product_main"><h1>A Light in the Attic</h1><p class="price_color">&pound;51.77</p>
<p class="instock availability"><i class="icon-ok"></i>

        In stock (22 available)

</p><p class="star-rating Three"><i class="icon-star"></i></p></div></div>
<table class="table table-striped"><tr><th>UPC</th><td>a897fe39b1053632</td></tr><tr><th>Product Type</th><td>Books</td></tr></table></article></body></html>"#;

    pub(crate) const LISTING: &str = r#"<div class="page-header action"><h1>All products</h1></div>
<form class="form-horizontal"><strong>1000</strong> results - showing <strong>21</strong> to <strong>40</strong>.</form>
<ol class="row"><li><article class="product_pod"><h3><a href="a_1/index.html">A</a></h3></article></li>
<li><article class="product_pod"><h3><a href="b_2/index.html">B</a></h3></article></li></ol>
<ul class="pager"><li class="current">Page 2 of 50</li></ul>"#;

    fn ctx(url: &str) -> PageContext<'_> {
        PageContext { url, content_type: Some("text/html"), default_currency: None }
    }

    #[test]
    fn a_book_page_gives_its_product_and_price() {
        let url = "http://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html";
        let parsed = parse(BOOK.as_bytes(), &ctx(url)).expect("parses");
        assert!(parsed.ranks.is_empty());
        let p = &parsed.products[0];
        assert_eq!(p.product_id, "a-light-in-the-attic_1000");
        assert_eq!(p.title, "A Light in the Attic");
        assert_eq!(p.upc.as_deref(), Some("a897fe39b1053632"));
        assert_eq!(p.category.as_deref(), Some("Poetry"));
        assert_eq!(p.rating, Some(3.0));
        assert_eq!(p.stock, Some(22));
        assert_eq!(p.in_stock, Some(true));
        assert_eq!(p.image_url.as_deref(), Some("http://books.toscrape.com/media/cache/fe/72/x.jpg"));
        let price = p.price.as_ref().expect("price");
        assert_eq!((price.minor_units, price.currency.as_str(), price.amount.as_str()), (5177, "GBP", "51.77"));
    }

    #[test]
    fn a_listing_page_gives_absolute_positions() {
        let parsed = parse(LISTING.as_bytes(), &ctx("http://x/catalogue/page-2.html")).expect("parses");
        let got: Vec<(u32, &str)> = parsed.ranks.iter().map(|r| (r.position, r.product_id.as_str())).collect();
        assert_eq!(got, vec![(21, "a_1"), (22, "b_2")]);
        assert_eq!(parsed.ranks[0].list_id, "all-products");
        assert_eq!((parsed.ranks[0].page, parsed.ranks[0].page_size), (2, 20));
    }

    #[test]
    fn both_paths_scan_the_same() {
        for html in [BOOK, LISTING, "<html><p>404</p></html>"] {
            assert_eq!(fast::scan(html), Some(dom::scan(html)), "{html}");
        }
    }

    #[test]
    fn an_unknown_entity_falls_back_to_the_dom_and_gives_the_same_text() {
        let html = BOOK.replace("<h1>A Light in the Attic</h1>", "<h1>A Light &hearts; the Attic &amp c</h1>");
        assert_eq!(fast::scan(&html), None);
        let url = "http://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html";
        let parsed = parse(html.as_bytes(), &ctx(url)).expect("parses");
        assert_eq!(parsed.products[0].title, "A Light \u{2665} the Attic & c");
    }

    /// Every HTML page of the sandbox's Books to Scrape snapshot, by path inside the archive.
    fn snapshot() -> Vec<(String, Vec<u8>)> {
        use std::io::Read;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sandbox/data/books.tar.zst");
        let file = std::fs::File::open(&path).expect("the sandbox snapshot (sandbox/data/books.tar.zst)");
        let mut decoder = zstd::Decoder::new(file).expect("zstd");
        decoder.window_log_max(31).expect("window");
        let mut archive = tar::Archive::new(decoder);
        let mut pages = vec![];
        for entry in archive.entries().expect("tar") {
            let mut entry = entry.expect("tar entry");
            let name = entry.path().expect("path").to_string_lossy().trim_start_matches("./").to_string();
            if name.ends_with(".html") {
                let mut body = vec![];
                entry.read_to_end(&mut body).expect("read");
                pages.push((name, body));
            }
        }
        pages
    }

    #[test]
    fn both_paths_read_every_snapshot_page_the_same() {
        let pages = snapshot();
        assert_eq!(pages.len(), 1050);
        let (mut books, mut listings, mut fallbacks) = (0, 0, 0);
        for (name, body) in &pages {
            let html = std::str::from_utf8(body).expect("utf-8");
            let dom = dom::scan(html);
            match fast::scan(html) {
                Some(fast) => assert_eq!(fast, dom, "{name}"),
                None => fallbacks += 1,
            }
            let url = format!("http://books.toscrape.com/{name}");
            let parsed = parse(body, &ctx(&url)).unwrap_or_else(|e| panic!("{name}: {e}"));
            books += parsed.products.len();
            listings += usize::from(!parsed.ranks.is_empty());
        }
        assert_eq!((books, listings, fallbacks), (1000, 50, 0));
    }

    #[test]
    fn other_pages_are_refused_with_a_reason() {
        let err = parse(b"<html><p>404</p></html>", &ctx("http://x/")).expect_err("refused");
        assert!(err.to_string().contains("neither a book page nor a listing page"), "{err}");
        let err = parse(&[0xff, 0xfe], &ctx("http://x/")).expect_err("refused");
        assert!(matches!(err, ParseError::Encoding { .. }));
    }

    #[test]
    fn a_book_without_title_is_a_field_error() {
        let html = BOOK.replace("<h1>A Light in the Attic</h1>", "");
        let err = parse(html.as_bytes(), &ctx("http://x/catalogue/a_1/index.html")).expect_err("refused");
        assert!(err.to_string().contains("title"), "{err}");
    }
}
