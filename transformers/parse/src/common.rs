//! Helpers the parsers share: building normalized price facts, ids from URLs, text clean-up.

use shopstream_normalize::{parse_price, PriceHints};
use url::Url;

use crate::{ParseError, PriceFact};

/// Collapse runs of whitespace to one space and trim, as a browser shows text.
pub(crate) fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Remove HTML tags (`<b>…</b>` highlights in API titles) and decode the common character references.
pub(crate) fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    collapse(&decoded)
}

/// A stable product id from a product URL: host (without `www.`) and path, no scheme, query or fragment.
pub(crate) fn id_from_url(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    let path = url.path().trim_end_matches('/');
    Some(format!("{host}{path}"))
}

/// One price text (or bare number) read into a [`PriceFact`], with an optional list price.
///
/// `Ok(None)` when the text holds no price; an error when it does but cannot be made exact (no currency,
/// more decimals than the currency has).
pub(crate) fn price_fact(
    parser: &'static str,
    raw: &str,
    list_raw: Option<&str>,
    currency: Option<&str>,
    default_currency: Option<&str>,
) -> Result<Option<PriceFact>, ParseError> {
    let field = |reason: String| ParseError::Field { parser, field: "price", reason };
    let hints = PriceHints { currency_hint: currency, decimal_separator: None, default_currency };
    let Some(price) = parse_price(raw, &hints).map_err(|e| field(format!("{raw:?}: {e}")))? else {
        return Ok(None);
    };
    if price.per_unit {
        return Ok(None);
    }
    let iso = price
        .currency
        .clone()
        .ok_or_else(|| field(format!("no currency for {raw:?} (set the source's default currency)")))?;
    if price.currency_ambiguous {
        // `$`, `kr`, `¥` … name several currencies: a guessed ISO code in the warehouse would be a wrong
        // fact that looks right, so the page goes to the dead-letter topic until the source says which.
        return Err(field(format!(
            "ambiguous currency {:?} in {raw:?} (could be {iso} or another; set the source's default currency)",
            price.currency_raw.as_deref().unwrap_or_default()
        )));
    }
    let minor_units = price.minor_units.ok_or_else(|| field(format!("{raw:?} has no exact minor units in {iso}")))?;
    let mut fact = PriceFact {
        amount: price.amount.to_string(),
        currency: iso.clone(),
        minor_units,
        list_price_minor: None,
        list_price: None,
        raw: raw.to_string(),
        extraction_method: None,
    };
    if let Some(list_raw) = list_raw {
        let hints = PriceHints {
            currency_hint: currency.or(Some(&iso)),
            decimal_separator: None,
            default_currency: Some(&iso),
        };
        if let Ok(Some(list)) = parse_price(list_raw, &hints) {
            // A "was" price only counts when it is in the same currency and above the selling price.
            if list.currency.as_deref() == Some(iso.as_str()) && !list.per_unit {
                if let Some(minor) = list.minor_units.filter(|m| *m > minor_units) {
                    fact.list_price_minor = Some(minor);
                    fact.list_price = Some(list.amount.to_string());
                }
            }
        }
    }
    Ok(Some(fact))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_highlight_tags_from_titles() {
        assert_eq!(strip_tags("남여공용 <b>반팔티셔츠</b>  BLACK &amp; WHITE"), "남여공용 반팔티셔츠 BLACK & WHITE");
    }

    #[test]
    fn ids_from_urls_drop_scheme_www_query_and_trailing_slash() {
        let url = Url::parse("https://www.example.com/p/shoe-1/?ref=x#top").expect("url");
        assert_eq!(id_from_url(&url).as_deref(), Some("example.com/p/shoe-1"));
    }

    #[test]
    fn a_price_keeps_a_higher_list_price_in_the_same_currency() {
        let p = price_fact("t", "8,390원", Some("11,900원"), None, Some("KRW")).expect("ok").expect("price");
        assert_eq!((p.amount.as_str(), p.currency.as_str(), p.minor_units), ("8390", "KRW", 8390));
        assert_eq!((p.list_price.as_deref(), p.list_price_minor), (Some("11900"), Some(11900)));
        let p = price_fact("t", "9.00", Some("9.00"), Some("USD"), None).expect("ok").expect("price");
        assert_eq!(p.list_price, None);
        assert!(price_fact("t", "12.50", None, None, None).is_err());
        assert_eq!(price_fact("t", "n/a", None, None, Some("USD")).expect("ok"), None);
    }

    #[test]
    fn an_ambiguous_currency_is_an_error_unless_the_hint_or_the_source_resolves_it() {
        let err = price_fact("t", "$19.99", None, None, None).expect_err("ambiguous");
        let msg = err.to_string();
        assert!(msg.contains("ambiguous currency \"$\"") && msg.contains("default currency"), "{msg}");
        let p = price_fact("t", "$19.99", None, None, Some("AUD")).expect("ok").expect("price");
        assert_eq!((p.currency.as_str(), p.minor_units), ("AUD", 1999));
        let p = price_fact("t", "$19.99", None, Some("CAD"), None).expect("ok").expect("price");
        assert_eq!(p.currency, "CAD");
        // Marks that name one currency need no help.
        let p = price_fact("t", "US$19.99", None, None, None).expect("ok").expect("price");
        assert_eq!(p.currency, "USD");
    }
}
