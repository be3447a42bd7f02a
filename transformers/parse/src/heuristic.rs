//! Page heuristics for pages without (usable) structured data: the product title from the headings that
//! agree with the document title, the price from the price-looking text nearest that title, and listing
//! cards from repeated sibling elements.
//!
//! Every signal is generic: multilingual vocabularies of class/id/itemprop/data-* words and of the labels
//! written beside a price ("was", "RRP", "UVP", "De", "Tavahind", "12x de", "/mo"), strike-through
//! markup, visibility, page regions (header, nav, footer) and DOM distance. Nothing names a shop.

use std::collections::HashMap;

use scraper::node::Node;
use scraper::{ElementRef, Html};
use shopstream_normalize::{parse_price, PriceHints};

use crate::common::collapse;

// ---------------------------------------------------------------------------------------------------
// Vocabularies (lower case)

/// Attribute words that say "this is a price".
const PRICE_ATTR: &[&str] = &[
    "price",
    "preis",
    "prix",
    "precio",
    "preco",
    "preço",
    "prezzo",
    "prijs",
    "cena",
    "fiyat",
    "amount",
    "cost",
    "gia",
    "giá",
    "가격",
    "판매가",
    "価格",
    "値段",
    "价格",
    "售价",
    "kaina",
    "hinta",
    "pris",
];
/// Attribute words that say "the current price".
const CURRENT_ATTR: &[&str] =
    &["sale", "special", "current", "now", "final", "best", "offer", "our", "selling", "actual", "new", "main"];
/// Attribute words that say "the old, struck or reference price".
const LIST_ATTR: &[&str] = &[
    "old", "was", "list", "original", "compare", "rrp", "msrp", "uvp", "strike", "crossed", "before", "retail",
    "regular", "reg", "previous", "standard",
];
/// Of those, the ones that are not the selling price even when alone ("regular-price" often is).
const STRONG_LIST_ATTR: &[&str] = &["old", "was", "strike", "crossed", "before", "previous", "compare"];
/// Attribute words of prices that are not the product's price.
const OTHER_ATTR: &[(&str, &str)] = &[
    ("instal", "instalment"),
    ("install", "instalment"),
    ("emi", "instalment"),
    ("parcel", "instalment"),
    ("month", "instalment"),
    ("financ", "instalment"),
    ("credit", "instalment"),
    ("save", "saving"),
    ("saving", "saving"),
    ("discount", "saving"),
    ("ship", "shipping"),
    ("deliver", "shipping"),
    ("versand", "shipping"),
    ("frete", "shipping"),
    ("cart", "cart"),
    ("basket", "cart"),
    ("trolley", "cart"),
    ("bag", "cart"),
    ("total", "cart"),
    ("checkout", "cart"),
    ("filter", "filter"),
    ("facet", "filter"),
    ("range", "filter"),
    ("refine", "filter"),
    ("measure", "per-unit"),
    ("grundpreis", "per-unit"),
    ("baseprice", "per-unit"),
    ("estimate", "estimate"),
    ("point", "loyalty points"),
    ("reward", "loyalty points"),
    ("coupon", "voucher"),
    ("voucher", "voucher"),
    ("tax", "tax"),
];
/// Label words written before or around a reference price.
const LIST_LABEL: &[&str] = &[
    "was",
    "rrp",
    "uvp",
    "msrp",
    "list price",
    "reg.",
    "regular price",
    "statt",
    "bisher",
    "de ",
    "antes",
    "tavahind",
    "prix barré",
    "prix de référence",
    "precio anterior",
    "preço de",
    "giá cũ",
    "giá gốc",
    "정가",
    "定価",
    "通常価格",
    "参考価格",
    "原价",
    "originally",
    "compare at",
    "before",
    "en lugar de",
    "invece di",
];
/// Label words of instalment, saving, shipping and threshold texts.
const OTHER_LABEL: &[(&str, &str)] = &[
    ("x de ", "instalment"),
    ("x r$", "instalment"),
    ("/mo", "instalment"),
    ("per month", "instalment"),
    ("a month", "instalment"),
    ("monthly", "instalment"),
    ("mensualit", "instalment"),
    ("/mois", "instalment"),
    ("/tháng", "instalment"),
    ("/ tháng", "instalment"),
    ("/monat", "instalment"),
    ("monatlich", "instalment"),
    ("al mes", "instalment"),
    ("/mes", "instalment"),
    ("월 ", "instalment"),
    ("할부", "instalment"),
    ("分割", "instalment"),
    ("save ", "saving"),
    ("you save", "saving"),
    ("sie sparen", "saving"),
    ("économisez", "saving"),
    ("ahorra", "saving"),
    ("economize", "saving"),
    ("tiết kiệm", "saving"),
    ("free delivery over", "shipping threshold"),
    ("free shipping over", "shipping threshold"),
    ("versandkostenfrei ab", "shipping threshold"),
    ("frete grátis", "shipping threshold"),
    ("livraison gratuite", "shipping threshold"),
    ("envío gratis", "shipping threshold"),
    ("shipping", "shipping"),
    ("delivery:", "shipping"),
    ("versand", "shipping"),
    ("postage", "shipping"),
    ("valued at", "loyalty points"),
    ("points", "loyalty points"),
    ("estimate", "estimate"),
    ("new & used from", "other offers"),
    ("used from", "other offers"),
    ("gebote", "auction bids"),
];
/// Labels of a price including VAT (the consumer-facing gross price).
const VAT_INCL: &[&str] = &[
    "inc vat",
    "incl. vat",
    "incl vat",
    "including vat",
    "inc. vat",
    "inkl. mwst",
    "inkl mwst",
    "incl. btw",
    "ttc",
    "iva incluido",
    "iva incluída",
    "iva inclusa",
    "iva incl",
    "tax included",
    "taxes included",
    "vat included",
    "moms inkl",
    "inkl. moms",
    "с ндс",
    "brutto",
    "z vat",
    "s dph",
    "税込",
    "tax incl",
];
/// Labels of a net price.
const VAT_EXCL: &[&str] = &[
    "ex vat",
    "excl. vat",
    "excl vat",
    "excluding vat",
    "ex. vat",
    "zzgl. mwst",
    "zzgl mwst",
    "exkl. mwst",
    " ht",
    "hors taxe",
    "sin iva",
    "sem iva",
    "iva excluido",
    "+ iva",
    "netto",
    "excl. btw",
    "tax excluded",
    "plus tax",
    "+ tax",
    "税抜",
    "税別",
    "без ндс",
];

