//! Currency knowledge: ISO 4217 exponents and the many ways pages write a currency.

/// ISO 4217 codes whose minor unit is not 2 decimals, with their exponent.
const NON_TWO_DECIMAL: &[(&str, u32)] = &[
    ("BIF", 0),
    ("BYR", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    // Withdrawn currencies that still show up in old listings.
    ("BEF", 0),
    ("ESP", 0),
    ("GRD", 0),
    ("ITL", 0),
    ("PTE", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// ISO 4217 codes with 2 decimals (current ones, plus a few withdrawn European ones).
const TWO_DECIMAL: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD", "BND",
    "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY", "COP", "CRC", "CUC", "CUP", "CVE",
    "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ",
    "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN",
    "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS",
    "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG", "ZWL", // withdrawn:
    "ATS", "CYP", "DEM", "EEK", "FIM", "FRF", "IEP", "LTL", "LVL", "MTL", "NLG", "SIT", "SKK",
];

/// Upper-case codes that are also common English words; they count only right beside a number.
const WORDLIKE_CODES: &[&str] = &["ALL", "BAM", "BOB", "CAD", "CUP", "GEL", "MAD", "MOP", "PEN", "SOS", "TOP", "TRY"];

/// Number of decimals of an ISO 4217 currency's minor unit (`KRW` 0, `EUR` 2, `BHD` 3), or
/// `None` for an unknown code. Case-sensitive: codes are upper case.
pub fn currency_exponent(iso: &str) -> Option<u32> {
    if let Some((_, e)) = NON_TWO_DECIMAL.iter().find(|(c, _)| *c == iso) {
        return Some(*e);
    }
    TWO_DECIMAL.contains(&iso).then_some(2)
}

/// How much a currency mention can be trusted on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strength {
    /// Distinctive (`€`, `руб.`, `EUR`): counts anywhere in the text.
    Strong,
    /// Could be an ordinary word or letter (`R`, `KM`, `pln`, `ALL`): counts only beside the number.
    Weak,
}

/// A way of writing a currency. `iso` lists the ISO codes it may mean, most likely first:
/// one code = unambiguous, several = ambiguous (resolved by hints), none = a real currency
/// mark with no ISO code (`₶`, `تومان`, `BTC`).
pub(crate) struct Token {
    pub text: &'static str,
    pub iso: &'static [&'static str],
    pub strength: Strength,
}

const DOLLAR: &[&str] = &["USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD", "ARS", "CLP", "COP"];
const KRONA: &[&str] = &["SEK", "NOK", "DKK", "ISK"];
const YEN_YUAN: &[&str] = &["JPY", "CNY"];
const RUPEE: &[&str] = &["INR", "PKR", "LKR", "NPR", "MUR"];
const RIYAL: &[&str] = &["SAR", "QAR", "OMR", "YER"];
const DIRHAM: &[&str] = &["AED", "MAD"];
const DINAR: &[&str] = &["KWD", "BHD", "JOD", "IQD", "LYD", "TND", "DZD", "RSD"];
const FRANC: &[&str] = &["CHF", "XOF", "XAF"];

macro_rules! tokens {
    ($( $s:ident $text:literal => [$($iso:expr),*] ),* $(,)?) => {
        &[ $( Token { text: $text, iso: &[$($iso),*], strength: Strength::$s } ),* ]
    };
}

macro_rules! amb {
    ($( $s:ident $text:literal => $list:expr ),* $(,)?) => {
        &[ $( Token { text: $text, iso: $list, strength: Strength::$s } ),* ]
    };
}

