//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong while normalizing.
///
/// Normalization is pure, so no error is ever retriable: the same input gives the same error.
/// "No price/rating in the text" is not an error (those functions return `Ok(None)`/`None`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NormalizeError {
    /// A caller-supplied hint is unusable (e.g. a digit as decimal separator). The caller's fault.
    #[error("invalid hint {name}: {reason}")]
    InvalidHint {
        /// Which hint.
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The site default currency is not a known ISO 4217 code. A configuration problem.
    #[error("unknown ISO 4217 currency code {0:?}")]
    UnknownCurrency(String),
    /// The number in the text has more digits than an exact decimal can hold. Bad data.
    #[error("amount {0:?} has too many digits")]
    AmountTooLarge(String),
    /// The price is written with a minus sign: no buyer pays a negative price. Bad data.
    #[error("price {0:?} is negative")]
    NegativePrice(String),
    /// Page arithmetic for a rank overflowed `u32`. Bad data (an absurd page or page size).
    #[error("rank overflow: page {page}, page size {page_size}, index {index_on_page}")]
    RankOverflow {
        /// 1-based page number.
        page: u32,
        /// Items per page.
        page_size: u32,
        /// 0-based index on the page.
        index_on_page: u32,
    },
    /// Page numbers are 1-based; 0 was given.
    #[error("page numbers are 1-based, got 0")]
    ZeroPage,
}

/// Kept for readability at call sites that only parse prices.
pub type PriceError = NormalizeError;

impl NormalizeError {
    /// Always false: normalization is deterministic, so retrying cannot help.
    pub fn is_retriable(&self) -> bool {
        false
    }

    /// True when the caller's configuration or arguments are at fault rather than the data.
    pub fn is_config_error(&self) -> bool {
        matches!(self, Self::InvalidHint { .. } | Self::UnknownCurrency(_))
    }
}