/// Split an attribute value into lower-case words: on non-alphanumerics and camelCase humps.
fn words(value: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in value.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether one of `words` starts with one of `vocab` (`oldprice` starts with `old`, `bold` does not).
fn has_word(words: &[String], vocab: &[&str]) -> bool {
    words.iter().any(|w| vocab.iter().any(|v| w.starts_with(v) && !(*v == "list" && w.starts_with("listing"))))
}

/// Whether one of `words` contains a price word (`pprice`, `prpreis`, `gh_price`).
fn has_price_word(words: &[String]) -> bool {
    words.iter().any(|w| PRICE_ATTR.iter().any(|v| w.contains(v)))
}

/// ASCII currency words longer than three letters that `parse_price` knows (its marks of up to three
/// letters and ISO codes are covered by length alone). Kept in step by the test below.
const LONG_MARK_WORDS: &[&str] = &["euro", "euros", "dinara", "yuan", "kshs", "fcfa"];

/// Whether `text` could hold a currency mark as `parse_price` finds them: a non-ASCII char, `$`, `:-`, a
/// standalone ASCII word of at most three letters, or one of [`LONG_MARK_WORDS`] (marks and codes are
/// bounded by non-letters, so "reviews" or "Size" cannot hold one). A cheap necessary condition.
fn could_have_mark(text: &str) -> bool {
    if !text.is_ascii() || text.contains('$') || text.contains(":-") {
        return true;
    }
    text.split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| (1..=3).contains(&w.len()) || LONG_MARK_WORDS.iter().any(|m| w.eq_ignore_ascii_case(m)))
}

/// Whether an element's identifying attributes could hold a price word (lower-cased raw text, no split):
/// a cheap superset of [`has_price_word`] over [`attr_words`].
fn raw_price_hint(el: ElementRef<'_>) -> bool {
    raw_attrs_contain(el, PRICE_ATTR)
}

fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        std::borrow::Cow::Owned(s.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// `f` of `s` lower-cased as [`lower`] does, without allocating for short ASCII text (this runs for
/// every element of the page).
fn with_lower<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 128];
    if s.is_ascii() && s.len() <= buf.len() {
        let buf = &mut buf[..s.len()];
        buf.copy_from_slice(s.as_bytes());
        buf.make_ascii_lowercase();
        // ASCII in, ASCII out: always valid UTF-8.
        return match std::str::from_utf8(buf) {
            Ok(l) => f(l),
            Err(_) => f(&lower(s)),
        };
    }
    f(&lower(s))
}

/// Whether the lower-cased class, id, itemprop, name or data-* names and values contain one of `vocab`.
fn raw_attrs_contain(el: ElementRef<'_>, vocab: &[&str]) -> bool {
    el.value().attrs().any(|(name, value)| {
        let relevant = matches!(name, "class" | "id" | "itemprop" | "name") || name.starts_with("data-");
        if !relevant {
            return false;
        }
        with_lower(name, |n| vocab.iter().any(|w| n.contains(w)))
            || with_lower(value, |v| vocab.iter().any(|w| v.contains(w)))
    })
}

/// The words of an element's identifying attributes: class, id, itemprop, name and data-* (names and values).
fn attr_words(el: ElementRef<'_>) -> Vec<String> {
    let mut out = vec![];
    for (name, value) in el.value().attrs() {
        match name {
            "class" | "id" | "itemprop" | "name" => out.extend(words(value)),
            n if n.starts_with("data-") => {
                out.extend(words(&n[5..]));
                if value.len() <= 40 {
                    out.extend(words(value));
                }
            }
            _ => {}
        }
    }
    out
}

