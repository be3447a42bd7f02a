//! A cheap byte-level pass before the DOM is built: the bodies of `<script>`, `<style>`, `<svg>`,
//! `<noscript>`, `<template>` and comments are cut out (the tags stay, empty, so the tree keeps its
//! shape), and inline scripts are kept aside for the JSON-LD and embedded-state readers.
//!
//! Real shop pages are half scripts, styles and icons by size; html5ever reads every byte of them char
//! by char, and none of it is visible text. The raw-text end rules are the HTML ones: a script ends at
//! the first `</script` (any case) followed by whitespace, `/` or `>`. Runs of whitespace outside the
//! cut bodies are cut to one character.

/// An inline script's attributes that the readers need, and its raw text.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    /// `type`, lower case (empty when absent).
    pub ty: String,
    pub id: Option<String>,
    pub text: String,
}

/// The page without the bodies it does not need, and its inline scripts in document order.
#[derive(Debug, Default)]
pub(crate) struct Stripped {
    pub html: String,
    pub scripts: Vec<Script>,
}

/// Elements whose content is cut; `true` when they can nest (their closing tag is matched by depth).
const CUT: &[(&str, bool)] =
    &[("script", false), ("style", false), ("noscript", false), ("svg", true), ("template", true)];
/// Raw-text elements passed through untouched (a `<!--` inside them is not a comment).
const RAW: &[&str] = &["title", "textarea", "xmp", "plaintext"];

/// The lower-case tag name at `at` (just after `<` or `</`) if it is `name`, bounded by whitespace, `/`
/// or `>` (or the end).
fn name_at(b: &[u8], at: usize, name: &str) -> bool {
    let n = name.len();
    b.get(at..at + n).is_some_and(|s| s.eq_ignore_ascii_case(name.as_bytes()))
        && b.get(at + n).is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'))
}

/// The index just past the `>` closing the tag that starts at `lt` (quotes respected), or the end.
fn tag_end(b: &[u8], lt: usize) -> usize {
    let mut quote = None;
    for (i, &c) in b.iter().enumerate().skip(lt + 1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return i + 1,
            None => {}
        }
    }
    b.len()
}

/// `(start of the closing tag, just past it)` for `name` opened before `from`, or the end of input.
fn close_of(html: &str, from: usize, name: &str, nests: bool) -> (usize, usize) {
    let b = html.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while let Some(off) = html.get(i..).and_then(|s| s.find('<')) {
        let lt = i + off;
        if b.get(lt + 1) == Some(&b'/') && name_at(b, lt + 2, name) {
            if depth == 0 {
                return (lt, tag_end(b, lt));
            }
            depth -= 1;
        } else if nests && name_at(b, lt + 1, name) {
            let end = tag_end(b, lt);
            if b[..end].ends_with(b"/>") {
                i = end;
                continue;
            }
            depth += 1;
        }
        i = lt + 1;
    }
    (html.len(), html.len())
}

/// One attribute's value from a start tag (`<script type="…" id=x>`), entity-free values only.
fn attr(tag: &str, name: &str) -> Option<String> {
    let b = tag.as_bytes();
    let mut i = tag.find(|c: char| c.is_ascii_whitespace())?;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let key = &tag[start..i];
        if key.is_empty() {
            return None;
        }
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = tag[i + 1..].find(q as char).map_or(tag.len(), |e| i + 1 + e);
                    value = &tag[i + 1..end];
                    i = end + 1;
                }
                _ => {
                    let s = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = &tag[s..i];
                }
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(value.trim().to_string());
        }
    }
    None
}

