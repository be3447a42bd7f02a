//! The Confluent-compatible REST API over the [`Store`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::compat::{self, ParsedSchema};
use crate::config::CompatibilityLevel;
use crate::error::RegistryError;
use crate::state::{check_schema_type, Applied, Record, SubjectVersion, VersionSpec};
use crate::store::Store;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Params = Query<HashMap<String, String>>;
type ApiResult = Result<Response, RegistryError>;

/// Every route of the API.
pub(crate) fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/", get(|| async { reply(StatusCode::OK, &json!({})) }))
        .route("/schemas/types", get(|| async { reply(StatusCode::OK, &json!(["AVRO"])) }))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(raw_schema_by_id))
        .route("/schemas/ids/{id}/versions", get(id_versions))
        .route("/schemas/ids/{id}/subjects", get(id_subjects))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(list_versions).post(register))
        .route("/subjects/{subject}/versions/{version}", get(get_version).delete(delete_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(get_version_schema))
        .route("/subjects/{subject}/versions/{version}/referencedby", get(referenced_by))
        .route("/compatibility/subjects/{subject}/versions", post(compat_all))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(compat_version))
        .route("/config", get(get_global_config).put(put_global_config).delete(delete_global_config))
        .route("/config/{subject}", get(get_subject_config).put(put_subject_config).delete(delete_subject_config))
        .route("/mode", get(|| async { reply(StatusCode::OK, &json!({"mode": "READWRITE"})) }))
        .fallback(|| async {
            let body = json!({"error_code": 404, "message": "HTTP 404 Not Found"});
            reply(StatusCode::NOT_FOUND, &body)
        })
        .with_state(store)
}

/// Require HTTP basic auth on every route when credentials are configured. The comparison is of
/// SHA-256 digests, so its time does not depend on how much of the secret a guess got right.
pub(crate) fn with_basic_auth(router: Router, auth: Option<crate::config::BasicAuth>) -> Router {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let Some(auth) = auth else { return router };
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", auth.user, auth.password))
    );
    let expected: [u8; 32] = Sha256::digest(expected.as_bytes()).into();
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let given = req.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
            let given: [u8; 32] = Sha256::digest(&given).into();
            if given == expected {
                next.run(req).await
            } else {
                let body = json!({"error_code": 401, "message": "Unauthorized"});
                let mut resp = reply(StatusCode::UNAUTHORIZED, &body);
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"schema-registry\""),
                );
                resp
            }
        },
    ))
}

fn reply(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body.to_string()).into_response()
}

fn ok(body: Value) -> ApiResult {
    Ok(reply(StatusCode::OK, &body))
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %self, "A registry request failed.");
        }
        let mut body = json!({"error_code": self.error_code(), "message": self.to_string()});
        if let RegistryError::IncompatibleSchema { messages, .. } = &self {
            body["messages"] = json!(messages);
        }
        reply(status, &body)
    }
}

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn parse_id(id: &str) -> Result<u32, RegistryError> {
    id.parse::<u32>().map_err(|_| RegistryError::SchemaNotFound(id.to_string()))
}

fn body_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, RegistryError> {
    serde_json::from_slice(body).map_err(|e| RegistryError::BadRequest(e.to_string()))
}

/// A schema in a request body: `{"schema": "...", "schemaType"?: "AVRO", "references"?: []}`.
#[derive(Debug, Deserialize)]
struct SchemaRequest {
    schema: String,
    #[serde(rename = "schemaType", default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Value>,
}

impl SchemaRequest {
    fn parse(body: &Bytes) -> Result<(SchemaRequest, ParsedSchema), RegistryError> {
        let request: SchemaRequest = body_json(body)?;
        check_schema_type(request.schema_type.as_deref())?;
        if !request.references.is_empty() {
            return Err(RegistryError::InvalidSchema("schema references are not supported by this registry".into()));
        }
        let parsed = compat::parse(&request.schema)?;
        Ok((request, parsed))
    }
}

fn version_json(v: &SubjectVersion) -> Value {
    json!({"subject": v.subject, "version": v.version, "id": v.id, "schema": v.schema})
}

fn unexpected(applied: Applied) -> RegistryError {
    RegistryError::Store(format!("unexpected outcome {applied:?}"))
}

