//! Bytes → text for HTML pages in any charset.
//!
//! Order: bytes that are valid UTF-8 are read as UTF-8 whatever the page declares (many saved pages
//! were re-encoded to UTF-8 but still declare ISO-8859-1); then a BOM; then the HTTP `Content-Type`
//! charset; then `<meta charset>` / `<meta http-equiv="content-type">` in the first 4 KB; then
//! detection (chardetng) on the bytes.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// How [`decode_page`] chose the charset.
pub mod how {
    pub const UTF8_VALID: &str = "utf-8-valid";
    pub const BOM: &str = "bom";
    pub const CONTENT_TYPE: &str = "content-type";
    pub const META: &str = "meta";
    pub const DETECTED: &str = "detected";
}

/// Decode a page body: the text, the charset's WHATWG name (`"EUC-KR"`, `"windows-1252"`, `"UTF-8"`) and
/// how it was chosen (one of [`how`]: `"utf-8-valid"`, `"bom"`, `"content-type"`, `"meta"`, `"detected"`).
///
/// Never fails: bytes invalid in the chosen charset become U+FFFD. A BOM wins over a declaration (as
/// browsers do); valid UTF-8 wins over both except a UTF-16 BOM.
pub fn decode_page<'a>(body: &'a [u8], content_type: Option<&str>) -> (Cow<'a, str>, &'static str, &'static str) {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        if enc == UTF_8 {
            if let Ok(text) = std::str::from_utf8(&body[bom_len..]) {
                return (Cow::Borrowed(text), UTF_8.name(), how::BOM);
            }
        }
        let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
        return (text, enc.name(), how::BOM);
    }
    if let Ok(text) = std::str::from_utf8(body) {
        return (Cow::Borrowed(text), UTF_8.name(), how::UTF8_VALID);
    }
    let declared = content_type
        .and_then(charset_param)
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .map(|e| (e, how::CONTENT_TYPE))
        .or_else(|| meta_charset(body).map(|e| (e, how::META)))
        // A declared UTF-8 or UTF-16 is wrong here (the bytes are not UTF-8; a UTF-16 page would have a BOM).
        .filter(|(e, _)| *e != UTF_8 && e.is_ascii_compatible());
    let (enc, how) = declared.unwrap_or_else(|| {
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(body, true);
        (detector.guess(None, true), how::DETECTED)
    });
    let (text, _) = enc.decode_without_bom_handling(body);
    (text, enc.name(), how)
}

/// The `charset=` parameter of a `Content-Type` value.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// The charset a `<meta>` in the first 4 KB declares (`<meta charset=…>` or `http-equiv` content type).
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(4096)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let start = from + at;
        let end = lower[start..].iter().position(|b| *b == b'>').map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset") {
            let rest = &tag[c + b"charset".len()..];
            let rest = rest.iter().skip_while(|b| b.is_ascii_whitespace()).copied().collect::<Vec<u8>>();
            if let Some(value) = rest.strip_prefix(b"=") {
                let value: Vec<u8> = value
                    .iter()
                    .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
                    .take_while(|b| !(b.is_ascii_whitespace() || matches!(**b, b'"' | b'\'' | b';' | b'/' | b'>')))
                    .copied()
                    .collect();
                if let Some(enc) = Encoding::for_label(&value) {
                    return Some(enc);
                }
            }
        }
        from = end;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(enc: &'static Encoding, meta: &str, text: &str) -> Vec<u8> {
        let html = format!("<html><head>{meta}<title>t</title></head><body><h1>{text}</h1></body></html>");
        enc.encode(&html).0.into_owned()
    }

    #[test]
    fn legacy_charsets_by_declaration() {
        let cases: [(&'static Encoding, &str); 5] = [
            (encoding_rs::EUC_KR, "남성 반팔 티셔츠 판매가 12,900원"),
            (encoding_rs::SHIFT_JIS, "メンズ 半袖 Tシャツ 価格 1,980円"),
            (encoding_rs::GB18030, "男士短袖T恤 价格 ¥99.00"),
            (encoding_rs::WINDOWS_1252, "Café crème — 3,95 €"),
            (encoding_rs::ISO_8859_2, "Żółta łódź, cena 49,99 zł"),
        ];
        for (enc, text) in cases {
            let name = enc.name();
            // By the HTTP header.
            let body = page(enc, "", text);
            let (got, charset, how) = decode_page(&body, Some(&format!("text/html; charset={name}")));
            assert!(got.contains(text), "{name}: {got}");
            assert_eq!((charset, how), (name, how::CONTENT_TYPE));
            // By `<meta charset>`.
            let body = page(enc, &format!(r#"<meta charset="{name}">"#), text);
            let (got, charset, how) = decode_page(&body, Some("text/html"));
            assert!(got.contains(text), "{name}: {got}");
            assert_eq!((charset, how), (name, how::META));
            // By `<meta http-equiv>`.
            let meta = format!(r#"<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset={name}">"#);
            let body = page(enc, &meta, text);
            let (got, _, how) = decode_page(&body, None);
            assert!(got.contains(text) && how == how::META, "{name}: {got}");
        }
    }

    #[test]
    fn undeclared_legacy_charsets_are_detected() {
        let long = |s: &str| s.repeat(8);
        for (enc, text) in [
            (encoding_rs::EUC_KR, long("남성 반팔 티셔츠 판매가 12,900원 무료배송 ")),
            (encoding_rs::SHIFT_JIS, long("メンズ 半袖 Tシャツ 価格 1,980円 送料無料 ")),
            (encoding_rs::WINDOWS_1252, long("Café crème brûlée à la française, prix 3,95 € ")),
        ] {
            let body = page(enc, "", &text);
            let (got, charset, how) = decode_page(&body, None);
            assert_eq!((charset, how), (enc.name(), how::DETECTED));
            assert!(got.contains(&text), "{got}");
        }
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_declaration() {
        let body = page(UTF_8, r#"<meta charset="iso-8859-1">"#, "£31.99 Glenfarclas – Größe");
        let (got, charset, how) = decode_page(&body, Some("text/html; charset=ISO-8859-1"));
        assert!(got.contains("£31.99 Glenfarclas – Größe"));
        assert_eq!((charset, how), ("UTF-8", how::UTF8_VALID));
        assert!(matches!(got, Cow::Borrowed(_)), "valid UTF-8 is not copied");
    }

    #[test]
    fn a_bom_decides() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend(page(UTF_8, r#"<meta charset="windows-1252">"#, "Größe"));
        let (got, charset, how) = decode_page(&body, None);
        assert!(got.starts_with("<html>") && got.contains("Größe"));
        assert_eq!((charset, how), ("UTF-8", how::BOM));
        let mut body = vec![0xFF, 0xFE];
        for unit in "<h1>Größe 10 €</h1>".encode_utf16() {
            body.extend(unit.to_le_bytes());
        }
        let (got, charset, how) = decode_page(&body, Some("text/html; charset=iso-8859-1"));
        assert_eq!((got.as_ref(), charset, how), ("<h1>Größe 10 €</h1>", "UTF-16LE", how::BOM));
    }

    #[test]
    fn a_declared_utf8_that_is_not_falls_back_to_detection() {
        let body = page(encoding_rs::WINDOWS_1252, "", &"Crème brûlée à la française, 3,95 € ".repeat(6));
        let (got, charset, how) = decode_page(&body, Some("text/html; charset=utf-8"));
        assert!(got.contains("Crème brûlée"), "{got}");
        assert_eq!((charset, how), ("windows-1252", how::DETECTED));
    }
}
