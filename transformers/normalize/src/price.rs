//! Price text → exact amount, ISO 4217 currency and integer minor units.
//!
//! How a text is read:
//! 1. Number candidates are scanned with every grouping and decimal convention in mind
//!    (`1,234.56`, `1.234,56`, `1 234,56` with any Unicode space, `1'234.56`, `392. 00`, `35€99`,
//!    Indian `1,00,000`); full-width and Arabic-Indic digits are read as ASCII.
//! 2. Candidates that are not prices are dropped: percentages, quantities with a unit (`100ml`,
//!    `16.00 ft`), numbers glued to a word (`MX924`), dates (`25-09`, `15.08.2017`, `July, 2004`).
//! 3. The price is the first candidate written beside a currency (strong marks such as `€`
//!    first, then weak ones such as `R` or `KM`), else the first candidate; a per-unit price
//!    (`£2.10/kg`, `100ml당 42원`, `per 100 g`) is taken only when there is no main price.
//! 4. The currency is the mark beside the number, else a distinctive mark elsewhere in the
//!    text, else the one in [`PriceHints::currency_hint`], else [`PriceHints::default_currency`].
//!    Ambiguous marks (`$`, `kr`, `¥`, `Rs`, …) are resolved by the hint, then by the default
//!    currency; failing both, the most likely ISO code is returned **with
//!    `currency_ambiguous = true`** (so `$` alone gives `USD`, flagged).
//! 5. A lone separator followed by exactly three digits is a thousands separator (`868.480원`
//!    is 868 480 KRW, `1.299 Kč` is 1 299 CZK, `$699,000`), except after a `0`, after a group
//!    of four or more digits, or as `.` with a three-decimal currency (`423.923 KD`). A
//!    `decimal_separator` hint overrides this.

use serde::{Deserialize, Serialize};

use crate::currency::{self, Found, Strength};
use crate::decimal::{Decimal, MAX_DIGITS};
use crate::error::NormalizeError;

/// What the caller knows about the page besides the price text.
#[derive(Debug, Clone, Copy, Default)]
pub struct PriceHints<'a> {
    /// Free text seen near the price that may name the currency (`"EUR"`, `"Price: $"`, `"руб."`).
    pub currency_hint: Option<&'a str>,
    /// The decimal separator the site is known to use (`'.'`, `','`, or even `'€'` for `35€99`).
    pub decimal_separator: Option<char>,
    /// The site's default ISO 4217 code, used when the text names no currency and to resolve
    /// ambiguous marks. Must be a known code (upper case).
    pub default_currency: Option<&'a str>,
}

/// A normalized price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// The exact amount as written (`"1049.95"`).
    pub amount: Decimal,
    /// The number as written in the text (`"1'049,95"`).
    pub amount_text: String,
    /// ISO 4217 code; `None` when no currency is known or the mark has no ISO code (`₶`).
    pub currency: Option<String>,
    /// The currency as written (`"€"`, `"руб."`, `"US$"`); `None` when it came from the site default.
    pub currency_raw: Option<String>,
    /// `amount` in minor units of `currency` (cents, or whole won/yen, or fils for BHD).
    /// `None` when the currency is unknown, or when the amount has more decimals than the
    /// currency allows (`29.1583 GBP`): such amounts are kept exact in `amount`, never rounded.
    pub minor_units: Option<i64>,
    /// True when `currency` is a best guess for an ambiguous mark (`$`, `kr`, `¥`, …) that
    /// neither the hint nor the site default resolved. Don't trust `currency` blindly then.
    pub currency_ambiguous: bool,
    /// True for a price per measure (`£2.10/kg`, `100ml당 42원`): only returned when the text
    /// holds no main price.
    pub per_unit: bool,
}

