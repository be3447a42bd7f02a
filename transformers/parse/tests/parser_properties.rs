//! Property tests (bounded fuzzing, proptest) of the parsers: on any bytes, and on structured data of
//! any shape, they return facts or an error, never panic; a JSON-LD product's price reads back exactly.
//! Failures proptest finds are kept in `tests/parser_properties.proptest-regressions`.

use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` for a longer hunt (e.g. 100000), else the bounded default.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
use shopstream_parse::{parse, PageContext, ParserConfig};

fn ctx() -> PageContext<'static> {
    PageContext { url: "https://shop.example/p/1", content_type: Some("text/html"), default_currency: None }
}

/// A JSON value of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![Just("Product"), Just("Offer"), Just("AggregateOffer"), Just("ItemList"), Just("ListItem")]
            .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("@type".to_string()),
            Just("@graph".to_string()),
            Just("offers".to_string()),
            Just("price".to_string()),
            Just("priceCurrency".to_string()),
            Just("name".to_string()),
            Just("sku".to_string()),
            Just("itemListElement".to_string()),
            Just("position".to_string()),
            Just("aggregateRating".to_string()),
            Just("ratingValue".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(1000)))]

    #[test]
    fn any_bytes_give_facts_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..3000)) {
        for config in [ParserConfig::Generic { page_size: None }, ParserConfig::BooksToscrape] {
            let _ = parse(&config, &body, &ctx());
        }
    }

    #[test]
    fn structured_data_of_any_shape_gives_facts_or_an_error(value in json_value(), og_price in "\\PC{0,10}") {
        let html = format!(
            "<html><head><script type=\"application/ld+json\">{value}</script>\
             <meta property=\"og:type\" content=\"product\"><meta property=\"product:price:amount\" content=\"{}\">\
             </head><body itemscope itemtype=\"https://schema.org/Product\"><span itemprop=\"price\">{}</span></body></html>",
            og_price.replace('"', ""),
            og_price.replace('<', "")
        );
        let _ = parse(&ParserConfig::Generic { page_size: None }, html.as_bytes(), &ctx());
    }

    #[test]
    fn a_json_ld_price_reads_back_exactly(units in 0u64..10_000_000, cents in 0u64..100, name in "[A-Za-z][A-Za-z0-9 ]{0,20}") {
        let doc = serde_json::json!({
            "@context": "https://schema.org", "@type": "Product", "name": name, "sku": "S1",
            "offers": {"@type": "Offer", "price": format!("{units}.{cents:02}"), "priceCurrency": "EUR"}
        });
        let html = format!("<html><head><script type=\"application/ld+json\">{doc}</script></head><body></body></html>");
        let parsed = parse(&ParserConfig::Generic { page_size: None }, html.as_bytes(), &ctx())
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let lines = shopstream_parse::facts_to_json_lines(&parsed);
        let text = serde_json::to_string(&lines).unwrap_or_default();
        prop_assert!(text.contains(&format!("\"minor_units\":{}", units * 100 + cents)), "{}", text);
    }
}
