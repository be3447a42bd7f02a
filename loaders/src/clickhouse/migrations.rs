//! Versioned, idempotent migrations. SQL here must run on ClickHouse 18.16 and on current releases:
//! no DateTime64, no LowCardinality, no Bool type (UInt8 instead), no window functions.

use crate::clickhouse::service::{ClickHouseError, Sql};

/// The `products` row of each product in `where`: per field, the value of the newest fact that has
/// one (`argMaxIf` over the facts that are not null or empty); provenance from the newest fact. Used by
/// the `products_merged` view and by the loader, which runs it for the products of each batch.
macro_rules! merged_products_select {
    ($where:expr) => {
        concat!(
            // The facts' columns are renamed (o_*) in a subquery: an output alias equal to a column name
            // (`max(version) AS version`) would otherwise replace that column inside the other aggregates.
            "SELECT source, product_id,
                   argMaxIf(o_url, o_version, o_url != '') AS url,
                   argMaxIf(o_title, o_version, o_title != '') AS title,
                   argMaxIf(o_brand, o_version, isNotNull(o_brand)) AS brand,
                   argMaxIf(o_category, o_version, isNotNull(o_category)) AS category,
                   argMaxIf(o_upc, o_version, isNotNull(o_upc)) AS upc,
                   argMaxIf(o_rating, o_version, isNotNull(o_rating)) AS rating,
                   argMaxIf(o_rating_count, o_version, isNotNull(o_rating_count)) AS rating_count,
                   argMaxIf(o_rating_scale, o_version, isNotNull(o_rating_scale)) AS rating_scale,
                   argMaxIf(o_in_stock, o_version, isNotNull(o_in_stock)) AS in_stock,
                   argMaxIf(o_stock, o_version, isNotNull(o_stock)) AS stock,
                   argMaxIf(o_image_url, o_version, isNotNull(o_image_url)) AS image_url,
                   max(o_observed_at) AS observed_at,
                   argMax(o_fetch_id, o_version) AS fetch_id,
                   argMax(o_crawl_id, o_version) AS crawl_id,
                   argMax(o_event_id, o_version) AS event_id,
                   argMax(o_raw_topic, o_version) AS raw_topic,
                   argMax(o_raw_partition, o_version) AS raw_partition,
                   argMax(o_raw_offset, o_version) AS raw_offset,
                   argMax(o_parser, o_version) AS parser,
                   argMax(o_parser_version, o_version) AS parser_version,
                   max(o_version) AS version
            FROM (
                SELECT source, product_id, url AS o_url, title AS o_title, brand AS o_brand,
                       category AS o_category, upc AS o_upc, rating AS o_rating, rating_count AS o_rating_count,
                       rating_scale AS o_rating_scale, in_stock AS o_in_stock, stock AS o_stock,
                       image_url AS o_image_url, observed_at AS o_observed_at, fetch_id AS o_fetch_id,
                       crawl_id AS o_crawl_id, event_id AS o_event_id, raw_topic AS o_raw_topic,
                       raw_partition AS o_raw_partition, raw_offset AS o_raw_offset, parser AS o_parser,
                       parser_version AS o_parser_version, version AS o_version
                FROM {db}.product_observations FINAL
                WHERE ",
            $where,
            ") GROUP BY source, product_id"
        )
    };
}

/// Products per merge statement (ClickHouse's default max_query_size is 256 KiB).
pub const MERGE_CHUNK: usize = 500;

/// The statement that rewrites the `products` rows of `keys` (source, product_id) from their facts.
pub fn merge_products(db: &str, keys: &[(&str, &str)]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let list: Vec<String> = keys.iter().map(|(s, p)| format!("({}, {})", quote(s), quote(p))).collect();
    let select = merged_products_select!("(source, product_id) IN ({keys})")
        .replace("{db}", db)
        .replace("{keys}", &list.join(", "));
    format!("INSERT INTO {db}.products {select}")
}

/// One migration: a statement, run once (recorded in `schema_migrations`). `{db}` is replaced by the
/// database name.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
    /// Run only while this table exists (`{db}.` prefixed): the steps of a table swap stay idempotent
    /// when a loader died between a step and its record (after the swap the new table's name is gone).
    pub only_if_exists: Option<&'static str>,
    /// Run only while this (table, column) is missing: 18.16 has no `ADD COLUMN IF NOT EXISTS`.
    pub only_if_missing_column: Option<(&'static str, &'static str)>,
}

