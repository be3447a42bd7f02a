//! The fault suite (issue 10). While the pipeline crawls the sandbox's shops (each stage its own process,
//! on a broker and a registry of the test's own, ClickHouse behind a switch), it kills every stage with
//! SIGKILL several times, restarts the broker, takes ClickHouse away, turns on the sandbox's 503/429
//! storms and slow answers, and feeds poison: pages (invalid UTF-8, 50 MB, a gzip bomb, no product, a
//! negative and an absurd price, a truncated page) and records (no Avro at all on every events topic, one
//! written with a schema the reader cannot resolve). Then the tables under FINAL must equal a clean run's,
//! every record of every stage must be accounted for (in = out + dead-lettered), and every dead letter must
//! be one a fault explains. It prints a table: fault, times injected, rows lost, rows doubled, dead letters
//! (expected / unexpected), recovery time.
//!
//! `scripts/test` runs the short form (one shop, each fault once); `scripts/chaos` the full one
//! (`SHOPSTREAM_CHAOS=full`: five shops, three kills per stage, two broker restarts, ClickHouse down 30 s).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{eventually, free_port, Switch, TestEnv};
use shopstream_schemas::{
    CrawlRequest, DeadLetter, FetchObserved, PriceObserved, ProductObserved, RankObserved, RawPage,
};

/// How hard to shake.
struct Plan {
    shops: u32,
    kills_per_stage: u32,
    broker_restarts: u32,
    clickhouse_down: Duration,
    storms: u32,
    storm: Duration,
}

impl Plan {
    fn from_env() -> Plan {
        if std::env::var("SHOPSTREAM_CHAOS").is_ok_and(|v| v == "full") {
            Plan {
                shops: 5,
                kills_per_stage: 3,
                broker_restarts: 2,
                clickhouse_down: Duration::from_secs(30),
                storms: 2,
                storm: Duration::from_secs(10),
            }
        } else {
            Plan {
                shops: 1,
                kills_per_stage: 1,
                broker_restarts: 1,
                clickhouse_down: Duration::from_secs(10),
                storms: 1,
                storm: Duration::from_secs(6),
            }
        }
    }
}

/// One line of the printed table.
#[derive(Default)]
struct Fault {
    injected: u32,
    /// Seconds from the end of each injection to the next progress of the pipeline.
    recovery: Vec<f64>,
    expected_dead_letters: usize,
}

