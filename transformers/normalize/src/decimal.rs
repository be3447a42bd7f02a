//! A small exact decimal: `mantissa × 10^-scale`, enough for prices (no arithmetic beyond
//! scaling to minor units). Serialized as a plain decimal string such as `"1049.95"`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most digits a [`Decimal`] accepts when parsed; `10^38 > i128::MAX / 10`, so 36 is safe.
pub(crate) const MAX_DIGITS: usize = 36;

/// An exact, non-floating decimal number. Equality and ordering are numeric, so `644.00 == 644.0`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal { mantissa: 0, scale: 0 };

    /// `mantissa × 10^-scale`.
    pub fn new(mantissa: i128, scale: u32) -> Self {
        Decimal { mantissa, scale }
    }

    /// Builds a non-negative decimal from its integer and fraction digit strings (ASCII digits
    /// only; either may be empty). Returns `None` on a non-digit or more than `MAX_DIGITS` (36) digits.
    pub fn from_parts(int_digits: &str, frac_digits: &str) -> Option<Self> {
        if int_digits.len() + frac_digits.len() > MAX_DIGITS {
            return None;
        }
        let mut mantissa: i128 = 0;
        for c in int_digits.chars().chain(frac_digits.chars()) {
            let d = c.to_digit(10)?;
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(d))?;
        }
        let scale = u32::try_from(frac_digits.len()).ok()?;
        Some(Decimal { mantissa, scale })
    }

    /// The unscaled integer.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// Digits after the decimal point, as written (trailing zeros kept).
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The same value with trailing fractional zeros removed (`12.50` → `12.5`, `644.00` → `644`).
    pub fn normalized(&self) -> Self {
        let mut d = *self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }

    /// The value in units of `10^-exponent` (minor units for a currency with that exponent).
    /// `None` when that would lose digits (e.g. `29.1583` at exponent 2) or overflow `i64`.
    pub fn to_minor_units(&self, exponent: u32) -> Option<i64> {
        let n = self.normalized();
        if n.scale > exponent {
            return None;
        }
        let factor = 10i128.checked_pow(exponent - n.scale)?;
        i64::try_from(n.mantissa.checked_mul(factor)?).ok()
    }

    /// Lossy conversion for display or statistics.
    pub fn to_f64(&self) -> f64 {
        // i128 → f64 is the documented lossy path here.
        (self.mantissa as f64) / 10f64.powi(i32::try_from(self.scale).unwrap_or(i32::MAX))
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.normalized(), other.normalized());
        if a.scale == b.scale {
            return a.mantissa.cmp(&b.mantissa);
        }
        // Bring both to the larger scale; on overflow the one that overflowed is larger in magnitude.
        let (hi, lo, flipped) = if a.scale > b.scale { (a, b, false) } else { (b, a, true) };
        let scaled = 10i128.checked_pow(hi.scale - lo.scale).and_then(|f| lo.mantissa.checked_mul(f));
        let ord = match scaled {
            Some(lo_m) => hi.mantissa.cmp(&lo_m),
            None => 0i128.cmp(&lo.mantissa),
        };
        if flipped {
            ord.reverse()
        } else {
            ord
        }
    }
}

impl std::hash::Hash for Decimal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let n = self.normalized();
        n.mantissa.hash(state);
        n.scale.hash(state);
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded =
            if digits.len() <= scale { format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits) } else { digits };
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// Error from [`Decimal::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a plain decimal number: {0:?}")]
pub struct ParseDecimalError(String);

impl FromStr for Decimal {
    type Err = ParseDecimalError;

    /// Parses a plain decimal string: optional `-`, digits, optional `.` and digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDecimalError(s.to_string());
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return Err(err());
        }
        let d = Decimal::from_parts(int, frac).ok_or_else(err)?;
        Ok(if neg { Decimal::new(-d.mantissa, d.scale) } else { d })
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for (s, shown) in [
            ("1049.95", "1049.95"),
            ("0.75", "0.75"),
            (".5", "0.5"),
            ("644.00", "644.00"),
            ("12", "12"),
            ("-3.5", "-3.5"),
            ("0.001", "0.001"),
        ] {
            let d: Decimal = s.parse().expect("parses");
            assert_eq!(d.to_string(), shown, "{s}");
        }
        assert!("".parse::<Decimal>().is_err());
        assert!("1.2.3".parse::<Decimal>().is_err());
        assert!("1e5".parse::<Decimal>().is_err());
    }

    #[test]
    fn numeric_equality_and_order() {
        let a: Decimal = "644.00".parse().expect("ok");
        let b: Decimal = "644".parse().expect("ok");
        assert_eq!(a, b);
        assert!(Decimal::new(1999, 2) < Decimal::new(20, 0));
        assert!(Decimal::new(-1, 0) < Decimal::ZERO);
    }

    #[test]
    fn minor_units() {
        assert_eq!(Decimal::new(5177, 2).to_minor_units(2), Some(5177));
        assert_eq!(Decimal::new(12000, 0).to_minor_units(0), Some(12000));
        assert_eq!(Decimal::new(123_500, 3).to_minor_units(3), Some(123_500));
        assert_eq!(Decimal::new(1200, 2).to_minor_units(0), Some(12));
        assert_eq!(Decimal::new(291_583, 4).to_minor_units(2), None);
        assert_eq!(Decimal::new(i128::MAX / 10, 0).to_minor_units(2), None);
    }

    #[test]
    fn serde_as_string() {
        let d = Decimal::new(104_995, 2);
        let json = serde_json::to_string(&d).expect("serializes");
        assert_eq!(json, "\"1049.95\"");
        let back: Decimal = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, d);
    }
}
