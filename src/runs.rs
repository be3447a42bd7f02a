//! `shopstream runs`: the summaries of finished runs (the `runs` table, written by the loader's run
//! watcher) and the progress of runs still in flight; and `crawl --wait`, which follows one run until
//! its summary lands.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use shopstream_loaders::clickhouse::service::Sql;

#[derive(Args)]
pub struct RunsArgs {
    /// How many runs to show, newest first (finished and in flight each).
    #[arg(long, default_value_t = 20)]
    last: u32,
    /// Only this run, with its failures.
    #[arg(long)]
    run: Option<String>,
    /// Print JSON: {"finished": [...], "in_flight": [...]}.
    #[arg(long)]
    json: bool,
}

/// A finished run's summary, as the `runs` table holds it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Finished {
    pub run_id: String,
    pub schedule: Option<String>,
    pub source: String,
    pub what: String,
    pub status: String,
    pub started_at: String,
    pub settled_at: String,
    pub elapsed_ms: i64,
    pub requests: i64,
    pub total: i64,
    pub ok: i64,
    pub not_modified: i64,
    pub failed: i64,
    pub dead_lettered: i64,
    pub retried: i64,
    pub rows: i64,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Failure {
    pub url: String,
    pub reason: String,
    pub targets: Vec<String>,
}

