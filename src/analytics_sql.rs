//! The queries of the price and rank analytics (`shopstream report`'s price sections, `shopstream chart`).
//! This file has no dependencies, so the tests include it (`#[path]`) and run exactly these on ClickHouse
//! 18.16 and on a current release: SQL both accept (no window functions, no DateTime64). Answers are
//! TabSeparated; times come as Unix seconds.

/// A string literal: quotes and backslashes escaped.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The product titles, for a LEFT JOIN (an unknown product gets '').
const TITLES: &str =
    "AS c ANY LEFT JOIN (SELECT source, product_id, title FROM {db}.products FINAL) AS p USING (source, product_id)";

/// The `limit` most recent price changes: source, product_id, currency, at, old_minor, new_minor,
/// percent (nullable), title.
pub fn recent_price_changes(db: &str, limit: u32) -> String {
    format!(
        "SELECT source, product_id, currency, toUnixTimestamp(changed_at) AS at, old_minor, new_minor, percent, title
         FROM {db}.price_changes {titles}
         ORDER BY at DESC, source, product_id LIMIT {limit}",
        titles = TITLES.replace("{db}", db)
    )
}

/// The `limit` largest drops of the last week (`last_day`: of the last day), same columns as
/// [`recent_price_changes`].
pub fn biggest_drops(db: &str, last_day: bool, limit: u32) -> String {
    format!(
        "SELECT source, product_id, currency, toUnixTimestamp(changed_at) AS at, old_minor, new_minor, percent, title
         FROM {db}.biggest_drops {titles}
         WHERE {filter}
         ORDER BY percent, at DESC, source, product_id LIMIT {limit}",
        titles = TITLES.replace("{db}", db),
        filter = if last_day { "in_last_day = 1" } else { "1" }
    )
}

/// A product's price observations in time order: at, price_minor, currency.
pub fn price_history(db: &str, source: &str, product_id: &str) -> String {
    format!(
        "SELECT toUnixTimestamp(observed_at) AS at, price_minor, currency FROM {db}.price_observations FINAL
         WHERE source = {} AND product_id = {} ORDER BY at, crawl_id",
        quote(source),
        quote(product_id)
    )
}

/// A product's title (no row when the product is unknown).
pub fn product_title(db: &str, source: &str, product_id: &str) -> String {
    format!(
        "SELECT title FROM {db}.products FINAL WHERE source = {} AND product_id = {} LIMIT 1",
        quote(source),
        quote(product_id)
    )
}

/// The targets tracking `product` (of `source`, if given): target_id, source, keyword, list_url, status.
pub fn targets_of_product(db: &str, source: Option<&str>, product: &str) -> String {
    let source = source.map(|s| format!(" AND source = {}", quote(s))).unwrap_or_default();
    format!(
        "SELECT target_id, source, ifNull(keyword, ''), ifNull(list_url, ''), status FROM {db}.tracking_targets FINAL
         WHERE product = {}{source} ORDER BY target_id",
        quote(product)
    )
}

/// A target's state: source, product, keyword, list_url, timezone (no row when it is unknown).
pub fn target(db: &str, target_id: &str) -> String {
    format!(
        "SELECT source, product, ifNull(keyword, ''), ifNull(list_url, ''), timezone FROM {db}.tracking_targets FINAL
         WHERE target_id = {} LIMIT 1",
        quote(target_id)
    )
}

/// A target's observations in time order: at, run_day, position (0: not found), session.
pub fn rank_history(db: &str, target_id: &str) -> String {
    format!(
        "SELECT toUnixTimestamp(observed_at) AS at, toString(run_day), ifNull(position, 0), session
         FROM {db}.rank_history WHERE target_id = {} ORDER BY at",
        quote(target_id)
    )
}

/// The source of a target's pages (no row when it has none).
pub fn target_source(db: &str, target_id: &str) -> String {
    format!("SELECT source FROM {db}.target_pages WHERE target_id = {} LIMIT 1", quote(target_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_and_every_query_names_the_database() {
        assert_eq!(quote(r"it's a \ b"), r"'it\'s a \\ b'");
        for q in [
            recent_price_changes("d", 3),
            biggest_drops("d", true, 3),
            price_history("d", "s", "p"),
            product_title("d", "s", "p"),
            targets_of_product("d", Some("s"), "p"),
            target("d", "t"),
            rank_history("d", "t"),
            target_source("d", "t"),
        ] {
            assert!(q.contains("FROM d."), "{q}");
            assert!(!q.contains("{db}"), "{q}");
        }
        assert!(biggest_drops("d", true, 3).contains("in_last_day = 1"));
        assert!(!biggest_drops("d", false, 3).contains("in_last_day = 1"));
    }
}
