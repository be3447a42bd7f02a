use std::io;
use std::net::SocketAddr;

/// Everything that can go wrong starting or running the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid sandbox config: {}", .0.join("; "))]
    Config(Vec<String>),
    /// The listening socket could not be bound (port in use, no permission, ...).
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("the sandbox server failed")]
    Serve(#[source] io::Error),
    /// The embedded archive could not be unpacked: a build problem, not a run-time one.
    #[error("the embedded Books to Scrape snapshot is unreadable: {0}")]
    Snapshot(String),
}

impl SandboxError {
    /// Whether trying again later can help: only a port that is in use may free up.
    pub fn is_retriable(&self) -> bool {
        matches!(self, SandboxError::Bind { source, .. } if source.kind() == io::ErrorKind::AddrInUse)
    }
}
