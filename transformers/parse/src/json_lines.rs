//! Facts as JSON lines, for `shopstream parse --json`: one object per fact with its `kind`.

use serde_json::{json, Value};

use crate::Parsed;

/// One JSON object per fact: `kind` = `product`, `price` (one per product with a price) or `rank`, with
/// the event's fields (`amount` as a decimal string, `currency` ISO 4217, `minor_units`, `list_price`).
pub fn facts_to_json_lines(parsed: &Parsed) -> Vec<Value> {
    let mut out = vec![];
    for p in &parsed.products {
        out.push(json!({
            "kind": "product",
            "product_id": p.product_id,
            "url": p.url,
            "title": p.title,
            "brand": p.brand,
            "category": p.category,
            "upc": p.upc,
            "rating": p.rating,
            "rating_count": p.rating_count,
            "rating_scale": p.rating_scale,
            "in_stock": p.in_stock,
            "stock": p.stock,
            "image_url": p.image_url,
        }));
        if let Some(price) = &p.price {
            out.push(json!({
                "kind": "price",
                "product_id": p.product_id,
                "amount": price.amount,
                "currency": price.currency,
                "minor_units": price.minor_units,
                "list_price": price.list_price,
                "list_price_minor": price.list_price_minor,
                "raw": price.raw,
            }));
        }
    }
    for r in &parsed.ranks {
        out.push(json!({
            "kind": "rank",
            "list_id": r.list_id,
            "list_kind": r.list_kind,
            "keyword": r.keyword,
            "product_id": r.product_id,
            "product_url": r.product_url,
            "position": r.position,
            "page": r.page,
            "page_size": r.page_size,
            "seller": r.seller,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PriceFact, ProductFact, RankFact};

    #[test]
    fn one_line_per_fact() {
        let parsed = Parsed {
            products: vec![ProductFact {
                product_id: "p".into(),
                url: "u".into(),
                title: "T".into(),
                brand: None,
                category: None,
                upc: None,
                rating: Some(4.5),
                rating_count: Some(3),
                rating_scale: Some(5.0),
                in_stock: None,
                stock: None,
                image_url: None,
                price: Some(PriceFact {
                    amount: "8390".into(),
                    currency: "KRW".into(),
                    minor_units: 8390,
                    list_price_minor: Some(11900),
                    list_price: Some("11900".into()),
                    raw: "8,390원".into(),
                    extraction_method: Some("json-ld".into()),
                }),
                extraction_method: Some("json-ld".into()),
            }],
            ranks: vec![RankFact {
                list_id: "l".into(),
                list_kind: "search".into(),
                keyword: None,
                product_id: "p".into(),
                product_url: "u".into(),
                position: 7,
                page: 1,
                page_size: 20,
                seller: None,
            }],
            ..Parsed::default()
        };
        let lines = facts_to_json_lines(&parsed);
        let kinds: Vec<&str> = lines.iter().filter_map(|l| l["kind"].as_str()).collect();
        assert_eq!(kinds, vec!["product", "price", "rank"]);
        assert_eq!(
            (lines[0]["title"].as_str(), lines[0]["rating"].as_f64(), lines[0]["rating_count"].as_u64()),
            (Some("T"), Some(4.5), Some(3))
        );
        assert_eq!(
            (
                lines[1]["amount"].as_str(),
                lines[1]["currency"].as_str(),
                lines[1]["minor_units"].as_i64(),
                lines[1]["list_price"].as_str()
            ),
            (Some("8390"), Some("KRW"), Some(8390), Some("11900"))
        );
        assert_eq!(lines[2]["position"].as_u64(), Some(7));
    }
}