/// Cut the bodies the parser never reads; keep inline scripts (no `src`) aside.
pub(crate) fn strip(html: &str) -> Stripped {
    let b = html.as_bytes();
    let mut out = Stripped { html: String::with_capacity(html.len() / 2), scripts: vec![] };
    let (mut last, mut i) = (0, 0);
    while let Some(off) = html.get(i..).and_then(|s| s.find('<')) {
        let lt = i + off;
        i = lt + 1;
        if b[lt + 1..].starts_with(b"!--") {
            // `<!-->` and `<!--->` are complete (empty) comments in HTML.
            let end = if b[lt + 4..].starts_with(b">") {
                lt + 5
            } else if b[lt + 4..].starts_with(b"->") {
                lt + 6
            } else {
                html[lt + 4..].find("-->").map_or(html.len(), |e| lt + 4 + e + 3)
            };
            push_collapsed(&mut out.html, &html[last..lt]);
            (last, i) = (end, end);
            continue;
        }
        if let Some(raw) = RAW.iter().find(|n| name_at(b, lt + 1, n)) {
            let open_end = tag_end(b, lt);
            i = close_of(html, open_end, raw, false).1.max(open_end);
            continue;
        }
        let Some(&(name, nests)) = CUT.iter().find(|(n, _)| name_at(b, lt + 1, n)) else { continue };
        let open_end = tag_end(b, lt);
        if name == "svg" && b[..open_end].ends_with(b"/>") {
            i = open_end;
            continue;
        }
        let (close_start, close_end) = close_of(html, open_end, name, nests);
        if name == "script" {
            let tag = &html[lt..open_end];
            if attr(tag, "src").is_none() {
                out.scripts.push(Script {
                    ty: attr(tag, "type").unwrap_or_default().to_ascii_lowercase(),
                    id: attr(tag, "id").filter(|s| !s.is_empty()),
                    text: html[open_end..close_start].to_string(),
                });
            }
        }
        push_collapsed(&mut out.html, &html[last..open_end]);
        push_collapsed(&mut out.html, &html[close_start..close_end]);
        (last, i) = (close_end, close_end);
    }
    push_collapsed(&mut out.html, &html[last..]);
    out
}

/// Append `s` with each run of ASCII whitespace cut to its first character: indentation is a fifth of
/// a typical page, and every reader collapses whitespace anyway.
fn push_collapsed(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() && b.get(i + 1).is_some_and(u8::is_ascii_whitespace) {
            out.push_str(&s[start..=i]);
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_and_scripts_kept_aside() {
        let html = r#"<html><head><title>a <!-- b</title><STYLE>p{}</style>
<script type="application/ld+json" id=ld>{"a":"</scriptx>"}</script  >
<script src="x.js"></script><!-- <p>gone</p> --></head>
<body><svg><svg><path/></svg><text>9</text></svg><svg/><p>€ 5</p><template><b>t</b></template>
<noscript>n</noscript><textarea><script>kept</script></textarea></body></html>"#;
        let s = strip(html);
        assert_eq!(
            s.html,
            r#"<html><head><title>a <!-- b</title><STYLE></style>
<script type="application/ld+json" id=ld></script >
<script src="x.js"></script></head>
<body><svg></svg><svg/><p>€ 5</p><template></template>
<noscript></noscript><textarea><script>kept</script></textarea></body></html>"#
        );
        assert_eq!(s.scripts.len(), 1);
        assert_eq!((s.scripts[0].ty.as_str(), s.scripts[0].id.as_deref()), ("application/ld+json", Some("ld")));
        assert_eq!(s.scripts[0].text, r#"{"a":"</scriptx>"}"#);
    }

    #[test]
    fn unclosed_bodies_run_to_the_end() {
        let s = strip("<p>1</p><script>var a = '<p>';");
        assert_eq!(s.html, "<p>1</p><script>");
        assert_eq!(s.scripts[0].text, "var a = '<p>';");
        assert_eq!(strip("<p>x</p><!-- open").html, "<p>x</p>");
        assert_eq!(strip("<p>a<!-->b<!--->c</p>").html, "<p>abc</p>");
        assert_eq!(strip("a < b <").html, "a < b <");
        assert_eq!(strip("<p>\n    a \t b</p>\n\n").html, "<p>\na b</p>\n");
    }
}
