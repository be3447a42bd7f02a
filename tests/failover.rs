//! Failover on the real broker. A kill storm: `shopstream run` killed with SIGKILL several times in quick
//! succession while it crawls three shops, restarted each time; the last process must finish the crawl on
//! its own (the broker reassigns every partition once the dead members' sessions expire) and the tables
//! must be exact. tansu 0.6.0 wedged here (the survivor owned no partitions for good); nisshi heals.
//! A second instance of every stage joining mid-run: the revoked partitions' work is drained and
//! committed first, so nothing is lost or doubled and the counts reconcile.
//! And a member that owns nothing while its group has lag says so in `/metrics` and `/health`.

mod common;

use std::time::Duration;

use common::{eventually, free_port, start_sandbox, start_sandbox_with, TestEnv};
use rand::Rng;

/// Sources crawling the sandbox's shops: pagination and the listings' books (`ol.row`). Not the book pages'
/// "recently viewed" books (`ul.row`): those link every book from many pages, and a process that takes a
/// host over starts with an empty crawl memory, so it would fetch again books its predecessor fetched
/// (rows converge; see `extractors/src/http/crawl_memory.rs`), which would hide what these tests count.
fn shops_config(shops: u32, per_host_concurrency: u32) -> String {
    (1..=shops)
        .map(|i| {
            format!(
                "[sources.shop{i}]\nparser = {{ type = \"books_toscrape\" }}\ndefault_currency = \"GBP\"\n\n\
                 [sources.shop{i}.fetch]\nallow_private_network = true\n\
                 follow = [\"li.next a\", \"ol.row article.product_pod h3 a\"]\nper_host_concurrency = {per_host_concurrency}\n\n"
            )
        })
        .collect()
}

#[test]
fn a_kill_storm_heals_on_its_own_and_the_tables_are_exact() {
    let (base, _sandbox) = start_sandbox(3);
    let mut env = TestEnv::new("storm", &shops_config(3, 16));
    let db = env.database.clone();
    env.run_ok(&["topics"]);
    env.run_ok(&["migrate"]);
    let mut run = env.spawn(env.cmd(&["run"]));
    for i in 1..=3 {
        let (source, seed) = (format!("shop{i}"), format!("{base}/shop{i}/index.html"));
        env.run_ok(&["crawl", "--source", &source, "--crawl-id", "storm", "--seed", &seed]);
    }
    // Four SIGKILLs 1.5–5 s apart, each followed by an immediate restart: every stage dies mid-work
    // (no drain, no commit) and the group sees members vanish and join in quick succession.
    let mut rng = rand::rng();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(rng.random_range(1500..5000)));
        env.kill9(run);
        run = env.spawn(env.cmd(&["run"]));
    }
    // From here nobody helps: the last process must get every partition and finish.
    env.wait_idle(&format!("g_{}", env.id));
    let log = env.child_log(run);
    env.stop(run);

    // Exact: every book once, one observation each for the crawl, every page fetched.
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.products FINAL")), 3000, "products\n{log}");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")), 3000, "prices");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.rank_observations FINAL")), 3000, "ranks");
    assert_eq!(
        env.count(&format!("SELECT uniqExact(url) FROM {db}.fetch_log FINAL WHERE outcome = 'ok'")),
        3 * 1050,
        "every listing and book page was fetched"
    );
    assert_eq!(
        env.count(&format!("SELECT count() FROM {db}.price_observations FINAL WHERE price_minor <= 0")),
        0,
        "no row without its price"
    );
    // Ranks are 1…1,000 in each shop's listing, each once.
    assert_eq!(
        env.count(&format!(
            "SELECT count() FROM (SELECT source, position FROM {db}.rank_observations FINAL \
             GROUP BY source, position HAVING count() = 1 AND position BETWEEN 1 AND 1000)"
        )),
        3000
    );
}

/// The pages of `raw` fetched more than once, with when and at which depth (for a failure's message).
fn doubled_pages(env: &TestEnv, raw: &[shopstream_core::kafka::KeyedRecord]) -> String {
    let codec = shopstream_core::Codec::new(&env.registry);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut fetches: std::collections::BTreeMap<String, Vec<(i64, i32, String)>> = Default::default();
    for payload in raw.iter().filter_map(|(_, v)| v.as_ref()) {
        if let Ok(page) = rt.block_on(codec.decode::<shopstream_schemas::RawPage>(payload)) {
            fetches.entry(page.url).or_default().push((page.fetched_at, page.depth, page.fetch_id));
        }
    }
    let mut doubled: Vec<_> = fetches.iter().filter(|(_, f)| f.len() > 1).collect();
    // Listing pages first: a listing fetched twice re-enqueues its books.
    doubled.sort_by_key(|(url, _)| {
        !(url.contains("/page-") || url.ends_with("/index.html") && url.matches('/').count() <= 4)
    });
    let first: Vec<String> = doubled.iter().take(12).map(|(url, f)| format!("{url} {f:?}")).collect();
    format!("{} page(s) fetched more than once, first: {first:#?}", doubled.len())
}

