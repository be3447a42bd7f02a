//! The currency a page's locale implies: `og:locale` / `<html lang>` region, then the URL's country
//! TLD, then a language spoken in one currency area. Used to resolve an ambiguous mark (`$`, `kr`, `¥`)
//! or a price written without one; never to override a mark that names one currency.

use scraper::{Html, Selector};
use url::Url;

/// ISO 3166 country → ISO 4217 currency, for the countries whose shops we are likely to see.
const COUNTRY_CURRENCY: &[(&str, &str)] = &[
    ("US", "USD"),
    ("CA", "CAD"),
    ("MX", "MXN"),
    ("BR", "BRL"),
    ("AR", "ARS"),
    ("CL", "CLP"),
    ("CO", "COP"),
    ("PE", "PEN"),
    ("GB", "GBP"),
    ("UK", "GBP"),
    ("IE", "EUR"),
    ("DE", "EUR"),
    ("AT", "EUR"),
    ("FR", "EUR"),
    ("ES", "EUR"),
    ("IT", "EUR"),
    ("PT", "EUR"),
    ("NL", "EUR"),
    ("BE", "EUR"),
    ("LU", "EUR"),
    ("FI", "EUR"),
    ("EE", "EUR"),
    ("LV", "EUR"),
    ("LT", "EUR"),
    ("SK", "EUR"),
    ("SI", "EUR"),
    ("GR", "EUR"),
    ("HR", "EUR"),
    ("CY", "EUR"),
    ("MT", "EUR"),
    ("CH", "CHF"),
    ("LI", "CHF"),
    ("SE", "SEK"),
    ("NO", "NOK"),
    ("DK", "DKK"),
    ("IS", "ISK"),
    ("PL", "PLN"),
    ("CZ", "CZK"),
    ("HU", "HUF"),
    ("RO", "RON"),
    ("BG", "BGN"),
    ("RS", "RSD"),
    ("UA", "UAH"),
    ("TR", "TRY"),
    ("RU", "RUB"),
    ("IL", "ILS"),
    ("AE", "AED"),
    ("SA", "SAR"),
    ("EG", "EGP"),
    ("ZA", "ZAR"),
    ("NG", "NGN"),
    ("KE", "KES"),
    ("IN", "INR"),
    ("PK", "PKR"),
    ("BD", "BDT"),
    ("LK", "LKR"),
    ("KR", "KRW"),
    ("JP", "JPY"),
    ("CN", "CNY"),
    ("TW", "TWD"),
    ("HK", "HKD"),
    ("SG", "SGD"),
    ("MY", "MYR"),
    ("TH", "THB"),
    ("VN", "VND"),
    ("ID", "IDR"),
    ("PH", "PHP"),
    ("AU", "AUD"),
    ("NZ", "NZD"),
];

/// Languages spoken (for shopping) in one currency area only.
const LANGUAGE_CURRENCY: &[(&str, &str)] = &[
    ("ko", "KRW"),
    ("ja", "JPY"),
    ("vi", "VND"),
    ("th", "THB"),
    ("pl", "PLN"),
    ("cs", "CZK"),
    ("hu", "HUF"),
    ("ro", "RON"),
    ("bg", "BGN"),
    ("uk", "UAH"),
    ("tr", "TRY"),
    ("he", "ILS"),
    ("id", "IDR"),
    ("et", "EUR"),
    ("lv", "EUR"),
    ("lt", "EUR"),
    ("fi", "EUR"),
    ("sk", "EUR"),
    ("sl", "EUR"),
    ("el", "EUR"),
    ("da", "DKK"),
    ("sv", "SEK"),
    ("nb", "NOK"),
    ("no", "NOK"),
    ("is", "ISK"),
];

fn country_currency(country: &str) -> Option<&'static str> {
    let c = country.to_ascii_uppercase();
    COUNTRY_CURRENCY.iter().find(|(k, _)| *k == c).map(|(_, v)| *v)
}

/// The currency a locale tag names by its region (`en-US`, `en_GB`, `pt-BR`), else by a one-currency
/// language (`ja`, `vi`).
fn locale_currency(tag: &str) -> Option<(&'static str, bool)> {
    let mut parts = tag.trim().split(['-', '_']);
    let language = parts.next()?.to_ascii_lowercase();
    if let Some(region) = parts.find(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_alphabetic())) {
        if let Some(cur) = country_currency(region) {
            return Some((cur, true));
        }
    }
    LANGUAGE_CURRENCY.iter().find(|(l, _)| *l == language).map(|(_, c)| (*c, false))
}

/// The currency the page's locale implies and where it was read (`og:locale`, `lang`, `tld`), or `None`.
pub(crate) fn page_currency(doc: &Html, url: Option<&Url>) -> Option<(&'static str, String)> {
    let first_attr = |css: &str, attr: &str| -> Option<String> {
        let s = Selector::parse(css).ok()?;
        doc.select(&s).find_map(|e| e.value().attr(attr)).map(str::to_string)
    };
    let og = first_attr(r#"meta[property="og:locale"]"#, "content");
    let lang = first_attr("html[lang]", "lang").or_else(|| first_attr("html[xml\\:lang]", "xml:lang"));
    let tld = url
        .and_then(|u| u.host_str().map(str::to_string))
        .and_then(|h| h.rsplit('.').next().map(str::to_string))
        .and_then(|t| country_currency(&t).map(|c| (c, t)));
    // A region in the locale or a country TLD beats a language alone.
    let with_region = |tag: &Option<String>, what: &str| {
        tag.as_deref().and_then(locale_currency).filter(|(_, region)| *region).map(|(c, _)| (c, what.to_string()))
    };
    with_region(&og, "og:locale")
        .or_else(|| with_region(&lang, "lang"))
        .or_else(|| tld.map(|(c, t)| (c, format!("tld .{t}"))))
        .or_else(|| og.as_deref().and_then(locale_currency).map(|(c, _)| (c, "og:locale".to_string())))
        .or_else(|| lang.as_deref().and_then(locale_currency).map(|(c, _)| (c, "lang".to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_then_tld_then_language() {
        let page = |html: &str, url: &str| {
            let url = Url::parse(url).expect("url");
            page_currency(&Html::parse_document(html), Some(&url)).map(|(c, _)| c)
        };
        assert_eq!(page(r#"<html lang="en-US">"#, "https://shop.example.com/p"), Some("USD"));
        assert_eq!(page(r#"<html lang="en">"#, "https://shop.example.co.uk/p"), Some("GBP"));
        assert_eq!(page(r#"<html lang="en">"#, "https://shop.example.com/p"), None);
        assert_eq!(page(r#"<html lang="vi">"#, "https://shop.example.com/p"), Some("VND"));
        let og = r#"<html lang="en"><meta property="og:locale" content="en_AU">"#;
        assert_eq!(page(og, "https://shop.example.com/p"), Some("AUD"));
    }
}
