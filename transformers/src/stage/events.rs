//! Facts to events: provenance, deterministic ids and keys.

use shopstream_core::attributes as attr;
use shopstream_core::ids::stable_id;
use shopstream_parse::RankFact;
use shopstream_parse::{Parsed, ParserConfig};
use shopstream_schemas::{PriceObserved, ProductObserved, Provenance, RankObserved, RawPage, TargetRankObserved};

/// The events of one raw record.
#[derive(Debug, Default, PartialEq)]
pub struct Events {
    pub products: Vec<ProductObserved>,
    pub prices: Vec<PriceObserved>,
    pub ranks: Vec<RankObserved>,
    /// Where each tracked target stood on this page (a page of a rank run).
    pub targets: Vec<TargetRankObserved>,
}

impl Events {
    pub fn len(&self) -> usize {
        self.products.len() + self.prices.len() + self.ranks.len() + self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where the raw record was read from.
#[derive(Debug, Clone, Copy)]
pub struct RawPosition<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

fn to_i64(v: Option<u64>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

/// Wrap parsed facts in events. Ids depend only on the fetch, the parser version and the fact's
/// identity, so the same raw record parsed by the same parser version always gives the same events.
///
/// `Err` when the record is a page of a tracked run whose attributes are not usable.
pub fn build(raw: &RawPage, at: RawPosition<'_>, parser: &ParserConfig, parsed: Parsed) -> Result<Events, String> {
    let provenance = Provenance {
        fetch_id: raw.fetch_id.clone(),
        crawl_id: raw.crawl_id.clone(),
        source: raw.source.clone(),
        url: raw.final_url.clone(),
        fetched_at: raw.fetched_at,
        raw_topic: at.topic.to_string(),
        raw_partition: at.partition,
        raw_offset: at.offset,
        parser: parser.name().to_string(),
        parser_version: parser.version().to_string(),
    };
    let id = |kind: &str, a: &str, b: &str| stable_id(&[&raw.fetch_id, parser.name(), parser.version(), kind, a, b]);
    let mut ev = Events::default();
    if raw.attributes.contains_key(attr::TARGETS) {
        ev.targets = target_pages(raw, &provenance, &parsed.ranks, &id)?;
    }
    // How the main product's fields were read (the generic parser scores them; others leave it empty).
    let field = |name: &str| parsed.provenance.iter().find(|f| f.field == name);
    let confidence = |name: &str| field(name).map(|f| f.confidence);
    let (title_confidence, price_confidence) = (confidence("title"), confidence("price"));
    let charset = field("charset").map(|f| format!("{} ({})", f.value, f.method));
    let main = parsed.products.first().map(|p| p.product_id.clone());
    for p in parsed.products {
        let is_main = main.as_deref() == Some(p.product_id.as_str());
        if let Some(price) = &p.price {
            ev.prices.push(PriceObserved {
                event_id: id("price", &p.product_id, ""),
                provenance: provenance.clone(),
                product_id: p.product_id.clone(),
                amount: price.amount.clone(),
                currency: price.currency.clone(),
                price_minor: price.minor_units,
                list_price_minor: price.list_price_minor,
                raw: price.raw.clone(),
                extraction_method: price.extraction_method.clone(),
                extraction_confidence: price_confidence.filter(|_| is_main),
            });
        }
        ev.products.push(ProductObserved {
            event_id: id("product", &p.product_id, ""),
            provenance: provenance.clone(),
            product_id: p.product_id,
            url: p.url,
            title: p.title,
            brand: p.brand,
            category: p.category,
            upc: p.upc,
            rating: p.rating,
            rating_count: to_i64(p.rating_count),
            rating_scale: p.rating_scale,
            in_stock: p.in_stock,
            stock: to_i64(p.stock),
            image_url: p.image_url,
            extraction_method: p.extraction_method,
            extraction_confidence: title_confidence.filter(|_| is_main),
            charset: charset.clone(),
        });
    }
    for r in parsed.ranks {
        ev.ranks.push(RankObserved {
            event_id: id("rank", &r.list_id, &r.position.to_string()),
            provenance: provenance.clone(),
            list_id: r.list_id,
            list_kind: r.list_kind,
            keyword: r.keyword,
            product_id: r.product_id,
            product_url: r.product_url,
            position: i32::try_from(r.position).unwrap_or(i32::MAX),
            page: i32::try_from(r.page).unwrap_or(i32::MAX),
            page_size: i32::try_from(r.page_size).unwrap_or(i32::MAX),
        });
    }
    Ok(ev)
}

/// One tracked target as a page's `targets` attribute names it.
#[derive(serde::Deserialize)]
struct PageTarget {
    id: String,
    product: String,
    #[serde(default = "utc")]
    timezone: String,
    pages: Option<i32>,
}

fn utc() -> String {
    "UTC".into()
}

/// A page of a rank run, for every target looking at it: the target's best position on it, or none.
fn target_pages(
    raw: &RawPage,
    provenance: &Provenance,
    ranks: &[RankFact],
    id: &dyn Fn(&str, &str, &str) -> String,
) -> Result<Vec<TargetRankObserved>, String> {
    let a = &raw.attributes;
    let get =
        |name: &str| a.get(name).map(String::as_str).ok_or_else(|| format!("the tracked page has no {name} attribute"));
    let int = |name: &str| -> Result<i32, String> {
        let v = get(name)?;
        v.trim()
            .parse::<i32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("attribute {name} = {v:?} is not a count"))
    };
    let targets: Vec<PageTarget> = serde_json::from_str(get(attr::TARGETS)?)
        .map_err(|e| format!("attribute {} is not a JSON array of targets: {e}", attr::TARGETS))?;
    let (page, run_pages) = (int(attr::TARGET_PAGE)?, int(attr::TARGET_PAGES)?);
    let run_at = match a.get(attr::RUN_AT) {
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("attribute {} = {v:?} is not epoch milliseconds", attr::RUN_AT))?,
        None => raw.fetched_at,
    };
    let at =
        chrono::DateTime::from_timestamp_millis(run_at).ok_or_else(|| format!("run_at {run_at} is out of range"))?;
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        let tz: chrono_tz::Tz =
            t.timezone.parse().map_err(|_| format!("target {}: unknown time zone {:?}", t.id, t.timezone))?;
        let pages = t.pages.unwrap_or(run_pages);
        if pages < 1 {
            return Err(format!("target {}: pages = {pages} is not a count", t.id));
        }
        let best = ranks.iter().filter(|r| finds(&t.product, r)).min_by_key(|r| r.position);
        out.push(TargetRankObserved {
            event_id: id("target", &t.id, &page.to_string()),
            provenance: provenance.clone(),
            list_id: ranks.first().map(|r| r.list_id.clone()).unwrap_or_else(|| raw.url.clone()),
            run_id: raw.crawl_id.clone(),
            observed_at: run_at,
            run_day: at.with_timezone(&tz).format("%Y-%m-%d").to_string(),
            page,
            pages,
            position: best.map(|r| i32::try_from(r.position).unwrap_or(i32::MAX)),
            product_id: best.map(|r| r.product_id.clone()),
            target_id: t.id,
        });
    }
    Ok(out)
}

