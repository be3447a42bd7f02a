//! docker-compose.yml cannot run here (no Docker engine); keep it valid: it parses, every stage runs the
//! shopstream image with the same SHOPSTREAM_* variables, and every command it gives exists in the CLI.

use std::process::Command;

#[test]
fn every_compose_command_exists_in_the_cli() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .expect("docker-compose.yml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let mut doc = doc;
    doc.apply_merge().expect("merge keys resolve");
    let services = doc["services"].as_mapping().expect("services");
    for needed in ["kafka", "schema-registry", "clickhouse", "extract", "transform", "load", "prometheus", "grafana"] {
        assert!(services.contains_key(needed), "service {needed} is missing");
    }
    // ClickHouse is not published without a password, nor beyond the host's loopback.
    let ch = &services[&serde_yaml::Value::from("clickhouse")];
    let password = ch["environment"]["CLICKHOUSE_PASSWORD"].as_str().unwrap_or_default();
    assert!(password.starts_with("${CLICKHOUSE_PASSWORD:?"), "ClickHouse needs a required password: {password:?}");
    for port in ch["ports"].as_sequence().into_iter().flatten() {
        assert!(port.as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "ClickHouse port {port:?} is public");
    }
    let mut stages = 0;
    for (name, svc) in services {
        let name = name.as_str().expect("name");
        if svc["image"].as_str() != Some("shopstream:latest") {
            continue;
        }
        stages += 1;
        let env = &svc["environment"];
        for var in [
            "SHOPSTREAM_KAFKA_BROKERS",
            "SHOPSTREAM_SCHEMA_REGISTRY_URL",
            "SHOPSTREAM_CLICKHOUSE_URL",
            "SHOPSTREAM_CLICKHOUSE_DATABASE",
            "SHOPSTREAM_CLICKHOUSE_USER",
            "SHOPSTREAM_CLICKHOUSE_PASSWORD",
        ] {
            assert!(env[var].as_str().is_some(), "{name}: {var} is not set");
        }
        let command: Vec<String> = svc["command"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: command must be a list"))
            .iter()
            .map(|v| v.as_str().expect("string").to_string())
            .collect();
        // The subcommand exists and accepts the given flags (validated by clap with --help appended).
        let flags: Vec<&str> = command.iter().map(String::as_str).filter(|a| *a != "--help").collect();
        let out =
            Command::new(env!("CARGO_BIN_EXE_shopstream")).args(&flags).arg("--help").output().expect("run shopstream");
        assert!(
            out.status.success(),
            "{name}: `shopstream {}` is not a valid command: {}",
            flags.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(stages >= 5, "the stages run from the shopstream image");
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "registry",
        "sandbox",
        "topics",
        "migrate",
        "crawl",
        "extract",
        "transform",
        "load",
        "run",
        "wait-idle",
        "status",
        "report",
        "parse",
        "normalize",
    ] {
        let out =
            Command::new(env!("CARGO_BIN_EXE_shopstream")).args([sub, "--help"]).output().expect("run shopstream");
        assert!(out.status.success() && !out.stdout.is_empty(), "shopstream {sub} --help");
    }
}
