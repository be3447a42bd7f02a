//! Ratings to a 0–5 scale, and review counts.

use serde::{Deserialize, Serialize};

/// A rating normalized to 0–5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// The rating on a 0–5 scale.
    pub value: f64,
    /// Number of ratings or reviews, when the text gives it.
    pub count: Option<u64>,
    /// The original best value (5, 10, 100 for percentages).
    pub scale: f64,
    /// The text or class attribute it was read from.
    pub raw: String,
}

const WORD_NUMBERS: &[(&str, f64)] =
    &[("zero", 0.0), ("one", 1.0), ("two", 2.0), ("three", 3.0), ("four", 4.0), ("five", 5.0)];

/// Reads star classes: `star-rating Three` → 3, `rating-4` → 4, `stars-4-5` / `stars-4_5` /
/// `stars-45` → 4.5, `star-4.5` → 4.5. Only tokens mentioning `star`/`rating`/`rate` are read
/// as numbers, so unrelated classes (`col-12`) are ignored.
pub fn rating_from_star_class(class_attr: &str) -> Option<Rating> {
    let value = class_attr.split_whitespace().find_map(|token| {
        let t = token.to_lowercase();
        if let Some((_, v)) = WORD_NUMBERS.iter().find(|(w, _)| *w == t) {
            return Some(*v);
        }
        if !(t.contains("star") || t.contains("rating") || t.contains("rate")) {
            return None;
        }
        let parts: Vec<&str> =
            t.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter(|p| !p.is_empty() && *p != ".").collect();
        match parts.as_slice() {
            [one] => {
                let v: f64 = one.parse().ok()?;
                if v <= 5.0 {
                    Some(v)
                } else if one.len() == 2 && !one.contains('.') && v <= 50.0 {
                    Some(v / 10.0) // `stars-45`
                } else {
                    None
                }
            }
            [int, frac] if int.len() == 1 && frac.len() == 1 => format!("{int}.{frac}").parse().ok(),
            _ => None,
        }
    })?;
    (0.0..=5.0).contains(&value).then(|| Rating { value, count: None, scale: 5.0, raw: class_attr.to_string() })
}

/// Words between a rating and its best value: `4.5 out of 5`, `4,5 von 5`, `4 sur 5`, `4 из 5`.
const OUT_OF: &[&str] = &["/", "out of", "of", "von", "sur", "su", "de", "van", "из", "z", "na", "中", "점 만점에"];

/// A number in a text, with where it ends.
fn numbers(text: &str) -> Vec<(f64, usize, usize)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        let mut s = String::new();
        while i < chars.len() {
            let c = chars[i].1;
            let next_digit = chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit());
            if c.is_ascii_digit() {
                s.push(c);
            } else if (c == '.' || c == ',') && next_digit && !s.contains('.') {
                s.push('.');
            } else {
                break;
            }
            i += 1;
        }
        let end = chars.get(i).map_or(text.len(), |(b, _)| *b);
        if let Ok(v) = s.parse::<f64>() {
            out.push((v, start, end));
        }
    }
    out
}

/// Reads a rating: `4.5/5`, `4.5 out of 5`, `4,5 von 5 Sternen`, `9/10`, `90%`, or a plain
/// `4.3` on the `best` scale (schema.org `bestRating`, default 5; `worstRating` default 1).
///
/// The value is `x / best × 5`; a `worst` other than 0 or 1 (e.g. −10…10) maps linearly
/// instead, `(x − worst) / (best − worst) × 5`. Values outside `worst..=best` give `None`.
/// A review count after the rating (`4.5/5 (1,234 reviews)`) fills `count`.
pub fn parse_rating(text: &str, best: Option<f64>, worst: Option<f64>) -> Option<Rating> {
    let nums = numbers(text);
    let &(x, _, x_end) = nums.first()?;
    let rest = &text[x_end..];
    let trimmed = rest.trim_start();
    let mut scale = best.unwrap_or(5.0);
    let mut used_end = x_end;
    if trimmed.starts_with('%') {
        scale = 100.0;
        used_end = x_end + (rest.len() - trimmed.len()) + 1;
    } else if let Some(&(b, _, b_end)) = nums.get(1) {
        let between = text[x_end..nums[1].1].trim().to_lowercase();
        if OUT_OF.contains(&between.as_str()) {
            scale = b;
            used_end = b_end;
        }
    }
    let lo = match worst {
        Some(w) if w != 0.0 && w != 1.0 => w,
        _ => 0.0,
    };
    if scale <= lo || scale.is_nan() || x < lo || x > scale || !x.is_finite() {
        return None;
    }
    let value = (x - lo) / (scale - lo) * 5.0;
    Some(Rating { value, count: parse_count(&text[used_end..]), scale, raw: text.to_string() })
}