/// A short css-ish selector for an element: `tag.class1.class2#id`.
pub(crate) fn selector_of(el: ElementRef<'_>) -> String {
    let v = el.value();
    let mut s = v.name().to_string();
    for c in v.classes().take(3) {
        s.push('.');
        s.push_str(c);
    }
    if let Some(id) = v.id() {
        s.push('#');
        s.push_str(id);
    }
    for attr in ["itemprop", "data-test", "data-tn", "data-testid"] {
        if let Some(a) = v.attr(attr) {
            s.push_str(&format!("[{attr}={a}]"));
        }
    }
    s
}

fn is_hidden_el(el: ElementRef<'_>) -> bool {
    let v = el.value();
    // One pass over the attributes (this runs for every text's parent and every candidate's ancestors).
    let (mut hidden, mut aria_hidden, mut inert) = (false, false, false);
    for (name, value) in v.attrs() {
        match name {
            "hidden" => hidden = true,
            "aria-hidden" => aria_hidden = value == "true",
            "inert" => inert = true,
            "style" => {
                let s: String = value.to_ascii_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
                if s.contains("display:none") || s.contains("visibility:hidden") {
                    return true;
                }
            }
            "class"
                if value.split_ascii_whitespace().any(|c| {
                    matches!(c, "hidden" | "hide" | "d-none" | "sr-only" | "visually-hidden" | "is-hidden")
                }) =>
            {
                return true;
            }
            _ => {}
        }
    }
    // `aria-hidden` also marks the page behind an open modal (`inert`, or the whole `main`): still shown.
    let modal_background = inert || matches!(v.name(), "main" | "body" | "html");
    hidden || (aria_hidden && !modal_background)
}

/// Hidden itself or by an ancestor.
pub(crate) fn is_hidden(el: ElementRef<'_>) -> bool {
    std::iter::once(el).chain(el.ancestors().filter_map(ElementRef::wrap)).any(is_hidden_el)
}

fn is_struck_el(el: ElementRef<'_>) -> bool {
    let v = el.value();
    if matches!(v.name(), "del" | "s" | "strike") {
        return true;
    }
    v.attr("style").is_some_and(|s| s.to_ascii_lowercase().contains("line-through"))
        || v.classes().any(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("strike") || c.contains("line-through") || c.contains("linethrough") || c.contains("crossed")
        })
}

/// In a page region that holds no main product (header, nav, footer, aside, a form's select).
fn in_chrome(el: ElementRef<'_>) -> bool {
    el.ancestors().filter_map(ElementRef::wrap).any(|a| {
        let v = a.value();
        matches!(v.name(), "header" | "nav" | "footer" | "aside" | "select" | "option")
            || matches!(v.attr("role"), Some("navigation" | "banner" | "contentinfo"))
    })
}

/// An element's visible text, collapsed, with a `<sup>` cents part joined as decimals (`2.999<sup>99</sup>`
/// is `2.999,99`); `None` when longer than `max` chars.
pub(crate) fn short_text(el: ElementRef<'_>, max: usize) -> Option<String> {
    let mut out = String::new();
    for node in el.descendants() {
        match node.value() {
            Node::Text(t) => {
                let hidden_parent = node.parent().and_then(ElementRef::wrap).is_some_and(|p| {
                    matches!(p.value().name(), "script" | "style" | "noscript" | "template") || is_hidden_el(p)
                });
                if hidden_parent {
                    continue;
                }
                let in_sup = node.parent().and_then(ElementRef::wrap).is_some_and(|p| p.value().name() == "sup");
                let t: &str = t;
                if in_sup && t.trim().len() == 2 && t.trim().chars().all(|c| c.is_ascii_digit()) {
                    let before = out.trim_end();
                    if before.ends_with(|c: char| c.is_ascii_digit()) {
                        let sep = if before
                            .rsplit(|c: char| !c.is_ascii_digit() && c != '.')
                            .next()
                            .is_some_and(|n| n.contains('.'))
                        {
                            ','
                        } else {
                            '.'
                        };
                        let trimmed = before.len();
                        out.truncate(trimmed);
                        out.push(sep);
                        out.push_str(t.trim());
                        continue;
                    }
                }
                // Collapsed as it goes, so that indentation does not count against `max`.
                for word in t.split_whitespace() {
                    out.push_str(word);
                    out.push(' ');
                }
                if out.len() > max * 4 {
                    return None;
                }
            }
            Node::Element(e) if matches!(e.name(), "br" | "p" | "div" | "li" | "td") => out.push(' '),
            _ => {}
        }
    }
    let text = collapse(&out);
    (text.chars().count() <= max).then_some(text)
}

// ---------------------------------------------------------------------------------------------------
// Prices

/// What a price candidate is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Role {
    /// A selling price.
    Current,
    /// A struck-through, "was" or reference price.
    List,
    /// Not a price of this product, with why.
    Other(&'static str),
}

