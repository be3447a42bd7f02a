//! Link discovery: the `href`s of the elements a source's `follow` selectors match, resolved against
//! the page URL, same host only, without fragments, each once.

use std::collections::BTreeSet;

use scraper::{Html, Selector};
use url::Url;

/// Links on `html` (fetched from `page`) matched by `selectors`.
pub fn discover(html: &str, page: &Url, selectors: &[Selector]) -> Vec<Url> {
    if selectors.is_empty() {
        return Vec::new();
    }
    let doc = Html::parse_document(html);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for sel in selectors {
        for el in doc.select(sel) {
            let Some(href) = el.value().attr("href") else { continue };
            let Ok(mut url) = page.join(href.trim()) else { continue };
            url.set_fragment(None);
            if !matches!(url.scheme(), "http" | "https")
                || url.host_str() != page.host_str()
                || url.port_or_known_default() != page.port_or_known_default()
            {
                continue;
            }
            if seen.insert(url.to_string()) {
                out.push(url);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_matching_same_host_links_once() {
        let html = r##"<li class="next"><a href="page-2.html">next</a></li>
            <article class="product_pod"><h3><a href="../a_1/index.html#top">A</a></h3></article>
            <article class="product_pod"><h3><a href="../a_1/index.html">A again</a></h3></article>
            <article class="product_pod"><h3><a href="http://elsewhere.example/x">X</a></h3></article>
            <a href="mailto:x@y">mail</a>"##;
        let page = Url::parse("http://shop.test/catalogue/page-1.html").expect("url");
        let sels: Vec<Selector> =
            ["li.next a", "article.product_pod h3 a"].iter().map(|s| Selector::parse(s).expect("sel")).collect();
        let got: Vec<String> = discover(html, &page, &sels).iter().map(|u| u.to_string()).collect();
        assert_eq!(got, vec!["http://shop.test/catalogue/page-2.html", "http://shop.test/a_1/index.html"]);
    }
}