/// Parses the price in `text`. `Ok(None)` means the text holds no price.
///
/// # Errors
/// [`NormalizeError::InvalidHint`] for a digit or whitespace decimal separator,
/// [`NormalizeError::UnknownCurrency`] for an unknown default currency, and
/// [`NormalizeError::AmountTooLarge`] for a number with more than 36 digits.
pub fn parse_price(text: &str, hints: &PriceHints) -> Result<Option<Price>, NormalizeError> {
    if let Some(c) = hints.decimal_separator {
        if c.is_ascii_digit() || c.is_whitespace() {
            return Err(NormalizeError::InvalidHint {
                name: "decimal_separator",
                reason: format!("{c:?} cannot separate decimals"),
            });
        }
    }
    let default = default_code(hints)?;
    let chars: Vec<char> = text.chars().map(fold_char).collect();
    let found = currency::find_all(&chars);
    let hint_cur = hints.currency_hint.and_then(hint_currency);

    let mut cands = scan_numbers(&chars, hints.decimal_separator, &found);
    for c in &mut cands {
        if c.digits > MAX_DIGITS {
            return Err(NormalizeError::AmountTooLarge(c.text(&chars)));
        }
        classify(c, &chars, &found);
    }
    let Some(chosen) = choose(&cands) else {
        return Ok(free_price(&chars, &cands, &found, hint_cur.as_ref(), default));
    };

    if signed_negative(&chars, chosen.start, &found) {
        return Err(NormalizeError::NegativePrice(text.trim().to_string()));
    }
    let (currency, currency_raw, ambiguous) =
        resolve_currency(chosen.adjacent.as_ref(), &found, hint_cur.as_ref(), default);
    let exponent = currency.and_then(currency::currency_exponent);
    let amount = resolve_amount(chosen, hints.decimal_separator, exponent)
        .ok_or_else(|| NormalizeError::AmountTooLarge(chosen.text(&chars)))?;
    Ok(Some(Price {
        amount,
        amount_text: chosen.text(&chars),
        currency: currency.map(str::to_string),
        currency_raw,
        minor_units: exponent.and_then(|e| amount.to_minor_units(e)),
        currency_ambiguous: ambiguous,
        per_unit: chosen.per_unit,
    }))
}

/// The hints' default currency as a canonical ISO code.
fn default_code(hints: &PriceHints) -> Result<Option<&'static str>, NormalizeError> {
    hints
        .default_currency
        .map(|code| currency::canonical_code(code).ok_or_else(|| NormalizeError::UnknownCurrency(code.to_string())))
        .transpose()
}

/// The currency a text names, price or not: `"KShs"`, `"Prices in €"`, `"руб."`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectedCurrency {
    /// ISO 4217 code; `None` for a mark with no ISO code (`₶`, `BTC`).
    pub currency: Option<String>,
    /// The mark as written.
    pub currency_raw: String,
    /// True when `currency` is a best guess for a mark naming several currencies that neither
    /// the hint nor the default resolved (as in [`Price::currency_ambiguous`]).
    pub currency_ambiguous: bool,
}

/// The currency named by `text`, which need not hold a number: its first distinctive mark, or the
/// whole text if it is one mark (`"kr"`). Ambiguous marks are resolved by the hint, then the
/// default, as in [`parse_price`]. `Ok(None)` when the text names no currency. Used for labels
/// beside a price and for texts without an amount, where [`parse_price`] returns `None`.
///
/// # Errors
/// [`NormalizeError::UnknownCurrency`] for an unknown default currency.
pub fn detect_currency(text: &str, hints: &PriceHints) -> Result<Option<DetectedCurrency>, NormalizeError> {
    let default = default_code(hints)?;
    let Some(mark) = hint_currency(text) else {
        return Ok(None);
    };
    let hint = hints.currency_hint.and_then(hint_currency);
    let (currency, currency_raw, ambiguous) = resolve_currency(Some(&mark), &[], hint.as_ref(), default);
    Ok(Some(DetectedCurrency {
        currency: currency.map(str::to_string),
        currency_raw: currency_raw.unwrap_or(mark.raw),
        currency_ambiguous: ambiguous,
    }))
}

/// Maps full-width and Arabic-Indic digits and separators to ASCII, one char for one char.
fn fold_char(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '٠'..='٩' => char::from_u32(c as u32 - '٠' as u32 + '0' as u32).unwrap_or(c),
        '۰'..='۹' => char::from_u32(c as u32 - '۰' as u32 + '0' as u32).unwrap_or(c),
        '，' | '٬' => ',',
        '．' | '٫' => '.',
        _ => c,
    }
}

/// Whether the number starting at `start` carries a minus sign: `-5`, `£-5`, `-£5`, `- £ 5` (a currency
/// and spaces may stand between). A dash after another number is a range (`£10 - £20`), not a sign.
fn signed_negative(chars: &[char], start: usize, found: &[crate::currency::Found]) -> bool {
    let skip_back = |mut i: usize| loop {
        while i > 0 && is_space(chars[i - 1]) {
            i -= 1;
        }
        match found.iter().find(|f| f.end == i && f.start < i) {
            Some(f) => i = f.start,
            None => return i,
        }
    };
    let i = skip_back(start);
    if i == 0 || !matches!(chars[i - 1], '-' | '\u{2212}' | '\u{2012}' | '\u{2013}') {
        return false;
    }
    // What comes before the dash: a number (or a number and its currency) makes it a range.
    let before = skip_back(i - 1);
    before == 0 || !chars[before - 1].is_ascii_digit()
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\u{2007}' | '\u{2008}' | '\u{200a}' | '\t')
}

