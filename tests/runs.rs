//! Run summaries on the real services (issue 7): a crawl whose seeds include a page that fails three
//! times and then answers, a dead link and an address nothing listens on. The loader's run watcher
//! retries the failed requests after the run's retry delay, and once every request settled writes one
//! summary (events.runs → the `runs` table) whose counts reconcile with fetch_log and the dead letters;
//! `crawl --wait` prints it, `shopstream runs` shows it. A run that cannot settle is summarized as
//! timed out at its timeout.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{as_i64, sandbox_config, start_sandbox, TestEnv};

const BOOK: &str = "/catalogue/a-light-in-the-attic_1000/index.html";

/// A server whose first `fail` connections are closed without an answer (a network error to the
/// client); later ones get the page. Returns its base URL and the connection count.
fn flaky_server(fail: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    let body = shopstream_sandbox::snapshot().get(BOOK).expect("page").to_vec();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            if n <= fail {
                drop(stream);
                continue;
            }
            let mut buf = [0u8; 8192];
            let mut request = Vec::new();
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => request.extend_from_slice(&buf[..k]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (base, connections)
}

/// A server that accepts connections and never answers.
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    base
}

/// An address nothing listens on.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn run_cmd(env: &TestEnv, args: &[&str]) -> (bool, String, String) {
    let out = env.cmd(args).output().expect("spawn shopstream");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_run_retries_its_failures_and_writes_one_summary_that_reconciles() {
    let (base, _stop) = start_sandbox(1);
    let (flaky, connections) = flaky_server(3);
    let dead = closed_port();
    // A short fetch timeout, so the page that never answers does not hold the extractor when it stops;
    // robots.txt off: the failing servers fail the pages' own fetches, which is what the run counts.
    let config =
        format!("{}timeout_ms = 3000\nobey_robots = false\n", sandbox_config(&["article.product_pod h3 a"], 1));
    let mut env = TestEnv::new("runs", &config);
    env.run_ok(&["topics", "--partitions", "2"]);
    let mut pipeline = env.cmd(&["run"]);
    pipeline.env("SHOPSTREAM_RUNS_TICK_MS", "300").env("SHOPSTREAM_RUNS_SETTLE_MS", "2000");
    let p = env.spawn(pipeline);

    let listing = format!("{base}/catalogue/page-2.html");
    let missing = format!("{base}/catalogue/no-such-book_0/index.html");
    let flaky_url = format!("{flaky}{BOOK}");
    let dead_url = format!("{dead}/catalogue/gone_1/index.html");
    let (ok, stdout, stderr) = run_cmd(
        &env,
        &[
            "crawl",
            "--crawl-id",
            "run-1",
            "--seed",
            &listing,
            "--seed",
            &missing,
            "--seed",
            &flaky_url,
            "--seed",
            &dead_url,
            "--retries",
            "2",
            "--retry-delay",
            "1s",
            "--timeout",
            "10m",
            "--wait",
        ],
    );
    assert!(
        ok,
        "crawl --wait failed (a partial run exits 0)\nstdout: {stdout}\nstderr: {stderr}\n{}",
        env.child_log(p)
    );
    // Seeds: the listing, the flaky page, the dead link, the closed port; the listing's 20 books.
    let line = stdout.lines().find(|l| l.starts_with("run run-1: ")).unwrap_or_else(|| panic!("no summary: {stdout}"));
    assert!(
        line.starts_with("run run-1: partial total=24 ok=22 not_modified=0 failed=2 retried=3 dead_lettered=4 rows="),
        "{line}"
    );
    // The flaky page failed its three attempts, then answered the watcher's first retry.
    assert_eq!(connections.load(Ordering::SeqCst), 4);
    assert!(stdout.contains(&format!("failed: {missing} (http_error: HTTP 404")), "{stdout}");
    assert!(stdout.contains(&format!("failed: {dead_url} (network_error: ")), "{stdout}");

    // The summary reconciles with what the tables hold.
    let db = &env.database;
    let fetched = env.query(&format!(
        "SELECT count() AS urls, countIf(o = 'ok') AS ok, countIf(o != 'ok') AS failed FROM
         (SELECT url, argMax(outcome, fetched_at) AS o FROM {db}.fetch_log FINAL WHERE crawl_id = 'run-1' GROUP BY url)"
    ));
    assert_eq!((as_i64(&fetched[0]["urls"]), as_i64(&fetched[0]["ok"]), as_i64(&fetched[0]["failed"])), (24, 22, 2));
    // Attempts per URL: the flaky page twice (fail, ok), the dead one three times (fail, two retries).
    let attempts = env.query(&format!(
        "SELECT url, count() AS n FROM {db}.fetch_log FINAL WHERE crawl_id = 'run-1' GROUP BY url HAVING n > 1 ORDER BY url"
    ));
    let attempts: Vec<(String, i64)> =
        attempts.iter().map(|r| (r["url"].as_str().unwrap_or_default().to_string(), as_i64(&r["n"]))).collect();
    let mut want = vec![(dead_url.clone(), 3), (flaky_url.clone(), 2)];
    want.sort();
    assert_eq!(attempts, want);
    let rows = env.count(&format!(
        "SELECT (SELECT count() FROM {db}.product_observations FINAL WHERE crawl_id = 'run-1')
              + (SELECT count() FROM {db}.price_observations FINAL WHERE crawl_id = 'run-1')
              + (SELECT count() FROM {db}.rank_observations FINAL WHERE crawl_id = 'run-1')"
    ));
    assert!(line.contains(&format!(" rows={rows} elapsed=")), "{line} vs {rows} rows loaded");
    assert!(rows >= 21 * 2, "21 books' products and prices at least, and the listing's ranks: {rows}");

    // One summary, in the table and through `shopstream runs`.
    assert_eq!(env.count(&format!("SELECT count() FROM {db}.runs FINAL WHERE run_id = 'run-1'")), 1);
    let json: serde_json::Value =
        serde_json::from_str(&env.run_ok(&["runs", "--run", "run-1", "--json"])).expect("json");
    let r = &json["finished"][0];
    assert_eq!(r["status"], "partial");
    assert_eq!((r["total"].as_i64(), r["ok"].as_i64(), r["failed"].as_i64()), (Some(24), Some(22), Some(2)));
    assert_eq!(
        (r["retried"].as_i64(), r["dead_lettered"].as_i64(), r["requests"].as_i64()),
        (Some(3), Some(4), Some(4))
    );
    let failed: Vec<&str> =
        r["failures"].as_array().expect("failures").iter().filter_map(|f| f["url"].as_str()).collect();
    let mut want = vec![dead_url.as_str(), missing.as_str()];
    want.sort();
    assert_eq!(failed, want);
    assert_eq!(json["in_flight"].as_array().map(Vec::len), Some(0));
    let table = env.run_ok(&["runs"]);
    assert!(table.lines().any(|l| l.starts_with("run-1 ") && l.contains(" partial ")), "{table}");

    // `status --once --json` shows the stages, the dead letters and the latest summaries.
    let status: serde_json::Value =
        serde_json::from_str(&env.run_ok(&["status", "--once", "--json", "--interval-secs", "1"])).expect("json");
    let stages: Vec<&str> =
        status["stages"].as_array().expect("stages").iter().filter_map(|s| s["stage"].as_str()).collect();
    assert_eq!(stages, ["extract", "transform", "load"]);
    assert_eq!(status["dead_letters"]["extract"].as_i64(), Some(4), "{status}");
    assert_eq!(status["recent_runs"][0]["run_id"], "run-1", "{status}");
    assert_eq!(status["runs_in_flight"].as_array().map(Vec::len), Some(0), "{status}");
    assert!(status["runs_error"].is_null(), "{status}");

    // On a terminal (a pseudo-terminal from util-linux `script`), `status` is a live view that q quits.
    live_status(&env);

    // A run that cannot settle (its only page never answers) is summarized at its timeout.
    let silent = format!("{}/catalogue/slow_2/index.html", silent_server());
    let (ok, stdout, _) =
        run_cmd(&env, &["crawl", "--crawl-id", "run-2", "--seed", &silent, "--timeout", "3s", "--wait"]);
    assert!(!ok, "a timed-out run exits 1: {stdout}");
    assert!(stdout.contains("run run-2: timed_out total=1 ok=0 not_modified=0 failed=1 "), "{stdout}");
    env.stop(p);
}

/// `shopstream status` under a pseudo-terminal: it redraws (at least twice) and quits on `q`.
fn live_status(env: &TestEnv) {
    let typescript = env.dir.path().join("status.typescript");
    let bin = env!("CARGO_BIN_EXE_shopstream");
    let cmd = env.cmd(&[]);
    let mut script = std::process::Command::new("script");
    script
        .args(["-qfc", &format!("{bin} status --interval-secs 1"), typescript.to_str().expect("path")])
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))))
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = script.spawn().expect("util-linux script");
    let views = || std::fs::read_to_string(&typescript).unwrap_or_default().matches("shopstream status at").count();
    common::eventually("two live views", std::time::Duration::from_secs(60), || views() >= 2);
    child.stdin.as_mut().expect("stdin").write_all(b"q").expect("press q");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "status did not quit on q");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "status exited with {status}");
    let text = std::fs::read_to_string(&typescript).expect("typescript");
    assert!(text.contains("latest runs:") && text.contains("run-1"), "{text}");
    assert!(
        text.contains("\u{1b}[?1049h") && text.contains("\u{1b}[?1049l"),
        "the alternate screen is entered and left"
    );
}
