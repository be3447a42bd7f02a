//! The deployment files under deploy/ against the code: Prometheus alert rules, the Grafana dashboard and
//! its provisioning, the KEDA ScaledObjects and the Deployments they scale. Offline; `promtool` is used
//! when it is on PATH.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_yaml::Value as Yaml;

const STAGES: [&str; 3] = ["extract", "transform", "load"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn yaml(rel: &str) -> Yaml {
    serde_yaml::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

/// Every document of a multi-document YAML file.
fn yaml_docs(path: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Yaml::deserialize(d).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display())))
        .filter(|v: &Yaml| !v.is_null())
        .collect()
}

fn yaml_files(rel_dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(rel_dir))
        .unwrap_or_else(|e| panic!("cannot list {rel_dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {rel_dir}");
    files
}

fn str_at<'a>(v: &'a Yaml, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    cur.as_str()
}

/// A string, or a number written as one (`"5"` and `5` are both fine in KEDA metadata).
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every rule of alerts.yml, with the name of its group.
fn alert_rules() -> Vec<(String, Yaml)> {
    let doc = yaml("deploy/prometheus/alerts.yml");
    let groups = doc.get("groups").and_then(Yaml::as_sequence).expect("alerts.yml: `groups` is a list");
    assert!(!groups.is_empty(), "alerts.yml has no groups");
    let mut rules = Vec::new();
    for g in groups {
        let name = str_at(g, &["name"]).expect("every group has a name").to_string();
        let rs = g.get("rules").and_then(Yaml::as_sequence).unwrap_or_else(|| panic!("group {name} has no rules"));
        assert!(!rs.is_empty(), "group {name} has no rules");
        rules.extend(rs.iter().map(|r| (name.clone(), r.clone())));
    }
    rules
}

/// The dashboard's panels, rows' nested panels included.
fn dashboard_panels() -> Vec<serde_json::Value> {
    let text = read("deploy/grafana/dashboards/shopstream.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut out = Vec::new();
    for p in doc["panels"].as_array().expect("the dashboard has panels") {
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested.iter().cloned());
        }
        out.push(p.clone());
    }
    out
}