/// The sum over every process's /metrics of a stage counter.
fn counter(metrics: &[String], name: &str, stage: &str) -> u64 {
    metrics
        .iter()
        .flat_map(|m| m.lines())
        .filter(|l| l.starts_with(&format!("shopstream_{name}{{")) && l.contains(&format!("stage=\"{stage}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_second_instance_of_every_stage_joining_mid_run_loses_and_doubles_nothing() {
    // Slow answers and 16 fetches at a time: the first process always has work in flight when the
    // second joins, and the rebalance revokes every partition. The revoked work is drained and
    // committed before the partitions move, so no page is fetched twice and no record is processed twice.
    let faults = shopstream_sandbox::Faults { latency_ms: 40, ..Default::default() };
    let (base, _sandbox) = start_sandbox_with(2, faults);
    let mut env = TestEnv::new("join", &shops_config(2, 16));
    let db = env.database.clone();
    env.run_ok(&["topics"]);
    env.run_ok(&["migrate"]);
    let ports = [free_port(), free_port()];
    let listen = |port: u16| format!("127.0.0.1:{port}");
    let first = env.spawn(env.cmd(&["run", "--metrics-listen", &listen(ports[0])]));
    for i in 1..=2 {
        let (source, seed) = (format!("shop{i}"), format!("{base}/shop{i}/index.html"));
        env.run_ok(&["crawl", "--source", &source, "--crawl-id", "join", "--seed", &seed]);
    }
    eventually("the first process to be mid-crawl", Duration::from_secs(120), || {
        env.try_count(&format!("SELECT count() FROM {db}.products FINAL")).unwrap_or(0) >= 100
    });
    let second = env.spawn(env.cmd(&["run", "--metrics-listen", &listen(ports[1])]));
    env.wait_idle(&format!("g_{}", env.id));
    let metrics: Vec<String> =
        ports.iter().map(|p| common::reqwest::blocking_get_text(&format!("http://{}/metrics", listen(*p)))).collect();
    let logs = format!("first:\n{}\nsecond:\n{}", env.child_log(first), env.child_log(second));
    assert!(logs.contains("Partitions were revoked."), "a rebalance happened\n{logs}");

    // Nothing lost.
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.products FINAL")), 2000, "products\n{logs}");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")), 2000, "prices");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.rank_observations FINAL")), 2000, "ranks");
    // Nothing doubled: every request was consumed once over both processes, every page fetched and
    // published once, every raw page transformed once.
    let raw = shopstream_core::kafka::read_to_end(&env.brokers, &format!("{}raw.pages", env.topic_prefix()))
        .expect("read raw.pages");
    assert_eq!(raw.len(), 2 * 1050, "one raw record per page: {}\n{logs}", doubled_pages(&env, &raw));
    assert_eq!(counter(&metrics, "records_in", "extract"), 2 * 1050, "requests consumed once\n{logs}");
    assert_eq!(counter(&metrics, "records_in", "transform"), 2 * 1050, "raw pages consumed once\n{logs}");
    let prices = shopstream_core::kafka::read_to_end(&env.brokers, &format!("{}events.prices", env.topic_prefix()))
        .expect("read events.prices");
    assert_eq!(prices.len(), 2000, "one price event per book");
    // Counts reconcile per stage over both processes (released: rows a revoke left to the next owner),
    // once the last records settled: the run watcher's summary event may still sit in a loader batch.
    let scrape = || -> Vec<String> {
        ports.iter().map(|p| common::reqwest::blocking_get_text(&format!("http://{}/metrics", listen(*p)))).collect()
    };
    let unreconciled = |metrics: &[String]| -> Vec<String> {
        ["extract", "transform", "load"]
            .iter()
            .filter_map(|stage| {
                let (i, o) = (counter(metrics, "records_in", stage), counter(metrics, "records_out", stage));
                let (d, r) = (counter(metrics, "dead_lettered", stage), counter(metrics, "records_released", stage));
                (i != o + d + r).then(|| format!("{stage}: in {i} != out {o} + dead-lettered {d} + released {r}"))
            })
            .collect()
    };
    let mut last = Vec::new();
    let reconciled = (0..60).any(|_| {
        last = unreconciled(&scrape());
        last.is_empty() || {
            std::thread::sleep(Duration::from_millis(500));
            false
        }
    });
    assert!(reconciled, "counts do not reconcile: {last:?}\n{:?}", scrape());
    env.stop(second);
    env.stop(first);
}

