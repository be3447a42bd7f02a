//! `shopstream replay` on the real services: a time range of raw.pages is reprocessed in groups of the
//! replay's own and the tables converge (no row added or changed), records outside the range are not
//! touched, and replays that would not converge or would move live groups are refused.

mod common;

use std::time::{Duration, SystemTime};

use common::{sandbox_config, start_sandbox, TestEnv};

fn dump(env: &TestEnv, table: &str, order: &str) -> Vec<serde_json::Value> {
    env.query(&format!("SELECT * FROM {}.{table} FINAL ORDER BY {order}", env.database))
}

#[test]
fn a_replay_of_a_time_range_converges_and_touches_nothing_outside_it() {
    let (base, _sandbox) = start_sandbox(0);
    let mut env = TestEnv::new("replay", &sandbox_config(&["article.product_pod h3 a"], 1));
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let brokers = env.brokers.clone();
    let size = |t: &str| shopstream_core::kafka::topic_size(&brokers, t).expect("size");
    let live = format!("g_{}", env.id);
    let run = env.spawn(env.cmd(&["run"]));
    env.run_ok(&["crawl", "--seed", &format!("{base}/index.html"), "--crawl-id", "c1"]);
    env.wait_idle(&live);
    std::thread::sleep(Duration::from_millis(1500));
    let between = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    std::thread::sleep(Duration::from_millis(1500));
    env.run_ok(&["crawl", "--seed", &format!("{base}/index.html"), "--crawl-id", "c2"]);
    env.wait_idle(&live);
    env.stop(run);
    assert_eq!(size(&topics.raw_pages), 42, "two crawls of 21 pages");
    let prices_before = dump(&env, "price_observations", "source, product_id, crawl_id");
    let ranks_before = dump(&env, "rank_observations", "source, list_id, product_id, crawl_id");
    let products_before = dump(&env, "products", "source, product_id");
    assert_eq!(prices_before.len(), 40);
    let events_before = size(&topics.prices);

    // Replay the first crawl's raw pages only (everything before `between`).
    let replay_groups = format!("replay_{}", env.id);
    let out = env
        .cmd_with_groups(&["replay", "--topic", &topics.raw_pages, "--to-time", &between], &replay_groups)
        .output()
        .expect("replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("replaying 21 record(s)"), "{stderr}");
    assert!(stdout.contains("replayed 21 record(s)") && stdout.contains("21 out, 0 dead-lettered"), "{stdout}");
    assert_eq!(size(&topics.prices), events_before + 20, "the first crawl's 20 prices again, nothing more");

    // The live loader loads the replayed events: the tables converge to what they were.
    let load = env.spawn(env.cmd(&["load"]));
    env.wait_idle(&live);
    env.stop(load);
    assert_eq!(dump(&env, "price_observations", "source, product_id, crawl_id"), prices_before);
    assert_eq!(dump(&env, "rank_observations", "source, list_id, product_id, crawl_id"), ranks_before);
    assert_eq!(dump(&env, "products", "source, product_id"), products_before);

    // Refused: the live groups, a crawl request topic, an unknown topic.
    let refused = |args: &[&str], groups: &str, why: &str| {
        let out = env.cmd_with_groups(args, groups).output().expect("replay");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(why), "{args:?}: {err}");
    };
    refused(&["replay", "--topic", &topics.raw_pages], &live, "already has positions");
    refused(&["replay", "--topic", &topics.crawl_normal], &format!("{replay_groups}2"), "new crawl, not a replay");
    refused(&["replay", "--topic", "no.such.topic"], &format!("{replay_groups}3"), "not a raw or events topic");
}