/// Reads a count: `(1,234 reviews)` → 1234, `1.2k` → 1200, `리뷰 3,456` → 3456,
/// `1.234 Bewertungen` → 1234, `1.2만` → 12000. Decimal numbers without a multiplier are
/// not counts and are skipped.
pub fn parse_count(text: &str) -> Option<u64> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut groups = vec![String::new()];
        let mut seps = Vec::new();
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                if let Some(g) = groups.last_mut() {
                    g.push(c);
                }
            } else if matches!(c, ',' | '.' | '\'' | '\u{a0}' | '\u{202f}' | ' ')
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
                && (c != ' ' || groups.len() == 1 || seps.contains(&' '))
            {
                seps.push(c);
                groups.push(String::new());
            } else {
                break;
            }
            i += 1;
        }
        let mult = match chars.get(i) {
            Some('k' | 'K' | '천') => 1_000u64,
            Some('m' | 'M') if !chars.get(i + 1).is_some_and(|c| c.is_alphabetic()) => 1_000_000,
            Some('만' | '万') => 10_000,
            _ => 1,
        };
        let grouped = groups.len() > 1 && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
        if grouped && mult == 1 {
            return groups.concat().parse().ok();
        }
        if groups.len() == 1 {
            return groups[0].parse::<u64>().ok()?.checked_mul(mult);
        }
        if groups.len() == 2 && mult > 1 {
            let v: f64 = format!("{}.{}", groups[0], groups[1]).parse().ok()?;
            let n = (v * mult as f64).round();
            return (n >= 0.0 && n < u64::MAX as f64).then_some(n as u64);
        }
        // A decimal like `4.5` is a rating, not a count: keep looking.
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_classes() {
        for (class, want) in [
            ("star-rating Three", Some(3.0)),
            ("star-rating five", Some(5.0)),
            ("rating-4", Some(4.0)),
            ("stars stars-4-5", Some(4.5)),
            ("stars-4_5", Some(4.5)),
            ("stars-45", Some(4.5)),
            ("star-4.5", Some(4.5)),
            ("col-12 product", None),
            ("rating-7", None),
            ("", None),
        ] {
            assert_eq!(rating_from_star_class(class).map(|r| r.value), want, "{class}");
        }
    }

    #[test]
    fn ratings() {
        for (text, best, worst, value, scale) in [
            ("4.5/5", None, None, 4.5, 5.0),
            ("4.5 out of 5", None, None, 4.5, 5.0),
            ("4,5 von 5 Sternen", None, None, 4.5, 5.0),
            ("9/10", None, None, 4.5, 10.0),
            ("90%", None, None, 4.5, 100.0),
            ("4.3", None, None, 4.3, 5.0),
            ("8.6", Some(10.0), None, 4.3, 10.0),
            ("4", Some(5.0), Some(1.0), 4.0, 5.0),
            ("0", Some(10.0), Some(-10.0), 2.5, 10.0),
        ] {
            let r = parse_rating(text, best, worst).unwrap_or_else(|| panic!("{text}"));
            assert!((r.value - value).abs() < 1e-9, "{text}: {}", r.value);
            assert_eq!(r.scale, scale, "{text}");
        }
        assert_eq!(parse_rating("7.5", None, None), None);
        assert_eq!(parse_rating("6/5", None, None), None);
        assert_eq!(parse_rating("no rating", None, None), None);
        let r = parse_rating("4.5 out of 5 (1,234 reviews)", None, None).expect("rating");
        assert_eq!(r.count, Some(1234));
    }

    #[test]
    fn counts() {
        for (text, want) in [
            ("(1,234 reviews)", Some(1234)),
            ("1.2k", Some(1200)),
            ("1.2K ratings", Some(1200)),
            ("리뷰 3,456", Some(3456)),
            ("1.234 Bewertungen", Some(1234)),
            ("12 avis", Some(12)),
            ("1.2만", Some(12000)),
            ("4.5 (87)", Some(87)),
            ("1 234 reviews", Some(1234)),
            ("no reviews", None),
        ] {
            assert_eq!(parse_count(text), want, "{text}");
        }
    }
}
