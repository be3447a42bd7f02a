//! Jobs on a clock, on the real services: schedules fire at the right UTC instants across DST changes
//! (fake clock), one fire is recorded once across a leader's death, and 30 simulated days of tracked
//! rank runs against the sandbox's search API give the sessions an independent computation gives.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::{as_i64, eventually, start_sandbox, TestEnv};
use rand::seq::SliceRandom;
use shopstream_schemas::{CrawlRequest, RunEvent};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Every record of a topic, decoded.
fn decoded<T: shopstream_schemas::Contract>(env: &TestEnv, topic: &str) -> Vec<T> {
    let records = shopstream_core::kafka::read_to_end(&env.brokers, topic).expect("read topic");
    let codec = shopstream_core::Codec::new(&env.registry);
    let rt = rt();
    records.into_iter().filter_map(|(_, v)| v).map(|v| rt.block_on(codec.decode::<T>(&v)).expect("decodes")).collect()
}

fn fired(env: &TestEnv, schedule: &str) -> Vec<RunEvent> {
    let mut runs: Vec<RunEvent> = decoded::<RunEvent>(env, &format!("{}events.runs", env.topic_prefix()))
        .into_iter()
        .filter(|r| r.kind == "fired" && r.schedule.as_deref() == Some(schedule))
        .collect();
    runs.sort_by_key(|r| r.scheduled_at);
    runs
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).expect("time").to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn topics(env: &TestEnv) {
    env.run_ok(&["topics", "--partitions", "2"]);
}