fn is_digit(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

/// A separator inside a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Dot,
    Comma,
    /// Space or apostrophe: only ever groups thousands.
    Group,
    /// Known to be the decimal point (exotic hinted separator, or `€` in `35€99`).
    Decimal,
}

#[derive(Debug)]
struct Candidate {
    start: usize,
    end: usize,
    /// `.75` / `..75`: the number began with a separator.
    leading_sep: bool,
    groups: Vec<String>,
    seps: Vec<Sep>,
    digits: usize,
    excluded: bool,
    per_unit: bool,
    adjacent: Option<Found>,
}

impl Candidate {
    fn text(&self, chars: &[char]) -> String {
        chars[self.start..self.end].iter().collect::<String>().trim().to_string()
    }
}

fn digit_run(chars: &[char], mut i: usize) -> (String, usize) {
    let mut s = String::new();
    while let Some(c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
        s.push(*c);
        i += 1;
    }
    (s, i)
}

fn scan_numbers(chars: &[char], hint: Option<char>, found: &[Found]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
        let mut start = i;
        let mut leading_sep = false;
        if matches!(c, '.' | ',') && !prev_digit {
            // `.75`, `..75`
            let mut j = i;
            while j < chars.len() && j < i + 2 && matches!(chars[j], '.' | ',') {
                j += 1;
            }
            if !is_digit(chars.get(j)) {
                i += 1;
                continue;
            }
            leading_sep = true;
            start = i;
            i = j;
        } else if !c.is_ascii_digit() {
            i += 1;
            continue;
        }
        let (first, mut j) = digit_run(chars, i);
        let mut groups = vec![first];
        let mut seps = Vec::new();
        while let Some(&c) = chars.get(j) {
            if Some(c) == hint && !matches!(c, '.' | ',') {
                // Exotic hinted decimal separator, possibly followed by a space: `1250€ 60`.
                let k = if chars.get(j + 1).is_some_and(|c| is_space(*c)) { j + 2 } else { j + 1 };
                let (g, e) = digit_run(chars, k);
                if !g.is_empty() {
                    seps.push(Sep::Decimal);
                    groups.push(g);
                    j = e;
                }
                break;
            }
            let sep = match c {
                '.' => Sep::Dot,
                ',' => Sep::Comma,
                '\'' | '’' | 'ʼ' | '´' => Sep::Group,
                c if is_space(c) => Sep::Group,
                '€' if hint.is_none() && seps.is_empty() => {
                    // French style `35€99` / `35€ 99`: the euro sign as decimal point, when
                    // glued to the integer part and followed by exactly two digits.
                    let k = if chars.get(j + 1).is_some_and(|c| is_space(*c)) { j + 2 } else { j + 1 };
                    let (g, e) = digit_run(chars, k);
                    if g.len() == 2
                        && !followed_by_currency(chars, e, found)
                        && !matches!(chars.get(skip_spaces(chars, e)), Some('%' | '.' | ','))
                    {
                        seps.push(Sep::Decimal);
                        groups.push(g);
                        j = e;
                    }
                    break;
                }
                _ => break,
            };
            let (g, e) = digit_run(chars, j + 1);
            if !g.is_empty() {
                // A space only groups when exactly three digits follow (`40 130`, not `1 2 3`),
                // and spaces/apostrophes never follow a `.`/`,` (`$2.00 100 - $2.75` is two numbers).
                if sep == Sep::Group && ((is_space(c) && g.len() != 3) || seps.iter().any(|s| *s != Sep::Group)) {
                    break;
                }
                seps.push(sep);
                groups.push(g);
                j = e;
                continue;
            }
            // `392. 00`, `1.837, 32`: separator, one space, exactly two decimals.
            if matches!(sep, Sep::Dot | Sep::Comma) && chars.get(j + 1).is_some_and(|c| is_space(*c)) {
                let (g, e) = digit_run(chars, j + 2);
                if g.len() == 2 && !is_digit(chars.get(e)) {
                    seps.push(sep);
                    groups.push(g);
                    j = e;
                }
            }
            break;
        }
        let digits = groups.iter().map(String::len).sum();
        out.push(Candidate {
            start,
            end: j,
            leading_sep,
            groups,
            seps,
            digits,
            excluded: false,
            per_unit: false,
            adjacent: None,
        });
        i = j.max(i + 1);
    }
    out
}