/// Unambiguous and non-ISO currency marks (ISO codes themselves are recognised separately).
const TOKENS: &[Token] = tokens![
    // Dollars with a country mark.
    Strong "US$" => ["USD"], Strong "U$S" => ["USD"], Strong "US $" => ["USD"], Strong "U.S.$" => ["USD"],
    Strong "CA$" => ["CAD"], Strong "CAN$" => ["CAD"], Strong "CAD$" => ["CAD"], Strong "C$" => ["CAD"],
    Strong "AU$" => ["AUD"], Strong "AU $" => ["AUD"], Strong "AUD$" => ["AUD"], Strong "A$" => ["AUD"],
    Strong "NZ$" => ["NZD"], Strong "HK$" => ["HKD"], Strong "S$" => ["SGD"], Strong "SG$" => ["SGD"],
    Strong "MX$" => ["MXN"], Strong "Mex$" => ["MXN"], Strong "NT$" => ["TWD"], Strong "R$" => ["BRL"],
    Strong "RD$" => ["DOP"], Strong "J$" => ["JMD"], Strong "TT$" => ["TTD"], Strong "Z$" => ["ZWL"],
    Strong "$U" => ["UYU"], Strong "$b" => ["BOB"], Strong "CUC$" => ["CUC"], Strong "BZ$" => ["BZD"],
    Strong "EC$" => ["XCD"], Strong "COL$" => ["COP"], Strong "CLP$" => ["CLP"], Strong "ARS$" => ["ARS"],
    Weak "NT" => ["TWD"],
    // Euro and European currencies.
    Strong "€" => ["EUR"], Strong "euro" => ["EUR"], Strong "euros" => ["EUR"], Strong "Euro" => ["EUR"],
    Strong "Euros" => ["EUR"], Strong "EURO" => ["EUR"], Strong "евро" => ["EUR"],
    Strong "£" => ["GBP"], Strong "GB£" => ["GBP"], Strong "E£" => ["EGP"],
    Strong "zł" => ["PLN"], Strong "Zł" => ["PLN"], Strong "ZŁ" => ["PLN"], Weak "zl" => ["PLN"],
    Strong "Kč" => ["CZK"], Strong "Ft" => ["HUF"], Strong "lei" => ["RON"], Strong "Lei" => ["RON"],
    Strong "LEI" => ["RON"], Weak "leu" => ["RON"], Strong "Fr." => ["CHF"], Strong "fr." => ["CHF"],
    Weak "Fr" => ["CHF"], Strong "kn" => ["HRK"], Strong "Lek" => ["ALL"], Strong "lek" => ["ALL"],
    Weak "KM" => ["BAM"], Strong "лв." => ["BGN"], Strong "лв" => ["BGN"], Strong "ден" => ["MKD"],
    Strong "ДЕН" => ["MKD"], Strong "дин." => ["RSD"], Strong "дин" => ["RSD"], Strong "Dinara" => ["RSD"],
    Strong "dinara" => ["RSD"], Weak "din" => ["RSD"], Weak "din." => ["RSD"],
    Strong "₽" => ["RUB"], Strong "руб." => ["RUB"], Strong "руб" => ["RUB"], Strong "рублей" => ["RUB"],
    Strong "рубля" => ["RUB"], Strong "рубль" => ["RUB"], Strong "р." => ["RUB"], Strong "Р" => ["RUB"],
    Strong "₴" => ["UAH"], Strong "грн." => ["UAH"], Strong "грн" => ["UAH"], Weak "hrn" => ["UAH"],
    Strong "₾" => ["GEL"], Strong "ლ" => ["GEL"], Strong "ლარი" => ["GEL"], Strong "֏" => ["AMD"],
    Strong "₼" => ["AZN"], Strong "₸" => ["KZT"], Strong "тг" => ["KZT"], Strong "₺" => ["TRY"],
    Strong "TL" => ["TRY"], Strong "₪" => ["ILS"], Strong "ש״ח" => ["ILS"], Strong "ש\"ח" => ["ILS"],
    Strong "ש'ח" => ["ILS"], Strong "שח" => ["ILS"], Weak "nis" => ["ILS"], Strong "NIS" => ["ILS"],
    // Asia.
    Strong "₩" => ["KRW"], Strong "￦" => ["KRW"], Strong "원" => ["KRW"], Strong "円" => ["JPY"],
    Strong "yen" => ["JPY"], Strong "Yen" => ["JPY"], Strong "元" => ["CNY"], Strong "人民币" => ["CNY"],
    Strong "RMB" => ["CNY"], Strong "yuan" => ["CNY"], Strong "CN¥" => ["CNY"], Strong "JP¥" => ["JPY"],
    Strong "₹" => ["INR"], Strong "₫" => ["VND"], Strong "đ" => ["VND"], Strong "VNĐ" => ["VND"],
    Strong "vnđ" => ["VND"], Strong "Rp" => ["IDR"], Strong "Rp." => ["IDR"], Strong "RM" => ["MYR"],
    Strong "฿" => ["THB"], Strong "₱" => ["PHP"], Strong "₭" => ["LAK"], Strong "៛" => ["KHR"],
    Strong "৳" => ["BDT"], Strong "₮" => ["MNT"], Strong "Ks" => ["MMK"], Weak "Nu" => ["BTN"],
    Strong "Nu." => ["BTN"], Strong "؋" => ["AFN"], Weak "Rf" => ["MVR"], Strong "so'm" => ["UZS"],
    Strong "soʻm" => ["UZS"], Strong "сўм" => ["UZS"], Strong "Sʻ" => ["UZS"], Strong "S'" => ["UZS"],
    Strong "сом" => ["KGS"], Strong "HK$" => ["HKD"],
    // Arabic script.
    Strong "د.إ" => ["AED"], Strong "ر.س" => ["SAR"], Strong "ر.ق" => ["QAR"], Strong "د.ك" => ["KWD"],
    Strong ".د.ب" => ["BHD"], Strong "د.ب" => ["BHD"], Strong "ر.ع." => ["OMR"], Strong "ر.ع" => ["OMR"],
    Strong "د.ج" => ["DZD"], Strong "دج" => ["DZD"], Strong "د.م." => ["MAD"], Strong "د.م" => ["MAD"],
    Strong "د.ت" => ["TND"], Strong "د.ع" => ["IQD"], Strong "د.أ" => ["JOD"], Strong "د.ا" => ["JOD"],
    Strong "ل.س" => ["SYP"], Strong "ل.ل" => ["LBP"], Strong "ر.ي" => ["YER"], Strong "ج.م" => ["EGP"],
    Strong "ج.م." => ["EGP"], Strong "ریال" => ["IRR"], Strong "تومان" => [], Strong "﷼" => ["IRR", "SAR", "OMR", "QAR", "YER"],
    // Africa and the Americas.
    Strong "₦" => ["NGN"], Strong "₵" => ["GHS"], Strong "GH₵" => ["GHS"], Strong "KSh" => ["KES"],
    Strong "KShs" => ["KES"], Strong "Ksh" => ["KES"], Strong "USh" => ["UGX"], Strong "TSh" => ["TZS"],
    Weak "MK" => ["MWK"], Weak "ZK" => ["ZMW"], Strong "Nfk" => ["ERN"], Strong "ናቕፋ" => ["ERN"],
    Strong "Fdj" => ["DJF"], Weak "CF" => ["KMF"], Weak "Ar" => ["MGA"], Weak "MT" => ["MZN"],
    Weak "FRw" => ["RWF"], Weak "RF" => ["RWF"], Weak "VT" => ["VUV"], Weak "Esc" => ["CVE"],
    Weak "GFr" => ["GNF"], Weak "FG" => ["GNF"], Weak "R" => ["ZAR"], Weak "KD" => ["KWD"],
    Weak "BD" => ["BHD"], Weak "ID" => ["IQD"], Weak "Dh" => ["AED", "MAD"], Weak "DH" => ["MAD", "AED"],
    Weak "Dhs" => ["AED"], Strong "₡" => ["CRC"], Strong "₲" => ["PYG"], Weak "Gs" => ["PYG"],
    Strong "B/." => ["PAB"], Strong "S/." => ["PEN"], Strong "S/" => ["PEN"],
    // Marks with no ISO code (recognised so the amount is not mistaken, but currency stays None).
    Strong "₶" => [], Strong "₿" => [], Strong "BTC" => [], Weak "SPL" => [],
];

