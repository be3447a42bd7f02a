//! Books to Scrape book pages per second on one core: parse + normalize + Avro encode (issue 3 asks for
//! ≥ 2,000). Reads the 1,000 book pages of the sandbox snapshot (`sandbox/data/books.tar.zst`), or of the
//! folder named by `SHOPSTREAM_BOOKS_DIR`, and prints figures; it asserts nothing about time.
//!
//! Run with `cargo bench -p shopstream-parse`. Encoding uses `GenericDatumWriter`, which is what
//! `to_avro_datum` (deprecated in apache-avro 0.22) does, with the writer built once per schema.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apache_avro::to_value;
use apache_avro::writer::datum::GenericDatumWriter;
use shopstream_parse::{parse, PageContext, Parsed, ParserConfig};
use shopstream_schemas::{Contract, PriceObserved, ProductObserved, Provenance};

type Pages = Vec<(String, Vec<u8>)>;

fn is_book(name: &str) -> bool {
    name.starts_with("catalogue/") && name.ends_with("/index.html") && !name.contains("/category/")
}

fn from_archive(path: &Path) -> Result<Pages, Box<dyn std::error::Error>> {
    let mut decoder = zstd::Decoder::new(std::fs::File::open(path)?)?;
    decoder.window_log_max(31)?;
    let mut archive = tar::Archive::new(decoder);
    let mut pages = vec![];
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        if is_book(&name) {
            let mut body = vec![];
            entry.read_to_end(&mut body)?;
            pages.push((name, body));
        }
    }
    Ok(pages)
}

fn from_dir(root: &Path) -> Result<Pages, Box<dyn std::error::Error>> {
    let mut pages = vec![];
    for dir in std::fs::read_dir(root.join("catalogue"))? {
        let dir = dir?.path();
        let file = dir.join("index.html");
        if file.is_file() {
            let name = file.strip_prefix(root)?.to_string_lossy().to_string();
            if is_book(&name) {
                pages.push((name, std::fs::read(&file)?));
            }
        }
    }
    Ok(pages)
}

fn provenance(url: &str) -> Provenance {
    Provenance {
        fetch_id: "bench".into(),
        crawl_id: "bench".into(),
        source: "books".into(),
        url: url.into(),
        fetched_at: 1_558_184_395_031,
        raw_topic: "raw.pages".into(),
        raw_partition: 0,
        raw_offset: 0,
        parser: "books_toscrape".into(),
        parser_version: "1".into(),
    }
}

/// Map the facts to the events the transform stage produces and Avro-encode them; returns bytes written.
fn encode(
    parsed: Parsed,
    url: &str,
    product: &GenericDatumWriter<'_>,
    price: &GenericDatumWriter<'_>,
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut bytes = 0;
    for p in parsed.products {
        if let Some(pr) = &p.price {
            let event = PriceObserved {
                event_id: format!("{}:price", p.product_id),
                provenance: provenance(url),
                product_id: p.product_id.clone(),
                amount: pr.amount.clone(),
                currency: pr.currency.clone(),
                price_minor: pr.minor_units,
                list_price_minor: pr.list_price_minor,
                raw: pr.raw.clone(),
                extraction_method: pr.extraction_method.clone(),
                extraction_confidence: None,
            };
            bytes += price.write_value_to_vec(to_value(event)?)?.len();
        }
        let event = ProductObserved {
            event_id: format!("{}:product", p.product_id),
            provenance: provenance(url),
            product_id: p.product_id,
            url: p.url,
            title: p.title,
            brand: p.brand,
            category: p.category,
            upc: p.upc,
            rating: p.rating,
            rating_count: p.rating_count.map(|c| c as i64),
            rating_scale: p.rating_scale,
            in_stock: p.in_stock,
            stock: p.stock.map(|s| s as i64),
            image_url: p.image_url,
            extraction_method: p.extraction_method,
            extraction_confidence: None,
            charset: None,
        };
        bytes += product.write_value_to_vec(to_value(event)?)?.len();
    }
    Ok(bytes)
}

