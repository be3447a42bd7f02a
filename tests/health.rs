//! Health of a stage other than the loader (issue 7): an extractor whose schema registry is unreachable
//! says so on /health (critical, with the reason) and as `shopstream_health{component="registry"} 2`,
//! and is healthy again once the registry answers. Its group's lag is exported per topic and partition.

mod common;

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::reqwest::blocking_get_text;
use common::{eventually, sandbox_config, start_sandbox, TestEnv};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn an_extractor_reports_an_unreachable_registry_as_critical_until_it_answers() {
    let (base, _stop) = start_sandbox(1);
    let mut env = TestEnv::new("health", &sandbox_config(&[], 0));
    env.run_ok(&["topics", "--partitions", "2"]);
    env.run_ok(&["crawl", "--crawl-id", "h-1", "--seed", &format!("{base}/index.html")]);

    // The registry's address, served later by a proxy to the real one: nothing listens there yet.
    let registry_port = free_port();
    let metrics_port = free_port();
    let mut extract = env.cmd(&["extract", "--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
    extract
        .env("SHOPSTREAM_SCHEMA_REGISTRY_URL", format!("http://127.0.0.1:{registry_port}"))
        .env("SHOPSTREAM_GROUP_CHECK_SECS", "1");
    let x = env.spawn(extract);
    eventually("the metrics endpoint", Duration::from_secs(60), || {
        TcpStream::connect(("127.0.0.1", metrics_port)).is_ok()
    });
    let health = format!("http://127.0.0.1:{metrics_port}/health");
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    eventually("critical health naming the registry", Duration::from_secs(60), || {
        let h = blocking_get_text(&health);
        h.contains("critical") && h.contains("schema registry")
    });
    assert!(blocking_get_text(&metrics).contains("shopstream_health{component=\"registry\"} 2"));

    // The registry comes back (a TCP relay to the real one on the address the extractor uses).
    let target = env.registry.trim_start_matches("http://").trim_end_matches('/').to_string();
    let listener = TcpListener::bind(("127.0.0.1", registry_port)).expect("bind the registry's port");
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else { continue };
            let (mut c2, mut s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
            let (mut c, mut s) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c, &mut s);
                let _ = s.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    eventually("the registry healthy again", Duration::from_secs(120), || {
        blocking_get_text(&metrics).contains("shopstream_health{component=\"registry\"} 0")
    });
    // The waiting request went through once the registry answered.
    eventually("the page fetched", Duration::from_secs(60), || {
        blocking_get_text(&metrics).contains("shopstream_records_out{stage=\"extract\",outcome=\"ok\"} 1")
    });
    // Lag per topic and per partition (both partitions of the request topic, caught up).
    let topic = format!("{}crawl.requests.normal", env.topic_prefix());
    eventually("lag per partition", Duration::from_secs(60), || {
        let m = blocking_get_text(&metrics);
        (0..2).all(|p| {
            m.contains(&format!(
                "shopstream_consumer_partition_lag{{stage=\"extract\",topic=\"{topic}\",partition=\"{p}\"}} 0"
            ))
        }) && m.contains(&format!("shopstream_consumer_lag{{stage=\"extract\",topic=\"{topic}\"}} 0"))
    });
    env.stop(x);
}
