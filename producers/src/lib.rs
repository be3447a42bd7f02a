//! Producers: write crawl requests (seeds, URL lists) into `crawl.requests.{high,normal,low}` with the
//! same semantics as the live path: key = host, idempotent producer, done on acknowledgement.

pub mod collect;
pub mod schedule;
pub mod track;

use shopstream_core::kafka::Producer;
use shopstream_core::{now_ms, Codec, Endpoints, Topics};
use shopstream_schemas::{CrawlRequest, RunEvent};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("unknown priority {0:?} (high, normal or low)")]
    Priority(String),
    #[error(transparent)]
    Core(#[from] shopstream_core::Error),
}

/// One batch of crawl requests.
#[derive(Debug, Clone)]
pub struct CrawlPlan {
    pub crawl_id: String,
    pub source: String,
    pub priority: String,
    /// `seed` for starting points, `api` for API payloads (they go to raw.api).
    pub kind: String,
    pub urls: Vec<String>,
}

impl CrawlPlan {
    /// A crawl id for a new crawl of `source` now, e.g. `books-20261121T223000123`.
    pub fn new_crawl_id(source: &str) -> String {
        format!("{source}-{}", now_ms())
    }

    /// The requests, validated (every URL parses as http(s) and the priority is known).
    pub fn requests(&self, topics: &Topics) -> Result<Vec<(String, String, CrawlRequest)>, ProduceError> {
        let topic = topics.crawl_for(&self.priority).ok_or_else(|| ProduceError::Priority(self.priority.clone()))?;
        // A URL given twice (as parsed: `http://a.example` is `http://a.example/`) is one request; the
        // extractor would fetch it once per crawl anyway, and the run's summary counts requests.
        let mut seen = std::collections::HashSet::new();
        let requests: Result<Vec<_>, ProduceError> = self
            .urls
            .iter()
            .map(|u| {
                let url = Url::parse(u.trim())
                    .map_err(|e| ProduceError::InvalidUrl { url: u.clone(), reason: e.to_string() })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ProduceError::InvalidUrl { url: u.clone(), reason: "not http(s)".into() });
                }
                let host = url.host_str().unwrap_or_default().to_string();
                let req = CrawlRequest {
                    crawl_id: self.crawl_id.clone(),
                    source: self.source.clone(),
                    url: url.to_string(),
                    kind: self.kind.clone(),
                    depth: 0,
                    priority: self.priority.clone(),
                    requested_at: now_ms(),
                    referrer: None,
                    attributes: Default::default(),
                };
                Ok((topic.to_string(), host, req))
            })
            .collect();
        Ok(requests?.into_iter().filter(|(_, _, r)| seen.insert(r.url.clone())).collect())
    }
}

/// Publish the plan, then its `started` run event (so the run gets a summary once its requests settle,
/// retried under `retry`, or `timeout` passes); returns how many requests the broker acknowledged.
pub async fn publish(
    plan: &CrawlPlan,
    endpoints: &Endpoints,
    topics: &Topics,
    retry: schedule::RetryPolicy,
    timeout: std::time::Duration,
) -> Result<usize, ProduceError> {
    let requests: Vec<CrawlRequest> = plan.requests(topics)?.into_iter().map(|(_, _, r)| r).collect();
    let producer = Producer::new(&endpoints.kafka_brokers)?;
    let codec = Codec::new(&endpoints.schema_registry_url);
    let n = send_requests(&producer, &codec, topics, &requests).await?;
    let started = now_ms();
    let event = RunEvent {
        requests: n as i64,
        scheduler: format!("crawl-{}", std::process::id()),
        timeout_ms: timeout.as_millis() as i64,
        retries: i32::try_from(retry.retries).unwrap_or(i32::MAX),
        retry_delay_ms: retry.delay.as_millis() as i64,
        ..RunEvent::new(&plan.crawl_id, "started", &plan.source, "seeds", started, started)
    };
    let value = codec.encode(&topics.runs, &event).await?;
    producer.send(&topics.runs, plan.crawl_id.as_bytes(), &value).await?;
    Ok(n)
}

/// Send crawl requests to their priority's topic (unknown priorities: normal), keyed by host, in
/// acknowledged batches; returns how many were sent.
pub async fn send_requests(
    producer: &Producer,
    codec: &Codec,
    topics: &Topics,
    requests: &[CrawlRequest],
) -> Result<usize, shopstream_core::Error> {
    let mut records = Vec::with_capacity(requests.len());
    for r in requests {
        let topic = topics.crawl_for(&r.priority).unwrap_or(&topics.crawl_normal).to_string();
        let host = Url::parse(&r.url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        records.push((topic.clone(), host.into_bytes(), codec.encode(&topic, r).await?));
    }
    for chunk in records.chunks(1000) {
        producer.send_all(chunk).await?;
    }
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_keyed_by_host_and_validated() {
        let plan = CrawlPlan {
            crawl_id: "c".into(),
            source: "books".into(),
            priority: "high".into(),
            kind: "seed".into(),
            urls: vec!["http://a.test/x".into(), "https://b.test/".into()],
        };
        let reqs = plan.requests(&Topics::default()).expect("valid");
        assert_eq!(reqs[0].0, "crawl.requests.high");
        assert_eq!(reqs[0].1, "a.test");
        assert_eq!(reqs[1].2.url, "https://b.test/");
        let bad = CrawlPlan { urls: vec!["ftp://x/".into()], ..plan.clone() };
        assert!(bad.requests(&Topics::default()).is_err());
        let bad = CrawlPlan { priority: "urgent".into(), ..plan };
        assert!(matches!(bad.requests(&Topics::default()), Err(ProduceError::Priority(_))));
    }

    #[test]
    fn a_url_given_twice_is_one_request() {
        let plan = CrawlPlan {
            crawl_id: "c".into(),
            source: "books".into(),
            priority: "normal".into(),
            kind: "seed".into(),
            urls: vec!["http://a.test".into(), " http://a.test/ ".into(), "http://a.test/x".into()],
        };
        let urls: Vec<String> =
            plan.requests(&Topics::default()).expect("valid").into_iter().map(|r| r.2.url).collect();
        assert_eq!(urls, ["http://a.test/", "http://a.test/x"]);
    }
}
