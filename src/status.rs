//! `shopstream status`: a live terminal view (top-like) of the pipeline: each stage's group with its
//! lag, members and rates, dead letters, topic sizes, the runs in flight and the latest summaries.
//! `--once` prints one view; `--json` one JSON document for scripts. Piped without `--once`, it prints
//! one view too (a live view needs a terminal).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::runs::{Finished, InFlight};
use crate::scale_advice::{group_members, observe, read_positions, stage_groups, Reading};
use crate::Global;

#[derive(Args)]
pub struct StatusArgs {
    /// Print one view and exit.
    #[arg(long)]
    once: bool,
    /// Print one JSON document and exit (implies --once).
    #[arg(long)]
    json: bool,
    /// Seconds between two looks (the rates are measured over it).
    #[arg(long, default_value_t = 2)]
    interval_secs: u64,
}

#[derive(Debug, Serialize)]
struct Stage {
    stage: &'static str,
    group: String,
    /// None when the group's topics cannot be read (see `error`).
    lag: Option<i64>,
    members: Option<u32>,
    partitions: u32,
    consumed_per_sec: f64,
    produced_per_sec: f64,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Snapshot {
    at: String,
    stages: Vec<Stage>,
    /// Records in each dead-letter topic (extract, transform, load).
    dead_letters: HashMap<&'static str, i64>,
    topics: Vec<(String, i64)>,
    runs_in_flight: Vec<InFlight>,
    recent_runs: Vec<Finished>,
    /// Why the runs could not be read (ClickHouse down, schema not migrated), if so.
    runs_error: Option<String>,
}

/// Stages, dead letters per stage, topic sizes.
type KafkaLook = (Vec<Stage>, HashMap<&'static str, i64>, Vec<(String, i64)>);

const RECENT: u32 = 5;

struct Looker {
    stages: Vec<(&'static str, String, Vec<String>)>,
    topics: Vec<String>,
    dlq: Vec<(&'static str, String)>,
    last: HashMap<&'static str, Reading>,
}

impl Looker {
    fn new(g: &Global) -> Looker {
        let topics = g.topics();
        let stages = stage_groups(g);
        let dlq = vec![
            ("extract", topics.dlq_extract.clone()),
            ("transform", topics.dlq_transform.clone()),
            ("load", topics.dlq_load.clone()),
        ];
        Looker { stages, topics: topics.all().iter().map(|s| s.to_string()).collect(), dlq, last: HashMap::new() }
    }

    /// Read the groups and topics (blocking Kafka calls); rates against the previous look.
    fn kafka(&mut self, brokers: &str) -> KafkaLook {
        let mut stages = Vec::new();
        for (stage, group, ts) in &self.stages {
            let reading = match read_positions(brokers, group, ts) {
                Ok(r) => r,
                Err(e) => {
                    // One stage's topics missing is that stage's news, not the end of the view.
                    self.last.remove(stage);
                    stages.push(Stage {
                        stage,
                        group: group.clone(),
                        lag: None,
                        members: None,
                        partitions: 0,
                        consumed_per_sec: 0.0,
                        produced_per_sec: 0.0,
                        error: Some(format!("{e:#}")),
                    });
                    continue;
                }
            };
            let members = group_members(brokers, group);
            let o = observe(self.last.get(stage).unwrap_or(&reading), &reading, members);
            let secs = o.elapsed_secs.max(f64::EPSILON);
            let first = !self.last.contains_key(stage);
            stages.push(Stage {
                stage,
                group: group.clone(),
                lag: Some(o.lag),
                members,
                partitions: o.partitions,
                consumed_per_sec: if first { 0.0 } else { o.consumed as f64 / secs },
                produced_per_sec: if first { 0.0 } else { o.produced as f64 / secs },
                error: None,
            });
            self.last.insert(stage, reading);
        }
        let mut dead = HashMap::new();
        for (stage, t) in &self.dlq {
            dead.insert(*stage, shopstream_core::kafka::topic_size(brokers, t).unwrap_or(0));
        }
        let sizes = self
            .topics
            .iter()
            .map(|t| (t.clone(), shopstream_core::kafka::topic_size(brokers, t).unwrap_or(-1)))
            .collect();
        (stages, dead, sizes)
    }
}

async fn look(g: &Global, looker: &mut Looker) -> anyhow::Result<Snapshot> {
    let brokers = g.brokers.clone();
    let mut l = std::mem::replace(looker, Looker { stages: vec![], topics: vec![], dlq: vec![], last: HashMap::new() });
    let (l, kafka) = tokio::task::spawn_blocking(move || {
        let r = l.kafka(&brokers);
        (l, r)
    })
    .await?;
    *looker = l;
    let (stages, dead_letters, topics) = kafka;
    let (mut runs_in_flight, mut recent_runs, mut runs_error) = (Vec::new(), Vec::new(), None);
    match shopstream_loaders::clickhouse::service::Sql::new(&g.clickhouse_url, &g.clickhouse_database) {
        Ok(sql) => {
            match crate::runs::in_flight(&sql, None, 20).await {
                Ok(r) => runs_in_flight = r,
                Err(e) => runs_error = Some(format!("{e:#}")),
            }
            match crate::runs::finished_runs(&sql, None, RECENT).await {
                Ok(r) => recent_runs = r,
                Err(e) => runs_error = Some(format!("{e:#}")),
            }
        }
        Err(e) => runs_error = Some(e.to_string()),
    }
    Ok(Snapshot {
        at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        stages,
        dead_letters,
        topics,
        runs_in_flight,
        recent_runs,
        runs_error,
    })
}

fn render(s: &Snapshot, live: bool) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "shopstream status at {}{}", s.at, if live { "   (q to quit)" } else { "" });
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<10} {:<36} {:>10} {:>8} {:>11} {:>9} {:>13}",
        "stage", "group", "lag", "members", "consumed/s", "in/s", "dead letters"
    );
    for st in &s.stages {
        if let Some(e) = &st.error {
            let _ = writeln!(o, "{:<10} {:<36} {e}", st.stage, st.group);
            continue;
        }
        let members = st.members.map_or("?".to_string(), |m| m.to_string());
        let _ = writeln!(
            o,
            "{:<10} {:<36} {:>10} {:>8} {:>11.1} {:>9.1} {:>13}",
            st.stage,
            st.group,
            st.lag.unwrap_or_default(),
            members,
            st.consumed_per_sec,
            st.produced_per_sec,
            s.dead_letters.get(st.stage).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "runs in flight: {}", s.runs_in_flight.len());
    for r in &s.runs_in_flight {
        let _ = writeln!(o, "  {:<40} started {}  {}/{} settled", r.run_id, r.started_at, r.settled, r.counted);
    }
    let _ = writeln!(o, "latest runs:");
    for r in &s.recent_runs {
        let _ = writeln!(
            o,
            "  {:<40} {:<10} total {} ok {} failed {} rows {}  settled {}",
            r.run_id,
            r.status,
            r.total,
            r.ok + r.not_modified,
            r.failed,
            r.rows,
            r.settled_at
        );
    }
    if let Some(e) = &s.runs_error {
        let _ = writeln!(o, "  (runs not readable: {})", e.trim());
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{:<48} {:>10}", "topic", "records");
    for (t, n) in &s.topics {
        if *n < 0 {
            let _ = writeln!(o, "{t:<48} {:>10}", "(missing)");
        } else {
            let _ = writeln!(o, "{t:<48} {n:>10}");
        }
    }
    o
}

pub async fn run(g: &Global, a: StatusArgs) -> anyhow::Result<()> {
    let mut looker = Looker::new(g);
    let interval = Duration::from_secs(a.interval_secs.max(1));
    let live = !a.once && !a.json && std::io::stdout().is_terminal();
    if !live {
        // Two looks, so the rates are measured.
        look(g, &mut looker).await?;
        tokio::time::sleep(interval).await;
        let s = look(g, &mut looker).await?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            print!("{}", render(&s, false));
        }
        return Ok(());
    }
    use crossterm::event::{self, Event, KeyCode, KeyModifiers};
    use crossterm::{cursor, execute, terminal};
    let mut out = std::io::stdout();
    terminal::enable_raw_mode()?;
    execute!(out, terminal::EnterAlternateScreen, cursor::Hide)?;
    let result: anyhow::Result<()> = async {
        loop {
            let text = match look(g, &mut looker).await {
                Ok(s) => render(&s, true),
                Err(e) => format!("shopstream status: cannot look: {e:#}   (q to quit)\n"),
            };
            execute!(out, cursor::MoveTo(0, 0), terminal::Clear(terminal::ClearType::All))?;
            // Raw mode: lines need a carriage return.
            out.write_all(text.replace('\n', "\r\n").as_bytes())?;
            out.flush()?;
            let until = std::time::Instant::now() + interval;
            while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
                if !tokio::task::block_in_place(|| event::poll(left))? {
                    break;
                }
                if let Event::Key(k) = event::read()? {
                    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    if matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                        return Ok(());
                    }
                }
            }
        }
    }
    .await;
    execute!(out, cursor::Show, terminal::LeaveAlternateScreen)?;
    terminal::disable_raw_mode()?;
    result
}
