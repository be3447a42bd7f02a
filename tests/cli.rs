//! The offline commands, as a user runs them: `shopstream parse` and `shopstream normalize price`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn shopstream(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shopstream")).args(args).output().expect("run shopstream");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect()
}

#[test]
fn parse_prints_a_book_page_as_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("book.html");
    let bytes = shopstream_sandbox::snapshot().get("/catalogue/a-light-in-the-attic_1000/index.html").expect("page");
    std::fs::write(&page, bytes).expect("write");
    let url = "http://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html";
    let (ok, out, err) =
        shopstream(&["parse", page.to_str().expect("path"), "--source", "books", "--url", url, "--json"]);
    assert!(ok, "{err}");
    let lines = json_lines(&out);
    let product = lines.iter().find(|l| l["kind"] == "product").expect("a product line");
    assert_eq!(product["title"], "A Light in the Attic");
    assert_eq!(product["rating"], 3.0);
    let price = lines.iter().find(|l| l["kind"] == "price").expect("a price line");
    assert_eq!(price["amount"], "51.77");
    assert_eq!(price["currency"], "GBP");
    assert_eq!(price["minor_units"], 5177);
    assert!(price.get("list_price").is_some(), "list_price is always present (null here)");
}

#[test]
fn parse_without_a_source_uses_the_generic_parser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("p.html");
    std::fs::write(
        &page,
        r#"<html><head><script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Kettle","sku":"K-1",
        "offers":{"@type":"Offer","price":"1299.00","priceCurrency":"CZK"},"aggregateRating":{"@type":"AggregateRating","ratingValue":"4.5","reviewCount":"12"}}</script></head><body></body></html>"#,
    )
    .expect("write");
    let (ok, out, err) =
        shopstream(&["parse", page.to_str().expect("path"), "--url", "https://shop.example/kettle", "--json"]);
    assert!(ok, "{err}");
    let lines = json_lines(&out);
    let product = lines.iter().find(|l| l["kind"] == "product").expect("product");
    assert_eq!(product["title"], "Kettle");
    assert_eq!(product["rating"], 4.5);
    assert_eq!(product["rating_count"], 12);
    let price = lines.iter().find(|l| l["kind"] == "price").expect("price");
    assert_eq!(
        (price["amount"].as_str(), price["currency"].as_str(), price["minor_units"].as_i64()),
        (Some("1299.00"), Some("CZK"), Some(129900))
    );
}

#[test]
fn parse_refuses_an_unknown_page_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("x.html");
    std::fs::write(&page, "<html><p>nothing here</p></html>").expect("write");
    let (ok, _, err) = shopstream(&["parse", page.to_str().expect("path"), "--source", "books", "--json"]);
    assert!(!ok);
    assert!(err.contains("neither a book page nor a listing page"), "{err}");
}

#[test]
fn normalize_price_from_arguments_and_stdin() {
    let (ok, out, err) = shopstream(&["normalize", "price", "1.234,56 €", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        (v["amount"].as_str(), v["currency"].as_str(), v["minor_units"].as_i64()),
        (Some("1234.56"), Some("EUR"), Some(123456))
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_shopstream"))
        .args(["normalize", "price", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            r#"{"raw": "12,000원"}
{"raw": "no price here"}
{"raw": "¥1,200", "currency_hint": "JPY"}
{"raw": "1.299", "decimal_separator": ","}
"#
            .as_bytes(),
        )
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.len(), 4);
    assert_eq!((lines[0]["currency"].as_str(), lines[0]["minor_units"].as_i64()), (Some("KRW"), Some(12000)));
    assert!(lines[1]["amount"].is_null() && lines[1]["currency"].is_null() && lines[1]["minor_units"].is_null());
    assert_eq!((lines[2]["currency"].as_str(), lines[2]["minor_units"].as_i64()), (Some("JPY"), Some(1200)));
    assert_eq!(lines[3]["amount"].as_str(), Some("1299"));
}

#[test]
fn ambiguous_currencies_are_reported_and_never_silently_guessed_into_events() {
    let (ok, out, err) = shopstream(&["normalize", "price", "$12.99"]);
    assert!(ok, "{err}");
    assert!(out.contains("12.99 USD") && out.contains("ambiguous: \"$\""), "{out}");
    let (ok, out, _) = shopstream(&["normalize", "price", "$12.99", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["currency_ambiguous"], true);
    let (ok, out, _) = shopstream(&["normalize", "price", "KShs"]);
    assert!(ok && out.contains("no price in \"KShs\" (it names the currency \"KShs\": KES)"), "{out}");
    let (ok, out, _) = shopstream(&["normalize", "price", "$12.99", "--default-currency", "CAD"]);
    assert!(ok && out.contains("12.99 CAD") && !out.contains("ambiguous"), "{out}");

    // A page priced only in `$` with no currency anywhere: refused with the reason, not stored as USD.
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("p.html");
    std::fs::write(
        &page,
        r#"<html><head><meta property="og:type" content="product"><meta property="og:title" content="Mug">
        <meta property="product:price:amount" content="$8.50"></head><body></body></html>"#,
    )
    .expect("write");
    let (ok, _, err) = shopstream(&["parse", page.to_str().expect("path"), "--url", "https://shop.example/mug"]);
    assert!(!ok, "an ambiguous price must not parse");
    assert!(err.contains("ambiguous currency") && err.contains("default currency"), "{err}");
}

#[test]
fn parse_fetches_a_url_once_and_parses_it() {
    let (base, _sandbox) = common::start_sandbox(0);
    let url = format!("{base}/catalogue/page-2.html");
    // The sandbox is on loopback: refused like any private address unless asked for.
    let (ok, _, err) = shopstream(&["parse", &url, "--source", "books", "--json"]);
    assert!(!ok && err.contains("loopback") && err.contains("--allow-private-network"), "{err}");
    let (ok, out, err) = shopstream(&["parse", &url, "--source", "books", "--json", "--allow-private-network"]);
    assert!(ok, "{err}");
    let ranks: Vec<serde_json::Value> = json_lines(&out).into_iter().filter(|l| l["kind"] == "rank").collect();
    assert_eq!(ranks.len(), 20);
    assert_eq!(ranks[0]["position"], 21, "page 2 starts at position 21");
    assert!(ranks[0]["product_url"].as_str().expect("url").starts_with(&base), "links resolve against the fetched URL");
    let missing = format!("{base}/no-such-page.html");
    let (ok, _, err) = shopstream(&["parse", &missing, "--source", "books", "--allow-private-network"]);
    assert!(!ok && err.contains("404"), "{err}");
}
