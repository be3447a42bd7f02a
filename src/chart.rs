//! `shopstream chart price|rank`: a product's price history or a tracked target's rank history from
//! ClickHouse, drawn to SVG or PNG with plotters. Loading (a query → points) and drawing (points → an
//! image, a pure function) are separate, so the drawing is tested without ClickHouse.
//!
//! PNG text is rendered with the bundled DejaVu Sans (`assets/fonts`, Bitstream Vera licence) through
//! plotters' `ab_glyph` feature: no system font library is needed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use clap::{Args, ValueEnum};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use shopstream_loaders::clickhouse::service::Sql;

#[path = "analytics_sql.rs"]
pub mod sql;

#[derive(Args)]
pub struct ChartArgs {
    /// price: a product's price at each observation; rank: a tracked target's position at each run.
    what: What,
    /// The source (required for price; for rank it narrows --product to that source's targets).
    #[arg(long)]
    source: Option<String>,
    /// The product id as the pipeline stores it (price_observations.product_id); for rank, a target id
    /// or the product a target tracks.
    #[arg(long, required_unless_present = "target")]
    product: Option<String>,
    /// The tracking target id (rank only).
    #[arg(long, conflicts_with = "product")]
    target: Option<String>,
    /// Only the prices in this currency (for a product priced in several).
    #[arg(long)]
    currency: Option<String>,
    /// The image to write: .svg, or .png.
    #[arg(long)]
    out: PathBuf,
    /// Width in pixels.
    #[arg(long, default_value_t = 960)]
    width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = 480)]
    height: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum What {
    Price,
    Rank,
}

/// One price observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricePoint {
    /// Unix seconds.
    pub at: i64,
    pub minor: i64,
}

/// A product's prices in one currency, in time order.
#[derive(Debug, Clone)]
pub struct PriceHistory {
    pub source: String,
    pub product_id: String,
    pub title: Option<String>,
    pub currency: String,
    pub points: Vec<PricePoint>,
}

/// One run of a tracked target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankPoint {
    /// Unix seconds.
    pub at: i64,
    /// None: not found within the target's depth.
    pub position: Option<u32>,
    /// Session (회차) of 25 exposures, from 1.
    pub session: u32,
}

/// A target's runs in time order.
#[derive(Debug, Clone)]
pub struct RankHistory {
    pub target_id: String,
    /// What is tracked, for the title (e.g. `product 123 in "keyword" (naver)`).
    pub label: String,
    /// Time zone of the run days (the axis dates).
    pub timezone: chrono_tz::Tz,
    pub points: Vec<RankPoint>,
}

/// Image formats, by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn of(path: &Path) -> anyhow::Result<Format> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => anyhow::bail!("--out {}: the chart format is taken from the extension, .svg or .png", path.display()),
        }
    }
}

pub async fn run(url: &str, database: &str, a: ChartArgs) -> anyhow::Result<()> {
    let format = Format::of(&a.out)?;
    let sql = Sql::new(url, database)?;
    let size = (a.width.clamp(200, 8000), a.height.clamp(150, 8000));
    match a.what {
        What::Price => {
            anyhow::ensure!(a.target.is_none(), "--target is for rank charts; a price chart takes --product");
            let source = a.source.as_deref().context("a price chart needs --source")?;
            let product = a.product.as_deref().context("a price chart needs --product")?;
            let history = load_price(&sql, source, product, a.currency.as_deref()).await?;
            write(&a.out, format, size, Chart::Price(&history))?;
            println!("wrote {}: {} price observation(s) of {product}", a.out.display(), history.points.len());
        }
        What::Rank => {
            let target = resolve_target(&sql, a.source.as_deref(), a.product.as_deref(), a.target.as_deref()).await?;
            let history = load_rank(&sql, &target).await?;
            write(&a.out, format, size, Chart::Rank(&history))?;
            let found = history.points.iter().filter(|p| p.position.is_some()).count();
            println!(
                "wrote {}: {} run(s) of target {target} ({found} found, {} not found)",
                a.out.display(),
                history.points.len(),
                history.points.len() - found
            );
        }
    }
    Ok(())
}

// ---- loading ----