/// One price-looking text on the page.
#[derive(Debug, Clone)]
pub(crate) struct PriceCand<'a> {
    pub el: ElementRef<'a>,
    /// Document order.
    pub order: usize,
    /// The text the amount is read from.
    pub text: String,
    pub amount: String,
    pub minor: i64,
    pub currency: Option<String>,
    /// The currency mark was ambiguous and neither the locale nor the source resolved it.
    pub ambiguous: bool,
    pub role: Role,
    /// Price words in its own or a close ancestor's attributes.
    pub price_attr: f64,
    /// Current-price words in its attributes.
    pub current_attr: bool,
    pub vat_incl: bool,
    pub vat_excl: bool,
    pub in_chrome: bool,
    /// The text names a currency.
    pub has_mark: bool,
    /// Starts with "from" / "ab" / "desde" / "a partir de".
    pub from_price: bool,
    pub selector: String,
}

/// The label written before a price element: the text before it in its parent and grandparent (up to
/// 40 chars), or the previous sibling element's (a label cell or span).
fn label_around(el: ElementRef<'_>, own: &str) -> String {
    let mut label = String::new();
    let mut cur = el;
    for _ in 0..2 {
        let Some(parent) = cur.parent().and_then(ElementRef::wrap) else { break };
        let Some(t) = short_text(parent, 160) else { break };
        if let Some(at) = t.find(own) {
            // Only the text since the previous number: another price's label ("12x de R$ 9,90") is not this one's.
            let before = &t[..at];
            let before = before.rfind(|c: char| c.is_ascii_digit()).map_or(before, |d| &before[d + 1..]);
            let start = before.char_indices().rev().nth(39).map_or(0, |(i, _)| i);
            label = before[start..].to_string();
        }
        // The nearest label only: "Save 15%" two boxes up is not this price's label.
        if !label.trim().is_empty() {
            break;
        }
        cur = parent;
    }
    if label.trim().is_empty() {
        if let Some(prev) = el.prev_siblings().filter_map(ElementRef::wrap).next() {
            if let Some(t) = short_text(prev, 40) {
                label = t;
            }
        }
    }
    format!("{} ", label.trim()).to_lowercase()
}

