//! Versioned, idempotent migrations. SQL here must run on ClickHouse 18.16 and on current releases:
//! no DateTime64, no LowCardinality, no Bool type (UInt8 instead), no window functions.

use crate::clickhouse::service::{ClickHouseError, Sql};

/// (version, name, statement). `{db}` is replaced by the database name. Append only: never edit a
/// migration that shipped.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "products",
        "CREATE TABLE IF NOT EXISTS {db}.products (
            source String, product_id String, url String, title String,
            brand Nullable(String), category Nullable(String), upc Nullable(String),
            rating Nullable(Float64), rating_count Nullable(Int64), rating_scale Nullable(Float64),
            in_stock Nullable(UInt8), stock Nullable(Int64), image_url Nullable(String),
            observed_at DateTime, fetch_id String, crawl_id String, event_id String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (source, product_id)",
    ),
    (
        2,
        "price_observations",
        "CREATE TABLE IF NOT EXISTS {db}.price_observations (
            source String, product_id String, crawl_id String, observed_at DateTime,
            price_minor Int64, currency String, amount String, list_price_minor Nullable(Int64), raw String,
            url String, fetch_id String, event_id String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(observed_at)
          ORDER BY (source, product_id, crawl_id)",
    ),
    (
        3,
        "rank_observations",
        "CREATE TABLE IF NOT EXISTS {db}.rank_observations (
            source String, list_id String, product_id String, crawl_id String, observed_at DateTime,
            list_kind String, keyword Nullable(String), position UInt32, page UInt32, page_size UInt32,
            product_url String, url String, fetch_id String, event_id String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(observed_at)
          ORDER BY (source, list_id, product_id, crawl_id)",
    ),
    (
        4,
        "fetch_log",
        "CREATE TABLE IF NOT EXISTS {db}.fetch_log (
            host String, fetched_at DateTime, fetch_id String, crawl_id String, source String, url String,
            status Int32, latency_ms Int64, bytes Int64, attempts Int32, outcome String, error Nullable(String),
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(fetched_at)
          ORDER BY (host, fetched_at, fetch_id)",
    ),
    (
        5,
        "latest_prices view",
        "CREATE VIEW IF NOT EXISTS {db}.latest_prices AS
            SELECT source, product_id,
                   argMax(price_minor, observed_at) AS price_minor,
                   argMax(currency, observed_at) AS currency,
                   max(observed_at) AS last_observed_at
            FROM {db}.price_observations FINAL
            GROUP BY source, product_id",
    ),
    (
        6,
        "daily_prices view",
        "CREATE VIEW IF NOT EXISTS {db}.daily_prices AS
            SELECT source, product_id, currency, toDate(observed_at) AS day,
                   min(price_minor) AS min_minor, max(price_minor) AS max_minor, avg(price_minor) AS avg_minor,
                   count() AS observations
            FROM {db}.price_observations FINAL
            GROUP BY source, product_id, currency, day",
    ),
];

/// The table recording which migrations were applied.
pub const MIGRATIONS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS {db}.schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now())
         ENGINE = ReplacingMergeTree() ORDER BY version";

/// Every statement that builds the schema of database `db` from nothing, in order (for running them on
/// another engine, e.g. the current-ClickHouse test).
pub fn statements(db: &str) -> Vec<String> {
    let mut v = vec![format!("CREATE DATABASE IF NOT EXISTS {db}"), MIGRATIONS_TABLE.replace("{db}", db)];
    v.extend(MIGRATIONS.iter().map(|(_, _, stmt)| stmt.replace("{db}", db)));
    v
}

/// Create the database and apply every migration not yet recorded. Safe to run concurrently and
/// repeatedly: every statement is `IF NOT EXISTS` and the record is a `ReplacingMergeTree`.
pub async fn apply(sql: &Sql) -> Result<Vec<u32>, ClickHouseError> {
    let db = sql.database();
    sql.execute(&format!("CREATE DATABASE IF NOT EXISTS {db}")).await?;
    sql.execute(&MIGRATIONS_TABLE.replace("{db}", db)).await?;
    let applied = applied_versions(sql).await?;
    let mut newly = Vec::new();
    for (version, name, stmt) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        sql.execute(&stmt.replace("{db}", db)).await?;
        sql.execute(&format!(
            "INSERT INTO {db}.schema_migrations (version, name) VALUES ({version}, '{}')",
            name.replace('\'', "")
        ))
        .await?;
        tracing::info!(version, name, "Applied a ClickHouse migration.");
        newly.push(*version);
    }
    Ok(newly)
}

/// The versions recorded as applied.
pub async fn applied_versions(sql: &Sql) -> Result<Vec<u32>, ClickHouseError> {
    let text = sql
        .query_text(&format!("SELECT DISTINCT version FROM {}.schema_migrations ORDER BY version", sql.database()))
        .await?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Fails when a migration this binary knows is missing (the loader refuses to start on an old schema).
pub async fn check(sql: &Sql) -> Result<(), ClickHouseError> {
    let applied = applied_versions(sql).await?;
    let missing: Vec<u32> = MIGRATIONS.iter().map(|m| m.0).filter(|v| !applied.contains(v)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ClickHouseError::Config(format!("migrations {missing:?} are not applied; run `shopstream migrate`")))
    }
}
