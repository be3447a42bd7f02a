//! Starts the sandbox on a free port and fetches from it over HTTP.

use std::net::{Ipv4Addr, SocketAddr};

use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION, RETRY_AFTER};
use reqwest::StatusCode;
use shopstream_sandbox::{snapshot, Faults, Sandbox, SandboxConfig, SandboxError, Stats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Running {
    base: String,
    client: reqwest::Client,
    stats: std::sync::Arc<Stats>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), SandboxError>>,
}

impl Running {
    async fn start(copies: u32, faults: Faults) -> Running {
        let config = SandboxConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            copies,
            faults,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::bind(config).await.expect("bind");
        assert_ne!(sandbox.local_addr().port(), 0);
        let base = sandbox.url();
        assert_eq!(base, format!("http://{}/", sandbox.local_addr()));
        let stats = sandbox.stats();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(sandbox.run(shutdown.clone()));
        Running { base, client: client(), stats, shutdown, task }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(path, None).await
    }

    async fn get_with(&self, path: &str, if_none_match: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{}", self.base, path.trim_start_matches('/')));
        if let Some(tag) = if_none_match {
            request = request.header(IF_NONE_MATCH, tag);
        }
        request.send().await.expect("request")
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("join").expect("run");
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

#[tokio::test]
async fn serves_the_snapshot_at_root_and_under_shop_copies() {
    let sandbox = Running::start(3, Faults::default()).await;
    let home = snapshot().get("/index.html").expect("home");

    for path in ["/", "/index.html", "/shop3/", "/shop3/index.html"] {
        let response = sandbox.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(response.bytes().await.expect("body"), home, "{path}");
    }

    let book = "catalogue/a-light-in-the-attic_1000/index.html";
    let response = sandbox.get(book).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert!(body.contains("<h1>A Light in the Attic</h1>"));
    // The directory form of a book URL serves the same page.
    let dir = sandbox.get("/shop2/catalogue/a-light-in-the-attic_1000/").await;
    assert_eq!(dir.text().await.expect("body"), body);

    let listing = sandbox.get("/shop3/catalogue/page-50.html").await;
    assert_eq!(listing.status(), StatusCode::OK);
    assert!(listing.text().await.expect("body").contains("Page 50 of 50"));

    // The snapshot's category links are dead on purpose; so are shops beyond `copies`.
    for path in ["/catalogue/category/books/poetry_23/index.html", "/shop4/", "/shop0/index.html", "/nope"] {
        let response = sandbox.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response.text().await.expect("body").contains("Not Found"));
    }

    let redirect = sandbox.get("/shop1").await;
    assert_eq!(redirect.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(redirect.headers()[LOCATION], "/shop1/");

    let robots = sandbox.get("/robots.txt").await;
    assert_eq!(robots.status(), StatusCode::OK);
    assert_eq!(robots.text().await.expect("body"), "User-agent: *\nDisallow:\n");

    let post = sandbox.client.post(&sandbox.base).send().await.expect("request");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);

    let stats = sandbox.stats.snapshot();
    assert_eq!((stats.ok, stats.not_found, stats.robots, stats.requests), (7, 4, 1, 14), "{stats:?}");
    sandbox.stop().await;
}

#[tokio::test]
async fn answers_if_none_match_with_304() {
    let sandbox = Running::start(1, Faults::default()).await;
    let path = "/catalogue/page-2.html";
    let first = sandbox.get(path).await;
    let etag = first.headers()[ETAG].to_str().expect("ascii").to_owned();
    assert_eq!(Some(etag.as_str()), snapshot().etag(path));

    let cached = sandbox.get_with(path, Some(&etag)).await;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cached.headers()[ETAG], etag.as_str());
    assert!(cached.bytes().await.expect("body").is_empty());
    // The copies are the same bytes, so the same ETag.
    let copy = sandbox.get_with(&format!("/shop1{path}"), Some(&etag)).await;
    assert_eq!(copy.status(), StatusCode::NOT_MODIFIED);
    let stale = sandbox.get_with(path, Some("\"0000000000000000\"")).await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(sandbox.stats.snapshot().not_modified, 2);
    sandbox.stop().await;
}

#[tokio::test]
async fn injects_503_and_429_with_retry_after() {
    let sandbox = Running::start(0, Faults { error_rate: 1.0, retry_after_secs: 3, ..Faults::default() }).await;
    let response = sandbox.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "3");
    // robots.txt is exempt from faults, so a crawler can always read its rules.
    assert_eq!(sandbox.get("/robots.txt").await.status(), StatusCode::OK);
    sandbox.stop().await;

    let sandbox = Running::start(0, Faults { rate_429: 0.5, seed: 42, ..Faults::default() }).await;
    let mut throttled = 0;
    for _ in 0..200 {
        let response = sandbox.get("/catalogue/page-3.html").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()[RETRY_AFTER], "1");
            throttled += 1;
        } else {
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
    assert!((60..140).contains(&throttled), "{throttled} of 200 throttled");
    let stats = sandbox.stats.snapshot();
    assert_eq!((stats.too_many_requests, stats.ok), (throttled, 200 - throttled));
    sandbox.stop().await;
}

#[tokio::test]
async fn truncates_and_oversizes_bodies() {
    let path = "/catalogue/page-2.html";
    let page = snapshot().get(path).expect("page");

    let sandbox = Running::start(0, Faults { truncate_rate: 1.0, ..Faults::default() }).await;
    let response = sandbox.get(path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(ETAG).is_none());
    assert_eq!(response.bytes().await.expect("body"), page[..page.len() / 2]);
    sandbox.stop().await;

    let faults = Faults { oversize_rate: 1.0, oversize_bytes: 1 << 20, ..Faults::default() };
    let sandbox = Running::start(0, faults).await;
    let body = sandbox.get(path).await.bytes().await.expect("body");
    assert_eq!(body.len(), 1 << 20);
    assert!(body.starts_with(page));
    sandbox.stop().await;
}

#[tokio::test]
async fn robots_txt_lists_disallowed_prefixes_and_counts_violations() {
    let faults = Faults { robots_disallow: vec!["/shop2/".into()], ..Faults::default() };
    let sandbox = Running::start(2, faults).await;
    let robots = sandbox.get("/robots.txt").await.text().await.expect("body");
    assert_eq!(robots, "User-agent: *\nDisallow: /shop2/\n");
    assert_eq!(sandbox.get("/shop1/").await.status(), StatusCode::OK);
    assert_eq!(sandbox.get("/shop2/").await.status(), StatusCode::OK, "served anyway");
    assert_eq!(sandbox.stats.snapshot().disallowed, 1);
    sandbox.stop().await;
}

#[tokio::test]
async fn bind_rejects_invalid_config_and_busy_ports() {
    let config = SandboxConfig { faults: Faults { error_rate: 2.0, ..Faults::default() }, ..SandboxConfig::default() };
    assert!(matches!(Sandbox::bind(config).await, Err(SandboxError::Config(_))));

    let first = Sandbox::bind(SandboxConfig { listen: (Ipv4Addr::LOCALHOST, 0).into(), ..SandboxConfig::default() })
        .await
        .expect("bind");
    let busy = SandboxConfig { listen: first.local_addr(), ..SandboxConfig::default() };
    let err = Sandbox::bind(busy).await.expect_err("port is taken");
    assert!(matches!(err, SandboxError::Bind { .. }));
    assert!(err.is_retriable());
}
