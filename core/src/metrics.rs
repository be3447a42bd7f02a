//! Stage counters with bounded labels, a run summary, and the `/metrics` + `/health` endpoint every
//! long-running stage serves (DESIGN §10).
//!
//! Counters count only acknowledged effects: "out" after the broker or ClickHouse acknowledged,
//! "dead_lettered" after the dead letter was acknowledged. `in = out + dead_lettered + in_flight`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

type Labels = Vec<(&'static str, String)>;

/// Health of a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Healthy,
    Degraded,
    Critical,
}

/// Bucket upper bounds (seconds) of every histogram: 5 ms to 1 h, roughly ×2.5 apart.
pub const BUCKETS: [f64; 16] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

#[derive(Default, Clone)]
struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`] (not cumulative; rendered cumulative).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    counters: BTreeMap<(&'static str, Labels), u64>,
    gauges: BTreeMap<(&'static str, Labels), i64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
    health: BTreeMap<&'static str, (Health, String)>,
}

/// Shared metrics of one process. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add `n` to a counter.
    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], n: u64) {
        let key = (name, labels.iter().map(|(k, v)| (*k, v.to_string())).collect());
        *self.lock().counters.entry(key).or_default() += n;
    }

    /// Set a gauge.
    pub fn set(&self, name: &'static str, labels: &[(&'static str, &str)], v: i64) {
        let key = (name, labels.iter().map(|(k, v)| (*k, v.to_string())).collect());
        self.lock().gauges.insert(key, v);
    }

    /// Sum of a counter over the label sets that contain all of `labels`.
    pub fn get(&self, name: &'static str, labels: &[(&'static str, &str)]) -> u64 {
        self.lock()
            .counters
            .iter()
            .filter(|((n, ls), _)| {
                *n == name && labels.iter().all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// Record one observation (seconds) in a histogram.
    pub fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], seconds: f64) {
        let key = (name, labels.iter().map(|(k, v)| (*k, v.to_string())).collect());
        let mut inner = self.lock();
        let h = inner.histograms.entry(key).or_default();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            h.counts[i] += 1;
        }
        h.count += 1;
        h.sum += seconds.max(0.0);
    }

    /// Observations of a histogram over the label sets that contain all of `labels`.
    pub fn observed(&self, name: &'static str, labels: &[(&'static str, &str)]) -> u64 {
        self.lock()
            .histograms
            .iter()
            .filter(|((n, ls), _)| {
                *n == name && labels.iter().all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, h)| h.count)
            .sum()
    }

    /// Report the health of one component, with the reason.
    pub fn set_health(&self, component: &'static str, health: Health, reason: impl Into<String>) {
        self.lock().health.insert(component, (health, reason.into()));
    }

    /// Overall health: the worst component's, with every non-healthy reason.
    pub fn health(&self) -> (Health, Vec<String>) {
        let inner = self.lock();
        let worst = inner.health.values().map(|(h, _)| *h).max().unwrap_or(Health::Healthy);
        let reasons = inner
            .health
            .iter()
            .filter(|(_, (h, _))| *h != Health::Healthy)
            .map(|(c, (_, r))| format!("{c}: {r}"))
            .collect();
        (worst, reasons)
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        let fmt_labels = |ls: &Labels| {
            if ls.is_empty() {
                String::new()
            } else {
                let parts: Vec<String> = ls
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                    .collect();
                format!("{{{}}}", parts.join(","))
            }
        };
        let mut last = "";
        for ((name, ls), v) in &inner.counters {
            if *name != last {
                out.push_str(&format!("# TYPE shopstream_{name} counter\n"));
                last = name;
            }
            out.push_str(&format!("shopstream_{name}{} {v}\n", fmt_labels(ls)));
        }
        last = "";
        for ((name, ls), v) in &inner.gauges {
            if *name != last {
                out.push_str(&format!("# TYPE shopstream_{name} gauge\n"));
                last = name;
            }
            out.push_str(&format!("shopstream_{name}{} {v}\n", fmt_labels(ls)));
        }
        last = "";
        for ((name, ls), h) in &inner.histograms {
            if *name != last {
                out.push_str(&format!("# TYPE shopstream_{name} histogram\n"));
                last = name;
            }
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let mut with_le = ls.clone();
                with_le.push(("le", bound.to_string()));
                out.push_str(&format!("shopstream_{name}_bucket{} {cumulative}\n", fmt_labels(&with_le)));
            }
            let mut with_le = ls.clone();
            with_le.push(("le", "+Inf".to_string()));
            out.push_str(&format!("shopstream_{name}_bucket{} {}\n", fmt_labels(&with_le), h.count));
            out.push_str(&format!("shopstream_{name}_sum{} {}\n", fmt_labels(ls), h.sum));
            out.push_str(&format!("shopstream_{name}_count{} {}\n", fmt_labels(ls), h.count));
        }
        // Health as a number per component (0 healthy, 1 degraded, 2 critical), for alerts.
        if !inner.health.is_empty() {
            out.push_str("# TYPE shopstream_health gauge\n");
            for (component, (h, _)) in &inner.health {
                out.push_str(&format!("shopstream_health{{component=\"{component}\"}} {}\n", *h as u8));
            }
        }
        out
    }
}

async fn metrics_handler(State(m): State<Metrics>) -> impl IntoResponse {
    ([("content-type", "text/plain; version=0.0.4")], m.render())
}

async fn health_handler(State(m): State<Metrics>) -> impl IntoResponse {
    let (h, reasons) = m.health();
    let (status, word) = match h {
        Health::Healthy => (StatusCode::OK, "healthy"),
        Health::Degraded => (StatusCode::OK, "degraded"),
        Health::Critical => (StatusCode::SERVICE_UNAVAILABLE, "critical"),
    };
    let body = serde_json::json!({ "status": word, "reasons": reasons });
    (status, axum::Json(body))
}

/// Serve `/metrics` and `/health` until `shutdown`.
pub async fn serve(addr: SocketAddr, metrics: Metrics, shutdown: CancellationToken) -> std::io::Result<()> {
    let app =
        Router::new().route("/metrics", get(metrics_handler)).route("/health", get(health_handler)).with_state(metrics);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "Serving /metrics and /health.");
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sum_over_matching_labels_and_render() {
        let m = Metrics::new();
        m.add("records_in", &[("stage", "load"), ("topic", "a")], 3);
        m.add("records_in", &[("stage", "load"), ("topic", "b")], 2);
        assert_eq!(m.get("records_in", &[("stage", "load")]), 5);
        assert_eq!(m.get("records_in", &[("topic", "b")]), 2);
        let text = m.render();
        assert!(text.contains("shopstream_records_in{stage=\"load\",topic=\"a\"} 3"), "{text}");
    }

    #[test]
    fn histograms_render_cumulative_buckets() {
        let m = Metrics::new();
        m.observe("fetch_latency_seconds", &[("host", "a")], 0.02);
        m.observe("fetch_latency_seconds", &[("host", "a")], 0.3);
        m.observe("fetch_latency_seconds", &[("host", "a")], 7200.0);
        assert_eq!(m.observed("fetch_latency_seconds", &[("host", "a")]), 3);
        let text = m.render();
        assert!(text.contains("# TYPE shopstream_fetch_latency_seconds histogram"), "{text}");
        assert!(text.contains("shopstream_fetch_latency_seconds_bucket{host=\"a\",le=\"0.01\"} 0"), "{text}");
        assert!(text.contains("shopstream_fetch_latency_seconds_bucket{host=\"a\",le=\"0.025\"} 1"), "{text}");
        assert!(text.contains("shopstream_fetch_latency_seconds_bucket{host=\"a\",le=\"0.5\"} 2"), "{text}");
        assert!(text.contains("shopstream_fetch_latency_seconds_bucket{host=\"a\",le=\"3600\"} 2"), "{text}");
        assert!(text.contains("shopstream_fetch_latency_seconds_bucket{host=\"a\",le=\"+Inf\"} 3"), "{text}");
        assert!(text.contains("shopstream_fetch_latency_seconds_count{host=\"a\"} 3"), "{text}");
    }

    #[test]
    fn health_is_the_worst_component() {
        let m = Metrics::new();
        m.set_health("kafka", Health::Healthy, "");
        m.set_health("clickhouse", Health::Degraded, "retrying an insert");
        let (h, reasons) = m.health();
        assert_eq!(h, Health::Degraded);
        assert_eq!(reasons, vec!["clickhouse: retrying an insert".to_string()]);
        let text = m.render();
        assert!(text.contains("shopstream_health{component=\"clickhouse\"} 1"), "{text}");
        assert!(text.contains("shopstream_health{component=\"kafka\"} 0"), "{text}");
    }
}
