//! Profiling aid for the generic parser: parses the `tests/fixtures/shops-dev` pages `ROUNDS` times
//! (default 1) and prints per-page times. Run under `perf` or `valgrind --tool=callgrind`:
//! `cargo build --release -p shopstream-parse --example shops_dev_profile`.
//! `SHOPS_DEV_ONLY=<substring>` limits the run to matching files. `DUMP=<file>` writes every page's full
//! result (facts, provenance, rejected candidates, or the error) there, also for the other HTML fixtures,
//! so that two versions of the parser can be compared byte for byte.

use std::path::Path;
use std::time::Instant;

use shopstream_parse::{parse, PageContext, ParserConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shops-dev");
    let labels: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("labels.json"))?)?;
    let only = std::env::var("SHOPS_DEV_ONLY").unwrap_or_default();
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(1);
    let mut pages = vec![];
    for label in labels.as_array().ok_or("labels.json: not an array")? {
        let file = label["file"].as_str().ok_or("labels.json: no file")?;
        if !file.contains(&only) {
            continue;
        }
        let zst = std::fs::read(root.join(format!("{file}.zst")))?;
        pages.push((file.to_string(), format!("https://shop.example/{file}"), zstd::decode_all(zst.as_slice())?));
    }
    let config = ParserConfig::Generic { page_size: None };
    if let Some(dump) = std::env::var_os("DUMP") {
        let mut out = String::new();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut extra = vec![];
        for dir in std::fs::read_dir(&fixtures)? {
            let dir = dir?.path();
            for name in ["input.html", "input.html.zst"] {
                let f = dir.join(name);
                if f.is_file() {
                    let raw = std::fs::read(&f)?;
                    let body = if name.ends_with(".zst") { zstd::decode_all(raw.as_slice())? } else { raw };
                    extra.push((f.display().to_string(), "https://shop.example/p/x?q=1".to_string(), body));
                }
            }
        }
        extra.sort();
        for (file, url, body) in pages.iter().chain(&extra) {
            for currency in [Some("USD"), None] {
                let ctx = PageContext { url, content_type: Some("text/html"), default_currency: currency };
                out.push_str(&format!("== {file} {currency:?}\n{:#?}\n", parse(&config, body, &ctx)));
            }
        }
        std::fs::write(dump, out)?;
        return Ok(());
    }
    let mut times = vec![0.0f64; pages.len()];
    for _ in 0..rounds {
        for (i, (_, url, body)) in pages.iter().enumerate() {
            let ctx = PageContext { url, content_type: Some("text/html"), default_currency: Some("USD") };
            let t = Instant::now();
            std::hint::black_box(parse(&config, body, &ctx).is_ok());
            times[i] += t.elapsed().as_secs_f64();
        }
    }
    let total: f64 = times.iter().sum::<f64>() / rounds as f64;
    for ((file, _, body), t) in pages.iter().zip(&times) {
        println!("{:>8.2} ms {:>7} KB  {file}", t / rounds as f64 * 1e3, body.len() / 1000);
    }
    println!("total {:.1} ms per round, {:.0} pages/s", total * 1e3, pages.len() as f64 / total);
    Ok(())
}
