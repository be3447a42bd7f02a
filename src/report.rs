//! `shopstream report`: a short summary of what is in ClickHouse (used by the demo).

use std::fmt::Write as _;
use std::io::Write as _;

use shopstream_loaders::clickhouse::queries::report;
use shopstream_loaders::clickhouse::service::Sql;

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
    // A closed pipe (`shopstream report | head`) is not an error.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
