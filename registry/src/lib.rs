//! `shopstream-registry`: a Confluent Schema Registry-compatible server (Avro only) whose state
//! lives in a Kafka topic, so that restarts and several instances agree on every id.
//!
//! **Reads**: the state topic (default `_schemas`, one partition, created if missing with
//! `retention.ms=-1`), from the beginning, on a background consumer; and the REST API
//! (`application/vnd.schemaregistry.v1+json` or `application/json`).
//!
//! **Writes**: one JSON record per mutation (register, delete subject, delete version, set or
//! delete config) to partition 0 of the state topic, with an idempotent producer and `acks=all`.
//! The record key is the subject (empty for the global config); the value is a [`Record`], tagged
//! by `"op"`:
//!
//! ```json
//! {"op":"register","subject":"orders-value","schema":"{\"type\":\"record\",...}","schema_type":null}
//! {"op":"delete_subject","subject":"orders-value","permanent":false}
//! {"op":"delete_version","subject":"orders-value","version":2,"permanent":false}
//! {"op":"set_config","subject":null,"compatibility":"FULL"}
//! {"op":"delete_config","subject":"orders-value"}
//! ```
//!
//! Records only state the intent; ids, versions and compatibility verdicts are computed by
//! [`State::apply`] when the record is read back, so they are never stored and can never
//! disagree between instances. Records that are not registry records are skipped with a warning.
//!
//! **Guarantees**:
//! - Deterministic ids: a schema's global id is the id of the identical schema (same parsed,
//!   normalized Avro: whitespace, key order and namespace spelling do not matter; defaults and docs
//!   do) if one was ever registered, else the highest id + 1. Every instance replaying the topic
//!   computes the same ids and versions.
//! - Ready before serving: [`bind`] returns only after the state has been read up to the topic's
//!   end offset as of startup.
//! - Read-your-writes and one order: a write is answered only after this instance has applied the
//!   record, with the outcome computed at that offset. Two instances racing on a subject both see
//!   the log's order; the compatibility check is repeated at apply time, so the loser of a race
//!   gets a 409 even if its pre-check passed.
//! - Reads on one instance may lag writes made through another instance by the consumer's latency.
//!
//! Not supported: schema references, JSON Schema and Protobuf (42201), modes other than
//! READWRITE, contexts, metadata and rule sets (ignored).

mod compat;
mod config;
mod error;
mod http;
mod state;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use config::{BasicAuth, CompatibilityLevel, KafkaOptions, RegistryConfig, DEFAULT_TOPIC};
pub use error::{ErrorKind, RegistryError};
pub use state::{Applied, Outcome, Record, State, SubjectVersion, VersionSpec};

/// A registry that has read its topic and bound its listener, ready to [`Server::run`].
pub struct Server {
    listener: Option<tokio::net::TcpListener>,
    local_addr: SocketAddr,
    store: Arc<store::Store>,
    applier: Option<store::Applier>,
    basic_auth: Option<config::BasicAuth>,
}

/// Connects to Kafka, creates the topic if needed, reads it to the end, then binds the listener.
pub async fn bind(config: RegistryConfig) -> Result<Server, RegistryError> {
    config.validate()?;
    let (store, applier) = store::Store::open(&config).await?;
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            applier.cancel.cancel();
            return Err(RegistryError::Http(e));
        }
    };
    let local_addr = listener.local_addr().map_err(RegistryError::Http)?;
    tracing::info!(%local_addr, topic = %config.topic, "The schema registry is listening.");
    Ok(Server { listener: Some(listener), local_addr, store, applier: Some(applier), basic_auth: config.basic_auth })
}

impl Server {
    /// The address the listener is bound to (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves the API until `shutdown` is cancelled, then stops the topic consumer.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), RegistryError> {
        let app = http::with_basic_auth(http::router(self.store.clone()), self.basic_auth.take());
        let listener =
            self.listener.take().ok_or_else(|| RegistryError::Config("the server was already run".into()))?;
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(RegistryError::Http);
        if let Some(applier) = self.applier.take() {
            applier.cancel.cancel();
            if let Err(e) = applier.task.await {
                tracing::warn!(error = %e, "The schemas topic consumer ended abnormally.");
            }
        }
        tracing::info!(local_addr = %self.local_addr, "The schema registry has stopped.");
        result
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server that is bound but never run (or dropped mid-run) must not leave its consumer behind.
        if let Some(applier) = &self.applier {
            applier.cancel.cancel();
        }
    }
}

/// [`bind`] then [`Server::run`]: serves until `shutdown` is cancelled (also during startup).
pub async fn serve(config: RegistryConfig, shutdown: CancellationToken) -> Result<(), RegistryError> {
    let server = tokio::select! {
        server = bind(config) => server?,
        _ = shutdown.cancelled() => return Ok(()),
    };
    server.run(shutdown).await
}