fn run(
    pages: &[(String, String, Vec<u8>)],
    product: &GenericDatumWriter<'_>,
    price: &GenericDatumWriter<'_>,
) -> Result<usize, Box<dyn std::error::Error>> {
    let config = ParserConfig::BooksToscrape;
    let mut bytes = 0;
    for (_, url, body) in pages {
        let ctx = PageContext { url, content_type: Some("text/html"), default_currency: None };
        let parsed = parse(&config, body, &ctx)?;
        bytes += encode(parsed, url, product, price)?;
    }
    Ok(bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pages = match std::env::var_os("SHOPSTREAM_BOOKS_DIR") {
        Some(dir) => from_dir(&PathBuf::from(dir))?,
        None => from_archive(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sandbox/data/books.tar.zst"))?,
    };
    let pages: Vec<(String, String, Vec<u8>)> = pages
        .into_iter()
        .map(|(name, body)| (name.clone(), format!("http://books.toscrape.com/{name}"), body))
        .collect();
    let total_bytes: usize = pages.iter().map(|p| p.2.len()).sum();
    println!("books: {} book pages, {:.1} MB of HTML", pages.len(), total_bytes as f64 / 1e6);
    if pages.is_empty() {
        return Err("no book pages found".into());
    }
    let (product_schema, price_schema) = (ProductObserved::schema()?, PriceObserved::schema()?);
    let product = GenericDatumWriter::builder(&product_schema).build()?;
    let price = GenericDatumWriter::builder(&price_schema).build()?;
    run(&pages, &product, &price)?; // warm up

    // Several rounds of all pages; report the best and the median round (the machine is shared).
    let mut rates = vec![];
    let started = Instant::now();
    while rates.len() < 5 || (started.elapsed() < Duration::from_secs(10) && rates.len() < 30) {
        let t = Instant::now();
        let avro = run(&pages, &product, &price)?;
        let rate = pages.len() as f64 / t.elapsed().as_secs_f64();
        std::hint::black_box(avro);
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let best = rates[rates.len() - 1];
    println!(
        "books fast path (lol_html parse + normalize + Avro encode), 1 thread: median {median:.0} pages/s/core, best {best:.0} ({} rounds)",
        rates.len()
    );

    // For comparison: scraper's full DOM parse alone, which the fast path replaces.
    let t = Instant::now();
    for (_, _, body) in &pages {
        std::hint::black_box(scraper::Html::parse_document(&String::from_utf8_lossy(body)));
    }
    println!(
        "scraper full DOM parse alone, 1 thread: {:.0} pages/s/core",
        pages.len() as f64 / t.elapsed().as_secs_f64()
    );
    shops_dev()?;
    Ok(())
}

/// The generic parser's fallback chain (structured data, embedded state, page heuristics, listing cards)
/// over the 29 real pages of `tests/fixtures/shops-dev` (issue 9 asks for ≥ 500 pages/s/core).
fn shops_dev() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shops-dev");
    let labels: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("labels.json"))?)?;
    let mut pages = vec![];
    for label in labels.as_array().ok_or("labels.json: not an array")? {
        let file = label["file"].as_str().ok_or("labels.json: no file")?;
        let zst = std::fs::read(root.join(format!("{file}.zst")))?;
        pages.push((format!("https://shop.example/{file}"), zstd::decode_all(zst.as_slice())?));
    }
    let total_bytes: usize = pages.iter().map(|p| p.1.len()).sum();
    let config = ParserConfig::Generic { page_size: None };
    let round = || {
        let mut ok = 0;
        for (url, body) in &pages {
            let ctx = PageContext { url, content_type: Some("text/html"), default_currency: Some("USD") };
            ok += usize::from(std::hint::black_box(parse(&config, body, &ctx)).is_ok());
        }
        ok
    };
    let parsed = round();
    let mut rates = vec![];
    let started = Instant::now();
    while rates.len() < 3 || (started.elapsed() < Duration::from_secs(10) && rates.len() < 20) {
        let t = Instant::now();
        round();
        rates.push(pages.len() as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "shops-dev generic fallback chain ({} pages, {:.1} MB, avg {:.0} KB, {parsed} parsed), 1 thread: median {:.0} pages/s/core, best {:.0} ({} rounds)",
        pages.len(),
        total_bytes as f64 / 1e6,
        total_bytes as f64 / pages.len() as f64 / 1e3,
        rates[rates.len() / 2],
        rates[rates.len() - 1],
        rates.len()
    );
    Ok(())
}
