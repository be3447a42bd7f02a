//! Politeness on the real services (issue 8): robots.txt per host, read once per TTL and obeyed (a
//! disallowed URL is a recorded outcome, never fetched; `Crawl-delay` spaces the host's requests; a
//! missing file allows everything; an unavailable one is retried later).

mod common;

use std::time::Duration;

use common::{eventually, read_records, start_sandbox_with, TestEnv};
use shopstream_core::Codec;
use shopstream_schemas::{DeadLetter, FetchObserved};

fn shop_config(extra: &str) -> String {
    format!(
        "[sources.shop1]\nparser = {{ type = \"books_toscrape\" }}\ndefault_currency = \"GBP\"\n\n\
         [sources.shop1.fetch]\nallow_private_network = true\nper_host_concurrency = 4\n\
         follow = [\"li.next a\", \"ol.row article.product_pod h3 a\"]\n{extra}\n"
    )
}

fn decoded<T: shopstream_schemas::Contract>(env: &TestEnv, topic: &str) -> Vec<T> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let codec = Codec::new(&env.registry);
    read_records(env, &format!("{}{topic}", env.topic_prefix()))
        .into_iter()
        .map(|(_, v)| rt.block_on(codec.decode::<T>(&v)).expect("decodes"))
        .collect()
}

fn sandbox_stats(base: &str) -> serde_json::Value {
    common::reqwest::blocking_get_json(&format!("{base}/_sandbox/stats"))
}

#[test]
fn robots_txt_is_read_once_and_obeyed_disallowed_pages_are_recorded_and_crawl_delay_spaces_requests() {
    // Page 3 of the listing is disallowed: the crawl stops there (pages 1 and 2, their 40 books), and the
    // file asks for 100 ms between requests although the source allows 4 at a time.
    let faults = shopstream_sandbox::Faults {
        robots_disallow: vec!["/shop1/catalogue/page-3.html".into()],
        robots_crawl_delay: Some(0.1),
        ..Default::default()
    };
    let (base, _sandbox) = start_sandbox_with(1, faults);
    let mut env = TestEnv::new("robots", &shop_config(""));
    let db = env.database.clone();
    env.run_ok(&["topics"]);
    env.run_ok(&["migrate"]);
    let run = env.spawn(env.cmd(&["run"]));
    env.run_ok(&["crawl", "--source", "shop1", "--crawl-id", "robots", "--seed", &format!("{base}/shop1/index.html")]);
    env.wait_idle(&format!("g_{}", env.id));

    let stats = sandbox_stats(&base);
    assert_eq!(stats["robots"], 1, "robots.txt read once: {stats}");
    assert_eq!(stats["disallowed"], 0, "no request for a disallowed path: {stats}");
    let fetches: Vec<FetchObserved> = decoded(&env, "events.fetches");
    let disallowed: Vec<&FetchObserved> = fetches.iter().filter(|f| f.outcome == "disallowed").collect();
    assert_eq!(disallowed.len(), 1, "{fetches:#?}");
    assert!(disallowed[0].url.ends_with("/shop1/catalogue/page-3.html"), "{:?}", disallowed[0]);
    assert_eq!(disallowed[0].error.as_deref(), Some("robots.txt disallows it"));
    let ok: Vec<&FetchObserved> = fetches.iter().filter(|f| f.outcome == "ok").collect();
    assert_eq!(ok.len(), 2 + 40, "two listing pages and their books");
    assert_eq!(fetches.len(), ok.len() + 1, "nothing else: {fetches:#?}");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.products FINAL")), 40);
    assert_eq!(
        env.count(&format!("SELECT count() FROM {db}.fetch_log FINAL WHERE outcome = 'disallowed'")),
        1,
        "the outcome is loaded like any other"
    );
    assert!(read_records(&env, &format!("{}dlq.extract", env.topic_prefix())).is_empty(), "not an error");
    // Crawl-delay: 42 fetches whose starts are 100 ms apart span at least 4.1 s (finishing times move by
    // one answer's latency at most, well under 100 ms here).
    let mut times: Vec<i64> = ok.iter().map(|f| f.fetched_at).collect();
    times.sort_unstable();
    let span = times[times.len() - 1] - times[0];
    assert!(span >= 41 * 100 - 100, "42 fetches 100 ms apart took {span} ms");
    env.stop(run);
}