/// A TabSeparated answer as rows of unescaped fields; a NULL stays `\N`.
pub fn tsv_rows(text: &str) -> Vec<Vec<String>> {
    let field = |f: &str| if f == "\\N" { f.to_string() } else { unescape(f) };
    text.lines().filter(|l| !l.is_empty()).map(|l| l.split('\t').map(field).collect()).collect()
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn num<T: std::str::FromStr>(field: &str, what: &str) -> anyhow::Result<T> {
    field.trim().parse().map_err(|_| anyhow::anyhow!("ClickHouse answered {field:?} for {what}"))
}

/// A product's price observations (one currency).
pub async fn load_price(
    sql: &Sql,
    source: &str,
    product: &str,
    currency: Option<&str>,
) -> anyhow::Result<PriceHistory> {
    let db = sql.database();
    let rows = tsv_rows(&sql.query_text(&sql::price_history(db, source, product)).await?);
    let mut by_currency: Vec<(String, Vec<PricePoint>)> = Vec::new();
    for r in &rows {
        let [at, minor, cur] = r.as_slice() else { anyhow::bail!("unexpected price row {r:?}") };
        let point = PricePoint { at: num(at, "observed_at")?, minor: num(minor, "price_minor")? };
        match by_currency.iter_mut().find(|(c, _)| c == cur) {
            Some((_, v)) => v.push(point),
            None => by_currency.push((cur.clone(), vec![point])),
        }
    }
    if let Some(c) = currency {
        by_currency.retain(|(cur, _)| cur == c);
    }
    let (currency, points) = match by_currency.len() {
        0 => anyhow::bail!(
            "no price observations for product {product} of source {source}{}",
            currency.map(|c| format!(" in {c}")).unwrap_or_default()
        ),
        1 => by_currency.remove(0),
        _ => {
            let names: Vec<&str> = by_currency.iter().map(|(c, _)| c.as_str()).collect();
            anyhow::bail!(
                "product {product} of source {source} is priced in {}: pick one with --currency",
                names.join(", ")
            )
        }
    };
    let title = tsv_rows(&sql.query_text(&sql::product_title(db, source, product)).await?)
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .filter(|t| !t.is_empty());
    Ok(PriceHistory { source: source.into(), product_id: product.into(), title, currency, points })
}

/// The target id from --target, or from --product (the product a target tracks, or a target id).
async fn resolve_target(
    sql: &Sql,
    source: Option<&str>,
    product: Option<&str>,
    target: Option<&str>,
) -> anyhow::Result<String> {
    let db = sql.database();
    if let Some(t) = target {
        return Ok(t.to_string());
    }
    let product = product.context("a rank chart needs --target or --product")?;
    let targets = tsv_rows(&sql.query_text(&sql::targets_of_product(db, source, product)).await?);
    match targets.as_slice() {
        [one] => return Ok(one[0].clone()),
        [] => {}
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|r| {
                    let query = if r[2].is_empty() { r[3].clone() } else { format!("keyword {:?}", r[2]) };
                    format!("{} ({}, {query}, {})", r[0], r[1], r[4])
                })
                .collect();
            anyhow::bail!("several targets track product {product}: {}; pick one with --target", list.join("; "))
        }
    }
    // Not a tracked product: a target id?
    let pages_source = tsv_rows(&sql.query_text(&sql::target_source(db, product)).await?);
    match (pages_source.first().and_then(|r| r.first()), source) {
        (Some(s), Some(want)) if s != want => {
            anyhow::bail!(
                "no tracked target for product {product} of source {want} (target {product} is of source {s})"
            )
        }
        (Some(_), _) => Ok(product.to_string()),
        (None, _) => anyhow::bail!(
            "no tracked target for product {product}{} (nor a target with that id); see `shopstream track list`",
            source.map(|s| format!(" of source {s}")).unwrap_or_default()
        ),
    }
}

/// A target's runs.
pub async fn load_rank(sql: &Sql, target: &str) -> anyhow::Result<RankHistory> {
    let db = sql.database();
    let rows = tsv_rows(&sql.query_text(&sql::rank_history(db, target)).await?);
    anyhow::ensure!(!rows.is_empty(), "no rank observations for target {target}");
    let mut points = Vec::with_capacity(rows.len());
    for r in &rows {
        let [at, _day, position, session] = r.as_slice() else { anyhow::bail!("unexpected rank row {r:?}") };
        let position: u32 = num(position, "position")?;
        points.push(RankPoint {
            at: num(at, "observed_at")?,
            position: (position > 0).then_some(position),
            session: num(session, "session")?,
        });
    }
    let info = tsv_rows(&sql.query_text(&sql::target(db, target)).await?);
    let (label, timezone) = match info.first().map(Vec::as_slice) {
        Some([source, product, keyword, list_url, tz]) => {
            let query = if keyword.is_empty() { list_url.clone() } else { format!("{keyword:?}") };
            (format!("{product} in {query} ({source})"), tz.parse().unwrap_or(chrono_tz::UTC))
        }
        _ => (String::new(), chrono_tz::UTC),
    };
    Ok(RankHistory { target_id: target.into(), label, timezone, points })
}