const fn m(version: u32, name: &'static str, sql: &'static str) -> Migration {
    Migration { version, name, sql, only_if_exists: None, only_if_missing_column: None }
}

const fn m_add_column(
    version: u32,
    name: &'static str,
    table: &'static str,
    column: &'static str,
    sql: &'static str,
) -> Migration {
    Migration { version, name, sql, only_if_exists: None, only_if_missing_column: Some((table, column)) }
}

const fn m_if(version: u32, name: &'static str, table: &'static str, sql: &'static str) -> Migration {
    Migration { version, name, sql, only_if_exists: Some(table), only_if_missing_column: None }
}

/// Append only: never edit a migration that shipped.
pub const MIGRATIONS: &[Migration] = &[
    m(
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
    m(
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
    m(
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
    m(
        4,
        "fetch_log",
        "CREATE TABLE IF NOT EXISTS {db}.fetch_log (
            host String, fetched_at DateTime, fetch_id String, crawl_id String, source String, url String,
            status Int32, latency_ms Int64, bytes Int64, attempts Int32, outcome String, error Nullable(String),
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(fetched_at)
          ORDER BY (host, fetched_at, fetch_id)",
    ),
    m(
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
    m(
        6,
        "daily_prices view",
        "CREATE VIEW IF NOT EXISTS {db}.daily_prices AS
            SELECT source, product_id, currency, toDate(observed_at) AS day,
                   min(price_minor) AS min_minor, max(price_minor) AS max_minor, avg(price_minor) AS avg_minor,
                   count() AS observations
            FROM {db}.price_observations FINAL
            GROUP BY source, product_id, currency, day",
    ),
    // Issue 10, table design. Observations keyed by a fact that spans months (a crawl) were partitioned
    // by the month of observed_at, which is not in the key: two fetches of one product in one crawl on
    // both sides of a month boundary stayed two rows forever (ReplacingMergeTree merges within a
    // partition only). The v2 tables are not partitioned; the data is copied, then swapped in (the old
    // tables stay as *_before_v2 for the operator to drop).
    m(
        7,
        "price_observations v2 (no month partitions)",
        "CREATE TABLE IF NOT EXISTS {db}.price_observations_v2 (
            source String, product_id String, crawl_id String, observed_at DateTime,
            price_minor Int64, currency String, amount String, list_price_minor Nullable(Int64), raw String,
            url String, fetch_id String, event_id String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (source, product_id, crawl_id)",
    ),
    m_if(
        8,
        "price_observations v2: copy",
        "price_observations_v2",
        "INSERT INTO {db}.price_observations_v2 SELECT * FROM {db}.price_observations",
    ),
    m_if(
        9,
        "price_observations v2: swap",
        "price_observations_v2",
        "RENAME TABLE {db}.price_observations TO {db}.price_observations_before_v2,
                      {db}.price_observations_v2 TO {db}.price_observations",
    ),
    // Ranks: a list snapshot is (list, crawl, position) → product. Keyed by product, a product listed
    // twice in one list collapsed to one row; keyed by position, both stay and a refetch converges.
    m(
        10,
        "rank_observations v2 (keyed by position, no month partitions)",
        "CREATE TABLE IF NOT EXISTS {db}.rank_observations_v2 (
            source String, list_id String, product_id String, crawl_id String, observed_at DateTime,
            list_kind String, keyword Nullable(String), position UInt32, page UInt32, page_size UInt32,
            product_url String, url String, fetch_id String, event_id String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (source, list_id, crawl_id, position)",
    ),
    m_if(
        11,
        "rank_observations v2: copy",
        "rank_observations_v2",
        "INSERT INTO {db}.rank_observations_v2 SELECT * FROM {db}.rank_observations",
    ),
    m_if(
        12,
        "rank_observations v2: swap",
        "rank_observations_v2",
        "RENAME TABLE {db}.rank_observations TO {db}.rank_observations_before_v2,
                      {db}.rank_observations_v2 TO {db}.rank_observations",
    ),
    // Products: every product fact is kept (product_observations, keyed by the fact's event id), and
    // `products` holds per product the newest value of each field among the facts that have it, so a
    // listing's fact (no category, UPC or stock) no longer wipes what the product page said. The loader
    // recomputes a product's row from products_merged after each batch of its facts.
    m(
        13,
        "product_observations",
        "CREATE TABLE IF NOT EXISTS {db}.product_observations (
            source String, product_id String, url String, title String,
            brand Nullable(String), category Nullable(String), upc Nullable(String),
            rating Nullable(Float64), rating_count Nullable(Int64), rating_scale Nullable(Float64),
            in_stock Nullable(UInt8), stock Nullable(Int64), image_url Nullable(String),
            observed_at DateTime, fetch_id String, crawl_id String, event_id String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(observed_at)
          ORDER BY (source, product_id, event_id)",
    ),
    m(
        14,
        "product_observations: the products loaded so far",
        "INSERT INTO {db}.product_observations SELECT * FROM {db}.products FINAL",
    ),
    m(
        15,
        "products_merged view",
        concat!("CREATE VIEW IF NOT EXISTS {db}.products_merged AS ", merged_products_select!("1")),
    ),
    // Issue 7, tracked rank targets. One row per page of a target's run (position 0: not on the page);
    // a run's observation is the best position over its pages, or "not found" once every page up to the
    // target's depth was seen. Keyed by the run's scheduled time, so a run delivered twice is one run.
    m(
        16,
        "target_pages",
        "CREATE TABLE IF NOT EXISTS {db}.target_pages (
            target_id String, run_id String, observed_at DateTime, run_day Date,
            page UInt32, pages UInt32, position UInt32, product_id String, list_id String,
            source String, url String, fetch_id String, fetched_at DateTime, event_id String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (target_id, observed_at, run_id, page)",
    ),
    m(
        17,
        "tracking_targets",
        "CREATE TABLE IF NOT EXISTS {db}.tracking_targets (
            target_id String, source String, keyword Nullable(String), list_url Nullable(String),
            product String, tier String, status String, timezone String, pages Nullable(Int32),
            updated_at DateTime, version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY target_id",
    ),
    m(
        18,
        "run_events",
        "CREATE TABLE IF NOT EXISTS {db}.run_events (
            run_id String, kind String, schedule Nullable(String), source String, what String,
            scheduled_at DateTime, at DateTime, requests Int64, targets Int64,
            stagger_group Int32, stagger_groups Int32, catch_up UInt8, scheduler String, version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (run_id, kind, stagger_group)",
    ),
    m(
        19,
        "target_observations view",
        "CREATE VIEW IF NOT EXISTS {db}.target_observations AS
            SELECT target_id, observed_at, any(run_day) AS run_day,
                   minIf(position, position > 0) AS position_or_zero,
                   uniqExact(page) AS pages_seen, max(pages) AS pages,
                   any(source) AS source, any(list_id) AS list_id
            FROM {db}.target_pages FINAL
            GROUP BY target_id, observed_at
            HAVING position_or_zero > 0 OR pages_seen >= pages",
    ),
    // Sessions (회차) without window functions (18.16 has none): each target's observations as one array
    // in time order; exposures before each are a running sum; the previous exposed position is found by
    // index. `change` = previous exposed position - this one (positive: the product rose).
    m(
        20,
        "rank_history view",
        "CREATE VIEW IF NOT EXISTS {db}.rank_history AS
            SELECT target_id, o.1 AS observed_at, o.2 AS run_day, nullIf(o.3, 0) AS position,
                   toUInt8(o.3 > 0) AS exposed,
                   1 + intDiv(b, 25) AS session,
                   b % 25 + toUInt8(o.3 > 0) AS exposures_in_session,
                   if(o.3 > 0 AND pp > 0, toInt64(pp) - toInt64(o.3), NULL) AS change
            FROM (
                SELECT target_id,
                       arraySort(x -> x.1, groupArray((observed_at, run_day, position_or_zero))) AS obs,
                       arrayMap(x -> x.3, obs) AS ps,
                       arrayMap((c, p) -> c - toUInt64(p > 0), arrayCumSum(arrayMap(p -> toUInt64(p > 0), ps)), ps)
                           AS before,
                       arrayMap(i -> ps[arrayReduce('max', arrayFilter((j, p) -> j < i AND p > 0, arrayEnumerate(ps), ps))],
                                arrayEnumerate(ps)) AS prev
                FROM {db}.target_observations
                GROUP BY target_id
            )
            ARRAY JOIN obs AS o, before AS b, prev AS pp",
    ),
    m(
        21,
        "rank_sessions view",
        "CREATE VIEW IF NOT EXISTS {db}.rank_sessions AS
            SELECT target_id, session, min(run_day) AS first_day, max(run_day) AS last_day,
                   sum(exposed) AS exposures, count() AS observations,
                   nullIf(minIf(p, exposed = 1), 0) AS best_position,
                   nullIf(maxIf(p, exposed = 1), 0) AS worst_position,
                   if(sum(exposed) = 0, NULL, avgIf(p, exposed = 1)) AS average_position
            FROM (SELECT target_id, session, run_day, exposed, ifNull(position, 0) AS p FROM {db}.rank_history)
            GROUP BY target_id, session",
    ),
    // Price analytics: each change of a product's price between consecutive crawls (arrays in time
    // order, no window functions), and the drops of the last week (`in_last_day` for the last day).
    m(
        22,
        "price_changes view",
        "CREATE VIEW IF NOT EXISTS {db}.price_changes AS
            SELECT source, product_id, currency,
                   tupleElement(c, 1) AS changed_at, tupleElement(c, 2) AS previous_at,
                   tupleElement(c, 3) AS old_minor, tupleElement(c, 4) AS new_minor,
                   toInt64(tupleElement(c, 4)) - toInt64(tupleElement(c, 3)) AS change_minor,
                   if(tupleElement(c, 3) = 0, NULL,
                      round((tupleElement(c, 4) - tupleElement(c, 3)) * 100 / tupleElement(c, 3), 2)) AS percent
            FROM (
                SELECT source, product_id, currency,
                       arraySort(x -> x.1, groupArray((observed_at, price_minor))) AS obs,
                       arrayFilter(x -> tupleElement(x, 3) != tupleElement(x, 4),
                           arrayMap(i -> (tupleElement(obs[i + 1], 1), tupleElement(obs[i], 1),
                                          tupleElement(obs[i], 2), tupleElement(obs[i + 1], 2)),
                                    arrayEnumerate(arrayPopBack(obs)))) AS changes
                FROM {db}.price_observations FINAL
                GROUP BY source, product_id, currency
            )
            ARRAY JOIN changes AS c",
    ),
    m(
        23,
        "biggest_drops view",
        "CREATE VIEW IF NOT EXISTS {db}.biggest_drops AS
            SELECT source, product_id, currency, changed_at, old_minor, new_minor, percent,
                   toUInt8(changed_at >= now() - 86400) AS in_last_day
            FROM {db}.price_changes
            WHERE new_minor < old_minor AND changed_at >= now() - 604800
            ORDER BY percent ASC, changed_at DESC",
    ),
    // Issue 7, run summaries: how many requests a fetch enqueued, so a run knows when it is settled.
    m_add_column(
        24,
        "fetch_log.discovered",
        "fetch_log",
        "discovered",
        "ALTER TABLE {db}.fetch_log ADD COLUMN discovered Int32 DEFAULT 0",
    ),
    // One row per run: its summary (RunEvent kind `summary`), the latest per run counting.
    m(
        25,
        "runs",
        "CREATE TABLE IF NOT EXISTS {db}.runs (
            run_id String, schedule Nullable(String), source String, what String, status String,
            scheduled_at DateTime, started_at DateTime, settled_at DateTime, elapsed_ms Int64,
            requests Int64, targets Int64, total Int64, ok Int64, not_modified Int64, failed Int64,
            dead_lettered Int64, retried Int64, rows Int64,
            failed_urls Array(String), failed_reasons Array(String), failed_targets Array(String),
            watcher String, version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY run_id",
    ),
    // Issue 12, seller-center collection: every observation of an order (its status at changed_at and its
    // lines as parallel arrays); re-collecting a window stores the same keys again, so nothing doubles.
    m(
        26,
        "order_observations",
        "CREATE TABLE IF NOT EXISTS {db}.order_observations (
            source String, account String, order_id String, changed_at DateTime, status String,
            raw_status String, currency Nullable(String), total_minor Nullable(Int64),
            ordered_at Nullable(DateTime), paid_at Nullable(DateTime), buyer_ref Nullable(String), mapper String,
            line_ids Array(String), line_product_ids Array(Nullable(String)),
            line_option_ids Array(Nullable(String)), line_skus Array(Nullable(String)),
            line_titles Array(Nullable(String)), line_quantities Array(Int64),
            line_unit_price_minor Array(Nullable(Int64)), line_total_minor Array(Nullable(Int64)),
            line_statuses Array(Nullable(String)),
            observed_at DateTime, crawl_id String, fetch_id String, event_id String, url String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(changed_at)
          ORDER BY (source, account, order_id, changed_at, status)",
    ),
    m(
        27,
        "reviews",
        "CREATE TABLE IF NOT EXISTS {db}.reviews (
            source String, account String, review_id String, product_id Nullable(String), rating Float64,
            rating_raw Float64, rating_scale Float64, text String, author_ref Nullable(String),
            created_at DateTime, mapper String,
            observed_at DateTime, crawl_id String, fetch_id String, event_id String, url String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (source, account, review_id)",
    ),
    m(
        28,
        "inquiries",
        "CREATE TABLE IF NOT EXISTS {db}.inquiries (
            source String, account String, inquiry_id String, product_id Nullable(String),
            order_id Nullable(String), question String, answer Nullable(String), status String,
            asked_at DateTime, answered_at Nullable(DateTime), mapper String,
            observed_at DateTime, crawl_id String, fetch_id String, event_id String, url String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (source, account, inquiry_id)",
    ),
    m(
        29,
        "settlements",
        "CREATE TABLE IF NOT EXISTS {db}.settlements (
            source String, account String, settlement_id String, period_start DateTime, period_end DateTime,
            currency String, gross_minor Int64, fees_minor Int64, net_minor Int64, status Nullable(String),
            mapper String,
            observed_at DateTime, crawl_id String, fetch_id String, event_id String, url String,
            raw_topic String, raw_partition Int32, raw_offset Int64, parser String, parser_version String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (source, account, settlement_id)",
    ),
    // The latest known state of every order (the newest change; a later observation of the same change
    // wins by version).
    m(
        30,
        "orders view",
        "CREATE VIEW IF NOT EXISTS {db}.orders AS
            SELECT source, account, order_id,
                   argMax(o_status, o_changed_at) AS status, max(o_changed_at) AS changed_at,
                   argMax(o_currency, o_changed_at) AS currency, argMax(o_total_minor, o_changed_at) AS total_minor,
                   min(o_ordered_at) AS ordered_at, argMax(o_buyer_ref, o_changed_at) AS buyer_ref,
                   argMax(o_lines, o_changed_at) AS lines, count() AS observations
            FROM (
                SELECT source, account, order_id, status AS o_status, changed_at AS o_changed_at,
                       currency AS o_currency, total_minor AS o_total_minor, ordered_at AS o_ordered_at,
                       buyer_ref AS o_buyer_ref, length(line_ids) AS o_lines
                FROM {db}.order_observations FINAL
            )
            GROUP BY source, account, order_id",
    ),
    m(
        31,
        "order_lines view",
        "CREATE VIEW IF NOT EXISTS {db}.order_lines AS
            SELECT source, account, order_id, changed_at, status, currency, line_id, product_id, option_id,
                   sku, title, quantity, unit_price_minor, line_total_minor, line_status
            FROM {db}.order_observations FINAL
            ARRAY JOIN line_ids AS line_id, line_product_ids AS product_id, line_option_ids AS option_id,
                       line_skus AS sku, line_titles AS title, line_quantities AS quantity,
                       line_unit_price_minor AS unit_price_minor, line_total_minor AS line_total_minor,
                       line_statuses AS line_status",
    ),
    m(
        32,
        "orders_per_day view",
        "CREATE VIEW IF NOT EXISTS {db}.orders_per_day AS
            SELECT source, account, toDate(ordered_at) AS day, status, currency,
                   count() AS orders, sum(total_minor) AS revenue_minor
            FROM {db}.orders
            WHERE isNotNull(ordered_at)
            GROUP BY source, account, day, status, currency",
    ),
    m(
        33,
        "revenue view",
        "CREATE VIEW IF NOT EXISTS {db}.revenue AS
            SELECT source, account, toDate(ordered_at) AS day, currency, count() AS orders,
                   sum(total_minor) AS revenue_minor
            FROM {db}.orders
            WHERE isNotNull(ordered_at) AND status NOT IN ('cancelled', 'returned', 'refunded', 'pending')
            GROUP BY source, account, day, currency",
    ),
    m(
        34,
        "open_inquiries view",
        "CREATE VIEW IF NOT EXISTS {db}.open_inquiries AS
            SELECT source, account, inquiry_id, product_id, order_id, question, asked_at
            FROM {db}.inquiries FINAL
            WHERE status = 'open'
            ORDER BY asked_at",
    ),
    m(
        35,
        "latest_reviews view",
        "CREATE VIEW IF NOT EXISTS {db}.latest_reviews AS
            SELECT source, account, review_id, product_id, rating, text, created_at
            FROM {db}.reviews FINAL
            ORDER BY created_at DESC",
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
    v.extend(MIGRATIONS.iter().map(|m| m.sql.replace("{db}", db)));
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
    for Migration { version, name, sql: stmt, only_if_exists, only_if_missing_column } in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let mut run = match only_if_exists {
            None => true,
            Some(table) => table_exists(sql, table).await?,
        };
        if let Some((table, column)) = only_if_missing_column {
            run = run && !column_exists(sql, table, column).await?;
        }
        if run {
            sql.execute(&stmt.replace("{db}", db)).await?;
        }
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

/// Whether table `name` exists in the database.
async fn table_exists(sql: &Sql, name: &str) -> Result<bool, ClickHouseError> {
    let text = sql
        .query_text(&format!(
            "SELECT count() FROM system.tables WHERE database = '{}' AND name = '{}'",
            sql.database(),
            name.replace('\'', "")
        ))
        .await?;
    Ok(text.trim() != "0")
}

/// Whether `table` has `column`.
async fn column_exists(sql: &Sql, table: &str, column: &str) -> Result<bool, ClickHouseError> {
    let text = sql
        .query_text(&format!(
            "SELECT count() FROM system.columns WHERE database = '{}' AND table = '{}' AND name = '{}'",
            sql.database(),
            table.replace('\'', ""),
            column.replace('\'', "")
        ))
        .await?;
    Ok(text.trim() != "0")
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
    let missing: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ClickHouseError::Config(format!("migrations {missing:?} are not applied; run `shopstream migrate`")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn merge_statements_quote_keys_and_name_the_database() {
        let sql = super::merge_products("shop", &[("books", "it's {db}"), ("b\\x", "2")]);
        assert!(sql.starts_with("INSERT INTO shop.products SELECT"), "{sql}");
        assert!(sql.contains("FROM shop.product_observations FINAL"), "{sql}");
        assert!(sql.contains(r"('books', 'it\'s {db}')"), "{sql}");
        assert!(sql.contains(r"('b\\x', '2')"), "{sql}");
    }

    #[test]
    fn versions_are_unique_and_increasing() {
        let versions: Vec<u32> = super::MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    }
}
