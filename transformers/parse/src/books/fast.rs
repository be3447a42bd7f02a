//! The fast path: one streaming pass of `lol_html` selectors over the page, no DOM.
//!
//! `lol_html` gives raw source text, so captured texts and attributes are decoded here; [`decode`] knows
//! the references Books to Scrape pages use and returns `None` for anything else, which sends the page to
//! the DOM path instead of guessing.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{ElementContentHandlers, HandlerResult, HtmlRewriter, Selector, Settings};

use super::{collapse, BookScan, ListingScan, Scan};

const SELECTORS: [&str; 15] = [
    "article.product_page",
    "div.product_main h1",
    "div.product_main p.price_color",
    "div.product_main p.star-rating",
    "div.product_main p.availability",
    "table tr",
    "table tr th",
    "table tr td",
    "ul.breadcrumb li a",
    "div.item.active img",
    "#product_gallery img",
    "article.product_pod h3 a",
    "div.page-header h1",
    "form.form-horizontal strong",
    "ul.pager li.current",
];

/// Parsed once: compiling selectors per page would cost as much as the parse.
fn selectors() -> Option<&'static [Selector]> {
    static S: OnceLock<Option<Vec<Selector>>> = OnceLock::new();
    S.get_or_init(|| SELECTORS.iter().map(|s| s.parse().ok()).collect()).as_deref()
}

/// The text of the first element a selector matches.
#[derive(Default)]
struct First {
    seen: u32,
    raw: String,
}

impl First {
    fn open(&mut self) {
        self.seen = self.seen.saturating_add(1);
    }
    fn push(&mut self, chunk: &str) {
        if self.seen == 1 {
            self.raw.push_str(chunk);
        }
    }
    fn text(&self) -> Option<Option<String>> {
        if self.seen == 0 {
            return Some(None);
        }
        decode(&self.raw).map(|t| Some(collapse(&t)))
    }
}

#[derive(Default)]
struct Row {
    th: First,
    td: First,
}

#[derive(Default)]
struct State {
    product_page: bool,
    title: First,
    price: First,
    star_class: Option<String>,
    availability: First,
    rows: Vec<Row>,
    breadcrumb_links: u32,
    category: String,
    image: Option<Option<String>>,
    hrefs: Vec<String>,
    heading: First,
    counters: Vec<String>,
    current: First,
}

/// Scan a page; `None` when it needs the DOM path (an undecoded reference, or a rewriter error).
pub(crate) fn scan(html: &str) -> Option<Scan> {
    let sels = selectors()?;
    let state = RefCell::new(State::default());
    let settings = handlers(sels, &state).into_iter().fold(Settings::new(), |s, h| s.append_element_content_handler(h));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter.write(html.as_bytes()).ok()?;
    rewriter.end().ok()?;
    state.into_inner().into_scan()
}

type Handlers<'h> = Vec<(Cow<'static, Selector>, ElementContentHandlers<'h>)>;

/// One element or text handler per selector of [`selectors`] (by index), each filling its part of `st`.
fn handlers<'h>(sels: &'static [Selector], st: &'h RefCell<State>) -> Handlers<'h> {
    type OnElement = Box<dyn FnMut(&mut Element<'_, '_>, &mut State)>;
    let el = |i: usize, f: OnElement| {
        let mut f = f;
        (
            Cow::Borrowed(&sels[i]),
            ElementContentHandlers::default().element(move |e: &mut Element<'_, '_>| -> HandlerResult {
                f(e, &mut st.borrow_mut());
                Ok(())
            }),
        )
    };
    let tx = |i: usize, f: fn(&str, &mut State)| {
        (
            Cow::Borrowed(&sels[i]),
            ElementContentHandlers::default().text(move |t: &mut TextChunk<'_>| -> HandlerResult {
                f(t.as_str(), &mut st.borrow_mut());
                Ok(())
            }),
        )
    };
    vec![
        el(0, Box::new(|_, s| s.product_page = true)),
        el(1, Box::new(|_, s| s.title.open())),
        tx(1, |t, s| s.title.push(t)),
        el(2, Box::new(|_, s| s.price.open())),
        tx(2, |t, s| s.price.push(t)),
        el(
            3,
            Box::new(|e, s| {
                if s.star_class.is_none() {
                    s.star_class = Some(e.get_attribute("class").unwrap_or_default());
                }
            }),
        ),
        el(4, Box::new(|_, s| s.availability.open())),
        tx(4, |t, s| s.availability.push(t)),
        el(5, Box::new(|_, s| s.rows.push(Row::default()))),
        el(
            6,
            Box::new(|_, s| {
                if let Some(r) = s.rows.last_mut() {
                    r.th.open()
                }
            }),
        ),
        tx(6, |t, s| {
            if let Some(r) = s.rows.last_mut() {
                r.th.push(t)
            }
        }),
        el(
            7,
            Box::new(|_, s| {
                if let Some(r) = s.rows.last_mut() {
                    r.td.open()
                }
            }),
        ),
        tx(7, |t, s| {
            if let Some(r) = s.rows.last_mut() {
                r.td.push(t)
            }
        }),
        el(8, Box::new(|_, s| s.breadcrumb_links = s.breadcrumb_links.saturating_add(1))),
        tx(8, |t, s| {
            if s.breadcrumb_links == 3 {
                s.category.push_str(t)
            }
        }),
        el(
            9,
            Box::new(|e, s| {
                if s.image.is_none() {
                    s.image = Some(e.get_attribute("src"))
                }
            }),
        ),
        el(
            10,
            Box::new(|e, s| {
                if s.image.is_none() {
                    s.image = Some(e.get_attribute("src"))
                }
            }),
        ),
        el(11, Box::new(|e, s| s.hrefs.push(e.get_attribute("href").unwrap_or_default()))),
        el(12, Box::new(|_, s| s.heading.open())),
        tx(12, |t, s| s.heading.push(t)),
        el(13, Box::new(|_, s| s.counters.push(String::new()))),
        tx(13, |t, s| {
            if let Some(c) = s.counters.last_mut() {
                c.push_str(t)
            }
        }),
        el(14, Box::new(|_, s| s.current.open())),
        tx(14, |t, s| s.current.push(t)),
    ]
}

