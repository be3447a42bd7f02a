//! `normalize price`: the transform stage's price normalization on a text or JSON lines.

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct NormalizeArgs {
    #[command(subcommand)]
    pub what: NormalizeWhat,
}

#[derive(Subcommand)]
pub enum NormalizeWhat {
    /// A price: amount, ISO currency and minor units.
    Price(PriceArgs),
}

#[derive(Args)]
pub struct PriceArgs {
    /// The price text.
    #[arg(required_unless_present = "stdin")]
    text: Option<String>,
    /// Text near the price naming the currency.
    #[arg(long)]
    currency_hint: Option<String>,
    /// The site's decimal separator.
    #[arg(long)]
    decimal_separator: Option<char>,
    /// ISO 4217 code when the text names none.
    #[arg(long)]
    default_currency: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Read JSON lines {"raw","currency_hint","decimal_separator"}, write one JSON line each.
    #[arg(long)]
    stdin: bool,
}

fn price_json(
    text: &str,
    hint: Option<&str>,
    sep: Option<char>,
    default_currency: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let hints = shopstream_normalize::PriceHints { currency_hint: hint, decimal_separator: sep, default_currency };
    Ok(match shopstream_normalize::parse_price(text, &hints)? {
        Some(p) => serde_json::json!({
            "amount": p.amount.to_string(),
            "currency": p.currency,
            "minor_units": p.minor_units,
            "currency_raw": p.currency_raw,
            "currency_ambiguous": p.currency_ambiguous,
            "per_unit": p.per_unit,
        }),
        None => serde_json::json!({"amount": null, "currency": null, "minor_units": null}),
    })
}

pub fn normalize_price(a: PriceArgs) -> anyhow::Result<()> {
    if a.stdin {
        use std::io::BufRead;
        #[derive(serde::Deserialize)]
        struct Line {
            raw: String,
            #[serde(default)]
            currency_hint: Option<String>,
            #[serde(default)]
            decimal_separator: Option<String>,
        }
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let l: Line = serde_json::from_str(&line)
                .with_context(|| format!("line {}: not a JSON object with \"raw\"", i + 1))?;
            let sep = l.decimal_separator.as_deref().and_then(|s| s.chars().next());
            let v = price_json(&l.raw, l.currency_hint.as_deref(), sep, a.default_currency.as_deref())
                .with_context(|| format!("line {}", i + 1))?;
            println!("{v}");
        }
        return Ok(());
    }
    let text = a.text.unwrap_or_default();
    let v = price_json(&text, a.currency_hint.as_deref(), a.decimal_separator, a.default_currency.as_deref())?;
    if a.json {
        println!("{v}");
    } else {
        match (&v["amount"], &v["currency"], &v["minor_units"]) {
            (serde_json::Value::Null, _, _) => {
                let hints = shopstream_normalize::PriceHints {
                    currency_hint: a.currency_hint.as_deref(),
                    decimal_separator: a.decimal_separator,
                    default_currency: a.default_currency.as_deref(),
                };
                match shopstream_normalize::detect_currency(&text, &hints)? {
                    Some(d) => println!(
                        "no price in {text:?} (it names the currency {:?}: {})",
                        d.currency_raw,
                        d.currency.as_deref().unwrap_or("no ISO code")
                    ),
                    None => println!("no price in {text:?}"),
                }
            }
            (amount, currency, minor) => {
                println!(
                    "{} {} ({} minor units)",
                    amount.as_str().unwrap_or_default(),
                    currency.as_str().unwrap_or("(unknown currency)"),
                    minor
                );
                if v["currency_ambiguous"] == serde_json::Value::Bool(true) {
                    println!(
                        "ambiguous: {:?} names several currencies; {} is a guess (pass --currency-hint or \
                         --default-currency)",
                        v["currency_raw"].as_str().unwrap_or_default(),
                        currency.as_str().unwrap_or_default()
                    );
                }
                if v["per_unit"] == serde_json::Value::Bool(true) {
                    println!("per-unit price (a price per measure, not the product's price)");
                }
            }
        }
    }
    Ok(())
}