/// A run that started and has no summary yet.
#[derive(Debug, Serialize)]
pub struct InFlight {
    pub run_id: String,
    pub source: String,
    pub what: String,
    pub started_at: String,
    pub requests: i64,
    /// URLs whose fetch settled so far, and the requests counted so far (seeds + discovered links).
    pub settled: i64,
    pub counted: i64,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// ClickHouse's JSON quotes 64-bit integers.
fn int(v: &serde_json::Value, k: &str) -> i64 {
    match v.get(k) {
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or_default(),
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or_default(),
        _ => 0,
    }
}

fn text(v: &serde_json::Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string()
}

/// Unix seconds as RFC 3339 UTC (no SQL date formatting: its codes differ between ClickHouse versions).
fn utc(v: &serde_json::Value, k: &str) -> String {
    chrono::DateTime::from_timestamp(int(v, k), 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn strings(v: &serde_json::Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(|x| x.as_array())
        .map(|a| a.iter().map(|s| s.as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

fn json_rows(text: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("unexpected row from ClickHouse: {l}")))
        .collect()
}

/// A row of the `runs` table (JSONEachRow) as a summary.
fn finished(v: &serde_json::Value) -> Finished {
    let urls = strings(v, "failed_urls");
    let reasons = strings(v, "failed_reasons");
    let targets = strings(v, "failed_targets");
    let failures = urls
        .into_iter()
        .enumerate()
        .map(|(i, url)| Failure {
            url,
            reason: reasons.get(i).cloned().unwrap_or_default(),
            targets: targets
                .get(i)
                .map(|t| t.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
        })
        .collect();
    Finished {
        run_id: text(v, "run_id"),
        schedule: v.get("schedule").and_then(|x| x.as_str()).map(str::to_string),
        source: text(v, "source"),
        what: text(v, "what"),
        status: text(v, "status"),
        started_at: utc(v, "started"),
        settled_at: utc(v, "settled"),
        elapsed_ms: int(v, "elapsed_ms"),
        requests: int(v, "requests"),
        total: int(v, "total"),
        ok: int(v, "ok"),
        not_modified: int(v, "not_modified"),
        failed: int(v, "failed"),
        dead_lettered: int(v, "dead_lettered"),
        retried: int(v, "retried"),
        rows: int(v, "rows"),
        failures,
    }
}

const FINISHED_COLUMNS: &str = "run_id, schedule, source, what, status,
    toUnixTimestamp(started_at) AS started, toUnixTimestamp(settled_at) AS settled, elapsed_ms,
    requests, total, ok, not_modified, failed, dead_lettered, retried, rows,
    failed_urls, failed_reasons, failed_targets";

/// Finished runs, newest first (or the one named).
pub async fn finished_runs(sql: &Sql, run: Option<&str>, last: u32) -> anyhow::Result<Vec<Finished>> {
    let db = sql.database();
    let filter = run.map(|r| format!("WHERE run_id = {}", quote(r))).unwrap_or_default();
    let text = sql
        .query_text(&format!(
            "SELECT {FINISHED_COLUMNS} FROM {db}.runs FINAL {filter}
             ORDER BY settled_at DESC, run_id LIMIT {last} FORMAT JSONEachRow"
        ))
        .await
        .context("cannot read the runs table (is the schema migrated? `shopstream migrate`)")?;
    Ok(json_rows(&text)?.iter().map(finished).collect())
}

/// Settled URLs and counted requests (seeds + discovered links) of one run so far.
async fn progress(sql: &Sql, run: &str, requests: i64) -> anyhow::Result<(i64, i64)> {
    let db = sql.database();
    let text = sql
        .query_text(&format!(
            "SELECT count(), sum(d) FROM (SELECT url, max(discovered) AS d FROM {db}.fetch_log FINAL
             WHERE crawl_id = {} GROUP BY url)",
            quote(run)
        ))
        .await?;
    let n: Vec<i64> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    match n[..] {
        [settled, discovered] => Ok((settled, requests + discovered)),
        _ => anyhow::bail!("unexpected answer counting the fetches of run {run}: {text:?}"),
    }
}

/// Rows loaded for a run so far: product, price and rank observations and tracked targets' pages.
async fn rows(sql: &Sql, run: &str) -> anyhow::Result<i64> {
    let (db, id) = (sql.database(), quote(run));
    let text = sql
        .query_text(&format!(
            "SELECT (SELECT count() FROM {db}.product_observations WHERE crawl_id = {id})
                  + (SELECT count() FROM {db}.price_observations WHERE crawl_id = {id})
                  + (SELECT count() FROM {db}.rank_observations WHERE crawl_id = {id})
                  + (SELECT count() FROM {db}.target_pages WHERE run_id = {id})"
        ))
        .await?;
    text.trim().parse().with_context(|| format!("unexpected answer counting the rows of run {run}: {text:?}"))
}

/// A progress bar on stderr that draws only when stderr is a terminal (piped: nothing).
pub fn bar(len: u64, template: &str) -> anyhow::Result<indicatif::ProgressBar> {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template(template).context("progress bar template")?.progress_chars("=> "),
    );
    Ok(bar)
}

/// Runs that started (fired or started events loaded) and have no summary yet, newest first.
pub async fn in_flight(sql: &Sql, run: Option<&str>, last: u32) -> anyhow::Result<Vec<InFlight>> {
    let db = sql.database();
    let filter = run.map(|r| format!("AND run_id = {}", quote(r))).unwrap_or_default();
    let body = sql
        .query_text(&format!(
            "SELECT run_id, any(source) AS source, any(what) AS what,
                    toUnixTimestamp(min(at)) AS started, sum(requests) AS requests
             FROM {db}.run_events FINAL
             WHERE kind IN ('fired', 'started') AND run_id NOT IN (SELECT run_id FROM {db}.runs) {filter}
             GROUP BY run_id ORDER BY min(at) DESC, run_id LIMIT {last} FORMAT JSONEachRow"
        ))
        .await
        .context("cannot read the run events")?;
    let mut out = Vec::new();
    for v in json_rows(&body)? {
        let run_id = text(&v, "run_id");
        let requests = int(&v, "requests");
        let (settled, counted) = progress(sql, &run_id, requests).await?;
        out.push(InFlight {
            source: text(&v, "source"),
            what: text(&v, "what"),
            started_at: utc(&v, "started"),
            run_id,
            requests,
            settled,
            counted,
        });
    }
    Ok(out)
}

pub async fn run(url: &str, database: &str, a: RunsArgs) -> anyhow::Result<()> {
    let sql = Sql::new(url, database)?;
    let finished = finished_runs(&sql, a.run.as_deref(), a.last).await?;
    let flying = in_flight(&sql, a.run.as_deref(), a.last).await?;
    if a.json {
        let out = serde_json::json!({ "finished": finished, "in_flight": flying });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if let Some(id) = &a.run {
        if finished.is_empty() && flying.is_empty() {
            anyhow::bail!("no run {id:?}: no summary and no start event in ClickHouse");
        }
    }
    if !flying.is_empty() {
        println!("in flight:");
        println!("{:<40} {:<20} {:>9} {:>9}", "run", "started (UTC)", "settled", "counted");
        for r in &flying {
            println!("{:<40} {:<20} {:>9} {:>9}", r.run_id, r.started_at, r.settled, r.counted);
        }
        println!();
    }
    println!(
        "{:<40} {:<10} {:<20} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "run", "status", "started (UTC)", "elapsed", "total", "ok", "failed", "retried", "dead", "rows"
    );
    for r in &finished {
        println!(
            "{:<40} {:<10} {:<20} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}",
            r.run_id,
            r.status,
            r.started_at,
            humantime::format_duration(Duration::from_secs(u64::try_from(r.elapsed_ms / 1000).unwrap_or(0)))
                .to_string(),
            r.total,
            r.ok + r.not_modified,
            r.failed,
            r.retried,
            r.dead_lettered,
            r.rows
        );
    }
    if a.run.is_some() {
        for r in &finished {
            print_failures(r);
        }
    }
    Ok(())
}

fn print_failures(r: &Finished) {
    for f in &r.failures {
        if f.targets.is_empty() {
            println!("  failed: {}  ({})", f.url, f.reason);
        } else {
            println!("  failed: {}  ({}; targets {})", f.url, f.reason, f.targets.join(", "));
        }
    }
}

/// The one-line summary `crawl --wait` prints (a contract: scripts read it).
pub fn summary_line(r: &Finished) -> String {
    format!(
        "run {}: {} total={} ok={} not_modified={} failed={} retried={} dead_lettered={} rows={} elapsed={:.1}s",
        r.run_id,
        r.status,
        r.total,
        r.ok,
        r.not_modified,
        r.failed,
        r.retried,
        r.dead_lettered,
        r.rows,
        r.elapsed_ms as f64 / 1000.0
    )
}

/// Follow a run until its summary is in ClickHouse, with a progress bar on a terminal (nothing when
/// stderr is not one). Gives up after `timeout`.
pub async fn wait(
    url: &str,
    database: &str,
    run_id: &str,
    requests: i64,
    timeout: Duration,
) -> anyhow::Result<Finished> {
    let sql = Sql::new(url, database)?;
    let bar = bar(
        u64::try_from(requests).unwrap_or(0),
        "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} requests settled ({per_sec}, ETA {eta}), {msg}",
    )?;
    let start = Instant::now();
    loop {
        // A failed look (ClickHouse restarting) is retried until the deadline.
        match finished_runs(&sql, Some(run_id), 1).await {
            Ok(mut f) if !f.is_empty() => {
                bar.finish_and_clear();
                return Ok(f.remove(0));
            }
            Ok(_) => {
                if let Ok((settled, counted)) = progress(&sql, run_id, requests).await {
                    bar.set_length(u64::try_from(counted.max(settled)).unwrap_or(0));
                    bar.set_position(u64::try_from(settled).unwrap_or(0));
                }
                if let Ok(n) = rows(&sql, run_id).await {
                    bar.set_message(format!("{n} rows loaded"));
                }
            }
            Err(e) => bar.set_message(format!("({e:#})")),
        }
        if start.elapsed() > timeout {
            bar.abandon();
            anyhow::bail!(
                "no summary of run {run_id} after {}: is a loader (`shopstream load` or `shopstream run`) running?",
                humantime::format_duration(Duration::from_secs(timeout.as_secs()))
            );
        }
        bar.tick();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_row_reads_back_with_its_failures_and_targets() {
        let row: serde_json::Value = serde_json::from_str(
            r#"{"run_id":"r1","schedule":null,"source":"books","what":"seeds","status":"partial",
                "started":1796086800,"settled":"1796086920","elapsed_ms":"120000",
                "requests":"3","total":"5","ok":"3","not_modified":"0","failed":"2","dead_lettered":"4",
                "retried":"3","rows":"9","failed_urls":["u1","u2"],"failed_reasons":["http_error: HTTP 404","x"],
                "failed_targets":["","t1,t2"]}"#,
        )
        .expect("json");
        let f = finished(&row);
        assert_eq!((f.total, f.ok, f.failed, f.retried, f.dead_lettered, f.rows), (5, 3, 2, 3, 4, 9));
        assert_eq!(f.schedule, None);
        assert_eq!((f.started_at.as_str(), f.settled_at.as_str()), ("2026-12-01T01:00:00Z", "2026-12-01T01:02:00Z"));
        assert_eq!(f.failures.len(), 2);
        assert!(f.failures[0].targets.is_empty());
        assert_eq!(f.failures[1].targets, vec!["t1".to_string(), "t2".to_string()]);
        assert_eq!(
            summary_line(&f),
            "run r1: partial total=5 ok=3 not_modified=0 failed=2 retried=3 dead_lettered=4 rows=9 elapsed=120.0s"
        );
    }
}
