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
fn parse_explains_where_each_field_came_from_on_a_page_without_structured_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("kettle.html");
    std::fs::write(
        &page,
        r#"<html lang="en-GB"><head><title>Blue Kettle 1.7 l | Kitchen Shop</title></head><body>
        <nav><a href="/">Home</a> <span class="price">£1.00 delivery</span></nav>
        <main><h1>Blue Kettle 1.7 l</h1>
        <div class="product-price"><span class="price-now">£24.99</span> <del>£32.00</del></div>
        <p>Or 4 payments of £6.25</p></main></body></html>"#,
    )
    .expect("write");
    let path = page.to_str().expect("path");
    let url = "https://kitchen.example.co.uk/p/blue-kettle";
    let (ok, out, err) = shopstream(&["parse", path, "--url", url, "--json"]);
    assert!(ok, "{err}");
    let lines = json_lines(&out);
    let price = lines.iter().find(|l| l["kind"] == "price").expect("price");
    assert_eq!((price["amount"].as_str(), price["currency"].as_str()), (Some("24.99"), Some("GBP")), "{out}");
    assert_eq!(price["list_price"], "32.00", "the struck-through price is the list price");
    let product = lines.iter().find(|l| l["kind"] == "product").expect("product");
    assert_eq!(product["title"], "Blue Kettle 1.7 l");

    let (ok, out, err) = shopstream(&["parse", path, "--url", url, "--explain"]);
    assert!(ok, "{err}");
    assert!(out.contains("heuristic:"), "the price's method is named:\n{out}");
    let (ok, out, err) = shopstream(&["parse", path, "--url", url, "--explain", "--json"]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let chosen = e["chosen"].as_array().expect("chosen fields");
    let price = chosen.iter().find(|f| f["field"] == "price").expect("the price's source");
    assert!(price["method"].as_str().is_some_and(|m| m.starts_with("heuristic:")), "{e}");
    assert!(price["confidence"].as_f64().is_some_and(|c| c > 0.0 && c <= 1.0), "{e}");
    assert!(!e["rejected"].as_array().expect("rejected").is_empty(), "the instalment and delivery prices lost: {e}");
}

#[test]
fn parse_decodes_a_legacy_charset_named_by_the_content_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("euc-kr.html");
    // "반팔 티셔츠" and "원" in EUC-KR; the page names no charset itself.
    let mut bytes = b"<html lang=\"ko\"><head><title>".to_vec();
    let title = b"\xb9\xdd\xc6\xc8 \xc6\xbc\xbc\xc5\xc3\xf7";
    bytes.extend_from_slice(title);
    bytes.extend_from_slice(b"</title></head><body><h1>");
    bytes.extend_from_slice(title);
    bytes.extend_from_slice(b"</h1><div class=\"price\"><strong>12,900</strong>\xbf\xf8</div></body></html>");
    std::fs::write(&page, &bytes).expect("write");
    let path = page.to_str().expect("path");
    let url = "https://shop.example.kr/goods/1";
    let (ok, out, err) =
        shopstream(&["parse", path, "--url", url, "--content-type", "text/html; charset=EUC-KR", "--json"]);
    assert!(ok, "{err}");
    let lines = json_lines(&out);
    assert_eq!(lines.iter().find(|l| l["kind"] == "product").expect("product")["title"], "반팔 티셔츠");
    let price = lines.iter().find(|l| l["kind"] == "price").expect("price");
    assert_eq!((price["amount"].as_str(), price["currency"].as_str()), (Some("12900"), Some("KRW")), "{out}");
    let (ok, out, _) =
        shopstream(&["parse", path, "--url", url, "--content-type", "text/html; charset=EUC-KR", "--explain"]);
    assert!(ok && out.contains("EUC-KR"), "the charset is part of the explanation:\n{out}");
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
