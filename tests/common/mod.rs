//! Shared helpers for the integration tests: endpoints from the environment (set by `scripts/test`),
//! fresh names per test, the binary as a child process, ClickHouse queries.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test, which starts the real services and sets it")
    })
}

/// A fresh namespace for one test: topic prefix, group prefix, ClickHouse database, scratch dir.
pub struct TestEnv {
    pub id: String,
    pub brokers: String,
    pub registry: String,
    pub clickhouse: String,
    pub database: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    children: Vec<Child>,
}

impl TestEnv {
    pub fn new(name: &str, config_toml: &str) -> TestEnv {
        let id = format!("{name}_{:08x}", rand::random::<u32>());
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("pipeline.toml");
        std::fs::write(&config, config_toml).expect("write config");
        TestEnv {
            database: format!("t_{id}"),
            id,
            brokers: env("SHOPSTREAM_KAFKA_BROKERS"),
            registry: env("SHOPSTREAM_SCHEMA_REGISTRY_URL"),
            clickhouse: env("SHOPSTREAM_CLICKHOUSE_URL"),
            dir,
            config,
            children: Vec::new(),
        }
    }

    pub fn topic_prefix(&self) -> String {
        format!("{}.", self.id)
    }

    /// The binary with this test's endpoints and names.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_with_groups(args, &format!("g_{}", self.id))
    }

    pub fn cmd_with_groups(&self, args: &[&str], group_prefix: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_shopstream"));
        c.args(args)
            .env("SHOPSTREAM_KAFKA_BROKERS", &self.brokers)
            .env("SHOPSTREAM_SCHEMA_REGISTRY_URL", &self.registry)
            .env("SHOPSTREAM_CLICKHOUSE_URL", &self.clickhouse)
            .env("SHOPSTREAM_CLICKHOUSE_DATABASE", &self.database)
            .env("SHOPSTREAM_TOPIC_PREFIX", self.topic_prefix())
            .env("SHOPSTREAM_GROUP_PREFIX", group_prefix)
            .env("SHOPSTREAM_CONFIG", &self.config)
            .env("SHOPSTREAM_PARTITIONS", "2")
            .env_remove("SHOPSTREAM_FAILPOINT")
            .env("RUST_LOG", "warn,shopstream=info");
        c
    }

    /// Run to completion; panics with its output on failure. Returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("spawn shopstream");
        assert!(
            out.status.success(),
            "shopstream {args:?} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Start a long-running child; it is killed when the TestEnv drops.
    pub fn spawn(&mut self, mut cmd: Command) -> usize {
        let log =
            std::fs::File::create(self.dir.path().join(format!("child{}.log", self.children.len()))).expect("log file");
        cmd.stdout(Stdio::null()).stderr(log);
        self.children.push(cmd.spawn().expect("spawn shopstream"));
        self.children.len() - 1
    }

    pub fn child_log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("child{i}.log"))).unwrap_or_default()
    }

    /// Stop a child gracefully (SIGTERM) and wait for it.
    pub fn stop(&mut self, i: usize) {
        let pid = self.children[i].id();
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = self.children[i].try_wait() {
                return;
            }
            if Instant::now() > deadline {
                let _ = self.children[i].kill();
                let _ = self.children[i].wait();
                panic!("child {i} did not stop within 60 s:\n{}", self.child_log(i));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kill a child with SIGKILL (no drain, no commit) and reap it.
    pub fn kill9(&mut self, i: usize) {
        let _ = self.children[i].kill();
        let _ = self.children[i].wait();
    }

    /// Wait for a child to exit by itself.
    pub fn wait(&mut self, i: usize, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.children[i].try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "child {i} did not exit within {timeout:?}:\n{}", self.child_log(i));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until the groups with `group_prefix` have no lag.
    pub fn wait_idle(&self, group_prefix: &str) {
        let out = self
            .cmd_with_groups(&["wait-idle", "--timeout-secs", "600", "--settle-secs", "3"], group_prefix)
            .output()
            .expect("spawn wait-idle");
        assert!(out.status.success(), "wait-idle failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A ClickHouse query; rows as JSON objects (JSONEachRow).
    pub fn query(&self, sql: &str) -> Vec<serde_json::Value> {
        let text = self.query_text(&format!("{sql} FORMAT JSONEachRow"));
        text.lines().map(|l| serde_json::from_str(l).expect("JSON row")).collect()
    }

    pub fn query_text(&self, sql: &str) -> String {
        let resp = reqwest::blocking_post(&self.clickhouse, sql);
        match resp {
            Ok(t) => t,
            Err(e) => panic!("ClickHouse query failed: {e}\n{sql}"),
        }
    }

    /// A count, or None while the query fails (e.g. before the loader created the database).
    pub fn try_count(&self, sql: &str) -> Option<i64> {
        reqwest::blocking_post(&self.clickhouse, sql).ok().and_then(|t| t.trim().parse().ok())
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.query_text(sql).trim().parse().unwrap_or_else(|_| panic!("not a count: {sql}"))
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::env::var("SHOPSTREAM_KEEP_TEST_DATA").is_err() {
            let _ = reqwest::blocking_post(&self.clickhouse, &format!("DROP DATABASE IF EXISTS {}", self.database));
        }
    }
}

/// Minimal blocking HTTP for tests, via a private runtime.
pub mod reqwest {
    /// GET a text body.
    pub fn blocking_get_text(url: &str) -> String {
        let url = url.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async { ::reqwest::get(&url).await.expect("GET").text().await.expect("body") })
        })
        .join()
        .expect("GET thread")
    }

    /// GET a JSON document (from a thread without a runtime, or inside one: a private thread is used).
    pub fn blocking_get_json(url: &str) -> serde_json::Value {
        let url = url.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let resp = ::reqwest::get(&url).await.expect("GET");
                resp.json::<serde_json::Value>().await.expect("JSON body")
            })
        })
        .join()
        .expect("GET thread")
    }

    pub fn blocking_post(url: &str, body: &str) -> Result<String, String> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let resp =
                ::reqwest::Client::new().post(url).body(body.to_string()).send().await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            if status.is_success() {
                Ok(text)
            } else {
                Err(format!("HTTP {status}: {text}"))
            }
        })
    }
}

