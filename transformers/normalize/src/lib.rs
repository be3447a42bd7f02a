//! Pure normalization for shopstream (DESIGN §5): prices to ISO 4217 minor units, ratings to a
//! 0–5 scale, availability, and absolute ranks. No I/O: every function takes text (plus hints)
//! and returns a value, so the transform stage and the CLI share the same rules.

#![forbid(unsafe_code)]

mod availability;
mod currency;
mod decimal;
mod error;
mod price;
mod rank;
mod rating;

pub use availability::{parse_availability, Availability};
pub use currency::currency_exponent;
pub use decimal::{Decimal, ParseDecimalError};
pub use error::{NormalizeError, PriceError};
pub use price::{detect_currency, parse_price, DetectedCurrency, Price, PriceHints};
pub use rank::absolute_position;
pub use rating::{parse_count, parse_rating, rating_from_star_class, Rating};