// ---- drawing ----

const LINE: RGBColor = RGBColor(0x1F, 0x5F, 0xAF);
/// Not-found runs.
const MISSING: RGBColor = RGBColor(0xD0, 0x30, 0x30);
const SESSION: RGBColor = RGBColor(0xE0, 0x8A, 0x00);
const FAINT: RGBColor = RGBColor(0xB0, 0xB0, 0xB0);
const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Text is measured (and, in PNG, rendered) with the bundled font; registered once per process.
fn register_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    anyhow::ensure!(ok, "the bundled font cannot be read");
    Ok(())
}

fn drawing_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the chart: {e:?}")
}

/// A chart to draw, on any backend.
#[derive(Clone, Copy)]
pub enum Chart<'a> {
    Price(&'a PriceHistory),
    Rank(&'a RankHistory),
}

impl Chart<'_> {
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        match self {
            Chart::Price(h) => draw_price(root, h),
            Chart::Rank(h) => draw_rank(root, h),
        }
    }
}

/// Draw `chart` into the file `path` in `format`.
pub fn write(path: &Path, format: Format, size: (u32, u32), chart: Chart) -> anyhow::Result<()> {
    match format {
        Format::Svg => {
            let svg = svg(size, |root| chart.draw(root))?;
            std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))
        }
        Format::Png => {
            register_font()?;
            let root = BitMapBackend::new(path, size).into_drawing_area();
            chart.draw(&root)?;
            root.present().map_err(|e| anyhow::anyhow!("cannot write {}: {e:?}", path.display()))
        }
    }
}

/// Draw into an SVG document.
pub fn svg<F>(size: (u32, u32), draw: F) -> anyhow::Result<String>
where
    F: FnOnce(&DrawingArea<SVGBackend, Shift>) -> anyhow::Result<()>,
{
    register_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(drawing_error)?;
    }
    Ok(out)
}

/// An amount in minor units as decimal text (`currency`'s minor unit; 2 decimals for an unknown code).
pub fn amount(minor: i64, currency: &str) -> String {
    let exp = shopstream_normalize::currency_exponent(currency).unwrap_or(2);
    if exp == 0 {
        return minor.to_string();
    }
    let unit = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", m / unit as u64, m % unit as u64, width = exp as usize)
}

fn date(at: i64, tz: chrono_tz::Tz, pattern: &str) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.with_timezone(&tz).format(pattern).to_string())
        .unwrap_or_default()
}

/// The time axis' range (padded) and label pattern.
fn time_axis(first: i64, last: i64) -> (std::ops::Range<i64>, &'static str) {
    let span = last - first;
    let pad = (span / 30).max(3600);
    // Hours while the ticks may fall within a day more than once.
    let pattern = if span < 10 * 86_400 { "%m-%d %H:%M" } else { "%Y-%m-%d" };
    (first - pad..last + pad, pattern)
}

/// Title and summary lines above a chart; the chart's area below them.
fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    summary: &str,
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    root.fill(&WHITE).map_err(drawing_error)?;
    let (top, rest) = root.split_vertically(56);
    top.draw(&Text::new(title.to_string(), (14, 8), (FONT, 19).into_font().color(&BLACK))).map_err(drawing_error)?;
    top.draw(&Text::new(summary.to_string(), (14, 33), (FONT, 13).into_font().color(&RGBColor(0x44, 0x44, 0x44))))
        .map_err(drawing_error)?;
    Ok(rest)
}