/// Whether a target's `product` is this rank: `url:TEXT` a product URL containing TEXT, `shop:NAME` any
/// product the shop (mall, seller) named NAME offers (case and surrounding space ignored; the best of
/// its positions counts), else the product id.
fn finds(product: &str, r: &RankFact) -> bool {
    if let Some(text) = product.strip_prefix("url:") {
        r.product_url.contains(text)
    } else if let Some(shop) = product.strip_prefix("shop:") {
        r.seller.as_deref().is_some_and(|s| s.trim().to_lowercase() == shop.trim().to_lowercase())
    } else {
        r.product_id == product
    }
}

/// Key of product and price events.
pub fn product_key(source: &str, product_id: &str) -> Vec<u8> {
    format!("{source}:{product_id}").into_bytes()
}

/// Key of rank events.
pub fn list_key(source: &str, list_id: &str) -> Vec<u8> {
    format!("{source}:{list_id}").into_bytes()
}

/// The decoded body of a raw record.
pub fn body(raw: &RawPage, max_body_bytes: usize) -> Result<Vec<u8>, String> {
    match raw.body_encoding.as_str() {
        "identity" if raw.body.len() > max_body_bytes => {
            Err(format!("the body of {} bytes is over the {max_body_bytes}-byte cap on raw bodies", raw.body.len()))
        }
        "identity" => Ok(raw.body.clone()),
        "zstd" => {
            // The buffer is sized from the record's own word, so that word is checked against the cap
            // first: a bad record is dead-lettered, it does not abort the process.
            let size = usize::try_from(raw.body_size).map_err(|_| format!("invalid body_size {}", raw.body_size))?;
            if size > max_body_bytes {
                return Err(format!("body_size {size} is over the {max_body_bytes}-byte cap on raw bodies"));
            }
            zstd::bulk::decompress(&raw.body, size.max(1))
                .map_err(|e| format!("the zstd body does not decompress to its body_size of {size} bytes: {e}"))
        }
        other => Err(format!("unknown body_encoding {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopstream_parse::{PageContext, ParserConfig};

    fn raw(body: &[u8]) -> RawPage {
        RawPage {
            fetch_id: "f1".into(),
            crawl_id: "c1".into(),
            source: "books".into(),
            url: "http://b/catalogue/page-2.html".into(),
            final_url: "http://b/catalogue/page-2.html".into(),
            kind: "link".into(),
            depth: 1,
            fetched_at: 1_000,
            status: 200,
            content_type: None,
            etag: None,
            last_modified: None,
            latency_ms: 1,
            body_encoding: "zstd".into(),
            body_size: body.len() as i64,
            body_sha256: String::new(),
            body: zstd::bulk::compress(body, 3).expect("compress"),
            attributes: Default::default(),
        }
    }

    #[test]
    fn same_record_same_events_and_ids_differ_by_fact() {
        let html = br#"<form class="form-horizontal"><strong>1000</strong> results - showing <strong>21</strong> to <strong>22</strong>.</form>
<article class="product_pod"><h3><a href="a_1/index.html">A</a></h3></article><article class="product_pod"><h3><a href="b_2/index.html">B</a></h3></article>
<ul class="pager"><li class="current">Page 2 of 50</li></ul>"#;
        let r = raw(html);
        let body = body(&r, 1 << 20).expect("body");
        let at = RawPosition { topic: "raw.pages", partition: 0, offset: 5 };
        let cfg = ParserConfig::BooksToscrape;
        let ctx = PageContext { url: &r.final_url, content_type: None, default_currency: None };
        let a = build(&r, at, &cfg, shopstream_parse::parse(&cfg, &body, &ctx).expect("parse")).expect("events");
        let b = build(&r, at, &cfg, shopstream_parse::parse(&cfg, &body, &ctx).expect("parse")).expect("events");
        assert_eq!(a, b);
        assert_eq!(a.ranks.len(), 2);
        assert_ne!(a.ranks[0].event_id, a.ranks[1].event_id);
        assert_eq!(a.ranks[1].position, 22);
        assert_eq!(a.ranks[0].provenance.raw_offset, 5);
        assert!(a.targets.is_empty());
    }

    #[test]
    fn a_tracked_page_says_where_the_product_stood_or_that_it_was_not_there() {
        let html = br#"<form class="form-horizontal"><strong>1000</strong> results - showing <strong>21</strong> to <strong>22</strong>.</form>
<article class="product_pod"><h3><a href="a_1/index.html">A</a></h3></article><article class="product_pod"><h3><a href="b_2/index.html">B</a></h3></article>
<ul class="pager"><li class="current">Page 2 of 50</li></ul>"#;
        let mut r = raw(html);
        let targets = |product: &str| {
            format!(
                r#"[{{"id":"t-1","product":"{product}","timezone":"Asia/Seoul","pages":5}},{{"id":"t-2","product":"a_1","pages":2}}]"#
            )
        };
        r.attributes = [
            (attr::TARGETS, targets("b_2").as_str()),
            (attr::TARGET_PAGE, "2"),
            (attr::TARGET_PAGES, "5"),
            // 2026-12-01T16:00:00Z, 01:00 on Dec 2 in Seoul.
            (attr::RUN_AT, "1796140800000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = body(&r, 1 << 20).expect("body");
        let at = RawPosition { topic: "raw.pages", partition: 0, offset: 5 };
        let cfg = ParserConfig::BooksToscrape;
        let ctx = PageContext { url: &r.final_url, content_type: None, default_currency: None };
        let parse = || shopstream_parse::parse(&cfg, &body, &ctx).expect("parse");
        let evs = build(&r, at, &cfg, parse()).expect("events");
        let t = &evs.targets[0];
        assert_eq!((t.position, t.product_id.as_deref(), t.page, t.pages), (Some(22), Some("b_2"), 2, 5));
        assert_eq!((t.run_day.as_str(), t.observed_at, t.run_id.as_str()), ("2026-12-02", 1_796_140_800_000, "c1"));
        // The second target shares the page, with its own depth and day (UTC).
        let t2 = &evs.targets[1];
        assert_eq!(
            (t2.target_id.as_str(), t2.position, t2.pages, t2.run_day.as_str()),
            ("t-2", Some(21), 2, "2026-12-01")
        );
        r.attributes.insert(attr::TARGETS.into(), targets("url:a_1/"));
        assert_eq!(build(&r, at, &cfg, parse()).expect("events").targets[0].position, Some(21));
        r.attributes.insert(attr::TARGETS.into(), targets("zzz"));
        let missing = build(&r, at, &cfg, parse()).expect("events").targets[0].clone();
        assert_eq!((missing.position, missing.product_id), (None, None));
        r.attributes.insert(attr::TARGET_PAGE.into(), "two".into());
        assert!(build(&r, at, &cfg, parse()).expect_err("bad attribute").contains("target_page"));
    }

    #[test]
    fn events_carry_how_the_generic_parser_read_the_product_and_the_charset() {
        // EUC-KR bytes ("반팔 티" and "원"), decoded by the charset the server named.
        let mut html = b"<html lang=\"ko\"><head><title>".to_vec();
        let title = b"\xb9\xdd\xc6\xc8 \xc6\xbc";
        html.extend_from_slice(title);
        html.extend_from_slice(b"</title></head><body><h1>");
        html.extend_from_slice(title);
        html.extend_from_slice(b"</h1><div class=\"price\">9,900\xbf\xf8</div></body></html>");
        let mut r = raw(&html);
        r.content_type = Some("text/html; charset=euc-kr".into());
        r.final_url = "https://shop.example.kr/goods/7".into();
        let cfg = ParserConfig::Generic { page_size: None };
        let ctx = PageContext { url: &r.final_url, content_type: r.content_type.as_deref(), default_currency: None };
        let parsed = shopstream_parse::parse(&cfg, &html, &ctx).expect("parse");
        let at = RawPosition { topic: "raw.pages", partition: 0, offset: 1 };
        let evs = build(&r, at, &cfg, parsed).expect("events");
        let (product, price) = (&evs.products[0], &evs.prices[0]);
        assert_eq!(product.title, "반팔 티");
        assert!(product.extraction_method.as_deref().is_some_and(|m| m.starts_with("heuristic:")), "{product:?}");
        assert!(product.extraction_confidence.is_some_and(|c| c > 0.0 && c <= 1.0), "{product:?}");
        assert!(product.charset.as_deref().is_some_and(|c| c.contains("EUC-KR")), "{product:?}");
        assert_eq!((price.price_minor, price.currency.as_str()), (9900, "KRW"));
        assert!(price.extraction_method.as_deref().is_some_and(|m| m.starts_with("heuristic:")), "{price:?}");
        assert!(price.extraction_confidence.is_some(), "{price:?}");
    }

    #[test]
    fn a_target_finds_its_product_by_id_url_text_or_shop() {
        let rank = |seller: Option<&str>| RankFact {
            list_id: "l".into(),
            list_kind: "search".into(),
            keyword: Some("k".into()),
            product_id: "p7".into(),
            product_url: "https://shop.example/products/p7-red".into(),
            position: 3,
            page: 1,
            page_size: 40,
            seller: seller.map(String::from),
        };
        assert!(finds("p7", &rank(None)) && !finds("p8", &rank(None)));
        assert!(finds("url:p7-red", &rank(None)) && !finds("url:p7-blue", &rank(None)));
        assert!(finds("shop:Sandbox Mall 3", &rank(Some(" sandbox mall 3 "))));
        assert!(!finds("shop:Sandbox Mall 3", &rank(Some("Sandbox Mall 30"))));
        assert!(!finds("shop:Sandbox Mall 3", &rank(None)), "a list naming no shop finds no shop");
    }

    #[test]
    fn bad_bodies_are_reported() {
        let mut r = raw(b"x");
        r.body = b"not zstd".to_vec();
        assert!(body(&r, 1 << 20).is_err());
        r.body_encoding = "br".into();
        assert!(body(&r, 1 << 20).expect_err("unknown").contains("unknown body_encoding"));
    }

    #[test]
    fn a_record_claiming_a_huge_body_is_refused_before_any_allocation() {
        let mut r = raw(b"<html></html>");
        r.body_size = 1 << 40;
        assert!(body(&r, 1 << 20).expect_err("over the cap").contains("over the 1048576-byte cap"));
        r.body_size = -1;
        assert!(body(&r, 1 << 20).expect_err("negative").contains("invalid body_size"));
        // A body that decompresses to more than it claims is refused too.
        r.body_size = 3;
        assert!(body(&r, 1 << 20).is_err());
    }
}