#[test]
fn an_unavailable_robots_txt_is_retried_later_and_a_missing_one_allows_everything() {
    let faults = shopstream_sandbox::Faults { robots_status: 503, ..Default::default() };
    let (base, _sandbox) = start_sandbox_with(1, faults);
    let mut env = TestEnv::new("robots_down", &shop_config("max_depth = 1"));
    let db = env.database.clone();
    env.run_ok(&["topics"]);
    env.run_ok(&["migrate"]);
    let mut cmd = env.cmd(&["run"]);
    cmd.env("SHOPSTREAM_ROBOTS_RETRY_SECS", "2");
    let run = env.spawn(cmd);
    // Page 50 of the listing and its 20 books; the run retries a request that failed externally 5 s later.
    let seed = format!("{base}/shop1/catalogue/page-50.html");
    env.run_ok(&["crawl", "--source", "shop1", "--crawl-id", "down", "--seed", &seed, "--retry-delay", "5s"]);

    // 503: nothing fetched; the request is dead-lettered as an external failure, to retry later.
    let dlq = format!("{}dlq.extract", env.topic_prefix());
    eventually("the request to be dead-lettered", Duration::from_secs(60), || {
        shopstream_core::kafka::topic_size(&env.brokers, &dlq).unwrap_or(0) >= 1
    });
    let stats = sandbox_stats(&base);
    // Then the file goes missing (404: everything is allowed), before the run's retry.
    common::reqwest::blocking_get_text(&format!("{base}/_sandbox/faults?robots_status=404"));
    assert_eq!(stats["ok"], 0, "no page fetched while robots.txt is unavailable: {stats}");
    let dead: Vec<DeadLetter> = decoded(&env, "dlq.extract");
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert_eq!(dead[0].error_kind, "external", "{:?}", dead[0]);
    assert!(dead[0].reason.contains("robots.txt") && dead[0].reason.contains("503"), "{}", dead[0].reason);
    assert!(dead[0].reason.contains("retry later"), "{}", dead[0].reason);

    // The run's retry reads the file again (the unavailable answer is kept 2 s, not forever) and fetches
    // the page and its books.
    eventually("the retried crawl to load its 20 books", Duration::from_secs(120), || {
        env.try_count(&format!("SELECT count() FROM {db}.products FINAL")).unwrap_or(0) >= 20
    });
    env.wait_idle(&format!("g_{}", env.id));
    let stats = sandbox_stats(&base);
    assert_eq!(stats["ok"], 21, "page 50 and its 20 books, once each: {stats}");
    let robots = stats["robots"].as_u64().unwrap_or(0);
    assert!((2..=3).contains(&robots), "read while down, and again once the answer expired: {stats}");
    let fetches: Vec<FetchObserved> = decoded(&env, "events.fetches");
    // A loaded machine may run the retry before the switch: the run's second retry then gets the page.
    let unavailable = fetches.iter().filter(|f| f.outcome == "robots_unavailable").count();
    assert!((1..=2).contains(&unavailable), "{fetches:#?}");
    assert_eq!(fetches.iter().filter(|f| f.outcome == "ok").count(), 21, "{fetches:#?}");
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.products FINAL")), 20);
    env.stop(run);
}

#[test]
fn a_hosts_rate_holds_across_two_extractor_processes_and_user_agents_rotate() {
    // 10 requests/s with bursts of 2, a little jitter, two user agents in turn; a second extractor joins
    // mid-crawl (the host's partition may move to it: its limiter starts with a full bucket, the bound
    // below allows that one burst).
    let (base, _sandbox) = start_sandbox_with(1, shopstream_sandbox::Faults::default());
    let extra = "max_depth = 5\nrate = { per_second = 10, burst = 2 }\njitter_ms = 20\n\
                 user_agents = [\"shopstream-a/1.0\", \"shopstream-b/1.0\"]";
    let mut env = TestEnv::new("rate", &shop_config(extra));
    env.run_ok(&["topics"]);
    env.run_ok(&["migrate"]);
    let first = env.spawn(env.cmd(&["run"]));
    env.run_ok(&["crawl", "--source", "shop1", "--crawl-id", "rate", "--seed", &format!("{base}/shop1/index.html")]);
    std::thread::sleep(Duration::from_secs(4));
    let second = env.spawn(env.cmd(&["extract"]));
    env.wait_idle(&format!("g_{}", env.id));

    let stats = sandbox_stats_with_visits(&base);
    let visits = stats["visits"].as_array().cloned().unwrap_or_default();
    // Page 1 to 5 of the listing and their 100 books, and page 6 (depth 5, its links not followed).
    assert_eq!(visits.len(), 106, "{stats}");
    let mut at: Vec<i64> = visits.iter().filter_map(|v| v["at_ms"].as_i64()).collect();
    at.sort_unstable();
    let busiest = at.iter().map(|t| at.iter().filter(|u| **u >= *t && **u < t + 1000).count()).max().unwrap_or(0);
    assert!(busiest <= 12, "at most 10/s plus a burst of 2 in any second, saw {busiest}: {at:?}");
    let span = (at[at.len() - 1] - at[0]) as f64 / 1000.0;
    assert!(span >= (106.0 - 2.0) / 10.0 * 0.9, "106 requests at 10/s took {span:.1} s");
    let with = |ua: &str| visits.iter().filter(|v| v["user_agent"] == ua).count();
    let (a, b) = (with("shopstream-a/1.0"), with("shopstream-b/1.0"));
    assert_eq!(a + b, 106, "every request says one of the source's user agents");
    assert!(a.abs_diff(b) <= 6, "in turn: {a} and {b}");
    env.stop(second);
    env.stop(first);
}

fn sandbox_stats_with_visits(base: &str) -> serde_json::Value {
    common::reqwest::blocking_get_json(&format!("{base}/_sandbox/stats?visits"))
}
