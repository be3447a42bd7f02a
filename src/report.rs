//! `shopstream report`: a short summary of what is in ClickHouse (used by the demo).

use std::fmt::Write as _;
use std::io::Write as _;

use shopstream_loaders::clickhouse::service::Sql;

pub async fn print(url: &str, database: &str) -> anyhow::Result<()> {
    let sql = Sql::new(url, database)?;
    let mut out = String::new();
    let db = database;
    let q = |s: String| {
        let sql = sql.clone();
        async move { sql.query_text(&s).await }
    };
    writeln!(out, "products: {}", q(format!("SELECT count() FROM {db}.products FINAL")).await?.trim())?;
    writeln!(
        out,
        "price observations: {}",
        q(format!("SELECT count() FROM {db}.price_observations FINAL")).await?.trim()
    )?;
    writeln!(
        out,
        "rank observations: {}",
        q(format!("SELECT count() FROM {db}.rank_observations FINAL")).await?.trim()
    )?;
    writeln!(out)?;
    writeln!(out, "fetch outcomes:")?;
    let outcomes = q(format!(
        "SELECT outcome, status, count() FROM {db}.fetch_log FINAL GROUP BY outcome, status ORDER BY outcome, status"
    ))
    .await?;
    for line in outcomes.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [outcome, status, n] = f.as_slice() {
            writeln!(out, "  {outcome:<14} {status:>4}  {n}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "products per rating:")?;
    let ratings = q(format!(
        "SELECT ifNull(toString(rating), 'none') AS r, count() FROM {db}.products FINAL GROUP BY r ORDER BY r"
    ))
    .await?;
    for line in ratings.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [r, n] = f.as_slice() {
            writeln!(out, "  {r:>4} stars: {n}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "five cheapest books (latest price):")?;
    let cheapest = q(format!(
        "SELECT p.title, l.price_minor, l.currency FROM {db}.latest_prices AS l
         ANY INNER JOIN (SELECT source, product_id, title FROM {db}.products FINAL) AS p USING (source, product_id)
         ORDER BY l.price_minor, p.title LIMIT 5"
    ))
    .await?;
    for line in cheapest.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [title, minor, cur] = f.as_slice() {
            let minor: i64 = minor.parse().unwrap_or(0);
            writeln!(out, "  {}.{:02} {cur}  {title}", minor / 100, minor % 100)?;
        }
    }
    // A closed pipe (`shopstream report | head`) is not an error.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