async fn schema_by_id(AxumState(store): AxumState<Arc<Store>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let text = store.read(|s| s.schema_by_id(id).map(|p| p.text.clone()))??;
    ok(json!({"schema": text}))
}

async fn raw_schema_by_id(AxumState(store): AxumState<Arc<Store>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let text = store.read(|s| s.schema_by_id(id).map(|p| p.text.clone()))??;
    raw_schema(&text)
}

fn raw_schema(text: &str) -> ApiResult {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
    ok(value)
}

async fn id_versions(AxumState(store): AxumState<Arc<Store>>, Path(id): Path<String>, Query(q): Params) -> ApiResult {
    let id = parse_id(&id)?;
    let versions = store.read(|s| s.id_versions(id, flag(&q, "deleted")))??;
    let body: Vec<Value> =
        versions.into_iter().map(|(subject, version)| json!({"subject": subject, "version": version})).collect();
    ok(json!(body))
}

async fn id_subjects(AxumState(store): AxumState<Arc<Store>>, Path(id): Path<String>, Query(q): Params) -> ApiResult {
    let id = parse_id(&id)?;
    let mut subjects: Vec<String> =
        store.read(|s| s.id_versions(id, flag(&q, "deleted")))??.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    ok(json!(subjects))
}

async fn list_subjects(AxumState(store): AxumState<Arc<Store>>, Query(q): Params) -> ApiResult {
    let mut subjects = store.read(|s| s.subjects(flag(&q, "deleted")))?;
    if let Some(prefix) = q.get("subjectPrefix") {
        subjects.retain(|s| s.starts_with(prefix.as_str()));
    }
    ok(json!(subjects))
}

async fn list_versions(
    AxumState(store): AxumState<Arc<Store>>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let versions = store.read(|s| s.versions(&subject, flag(&q, "deleted")))??;
    ok(json!(versions))
}

async fn get_version(
    AxumState(store): AxumState<Arc<Store>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let found = store.read(|s| s.version(&subject, spec, flag(&q, "deleted")))??;
    ok(version_json(&found))
}

async fn get_version_schema(
    AxumState(store): AxumState<Arc<Store>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let found = store.read(|s| s.version(&subject, spec, flag(&q, "deleted")))??;
    raw_schema(&found.schema)
}

async fn referenced_by(
    AxumState(store): AxumState<Arc<Store>>,
    Path((subject, version)): Path<(String, String)>,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    store.read(|s| s.version(&subject, spec, true))??;
    ok(json!([]))
}

async fn register(AxumState(store): AxumState<Arc<Store>>, Path(subject): Path<String>, body: Bytes) -> ApiResult {
    let (request, parsed) = SchemaRequest::parse(&body)?;
    // Answer repeats and obvious rejections without writing; the state machine re-checks
    // everything when the record is applied, so this is only a shortcut.
    let precheck = store.read(|s| match s.lookup(&subject, &parsed, false) {
        Ok(existing) => Ok(Some(existing.id)),
        Err(_) => {
            let messages = s.check_against_subject(&subject, &parsed)?;
            if messages.is_empty() {
                Ok(None)
            } else {
                Err(RegistryError::IncompatibleSchema { subject: subject.clone(), messages })
            }
        }
    })??;
    if let Some(id) = precheck {
        return ok(json!({"id": id}));
    }
    let record = Record::Register { subject, schema: request.schema, schema_type: request.schema_type };
    match store.write(&record).await? {
        Applied::Registered { id, .. } => ok(json!({"id": id})),
        other => Err(unexpected(other)),
    }
}

