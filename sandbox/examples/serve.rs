//! Serves the sandbox without the main binary, for a quick look:
//! `cargo run -p shopstream-sandbox --example serve -- [PORT] [COPIES]`, then open http://127.0.0.1:PORT/.
//! The real entry point is `shopstream sandbox`, which also exposes the fault flags.

use std::net::{Ipv4Addr, SocketAddr};

use shopstream_sandbox::{Sandbox, SandboxConfig, DEFAULT_PORT};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().map(|p| p.parse()).transpose()?.unwrap_or(DEFAULT_PORT);
    let copies = args.next().map(|c| c.parse()).transpose()?.unwrap_or(0);
    let config =
        SandboxConfig { listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)), copies, ..SandboxConfig::default() };
    let sandbox = Sandbox::bind(config).await?;
    println!("Serving Books to Scrape on {} ({copies} copies); Ctrl-C stops.", sandbox.url());
    let shutdown = CancellationToken::new();
    let on_ctrl_c = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_ctrl_c.cancel();
    });
    sandbox.run(shutdown).await?;
    Ok(())
}
