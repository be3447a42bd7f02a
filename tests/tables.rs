//! The table design on the real services (issue 10): a refetch across a month boundary is one
//! observation, a product listed twice in one list keeps both ranks, a listing's product fact does not
//! wipe what the product page said, and the migration keeps the data loaded before it.

mod common;

use common::{example, produce, TestEnv};
use shopstream_schemas::{PriceObserved, ProductObserved, RankObserved};

/// 2026-11-30 23:59:00 and 2026-12-01 00:01:00 UTC, in ms.
const BEFORE_MIDNIGHT: i64 = 1_796_083_140_000;
const AFTER_MIDNIGHT: i64 = 1_796_083_260_000;

fn load(env: &mut TestEnv) {
    let l = env.spawn(env.cmd(&["load", "--batch-rows", "2"]));
    env.wait_idle(&format!("g_{}", env.id));
    env.stop(l);
}

#[test]
fn observations_and_products_keep_what_they_should() {
    let mut env = TestEnv::new("tables", "[sources]\n");
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let db = env.database.clone();
    env.run_ok(&["topics"]);

    // One product, one crawl, fetched twice across midnight of a month's last day.
    let price: PriceObserved = example(include_str!("../schemas/examples/price_observed.json"));
    let mut late = price.clone();
    late.event_id = "late".into();
    late.provenance.fetched_at = AFTER_MIDNIGHT;
    late.price_minor = 4999;
    let mut early = price.clone();
    early.provenance.fetched_at = BEFORE_MIDNIGHT;
    produce(&env, &topics.prices, &[early, late]);

    // One product at positions 3 and 7 of the same list in the same crawl.
    let rank: RankObserved = example(include_str!("../schemas/examples/rank_observed.json"));
    let mut second = rank.clone();
    second.event_id = format!("{}-b", rank.event_id);
    second.position = rank.position + 4;
    produce(&env, &topics.ranks, &[rank.clone(), second]);

    // The product page, then a newer listing fact with a new title but no category, UPC or stock.
    let page: ProductObserved = example(include_str!("../schemas/examples/product_observed.json"));
    let mut listing = page.clone();
    listing.event_id = "from-listing".into();
    listing.provenance.fetched_at = page.provenance.fetched_at + 60_000;
    listing.provenance.url = "http://books.toscrape.com/catalogue/page-1.html".into();
    listing.title = "A Light in the Attic (paperback)".into();
    listing.category = None;
    listing.upc = None;
    listing.in_stock = None;
    listing.stock = None;
    produce(&env, &topics.products, &[page.clone(), listing]);
    load(&mut env);

    let prices = env.query(&format!("SELECT price_minor FROM {db}.price_observations FINAL"));
    assert_eq!(prices.len(), 1, "one observation per product and crawl, whatever the month: {prices:?}");
    assert_eq!(common::as_i64(&prices[0]["price_minor"]), 4999, "the later fetch wins");
    let positions = env.query(&format!("SELECT position FROM {db}.rank_observations FINAL ORDER BY position"));
    assert_eq!(positions.len(), 2, "both places in the list: {positions:?}");
    let products = env.query(&format!("SELECT title, category, upc, stock, in_stock FROM {db}.products FINAL"));
    assert_eq!(products.len(), 1, "{products:?}");
    let p = &products[0];
    assert_eq!(p["title"], "A Light in the Attic (paperback)", "the newest title: {p}");
    assert_eq!(p["category"], "Poetry", "the listing did not wipe the category: {p}");
    assert_eq!(p["upc"], "a897fe39b1053632", "{p}");
    assert_eq!(common::as_i64(&p["stock"]), 22, "{p}");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.product_observations FINAL")), 2);
}