#[test]
fn a_member_that_owns_nothing_while_its_group_has_lag_says_so() {
    // One slow host: its requests share one partition (keyed by host), so with two partitions and three
    // extractors one member owns nothing while the group has a queue of slow fetches.
    let (mut env, _sandbox, ports, members) = slow_host_with_three_extractors("idle", 1500, &[]);

    let mut reported = String::new();
    eventually("one member to report that it owns nothing while the group has lag", Duration::from_secs(90), || {
        for port in &ports {
            let url = format!("http://127.0.0.1:{port}/health");
            let Ok(body) = std::panic::catch_unwind(|| common::reqwest::blocking_get_json(&url)) else { continue };
            let reasons = body["reasons"].as_array().cloned().unwrap_or_default();
            if let Some(r) = reasons.iter().filter_map(|r| r.as_str()).find(|r| r.contains("owns no partitions")) {
                assert_eq!(body["status"], "degraded", "{body}");
                reported = format!("{port}\t{r}");
                return true;
            }
        }
        false
    });
    let port: u16 = reported.split('\t').next().and_then(|p| p.parse().ok()).expect("port");
    let metrics = common::reqwest::blocking_get_text(&format!("http://127.0.0.1:{port}/metrics"));
    assert!(metrics.contains("shopstream_assigned_partitions{stage=\"extract\"} 0"), "{metrics}");
    assert!(metrics.contains("shopstream_idle_with_lag{stage=\"extract\"} 1"), "{metrics}");
    assert!(metrics.contains("shopstream_consumer_lag{stage=\"extract\""), "{metrics}");
    assert!(reported.contains("records of lag") || reported.contains("record(s) of lag"), "{reported}");
    for m in members {
        env.stop(m);
    }
}

#[test]
fn a_member_that_owns_nothing_while_its_group_does_not_progress_joins_again() {
    // Fetches slower than the rejoin delay: the group's lag cannot go down in time, so the member that
    // owns nothing leaves and joins the group again, and says so in its log and /metrics.
    let (mut env, _sandbox, ports, members) =
        slow_host_with_three_extractors("rejoin", 15_000, &[("SHOPSTREAM_REJOIN_AFTER_SECS", "3")]);

    let mut rejoined = None;
    eventually("a member that owns nothing to join the group again", Duration::from_secs(90), || {
        rejoined = members.iter().copied().find(|m| env.child_log(*m).contains("joins the group again"));
        rejoined.is_some()
    });
    let m = rejoined.expect("a member");
    let port = ports[members.iter().position(|x| *x == m).expect("index")];
    let metrics = common::reqwest::blocking_get_text(&format!("http://127.0.0.1:{port}/metrics"));
    assert!(metrics.contains("shopstream_group_rejoins{stage=\"extract\"}"), "{metrics}");
    for m in members {
        env.kill9(m);
    }
}

/// One slow sandbox host (`latency_ms` per answer) and three extractors (metrics on `ports`, group checks
/// every second, `extra` environment) crawling 40 of its pages: its requests share one partition (keyed
/// by host), so with two partitions one member owns nothing while the group has a queue of slow fetches.
fn slow_host_with_three_extractors(
    name: &str,
    latency_ms: u64,
    extra: &[(&str, &str)],
) -> (TestEnv, tokio_util::sync::CancellationToken, Vec<u16>, Vec<usize>) {
    let faults = shopstream_sandbox::Faults { latency_ms, ..Default::default() };
    let (base, sandbox) = start_sandbox_with(0, faults);
    let mut env = TestEnv::new(name, &books_config());
    env.run_ok(&["topics"]);
    let urls: Vec<String> = (1..=40).map(|i| format!("{base}/catalogue/page-{i}.html")).collect();
    let urls_file = env.dir.path().join("urls.txt");
    std::fs::write(&urls_file, urls.join("\n")).expect("urls");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut members = Vec::new();
    for port in &ports {
        let mut c = env.cmd(&["extract"]);
        c.env("SHOPSTREAM_METRICS_LISTEN", format!("127.0.0.1:{port}")).env("SHOPSTREAM_GROUP_CHECK_SECS", "1");
        c.envs(extra.iter().copied());
        members.push(env.spawn(c));
    }
    env.run_ok(&["crawl", "--source", "books", "--crawl-id", name, "--urls-file", urls_file.to_str().expect("path")]);
    (env, sandbox, ports, members)
}

fn books_config() -> String {
    "[sources.books]\nparser = { type = \"books_toscrape\" }\ndefault_currency = \"GBP\"\n\n\
     [sources.books.fetch]\nallow_private_network = true\nper_host_concurrency = 1\n"
        .to_string()
}
