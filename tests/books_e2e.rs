//! The whole path on real services: the sandbox's Books to Scrape snapshot crawled through the broker,
//! the registry and ClickHouse, checked against an independent reading of the pages; then a replay of
//! the raw topic, and a second crawl.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{as_i64, eventually, sandbox_config, start_sandbox, TestEnv};

/// What a book page says, read with plain string search (not with the project's parser).
#[derive(Debug, Clone, PartialEq)]
struct Book {
    title: String,
    price_minor: i64,
    rating: f64,
    stock: i64,
    upc: String,
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find(';') else { break };
        let entity = &rest[i + 1..i + j];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&rest[i..=i + j]),
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

fn read_book(html: &str) -> Book {
    let main = &html[html.find("product_main").expect("product_main")..];
    let title = unescape(between(main, "<h1>", "</h1>").expect("h1").trim());
    let price = between(main, "<p class=\"price_color\">", "</p>").expect("price");
    let digits: String = price.chars().filter(|c| c.is_ascii_digit()).collect();
    assert!(price.contains('.') && price.contains('£'), "price {price}");
    let stars = between(main, "<p class=\"star-rating ", "\"").expect("stars");
    let rating =
        ["Zero", "One", "Two", "Three", "Four", "Five"].iter().position(|w| *w == stars).expect("star word") as f64;
    let avail = between(main, "availability\">", "</p>").expect("availability");
    let stock = between(avail, "(", " available)").map(|n| n.parse().expect("stock")).unwrap_or(0);
    let upc = between(html, "<th>UPC</th><td>", "</td>").expect("upc").to_string();
    Book { title, price_minor: digits.parse().expect("price digits"), rating, stock, upc }
}

/// Every book in the snapshot by product id, and the "All products" order.
fn read_snapshot() -> (BTreeMap<String, Book>, Vec<String>) {
    let snap = shopstream_sandbox::snapshot();
    let mut books = BTreeMap::new();
    for (path, bytes) in snap.pages() {
        let html = std::str::from_utf8(bytes).expect("utf8");
        if let Some(rest) = path.strip_prefix("/catalogue/") {
            if let Some(id) = rest.strip_suffix("/index.html") {
                books.insert(id.to_string(), read_book(html));
            }
        }
    }
    let mut order = Vec::new();
    let listing: Vec<String> = std::iter::once("/index.html".to_string())
        .chain((2..=50).map(|n| format!("/catalogue/page-{n}.html")))
        .collect();
    for path in listing {
        let html = std::str::from_utf8(snap.get(&path).expect("listing page")).expect("utf8");
        for chunk in html.split("<h3><a href=\"").skip(1) {
            let href = &chunk[..chunk.find('"').expect("href end")];
            let id = href.trim_start_matches("catalogue/").trim_end_matches("/index.html");
            order.push(id.to_string());
        }
    }
    (books, order)
}

fn dump(env: &TestEnv, table: &str, order: &str) -> Vec<serde_json::Value> {
    env.query(&format!("SELECT * FROM {}.{table} FINAL ORDER BY {order}", env.database))
}