#[test]
fn schedules_fire_at_the_right_utc_instants_across_dst_changes() {
    let (sandbox, _stop) = start_sandbox(0);
    let config = format!(
        "[sources.books]\nparser = {{ type = \"books_toscrape\" }}\nseeds = [\"{sandbox}/index.html\"]\n\
         [sources.books.fetch]\nallow_private_network = true\n\n\
         [schedules.spring]\ncron = \"30 2 * * *\"\ntimezone = \"America/New_York\"\nenqueue = {{ seeds = \"books\" }}\n\n\
         [schedules.hourly]\ncron = \"30 * * * *\"\ntimezone = \"America/New_York\"\nenqueue = {{ seeds = \"books\" }}\n"
    );
    let mut env = TestEnv::new("dst", &config);
    topics(&env);
    // New York springs forward on 2026-03-08 at 02:00 EST (07:00Z). The fake clock runs 3 days in ~40 s.
    let mut cmd =
        env.cmd(&["schedule", "--instance", "dst-a", "--clock-start", "2026-03-07T00:00:00Z", "--clock-rate", "6000"]);
    cmd.env("RUST_LOG", "warn,shopstream=info");
    let s = env.spawn(cmd);
    eventually("three daily fires", Duration::from_secs(120), || fired(&env, "spring").len() >= 3);
    env.stop(s);
    let spring: Vec<String> = fired(&env, "spring").iter().map(|r| utc(r.scheduled_at)).collect();
    // 02:30 on the spring-forward day does not exist: it fires once, at 03:00 EDT.
    assert_eq!(spring[..3], ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"], "{spring:?}");
    let hourly: Vec<String> = fired(&env, "hourly").iter().map(|r| utc(r.scheduled_at)).collect();
    let around: Vec<&str> = hourly
        .iter()
        .map(String::as_str)
        .filter(|t| *t >= "2026-03-08T05:00:00Z" && *t <= "2026-03-08T08:00:00Z")
        .collect();
    // 00:30 EST, 01:30 EST, (02:30 skipped → 03:00 EDT), 03:30 EDT.
    assert_eq!(
        around,
        ["2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"]
    );
    let unique: BTreeSet<&String> = hourly.iter().collect();
    assert_eq!(unique.len(), hourly.len(), "no fire twice: {hourly:?}");
    // Each fire enqueued the seed once, in a crawl named after the fire.
    let requests = decoded::<CrawlRequest>(&env, &format!("{}crawl.requests.normal", env.topic_prefix()));
    let runs = fired(&env, "spring");
    for r in &runs {
        assert_eq!(requests.iter().filter(|q| q.crawl_id == r.run_id).count(), 1, "{}", r.run_id);
        assert_eq!(r.requests, 1);
    }

    // Falling back on 2026-11-01: 01:30 happens twice (05:30Z EDT, 06:30Z EST) and fires once, first.
    let config = config.replace("30 2 * * *", "30 1 * * *");
    let mut env = TestEnv::new("dst_fall", &config);
    topics(&env);
    let s = env.spawn(env.cmd(&["schedule", "--clock-start", "2026-10-31T00:00:00Z", "--clock-rate", "6000"]));
    eventually("three daily fires", Duration::from_secs(120), || fired(&env, "spring").len() >= 3);
    env.stop(s);
    let fall: Vec<String> = fired(&env, "spring").iter().map(|r| utc(r.scheduled_at)).collect();
    assert_eq!(fall[..3], ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"], "{fall:?}");
    let hourly: Vec<String> = fired(&env, "hourly").iter().map(|r| utc(r.scheduled_at)).collect();
    let around: Vec<&str> = hourly
        .iter()
        .map(String::as_str)
        .filter(|t| *t >= "2026-11-01T04:00:00Z" && *t <= "2026-11-01T08:00:00Z")
        .collect();
    // 00:30 EDT, 01:30 EDT, (01:30 EST repeated: no fire), 02:30 EST.
    assert_eq!(around, ["2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:30:00Z"]);
}

#[test]
fn two_schedulers_fire_every_fire_exactly_once_when_the_leader_dies() {
    let (sandbox, _stop) = start_sandbox(0);
    let config = format!(
        "[sources.books]\nparser = {{ type = \"books_toscrape\" }}\nseeds = [\"{sandbox}/index.html\"]\n\
         [sources.books.fetch]\nallow_private_network = true\n\n\
         [schedules.every5]\ncron = \"*/5 * * * *\"\ntimezone = \"UTC\"\nenqueue = {{ seeds = \"books\" }}\nmissed = \"catch_up\"\n"
    );
    let mut env = TestEnv::new("lease", &config);
    topics(&env);
    // One shared fake clock: 5 minutes every 10 s of real time.
    let epoch = shopstream_core::now_ms().to_string();
    let clock = ["--clock-start", "2026-12-01T00:00:30Z", "--clock-rate", "30", "--clock-epoch-ms", epoch.as_str()];
    let start = |env: &mut TestEnv, name: &str| {
        let mut args = vec!["schedule", "--instance", name];
        args.extend(clock);
        let mut cmd = env.cmd(&args);
        cmd.env("SHOPSTREAM_SCHEDULER_SESSION_TIMEOUT_MS", "6000");
        env.spawn(cmd)
    };
    let a = start(&mut env, "sched-a");
    eventually("the first leader fires", Duration::from_secs(90), || !fired(&env, "every5").is_empty());
    let b = start(&mut env, "sched-b");
    let leader = fired(&env, "every5")[0].scheduler.clone();
    assert_eq!(leader, "sched-a", "the first instance leads");
    eventually("two fires by the leader", Duration::from_secs(60), || fired(&env, "every5").len() >= 2);
    env.kill9(a);
    eventually("the standby takes over and fires twice", Duration::from_secs(120), || {
        fired(&env, "every5").iter().filter(|r| r.scheduler == "sched-b").count() >= 2
    });
    env.stop(b);
    let runs = fired(&env, "every5");
    let times: Vec<i64> = runs.iter().map(|r| r.scheduled_at).collect();
    let unique: BTreeSet<i64> = times.iter().copied().collect();
    assert_eq!(
        unique.len(),
        times.len(),
        "a fire recorded twice: {:?}",
        times.iter().map(|t| utc(*t)).collect::<Vec<_>>()
    );
    // No gap: consecutive 5-minute marks from the first fire to the last.
    for w in times.windows(2) {
        assert_eq!(w[1] - w[0], 300_000, "a fire is missing: {:?}", times.iter().map(|t| utc(*t)).collect::<Vec<_>>());
    }
    let requests = decoded::<CrawlRequest>(&env, &format!("{}crawl.requests.normal", env.topic_prefix()));
    for r in &runs {
        assert_eq!(requests.iter().filter(|q| q.crawl_id == r.run_id).count(), 1, "requests of {}", r.run_id);
    }
    assert!(runs.iter().any(|r| r.scheduler == "sched-a") && runs.iter().any(|r| r.scheduler == "sched-b"));
}

/// The sandbox search's truth: the 1-based position of `product` on `day` within `depth` results.
fn truth(sandbox: &str, keyword: &str, product: &str, day: u32, depth: u32) -> Option<u32> {
    common::reqwest::blocking_get_text(&format!("{sandbox}/_sandbox/day?set={day}"));
    let kw: String = url::form_urlencoded::byte_serialize(keyword.as_bytes()).collect();
    let v = common::reqwest::blocking_get_json(&format!(
        "{sandbox}/v1/search/shop.json?query={kw}&display={depth}&start=1"
    ));
    let items = v["items"].as_array().expect("items");
    items.iter().position(|i| i["productId"] == product).map(|p| p as u32 + 1)
}

/// Sessions computed here, independently: per target in time order, session = 1 + exposures before / 25.
fn expected_sessions(history: &BTreeMap<(String, u32), Option<u32>>) -> BTreeMap<(String, u32), (u64, u64)> {
    let mut out = BTreeMap::new();
    let mut exposed: BTreeMap<String, u64> = BTreeMap::new();
    for ((target, day), position) in history {
        let before = exposed.entry(target.clone()).or_default();
        let this = u64::from(position.is_some());
        out.insert((target.clone(), *day), (1 + *before / 25, *before % 25 + this));
        *before += this;
    }
    out
}

#[test]
fn thirty_days_of_rank_runs_give_the_sessions_an_independent_computation_gives() {
    let (sandbox, _stop) = start_sandbox(0);
    let config = format!(
        "[sources.naver]\nparser = {{ type = \"naver_shopping\" }}\ndefault_currency = \"KRW\"\n\
         [sources.naver.fetch]\nallow_private_network = true\nper_host_concurrency = 8\n\
         [sources.naver.track]\nsearch_url = \"{sandbox}/v1/search/shop.json?query={{keyword}}&display={{page_size}}&start={{start}}\"\n\
         api = true\npage_size = 40\npages = 2\ntimezone = \"Asia/Seoul\"\n"
    );
    let mut env = TestEnv::new("ranks30", &config);
    topics(&env);
    let pipeline = env.spawn(env.cmd(&["run"]));
    let keyword = "반팔 티셔츠";
    let product = |i: u32| shopstream_sandbox::search::product_id(keyword, i);
    // Near the top (found most days), around the page boundary, and never within 80.
    let products = [product(2), product(40), product(250)];
    let mut targets = Vec::new();
    for p in &products {
        let id =
            env.run_ok(&["track", "add", "--source", "naver", "--keyword", keyword, "--product", p]).trim().to_string();
        targets.push((id, p.clone()));
    }
    let listed = env.run_ok(&["track", "list", "--json"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    // A paused target is not run.
    let paused =
        env.run_ok(&["track", "add", "--source", "naver", "--keyword", "other", "--product", "1"]).trim().to_string();
    env.run_ok(&["track", "pause", &paused]);

    // 30 days, delivered in a random order, two of them twice.
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-01T16:00:00Z").expect("time").timestamp_millis();
    let mut days: Vec<u32> = (0..30).collect();
    days.shuffle(&mut rand::rng());
    days.extend([days[3], days[17]]);
    let mut history: BTreeMap<(String, u32), Option<u32>> = BTreeMap::new();
    for (n, day) in days.iter().enumerate() {
        let at = base + i64::from(*day) * 86_400_000;
        for (id, p) in &targets {
            history.insert((id.clone(), *day), truth(&sandbox, keyword, p, *day, 80));
        }
        // The sandbox now serves `day` (truth() set it).
        env.run_ok(&["track", "run", "--source", "naver", "--at", &utc(at)]);
        let sql = format!(
            "SELECT count() FROM {}.target_pages FINAL WHERE observed_at = toDateTime({})",
            env.database,
            at / 1000
        );
        let loaded = (0..240).any(|_| {
            std::thread::sleep(Duration::from_millis(500));
            env.try_count(&sql) == Some(6)
        });
        assert!(loaded, "day {day} not loaded in 120 s:\n{}", env.child_log(pipeline));
        if n >= 30 {
            // A duplicate delivery: its rows are there already; let it settle before the sandbox moves on.
            env.wait_idle(&format!("g_{}", env.id));
        }
    }
    let expected = expected_sessions(&history);
    assert!(expected.values().any(|(s, _)| *s == 2), "the history reaches a second session");
    let rows = env.query(&format!(
        "SELECT target_id, toString(run_day) AS day, position, session, exposures_in_session, change \
         FROM {}.rank_history ORDER BY target_id, observed_at",
        env.database
    ));
    assert_eq!(rows.len(), 90, "one observation per target per day, found or not");
    let day0 = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("day");
    let mut previous: BTreeMap<String, u32> = BTreeMap::new();
    for row in &rows {
        let target = row["target_id"].as_str().expect("target").to_string();
        let day = chrono::NaiveDate::parse_from_str(row["day"].as_str().expect("day"), "%Y-%m-%d").expect("date");
        // 16:00Z is 01:00 the next day in Seoul.
        let d = (day - day0).num_days() as u32;
        let position = row["position"].as_u64().map(|p| p as u32);
        assert_eq!(position, history[&(target.clone(), d)], "{target} day {d}");
        let (session, in_session) = expected[&(target.clone(), d)];
        assert_eq!(
            (as_i64(&row["session"]) as u64, as_i64(&row["exposures_in_session"]) as u64),
            (session, in_session),
            "{target} day {d}"
        );
        // ClickHouse quotes 64-bit integers in JSON.
        let change = (!row["change"].is_null()).then(|| as_i64(&row["change"]));
        match (position, previous.get(&target)) {
            (Some(p), Some(prev)) => assert_eq!(change, Some(i64::from(*prev) - i64::from(p)), "{target} day {d}"),
            _ => assert_eq!(change, None, "{target} day {d}"),
        }
        if let Some(p) = position {
            previous.insert(target.clone(), p);
        }
    }
    // rank_sessions agrees with the history.
    let sessions = env.query(&format!(
        "SELECT target_id, session, exposures, best_position FROM {}.rank_sessions ORDER BY target_id, session",
        env.database
    ));
    for s in &sessions {
        let target = s["target_id"].as_str().expect("target");
        let n = as_i64(&s["session"]) as u64;
        let exposures = history
            .iter()
            .filter(|((t, d), p)| t == target && p.is_some() && expected[&(t.clone(), *d)].0 == n)
            .count() as u64;
        assert_eq!(as_i64(&s["exposures"]) as u64, exposures, "{target} session {n}");
    }
    // Every day's run has one summary: its two search pages fetched, nothing failed (the duplicate
    // deliveries of two days reuse their run ids and add no summary).
    let summaries = format!(
        "SELECT count() FROM {}.runs FINAL WHERE run_id LIKE 'manual-naver-%' AND status = 'ok' AND total = 2 \
         AND ok = 2 AND failed = 0 AND what = 'targets'",
        env.database
    );
    eventually("a summary per day's run", Duration::from_secs(180), || env.try_count(&summaries) == Some(30));
    assert_eq!(env.count(&format!("SELECT count() FROM {}.runs FINAL", env.database)), 30);
    // The never-found target has an observation every day, all null.
    let never = &targets[2].0;
    assert_eq!(
        env.count(&format!(
            "SELECT count() FROM {}.rank_history WHERE target_id = '{never}' AND position IS NULL",
            env.database
        )),
        30
    );
    assert_eq!(
        env.count(&format!("SELECT count() FROM {}.target_pages WHERE target_id = '{paused}'", env.database)),
        0
    );
    // The targets' current state is in ClickHouse too.
    eventually("targets loaded", Duration::from_secs(60), || {
        env.try_count(&format!("SELECT count() FROM {}.tracking_targets FINAL WHERE status = 'paused'", env.database))
            == Some(1)
    });
}

/// The sandbox search's shop truth: the best 1-based position of any product of `shop` on `day`.
fn shop_truth(sandbox: &str, keyword: &str, shop: &str, day: u32, depth: u32) -> Option<u32> {
    common::reqwest::blocking_get_text(&format!("{sandbox}/_sandbox/day?set={day}"));
    let kw: String = url::form_urlencoded::byte_serialize(keyword.as_bytes()).collect();
    let v = common::reqwest::blocking_get_json(&format!(
        "{sandbox}/v1/search/shop.json?query={kw}&display={depth}&start=1"
    ));
    let items = v["items"].as_array().expect("items");
    items.iter().position(|i| i["mallName"] == shop).map(|p| p as u32 + 1)
}

/// The product links of a Books to Scrape listing page, in page order (read here as plain text).
fn listing_links(page: &str) -> Vec<String> {
    page.split("<h3><a href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().expect("href").trim_start_matches("../").to_string())
        .collect()
}

#[test]
fn shop_targets_and_listing_page_targets_record_their_positions() {
    let (sandbox, _stop) = start_sandbox(0);
    let config = format!(
        "[sources.naver]\nparser = {{ type = \"naver_shopping\" }}\ndefault_currency = \"KRW\"\n\
         [sources.naver.fetch]\nallow_private_network = true\n\
         [sources.naver.track]\nsearch_url = \"{sandbox}/v1/search/shop.json?query={{keyword}}&display={{page_size}}&start={{start}}\"\n\
         api = true\npage_size = 20\npages = 2\ntimezone = \"UTC\"\n\n\
         [sources.books]\nparser = {{ type = \"books_toscrape\" }}\ndefault_currency = \"GBP\"\n\
         [sources.books.fetch]\nallow_private_network = true\n\
         [sources.books.track]\ntimezone = \"UTC\"\n"
    );
    let mut env = TestEnv::new("shoplist", &config);
    topics(&env);
    let pipeline = env.spawn(env.cmd(&["run"]));
    let keyword = "반팔 티셔츠";
    let day = 4;
    let (shop, absent) = ("Sandbox Mall 3", "No Such Mall");
    let shop_at = shop_truth(&sandbox, keyword, shop, day, 40);
    assert!(shop_at.is_some(), "the sandbox's search names the shop within 40 results");
    let add = |args: &[&str]| env.run_ok(&[&["track", "add"], args].concat()).trim().to_string();
    let shop_target = add(&["--source", "naver", "--keyword", keyword, "--shop", shop]);
    let absent_target = add(&["--source", "naver", "--keyword", keyword, "--shop", absent]);
    // A single listing page (no {page} in the URL): the books on page 2 stand at 21..40.
    let list_url = format!("{sandbox}/catalogue/page-2.html");
    let links = listing_links(&common::reqwest::blocking_get_text(&list_url));
    assert_eq!(links.len(), 20, "page 2 lists 20 books");
    let slug = links[4].trim_end_matches("/index.html").to_string();
    let listed_target = add(&["--source", "books", "--list-url", &list_url, "--product", &format!("url:{slug}/")]);
    let unlisted_target = add(&["--source", "books", "--list-url", &list_url, "--product", "url:not-on-this-page/"]);
    let at = "2026-11-05T01:00:00Z";
    env.run_ok(&["track", "run", "--source", "naver", "--at", at]);
    env.run_ok(&["track", "run", "--source", "books", "--at", at]);
    let count = format!("SELECT count() FROM {}.rank_history", env.database);
    let loaded = (0..240).any(|_| {
        std::thread::sleep(Duration::from_millis(500));
        env.try_count(&count) == Some(4)
    });
    assert!(loaded, "four observations, found or not, in 120 s\n{}", env.child_log(pipeline));
    let seen: BTreeMap<String, Option<u64>> = env
        .query(&format!("SELECT target_id, position FROM {}.rank_history", env.database))
        .iter()
        .map(|r| (r["target_id"].as_str().expect("target").to_string(), r["position"].as_u64()))
        .collect();
    assert_eq!(seen[&shop_target], shop_at.map(u64::from), "the shop's best position");
    assert_eq!(seen[&absent_target], None, "a shop not in the list is an observation without a position");
    assert_eq!(seen[&listed_target], Some(25), "the fifth book of page 2");
    assert_eq!(seen[&unlisted_target], None);
}

#[test]
fn the_rank_history_view_and_track_sessions_agree_on_random_histories() {
    let env = TestEnv::new("sessions", "[sources.x]\nparser = { type = \"generic\" }\n");
    env.run_ok(&["migrate"]);
    let mut rng = rand::rng();
    let mut lines = Vec::new();
    let mut values = Vec::new();
    for t in 0..6 {
        // t3 is found every one of 80 days: sessions 1 to 4 at least.
        let days = if t == 3 { 80 } else { 20 + rand::Rng::random_range(&mut rng, 0..60) };
        let found_rate = [0.2, 0.6, 0.9, 1.0, 0.0, 0.75][t];
        for d in 0..days {
            let at = 1_790_000_000i64 + d * 86_400 + rand::Rng::random_range(&mut rng, 0..3600);
            let position: Option<u32> =
                rand::Rng::random_bool(&mut rng, found_rate).then(|| rand::Rng::random_range(&mut rng, 1..200));
            let copies = if rand::Rng::random_bool(&mut rng, 0.1) { 2 } else { 1 };
            for _ in 0..copies {
                lines.push((format!("t{t}"), at, position));
            }
        }
    }
    lines.shuffle(&mut rng);
    for (target, at, position) in &lines {
        values.push(format!(
            "('{target}', 'r{at}', toDateTime({at}), toDate(toDateTime({at})), 1, 1, {}, '', '', 'x', '', '', toDateTime({at}), '', '', 0, 0, '', '', 1)",
            position.unwrap_or(0)
        ));
    }
    env.query_text(&format!("INSERT INTO {}.target_pages VALUES {}", env.database, values.join(",")));
    let input: String = lines
        .iter()
        .map(|(t, at, p)| {
            let p = p.map(|p| p.to_string()).unwrap_or_else(|| "null".into());
            format!("{{\"target\":\"{t}\",\"observed_at\":\"{}\",\"position\":{p}}}\n", utc(at * 1000))
        })
        .collect();
    let mut child = env
        .cmd(&["track", "sessions", "--stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), lines.len(), "one line out per line in");
    let mut offline: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for (line, (target, at, _)) in text.lines().zip(&lines) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(v["target"], target.as_str(), "input order kept");
        let numbers = (v["session"].as_i64().expect("session"), v["exposures_in_session"].as_i64().expect("n"));
        let key = (target.clone(), utc(at * 1000));
        if let Some(prev) = offline.insert(key.clone(), numbers) {
            assert_eq!(prev, numbers, "a duplicate got other numbers: {key:?}");
        }
    }
    let rows = env.query(&format!(
        "SELECT target_id, toUnixTimestamp(observed_at) AS at, session, exposures_in_session FROM {}.rank_history",
        env.database
    ));
    assert_eq!(rows.len(), offline.len());
    for r in rows {
        let key = (r["target_id"].as_str().expect("t").to_string(), utc(as_i64(&r["at"]) * 1000));
        assert_eq!(offline[&key], (as_i64(&r["session"]), as_i64(&r["exposures_in_session"])), "{key:?}");
    }
    assert!(offline.values().any(|(s, _)| *s >= 3), "long histories reach session 3");
}