fn followed_by_currency(chars: &[char], mut i: usize, found: &[Found]) -> bool {
    while chars.get(i).is_some_and(|c| is_space(*c)) {
        i += 1;
    }
    found.iter().any(|f| f.start == i)
}

/// Units of measure: a number followed by one is a quantity, a price followed by `/unit` is per unit.
const UNITS: &[&str] = &[
    "kg",
    "g",
    "gr",
    "mg",
    "lb",
    "lbs",
    "oz",
    "l",
    "ml",
    "cl",
    "dl",
    "ltr",
    "litre",
    "liter",
    "litres",
    "liters",
    "m",
    "cm",
    "mm",
    "km",
    "m2",
    "m²",
    "m3",
    "m³",
    "sqft",
    "sq ft",
    "sq. ft",
    "ft",
    "yd",
    "kilo",
    "kilogram",
    "kilogramm",
    "Kilogramm",
    "Kilo",
    "Liter",
    "Meter",
    "mAh",
    "GB",
    "MB",
    "TB",
    "gb",
    "mb",
    "W",
    "kW",
    "Hz",
    "MHz",
    "GHz",
    "pcs",
    "кг",
    "г",
    "л",
    "мл",
    "м",
    "шт",
    "kilogramme",
    "gramm",
    "Gramm",
    "grams",
    "gram",
];

/// Words that introduce the measure of a per-unit price (`per 100 g`, `pro Kilogramm`).
const PER_WORDS: &[&str] = &["per", "pro", "je", "por", "par", "за", "/"];

/// Markers that follow the measure and precede a per-unit price (`100ml당 42원`, `100gあたり`).
const PER_SUFFIXES: &[&str] = &["당", "あたり", "当たり", "当り"];

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];

/// Latin, Greek or Cyrillic letters continue a word; Hangul or CJK after `100ml` do not.
fn is_word_letter(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphabetic() && (*c as u32) < 0x0600)
}

fn starts_with_at(chars: &[char], i: usize, word: &str) -> Option<usize> {
    let mut k = i;
    for w in word.chars() {
        if chars.get(k) != Some(&w) {
            return None;
        }
        k += 1;
    }
    Some(k)
}

/// A unit of measure starting at `i` (after optional spaces), with a word boundary after it.
fn unit_at(chars: &[char], mut i: usize) -> Option<usize> {
    while chars.get(i).is_some_and(|c| is_space(*c)) {
        i += 1;
    }
    UNITS
        .iter()
        .filter_map(|u| starts_with_at(chars, i, u))
        .filter(|&e| !is_word_letter(chars.get(e)) && !is_digit(chars.get(e)))
        .max()
}

fn skip_spaces(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| is_space(*c)) {
        i += 1;
    }
    i
}

/// Marks a candidate excluded or per-unit, and finds the currency written beside it.
fn classify(c: &mut Candidate, chars: &[char], found: &[Found]) {
    c.adjacent = adjacent_currency(c, chars, found);
    let after = skip_spaces(chars, c.end);
    let next = chars.get(after);
    let currency_after = found.iter().any(|f| f.start == after);

    // Percentages are never prices.
    if next == Some(&'%') {
        c.excluded = true;
        return;
    }
    // Quantities: `100ml`, `16.00 ft`, `2 kg` (a currency mark wins: `Ft` is forint).
    if !currency_after && unit_at(chars, c.end).is_some() {
        c.excluded = true;
        return;
    }
    // Glued to a word: `MX924`, `A4` (but `SGD4.90`, `Rs164` are currencies).
    if c.start > 0 && chars[c.start - 1].is_ascii_alphabetic() && !found.iter().any(|f| f.end == c.start) {
        c.excluded = true;
        return;
    }
    if c.adjacent.is_none() && (looks_like_date(c, chars) || next_to_month(c, chars)) {
        c.excluded = true;
        return;
    }
    c.per_unit = per_unit_after(c, chars, found) || per_unit_before(c, chars, found);
}

/// `25-09`, `2024-01-31`, `12/05`: numbers glued together by `-` or `/`.
fn looks_like_date(c: &Candidate, chars: &[char]) -> bool {
    let joined_after = matches!(chars.get(c.end), Some('-' | '/')) && is_digit(chars.get(c.end + 1));
    let joined_before =
        c.start >= 2 && matches!(chars.get(c.start - 1), Some('-' | '/')) && is_digit(chars.get(c.start - 2));
    joined_after || joined_before
}

