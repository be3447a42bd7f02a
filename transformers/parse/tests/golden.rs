//! Golden tests: every `fixtures/<case>/` holds a saved page or payload (`input.html`, `input.html.zst`
//! or `input.json`), the parser and context to run (`case.json`), and what the page says (`expected.json`,
//! written by reading the page, not from the parser's output). An expected fact lists the fields checked;
//! the facts must come in the same order and number. `{"error": "…"}` expects a refusal whose reason
//! contains that text. The SOURCES-*.md files give every input's provenance.

use std::path::{Path, PathBuf};

use serde_json::Value;
use shopstream_parse::{facts_to_json_lines, parse, PageContext, ParserConfig};

fn input(dir: &Path) -> Result<Vec<u8>, String> {
    for name in ["input.html", "input.json"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            return Ok(bytes);
        }
    }
    let zst = std::fs::read(dir.join("input.html.zst")).map_err(|e| format!("no input: {e}"))?;
    zstd::decode_all(zst.as_slice()).map_err(|e| format!("input.html.zst: {e}"))
}

fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => match (e.as_f64(), a.as_f64()) {
            (Some(e), Some(a)) => (e - a).abs() < 1e-9,
            _ => false,
        },
        _ => expected == actual,
    }
}

fn run(dir: &Path) -> Result<usize, String> {
    let read_json = |name: &str| -> Result<Value, String> {
        let text = std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))
    };
    let case = read_json("case.json")?;
    let expected = read_json("expected.json")?;
    let config: ParserConfig =
        serde_json::from_value(case["parser"].clone()).map_err(|e| format!("case.json parser: {e}"))?;
    let problems = config.validate();
    if !problems.is_empty() {
        return Err(format!("invalid parser config: {problems:?}"));
    }
    let url = case["url"].as_str().ok_or("case.json: no url")?;
    let ctx = PageContext { url, content_type: None, default_currency: case["default_currency"].as_str() };
    let body = input(dir)?;
    let result = parse(&config, &body, &ctx);
    if let Some(want) = expected["error"].as_str() {
        return match result {
            Err(e) if e.to_string().contains(want) => Ok(0),
            Err(e) => Err(format!("refused with {e:?}, expected a reason containing {want:?}")),
            Ok(parsed) => Err(format!("parsed {} products, expected a refusal ({want})", parsed.products.len())),
        };
    }
    let parsed = result.map_err(|e| format!("refused: {e}"))?;
    let actual = facts_to_json_lines(&parsed);
    let want = expected["facts"].as_array().ok_or("expected.json: no facts")?;
    let mut errors = vec![];
    if actual.len() != want.len() {
        let kinds: Vec<&str> = actual.iter().filter_map(|f| f["kind"].as_str()).collect();
        errors.push(format!("{} facts, expected {} (got kinds {kinds:?})", actual.len(), want.len()));
    }
    for (i, (w, a)) in want.iter().zip(&actual).enumerate() {
        let Some(w) = w.as_object() else { continue };
        for (key, value) in w {
            if !same(value, &a[key]) {
                errors.push(format!("fact {i} ({}) {key}: expected {value}, got {}", a["kind"], a[key]));
            }
        }
    }
    if errors.is_empty() {
        Ok(actual.len())
    } else {
        Err(errors.join("\n    "))
    }
}

#[test]
fn golden_cases() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 30, "only {} golden cases", dirs.len());
    let mut failures = vec![];
    for dir in &dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        match run(dir) {
            Ok(n) => println!("ok   {name} ({n} facts)"),
            Err(e) => failures.push(format!("{name}:\n    {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} golden cases failed:\n{}", failures.len(), dirs.len(), failures.join("\n"));
}
