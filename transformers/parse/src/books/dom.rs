//! The reference path: scraper's full HTML5 parse. Used when the fast path meets a character reference it
//! does not decode, and by the tests that check both paths read every page the same.

use scraper::{ElementRef, Html, Selector};

use super::{BookScan, ListingScan, Scan};

struct Selectors {
    product_page: Selector,
    title: Selector,
    price: Selector,
    rating: Selector,
    availability: Selector,
    table_row: Selector,
    th: Selector,
    td: Selector,
    breadcrumb: Selector,
    image: Selector,
    pod_link: Selector,
    header: Selector,
    counter: Selector,
    current: Selector,
}

fn sel(s: &str) -> Selector {
    // The selectors are literals in this file; a typo is caught by the unit tests.
    #[allow(clippy::panic)]
    Selector::parse(s).unwrap_or_else(|e| panic!("invalid built-in selector {s:?}: {e}"))
}

fn selectors() -> &'static Selectors {
    static S: std::sync::OnceLock<Selectors> = std::sync::OnceLock::new();
    S.get_or_init(|| Selectors {
        product_page: sel("article.product_page"),
        title: sel("div.product_main h1"),
        price: sel("div.product_main p.price_color"),
        rating: sel("div.product_main p.star-rating"),
        availability: sel("div.product_main p.availability"),
        table_row: sel("table tr"),
        th: sel("th"),
        td: sel("td"),
        breadcrumb: sel("ul.breadcrumb li a"),
        image: sel("div.item.active img, #product_gallery img"),
        pod_link: sel("article.product_pod h3 a"),
        header: sel("div.page-header h1"),
        counter: sel("form.form-horizontal strong"),
        current: sel("ul.pager li.current"),
    })
}

fn text(el: ElementRef<'_>) -> String {
    super::collapse(&el.text().collect::<String>())
}

pub(crate) fn scan(html: &str) -> Scan {
    let doc = Html::parse_document(html);
    let s = selectors();
    if doc.select(&s.product_page).next().is_some() {
        let mut upc = None;
        for row in doc.select(&s.table_row) {
            let (Some(th), Some(td)) = (row.select(&s.th).next(), row.select(&s.td).next()) else {
                continue;
            };
            if text(th) == "UPC" {
                upc = Some(text(td));
            }
        }
        return Scan::Book(BookScan {
            title: doc.select(&s.title).next().map(text),
            price: doc.select(&s.price).next().map(text),
            star_class: doc.select(&s.rating).next().and_then(|el| el.value().attr("class")).map(str::to_string),
            availability: doc.select(&s.availability).next().map(text),
            upc,
            // Home > Books > <category> > <title>
            category: doc.select(&s.breadcrumb).nth(2).map(text),
            image_src: doc.select(&s.image).next().and_then(|img| img.value().attr("src")).map(str::to_string),
        });
    }
    if doc.select(&s.pod_link).next().is_some() {
        return Scan::Listing(ListingScan {
            heading: doc.select(&s.header).next().map(text),
            hrefs: doc.select(&s.pod_link).map(|a| a.value().attr("href").unwrap_or_default().to_string()).collect(),
            current: doc.select(&s.current).next().map(text),
            counters: doc.select(&s.counter).map(text).collect(),
        });
    }
    Scan::Neither
}
