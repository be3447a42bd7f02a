//! Property tests (bounded fuzzing, proptest): the price normalizer never panics, whatever the text, and
//! prices written in the usual locale styles read back to exactly the amount and currency written.
//! Failures proptest finds are kept in `tests/price_properties.proptest-regressions` and replayed first.

use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` for a longer hunt (e.g. 100000), else the bounded default.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
use shopstream_normalize::{parse_price, PriceHints};

/// `n` with `sep` between groups of three digits.
fn grouped(n: u64, sep: &str) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2000)))]

    #[test]
    fn any_text_gives_a_price_nothing_or_an_error_never_a_panic(text in "\\PC{0,48}") {
        let _ = parse_price(&text, &PriceHints::default());
        let _ = parse_price(&text, &PriceHints { default_currency: Some("EUR"), decimal_separator: Some(','), currency_hint: Some(&text) });
    }

    #[test]
    fn price_shaped_text_never_panics(text in "[0-9 .,'\u{a0}\u{202f}€$£¥₩원円kr₹CHFUSD/-]{0,32}") {
        let _ = parse_price(&text, &PriceHints::default());
    }

    #[test]
    fn written_prices_read_back_exactly(units in 0u64..50_000_000, cents in 0u64..100, style in 0usize..7) {
        let (text, minor, currency) = match style {
            0 => (format!("£{}.{cents:02}", grouped(units, ",")), units * 100 + cents, "GBP"),
            1 => (format!("{},{cents:02} €", grouped(units, ".")), units * 100 + cents, "EUR"),
            2 => (format!("CHF {}.{cents:02}", grouped(units, "'")), units * 100 + cents, "CHF"),
            3 => (format!("{}원", grouped(units, ",")), units, "KRW"),
            4 => (format!("US$ {units}.{cents:02}"), units * 100 + cents, "USD"),
            5 => (format!("{} Kč", grouped(units, " ")), units * 100, "CZK"),
            _ => (format!("₩{}", grouped(units, ",")), units, "KRW"),
        };
        let price = parse_price(&text, &PriceHints::default())
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?
            .ok_or_else(|| TestCaseError::fail(format!("{text:?}: no price")))?;
        prop_assert_eq!(price.currency.as_deref(), Some(currency), "{:?}", text);
        prop_assert_eq!(price.minor_units, Some(minor as i64), "{:?}", text);
    }
}