const AMBIGUOUS: &[Token] = amb![
    Strong "$" => DOLLAR, Strong "＄" => DOLLAR, Strong "¥" => YEN_YUAN, Strong "￥" => YEN_YUAN,
    Strong "kr" => KRONA, Strong "kr." => KRONA, Strong "Kr" => KRONA, Strong "Kr." => KRONA,
    Strong ":-" => KRONA, Strong "₨" => RUPEE, Strong "Rs" => RUPEE, Strong "Rs." => RUPEE,
    Strong "रु" => &["NPR", "INR"], Strong "र" => &["NPR", "INR"], Strong "ரூ" => &["LKR", "INR"],
    Strong "ريال" => RIYAL, Strong "درهم" => DIRHAM, Strong "دينار" => DINAR, Strong "جنيه" => &["EGP", "SDG"],
    Strong "CFA" => &["XOF", "XAF"], Strong "FCFA" => &["XAF", "XOF"], Strong "₣" => FRANC,
    Weak "Bs" => &["VES", "BOB"], Strong "Bs." => &["VES", "BOB"], Weak "Br" => &["BYN", "ETB"],
    Strong "₤" => &["GBP", "TRY"], Strong "圓" => &["TWD", "HKD", "MOP"], Weak "som" => &["UZS", "KGS"],
];

/// A currency mention found in a text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// Char index of the first char.
    pub start: usize,
    /// Char index one past the last char.
    pub end: usize,
    /// As written.
    pub raw: String,
    /// Possible ISO codes, most likely first (see [`Token::iso`]).
    pub iso: Vec<&'static str>,
    pub strength: Strength,
}

fn is_letter(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphabetic())
}

/// Whether `tok` occurs in `chars` at `pos` with word boundaries where the token has letters.
fn matches_at(chars: &[char], pos: usize, tok: &str) -> Option<usize> {
    let mut i = pos;
    for tc in tok.chars() {
        if chars.get(i) != Some(&tc) {
            return None;
        }
        i += 1;
    }
    let first = tok.chars().next()?;
    let last = tok.chars().last()?;
    if first.is_alphabetic() && pos > 0 && is_letter(chars.get(pos - 1)) {
        return None;
    }
    if last.is_alphabetic() && is_letter(chars.get(i)) {
        return None;
    }
    Some(i)
}