#[test]
fn the_migration_keeps_the_rows_loaded_before_it() {
    let mut env = TestEnv::new("migrate", "[sources]\n");
    let db = env.database.clone();
    // The schema as it was before the table changes (migrations 1–6), with rows in it.
    env.query_text(&format!("CREATE DATABASE IF NOT EXISTS {db}"));
    env.query_text(&shopstream_loaders::clickhouse::migrations::MIGRATIONS_TABLE.replace("{db}", &db));
    for m in shopstream_loaders::clickhouse::migrations::MIGRATIONS.iter().filter(|m| m.version <= 6) {
        env.query_text(&m.sql.replace("{db}", &db));
        env.query_text(&format!("INSERT INTO {db}.schema_migrations (version, name) VALUES ({}, 'old')", m.version));
    }
    env.query_text(&format!(
        "INSERT INTO {db}.products (source, product_id, url, title, category, observed_at, version) \
         VALUES ('books', 'a', 'http://x/a', 'Alpha', 'Poetry', '2026-11-30 10:00:00', 1)"
    ));
    env.query_text(&format!(
        "INSERT INTO {db}.price_observations (source, product_id, crawl_id, observed_at, price_minor, currency, \
         amount, raw, version) VALUES ('books', 'a', 'c1', '2026-11-30 10:00:00', 1299, 'GBP', '12.99', '£12.99', 1)"
    ));
    env.query_text(&format!(
        "INSERT INTO {db}.rank_observations (source, list_id, product_id, crawl_id, observed_at, list_kind, \
         position, page, page_size, version) VALUES ('books', 'l', 'a', 'c1', '2026-11-30 10:00:00', 'listing', 1, 1, 20, 1)"
    ));
    let out = env.run_ok(&["migrate"]);
    assert!(out.contains("15"), "{out}");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")), 1);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.rank_observations FINAL")), 1);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.product_observations FINAL")), 1);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.products_merged WHERE category = 'Poetry'")), 1);
    assert_eq!(
        env.count(&format!("SELECT count() FROM {db}.price_observations_before_v2")),
        1,
        "kept for the operator"
    );
    // Idempotent: again, nothing changes.
    env.run_ok(&["migrate"]);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")), 1);
    let _ = &mut env;
}

#[test]
fn price_changes_and_biggest_drops_follow_each_product_in_time() {
    let mut env = TestEnv::new("price_changes", "[sources]\n");
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let db = env.database.clone();
    env.run_ok(&["topics"]);
    let now = shopstream_core::now_ms();
    let hour = 3_600_000;
    // Four crawls of one product: 10.00, 10.00, 8.00 (two days ago), 9.00 (an hour ago); a second
    // product that drops 50 % an hour ago; one older than a week.
    let at = |product: &str, crawl: &str, minor: i64, ago: i64| common::price_at(product, crawl, minor, now - ago);
    let events = [
        at("a", "c1", 1000, 90 * hour),
        at("a", "c2", 1000, 70 * hour),
        at("a", "c3", 800, 48 * hour),
        at("a", "c4", 900, hour),
        at("b", "c1", 2000, 30 * hour),
        at("b", "c2", 1000, hour),
        at("c", "c1", 500, 300 * hour),
        at("c", "c2", 100, 200 * hour),
    ];
    produce(&env, &topics.prices, &events);
    load(&mut env);
    let changes = env.query(&format!(
        "SELECT product_id, old_minor, new_minor, percent FROM {db}.price_changes ORDER BY product_id, changed_at"
    ));
    let got: Vec<(String, i64, i64, f64)> = changes
        .iter()
        .map(|r| {
            let f = |k: &str| common::as_i64(&r[k]);
            (
                r["product_id"].as_str().expect("id").to_string(),
                f("old_minor"),
                f("new_minor"),
                r["percent"].as_f64().expect("pct"),
            )
        })
        .collect();
    let want = [("a", 1000, 800, -20.0), ("a", 800, 900, 12.5), ("b", 2000, 1000, -50.0), ("c", 500, 100, -80.0)];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!((g.0.as_str(), g.1, g.2, g.3), w);
    }
    let drops = env.query(&format!("SELECT product_id, in_last_day FROM {db}.biggest_drops"));
    let drops: Vec<(String, i64)> = drops
        .iter()
        .map(|r| (r["product_id"].as_str().expect("id").to_string(), common::as_i64(&r["in_last_day"])))
        .collect();
    // Largest drop first; the 80 % drop is older than a week.
    assert_eq!(drops, [("b".to_string(), 1), ("a".to_string(), 0)]);
}