async fn lookup(
    AxumState(store): AxumState<Arc<Store>>,
    Path(subject): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> ApiResult {
    let (_, parsed) = SchemaRequest::parse(&body)?;
    let found = store.read(|s| s.lookup(&subject, &parsed, flag(&q, "deleted")))??;
    ok(version_json(&found))
}

async fn delete_subject(
    AxumState(store): AxumState<Arc<Store>>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let permanent = flag(&q, "permanent");
    store.read(|s| s.plan_delete_subject(&subject, permanent))??;
    match store.write(&Record::DeleteSubject { subject, permanent }).await? {
        Applied::DeletedVersions(versions) => ok(json!(versions)),
        other => Err(unexpected(other)),
    }
}

async fn delete_version(
    AxumState(store): AxumState<Arc<Store>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let permanent = flag(&q, "permanent");
    let version = match VersionSpec::parse(&version)? {
        VersionSpec::Number(n) => n,
        // `latest` is resolved now; the record names a number so every instance deletes the same one.
        VersionSpec::Latest => {
            store.read(|s| s.version(&subject, VersionSpec::Latest, permanent).map(|v| v.version))??
        }
    };
    store.read(|s| s.plan_delete_version(&subject, version, permanent))??;
    match store.write(&Record::DeleteVersion { subject, version, permanent }).await? {
        Applied::DeletedVersion(v) => ok(json!(v)),
        other => Err(unexpected(other)),
    }
}

fn compat_reply(messages: Vec<String>, verbose: bool) -> ApiResult {
    let mut body = json!({"is_compatible": messages.is_empty()});
    if verbose {
        body["messages"] = json!(messages);
    }
    ok(body)
}

async fn compat_version(
    AxumState(store): AxumState<Arc<Store>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
    body: Bytes,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let (_, parsed) = SchemaRequest::parse(&body)?;
    let messages = store.read(|s| s.check_against_version(&subject, spec, &parsed))??;
    compat_reply(messages, flag(&q, "verbose"))
}

/// Against every version the subject's level covers (all of them for transitive levels).
async fn compat_all(
    AxumState(store): AxumState<Arc<Store>>,
    Path(subject): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> ApiResult {
    let (_, parsed) = SchemaRequest::parse(&body)?;
    let messages = store.read(|s| s.check_against_subject(&subject, &parsed))??;
    compat_reply(messages, flag(&q, "verbose"))
}

/// `{"compatibility": "FULL"}` (Confluent also accepts `compatibilityLevel`).
fn parse_level(body: &Bytes) -> Result<CompatibilityLevel, RegistryError> {
    let value: Value = body_json(body)?;
    let level = value
        .get("compatibility")
        .or_else(|| value.get("compatibilityLevel"))
        .and_then(Value::as_str)
        .ok_or_else(|| RegistryError::InvalidCompatibilityLevel(value.to_string()))?;
    level.parse()
}

async fn set_config(store: &Store, subject: Option<String>, body: &Bytes) -> ApiResult {
    let compatibility = parse_level(body)?;
    match store.write(&Record::SetConfig { subject, compatibility }).await? {
        Applied::ConfigSet(level) => ok(json!({"compatibility": level})),
        other => Err(unexpected(other)),
    }
}

async fn delete_config(store: &Store, subject: Option<String>) -> ApiResult {
    if let Some(subject) = &subject {
        store
            .read(|s| s.subject_level(subject))?
            .ok_or_else(|| RegistryError::SubjectLevelCompatibilityNotConfigured(subject.clone()))?;
    }
    match store.write(&Record::DeleteConfig { subject }).await? {
        Applied::ConfigDeleted(level) => ok(json!({"compatibilityLevel": level})),
        other => Err(unexpected(other)),
    }
}

async fn get_global_config(AxumState(store): AxumState<Arc<Store>>) -> ApiResult {
    let level = store.read(|s| s.global_level())?;
    ok(json!({"compatibilityLevel": level}))
}

async fn put_global_config(AxumState(store): AxumState<Arc<Store>>, body: Bytes) -> ApiResult {
    set_config(&store, None, &body).await
}

async fn delete_global_config(AxumState(store): AxumState<Arc<Store>>) -> ApiResult {
    delete_config(&store, None).await
}

async fn get_subject_config(
    AxumState(store): AxumState<Arc<Store>>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let default_to_global = flag(&q, "defaultToGlobal");
    let level = store.read(|s| match s.subject_level(&subject) {
        Some(level) => Ok(level),
        None if default_to_global => Ok(s.global_level()),
        None => Err(RegistryError::SubjectLevelCompatibilityNotConfigured(subject.clone())),
    })??;
    ok(json!({"compatibilityLevel": level}))
}

async fn put_subject_config(
    AxumState(store): AxumState<Arc<Store>>,
    Path(subject): Path<String>,
    body: Bytes,
) -> ApiResult {
    set_config(&store, Some(subject), &body).await
}

async fn delete_subject_config(AxumState(store): AxumState<Arc<Store>>, Path(subject): Path<String>) -> ApiResult {
    delete_config(&store, Some(subject)).await
}
