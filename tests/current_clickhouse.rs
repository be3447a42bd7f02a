//! The SQL on a current ClickHouse: every migration, view and report query also runs on the engine that
//! chDB embeds (PyPI `chdb-core`, ClickHouse 26.x), besides Debian's 18.16 that the other tests use.
//! `scripts/test` installs chDB into a virtualenv and sets `SHOPSTREAM_CHDB_PYTHON`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use shopstream_loaders::clickhouse::{migrations, queries};

/// Runs `statements` in one chDB session; per statement, Ok(JSONEachRow text) or Err(message). Also
/// returns the engine's version.
fn run_on_chdb(statements: &[String]) -> (String, Vec<Result<String, String>>) {
    let python = common::env("SHOPSTREAM_CHDB_PYTHON");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/chdb_sql.py");
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let input = serde_json::to_vec(statements).expect("json");
    child.stdin.take().expect("stdin").write_all(&input).expect("write statements");
    let out = child.wait_with_output().expect("chdb");
    assert!(out.status.success(), "chdb failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .collect::<Vec<_>>()
        .into_iter();
    let version = lines.next().expect("version line")["version"].as_str().expect("version").to_string();
    let results = lines
        .map(|v| {
            if v["ok"] == true {
                Ok(v["result"].as_str().unwrap_or_default().to_string())
            } else {
                Err(v["error"].as_str().unwrap_or_default().to_string())
            }
        })
        .collect();
    (version, results)
}

#[test]
fn migrations_views_and_report_queries_run_on_a_current_clickhouse() {
    let db = "shopstream_current";
    let mut statements = migrations::statements(db);
    let ddl = statements.len();
    // A few rows, as the loader writes them, so the views and the report have something to compute.
    statements.extend([
        format!(
            "INSERT INTO {db}.products (source, product_id, url, title, rating, observed_at, version) VALUES \
             ('books', 'a', 'http://x/a', 'Alpha', 3, '2026-11-30 10:00:00', 1), \
             ('books', 'b', 'http://x/b', 'Beta', NULL, '2026-11-30 10:00:00', 1)"
        ),
        format!(
            "INSERT INTO {db}.price_observations (source, product_id, crawl_id, observed_at, price_minor, currency, \
             amount, raw, version) VALUES \
             ('books', 'a', 'c1', '2026-11-29 10:00:00', 1299, 'GBP', '12.99', '£12.99', 1), \
             ('books', 'a', 'c2', '2026-11-30 10:00:00', 999, 'GBP', '9.99', '£9.99', 2), \
             ('books', 'b', 'c2', '2026-11-30 10:00:00', 5000, 'GBP', '50.00', '£50.00', 2)"
        ),
        format!(
            "INSERT INTO {db}.rank_observations (source, list_id, product_id, crawl_id, observed_at, list_kind, \
             position, page, page_size, version) VALUES ('books', 'l', 'a', 'c2', '2026-11-30 10:00:00', 'listing', 1, 1, 20, 2)"
        ),
        format!(
            "INSERT INTO {db}.fetch_log (host, fetched_at, fetch_id, crawl_id, source, url, status, latency_ms, bytes, \
             attempts, outcome, version) VALUES ('x', '2026-11-30 10:00:00', 'f1', 'c2', 'books', 'http://x/a', 200, 5, 100, 1, 'ok', 2)"
        ),
        format!("SELECT source, product_id, price_minor, currency FROM {db}.latest_prices ORDER BY product_id"),
        format!("SELECT product_id, day, min_minor, max_minor, observations FROM {db}.daily_prices ORDER BY product_id, day"),
    ]);
    let first_report = statements.len();
    statements.extend(queries::REPORT.iter().map(|(_, q)| q.replace("{db}", db)));
    // The loader's merge of product facts: the newest value of each field that a fact has.
    let first_merge = statements.len();
    statements.extend([
        format!(
            "INSERT INTO {db}.product_observations (source, product_id, url, title, category, stock, observed_at, \
             event_id, version) VALUES \
             ('books', 'c', 'http://x/c', 'Gamma', 'Poetry', 22, '2026-11-30 10:00:00', 'e1', 1), \
             ('books', 'c', 'http://x/c', 'Gamma II', NULL, NULL, '2026-11-30 11:00:00', 'e2', 2)"
        ),
        migrations::merge_products(db, &[("books", "c")]),
        format!("SELECT title, category, stock FROM {db}.products FINAL WHERE product_id = 'c'"),
    ]);
    let (version, results) = run_on_chdb(&statements);
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).expect("version");
    assert!(major >= 24, "a current ClickHouse, not {version}");
    for (stmt, r) in statements.iter().zip(&results) {
        assert!(r.is_ok(), "ClickHouse {version} refused:\n{stmt}\n{}", r.as_ref().err().cloned().unwrap_or_default());
    }
    assert_eq!(results.len(), statements.len());
    // And they compute what they should.
    let rows = |i: usize| -> Vec<serde_json::Value> {
        results[i].as_ref().expect("ok").lines().map(|l| serde_json::from_str(l).expect("row")).collect()
    };
    let latest = rows(ddl + 4);
    assert_eq!(latest.len(), 2, "{latest:?}");
    assert_eq!(common::as_i64(&latest[0]["price_minor"]), 999, "the latest price of a: {latest:?}");
    let daily = rows(ddl + 5);
    assert_eq!(daily.len(), 3, "{daily:?}");
    let products = rows(first_report);
    assert_eq!(products.len(), 1);
    let cheapest = rows(first_report + 5);
    assert_eq!(cheapest[0]["title"], "Alpha", "{cheapest:?}");
    let merged = rows(first_merge + 2);
    assert_eq!(merged.len(), 1, "{merged:?}");
    assert_eq!(merged[0]["title"], "Gamma II", "the newest title: {merged:?}");
    assert_eq!(merged[0]["category"], "Poetry", "a fact without a category does not wipe it: {merged:?}");
    assert_eq!(common::as_i64(&merged[0]["stock"]), 22, "{merged:?}");
}