fn panel_exprs(panel: &serde_json::Value) -> Vec<String> {
    panel["targets"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["expr"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// `shopstream_<name>` tokens of a PromQL expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("shopstream_") {
        let before = rest[..i].chars().last();
        let tail = &rest[i..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        // Part of a longer identifier (`my_shopstream_x`) or a label value is not a metric.
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '"') {
            names.insert(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    names
}

/// The text of every Rust source file of the crates that export metrics.
fn rust_sources() -> String {
    fn walk(dir: &Path, out: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target" && n != "fixtures") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    for dir in ["core", "extractors", "transformers", "loaders", "producers", "src"] {
        walk(&root().join(dir), &mut out);
    }
    out
}

/// True when the code exports `metric` (`shopstream_<name>`): the bare name appears as a string
/// literal (`metrics.add("dead_lettered", …)`) or the full name is written out. A histogram's series
/// (`_bucket`, `_sum`, `_count`) belong to its name.
fn exported(metric: &str, sources: &str) -> bool {
    let bare = metric.strip_prefix("shopstream_").expect("a shopstream_ metric");
    let mut candidates = vec![bare];
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = bare.strip_suffix(suffix) {
            candidates.push(base);
        }
    }
    candidates.iter().any(|name| {
        sources.contains(&format!("\"{name}\"")) || {
            let full = format!("shopstream_{name}");
            sources
                .match_indices(&full)
                .any(|(i, _)| !sources[i + full.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        }
    })
}

/// The consumer group prefix the binary uses by default (its `--group-prefix` default); a stage's
/// group is `<prefix>-<stage>`.
fn binary_group_prefix() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shopstream"))
        .arg("--help")
        .env_remove("SHOPSTREAM_GROUP_PREFIX")
        .output()
        .expect("run shopstream --help");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let from = help.find("--group-prefix <").unwrap_or_else(|| panic!("no --group-prefix in --help:\n{help}"));
    let after = &help[from..];
    let d = after.find("[default: ").expect("--group-prefix has a default") + "[default: ".len();
    after[d..].split(']').next().expect("default").trim().to_string()
}

#[test]
fn every_alert_rule_is_complete() {
    let rules = alert_rules();
    let mut names = BTreeSet::new();
    for (group, r) in &rules {
        let name = str_at(r, &["alert"]).unwrap_or_else(|| panic!("a rule of group {group} has no `alert`: {r:?}"));
        assert!(names.insert(name.to_string()), "alert {name} is defined twice");
        let expr = str_at(r, &["expr"]).unwrap_or_else(|| panic!("{name}: no expr"));
        assert!(!expr.trim().is_empty(), "{name}: empty expr");
        let for_ = r.get("for").and_then(scalar).unwrap_or_else(|| panic!("{name}: no `for`"));
        assert!(
            for_.len() > 1
                && for_[..for_.len() - 1].chars().all(|c| c.is_ascii_digit())
                && for_.ends_with(['s', 'm', 'h']),
            "{name}: `for: {for_}` is not a duration like 10m"
        );
        let severity = str_at(r, &["labels", "severity"]).unwrap_or_else(|| panic!("{name}: no labels.severity"));
        assert!(["warning", "critical"].contains(&severity), "{name}: severity {severity:?}");
        for a in ["summary", "description"] {
            let text = str_at(r, &["annotations", a]).unwrap_or_else(|| panic!("{name}: no annotations.{a}"));
            assert!(!text.trim().is_empty(), "{name}: empty annotations.{a}");
        }
    }
    // What issue 7 asks to be alerted on, each by at least one rule.
    let all_exprs: String = rules.iter().filter_map(|(_, r)| str_at(r, &["expr"])).collect::<Vec<_>>().join("\n");
    for needle in [
        "shopstream_consumer_lag",
        "shopstream_freshness_seconds_bucket",
        "up{job=\"shopstream\"}",
        "shopstream_health",
        "shopstream_dead_lettered",
        "shopstream_idle_with_lag",
        "shopstream_fetch_status",
        "shopstream_scheduler_leader",
        "shopstream_run_summaries",
    ] {
        assert!(all_exprs.contains(needle), "no alert rule uses {needle}");
    }
}

#[test]
fn prometheus_loads_the_rules_in_compose() {
    let prom = yaml("deploy/prometheus/prometheus.yml");
    let files: Vec<&str> = prom
        .get("rule_files")
        .and_then(Yaml::as_sequence)
        .expect("prometheus.yml has rule_files")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(files.contains(&"alerts.yml"), "rule_files {files:?} does not name alerts.yml (next to prometheus.yml)");
    let compose = yaml("docker-compose.yml");
    let volumes: Vec<&str> = compose["services"]["prometheus"]["volumes"]
        .as_sequence()
        .expect("the prometheus service has volumes")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    for (file, at) in
        [("prometheus.yml", "/etc/prometheus/prometheus.yml"), ("alerts.yml", "/etc/prometheus/alerts.yml")]
    {
        assert!(
            volumes.iter().any(|v| v.starts_with(&format!("./deploy/prometheus/{file}:{at}"))),
            "docker-compose.yml does not mount deploy/prometheus/{file} at {at}: {volumes:?}"
        );
    }
}

#[test]
fn promtool_accepts_the_rules_and_config() {
    // scripts/test provides it (SHOPSTREAM_PROMTOOL) and then it must run; elsewhere it is optional.
    let promtool = match std::env::var("SHOPSTREAM_PROMTOOL") {
        Ok(p) => p,
        Err(_) => {
            if Command::new("promtool").arg("--version").output().is_err() {
                eprintln!("promtool is not on PATH: `promtool check rules` skipped (the rules were still parsed)");
                return;
            }
            "promtool".to_string()
        }
    };
    let v = Command::new(&promtool).arg("--version").output().unwrap_or_else(|e| panic!("cannot run {promtool}: {e}"));
    assert!(v.status.success(), "promtool --version failed");
    for args in
        [["check", "rules", "deploy/prometheus/alerts.yml"], ["check", "config", "deploy/prometheus/prometheus.yml"]]
    {
        let out = Command::new(&promtool).args(args).current_dir(root()).output().expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("promtool {}: {}", args.join(" "), String::from_utf8_lossy(&out.stdout).trim());
    }
}

#[test]
fn every_metric_in_alerts_and_dashboard_is_exported_by_the_code() {
    let mut used: HashMap<String, Vec<String>> = HashMap::new();
    for (_, r) in alert_rules() {
        let (name, expr) = (str_at(&r, &["alert"]).unwrap_or("?"), str_at(&r, &["expr"]).unwrap_or(""));
        for m in metric_names(expr) {
            used.entry(m).or_default().push(format!("alert {name}"));
        }
    }
    for p in dashboard_panels() {
        for expr in panel_exprs(&p) {
            for m in metric_names(&expr) {
                used.entry(m).or_default().push(format!("panel {:?}", p["title"].as_str().unwrap_or("?")));
            }
        }
    }
    assert!(used.len() >= 10, "suspiciously few metrics found: {used:?}");
    let sources = rust_sources();
    let mut missing: Vec<String> = used
        .iter()
        .filter(|(m, _)| !exported(m, &sources))
        .map(|(m, by)| format!("{m} (used by {})", by.join(", ")))
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "metrics no code exports:\n  {}", missing.join("\n  "));
}

#[test]
fn the_dashboard_has_unique_queried_panels_and_is_provisioned() {
    let datasources = yaml_files("deploy/grafana/provisioning/datasources");
    let mut prometheus_uid = None;
    for f in &datasources {
        for doc in yaml_docs(f) {
            for ds in doc.get("datasources").and_then(Yaml::as_sequence).into_iter().flatten() {
                if str_at(ds, &["type"]) == Some("prometheus") {
                    assert_eq!(str_at(ds, &["url"]), Some("http://prometheus:9090"), "{}", f.display());
                    prometheus_uid = str_at(ds, &["uid"]).map(str::to_string);
                }
            }
        }
    }
    let prometheus_uid = prometheus_uid.expect("a provisioned Prometheus data source with a uid");
    let mut dashboard_paths = Vec::new();
    for f in yaml_files("deploy/grafana/provisioning/dashboards") {
        for doc in yaml_docs(&f) {
            for p in doc.get("providers").and_then(Yaml::as_sequence).into_iter().flatten() {
                assert_eq!(str_at(p, &["type"]), Some("file"), "{}", f.display());
                dashboard_paths.extend(str_at(p, &["options", "path"]).map(str::to_string));
            }
        }
    }
    assert_eq!(dashboard_paths, vec!["/var/lib/grafana/dashboards".to_string()]);
    let compose = yaml("docker-compose.yml");
    let volumes: Vec<&str> = compose["services"]["grafana"]["volumes"]
        .as_sequence()
        .expect("grafana volumes")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(volumes.iter().any(|v| v.starts_with("./deploy/grafana/dashboards:/var/lib/grafana/dashboards")));
    assert!(volumes.iter().any(|v| v.starts_with("./deploy/grafana/provisioning:/etc/grafana/provisioning")));

    let (mut ids, mut titles, mut exprs) = (BTreeSet::new(), BTreeSet::new(), String::new());
    for p in dashboard_panels() {
        let title = p["title"].as_str().unwrap_or_default().to_string();
        assert!(!title.is_empty(), "a panel without a title: {p}");
        let id = p["id"].as_i64().unwrap_or_else(|| panic!("panel {title:?} has no numeric id"));
        assert!(ids.insert(id), "panel id {id} is used twice");
        assert!(titles.insert(title.clone()), "panel title {title:?} is used twice");
        assert!(p["gridPos"].is_object(), "panel {title:?} has no gridPos");
        if p["type"] == "row" {
            continue;
        }
        let es = panel_exprs(&p);
        assert!(!es.is_empty() && es.iter().all(|e| !e.trim().is_empty()), "panel {title:?} has no expression");
        assert_eq!(p["datasource"]["uid"], prometheus_uid.as_str(), "panel {title:?}: data source");
        exprs.push_str(&es.join("\n"));
    }
    for needle in [
        "shopstream_consumer_lag",
        "histogram_quantile(0.5, sum by (stage, table, le) (rate(shopstream_freshness_seconds_bucket",
        "histogram_quantile(0.95, sum by (stage, table, le) (rate(shopstream_freshness_seconds_bucket",
        "histogram_quantile(0.99, sum by (stage, table, le) (rate(shopstream_freshness_seconds_bucket",
        "shopstream_records_in",
        "shopstream_records_out",
        "shopstream_dead_lettered",
        "shopstream_fetch_status{class=~\"5xx|error\"}",
        "histogram_quantile(0.95, sum by (host, le) (rate(shopstream_fetch_latency_seconds_bucket",
        "shopstream_health",
        "shopstream_run_summaries",
        "shopstream_runs_in_flight",
        "shopstream_scheduler_fires",
    ] {
        assert!(exprs.contains(needle), "no dashboard panel queries {needle}");
    }
}

#[test]
fn keda_scales_each_stage_group_within_its_partitions() {
    // The Deployments KEDA scales, and the partition count they create topics with.
    let mut deployments: HashMap<String, Yaml> = HashMap::new();
    let mut partitions = None;
    for f in yaml_files("deploy/k8s") {
        for doc in yaml_docs(&f) {
            match str_at(&doc, &["kind"]) {
                Some("Deployment") => {
                    let name = str_at(&doc, &["metadata", "name"]).expect("deployment name").to_string();
                    deployments.insert(name, doc);
                }
                Some("ConfigMap") => {
                    if let Some(p) = doc.get("data").and_then(|d| d.get("SHOPSTREAM_PARTITIONS")).and_then(scalar) {
                        partitions = Some(p.parse::<i64>().expect("SHOPSTREAM_PARTITIONS is a number"));
                    }
                }
                _ => {}
            }
        }
    }
    let partitions = partitions.expect("deploy/k8s sets SHOPSTREAM_PARTITIONS");
    // The Deployments carry the stage environment of docker-compose.yml (the password from a Secret).
    let compose = yaml("docker-compose.yml");
    let compose_env: BTreeSet<String> = compose["x-stage"]["environment"]
        .as_mapping()
        .expect("x-stage environment")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();

    let prefix = binary_group_prefix();
    let topics = shopstream_core::Topics::default();
    let mut scaled = BTreeSet::new();
    for f in yaml_files("deploy/keda") {
        for doc in yaml_docs(&f) {
            let file = f.display().to_string();
            assert_eq!(str_at(&doc, &["apiVersion"]), Some("keda.sh/v1alpha1"), "{file}");
            assert_eq!(str_at(&doc, &["kind"]), Some("ScaledObject"), "{file}");
            let target = str_at(&doc, &["spec", "scaleTargetRef", "name"]).expect("scaleTargetRef.name");
            let stage = target
                .strip_prefix("shopstream-")
                .filter(|s| STAGES.contains(s))
                .unwrap_or_else(|| panic!("{file}: scales {target}, not a stage's Deployment"));
            assert!(scaled.insert(stage.to_string()), "stage {stage} is scaled twice");
            let stage_topics: Vec<&str> = match stage {
                "extract" => topics.crawl_topics().to_vec(),
                "transform" => topics.raw_topics().to_vec(),
                _ => topics.event_topics().to_vec(),
            };

            let spec = &doc["spec"];
            assert_eq!(spec["minReplicaCount"].as_i64(), Some(1), "{file}: minReplicaCount");
            let max = spec["maxReplicaCount"].as_i64().unwrap_or_else(|| panic!("{file}: no maxReplicaCount"));
            assert!((1..=partitions).contains(&max), "{file}: maxReplicaCount {max} > {partitions} partitions");

            let triggers = spec["triggers"].as_sequence().expect("triggers");
            assert!(!triggers.is_empty(), "{file}: no triggers");
            for t in triggers {
                assert_eq!(str_at(t, &["type"]), Some("kafka"), "{file}: trigger type");
                let m = &t["metadata"];
                assert!(m["bootstrapServers"].as_str().is_some_and(|s| !s.is_empty()), "{file}: bootstrapServers");
                assert_eq!(
                    m["consumerGroup"].as_str(),
                    Some(format!("{prefix}-{stage}").as_str()),
                    "{file}: consumerGroup is not the group `shopstream {stage}` joins"
                );
                let threshold = m.get("lagThreshold").and_then(scalar).expect("lagThreshold");
                assert!(threshold.parse::<u64>().is_ok_and(|n| n > 0), "{file}: lagThreshold {threshold}");
                assert_eq!(m.get("allowIdleConsumers").and_then(scalar).as_deref(), Some("false"), "{file}");
                if let Some(topic) = m.get("topic").and_then(Yaml::as_str).filter(|t| !t.is_empty()) {
                    assert!(stage_topics.contains(&topic), "{file}: {topic} is not consumed by {stage}");
                }
            }

            let d = deployments.get(target).unwrap_or_else(|| panic!("{file}: no Deployment {target} in deploy/k8s"));
            let c = &d["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(c["image"].as_str(), Some("shopstream:latest"), "{target}: image");
            assert_eq!(c["args"][0].as_str(), Some(stage), "{target}: runs `shopstream {stage}`");
            let mut env: BTreeSet<String> = c["env"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|e| str_at(e, &["name"]).map(str::to_string))
                .collect();
            let config_map = c["envFrom"][0]["configMapRef"]["name"].as_str().expect("envFrom a ConfigMap");
            for f in yaml_files("deploy/k8s") {
                for doc in yaml_docs(&f) {
                    if str_at(&doc, &["kind"]) == Some("ConfigMap")
                        && str_at(&doc, &["metadata", "name"]) == Some(config_map)
                    {
                        let data = doc["data"].as_mapping().expect("ConfigMap data");
                        env.extend(data.keys().filter_map(|k| k.as_str().map(str::to_string)));
                    }
                }
            }
            let missing: Vec<&String> = compose_env.difference(&env).collect();
            assert!(missing.is_empty(), "{target} lacks docker-compose's stage environment {missing:?}");
        }
    }
    assert_eq!(scaled, STAGES.iter().map(|s| s.to_string()).collect(), "one ScaledObject per stage");
}

#[test]
fn metric_names_are_read_from_expressions() {
    let names = metric_names(
        "histogram_quantile(0.95, sum by (le) (rate(shopstream_freshness_seconds_bucket[5m]))) / up{job=\"shopstream\"} + shopstream_health",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        vec!["shopstream_freshness_seconds_bucket".to_string(), "shopstream_health".to_string()]
    );
    let code = "m.observe(\"freshness_seconds\", &[], 1.0); m.add(\"records_in\", &[], 1);";
    assert!(exported("shopstream_freshness_seconds_bucket", code));
    assert!(exported("shopstream_records_in", code));
    assert!(!exported("shopstream_records", code));
    assert!(!exported("shopstream_fetch_status", code));
}