/// Every price-looking text on the page, in document order, with its signals.
pub(crate) fn price_candidates<'a>(doc: &'a Html, hints: &PriceHints<'_>) -> Vec<PriceCand<'a>> {
    let mut seen: HashMap<_, ()> = HashMap::new();
    let mut memo: HashMap<String, Option<shopstream_normalize::Price>> = HashMap::new();
    let mut out: Vec<PriceCand<'a>> = vec![];
    for (order, node) in doc.root_element().descendants().enumerate() {
        let Node::Text(t) = node.value() else { continue };
        if !t.bytes().any(|b| b.is_ascii_digit()) || t.len() > 200 {
            continue;
        }
        let Some(parent) = node.parent().and_then(ElementRef::wrap) else { continue };
        if matches!(
            parent.value().name(),
            "script" | "style" | "noscript" | "template" | "title" | "textarea" | "option"
        ) {
            continue;
        }
        // The price box: the parent, or its parent when the parent is only a part (`<sup>`, a cents span).
        let mut el = parent;
        if matches!(el.value().name(), "sup" | "sub" | "small" | "b" | "strong" | "em" | "i" | "span")
            && !has_price_word(&attr_words(el))
        {
            if let Some(up) = el.parent().and_then(ElementRef::wrap) {
                if has_price_word(&attr_words(up)) && short_text(up, 60).is_some() {
                    el = up;
                }
            }
        }
        if seen.insert(el.id(), ()).is_some() {
            continue;
        }
        let Some(text) = short_text(el, 60) else { continue };
        if text.is_empty() || !text.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        // Cheap necessary conditions first: a price word in the raw attributes of the element or its close
        // ancestors, or a text that could hold a currency mark.
        let price_hint =
            std::iter::once(el).chain(el.ancestors().filter_map(ElementRef::wrap).take(3)).any(raw_price_hint);
        if !price_hint && !could_have_mark(&text) {
            continue;
        }
        if is_hidden(el) {
            continue;
        }
        // parse_price is the costly step (a currency scan per position): the same text is read once.
        let parsed = match memo.get(&text) {
            Some(p) => p.clone(),
            None => {
                let p = parse_price(&text, hints).ok().flatten();
                memo.insert(text.clone(), p.clone());
                p
            }
        };
        let Some(price) = parsed else { continue };
        // A mark in the text itself (not the locale hint standing in for one).
        let mut has_mark = price.currency_raw.as_deref().is_some_and(|m| text.contains(m));
        let mut price = price;
        if !has_mark && price_hint {
            // The currency in a sibling span (`<span>Rs.</span><span itemprop="price">747</span>`) belongs
            // to the number beside it: the parent's short text read as one price with the same amount.
            let beside = el.parent().and_then(ElementRef::wrap).and_then(|p| short_text(p, 40)).and_then(|t| {
                let p = parse_price(&t, hints).ok().flatten()?;
                let mark = p.currency_raw.as_deref().is_some_and(|m| t.contains(m) && !text.contains(m));
                (mark && p.amount == price.amount).then_some(p)
            });
            if let Some(p) = beside {
                (price, has_mark) = (p, true);
            }
        }
        // Attributes of the element and its close ancestors.
        let mut own = attr_words(el);
        let mut near: Vec<String> = vec![];
        for (i, a) in el.ancestors().filter_map(ElementRef::wrap).take(3).enumerate() {
            if i == 0 {
                own.extend(attr_words(a).into_iter().filter(|w| has_price_word(std::slice::from_ref(w))));
            }
            near.extend(attr_words(a));
        }
        let price_attr = if has_price_word(&own) {
            1.0
        } else if has_price_word(&near) {
            0.6
        } else {
            0.0
        };
        if !has_mark && price_attr == 0.0 {
            continue;
        }
        let Some(minor) = price.minor_units else { continue };
        if minor <= 0 {
            continue;
        }
        let label = label_around(el, &text);
        let lower_text = text.to_lowercase();
        let struck = std::iter::once(el).chain(el.ancestors().filter_map(ElementRef::wrap).take(3)).any(is_struck_el);
        let text_other = OTHER_LABEL.iter().find(|(w, _)| lower_text.contains(w)).map(|(_, why)| *why);
        let label_other = OTHER_LABEL.iter().find(|(w, _)| label.contains(w)).map(|(_, why)| *why);
        let attr_other = OTHER_ATTR.iter().find(|(w, _)| own.iter().any(|x| x.starts_with(w))).map(|(_, why)| *why);
        let list_label = LIST_LABEL.iter().any(|w| {
            // The label must precede the amount: "De R$ 199,00", "RRP: £749.99", "Was $20".
            let w = w.trim_end();
            lower_text.starts_with(w) || {
                let before = label.trim_end().trim_end_matches(':').trim_end();
                before.ends_with(w)
                    && before[..before.len() - w.len()].chars().last().is_none_or(|c| !c.is_alphanumeric())
            }
        });
        let role = if price.per_unit {
            Role::Other("per-unit price")
        } else if let Some(why) = text_other {
            Role::Other(why)
        } else if struck || has_word(&own, STRONG_LIST_ATTR) || list_label {
            Role::List
        } else if let Some(why) = label_other.or(attr_other) {
            Role::Other(why)
        } else if has_word(&own, LIST_ATTR) && !has_word(&own, CURRENT_ATTR) {
            Role::List
        } else {
            Role::Current
        };
        // VAT notes usually follow the price ("53,11 € IVA incluido"), often in a sibling line of the price
        // box: the text after the price in the largest short ancestor (up to five levels) counts too.
        let after = el
            .ancestors()
            .filter_map(ElementRef::wrap)
            .take(5)
            .map_while(|a| short_text(a, 200))
            .last()
            .and_then(|t| t.find(&text).map(|at| t[at + text.len()..].chars().take(60).collect::<String>()))
            .unwrap_or_default()
            .to_lowercase();
        let vat_ctx = format!("{lower_text} {label} {after}");
        out.push(PriceCand {
            el,
            order,
            amount: price.amount.to_string(),
            minor,
            currency: price.currency.clone(),
            ambiguous: price.currency_ambiguous,
            role,
            price_attr,
            current_attr: has_word(&own, CURRENT_ATTR),
            vat_incl: VAT_INCL.iter().any(|w| vat_ctx.contains(w)),
            vat_excl: VAT_EXCL.iter().any(|w| vat_ctx.contains(w)),
            in_chrome: in_chrome(el),
            has_mark,
            from_price: ["from ", "ab ", "desde ", "a partir de", "à partir de", "starting at", "từ "]
                .iter()
                .any(|w| lower_text.starts_with(w) || label.starts_with(w)),
            selector: selector_of(el),
            text,
        });
    }
    out
}

/// Tree distance between two elements (edges through their lowest common ancestor).
pub(crate) fn tree_distance(a: ElementRef<'_>, b: ElementRef<'_>) -> usize {
    let mut up_a: HashMap<_, usize> = HashMap::new();
    up_a.insert(a.id(), 0);
    for (i, n) in a.ancestors().enumerate() {
        up_a.insert(n.id(), i + 1);
    }
    if let Some(d) = up_a.get(&b.id()) {
        return *d;
    }
    for (i, n) in b.ancestors().enumerate() {
        if let Some(d) = up_a.get(&n.id()) {
            return d + i + 1;
        }
    }
    usize::MAX / 2
}