/// JSON value as i64 (ClickHouse quotes 64-bit integers in JSON).
pub fn as_i64(v: &serde_json::Value) -> i64 {
    match v {
        serde_json::Value::Number(n) => n.as_i64().unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        serde_json::Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not an integer: {s}")),
        other => panic!("not an integer: {other}"),
    }
}

/// Sandbox config for tests: the books source with private networks allowed.
pub fn sandbox_config(follow: &[&str], max_depth: u32) -> String {
    let follow: Vec<String> = follow.iter().map(|f| format!("{f:?}")).collect();
    format!(
        "[sources.books]\nparser = {{ type = \"books_toscrape\" }}\ndefault_currency = \"GBP\"\n\n[sources.books.fetch]\nallow_private_network = true\nfollow = [{}]\nmax_depth = {max_depth}\nper_host_concurrency = 16\n",
        follow.join(", ")
    )
}

/// A sandbox on a free port, served from a background thread for the test's lifetime.
pub fn start_sandbox(copies: u32) -> (String, tokio_util::sync::CancellationToken) {
    start_sandbox_with(copies, shopstream_sandbox::Faults::default())
}

/// A sandbox with faults (latency, 429/503 storms, truncated bodies, …).
pub fn start_sandbox_with(
    copies: u32,
    faults: shopstream_sandbox::Faults,
) -> (String, tokio_util::sync::CancellationToken) {
    start_sandbox_config(shopstream_sandbox::SandboxConfig { copies, faults, ..Default::default() })
}

/// A sandbox on a free port of 127.0.0.1 (`cfg.listen` is replaced), served by a thread of its own:
/// its base URL and the token that stops it.
pub fn start_sandbox_config(cfg: shopstream_sandbox::SandboxConfig) -> (String, tokio_util::sync::CancellationToken) {
    let token = tokio_util::sync::CancellationToken::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = token.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let cfg = shopstream_sandbox::SandboxConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..cfg };
            let sandbox = shopstream_sandbox::Sandbox::bind(cfg).await.expect("sandbox binds");
            tx.send(sandbox.local_addr()).expect("send addr");
            sandbox.run(t).await.expect("sandbox runs");
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(60)).expect("sandbox started");
    (format!("http://{addr}"), token)
}

/// Poll until `f` is true or the timeout passes.
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Encode `events` through the registry and produce them to `topic` (key "k"), each acknowledged.
pub fn produce<T: shopstream_schemas::Contract>(env: &TestEnv, topic: &str, events: &[T]) {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let codec = shopstream_core::Codec::new(&env.registry);
        let producer: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", &env.brokers).create().expect("producer");
        for e in events {
            let bytes = codec.encode(topic, e).await.expect("encode");
            producer
                .send(FutureRecord::to(topic).key("k").payload(&bytes), Duration::from_secs(10))
                .await
                .map_err(|(e, _)| e)
                .expect("produce");
        }
    });
}

/// A schema's example event (schemas/examples/*.json), to vary in a test.
pub fn example<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).expect("example")
}

/// The example price observation of `product` in crawl `crawl`: `minor` units fetched at `fetched_at` (ms).
pub fn price_at(product: &str, crawl: &str, minor: i64, fetched_at: i64) -> shopstream_schemas::PriceObserved {
    let mut p: shopstream_schemas::PriceObserved = example(include_str!("../../schemas/examples/price_observed.json"));
    p.event_id = format!("{product}-{crawl}");
    p.product_id = product.into();
    p.provenance.crawl_id = crawl.into();
    p.provenance.fetched_at = fetched_at;
    p.price_minor = minor;
    p
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Every record of a topic (key, value), read from the start by a fresh group.
pub fn read_records(env: &TestEnv, topic: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &env.brokers)
        .set("group.id", format!("reader_{}_{:08x}", env.id, rand::random::<u32>()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let total = shopstream_core::kafka::topic_size(&env.brokers, topic).expect("topic size");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (out.len() as i64) < total && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            out.push((m.key().unwrap_or_default().to_vec(), m.payload().unwrap_or_default().to_vec()));
        }
    }
    assert_eq!(out.len() as i64, total, "read all of {topic}");
    out
}

/// A TCP proxy in front of a service (ClickHouse) that the test switches off (connections refused, open ones cut)
/// and on again: a service "down" for the stages without stopping the one other tests use.
pub struct Switch {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Switch {
    pub fn new(target: &str) -> Switch {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>> = std::sync::Arc::default();
        let (u, o, target) = (up.clone(), open.clone(), target.to_string());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !u.load(std::sync::atomic::Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&target) else { continue };
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        o.lock().expect("lock").push(c);
                    }
                }
                let (mut c2, mut s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                let (mut c, mut s) = (client, server);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c, &mut s);
                    let _ = s.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Switch { port, up, open }
    }

    pub fn set(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        if !up {
            for s in self.open.lock().expect("lock").drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}