impl State {
    /// What the handlers found: a book page, a listing, neither; `None` when a text needs the DOM path.
    fn into_scan(self) -> Option<Scan> {
        let s = self;
        if s.product_page {
            let mut upc = None;
            for row in &s.rows {
                if row.th.seen > 0 && row.td.seen > 0 && row.th.text()?.as_deref() == Some("UPC") {
                    upc = row.td.text()?;
                }
            }
            let category = if s.breadcrumb_links >= 3 { Some(collapse(&decode(&s.category)?)) } else { None };
            let attr = |v: Option<String>| -> Option<Option<String>> {
                match v {
                    Some(v) => decode(&v).map(|d| Some(d.into_owned())),
                    None => Some(None),
                }
            };
            return Some(Scan::Book(BookScan {
                title: s.title.text()?,
                price: s.price.text()?,
                star_class: attr(s.star_class)?,
                availability: s.availability.text()?,
                upc,
                category,
                image_src: attr(s.image.flatten())?,
            }));
        }
        if !s.hrefs.is_empty() {
            return Some(Scan::Listing(ListingScan {
                heading: s.heading.text()?,
                hrefs: s.hrefs.iter().map(|h| decode(h).map(Cow::into_owned)).collect::<Option<_>>()?,
                current: s.current.text()?,
                counters: s.counters.iter().map(|c| decode(c).map(|d| collapse(&d))).collect::<Option<_>>()?,
            }));
        }
        Some(Scan::Neither)
    }
}

/// Decode the character references Books to Scrape uses (`&amp;`, `&#39;`, `&quot;`, `&nbsp;`, …).
/// `None` for anything an HTML5 parser might read differently (unknown names, a missing `;`, numeric
/// references the spec remaps, NUL or CR), so the caller can use a real parser instead.
pub(crate) fn decode(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains(['&', '\r', '\0']) {
        return Some(Cow::Borrowed(raw));
    }
    if raw.contains(['\r', '\0']) {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.chars().next() {
            // A bare `&` (before a space, `<`, end of text) is just an ampersand.
            None => {
                out.push('&');
                rest = after;
                continue;
            }
            Some(c) if !(c.is_ascii_alphanumeric() || c == '#') => {
                out.push('&');
                rest = after;
                continue;
            }
            Some(_) => {}
        }
        let end = after.find(';')?;
        let name = &after[..end];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            "pound" => '£',
            "euro" => '€',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()?
                } else {
                    return None;
                };
                if code == 0 || (0x80..=0x9f).contains(&code) || code == 0x0d {
                    return None;
                }
                char::from_u32(code)?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_references_books_pages_use() {
        assert_eq!(
            decode("Tom &amp; Jerry&#39;s &quot;x&quot;&nbsp;&#x41;").as_deref(),
            Some("Tom & Jerry's \"x\"\u{a0}A")
        );
        assert_eq!(decode("a & b &").as_deref(), Some("a & b &"));
        assert_eq!(decode("plain").as_deref(), Some("plain"));
    }

    #[test]
    fn refuses_what_a_browser_might_read_differently() {
        for raw in ["&hearts;", "&amp b", "&#128;", "&#0;", "a\rb", "&#xZZ;", "&#1114112;"] {
            assert_eq!(decode(raw), None, "{raw}");
        }
    }
}