/// `July, 2004`, `4 Jul`: a number beside a month name.
fn next_to_month(c: &Candidate, chars: &[char]) -> bool {
    let word_before = {
        let mut i = c.start;
        while i > 0 && (is_space(chars[i - 1]) || matches!(chars[i - 1], ',' | '.')) {
            i -= 1;
        }
        let end = i;
        while i > 0 && chars[i - 1].is_alphabetic() {
            i -= 1;
        }
        chars[i..end].iter().collect::<String>().to_lowercase()
    };
    let word_after = {
        let mut i = skip_spaces(chars, c.end);
        let start = i;
        while chars.get(i).is_some_and(|c| c.is_alphabetic()) {
            i += 1;
        }
        chars[start..i].iter().collect::<String>().to_lowercase()
    };
    MONTHS.contains(&word_before.as_str()) || MONTHS.contains(&word_after.as_str())
}

/// `£2.10/kg`, `2,10 €/kg`, `£1.20 per 100 g`, `59,90 EUR pro Kilogramm`.
fn per_unit_after(c: &Candidate, chars: &[char], found: &[Found]) -> bool {
    let mut i = skip_spaces(chars, c.end);
    if let Some(f) = found.iter().find(|f| f.start == i) {
        i = skip_spaces(chars, f.end);
    }
    for w in PER_WORDS {
        let Some(e) = starts_with_at(chars, i, w) else {
            continue;
        };
        if *w != "/" && is_word_letter(chars.get(e)) {
            continue;
        }
        let (_, after_num) = digit_run(chars, skip_spaces(chars, e));
        if unit_at(chars, after_num).is_some() {
            return true;
        }
    }
    false
}

/// `100ml당 42원`, `100gあたり ¥120`.
fn per_unit_before(c: &Candidate, chars: &[char], found: &[Found]) -> bool {
    let mut i = c.start;
    if let Some(f) = found.iter().find(|f| f.end == i || (f.end < i && chars[f.end..i].iter().all(|c| is_space(*c)))) {
        i = f.start;
    }
    while i > 0 && is_space(chars[i - 1]) {
        i -= 1;
    }
    PER_SUFFIXES.iter().any(|s| {
        let n = s.chars().count();
        i >= n && starts_with_at(chars, i - n, s) == Some(i)
    })
}

/// Rank of a currency mark: strong before weak, unambiguous before ambiguous.
fn rank(f: &Found) -> (u8, u8) {
    (u8::from(f.strength == Strength::Weak), u8::from(f.iso.len() != 1))
}

/// The currency mark written right before (`$ 12`, `US$:12`) or after (`12 €`) a number, or
/// used as its decimal point (`35€99`).
fn adjacent_currency(c: &Candidate, chars: &[char], found: &[Found]) -> Option<Found> {
    let gap_ok = |from: usize, to: usize, allow_colon: bool| {
        to >= from && to - from <= 3 && chars[from..to].iter().all(|&ch| is_space(ch) || (allow_colon && ch == ':'))
    };
    found
        .iter()
        .filter(|f| {
            (f.end <= c.start && gap_ok(f.end, c.start, true))
                || (f.start >= c.end && gap_ok(c.end, f.start, false))
                || (f.start >= c.start && f.end <= c.end)
        })
        .min_by_key(|f| rank(f))
        .cloned()
}

fn choose(cands: &[Candidate]) -> Option<&Candidate> {
    let valid: Vec<&Candidate> = cands.iter().filter(|c| !c.excluded && structure_ok(c)).collect();
    let tiers: [&dyn Fn(&Candidate) -> bool; 3] =
        [&|c| c.adjacent.as_ref().is_some_and(|f| f.strength == Strength::Strong), &|c| c.adjacent.is_some(), &|_| {
            true
        }];
    for tier in tiers {
        let in_tier: Vec<&&Candidate> = valid.iter().filter(|c| tier(c)).collect();
        if let Some(c) = in_tier.iter().find(|c| !c.per_unit).or(in_tier.first()) {
            return Some(c);
        }
    }
    None
}

/// Whether the number can be read at all (rejects `15.08.2017`, `1.2.3`).
fn structure_ok(c: &Candidate) -> bool {
    resolve_split(c, None, None).is_some()
}