/// The price chart: a step line (a price holds until the next observation) and a dot per observation;
/// the summary names the first, lowest, highest and last price.
pub fn draw_price<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, h: &PriceHistory) -> anyhow::Result<()> {
    anyhow::ensure!(!h.points.is_empty(), "no price observations for product {} of source {}", h.product_id, h.source);
    let cur = h.currency.as_str();
    let exp = shopstream_normalize::currency_exponent(cur).unwrap_or(2);
    let scale = 10f64.powi(exp as i32);
    let major = |minor: i64| minor as f64 / scale;
    let (first, last) = (h.points[0], h.points[h.points.len() - 1]);
    let lo = h.points.iter().map(|p| p.minor).min().unwrap_or(0);
    let hi = h.points.iter().map(|p| p.minor).max().unwrap_or(0);
    let changes = h.points.windows(2).filter(|w| w[0].minor != w[1].minor).count();
    let title = match &h.title {
        Some(t) => format!("Price of {t} ({}: {})", h.source, h.product_id),
        None => format!("Price of {} ({})", h.product_id, h.source),
    };
    let summary = format!(
        "{} observation(s), {changes} change(s) · first {} · min {} · max {} · last {} {cur} ({})",
        h.points.len(),
        amount(first.minor, cur),
        amount(lo, cur),
        amount(hi, cur),
        amount(last.minor, cur),
        date(last.at, chrono_tz::UTC, "%Y-%m-%d %H:%M UTC"),
    );
    let area = header(root, &title, &summary)?;
    let (x_range, pattern) = time_axis(first.at, last.at);
    let span = major(hi) - major(lo);
    let pad = if span > 0.0 { span * 0.15 } else { (major(hi) * 0.1).max(1.0 / scale) };
    let y_range = (major(lo) - pad).max(0.0)..major(hi) + pad;
    let mut chart = ChartBuilder::on(&area)
        .margin_left(10)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(32)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range, y_range)
        .map_err(drawing_error)?;
    let x_fmt = |x: &i64| date(*x, chrono_tz::UTC, pattern);
    let y_fmt = |y: &f64| format!("{y:.prec$}", prec = exp as usize);
    let y_desc = format!("price ({cur})");
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_desc(y_desc.as_str())
        .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .draw()
        .map_err(drawing_error)?;
    let mut step = Vec::with_capacity(h.points.len() * 2);
    for (i, p) in h.points.iter().enumerate() {
        if i > 0 {
            step.push((p.at, major(h.points[i - 1].minor)));
        }
        step.push((p.at, major(p.minor)));
    }
    chart.draw_series(LineSeries::new(step, LINE.stroke_width(2))).map_err(drawing_error)?;
    chart
        .draw_series(h.points.iter().map(|p| Circle::new((p.at, major(p.minor)), 4, LINE.filled())))
        .map_err(drawing_error)?;
    Ok(())
}

/// The rank chart: position 1 at the top, a line through consecutive found runs, a red triangle on the
/// "not found" row at the bottom for each run that did not find the product, and a dashed line with a
/// label where a new session starts.
pub fn draw_rank<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, h: &RankHistory) -> anyhow::Result<()> {
    anyhow::ensure!(!h.points.is_empty(), "no rank observations for target {}", h.target_id);
    let found: Vec<u32> = h.points.iter().filter_map(|p| p.position).collect();
    let worst = found.iter().copied().max().unwrap_or(1) as i32;
    // The "not found" row: below the worst position, apart from it.
    let missing_row = worst + (worst / 8).max(2);
    let (first, last) = (h.points[0], h.points[h.points.len() - 1]);
    let sessions = h.points.iter().map(|p| p.session).max().unwrap_or(1);
    let title = if h.label.is_empty() {
        format!("Rank of target {}", h.target_id)
    } else {
        format!("Rank of {} · target {}", h.label, h.target_id)
    };
    let best = found.iter().min().map(|b| b.to_string()).unwrap_or_else(|| "-".into());
    let latest = last.position.map(|p| p.to_string()).unwrap_or_else(|| "not found".into());
    let summary = format!(
        "{} run(s): {} found, {} not found · best {best} · latest {latest} · {sessions} session(s) of 25 exposures · days in {}",
        h.points.len(),
        found.len(),
        h.points.len() - found.len(),
        h.timezone.name(),
    );
    let area = header(root, &title, &summary)?;
    let (x_range, pattern) = time_axis(first.at, last.at);
    let (x0, x1) = (x_range.start, x_range.end);
    // Plotted as -position, so 1 is at the top; labels print the position.
    let y_range = -(missing_row + 1)..0;
    let mut chart = ChartBuilder::on(&area)
        .margin_left(10)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(32)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range, y_range)
        .map_err(drawing_error)?;
    let tz = h.timezone;
    let x_fmt = |x: &i64| date(*x, tz, pattern);
    let y_fmt = |y: &i32| if -*y >= 1 && -*y <= worst { (-*y).to_string() } else { String::new() };
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(10)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_desc("position")
        .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .draw()
        .map_err(drawing_error)?;
    // The not-found row.
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(x0, -missing_row), (x1, -missing_row)], FAINT)))
        .map_err(drawing_error)?;
    chart
        .draw_series(std::iter::once(Text::new(
            "not found",
            (x0, -missing_row),
            (FONT, 12).into_font().color(&MISSING).pos(Pos::new(HPos::Left, VPos::Bottom)),
        )))
        .map_err(drawing_error)?;
    // Session boundaries: between the last run of a session and the first of the next.
    for w in h.points.windows(2) {
        if w[1].session > w[0].session {
            let x = w[0].at + (w[1].at - w[0].at) / 2;
            // Labels near the right edge are set to the left of their line.
            let h_pos = if (x - x0) * 5 > (x1 - x0) * 4 { HPos::Right } else { HPos::Left };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, -(missing_row + 1)), (x, 0)],
                    SESSION.stroke_width(2),
                )))
                .map_err(drawing_error)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("session {}", w[1].session),
                    (x, 0),
                    (FONT, 12).into_font().color(&SESSION).pos(Pos::new(h_pos, VPos::Top)),
                )))
                .map_err(drawing_error)?;
        }
    }
    // Found runs: a line per stretch of consecutive found runs (a gap at each not-found run).
    for stretch in h.points.split(|p| p.position.is_none()).filter(|s| s.len() > 1) {
        let line: Vec<(i64, i32)> = stretch.iter().filter_map(|p| p.position.map(|q| (p.at, -(q as i32)))).collect();
        chart.draw_series(LineSeries::new(line, LINE.stroke_width(2))).map_err(drawing_error)?;
    }
    chart
        .draw_series(
            h.points.iter().filter_map(|p| p.position.map(|q| Circle::new((p.at, -(q as i32)), 4, LINE.filled()))),
        )
        .map_err(drawing_error)?;
    chart
        .draw_series(
            h.points
                .iter()
                .filter(|p| p.position.is_none())
                .map(|p| TriangleMarker::new((p.at, -missing_row), 6, MISSING.filled())),
        )
        .map_err(drawing_error)?;
    Ok(())
}