/// The tokens ([`TOKENS`] then [`AMBIGUOUS`], in that order) by their first char, sorted by that char:
/// a text is scanned against the few tokens that can start at each position, not all of them (the
/// scan ran every token at every char and was most of the cost of reading a price).
fn by_first_char() -> &'static [(char, Vec<&'static Token>)] {
    static INDEX: std::sync::OnceLock<Vec<(char, Vec<&'static Token>)>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: Vec<(char, Vec<&'static Token>)> = vec![];
        for t in TOKENS.iter().chain(AMBIGUOUS.iter()) {
            let Some(first) = t.text.chars().next() else { continue };
            match index.iter_mut().find(|(c, _)| *c == first) {
                Some((_, list)) => list.push(t),
                None => index.push((first, vec![t])),
            }
        }
        index.sort_by_key(|(c, _)| *c);
        index
    })
}

/// Finds every currency mention in `chars`, left to right, longest match at each position.
pub(crate) fn find_all(chars: &[char]) -> Vec<Found> {
    let index = by_first_char();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < chars.len() {
        let mut best: Option<(usize, Vec<&'static str>, Strength)> = None;
        let starting_here = match index.binary_search_by_key(&chars[pos], |(c, _)| *c) {
            Ok(at) => index[at].1.as_slice(),
            Err(_) => &[],
        };
        for t in starting_here {
            if let Some(end) = matches_at(chars, pos, t.text) {
                if best.as_ref().is_none_or(|(e, _, _)| end > *e) {
                    best = Some((end, t.iso.to_vec(), t.strength));
                }
            }
        }
        if let Some((end, iso, strength)) = iso_code_at(chars, pos) {
            if best.as_ref().is_none_or(|(e, _, _)| end > *e) {
                best = Some((end, iso, strength));
            }
        }
        match best {
            Some((end, iso, strength)) => {
                out.push(Found { start: pos, end, raw: chars[pos..end].iter().collect(), iso, strength });
                pos = end;
            }
            None => pos += 1,
        }
    }
    out
}

/// A three-letter ISO code at `pos` (`EUR`, or weakly `eur`/`Eur`), bounded by non-letters.
fn iso_code_at(chars: &[char], pos: usize) -> Option<(usize, Vec<&'static str>, Strength)> {
    let word = chars.get(pos..pos + 3)?;
    if !word.iter().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    if (pos > 0 && is_letter(chars.get(pos - 1))) || is_letter(chars.get(pos + 3)) {
        return None;
    }
    let upper: String = word.iter().map(|c| c.to_ascii_uppercase()).collect();
    let code = canonical_code(&upper)?;
    let as_written_upper = word.iter().all(|c| c.is_ascii_uppercase());
    let strength = if as_written_upper && !WORDLIKE_CODES.contains(&code) { Strength::Strong } else { Strength::Weak };
    Some((pos + 3, vec![code], strength))
}

/// The `'static` spelling of a known ISO code.
pub(crate) fn canonical_code(code: &str) -> Option<&'static str> {
    NON_TWO_DECIMAL.iter().map(|(c, _)| *c).chain(TWO_DECIMAL.iter().copied()).find(|c| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str) -> Vec<(String, Vec<&'static str>)> {
        let chars: Vec<char> = s.chars().collect();
        find_all(&chars).into_iter().map(|f| (f.raw, f.iso)).collect()
    }

    #[test]
    fn exponents() {
        for (code, e) in [("KRW", 0), ("JPY", 0), ("BHD", 3), ("KWD", 3), ("OMR", 3), ("EUR", 2), ("USD", 2)] {
            assert_eq!(currency_exponent(code), Some(e), "{code}");
        }
        assert_eq!(currency_exponent("XYZ"), None);
        assert_eq!(currency_exponent("eur"), None);
    }

    #[test]
    fn finds_longest_tokens_with_boundaries() {
        assert_eq!(find("US$ 12.99"), vec![("US$".to_string(), vec!["USD"])]);
        assert_eq!(find("R$49,90")[0].1, vec!["BRL"]);
        assert_eq!(find("1 299 Kč")[0].1, vec!["CZK"]);
        assert_eq!(find("12,000원")[0].1, vec!["KRW"]);
        assert_eq!(find("171900 руб.")[0].0, "руб.");
        // Letters inside words are not currencies.
        assert!(find("RENAULT прайсе").is_empty());
        assert_eq!(find("399 PLN")[0].1, vec!["PLN"]);
        assert_eq!(find("$")[0].1.len(), DOLLAR.len());
    }
}
