//! Price and rank analytics on the real services (issue 7): a known price history and a known rank
//! history go through the real loader into ClickHouse; `shopstream report` prints their changes and
//! drops with the right numbers, and `shopstream chart price|rank` draws exactly the loaded points.

mod common;

use common::{example, produce, TestEnv};
use shopstream_schemas::{ProductObserved, TargetRankObserved, TrackingTarget};

/// Colours of the chart's found points and not-found markers (src/chart.rs).
const LINE: &str = "fill=\"#1F5FAF\"";
const MISSING: &str = "fill=\"#D03030\"";

fn load(env: &mut TestEnv) {
    let l = env.spawn(env.cmd(&["load", "--batch-rows", "7"]));
    env.wait_idle(&format!("g_{}", env.id));
    env.stop(l);
}

/// `<tag …>` elements whose attributes contain `attr`.
fn elements(svg: &str, tag: &str, attr: &str) -> usize {
    svg.split(&format!("<{tag} ")).skip(1).filter(|e| e.split('>').next().unwrap_or_default().contains(attr)).count()
}

/// The contents of the `<text>` elements.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|e| e.split_once('>'))
        .map(|(_, rest)| rest.split("</text>").next().unwrap_or_default().trim().to_string())
        .collect()
}

/// The binary's output, failing or not: (success, stdout, stderr).
fn run(env: &TestEnv, args: &[&str]) -> (bool, String, String) {
    let out = env.cmd(args).output().expect("spawn shopstream");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn utc_minute(ms: i64) -> String {
    chrono::DateTime::from_timestamp(ms / 1000, 0).expect("time").format("%Y-%m-%d %H:%M UTC").to_string()
}

#[test]
fn report_lists_price_changes_and_drops_and_chart_price_draws_the_history() {
    let mut env = TestEnv::new("price_report", "[sources]\n");
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    env.run_ok(&["topics"]);
    let now = shopstream_core::now_ms();
    let hour = 3_600_000;
    let at = |product: &str, crawl: &str, minor: i64, ago: i64| common::price_at(product, crawl, minor, now - ago);
    // a: 10.00, 10.00, 8.00 (two days ago), 9.00 (two hours ago); b: 20.00 → 10.00 an hour ago;
    // c: 5.00 → 1.00 more than a week ago; d: never changes.
    let events = [
        at("a", "c1", 1000, 90 * hour),
        at("a", "c2", 1000, 70 * hour),
        at("a", "c3", 800, 48 * hour),
        at("a", "c4", 900, 2 * hour),
        at("b", "c1", 2000, 30 * hour),
        at("b", "c2", 1000, hour),
        at("c", "c1", 500, 300 * hour),
        at("c", "c2", 100, 200 * hour),
        at("d", "c1", 4200, 5 * hour),
    ];
    produce(&env, &topics.prices, &events);
    let mut alpha: ProductObserved = example(include_str!("../schemas/examples/product_observed.json"));
    alpha.product_id = "a".into();
    alpha.title = "Alpha".into();
    produce(&env, &topics.products, &[alpha]);
    load(&mut env);

    let report = env.run_ok(&["report"]);
    // The existing sections are unchanged.
    assert!(report.contains("price observations: 9\n"), "{report}");
    assert!(report.contains("\nfive cheapest books (latest price):\n"), "{report}");
    let section = |heading: &str| -> Vec<String> {
        let start = report.find(heading).unwrap_or_else(|| panic!("no {heading:?} in:\n{report}"));
        report[start + heading.len()..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let when = |ago: i64| utc_minute(now - ago);
    assert_eq!(
        section("latest price changes (up to 10):"),
        [
            format!("books/b 20.00 -> 10.00 GBP -50.00% {}", when(hour)),
            format!("books/a 8.00 -> 9.00 GBP +12.50% {} Alpha", when(2 * hour)),
            format!("books/a 10.00 -> 8.00 GBP -20.00% {} Alpha", when(48 * hour)),
            format!("books/c 5.00 -> 1.00 GBP -80.00% {}", when(200 * hour)),
        ],
        "{report}"
    );
    assert_eq!(
        section("biggest drops, last day (up to 5):"),
        [format!("books/b 20.00 -> 10.00 GBP -50.00% {}", when(hour))],
        "{report}"
    );
    assert_eq!(
        section("biggest drops, last week (up to 5):"),
        [
            format!("books/b 20.00 -> 10.00 GBP -50.00% {}", when(hour)),
            format!("books/a 10.00 -> 8.00 GBP -20.00% {} Alpha", when(48 * hour)),
        ],
        "the 80 % drop is older than a week: {report}"
    );

    // The price chart: one dot per observation, the extremes named.
    let out = env.dir.path().join("a.svg");
    let printed =
        env.run_ok(&["chart", "price", "--source", "books", "--product", "a", "--out", out.to_str().expect("path")]);
    assert!(printed.contains("4 price observation(s)"), "{printed}");
    let svg = std::fs::read_to_string(&out).expect("the SVG");
    assert_eq!(elements(&svg, "circle", LINE), 4, "a dot per loaded observation");
    let all = texts(&svg);
    assert!(all.iter().any(|t| t.starts_with("Price of Alpha")), "{all:?}");
    let summary = all.iter().find(|t| t.starts_with("4 observation(s)")).unwrap_or_else(|| panic!("{all:?}"));
    assert!(
        summary.contains("2 change(s)") && summary.contains("min 8.00") && summary.contains("max 10.00"),
        "{summary}"
    );
    assert!(summary.contains("first 10.00") && summary.contains("last 9.00 GBP"), "{summary}");
    // A product that never changed is one flat point; PNG works without system fonts.
    let png = env.dir.path().join("d.png");
    env.run_ok(&["chart", "price", "--source", "books", "--product", "d", "--out", png.to_str().expect("path")]);
    assert_eq!(&std::fs::read(&png).expect("the PNG")[1..4], b"PNG");

    // Unknown product, wrong source, unknown format: clear errors, non-zero exits, no file.
    let nope = env.dir.path().join("nope.svg");
    let nope = nope.to_str().expect("path");
    let (ok, _, err) = run(&env, &["chart", "price", "--source", "books", "--product", "nope", "--out", nope]);
    assert!(!ok && err.contains("no price observations for product nope of source books"), "{err}");
    let (ok, _, err) = run(&env, &["chart", "price", "--source", "shop", "--product", "a", "--out", nope]);
    assert!(!ok && err.contains("no price observations for product a of source shop"), "{err}");
    assert!(!std::path::Path::new(nope).exists());
    let (ok, _, err) = run(&env, &["chart", "price", "--source", "books", "--product", "a", "--out", "a.jpg"]);
    assert!(!ok && err.contains(".svg or .png"), "{err}");
}

#[test]
fn chart_rank_marks_session_boundaries_and_not_found_runs() {
    let mut env = TestEnv::new("rank_chart", "[sources]\n");
    let topics = shopstream_core::Topics::with_prefix(&env.topic_prefix());
    let db = env.database.clone();
    env.run_ok(&["topics"]);
    let mut target: TrackingTarget = example(include_str!("../schemas/examples/tracking_target.json"));
    target.target_id = "t-chart".into();
    target.pages = Some(1);
    produce(&env, &topics.tracking, &[target.clone()]);
    // 32 daily runs at 01:00 Seoul; not found on days 3, 10 and 27: 29 exposures, so the 26th exposure
    // (day 28) opens session 2.
    let page: TargetRankObserved = example(include_str!("../schemas/examples/target_rank_observed.json"));
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-01T16:00:00Z").expect("time").timestamp_millis();
    let missing = [3, 10, 27];
    let position = |d: i64| (!missing.contains(&d)).then(|| 5 + (d * 7 % 11) as i32);
    let runs: Vec<TargetRankObserved> = (0..32)
        .map(|d| {
            let mut p = page.clone();
            let at = base + d * 86_400_000;
            p.event_id = format!("run-{d}");
            p.target_id = target.target_id.clone();
            p.run_id = format!("run-{d}");
            p.observed_at = at;
            p.provenance.fetched_at = at + 5_000;
            p.run_day = chrono::DateTime::from_timestamp_millis(at + 9 * 3_600_000)
                .expect("day")
                .format("%Y-%m-%d")
                .to_string();
            p.page = 1;
            p.pages = 1;
            p.position = position(d);
            p.product_id = p.position.map(|_| target.product.clone());
            p
        })
        .collect();
    produce(&env, &topics.targets, &runs);
    load(&mut env);
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.rank_history WHERE target_id = 't-chart'")), 32);
    assert_eq!(env.count(&format!("SELECT max(session) FROM {db}.rank_history WHERE target_id = 't-chart'")), 2);

    let out = env.dir.path().join("rank.svg");
    let out = out.to_str().expect("path");
    // The tracked product, the target id given as --product, and --target draw the same chart.
    let printed =
        env.run_ok(&["chart", "rank", "--source", target.source.as_str(), "--product", &target.product, "--out", out]);
    assert!(printed.contains("32 run(s) of target t-chart (29 found, 3 not found)"), "{printed}");
    let svg = std::fs::read_to_string(out).expect("the SVG");
    // The README's chart (docs/rank-history.svg) is this one: SHOPSTREAM_CHART_DIR=docs keeps it.
    if let Ok(dir) = std::env::var("SHOPSTREAM_CHART_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("rank-history.svg"), &svg).expect("keep the chart");
    }
    assert_eq!(elements(&svg, "circle", LINE), 29, "a dot per found run");
    assert_eq!(elements(&svg, "polygon", MISSING), 3, "a marker per not-found run");
    let all = texts(&svg);
    assert_eq!(all.iter().filter(|t| *t == "session 2").count(), 1, "{all:?}");
    assert!(all.iter().any(|t| t == "not found"), "{all:?}");
    let best = (0..32).filter_map(position).min().expect("best");
    assert!(all.iter().any(|t| t.contains(&format!("best {best} ·")) && t.contains("days in Asia/Seoul")), "{all:?}");
    // Position 1 at the top: the best found run has the smallest y of the dots.
    let dots: Vec<f64> = svg
        .split("<circle ")
        .skip(1)
        .filter(|e| e.contains(LINE))
        .filter_map(|e| e.split("cy=\"").nth(1)?.split('"').next()?.parse().ok())
        .collect();
    let best_day = (0..32).position(|d| position(d) == Some(best)).expect("day");
    let found_days: Vec<i64> = (0..32).filter(|d| position(*d).is_some()).collect();
    let best_dot = found_days.iter().position(|d| *d == best_day as i64).expect("dot");
    assert!(dots.iter().all(|y| *y >= dots[best_dot]), "the best position is highest: {dots:?}");
    for args in [["--product", "t-chart"], ["--target", "t-chart"]] {
        let again = env.dir.path().join("again.svg");
        let again = again.to_str().expect("path");
        let printed = env.run_ok(&["chart", "rank", args[0], args[1], "--out", again]);
        assert!(printed.contains("29 found"), "{args:?}: {printed}");
    }

    let (ok, _, err) = run(&env, &["chart", "rank", "--source", "naver", "--product", "nope", "--out", out]);
    assert!(!ok && err.contains("no tracked target for product nope of source naver"), "{err}");
    let (ok, _, err) = run(&env, &["chart", "rank", "--target", "t-nope", "--out", out]);
    assert!(!ok && err.contains("no rank observations for target t-nope"), "{err}");
}