/// Splits a candidate into (integer digits, fraction digits), or `None` if its grouping is invalid.
fn resolve_split(c: &Candidate, hint: Option<char>, exponent: Option<u32>) -> Option<(String, String)> {
    let (mut groups, mut seps) = (c.groups.clone(), c.seps.clone());
    // `.75` is 0.75; in `.75,333` the leading separator is stray and the rest is read alone.
    if c.leading_sep && seps.is_empty() {
        return Some((String::new(), groups.concat()));
    }
    let n = seps.len();
    if n == 0 {
        return Some((groups.concat(), String::new()));
    }
    let as_sep = |h: char| match h {
        '.' => Some(Sep::Dot),
        ',' => Some(Sep::Comma),
        _ => None,
    };
    let last = seps[n - 1];
    let decimal_last = if last == Sep::Decimal {
        true
    } else if let Some(h) = hint.and_then(as_sep) {
        let count = seps.iter().filter(|s| **s == h).count();
        if count == 1 && last == h {
            true
        } else if count == 0 || count > 1 {
            false
        } else {
            heuristic_decimal_last(&groups, &seps, exponent)
        }
    } else {
        heuristic_decimal_last(&groups, &seps, exponent)
    };
    let frac = if decimal_last {
        seps.pop();
        groups.pop().unwrap_or_default()
    } else {
        String::new()
    };
    // What remains are thousands groups: first 1–3 digits, then threes (or Indian twos then a three).
    if !seps.is_empty() {
        let first_len = groups.first().map_or(0, String::len);
        if !(1..=3).contains(&first_len) {
            return None;
        }
        let mut kinds = seps.iter().filter(|s| **s != Sep::Group);
        if let Some(k) = kinds.next() {
            if kinds.any(|s| s != k) {
                return None;
            }
        }
        let rest = &groups[1..];
        let all_threes = rest.iter().all(|g| g.len() == 3);
        let indian = rest.last().is_some_and(|g| g.len() == 3)
            && rest[..rest.len() - 1].iter().all(|g| g.len() == 2)
            && seps.iter().all(|s| *s == Sep::Comma);
        if !(all_threes || indian) {
            return None;
        }
    }
    Some((groups.concat(), frac))
}

/// Without a hint: is the last separator the decimal point?
fn heuristic_decimal_last(groups: &[String], seps: &[Sep], exponent: Option<u32>) -> bool {
    let n = seps.len();
    let last = seps[n - 1];
    if last == Sep::Group {
        return false;
    }
    let earlier = &seps[..n - 1];
    if earlier.contains(&last) {
        return false; // `1.550.000`
    }
    if !earlier.is_empty() {
        return true; // `1.234,56`, `399 167.00`, `1'049,95`
    }
    let int = &groups[0];
    let frac_len = groups[1].len();
    let looks_grouped = frac_len == 3 && int != "0" && int.len() <= 3;
    let three_decimals = last == Sep::Dot && exponent == Some(3);
    !looks_grouped || three_decimals
}

fn resolve_amount(c: &Candidate, hint: Option<char>, exponent: Option<u32>) -> Option<Decimal> {
    let (int, frac) = resolve_split(c, hint, exponent).or_else(|| resolve_split(c, None, exponent))?;
    Decimal::from_parts(&int, &frac)
}

/// The currency named by a hint text: its first distinctive mark, or the whole hint if it is one.
fn hint_currency(hint: &str) -> Option<Found> {
    let chars: Vec<char> = hint.chars().map(fold_char).collect();
    let found = currency::find_all(&chars);
    let whole = hint.trim();
    found.iter().find(|f| f.strength == Strength::Strong).or_else(|| found.iter().find(|f| f.raw == whole)).cloned()
}

fn resolve_currency(
    adjacent: Option<&Found>,
    found: &[Found],
    hint: Option<&Found>,
    default: Option<&'static str>,
) -> (Option<&'static str>, Option<String>, bool) {
    let mark = adjacent.or_else(|| found.iter().find(|f| f.strength == Strength::Strong)).or(hint);
    let Some(mark) = mark else {
        return (default, None, false);
    };
    let raw = Some(mark.raw.clone());
    match mark.iso.as_slice() {
        [] => (None, raw, false),
        [one] => (Some(*one), raw, false),
        many => {
            let from_hint = hint.and_then(|h| h.iso.iter().find(|c| many.contains(c)));
            let from_default = default.filter(|d| many.contains(d));
            match from_hint.copied().or(from_default) {
                Some(code) => (Some(code), raw, false),
                None => (many.first().copied(), raw, true),
            }
        }
    }
}

const FREE_WORDS: &[&str] =
    &["free", "gratis", "kostenlos", "gratuit", "gratuito", "бесплатно", "무료", "免费", "無料"];