#[path = "../src/analytics_sql.rs"]
mod analytics_sql;

/// The queries of `shopstream report`'s price sections and of `shopstream chart` (src/analytics_sql.rs)
/// on a current ClickHouse, over a small price and rank history.
#[test]
fn report_and_chart_queries_run_on_a_current_clickhouse() {
    let db = "shopstream_analytics";
    let mut statements = migrations::statements(db);
    let price = |product: &str, crawl: &str, ago_secs: u32, minor: i64| {
        format!(
            "SELECT 'books', '{product}', '{crawl}', now() - {ago_secs}, toInt64({minor}), 'GBP', '', '', toUInt64(1)"
        )
    };
    statements.extend([
        format!(
            "INSERT INTO {db}.products (source, product_id, url, title, observed_at, version) VALUES \
             ('books', 'a', 'http://x/a', 'Alpha', '2026-11-30 10:00:00', 1)"
        ),
        format!(
            "INSERT INTO {db}.price_observations (source, product_id, crawl_id, observed_at, price_minor, currency, \
             amount, raw, version) {}",
            [
                price("a", "c1", 259_200, 1000),
                price("a", "c2", 172_800, 800),
                price("b", "c1", 90_000, 2000),
                price("b", "c2", 3_600, 1000),
            ]
            .join(" UNION ALL ")
        ),
        format!(
            "INSERT INTO {db}.tracking_targets (target_id, source, keyword, product, tier, status, timezone, \
             updated_at, version) VALUES ('t1', 'naver', 'kw', 'p1', 'normal', 'active', 'Asia/Seoul', \
             '2026-11-30 10:00:00', 1)"
        ),
        format!(
            "INSERT INTO {db}.target_pages (target_id, run_id, observed_at, run_day, page, pages, position, \
             product_id, source, version) VALUES \
             ('t1', 'r1', '2026-11-30 16:00:00', '2026-12-01', 1, 1, 4, 'p1', 'naver', 1), \
             ('t1', 'r2', '2026-12-01 16:00:00', '2026-12-02', 1, 1, 0, '', 'naver', 1), \
             ('t1', 'r3', '2026-12-02 16:00:00', '2026-12-03', 1, 1, 2, 'p1', 'naver', 1)"
        ),
    ]);
    let first = statements.len();
    statements.extend([
        analytics_sql::recent_price_changes(db, 10),
        analytics_sql::biggest_drops(db, true, 5),
        analytics_sql::biggest_drops(db, false, 5),
        analytics_sql::price_history(db, "books", "a"),
        analytics_sql::product_title(db, "books", "a"),
        analytics_sql::targets_of_product(db, Some("naver"), "p1"),
        analytics_sql::target(db, "t1"),
        analytics_sql::rank_history(db, "t1"),
        analytics_sql::target_source(db, "t1"),
        analytics_sql::target_source(db, "nope"),
    ]);
    let (version, results) = run_on_chdb(&statements);
    for (stmt, r) in statements.iter().zip(&results) {
        assert!(r.is_ok(), "ClickHouse {version} refused:\n{stmt}\n{}", r.as_ref().err().cloned().unwrap_or_default());
    }
    let rows = |i: usize| -> Vec<serde_json::Value> {
        results[first + i].as_ref().expect("ok").lines().map(|l| serde_json::from_str(l).expect("row")).collect()
    };
    let changes = rows(0);
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["product_id"], "b", "most recent first: {changes:?}");
    assert_eq!(changes[1]["title"], "Alpha", "{changes:?}");
    assert_eq!(rows(1).len(), 1, "one drop in the last day");
    assert_eq!(rows(2).len(), 2, "two in the last week");
    assert_eq!(rows(2)[0]["product_id"], "b", "the largest drop first");
    assert_eq!(rows(3).len(), 2);
    assert_eq!(rows(4)[0]["title"], "Alpha");
    assert_eq!(rows(5).len(), 1);
    assert_eq!(rows(6).len(), 1);
    let history = rows(7);
    assert_eq!(history.len(), 3, "found, not found, found: {history:?}");
    assert_eq!(rows(8).len(), 1);
    assert_eq!(rows(9).len(), 0, "no row for an unknown target");
}
