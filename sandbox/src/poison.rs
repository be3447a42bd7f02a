//! Poison pages under `/poison/`: inputs no stage may crash on, lose silently or let into the tables. The
//! fault suite crawls them beside the shops; each must end as a dead letter with its reason (or, for a page
//! a parser reads in part, as no row it should not hold).
//!
//! Every page but `no-product.html` and the two oversized ones is a Books to Scrape product page
//! (`catalogue/a-light-in-the-attic_1000/index.html`) changed in one place, at a product path
//! (`/poison/catalogue/<what>_<id>/index.html`), so the books parser reaches the poisoned field.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::snapshot::Snapshot;

/// The product page the poisoned pages are made from.
const BASE: &str = "/catalogue/a-light-in-the-attic_1000/index.html";
/// Its price as the page writes it.
const PRICE: &str = "£51.77";
/// Size of `huge.html`: over any sane body cap and over the broker's record size.
pub const HUGE_BYTES: usize = 50 * 1024 * 1024;
/// Decompressed size of `gzip-bomb.html` (about 100 KB on the wire).
pub const BOMB_BYTES: usize = 100 * 1024 * 1024;

/// Every poison page: its path under the sandbox root and what is wrong with it.
pub const PAGES: &[(&str, &str)] = &[
    (
        "/poison/catalogue/invalid-utf8_9001/index.html",
        "a product page whose title holds bytes that are no UTF-8 (and no charset says so)",
    ),
    ("/poison/huge.html", "a 50 MB page"),
    ("/poison/gzip-bomb.html", "100 KB of gzip that inflates to 100 MB"),
    ("/poison/no-product.html", "a page with no product on it"),
    ("/poison/catalogue/negative-price_9002/index.html", "a product page whose price is negative"),
    ("/poison/catalogue/absurd-price_9003/index.html", "a product page whose price has 24 digits"),
    ("/poison/catalogue/truncated_9004/index.html", "a product page cut off in the middle (an honest Content-Length)"),
];

/// The answer for a `/poison/…` path, or `None` for any other path.
pub fn answer(path: &str, snapshot: &Snapshot) -> Option<Response> {
    let base = || snapshot.get(BASE).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let html = |body: Bytes| {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        (StatusCode::OK, headers, body).into_response()
    };
    let page = match path {
        "/poison/catalogue/invalid-utf8_9001/index.html" => {
            let page = base();
            let at = page.find("<h1>")? + "<h1>".len();
            let mut bytes = page.as_bytes()[..at].to_vec();
            bytes.extend_from_slice(b"A Light \xff\xfe\xc3 in the Attic");
            bytes.extend_from_slice(&page.as_bytes()[page[at..].find("</h1>")? + at..]);
            html(Bytes::from(bytes))
        }
        "/poison/huge.html" => {
            static HUGE: OnceLock<Bytes> = OnceLock::new();
            let body = HUGE.get_or_init(|| {
                let mut body = b"<!DOCTYPE html>\n<html><body><!-- ".to_vec();
                body.resize(HUGE_BYTES - 20, b'x');
                body.extend_from_slice(b" --></body></html>\n");
                Bytes::from(body)
            });
            html(body.clone())
        }
        "/poison/gzip-bomb.html" => {
            static BOMB: OnceLock<Bytes> = OnceLock::new();
            let body = BOMB.get_or_init(|| {
                use std::io::Write;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                let zeros = vec![b' '; 1 << 20];
                for _ in 0..BOMB_BYTES / zeros.len() {
                    let _ = gz.write_all(&zeros);
                }
                Bytes::from(gz.finish().unwrap_or_default())
            });
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (StatusCode::OK, headers, body.clone()).into_response()
        }
        "/poison/no-product.html" => html(Bytes::from_static(
            b"<!DOCTYPE html>\n<html><head><title>About us</title></head>\
              <body><h1>About us</h1><p>We sell books.</p></body></html>\n",
        )),
        "/poison/catalogue/negative-price_9002/index.html" => html(Bytes::from(base().replace(PRICE, "£-51.77"))),
        "/poison/catalogue/absurd-price_9003/index.html" => {
            html(Bytes::from(base().replace(PRICE, "£999999999999999999999999.77")))
        }
        "/poison/catalogue/truncated_9004/index.html" => {
            let page = base();
            let cut = page.find("<p class=\"price_color\">")?;
            html(Bytes::from(page.as_bytes()[..cut].to_vec()))
        }
        _ => return None,
    };
    Some(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_poison_page_is_served_and_poisoned_as_described() {
        let snapshot = crate::snapshot::try_snapshot().expect("snapshot");
        for (path, _) in PAGES {
            assert!(answer(path, snapshot).is_some(), "{path}");
        }
        assert!(answer("/poison/nothing.html", snapshot).is_none());
        assert!(answer("/catalogue/index.html", snapshot).is_none());
        let base = String::from_utf8_lossy(snapshot.get(BASE).expect("base page")).into_owned();
        assert!(base.contains(PRICE) && base.contains("<h1>A Light in the Attic</h1>"), "the base page changed");
    }
}