/// `Free!` → 0, when the text has no number at all.
fn free_price(
    chars: &[char],
    cands: &[Candidate],
    found: &[Found],
    hint: Option<&Found>,
    default: Option<&'static str>,
) -> Option<Price> {
    if !cands.is_empty() {
        return None;
    }
    let lower: String = chars.iter().collect::<String>().to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    if !words.iter().any(|w| FREE_WORDS.contains(w)) {
        return None;
    }
    let (currency, currency_raw, ambiguous) = resolve_currency(None, found, hint, default);
    Some(Price {
        amount: Decimal::ZERO,
        amount_text: String::new(),
        currency: currency.map(str::to_string),
        currency_raw,
        minor_units: Some(0).filter(|_| currency.is_some()),
        currency_ambiguous: ambiguous,
        per_unit: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints<'a>(
        currency_hint: Option<&'a str>,
        decimal_separator: Option<char>,
        default_currency: Option<&'a str>,
    ) -> PriceHints<'a> {
        PriceHints { currency_hint, decimal_separator, default_currency }
    }

    /// (text, hints, amount, ISO currency, minor units, ambiguous, per_unit)
    type Row<'a> = (&'a str, PriceHints<'a>, &'a str, Option<&'a str>, Option<i64>, bool, bool);

    #[test]
    fn a_minus_sign_makes_a_negative_price_an_error_and_a_range_dash_does_not() {
        let h = PriceHints::default();
        for text in ["£-51.77", "-£51.77", "- 51.77 EUR", "−12,00 €", "Price: -5", "(-3.50 USD)"] {
            assert!(
                matches!(parse_price(text, &h), Err(NormalizeError::NegativePrice(_))),
                "{text}: {:?}",
                parse_price(text, &h)
            );
        }
        for (text, amount) in [("£10 - £20", "10"), ("129,00 € (-15%)", "129"), ("10-20 EUR", "20"), ("€ 5", "5")]
        {
            let p = parse_price(text, &h).expect(text).expect(text);
            assert_eq!(p.amount, amount.parse().expect("decimal"), "{text}");
        }
    }

    #[test]
    fn design_examples() {
        let none = PriceHints::default();
        let rows: Vec<Row> = vec![
            ("£51.77", none, "51.77", Some("GBP"), Some(5177), false, false),
            ("12,000원", none, "12000", Some("KRW"), Some(12000), false, false),
            ("₩12,900", none, "12900", Some("KRW"), Some(12900), false, false),
            ("1.234,56 €", none, "1234.56", Some("EUR"), Some(123_456), false, false),
            ("CHF 1'049.95", none, "1049.95", Some("CHF"), Some(104_995), false, false),
            ("CHF 1’049.95", none, "1049.95", Some("CHF"), Some(104_995), false, false),
            ("US$ 12.99", none, "12.99", Some("USD"), Some(1299), false, false),
            ("1 299 Kč", none, "1299", Some("CZK"), Some(129_900), false, false),
            ("1\u{a0}299 Kč", none, "1299", Some("CZK"), Some(129_900), false, false),
            ("1\u{202f}234,56 €", none, "1234.56", Some("EUR"), Some(123_456), false, false),
            ("1.299 Kč", none, "1299", Some("CZK"), Some(129_900), false, false),
            ("868.480원", none, "868480", Some("KRW"), Some(868_480), false, false),
            ("¥1,200", hints(Some("JPY"), None, None), "1200", Some("JPY"), Some(1200), false, false),
            ("¥1,200", hints(None, None, Some("JPY")), "1200", Some("JPY"), Some(1200), false, false),
            ("¥1,200", none, "1200", Some("JPY"), Some(1200), true, false),
            ("BHD 12.345", none, "12.345", Some("BHD"), Some(12_345), false, false),
            ("1.250 BHD", hints(None, Some('.'), None), "1.25", Some("BHD"), Some(1250), false, false),
            ("423.923 KD", none, "423.923", Some("KWD"), Some(423_923), false, false),
            ("$12.99", none, "12.99", Some("USD"), Some(1299), true, false),
            ("$12.99", hints(None, None, Some("CAD")), "12.99", Some("CAD"), Some(1299), false, false),
            ("$12.99", hints(None, None, Some("EUR")), "12.99", Some("USD"), Some(1299), true, false),
            ("12.99", hints(None, None, Some("EUR")), "12.99", Some("EUR"), Some(1299), false, false),
            ("12.99", hints(Some("Price in €"), None, Some("GBP")), "12.99", Some("EUR"), Some(1299), false, false),
            ("29.1583", hints(Some("GBP"), None, None), "29.1583", Some("GBP"), None, false, false),
            ("1.234", hints(None, Some(','), None), "1234", None, None, false, false),
            ("1,234", hints(None, Some(','), None), "1.234", None, None, false, false),
            ("１２,０００円", none, "12000", Some("JPY"), Some(12000), false, false),
            ("₹1,00,000", none, "100000", Some("INR"), Some(10_000_000), false, false),
            // Per-unit prices.
            ("100ml당 42원", none, "42", Some("KRW"), Some(42), false, true),
            ("12,900원 (100ml당 42원)", none, "12900", Some("KRW"), Some(12900), false, false),
            ("£2.10/kg", none, "2.10", Some("GBP"), Some(210), false, true),
            ("£3.50 (£2.10/kg)", none, "3.50", Some("GBP"), Some(350), false, false),
            ("£1.20 per 100 g", none, "1.20", Some("GBP"), Some(120), false, true),
            ("2,10 €/kg", none, "2.10", Some("EUR"), Some(210), false, true),
            ("(7,98 € / 1 kg) 3,99 €", none, "3.99", Some("EUR"), Some(399), false, false),
            ("59,90 EUR 599,00 EUR pro Kilogramm", none, "59.90", Some("EUR"), Some(5990), false, false),
            ("Free!", hints(None, None, Some("EUR")), "0", Some("EUR"), Some(0), false, false),
        ];
        for (text, h, amount, iso, minor, ambiguous, per_unit) in rows {
            let p = parse_price(text, &h)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .unwrap_or_else(|| panic!("{text}: no price"));
            let want: Decimal = amount.parse().unwrap_or_else(|e| panic!("{amount}: {e}"));
            assert_eq!(p.amount, want, "{text}: amount {}", p.amount);
            assert_eq!(p.currency.as_deref(), iso, "{text}: currency");
            assert_eq!(p.minor_units, minor, "{text}: minor units");
            assert_eq!(p.currency_ambiguous, ambiguous, "{text}: ambiguous");
            assert_eq!(p.per_unit, per_unit, "{text}: per unit");
        }
    }

    #[test]
    fn no_price() {
        for text in [
            "",
            "Out of stock",
            "40% OFF",
            "Sheet Set",
            "July, 2004",
            "25-09",
            "16.00 ft",
            "15.08.2017",
            "MX924",
            "500 ml",
        ] {
            let got = parse_price(text, &PriceHints::default()).expect("no error");
            assert_eq!(got, None, "{text}");
        }
    }

    #[test]
    fn detects_the_currency_of_a_text_without_a_price() {
        let d = |text: &str, hint: Option<&str>, default: Option<&str>| {
            let h = PriceHints { currency_hint: hint, decimal_separator: None, default_currency: default };
            detect_currency(text, &h).expect("ok").map(|c| (c.currency, c.currency_raw, c.currency_ambiguous))
        };
        let one = |iso: &str, raw: &str| Some((Some(iso.to_string()), raw.to_string(), false));
        assert_eq!(d("KShs", None, None), one("KES", "KShs"));
        assert_eq!(d("Prices in €", None, None), one("EUR", "€"));
        assert_eq!(d("chf", None, None), one("CHF", "chf"));
        assert_eq!(d("$", None, None), Some((Some("USD".to_string()), "$".to_string(), true)));
        assert_eq!(d("$", Some("AUD"), None), one("AUD", "$"));
        assert_eq!(d("kr", None, Some("NOK")), one("NOK", "kr"));
        assert_eq!(d("no currency here", None, None), None);
        let h = PriceHints { currency_hint: None, decimal_separator: None, default_currency: Some("XYZ") };
        assert!(detect_currency("€", &h).is_err());
    }

    #[test]
    fn keeps_raw_strings() {
        let p = parse_price("Цена: 171 900 руб.", &PriceHints::default()).expect("ok").expect("price");
        assert_eq!(p.amount_text, "171 900");
        assert_eq!(p.currency_raw.as_deref(), Some("руб."));
        assert_eq!(p.currency.as_deref(), Some("RUB"));
    }

    #[test]
    fn errors() {
        let bad_sep = hints(None, Some('5'), None);
        assert!(matches!(parse_price("1", &bad_sep), Err(NormalizeError::InvalidHint { .. })));
        let bad_default = hints(None, None, Some("XXQ"));
        assert_eq!(parse_price("1", &bad_default), Err(NormalizeError::UnknownCurrency("XXQ".into())));
        let huge = "9".repeat(40);
        assert!(matches!(parse_price(&huge, &PriceHints::default()), Err(NormalizeError::AmountTooLarge(_))));
    }

    #[test]
    fn serializes() {
        let p = parse_price("£51.77", &PriceHints::default()).expect("ok").expect("price");
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["amount"], "51.77");
        assert_eq!(json["currency"], "GBP");
        assert_eq!(json["minor_units"], 5177);
    }
}
