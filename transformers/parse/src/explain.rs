//! A human-readable and a serializable account of how a page was read: the chosen value of each field
//! with its method and confidence, and the readings turned down with their scores and reasons
//! (`shopstream parse FILE --explain` / `--json`).

use serde::Serialize;

use crate::{Candidate, FieldSource, ParseError, Parsed};

/// How a page was read, for `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `parsed` or `refused`.
    pub outcome: String,
    /// The refusal's reason (the dead letter's), when refused.
    pub error: Option<String>,
    pub products: usize,
    pub ranks: usize,
    /// The chosen values with their method and confidence.
    pub chosen: Vec<FieldSource>,
    /// The readings turned down (or, when refused, all readings weighed), best first per field.
    pub rejected: Vec<Candidate>,
}

/// The explanation of one parse result.
pub fn explanation(result: &Result<Parsed, ParseError>) -> Explanation {
    match result {
        Ok(p) => Explanation {
            outcome: "parsed".into(),
            error: None,
            products: p.products.len(),
            ranks: p.ranks.len(),
            chosen: p.provenance.clone(),
            rejected: p.rejected.clone(),
        },
        Err(e) => Explanation {
            outcome: "refused".into(),
            error: Some(e.to_string()),
            products: 0,
            ranks: 0,
            chosen: vec![],
            rejected: match e {
                ParseError::LowConfidence { candidates, .. } => candidates.clone(),
                _ => vec![],
            },
        },
    }
}

/// The explanation as text: one line per chosen field, then the rejected candidates per field.
pub fn explain(result: &Result<Parsed, ParseError>) -> String {
    let e = explanation(result);
    let mut out = String::new();
    match &e.error {
        Some(err) => out.push_str(&format!("refused: {err}\n")),
        None => out.push_str(&format!("parsed: {} products, {} ranks\n", e.products, e.ranks)),
    }
    if !e.chosen.is_empty() {
        out.push_str("chosen:\n");
        for f in &e.chosen {
            out.push_str(&format!(
                "  {:<10} {:<60} {:.2}  {}\n",
                f.field,
                truncate(&f.value, 60),
                f.confidence,
                f.method
            ));
        }
    }
    if !e.rejected.is_empty() {
        out.push_str(if e.error.is_some() { "candidates:\n" } else { "rejected:\n" });
        for c in &e.rejected {
            out.push_str(&format!(
                "  {:<10} {:<60} {:.2}  {}{}\n",
                c.field,
                truncate(&c.value, 60),
                c.confidence,
                c.method,
                if c.reason.is_empty() { String::new() } else { format!("  ({})", c.reason) }
            ));
        }
    }
    out
}

/// The best few candidates in one line, for an error message.
pub(crate) fn summary(candidates: &[Candidate]) -> String {
    if candidates.is_empty() {
        return "no candidates".into();
    }
    candidates
        .iter()
        .take(4)
        .map(|c| {
            let why = if c.reason.is_empty() { String::new() } else { format!(", {}", c.reason) };
            format!("{} {:?} {:.2} ({}{why})", c.field, truncate(&c.value, 40), c.confidence, c.method)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(field: &str, value: &str, confidence: f64, reason: &str) -> Candidate {
        Candidate {
            field: field.into(),
            method: "heuristic:span.price".into(),
            confidence,
            value: value.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn a_refusal_lists_its_candidates() {
        let err = ParseError::LowConfidence {
            parser: "generic",
            field: "price",
            best: 0.3,
            threshold: 0.5,
            candidates: vec![cand("price", "12.00 EUR", 0.3, "far from the title")],
        };
        let msg = err.to_string();
        assert!(msg.contains("price \"12.00 EUR\" 0.30") && msg.contains("far from the title"), "{msg}");
        let text = explain(&Err(err));
        assert!(text.starts_with("refused:") && text.contains("candidates:"), "{text}");
    }

    #[test]
    fn a_parse_shows_chosen_and_rejected() {
        let parsed = Parsed {
            provenance: vec![FieldSource {
                field: "price".into(),
                method: "json-ld".into(),
                confidence: 1.0,
                value: "9.90".into(),
            }],
            rejected: vec![cand("price", "0.70", 0.2, "per-unit price")],
            ..Parsed::default()
        };
        let text = explain(&Ok(parsed.clone()));
        assert!(text.contains("chosen:") && text.contains("json-ld") && text.contains("per-unit price"), "{text}");
        let json = serde_json::to_value(explanation(&Ok(parsed))).expect("json");
        assert_eq!(json["chosen"][0]["method"], "json-ld");
        assert_eq!(json["rejected"][0]["reason"], "per-unit price");
    }
}
