//! `parse FILE|URL`: one saved page or payload (or a URL fetched once, guarded) through a source's parser.

use anyhow::Context;
use clap::Args;

use crate::config::PipelineConfig;
use crate::Global;

#[derive(Args)]
pub struct ParseArgs {
    /// A saved page or payload, or an http(s) URL to fetch once (the parse itself is offline).
    file: String,
    /// Source whose parser to use (from the config); none: the generic parser.
    #[arg(long)]
    source: Option<String>,
    /// The URL the page came from (links and ids resolve against it); default: the URL given, else
    /// http://localhost/.
    #[arg(long)]
    url: Option<String>,
    /// One JSON object per line (with --explain: the explanation as one JSON document).
    #[arg(long)]
    json: bool,
    /// Print where every field came from (json-ld, microdata, embedded:<path>, heuristic:<selector> …),
    /// with what confidence, and the candidates turned down; a refused page prints its candidates too.
    #[arg(long)]
    explain: bool,
    /// The HTTP Content-Type the page was served with (its charset decides the decoding); a fetched
    /// URL uses the one it was served with.
    #[arg(long)]
    content_type: Option<String>,
    /// Let a URL reach loopback and private addresses (a local test server); refused by default, as
    /// the extractor refuses them unless the source allows them.
    #[arg(long)]
    allow_private_network: bool,
}

pub async fn parse_file(g: &Global, a: ParseArgs) -> anyhow::Result<()> {
    let is_url = a.file.starts_with("http://") || a.file.starts_with("https://");
    let pipeline = match &a.source {
        Some(_) => Some(PipelineConfig::load(g.config.as_deref())?),
        None => None,
    };
    let source = match (&a.source, &pipeline) {
        (Some(name), Some(p)) => {
            Some(p.sources.get(name).with_context(|| format!("no source named {name:?} in the config"))?)
        }
        _ => None,
    };
    let (body, served_type) = if is_url {
        // The extractor's guarded fetch: the source's address policy, body cap, redirect and time limits.
        let mut rules = source.map(|s| s.fetch.clone()).unwrap_or_default();
        rules.allow_private_network |= a.allow_private_network;
        fetch_once(&a.file, &rules).await?
    } else {
        (std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file))?, None)
    };
    let content_type = a.content_type.clone().or(served_type);
    let url = a.url.clone().unwrap_or_else(|| if is_url { a.file.clone() } else { "http://localhost/".to_string() });
    let (parser, currency) = match source {
        Some(s) => (s.parser.clone(), s.default_currency.clone()),
        None => (shopstream_parse::ParserConfig::Generic { page_size: None }, None),
    };
    let ctx = shopstream_parse::PageContext {
        url: &url,
        content_type: content_type.as_deref(),
        default_currency: currency.as_deref(),
    };
    let result = shopstream_parse::parse(&parser, &body, &ctx);
    if a.explain {
        if a.json {
            println!("{}", serde_json::to_string_pretty(&shopstream_parse::explanation(&result))?);
        } else {
            print!("{}", shopstream_parse::explain(&result));
        }
        if let Err(e) = result {
            anyhow::bail!("{} was refused: {e}", a.file);
        }
        return Ok(());
    }
    let parsed = result?;
    let lines = shopstream_parse::facts_to_json_lines(&parsed);
    if a.json {
        for line in &lines {
            println!("{}", serde_json::to_string(line)?);
        }
    } else {
        println!(
            "{} ({} v{}): {} product(s), {} rank(s)",
            a.file,
            parser.name(),
            parser.version(),
            parsed.products.len(),
            parsed.ranks.len()
        );
        for line in &lines {
            println!("{}", serde_json::to_string_pretty(line)?);
        }
    }
    Ok(())
}

/// Fetch one URL the way the extractor does; the body of a 2xx answer and its Content-Type.
async fn fetch_once(
    url: &str,
    rules: &shopstream_extractors::http::SourceFetch,
) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    use shopstream_extractors::http::fetch::{self, Fetched};
    let parsed = url::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
    let client = fetch::client(rules).map_err(anyhow::Error::msg)?;
    match fetch::fetch(&client, &parsed, rules).await {
        Fetched::Response { response, .. } if (200..300).contains(&response.status) => {
            Ok((response.body, response.content_type))
        }
        Fetched::Response { response, .. } => {
            anyhow::bail!("{url} answered {}", fetch::status_text(response.status))
        }
        Fetched::Failed { error, attempts, .. } => anyhow::bail!("cannot fetch {url} ({attempts} attempts): {error}"),
        Fetched::Refused { reason } => anyhow::bail!(
            "refused to fetch {url}: {reason} (a local URL needs --allow-private-network, or a source that allows it)"
        ),
    }
}
