//! Availability: in stock or not, and the stock count where the page gives it.

use serde::{Deserialize, Serialize};

/// Whether an item can be bought now, and how many are left if the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// True when the item can be bought and shipped now.
    pub in_stock: bool,
    /// Units in stock, when stated (`Only 3 left`, `재고 5개`, `22 available`).
    pub stock: Option<u64>,
}

/// schema.org `ItemAvailability` values. Pre-order, pre-sale and back-order items can be
/// ordered but are not in stock, so they read as `in_stock = false`.
const SCHEMA: &[(&str, bool)] = &[
    ("instock", true),
    ("limitedavailability", true),
    ("instoreonly", true),
    ("onlineonly", true),
    ("outofstock", false),
    ("soldout", false),
    ("discontinued", false),
    ("preorder", false),
    ("presale", false),
    ("backorder", false),
    ("madetoorder", false),
    ("reserved", false),
];

/// Phrases that mean "not in stock". Checked before the positive ones ("out of stock" contains
/// "stock").
const NEGATIVE: &[&str] = &[
    "out of stock",
    "sold out",
    "soldout",
    "unavailable",
    "not available",
    "no longer available",
    "not in stock",
    "pre-order",
    "preorder",
    "backorder",
    "back-order",
    "coming soon",
    "품절",
    "일시품절",
    "재고 없음",
    "재고없음",
    "구매불가",
    "在庫なし",
    "在庫切れ",
    "売り切れ",
    "缺货",
    "无货",
    "售罄",
    "ausverkauft",
    "nicht verfügbar",
    "nicht vorrätig",
    "nicht lieferbar",
    "épuisé",
    "rupture de stock",
    "indisponible",
    "agotado",
    "sin stock",
    "esaurito",
    "non disponibile",
    "нет в наличии",
    "brak w magazynie",
    "niedostępny",
    "vyprodáno",
    "není skladem",
    "uitverkocht",
    "slutsåld",
    "udsolgt",
    "utsolgt",
];

/// Phrases that mean "in stock".
const POSITIVE: &[&str] = &[
    "in stock",
    "instock",
    "available",
    "left in stock",
    "only",
    "left",
    "ships today",
    "재고",
    "구매가능",
    "在庫あり",
    "残り",
    "有货",
    "现货",
    "仅剩",
    "auf lager",
    "lieferbar",
    "vorrätig",
    "verfügbar",
    "en stock",
    "disponible",
    "disponibile",
    "en existencia",
    "в наличии",
    "skladem",
    "dostępny",
    "w magazynie",
    "op voorraad",
    "i lager",
    "på lager",
];

/// Words right after a number that make it a stock count.
const COUNT_AFTER: &[&str] = &[
    "available",
    "left",
    "in stock",
    "items",
    "units",
    "pcs",
    "pieces",
    "개",
    "점",
    "個",
    "件",
    "stück",
    "auf lager",
    "en stock",
    "disponibles",
    "шт",
    "ks",
    "szt",
];

/// Words right before a number that make it a stock count.
const COUNT_BEFORE: &[&str] = &["only", "stock:", "stock", "재고", "残り", "仅剩", "noch", "just", "qty:", "quantity:"];

/// Reads availability from page text or a schema.org value (`http://schema.org/InStock`).
/// `None` when the text says nothing about availability.
pub fn parse_availability(text: &str) -> Option<Availability> {
    let lower = text.trim().to_lowercase();
    let bare = lower.rsplit(['/', '#']).next().unwrap_or(&lower).trim();
    if let Some((_, in_stock)) = SCHEMA.iter().find(|(k, _)| *k == bare) {
        return Some(Availability { in_stock: *in_stock, stock: None });
    }
    let stock = stock_count(&lower);
    if NEGATIVE.iter().any(|p| lower.contains(p)) {
        return Some(Availability { in_stock: false, stock: stock.filter(|n| *n == 0) });
    }
    if let Some(n) = stock {
        return Some(Availability { in_stock: n > 0, stock: Some(n) });
    }
    POSITIVE.iter().any(|p| lower.contains(p)).then_some(Availability { in_stock: true, stock: None })
}

/// The first integer written as a stock count (`22 available`, `only 3 left`, `재고 5개`).
fn stock_count(lower: &str) -> Option<u64> {
    let mut rest = lower;
    let mut offset = 0;
    while let Some(pos) = rest.find(|c: char| c.is_ascii_digit()) {
        let start = offset + pos;
        let digits: String = lower[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        let len: usize =
            lower[start..].chars().take_while(|c| c.is_ascii_digit() || *c == ',').map(char::len_utf8).sum();
        let end = start + len;
        let after = lower[end..].trim_start();
        let before = lower[..start].trim_end();
        let is_count =
            COUNT_AFTER.iter().any(|w| after.starts_with(w)) || COUNT_BEFORE.iter().any(|w| before.ends_with(w));
        if is_count {
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
        offset = end;
        rest = &lower[end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(in_stock: bool, stock: Option<u64>) -> Option<Availability> {
        Some(Availability { in_stock, stock })
    }

    #[test]
    fn table() {
        for (text, want) in [
            ("In stock (22 available)", a(true, Some(22))),
            ("In stock", a(true, None)),
            ("Out of stock", a(false, None)),
            ("Only 3 left", a(true, Some(3))),
            ("Only 3 left in stock - order soon.", a(true, Some(3))),
            ("http://schema.org/InStock", a(true, None)),
            ("https://schema.org/OutOfStock", a(false, None)),
            ("http://schema.org/PreOrder", a(false, None)),
            ("SoldOut", a(false, None)),
            ("http://schema.org/LimitedAvailability", a(true, None)),
            ("품절", a(false, None)),
            ("일시품절", a(false, None)),
            ("재고 5개", a(true, Some(5))),
            ("0 available", a(false, Some(0))),
            ("Ausverkauft", a(false, None)),
            ("Auf Lager", a(true, None)),
            ("Нет в наличии", a(false, None)),
            ("Free shipping", None),
            ("", None),
        ] {
            assert_eq!(parse_availability(text), want, "{text}");
        }
    }
}
