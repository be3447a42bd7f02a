//! Absolute rank of an item across the pages of a listing.

use crate::error::NormalizeError;

/// 1-based position across pages: `(page - 1) * page_size + index_on_page + 1`.
///
/// `page` is 1-based, `index_on_page` 0-based. Checked arithmetic throughout.
///
/// # Errors
/// [`NormalizeError::ZeroPage`] for page 0, [`NormalizeError::RankOverflow`] when the result
/// does not fit in `u32`.
pub fn absolute_position(page: u32, page_size: u32, index_on_page: u32) -> Result<u32, NormalizeError> {
    let overflow = || NormalizeError::RankOverflow { page, page_size, index_on_page };
    let before = page.checked_sub(1).ok_or(NormalizeError::ZeroPage)?.checked_mul(page_size).ok_or_else(overflow)?;
    before.checked_add(index_on_page).and_then(|p| p.checked_add(1)).ok_or_else(overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        for (page, size, idx, want) in [(1, 20, 0, 1), (1, 20, 19, 20), (2, 20, 0, 21), (3, 48, 5, 102), (1, 0, 0, 1)] {
            assert_eq!(absolute_position(page, size, idx), Ok(want), "{page} {size} {idx}");
        }
    }

    #[test]
    fn errors_instead_of_overflow() {
        assert_eq!(absolute_position(0, 20, 0), Err(NormalizeError::ZeroPage));
        assert!(matches!(absolute_position(u32::MAX, 2, 0), Err(NormalizeError::RankOverflow { .. })));
        assert!(matches!(absolute_position(1, 10, u32::MAX), Err(NormalizeError::RankOverflow { .. })));
        assert_eq!(absolute_position(1, 0, u32::MAX - 1), Ok(u32::MAX));
    }
}