/// The SVG of a price chart.
#[cfg(test)]
pub fn price_svg(h: &PriceHistory, size: (u32, u32)) -> anyhow::Result<String> {
    svg(size, |root| draw_price(root, h))
}

/// The SVG of a rank chart.
#[cfg(test)]
pub fn rank_svg(h: &RankHistory, size: (u32, u32)) -> anyhow::Result<String> {
    svg(size, |root| draw_rank(root, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const T0: i64 = 1_796_083_200; // 2026-12-01 00:00:00 UTC

    /// `<circle …>` elements filled with `color`.
    fn circles(svg: &str, color: RGBColor) -> usize {
        let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
        svg.split("<circle").skip(1).filter(|e| e.split('>').next().unwrap_or_default().contains(&fill)).count()
    }

    /// The contents of the `<text>` elements.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|e| e.split_once('>'))
            .map(|(_, rest)| rest.split("</text>").next().unwrap_or_default().trim().to_string())
            .collect()
    }

    fn polygons(svg: &str, color: RGBColor) -> usize {
        let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
        svg.split("<polygon").skip(1).filter(|e| e.split('>').next().unwrap_or_default().contains(&fill)).count()
    }

    fn prices(minors: &[i64]) -> PriceHistory {
        PriceHistory {
            source: "books".into(),
            product_id: "a-light-in-the-attic_1000".into(),
            title: Some("A Light in the Attic".into()),
            currency: "GBP".into(),
            points: minors.iter().enumerate().map(|(i, m)| PricePoint { at: T0 + i as i64 * DAY, minor: *m }).collect(),
        }
    }

    #[test]
    fn a_price_chart_has_a_dot_per_observation_and_names_the_extremes() {
        let svg = price_svg(&prices(&[1000, 1000, 800, 900, 1250]), (800, 400)).expect("draws");
        assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
        assert_eq!(circles(&svg, LINE), 5);
        assert!(svg.contains("min 8.00"), "the lowest price");
        assert!(svg.contains("max 12.50"), "the highest price");
        assert!(svg.contains("last 12.50 GBP"));
        assert!(svg.contains("3 change(s)"));
        assert!(svg.contains("A Light in the Attic"));
        assert!(texts(&svg).iter().any(|t| t.starts_with("12-0") && t.ends_with(":00")), "times on the axis");
        // A step line: each change adds a corner, one polyline for the series.
        let polyline = svg.split("<polyline").skip(1).find(|e| e.contains("#1F5FAF")).expect("the line");
        let points = polyline.split("points=\"").nth(1).and_then(|p| p.split('"').next()).expect("points");
        assert_eq!(points.split_whitespace().count(), 5 * 2 - 1);
    }

    #[test]
    fn one_observation_and_a_currency_without_decimals_still_draw() {
        let mut h = prices(&[15900]);
        h.currency = "KRW".into();
        h.title = None;
        let svg = price_svg(&h, (600, 300)).expect("draws");
        assert_eq!(circles(&svg, LINE), 1);
        assert!(svg.contains("min 15900 · max 15900"), "KRW has no minor digits");
        h.points.clear();
        let e = price_svg(&h, (600, 300)).expect_err("nothing to draw");
        assert!(e.to_string().contains("no price observations for product a-light-in-the-attic_1000 of source books"));
    }

    fn ranks(positions: &[Option<u32>]) -> RankHistory {
        // Sessions as the rank_history view numbers them: 25 exposures each.
        let mut exposed = 0u32;
        let points = positions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let session = 1 + exposed / 25;
                exposed += u32::from(p.is_some());
                RankPoint { at: T0 + i as i64 * DAY, position: *p, session }
            })
            .collect();
        RankHistory {
            target_id: "t-1".into(),
            label: "82914471210 in \"반팔\" (naver)".into(),
            timezone: chrono_tz::Asia::Seoul,
            points,
        }
    }

    #[test]
    fn a_rank_chart_marks_missing_runs_and_session_boundaries() {
        let mut positions: Vec<Option<u32>> = (0..30).map(|i| Some(3 + i % 7)).collect();
        positions[4] = None;
        positions[5] = None;
        positions[20] = None;
        let h = ranks(&positions);
        assert_eq!(h.points.iter().map(|p| p.session).max(), Some(2));
        let svg = rank_svg(&h, (900, 450)).expect("draws");
        assert_eq!(circles(&svg, LINE), 27, "a dot per found run");
        assert_eq!(polygons(&svg, MISSING), 3, "a marker per not-found run");
        assert!(svg.contains("not found"));
        assert_eq!(
            texts(&svg).iter().filter(|t| *t == "session 2").count(),
            1,
            "one boundary label: {:?}",
            texts(&svg)
        );
        assert!(!svg.contains("session 3"));
        assert!(svg.contains("27 found, 3 not found"));
        assert!(svg.contains("best 3"));
        // Three stretches of found runs, three line pieces: the line has gaps at the misses.
        let lines = svg.split("<polyline").skip(1).filter(|e| e.contains("stroke=\"#1F5FAF\"")).count();
        assert_eq!(lines, 3);
    }

    #[test]
    fn rank_one_is_drawn_above_rank_ten() {
        let svg = rank_svg(&ranks(&[Some(1), Some(10)]), (600, 300)).expect("draws");
        let ys: Vec<f64> = svg
            .split("<circle")
            .skip(1)
            .filter_map(|e| e.split("cy=\"").nth(1).and_then(|v| v.split('"').next()).and_then(|v| v.parse().ok()))
            .collect();
        assert_eq!(ys.len(), 2);
        assert!(ys[0] < ys[1], "position 1 is higher on the page (smaller y): {ys:?}");
    }

    #[test]
    fn a_target_never_found_draws_only_the_missing_row() {
        let svg = rank_svg(&ranks(&[None, None, None]), (600, 300)).expect("draws");
        assert_eq!(circles(&svg, LINE), 0);
        assert_eq!(polygons(&svg, MISSING), 3);
        assert!(svg.contains("latest not found"));
    }

    #[test]
    fn png_renders_text_with_the_bundled_font() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("p.png");
        let h = prices(&[1000, 800]);
        write(&path, Format::Png, (400, 240), Chart::Price(&h)).expect("writes");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(&bytes[1..4], b"PNG");
        assert_eq!(Format::of(Path::new("x.SVG")).expect("svg"), Format::Svg);
        assert!(Format::of(Path::new("x.jpg")).is_err());
    }

    #[test]
    fn amounts_and_tab_separated_fields() {
        assert_eq!(amount(5177, "GBP"), "51.77");
        assert_eq!(amount(-5, "EUR"), "-0.05");
        assert_eq!(amount(15900, "KRW"), "15900");
        assert_eq!(amount(1234, "BHD"), "1.234");
        assert_eq!(amount(1234, "???"), "12.34");
        assert_eq!(tsv_rows("a\\tb\tc\\\\d\n\\N\t\n"), vec![vec!["a\tb", "c\\d"], vec!["\\N", ""]]);
    }
}
