//! The saved queries the binary runs (`shopstream report`), kept beside the migrations so that the
//! current-ClickHouse test runs exactly these too. `{db}` is replaced by the database name. Same rule
//! as the migrations: SQL that ClickHouse 18.16 and current releases both accept.

/// (name, query) of the report, in the order it prints them.
pub const REPORT: &[(&str, &str)] = &[
    ("products", "SELECT count() FROM {db}.products FINAL"),
    ("price_observations", "SELECT count() FROM {db}.price_observations FINAL"),
    ("rank_observations", "SELECT count() FROM {db}.rank_observations FINAL"),
    (
        "fetch_outcomes",
        "SELECT outcome, status, count() FROM {db}.fetch_log FINAL GROUP BY outcome, status ORDER BY outcome, status",
    ),
    ("ratings", "SELECT ifNull(toString(rating), 'none') AS r, count() FROM {db}.products FINAL GROUP BY r ORDER BY r"),
    (
        "cheapest",
        "SELECT p.title, l.price_minor, l.currency FROM {db}.latest_prices AS l
         ANY INNER JOIN (SELECT source, product_id, title FROM {db}.products FINAL) AS p USING (source, product_id)
         ORDER BY l.price_minor, p.title LIMIT 5",
    ),
];

/// The report query `name` for database `db`.
pub fn report(name: &str, db: &str) -> String {
    REPORT.iter().find(|(n, _)| *n == name).map(|(_, q)| q.replace("{db}", db)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_report_query_is_found_by_name() {
        for (name, _) in super::REPORT {
            assert!(super::report(name, "d").contains("d."), "{name}");
        }
        assert!(super::report("nope", "d").is_empty());
    }
}