/// A score (higher is better) for a current-price candidate as the main product's price.
pub(crate) fn price_score(c: &PriceCand<'_>, title: Option<(ElementRef<'_>, usize)>) -> (f64, Vec<&'static str>) {
    let mut why = vec![];
    let mut s = 0.0;
    if c.has_mark {
        s += 1.0;
    } else {
        why.push("no currency mark");
    }
    s += 1.5 * c.price_attr;
    if c.price_attr == 0.0 {
        why.push("no price class");
    }
    if c.current_attr {
        s += 0.3;
    }
    if c.vat_incl {
        s += 0.3;
    }
    if c.vat_excl {
        s -= 0.8;
        why.push("net of VAT");
    }
    if c.in_chrome {
        s -= 2.0;
        why.push("in header/nav/footer");
    }
    if c.from_price {
        s -= 0.7;
        why.push("a 'from' price");
    }
    if let Some((t, t_order)) = title {
        let d = tree_distance(t, c.el) as f64;
        s += 3.0 * (-d / 8.0).exp();
        if d > 12.0 {
            why.push("far from the title");
        }
        if c.order < t_order {
            s -= 0.5;
            why.push("before the title");
        }
    }
    (s, why)
}

/// Confidence 0..1 from a score.
pub(crate) fn confidence(score: f64) -> f64 {
    let c = 1.0 / (1.0 + (-(score - 2.5) * 1.2).exp());
    (c * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------------------------------
// Titles

/// A heading that could be the product's title.
#[derive(Debug, Clone)]
pub(crate) struct TitleCand<'a> {
    pub el: Option<ElementRef<'a>>,
    pub order: usize,
    pub text: String,
    pub method: String,
    pub score: f64,
    pub reason: &'static str,
}

fn title_words(s: &str) -> Vec<String> {
    s.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// The share of `text`'s words that the document title also has.
fn agreement(text: &str, doc_words: &[String]) -> f64 {
    let w = title_words(text);
    if w.is_empty() {
        return 0.0;
    }
    w.iter().filter(|x| doc_words.contains(x)).count() as f64 / w.len() as f64
}

/// `<title>` / `og:title` without the site name: split on ` | `, ` - `, ` – `, ` : `, ` — ` and drop the
/// parts that name the site (words of the host, or the `og:site_name`); keeps the longest remaining part.
pub(crate) fn strip_site_name(title: &str, host: Option<&str>, site_name: Option<&str>) -> String {
    let title = collapse(title);
    let host_key: String = host
        .map(|h| h.trim_start_matches("www.").split('.').next().unwrap_or(h).to_lowercase())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let site_key: String =
        site_name.unwrap_or_default().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    let is_site = |part: &str| {
        let key: String = part.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
        !key.is_empty()
            && ((!host_key.is_empty() && (key.contains(&host_key) || host_key.contains(&key)))
                || (!site_key.is_empty() && (key == site_key || key.contains(&site_key))))
    };
    for sep in [" | ", " – ", " — ", " - ", " : ", " :: ", " · "] {
        let parts: Vec<&str> = title.split(sep).collect();
        if parts.len() < 2 {
            continue;
        }
        let kept: Vec<&str> = parts.iter().copied().filter(|p| !is_site(p)).collect();
        let longest_kept = kept.iter().map(|p| p.chars().count()).max().unwrap_or(0);
        // The site name is the short part: a long part that mentions the host is the title split on
        // an inner separator ("Shop (UK) : Product : Category - Free Delivery").
        let site_is_short = parts.iter().filter(|p| is_site(p)).all(|p| p.chars().count() <= 2 * longest_kept);
        if kept.len() < parts.len() && !kept.is_empty() && site_is_short {
            return kept.join(sep).trim().to_string();
        }
    }
    title
}

/// Candidates for the product title: headings (`h1`–`h3`, elements whose class or id says title or
/// name), scored by how well they agree with the document title (`og:title`, `<title>`), then `og:title`
/// and `<title>` themselves with the site name removed.
pub(crate) fn title_candidates<'a>(doc: &'a Html, host: Option<&str>) -> Vec<TitleCand<'a>> {
    let meta = |css: &str| {
        scraper::Selector::parse(css)
            .ok()
            .and_then(|s| doc.select(&s).find_map(|e| e.value().attr("content").map(collapse)))
            .filter(|t| !t.is_empty())
    };
    let og_title = meta(r#"meta[property="og:title"]"#);
    let site_name = meta(r#"meta[property="og:site_name"]"#);
    let doc_title = scraper::Selector::parse("head > title")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let mut doc_words: Vec<String> = vec![];
    for t in [&og_title, &doc_title].into_iter().flatten() {
        doc_words.extend(title_words(&strip_site_name(t, host, site_name.as_deref())));
    }
    let mut out = vec![];
    for (order, node) in doc.root_element().descendants().enumerate() {
        let Some(el) = ElementRef::wrap(node) else { continue };
        let name = el.value().name();
        let base = match name {
            "h1" => 1.0,
            "h2" => 0.5,
            "h3" => 0.4,
            _ => {
                if !raw_attrs_contain(el, &["title", "name", "heading"]) {
                    continue;
                }
                let w = attr_words(el);
                let named = w
                    .iter()
                    .any(|x| x.contains("title") || x == "name" || x.ends_with("name") || x.contains("heading"));
                if !named || has_price_word(&w) {
                    continue;
                }
                0.3
            }
        };
        let Some(text) = short_text(el, 300) else { continue };
        if text.chars().count() < 2 || is_hidden(el) {
            continue;
        }
        let agree = if doc_words.is_empty() { 0.5 } else { agreement(&text, &doc_words) };
        // Headings that the document title does not echo (a collection name, "Welcome") are not titles.
        if base < 1.0 && agree < 0.8 {
            continue;
        }
        let chrome = in_chrome(el);
        let score = base + 2.0 * agree - if chrome { 1.5 } else { 0.0 };
        let reason = if agree < 0.5 {
            "not in the document title"
        } else if chrome {
            "in header/nav/footer"
        } else {
            ""
        };
        out.push(TitleCand {
            el: Some(el),
            order,
            method: format!("heuristic:{}", selector_of(el)),
            text,
            score,
            reason,
        });
    }
    if let Some(t) = &og_title {
        out.push(TitleCand {
            el: None,
            order: usize::MAX,
            text: strip_site_name(t, host, site_name.as_deref()),
            method: "opengraph".into(),
            score: 1.8,
            reason: "",
        });
    }
    if let Some(t) = &doc_title {
        out.push(TitleCand {
            el: None,
            order: usize::MAX,
            text: strip_site_name(t, host, site_name.as_deref()),
            method: "heuristic:title".into(),
            score: 1.6,
            reason: "",
        });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order.cmp(&b.order)));
    out
}

// ---------------------------------------------------------------------------------------------------
// Listing cards

/// One repeated product card.
#[derive(Debug, Clone)]
pub(crate) struct Card<'a> {
    pub el: ElementRef<'a>,
    pub href: String,
    pub title: String,
    /// The card's selling price and its struck or "was" price.
    pub price: Option<PriceCand<'a>>,
    pub list: Option<PriceCand<'a>>,
}

