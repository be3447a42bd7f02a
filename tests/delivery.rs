//! Delivery guarantees on real services: a loader killed between consuming and ClickHouse's
//! acknowledgement loses nothing and doubles nothing; poison records are dead-lettered with their reason
//! and the partition moves on (in the transform and in the loader); counts reconcile.

mod common;

use std::time::Duration;

use common::{sandbox_config, start_sandbox, TestEnv};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use shopstream_core::Codec;
use shopstream_schemas::{DeadLetter, RankObserved, RawPage};

/// One listing page and its 20 books: 21 fetches, 20 products, 20 prices, 20 ranks.
fn small_crawl(name: &str) -> (TestEnv, tokio_util::sync::CancellationToken) {
    let (base, sandbox) = start_sandbox(0);
    let mut env = TestEnv::new(name, &sandbox_config(&["article.product_pod h3 a"], 1));
    let e = env.spawn(env.cmd(&["extract"]));
    let t = env.spawn(env.cmd(&["transform"]));
    env.run_ok(&["crawl", "--seed", &format!("{base}/index.html"), "--crawl-id", "small"]);
    let out =
        env.cmd(&["wait-idle", "--stages", "extract,transform", "--timeout-secs", "300"]).output().expect("wait-idle");
    assert!(
        out.status.success(),
        "extract/transform did not finish: {}\n--- extract log:\n{}\n--- transform log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&env.child_log(e), 60),
        tail(&env.child_log(t), 60)
    );
    env.stop(e);
    env.stop(t);
    (env, sandbox)
}

/// The last `n` lines of a log.
fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn loader_killed_at(failpoint: &str) {
    let (mut env, _sandbox) = small_crawl("crash");
    let db = env.database.clone();
    let mut crashing = env.cmd(&["load", "--batch-rows", "5"]);
    crashing.env("SHOPSTREAM_FAILPOINT", failpoint);
    let c = env.spawn(crashing);
    let status = env.wait(c, Duration::from_secs(120));
    assert!(!status.success(), "the loader must have been killed at {failpoint}: {}", env.child_log(c));
    assert!(env.child_log(c).contains(&format!("failpoint {failpoint}")), "{}", env.child_log(c));
    let rows_at_crash = env.count(&format!("SELECT count() FROM {db}.products"))
        + env.count(&format!("SELECT count() FROM {db}.price_observations"))
        + env.count(&format!("SELECT count() FROM {db}.rank_observations"))
        + env.count(&format!("SELECT count() FROM {db}.fetch_log"));
    if failpoint == "load.before_insert" {
        assert_eq!(rows_at_crash, 0, "nothing reached ClickHouse before the crash");
    } else {
        assert!(rows_at_crash >= 1, "one batch reached ClickHouse before the crash");
    }

    // Restarted, it loads from the last stored offsets: the crashed batch again, then the rest.
    let l = env.spawn(env.cmd(&["load", "--batch-rows", "5"]));
    env.wait_idle(&format!("g_{}", env.id));
    env.stop(l);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.products FINAL")), 20, "products");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.price_observations FINAL")), 20, "prices");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.rank_observations FINAL")), 20, "ranks");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.fetch_log FINAL")), 21, "fetches");
    assert_eq!(env.count(&format!("SELECT uniqExact(product_id) FROM {db}.price_observations FINAL")), 20);
    // Every row present is one of the 20 and has its price.
    assert_eq!(
        env.count(&format!(
            "SELECT count() FROM {db}.price_observations FINAL WHERE price_minor <= 0 OR currency != 'GBP'"
        )),
        0
    );
}

#[test]
fn a_loader_killed_before_inserting_loses_nothing() {
    loader_killed_at("load.before_insert");
}

#[test]
fn a_loader_killed_after_clickhouse_stored_but_before_acknowledging_doubles_nothing() {
    loader_killed_at("load.after_insert");
}

fn read_all(env: &TestEnv, topic: &str) -> Vec<Vec<u8>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.brokers)
        .set("group.id", format!("reader_{}", env.id))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let total = shopstream_core::kafka::topic_size(&env.brokers, topic).expect("size");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (out.len() as i64) < total && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            out.push(m.payload().unwrap_or_default().to_vec());
        }
    }
    out
}

