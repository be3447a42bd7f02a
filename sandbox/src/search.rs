//! A keyword search API shaped like Naver Shopping's (`/v1/search/shop.json?query=&display=&start=`),
//! whose rankings change per simulated day, for rank tracking tests and demos.
//!
//! Every keyword has 300 products. On day `d` each product's sort key is its base rank plus a
//! day-dependent jitter (so neighbours swap places from day to day), and about one product in ten is
//! absent that day (out of stock, not listed). The day is the sandbox's search day, set with
//! `GET /_sandbox/day?set=N` (read with `GET /_sandbox/day`). Everything is a pure function of
//! (keyword, day), so a test can ask the API what the truth was.

/// Products per keyword.
pub const PRODUCTS: u32 = 300;

fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn keyword_hash(keyword: &str) -> u64 {
    keyword.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The product id of product `i` of `keyword` (digits, like Naver's).
pub fn product_id(keyword: &str, i: u32) -> String {
    format!("8{:05}{:04}", keyword_hash(keyword) % 100_000, i)
}

/// The products of `keyword` on `day`, best first (product indexes).
pub fn ranking(keyword: &str, day: u32) -> Vec<u32> {
    let k = keyword_hash(keyword);
    let mut keyed: Vec<(u64, u32)> = (0..PRODUCTS)
        .filter(|i| !mix(k ^ 0xA5A5 ^ (u64::from(day) << 20) ^ u64::from(*i)).is_multiple_of(10))
        .map(|i| (u64::from(i) * 10 + mix(k ^ (u64::from(day) << 32) ^ u64::from(i)) % 60, i))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The JSON answer for `query`, `display` (1–100, default 10) and `start` (1–1000, default 1), or an
/// error message (Naver answers 400 with a JSON error).
pub fn answer(query: &str, day: u32, base_url: &str) -> Result<String, String> {
    let url = url::Url::parse(&format!("http://sandbox{query}")).map_err(|e| e.to_string())?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.to_string());
    let keyword = param("query").filter(|q| !q.trim().is_empty()).ok_or("query is required")?;
    let number = |name: &str, default: u32, max: u32| -> Result<u32, String> {
        match param(name) {
            None => Ok(default),
            Some(v) => {
                v.parse::<u32>().ok().filter(|n| (1..=max).contains(n)).ok_or(format!("{name} must be 1..{max}"))
            }
        }
    };
    let display = number("display", 10, 100)?;
    let start = number("start", 1, 1000)?;
    let ranked = ranking(&keyword, day);
    let items: Vec<serde_json::Value> = ranked
        .iter()
        .skip(start as usize - 1)
        .take(display as usize)
        .map(|&i| {
            let id = product_id(&keyword, i);
            serde_json::json!({
                "title": format!("<b>{keyword}</b> sample product {i}"),
                "link": format!("{base_url}products/{id}"),
                "image": format!("{base_url}images/{id}.jpg"),
                "lprice": (9_900 + i * 100).to_string(),
                "hprice": "",
                "mallName": format!("Sandbox Mall {}", i % 7),
                "productId": id,
                "productType": "2",
                "brand": "",
                "maker": "",
                "category1": "Fashion",
                "category2": "Tops",
                "category3": "",
                "category4": ""
            })
        })
        .collect();
    let body = serde_json::json!({
        "lastBuildDate": format!("sandbox day {day}"),
        "total": ranked.len(),
        "start": start,
        "display": items.len(),
        "items": items,
    });
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rankings_are_stable_per_day_and_change_across_days() {
        assert_eq!(ranking("반팔", 3), ranking("반팔", 3));
        assert_ne!(ranking("반팔", 3), ranking("반팔", 4));
        assert_ne!(ranking("반팔", 3), ranking("셔츠", 3));
        let r = ranking("반팔", 3);
        assert!(r.len() > 240 && r.len() < 300, "about one in ten absent: {}", r.len());
        // Product 2 stays near the top; product 200 never reaches the first 80.
        for day in 0..30 {
            let r = ranking("반팔", day);
            if let Some(p) = r.iter().position(|&i| i == 2) {
                assert!(p < 10);
            }
            assert!(r.iter().position(|&i| i == 200).is_none_or(|p| p > 150));
        }
    }

    #[test]
    fn the_answer_pages_like_naver() {
        let body =
            answer("/v1/search/shop.json?query=%EB%B0%98%ED%8C%94&display=40&start=41", 0, "http://h/").expect("ok");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["start"], 41);
        assert_eq!(v["items"].as_array().map(Vec::len), Some(40));
        let first = ranking("반팔", 0)[40];
        assert_eq!(v["items"][0]["productId"], product_id("반팔", first));
        assert!(answer("/v1/search/shop.json?display=10", 0, "http://h/").is_err());
        assert!(answer("/v1/search/shop.json?query=x&display=500", 0, "http://h/").is_err());
    }
}