/// An element's shape: tag and first class that is not a state or position (modifier classes such as
/// `item--featured`, `first`, `last` vary per card).
fn signature(el: ElementRef<'_>) -> String {
    let stable = |c: &&str| {
        !c.contains("--") && !matches!(*c, "first" | "last" | "odd" | "even" | "active" | "selected" | "alt")
    };
    match el.value().classes().find(stable) {
        Some(c) => format!("{}.{c}", el.value().name()),
        None => el.value().name().to_string(),
    }
}

/// Badge-like words: a leading child element of a card heading with one of them is a badge ("New
/// listing", "Sponsored"), not part of the title.
const BADGE_ATTR: &[&str] = &["badge", "highlight", "label", "tag", "flag", "sticker", "promo", "ribbon"];

/// A card heading's text without a leading badge element.
fn heading_text(h: ElementRef<'_>) -> Option<String> {
    let full = short_text(h, 400)?;
    let first = h.children().find(|c| match c.value() {
        Node::Text(t) => !t.trim().is_empty(),
        Node::Element(_) => true,
        _ => false,
    });
    if let Some(badge) = first.and_then(ElementRef::wrap) {
        if has_word(&attr_words(badge), BADGE_ATTR) {
            if let Some(b) = short_text(badge, 60) {
                let rest = full.strip_prefix(b.as_str()).map(str::trim).unwrap_or(&full).to_string();
                if rest.chars().count() >= 3 {
                    return Some(rest);
                }
            }
        }
    }
    Some(full)
}

