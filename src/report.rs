//! `shopstream report`: a short summary of what is in ClickHouse (used by the demo).

use std::fmt::Write as _;
use std::io::Write as _;

use shopstream_loaders::clickhouse::queries::report;
use shopstream_loaders::clickhouse::service::Sql;

use crate::chart::{amount, sql as analytics, tsv_rows};

/// Price changes listed, most recent first.
const RECENT_CHANGES: u32 = 10;
/// Drops listed per period, largest first.
const DROPS: u32 = 5;

pub async fn print(url: &str, database: &str) -> anyhow::Result<()> {
    let sql = Sql::new(url, database)?;
    let mut out = String::new();
    let db = database;
    let q = |s: String| {
        let sql = sql.clone();
        async move { sql.query_text(&s).await }
    };
    writeln!(out, "products: {}", q(report("products", db)).await?.trim())?;
    writeln!(out, "price observations: {}", q(report("price_observations", db)).await?.trim())?;
    writeln!(out, "rank observations: {}", q(report("rank_observations", db)).await?.trim())?;
    writeln!(out)?;
    writeln!(out, "fetch outcomes:")?;
    let outcomes = q(report("fetch_outcomes", db)).await?;
    for line in outcomes.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [outcome, status, n] = f.as_slice() {
            writeln!(out, "  {outcome:<14} {status:>4}  {n}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "products per rating:")?;
    let ratings = q(report("ratings", db)).await?;
    for line in ratings.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [r, n] = f.as_slice() {
            writeln!(out, "  {r:>4} stars: {n}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "five cheapest books (latest price):")?;
    let cheapest = q(report("cheapest", db)).await?;
    for line in cheapest.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [title, minor, cur] = f.as_slice() {
            let minor: i64 = minor.parse().unwrap_or(0);
            writeln!(out, "  {}.{:02} {cur}  {title}", minor / 100, minor % 100)?;
        }
    }
    price_sections(&sql, db, &mut out).await?;
    // A closed pipe (`shopstream report | head`) is not an error.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The price analytics: the latest changes (`price_changes`) and the largest drops of the last day and
/// of the last week (`biggest_drops`). One line per change:
/// `  SOURCE/PRODUCT  OLD -> NEW CUR  PERCENT%  YYYY-MM-DD HH:MM UTC  TITLE`.
async fn price_sections(sql: &Sql, db: &str, out: &mut String) -> anyhow::Result<()> {
    let sections = [
        (
            format!("latest price changes (up to {RECENT_CHANGES}):"),
            analytics::recent_price_changes(db, RECENT_CHANGES),
        ),
        (format!("biggest drops, last day (up to {DROPS}):"), analytics::biggest_drops(db, true, DROPS)),
        (format!("biggest drops, last week (up to {DROPS}):"), analytics::biggest_drops(db, false, DROPS)),
    ];
    for (heading, query) in sections {
        writeln!(out)?;
        writeln!(out, "{heading}")?;
        let rows = tsv_rows(&sql.query_text(&query).await?);
        if rows.is_empty() {
            writeln!(out, "  none")?;
        }
        for r in rows {
            if let [source, product, cur, at, old, new, percent, title] = r.as_slice() {
                writeln!(out, "{}", change_line(source, product, cur, at, old, new, percent, title))?;
            }
        }
    }
    Ok(())
}

/// One change as a report line (fields as ClickHouse answers them, TabSeparated).
#[allow(clippy::too_many_arguments)]
fn change_line(
    source: &str,
    product: &str,
    cur: &str,
    at: &str,
    old: &str,
    new: &str,
    percent: &str,
    title: &str,
) -> String {
    let minor = |v: &str| v.trim().parse::<i64>().unwrap_or(0);
    let percent = match percent.trim().parse::<f64>() {
        Ok(p) => format!("{p:+.2}%"),
        Err(_) => "n/a".to_string(),
    };
    let when = at
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let line = format!(
        "  {:<32} {:>10} -> {:<10} {cur:<4} {percent:>8}  {when}",
        format!("{source}/{product}"),
        amount(minor(old), cur),
        amount(minor(new), cur),
    );
    if title.is_empty() {
        line
    } else {
        format!("{line}  {title}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_change_line_has_product_prices_percent_and_time() {
        let line = super::change_line("books", "b", "GBP", "1796083200", "2000", "1000", "-50", "Beta");
        assert_eq!(
            line,
            "  books/b                               20.00 -> 10.00      GBP   -50.00%  2026-12-01 00:00 UTC  Beta"
        );
        let line = super::change_line("naver", "1", "KRW", "1796083200", "0", "15900", "\\N", "");
        assert!(line.ends_with("     0 -> 15900      KRW       n/a  2026-12-01 00:00 UTC"), "{line}");
    }
}