#[test]
fn poison_records_are_dead_lettered_with_their_reason_and_counts_reconcile() {
    let (mut env, _sandbox) = small_crawl("poison");
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Two poison records behind the good ones: bytes that are no Avro at all, and a valid RawPage
    // whose body is no Books page.
    rt.block_on(async {
        let producer: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", &env.brokers).create().expect("producer");
        let codec = Codec::new(&env.registry);
        let not_a_book = RawPage {
            fetch_id: "poison-1".into(),
            crawl_id: "small".into(),
            source: "books".into(),
            url: "http://127.0.0.1/elsewhere.html".into(),
            final_url: "http://127.0.0.1/elsewhere.html".into(),
            kind: "link".into(),
            depth: 1,
            fetched_at: shopstream_core::now_ms(),
            status: 200,
            content_type: Some("text/html".into()),
            etag: None,
            last_modified: None,
            latency_ms: 1,
            body_encoding: "identity".into(),
            body_size: 24,
            body_sha256: String::new(),
            body: b"<html><p>hello</p></html>".to_vec(),
            attributes: Default::default(),
        };
        let good_avro = codec.encode(&topics.raw_pages, &not_a_book).await.expect("encode");
        for payload in [b"definitely not avro".to_vec(), good_avro] {
            producer
                .send(FutureRecord::to(&topics.raw_pages).key("poison").payload(&payload), Duration::from_secs(10))
                .await
                .map_err(|(e, _)| e)
                .expect("produce poison");
        }
    });
    let t = env.spawn(env.cmd(&["transform"]));
    let out = env.cmd(&["wait-idle", "--stages", "transform", "--timeout-secs", "300"]).output().expect("wait-idle");
    assert!(
        out.status.success(),
        "the transform group did not move past the poison: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.stop(t);

    let letters: Vec<DeadLetter> = rt.block_on(async {
        let codec = Codec::new(&env.registry);
        let mut v = Vec::new();
        for bytes in read_all(&env, &topics.dlq_transform) {
            v.push(codec.decode::<DeadLetter>(&bytes).await.expect("a dead letter"));
        }
        v
    });
    assert_eq!(letters.len(), 2, "both poison records are dead-lettered: {letters:?}");
    assert!(
        letters.iter().any(|l| l.payload == b"definitely not avro"
            && l.reason.contains("not a raw page")
            && l.error_kind == "bad_data"),
        "{letters:?}"
    );
    assert!(
        letters.iter().any(|l| l.reason.contains("neither a book page nor a listing page")
            && l.parser.as_deref() == Some("books_toscrape")),
        "{letters:?}"
    );
    assert!(letters.iter().all(|l| l.stage == "transform" && l.origin_topic == topics.raw_pages));

    // in = out + dead-lettered: 21 good raw pages gave 20 products and 1 listing; 2 poison records.
    let raw = shopstream_core::kafka::topic_size(&env.brokers, &topics.raw_pages).expect("size");
    let products = shopstream_core::kafka::topic_size(&env.brokers, &topics.products).expect("size");
    let listing_pages = 1;
    assert_eq!(raw, 23);
    assert_eq!(raw, products + listing_pages + letters.len() as i64, "raw records = parsed + dead-lettered");
}

#[test]
fn events_the_tables_cannot_hold_are_dead_lettered_by_the_loader() {
    let (mut env, _sandbox) = small_crawl("loadpoison");
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let db = env.database.clone();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Behind the 20 good ranks: bytes that are no Avro, and a valid RankObserved with position 0.
    rt.block_on(async {
        let producer: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", &env.brokers).create().expect("producer");
        let codec = Codec::new(&env.registry);
        let mut zero: RankObserved =
            serde_json::from_str(include_str!("../schemas/examples/rank_observed.json")).expect("example");
        zero.position = 0;
        zero.event_id = "poison-rank".into();
        let zero = codec.encode(&topics.ranks, &zero).await.expect("encode");
        for payload in [b"no avro here".to_vec(), zero] {
            producer
                .send(FutureRecord::to(&topics.ranks).key("poison").payload(&payload), Duration::from_secs(10))
                .await
                .map_err(|(e, _)| e)
                .expect("produce poison");
        }
    });
    let l = env.spawn(env.cmd(&["load"]));
    env.wait_idle(&format!("g_{}", env.id));
    env.stop(l);

    let letters: Vec<DeadLetter> = rt.block_on(async {
        let codec = Codec::new(&env.registry);
        let mut v = Vec::new();
        for bytes in read_all(&env, &topics.dlq_load) {
            v.push(codec.decode::<DeadLetter>(&bytes).await.expect("a dead letter"));
        }
        v
    });
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert!(letters.iter().all(|l| l.stage == "load" && l.origin_topic == topics.ranks && l.error_kind == "bad_data"));
    assert!(letters.iter().any(|l| l.payload == b"no avro here"), "{letters:?}");
    assert!(letters.iter().any(|l| l.reason.contains("position = 0 is out of range")), "{letters:?}");
    // in = out + dead-lettered: every rank record is a row or a dead letter, and no row has position 0.
    let ranks = shopstream_core::kafka::topic_size(&env.brokers, &topics.ranks).expect("size");
    let rows = env.count(&format!("SELECT count() FROM {db}.rank_observations FINAL"));
    assert_eq!((ranks, rows), (22, 20));
    assert_eq!(ranks, rows + letters.len() as i64);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.rank_observations WHERE position = 0")), 0);
}

#[test]
fn refused_and_unknown_crawl_requests_are_dead_lettered_by_the_extractor() {
    let (base, _sandbox) = start_sandbox(0);
    // A source that does not allow private networks, pointed at the local sandbox.
    let config = format!("{}\n[sources.strict]\nparser = {{ type = \"books_toscrape\" }}\n", sandbox_config(&[], 0));
    let mut env = TestEnv::new("refuse", &config);
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let e = env.spawn(env.cmd(&["extract"]));
    env.run_ok(&["crawl", "--source", "strict", "--seed", &format!("{base}/index.html")]);
    env.run_ok(&["crawl", "--source", "books", "--seed", &format!("{base}/no-such-page.html")]);
    let out = env.cmd(&["wait-idle", "--stages", "extract", "--timeout-secs", "300"]).output().expect("wait-idle");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env.stop(e);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let letters: Vec<DeadLetter> = rt.block_on(async {
        let codec = Codec::new(&env.registry);
        let mut v = Vec::new();
        for bytes in read_all(&env, &topics.dlq_extract) {
            v.push(codec.decode::<DeadLetter>(&bytes).await.expect("a dead letter"));
        }
        v
    });
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(letters[0].reason.contains("loopback address"), "{:?}", letters[0]);
    assert_eq!(letters[0].source.as_deref(), Some("strict"));
    // The dead link is a recorded fact (fetch event with 404), not a dead letter.
    assert_eq!(shopstream_core::kafka::topic_size(&env.brokers, &topics.fetches).expect("size"), 2);
    assert_eq!(shopstream_core::kafka::topic_size(&env.brokers, &topics.raw_pages).expect("size"), 0);
}

#[test]
fn a_partition_whose_positions_were_never_stored_is_read_again_and_the_group_catches_up() {
    // The stall seen in the wild: a member owns a partition with lag, nothing in flight, and its position
    // does not move (records processed but their positions not stored, or not arriving at all). The
    // failpoint loses the first store of every offset in the transform; the group watch must notice the
    // stall and read the partition again from its committed offset, so the group catches up.
    let (base, _sandbox) = start_sandbox(0);
    let mut env = TestEnv::new("stall", &sandbox_config(&["article.product_pod h3 a"], 1));
    let db = env.database.clone();
    let e = env.spawn(env.cmd(&["extract"]));
    let mut transform = env.cmd(&["transform"]);
    transform
        .env("SHOPSTREAM_FAILPOINT", "kafka.lose_first_store")
        .env("SHOPSTREAM_STALL_SECS", "4")
        .env("SHOPSTREAM_GROUP_CHECK_SECS", "1");
    let t = env.spawn(transform);
    let l = env.spawn(env.cmd(&["load"]));
    env.run_ok(&["crawl", "--seed", &format!("{base}/index.html"), "--crawl-id", "stall"]);
    let out = env.cmd(&["wait-idle", "--timeout-secs", "180"]).output().expect("wait-idle");
    assert!(
        out.status.success(),
        "the group did not catch up: {}\n--- transform log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&env.child_log(t), 40)
    );
    assert!(
        env.child_log(t).contains("reading it again from its committed offset"),
        "the stall was healed by reading the partition again:\n{}",
        tail(&env.child_log(t), 40)
    );
    for (table, n) in [("products", 20), ("price_observations", 20), ("rank_observations", 20)] {
        assert_eq!(env.count(&format!("SELECT count() FROM {db}.{table} FINAL")), n, "{table}");
    }
    env.stop(e);
    env.stop(t);
    env.stop(l);
}