/// The card's product link and title: a heading's text (and the link inside or around it), else the
/// link with the longest text or `title` attribute.
fn card_link(card: ElementRef<'_>) -> Option<(String, String)> {
    let headings = card.descendants().filter_map(ElementRef::wrap).filter(|e| {
        matches!(e.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") || e.value().attr("role") == Some("heading")
    });
    for h in headings {
        if is_hidden(h) {
            continue;
        }
        let link = h
            .descendants()
            .filter_map(ElementRef::wrap)
            .chain(h.ancestors().filter_map(ElementRef::wrap).take_while(|a| a.id() != card.id()))
            .find(|e| e.value().name() == "a" && e.value().attr("href").is_some());
        let text = heading_text(h).filter(|t| t.chars().count() >= 3);
        if let (Some(link), Some(text)) = (link, text) {
            return Some((link.value().attr("href").unwrap_or_default().to_string(), text));
        }
    }
    let mut best: Option<(String, String)> = None;
    for a in card.descendants().filter_map(ElementRef::wrap).filter(|e| e.value().name() == "a") {
        let Some(href) = a.value().attr("href") else { continue };
        if href.starts_with('#') || href.starts_with("javascript:") || is_hidden(a) {
            continue;
        }
        let text = short_text(a, 400)
            .filter(|t| t.chars().count() >= 3 && !t.chars().all(|c| c.is_ascii_digit() || !c.is_alphanumeric()))
            .or_else(|| a.value().attr("title").map(collapse));
        if let Some(text) = text {
            if best.as_ref().is_none_or(|(_, b)| text.chars().count() > b.chars().count()) {
                best = Some((href.to_string(), text));
            }
        }
    }
    best
}

/// Repeated product cards: the largest group of sibling elements of one shape (same tag and classes),
/// at least three of which each hold a link and a current price. Returns the group's selector and its
/// cards in page order, or `None` when the page has no such group.
pub(crate) fn cards<'a>(prices: &[PriceCand<'a>]) -> Option<(String, Vec<Card<'a>>)> {
    // (parent, member shape) → members (in page order) holding a current price.
    let mut groups: HashMap<_, Vec<ElementRef<'a>>> = HashMap::new();
    for p in prices.iter().filter(|p| p.role == Role::Current && !p.in_chrome) {
        let mut child = p.el;
        for a in p.el.ancestors().filter_map(ElementRef::wrap).take(10) {
            let shape = signature(child);
            let members = groups.entry((a.id(), shape.clone(), String::new())).or_default();
            if !members.iter().any(|m| m.id() == child.id()) {
                members.push(child);
            }
            // Grids split in rows: the same card shape in sibling rows of one shape is one group.
            if let Some(grand) = a.parent().and_then(ElementRef::wrap) {
                let members = groups.entry((grand.id(), shape, signature(a))).or_default();
                if !members.iter().any(|m| m.id() == child.id()) {
                    members.push(child);
                }
            }
            child = a;
        }
    }
    let mut best: Option<(String, Vec<Card<'a>>)> = None;
    let mut groups: Vec<_> = groups.into_iter().collect();
    // Deterministic: larger groups first, then the one starting earlier on the page.
    groups.sort_by_key(|(_, m)| (std::cmp::Reverse(m.len()), m.first().map(|e| e.id())));
    for ((_, shape, _), members) in groups {
        if members.len() < 3 || best.as_ref().is_some_and(|(_, b)| b.len() >= members.len()) {
            continue;
        }
        let mut found = vec![];
        for el in members {
            let Some((href, title)) = card_link(el) else { continue };
            let inside = |p: &&PriceCand<'a>| p.el.id() == el.id() || p.el.ancestors().any(|a| a.id() == el.id());
            // A link whose text holds its price is a price filter ("Gifts - Up to £50"), not a product.
            if prices.iter().filter(inside).any(|p| title.contains(&p.text)) {
                continue;
            }
            let price = prices.iter().filter(inside).find(|p| p.role == Role::Current).cloned();
            let list = price.as_ref().and_then(|cur| {
                prices
                    .iter()
                    .filter(inside)
                    .find(|p| p.role == Role::List && p.minor > cur.minor && p.currency == cur.currency)
                    .cloned()
            });
            found.push(Card { el, href, title, price, list });
        }
        if found.len() >= 3 && best.as_ref().is_none_or(|(_, b)| found.len() > b.len()) {
            best = Some((shape, found));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_camel_case_and_separators() {
        assert_eq!(words("skuBestPrice old-price"), vec!["sku", "best", "price", "old", "price"]);
        assert!(has_word(&words("striked-price"), STRONG_LIST_ATTR));
        assert!(!has_word(&words("fk-bold"), STRONG_LIST_ATTR));
        assert!(!has_word(&words("product-listing"), LIST_ATTR));
    }

    #[test]
    fn the_mark_prefilter_never_drops_a_text_with_a_mark() {
        let hints = PriceHints { currency_hint: None, decimal_separator: None, default_currency: None };
        for t in [
            "€ 5",
            "5 EUR",
            "US$ 12",
            "R$ 23,90",
            "12,00 zł",
            "1.299 Kč",
            "100.000 đ",
            "Rs. 747",
            "CHF 9.90",
            "9 kr",
            "49:-",
            "5 euros",
            "Fr. 12",
            "S/ 20",
            "12 Dinara",
            "KSh 100",
            "$5",
            "10 TL",
        ] {
            let mark = parse_price(t, &hints).ok().flatten().and_then(|p| p.currency_raw).filter(|m| t.contains(m));
            assert!(mark.is_some(), "{t}: normalize finds no mark");
            assert!(could_have_mark(t), "{t}");
        }
        for t in ["2024", "4.5 (12)", "12 reviews", "Warenkorb 3", "-15%", "Size 38", "Only 3 left"] {
            assert!(!could_have_mark(t), "{t}");
        }
    }

    #[test]
    fn site_names_are_removed_from_titles() {
        assert_eq!(strip_site_name("Feve Desk | ferm LIVING", Some("fermliving.us"), None), "Feve Desk");
        assert_eq!(
            strip_site_name("Glenfarclas 105 - 35cl 60%", Some("www.cgarsltd.co.uk"), None),
            "Glenfarclas 105 - 35cl 60%"
        );
        assert_eq!(
            strip_site_name("Lamp - Women | MANGO USA", Some("shop.mango.com"), Some("MANGO USA")),
            "Lamp - Women"
        );
    }
}