/// A broker of the test's own (nisshi, sqlite in a temp dir), so that it can be killed and restarted.
struct Broker {
    bin: String,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    fn start() -> Broker {
        let bin = common::env("SHOPSTREAM_BROKER_BIN");
        let mut b = Broker { bin, dir: tempfile::tempdir().expect("tempdir"), port: free_port(), child: None };
        b.spawn();
        b
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("broker.log"))
            .expect("broker log");
        let child = Command::new(&self.bin)
            .args(["broker", "--cluster-id", "chaos", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://broker.db"])
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the broker (SHOPSTREAM_BROKER_BIN)");
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        eventually("the broker to listen", Duration::from_secs(30), || std::net::TcpStream::connect(&addr).is_ok());
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn shops_config(shops: u32) -> String {
    let mut config: String = (1..=shops)
        .map(|i| {
            format!(
                "[sources.shop{i}]\nparser = {{ type = \"books_toscrape\" }}\ndefault_currency = \"GBP\"\n\n\
                 [sources.shop{i}.fetch]\nallow_private_network = true\nper_host_concurrency = 8\n\
                 follow = [\"li.next a\", \"article.product_pod h3 a\"]\n\n"
            )
        })
        .collect();
    config.push_str(
        "[sources.poison]\nparser = { type = \"books_toscrape\" }\ndefault_currency = \"GBP\"\n\n\
         [sources.poison.fetch]\nallow_private_network = true\n",
    );
    config
}

/// The rows a run leaves, one text line each, per table (the shops' sources only).
fn rows(env: &TestEnv) -> BTreeMap<&'static str, Vec<String>> {
    let db = &env.database;
    let queries = [
        (
            "products",
            format!(
                "SELECT source, product_id, url, title, category, upc, rating, stock, in_stock FROM {db}.products \
                 FINAL WHERE source LIKE 'shop%'"
            ),
        ),
        (
            "price_observations",
            format!(
                "SELECT source, product_id, crawl_id, price_minor, currency, amount FROM {db}.price_observations \
                 FINAL WHERE source LIKE 'shop%'"
            ),
        ),
        (
            "rank_observations",
            format!(
                "SELECT source, list_id, crawl_id, position, product_id FROM {db}.rank_observations FINAL \
                 WHERE source LIKE 'shop%'"
            ),
        ),
        (
            "fetch_log (ok)",
            format!(
                "SELECT DISTINCT source, url FROM {db}.fetch_log FINAL WHERE outcome = 'ok' AND source LIKE 'shop%'"
            ),
        ),
    ];
    queries
        .into_iter()
        .map(|(table, sql)| {
            let mut lines: Vec<String> =
                env.query_text(&format!("{sql} FORMAT TSV")).lines().map(str::to_string).collect();
            lines.sort();
            (table, lines)
        })
        .collect()
}

/// Crawl every shop and the poison pages in crawl `crawl`, with quick retries of failed requests.
fn crawl(env: &TestEnv, base: &str, shops: u32, crawl: &str) {
    for i in 1..=shops {
        let seed = format!("{base}/shop{i}/index.html");
        env.run_ok(&[
            "crawl",
            "--source",
            &format!("shop{i}"),
            "--crawl-id",
            crawl,
            "--seed",
            &seed,
            "--retry-delay",
            "5s",
        ]);
    }
    let mut args = vec!["crawl", "--source", "poison", "--crawl-id", crawl];
    let seeds: Vec<String> = shopstream_sandbox::poison::PAGES.iter().map(|(p, _)| format!("{base}{p}")).collect();
    for s in &seeds {
        args.extend(["--seed", s.as_str()]);
    }
    env.run_ok(&args);
}

/// Rows loaded so far (a cheap measure of progress; duplicates count too).
fn progress(env: &TestEnv) -> i64 {
    let db = &env.database;
    env.try_count(&format!(
        "SELECT (SELECT count() FROM {db}.fetch_log) + (SELECT count() FROM {db}.product_observations)"
    ))
    .unwrap_or(0)
}

/// Whether every stage's group has caught up (no lag): nothing left to recover.
fn caught_up(env: &TestEnv) -> bool {
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let groups: [(&str, Vec<&str>); 3] = [
        ("extract", topics.crawl_topics().to_vec()),
        ("transform", topics.raw_topics().to_vec()),
        ("load", topics.event_topics().to_vec()),
    ];
    groups.iter().all(|(stage, ts)| {
        shopstream_core::kafka::group_lag(&env.brokers, &format!("g_{}-{stage}", env.id), ts)
            .is_ok_and(|lag| lag.values().all(|n| *n == 0))
    })
}

/// Seconds until the pipeline makes progress again (more rows), or is found caught up with nothing left
/// to do; infinite when neither happens within `limit`.
fn recovery(env: &TestEnv, limit: Duration) -> f64 {
    let (start, before) = (Instant::now(), progress(env));
    while start.elapsed() < limit {
        if progress(env) > before || caught_up(env) {
            return start.elapsed().as_secs_f64();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    f64::INFINITY
}

/// The three stages, each its own process, restartable.
struct Stages {
    idx: BTreeMap<&'static str, usize>,
    clickhouse: String,
}

impl Stages {
    fn cmd(&self, env: &TestEnv, stage: &str) -> Command {
        let mut c = env.cmd(&[stage]);
        // Stages reach ClickHouse through the switch; the test reads it directly.
        c.env("SHOPSTREAM_CLICKHOUSE_URL", &self.clickhouse)
            .env("SHOPSTREAM_SESSION_TIMEOUT_MS", "6000")
            .env("SHOPSTREAM_MAX_POLL_INTERVAL_MS", "20000")
            .env("SHOPSTREAM_RUNS_SESSION_TIMEOUT_MS", "6000");
        c
    }

    fn start(&mut self, env: &mut TestEnv, stage: &'static str) {
        let i = env.spawn(self.cmd(env, stage));
        self.idx.insert(stage, i);
    }

    fn kill_and_restart(&mut self, env: &mut TestEnv, stage: &'static str) {
        env.kill9(self.idx[stage]);
        self.start(env, stage);
    }
}

/// Every record of a topic on the test's broker.
fn records(env: &TestEnv, topic: &str) -> Vec<shopstream_core::kafka::KeyedRecord> {
    shopstream_core::kafka::read_to_end(&env.brokers, &format!("{}{topic}", env.topic_prefix()))
        .unwrap_or_else(|e| panic!("read {topic}: {e}"))
}

fn decoded<T: shopstream_schemas::Contract>(env: &TestEnv, topic: &str) -> Vec<T> {
    let codec = shopstream_core::Codec::new(&env.registry);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    records(env, topic)
        .into_iter()
        .filter_map(|(_, v)| v)
        .filter_map(|v| rt.block_on(codec.decode::<T>(&v)).ok())
        .collect()
}

/// Poison records straight onto the events topics: bytes that are no Avro on each, and one record written
/// with a registered schema the events' reader cannot resolve. Returns how many were sent.
fn poison_records(env: &TestEnv) -> usize {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let schema = r#"{"type":"record","name":"Chaos","namespace":"io.chaos","fields":[{"name":"a","type":"int"}]}"#;
    let subject = format!("{}chaos-incompatible-value", env.topic_prefix());
    let answer = common::reqwest::blocking_post(
        &format!("{}/subjects/{subject}/versions", env.registry),
        &serde_json::json!({ "schema": schema }).to_string(),
    )
    .expect("register the incompatible schema");
    let id =
        serde_json::from_str::<serde_json::Value>(&answer).expect("JSON")["id"].as_u64().expect("schema id") as u32;
    let mut incompatible = vec![0u8];
    incompatible.extend_from_slice(&id.to_be_bytes());
    incompatible.push(2); // the int 1, zig-zag encoded
    let producer: FutureProducer =
        rdkafka::config::ClientConfig::new().set("bootstrap.servers", &env.brokers).create().expect("producer");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut sent = 0;
    for topic in topics.event_topics() {
        rt.block_on(
            producer
                .send(FutureRecord::to(topic).key("chaos").payload(b"not avro".as_slice()), Duration::from_secs(30)),
        )
        .expect("send a non-Avro record");
        sent += 1;
    }
    rt.block_on(
        producer.send(FutureRecord::to(&topics.products).key("chaos").payload(&incompatible), Duration::from_secs(30)),
    )
    .expect("send an incompatible record");
    sent + 1
}

#[test]
fn the_pipeline_survives_kills_outages_storms_and_poison_and_its_tables_equal_a_clean_runs() {
    let plan = Plan::from_env();
    let (base, _sandbox) = common::start_sandbox(plan.shops);
    let config = shops_config(plan.shops);

    // The clean run: the shared stack, no faults.
    let mut clean = TestEnv::new("clean", &config);
    clean.run_ok(&["topics"]);
    let run = clean.spawn(clean.cmd(&["run"]));
    crawl(&clean, &base, plan.shops, "chaos");
    clean.wait_idle(&format!("g_{}", clean.id));
    clean.stop(run);
    let expected = rows(&clean);
    assert_eq!(expected["products"].len(), 1000 * plan.shops as usize, "the clean run loaded every book");

    // The chaos run: a broker and a registry of its own, ClickHouse behind a switch.
    let mut broker = Broker::start();
    let mut env = TestEnv::new("chaos", &config);
    env.brokers = broker.brokers();
    let registry_port = free_port();
    env.registry = format!("http://127.0.0.1:{registry_port}");
    env.spawn({
        let mut c = env.cmd(&["registry", "--listen", &format!("127.0.0.1:{registry_port}")]);
        c.env("RUST_LOG", "warn");
        c
    });
    eventually("the registry", Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", registry_port)).is_ok()
    });
    let switch = Switch::new(env.clickhouse.trim_start_matches("http://").trim_end_matches('/'));
    switch.set(true);
    let mut stages = Stages { idx: BTreeMap::new(), clickhouse: format!("http://127.0.0.1:{}", switch.port) };
    env.run_ok(&["topics"]);
    env.run_ok(&["migrate"]);
    for stage in ["extract", "transform", "load"] {
        stages.start(&mut env, stage);
    }
    crawl(&env, &base, plan.shops, "chaos");
    let mut faults: BTreeMap<&'static str, Fault> = BTreeMap::new();
    let sandbox_faults = |q: &str| common::reqwest::blocking_get_text(&format!("{base}/_sandbox/faults?{q}"));
    sandbox_faults("latency_ms=60");

    let started = Instant::now();
    let mut rng = rand::rng();
    use rand::Rng;
    for round in 0..plan.kills_per_stage.max(plan.broker_restarts).max(plan.storms) {
        for stage in ["extract", "transform", "load"] {
            if round < plan.kills_per_stage {
                std::thread::sleep(Duration::from_millis(rng.random_range(1500..4000)));
                stages.kill_and_restart(&mut env, stage);
                let f = faults.entry(match stage {
                    "extract" => "kill -9 extract",
                    "transform" => "kill -9 transform",
                    _ => "kill -9 load",
                });
                let f = f.or_default();
                f.injected += 1;
                f.recovery.push(recovery(&env, Duration::from_secs(30)));
            }
        }
        if round < plan.storms {
            sandbox_faults("error_rate=0.2&rate_429=0.1&latency_ms=200");
            std::thread::sleep(plan.storm);
            sandbox_faults("error_rate=0&rate_429=0&latency_ms=60");
            let f = faults.entry("503/429 storm, slow answers").or_default();
            f.injected += 1;
            f.recovery.push(recovery(&env, Duration::from_secs(30)));
        }
        if round == 0 {
            switch.set(false);
            std::thread::sleep(plan.clickhouse_down);
            switch.set(true);
            let f = faults.entry("ClickHouse down").or_default();
            f.injected += 1;
            f.recovery.push(recovery(&env, Duration::from_secs(60)));
        }
        if round < plan.broker_restarts {
            broker.kill9();
            broker.spawn();
            let f = faults.entry("broker kill -9 and restart").or_default();
            f.injected += 1;
            f.recovery.push(recovery(&env, Duration::from_secs(60)));
        }
    }
    let sent = poison_records(&env);
    faults.entry("poison records (no Avro, incompatible schema)").or_default().injected = sent as u32;
    faults.entry("poison pages").or_default().injected = shopstream_sandbox::poison::PAGES.len() as u32;
    sandbox_faults("latency_ms=0");
    env.wait_idle(&format!("g_{}", env.id));
    let elapsed = started.elapsed();

    // The tables equal the clean run's.
    let got = rows(&env);
    let mut lost = 0;
    let mut doubled = 0;
    let mut differences = Vec::new();
    for (table, want) in &expected {
        let (want_set, got_set): (BTreeSet<&String>, BTreeSet<&String>) =
            (want.iter().collect(), got[table].iter().collect());
        let missing: Vec<&&String> = want_set.difference(&got_set).collect();
        let extra: Vec<&&String> = got_set.difference(&want_set).collect();
        lost += missing.len();
        doubled += extra.len() + (got[table].len() - got_set.len());
        if !missing.is_empty() || !extra.is_empty() {
            differences.push(format!(
                "{table}: missing {:?} extra {:?}",
                &missing[..missing.len().min(5)],
                &extra[..extra.len().min(5)]
            ));
        }
    }

    // Every record of every stage is accounted for: in = out + dead-lettered, on distinct records.
    let requests: BTreeSet<(String, String)> = ["crawl.requests.high", "crawl.requests.normal", "crawl.requests.low"]
        .iter()
        .flat_map(|t| decoded::<CrawlRequest>(&env, t))
        .map(|r| (r.crawl_id, r.url))
        .collect();
    let fetched: BTreeSet<(String, String)> =
        decoded::<FetchObserved>(&env, "events.fetches").into_iter().map(|f| (f.crawl_id, f.url)).collect();
    let dead = |stage: &str| decoded::<DeadLetter>(&env, &format!("dlq.{stage}"));
    let (dlq_extract, dlq_transform, dlq_load) = (dead("extract"), dead("transform"), dead("load"));
    let codec = shopstream_core::Codec::new(&env.registry);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let extract_dead: BTreeSet<(String, String)> = dlq_extract
        .iter()
        .filter_map(|d| rt.block_on(codec.decode::<CrawlRequest>(&d.payload)).ok())
        .map(|r| (r.crawl_id, r.url))
        .collect();
    let unaccounted_extract: Vec<_> =
        requests.iter().filter(|r| !fetched.contains(*r) && !extract_dead.contains(*r)).collect();
    let raw: Vec<RawPage> = decoded(&env, "raw.pages");
    let mut transformed: BTreeSet<String> = BTreeSet::new();
    transformed.extend(decoded::<ProductObserved>(&env, "events.products").into_iter().map(|e| e.provenance.fetch_id));
    transformed.extend(decoded::<RankObserved>(&env, "events.ranks").into_iter().map(|e| e.provenance.fetch_id));
    let transform_dead: BTreeSet<String> = dlq_transform
        .iter()
        .filter_map(|d| rt.block_on(codec.decode::<RawPage>(&d.payload)).ok())
        .map(|r| r.fetch_id)
        .collect();
    let unaccounted_transform: Vec<&String> =
        raw.iter().map(|r| &r.fetch_id).filter(|f| !transformed.contains(*f) && !transform_dead.contains(*f)).collect();
    let prices: Vec<PriceObserved> = decoded(&env, "events.prices");
    let price_rows: BTreeSet<(String, String, String)> = env
        .query_text(&format!(
            "SELECT source, product_id, crawl_id FROM {}.price_observations FINAL FORMAT TSV",
            env.database
        ))
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect();
    let unaccounted_load: Vec<&PriceObserved> = prices
        .iter()
        .filter(|p| {
            !price_rows.contains(&(p.provenance.source.clone(), p.product_id.clone(), p.provenance.crawl_id.clone()))
        })
        .collect();

    // Every dead letter is one a fault explains: a poison page or record, or a storm's spent retries
    // (those URLs were fetched again later).
    let poison_urls: BTreeSet<String> =
        shopstream_sandbox::poison::PAGES.iter().map(|(p, _)| format!("{base}{p}")).collect();
    let mut expected_dead = 0;
    let mut unexpected: Vec<String> = Vec::new();
    for d in &dlq_extract {
        let url = rt.block_on(codec.decode::<CrawlRequest>(&d.payload)).map(|r| r.url).unwrap_or_default();
        let storm = (d.reason.contains("503") || d.reason.contains("429")) && fetched_ok(&env, &url);
        if poison_urls.contains(&url) || storm {
            expected_dead += 1;
        } else {
            unexpected.push(format!("extract: {}", d.reason));
        }
    }
    for d in &dlq_transform {
        let url = rt.block_on(codec.decode::<RawPage>(&d.payload)).map(|r| r.url).unwrap_or_default();
        if poison_urls.contains(&url) {
            expected_dead += 1;
        } else {
            unexpected.push(format!("transform: {} ({url})", d.reason));
        }
    }
    let poison_in_load = dlq_load.iter().filter(|d| d.key.as_deref() == Some(b"chaos".as_slice())).count();
    expected_dead += poison_in_load;
    unexpected.extend(
        dlq_load
            .iter()
            .filter(|d| d.key.as_deref() != Some(b"chaos".as_slice()))
            .map(|d| format!("load: {}", d.reason)),
    );
    let poison_pages_dead: BTreeSet<String> = dlq_extract
        .iter()
        .filter_map(|d| rt.block_on(codec.decode::<CrawlRequest>(&d.payload)).ok().map(|r| r.url))
        .chain(
            dlq_transform.iter().filter_map(|d| rt.block_on(codec.decode::<RawPage>(&d.payload)).ok().map(|r| r.url)),
        )
        .filter(|u| poison_urls.contains(u))
        .collect();
    faults.entry("poison pages").or_default().expected_dead_letters = poison_pages_dead.len();
    faults.entry("poison records (no Avro, incompatible schema)").or_default().expected_dead_letters = poison_in_load;

    println!("\nfault suite ({} shops, {:.0} s of faults and recovery)", plan.shops, elapsed.as_secs_f64());
    println!(
        "{:<48} {:>8} {:>10} {:>12} {:>22} {:>16}",
        "fault", "injected", "rows lost", "rows doubled", "dead letters exp/unexp", "recovery (max)"
    );
    for (name, f) in &faults {
        let worst = f.recovery.iter().copied().fold(0.0, f64::max);
        let recovery = if f.recovery.is_empty() {
            "-".to_string()
        } else if worst.is_finite() {
            format!("{worst:.1} s")
        } else {
            "none in 30-60 s".into()
        };
        println!(
            "{name:<48} {:>8} {:>10} {:>12} {:>22} {recovery:>16}",
            f.injected,
            "-",
            "-",
            format!("{}/-", f.expected_dead_letters)
        );
    }
    println!(
        "{:<48} {:>8} {lost:>10} {doubled:>12} {:>22} {:>16}",
        "total (tables under FINAL against the clean run)",
        faults.values().map(|f| f.injected).sum::<u32>(),
        format!("{expected_dead}/{}", unexpected.len()),
        "-"
    );
    println!(
        "reconciliation: extract {} requests, {} unaccounted; transform {} raw pages, {} unaccounted; load {} price events, {} unaccounted",
        requests.len(),
        unaccounted_extract.len(),
        raw.len(),
        unaccounted_transform.len(),
        prices.len(),
        unaccounted_load.len()
    );

    assert!(differences.is_empty(), "the tables differ from the clean run's:\n{}", differences.join("\n"));
    assert_eq!((lost, doubled), (0, 0));
    assert!(unaccounted_extract.is_empty(), "requests neither fetched nor dead-lettered: {unaccounted_extract:?}");
    assert!(
        unaccounted_transform.is_empty(),
        "raw pages neither transformed nor dead-lettered: {unaccounted_transform:?}"
    );
    assert!(unaccounted_load.is_empty(), "price events neither loaded nor dead-lettered: {}", unaccounted_load.len());
    assert!(unexpected.is_empty(), "dead letters no fault explains:\n{}", unexpected.join("\n"));
    assert_eq!(
        poison_pages_dead.len(),
        shopstream_sandbox::poison::PAGES.len(),
        "every poison page is dead-lettered: {poison_pages_dead:?}"
    );
    assert_eq!(poison_in_load, sent, "every poison record is dead-lettered by the loader");
    for (name, f) in &faults {
        assert!(f.recovery.iter().all(|r| r.is_finite()), "{name}: the pipeline did not recover: {:?}", f.recovery);
    }
}

/// Whether the URL has an ok fetch in the run's fetch log.
fn fetched_ok(env: &TestEnv, url: &str) -> bool {
    env.try_count(&format!(
        "SELECT count() FROM {}.fetch_log FINAL WHERE outcome = 'ok' AND url = '{}'",
        env.database,
        url.replace('\'', "\\'")
    ))
    .unwrap_or(0)
        > 0
}