#[test]
fn the_snapshot_crawls_end_to_end_replays_exactly_and_recrawls_once_more() {
    let (books, order) = read_snapshot();
    assert_eq!(books.len(), 1000, "the snapshot has 1,000 book pages");
    assert_eq!(order.len(), 1000, "the listing has 1,000 entries");

    let (base, _sandbox) = start_sandbox(0);
    let mut env =
        TestEnv::new("e2e", &sandbox_config(&["li.next a", "article.product_pod h3 a", "ul.nav-list a"], 1000));
    let db = env.database.clone();
    let metrics_port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let run = env.spawn(env.cmd(&["run", "--metrics-listen", &metrics_addr]));
    env.run_ok(&["crawl", "--seed", &format!("{base}/index.html"), "--crawl-id", "crawl-1"]);
    eventually("1,000 products and 1,000 ranks in ClickHouse", Duration::from_secs(900), || {
        // The loader creates the database when it starts: until then the counts are not there.
        env.try_count(&format!("SELECT count() FROM {db}.products FINAL")).unwrap_or(0) >= 1000
            && env.try_count(&format!("SELECT count() FROM {db}.rank_observations FINAL")).unwrap_or(0) >= 1000
    });
    env.wait_idle(&format!("g_{}", env.id));

    // The stage counters reconcile: every record in is out or dead-lettered, and the stages are healthy.
    let metrics = common::reqwest::blocking_get_text(&format!("http://{metrics_addr}/metrics"));
    let sum = |name: &str, stage: &str| -> u64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(&format!("shopstream_{name}{{")) && l.contains(&format!("stage=\"{stage}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    assert_eq!(sum("records_in", "extract"), 1101, "1,050 pages and 51 dead links requested:\n{metrics}");
    for stage in ["extract", "transform", "load"] {
        let (i, o, d) = (sum("records_in", stage), sum("records_out", stage), sum("dead_lettered", stage));
        assert!(i > 0, "{stage} counted its records");
        assert_eq!(i, o + d, "{stage}: in = out + dead-lettered\n{metrics}");
    }
    let health: serde_json::Value =
        serde_json::from_str(&common::reqwest::blocking_get_text(&format!("http://{metrics_addr}/health")))
            .expect("health JSON");
    assert_eq!(health["status"], "healthy", "{health}");

    // Products: exactly the 1,000 books, each equal to what its page says.
    let rows = env.query(&format!(
        "SELECT p.product_id AS id, p.title AS title, p.rating AS rating, p.stock AS stock, p.upc AS upc, p.in_stock AS in_stock,
                l.price_minor AS price_minor, l.currency AS currency
         FROM (SELECT * FROM {db}.products FINAL) AS p
         ANY LEFT JOIN (SELECT product_id, price_minor, currency FROM {db}.price_observations FINAL) AS l USING (product_id)"
    ));
    assert_eq!(rows.len(), 1000, "exactly 1,000 products");
    for r in &rows {
        let id = r["id"].as_str().expect("id");
        let book = books.get(id).unwrap_or_else(|| panic!("product {id} is not a book of the snapshot"));
        assert_eq!(r["title"].as_str(), Some(book.title.as_str()), "title of {id}");
        assert_eq!(as_i64(&r["price_minor"]), book.price_minor, "price of {id}");
        assert_eq!(r["currency"].as_str(), Some("GBP"), "currency of {id}");
        assert_eq!(r["rating"].as_f64(), Some(book.rating), "rating of {id}");
        assert_eq!(as_i64(&r["stock"]), book.stock, "stock of {id}");
        assert_eq!(as_i64(&r["in_stock"]), i64::from(book.stock > 0), "in_stock of {id}");
        assert_eq!(r["upc"].as_str(), Some(book.upc.as_str()), "UPC of {id}");
    }
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")), 1000);

    // Ranks: positions 1…1,000 in the listing's order.
    let ranks = env.query(&format!(
        "SELECT product_id, position FROM {db}.rank_observations FINAL WHERE list_id = 'all-products' ORDER BY position"
    ));
    let got: Vec<(i64, String)> =
        ranks.iter().map(|r| (as_i64(&r["position"]), r["product_id"].as_str().expect("id").to_string())).collect();
    let want: Vec<(i64, String)> = order.iter().enumerate().map(|(i, id)| (i as i64 + 1, id.clone())).collect();
    assert_eq!(got, want, "ranks are the absolute listing positions");

    // Dead links are recorded fetch failures, not errors.
    let dead =
        env.count(&format!("SELECT count() FROM {db}.fetch_log FINAL WHERE status = 404 AND outcome = 'http_error'"));
    assert!(dead >= 50, "the category links (dead in the snapshot) end as 404s in fetch_log, got {dead}");
    assert_eq!(
        env.count(&format!("SELECT count() FROM {db}.fetch_log FINAL WHERE outcome = 'ok'")),
        1050,
        "each page fetched once"
    );

    // Replay: the raw topic from its start through a new transform group, into the same loader group.
    let products_before = dump(&env, "products", "source, product_id");
    let prices_before = dump(&env, "price_observations", "source, product_id, crawl_id");
    let ranks_before = dump(&env, "rank_observations", "source, list_id, product_id, crawl_id");
    env.stop(run);
    let loader = env.spawn(env.cmd(&["load"]));
    let replay = env.spawn(env.cmd_with_groups(&["transform"], &format!("replay_{}", env.id)));
    let replay_groups = format!("replay_{}", env.id);
    let out = env
        .cmd_with_groups(
            &["wait-idle", "--stages", "transform", "--timeout-secs", "600", "--settle-secs", "3"],
            &replay_groups,
        )
        .output()
        .expect("wait-idle");
    assert!(out.status.success(), "the replay did not finish: {}", String::from_utf8_lossy(&out.stderr));
    env.wait_idle(&format!("g_{}", env.id));
    env.stop(replay);
    env.stop(loader);
    assert_eq!(dump(&env, "products", "source, product_id"), products_before, "replay leaves the same products");
    assert_eq!(
        dump(&env, "price_observations", "source, product_id, crawl_id"),
        prices_before,
        "replay leaves the same prices"
    );
    assert_eq!(
        dump(&env, "rank_observations", "source, list_id, product_id, crawl_id"),
        ranks_before,
        "replay leaves the same ranks"
    );

    // A second crawl: one new price observation per book, no second product.
    let run = env.spawn(env.cmd(&["run"]));
    env.run_ok(&["crawl", "--seed", &format!("{base}/index.html"), "--crawl-id", "crawl-2"]);
    eventually("the second crawl's prices", Duration::from_secs(900), || {
        env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")) >= 2000
    });
    env.wait_idle(&format!("g_{}", env.id));
    env.stop(run);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.products FINAL")), 1000);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")), 2000);
    assert_eq!(
        env.count(&format!("SELECT count() FROM (SELECT product_id FROM {db}.price_observations FINAL GROUP BY product_id HAVING count() = 2)")),
        1000,
        "exactly two observations per book"
    );
}
