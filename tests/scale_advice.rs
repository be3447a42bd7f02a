//! `shopstream scale-advice` on the real broker: crawl requests nobody consumes are the extract
//! stage's lag, and with no progress to measure the advice is every partition.

mod common;

use common::{sandbox_config, TestEnv};

#[test]
fn scale_advice_reports_the_lag_of_crawl_requests_nobody_consumes() {
    let env = TestEnv::new("scale_advice", &sandbox_config(&[], 0));
    env.run_ok(&["topics"]);
    let n = 7;
    let seeds: Vec<String> = (0..n).map(|i| format!("http://127.0.0.1:9/page{i}.html")).collect();
    let mut args = vec!["crawl", "--source", "books"];
    for s in &seeds {
        args.extend(["--seed", s.as_str()]);
    }
    env.run_ok(&args);

    let out = env.run_ok(&["scale-advice", "--sample-secs", "1", "--drain-secs", "60", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"));
    assert_eq!(doc["sample_secs"], 1);
    assert_eq!(doc["drain_secs"], 60);
    let stages = doc["stages"].as_array().expect("stages");
    let names: Vec<&str> = stages.iter().filter_map(|s| s["stage"].as_str()).collect();
    assert_eq!(names, ["extract", "transform", "load"]);
    let group_prefix = format!("g_{}", env.id);

    let extract = &stages[0];
    assert_eq!(extract["group"], format!("{group_prefix}-extract").as_str());
    assert_eq!(extract["lag"], n, "{extract}");
    assert_eq!(extract["consumed_per_sec"], 0.0, "{extract}");
    assert_eq!(extract["partitions"], 2, "the tests' topics have 2 partitions: {extract}");
    assert!(extract["per_instance_per_sec"].is_null(), "{extract}");
    // Lag with no progress: the rate per instance is unknown, so every partition gets an instance.
    assert_eq!(extract["instances"], 2, "{extract}");
    assert!(extract["reason"].as_str().is_some_and(|r| r.contains("unknown")), "{extract}");

    let transform = &stages[1];
    assert_eq!(transform["group"], format!("{group_prefix}-transform").as_str());
    assert_eq!(transform["lag"], 0, "{transform}");
    assert_eq!(transform["instances"], 1, "no lag: the minimum: {transform}");
    assert!(stages[2]["instances"].as_u64().is_some_and(|i| i >= 1), "{}", stages[2]);

    let table = env.run_ok(&["scale-advice", "--sample-secs", "1"]);
    let row = table.lines().find(|l| l.starts_with("extract ")).unwrap_or_else(|| panic!("no extract row:\n{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1], format!("{group_prefix}-extract"), "{table}");
    assert_eq!(cells[2], n.to_string(), "lag column: {table}");
    assert_eq!(cells.last(), Some(&"2"), "advice column: {table}");
}
