//! Integration tests against a real broker at `SHOPSTREAM_KAFKA_BROKERS` (required: the tests
//! fail, never skip, without it). Each test uses its own random state topic.

use std::net::SocketAddr;
use std::time::Duration;

use apache_avro::types::Value as AvroValue;
use rand::Rng;
use reqwest::{Client, StatusCode};
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::{SchemaType, SubjectNameStrategy, SuppliedSchema};
use serde_json::{json, Value};
use shopstream_registry::{bind, CompatibilityLevel, RegistryConfig};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const CT: &str = "application/vnd.schemaregistry.v1+json";

const V1: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"long"}]}"#;
const V2_OPTIONAL: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"long"},{"name":"note","type":["null","string"],"default":null}]}"#;
const V2_REQUIRED: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"long"},{"name":"currency","type":"string"}]}"#;
const CLICK: &str = r#"{"type":"record","name":"Click","namespace":"shop","fields":[{"name":"url","type":"string"}]}"#;

fn brokers() -> String {
    match std::env::var("SHOPSTREAM_KAFKA_BROKERS") {
        Ok(b) if !b.trim().is_empty() => b,
        _ => panic!(
            "SHOPSTREAM_KAFKA_BROKERS is not set: these integration tests need a real Kafka-compatible broker \
             (e.g. SHOPSTREAM_KAFKA_BROKERS=localhost:19092); the project's test script sets it"
        ),
    }
}

fn random_topic() -> String {
    format!("_schemas-test-{:016x}", rand::rng().random::<u64>())
}

struct Running {
    url: String,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), shopstream_registry::RegistryError>>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        let result = self.task.await.expect("the server task panicked");
        assert!(result.is_ok(), "the server stopped with {result:?}");
    }
}

async fn start(topic: &str) -> Running {
    start_with(topic, None).await
}

async fn start_with(topic: &str, basic_auth: Option<shopstream_registry::BasicAuth>) -> Running {
    let config = RegistryConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        kafka_brokers: brokers(),
        topic: topic.to_string(),
        default_compatibility: CompatibilityLevel::Backward,
        kafka_options: Default::default(),
        basic_auth,
    };
    let server = bind(config).await.expect("the registry should start against the broker");
    let url = format!("http://{}", server.local_addr());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(shutdown.clone()));
    Running { url, shutdown, task }
}

/// One HTTP call shaped like Confluent's curl examples; returns the status and the JSON body.
async fn call(client: &Client, method: reqwest::Method, url: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = client.request(method, url).header("Accept", CT);
    if let Some(body) = body {
        request = request.header("Content-Type", CT).body(body.to_string());
    }
    let response = request.send().await.expect("the registry should answer");
    let status = response.status();
    let text = response.text().await.expect("a readable body");
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body, got {text:?}"));
    (status, value)
}

async fn get(client: &Client, url: &str) -> (StatusCode, Value) {
    call(client, reqwest::Method::GET, url, None).await
}

async fn post(client: &Client, url: &str, body: Value) -> (StatusCode, Value) {
    call(client, reqwest::Method::POST, url, Some(body)).await
}

async fn put(client: &Client, url: &str, body: Value) -> (StatusCode, Value) {
    call(client, reqwest::Method::PUT, url, Some(body)).await
}

async fn delete(client: &Client, url: &str) -> (StatusCode, Value) {
    call(client, reqwest::Method::DELETE, url, None).await
}

async fn register(client: &Client, base: &str, subject: &str, schema: &str) -> (StatusCode, Value) {
    post(client, &format!("{base}/subjects/{subject}/versions"), json!({"schema": schema})).await
}

fn assert_error(result: &(StatusCode, Value), status: u16, code: u64) {
    assert_eq!(result.0.as_u16(), status, "{result:?}");
    assert_eq!(result.1["error_code"].as_u64(), Some(code), "{result:?}");
    assert!(result.1["message"].is_string(), "{result:?}");
}

/// Polls `f` until it returns `Some`, for state written through another instance.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn confluent_curl_examples() {
    let topic = random_topic();
    let server = start(&topic).await;
    let c = Client::new();
    let base = server.url.clone();

    assert_eq!(get(&c, &format!("{base}/")).await, (StatusCode::OK, json!({})));
    assert_eq!(get(&c, &format!("{base}/schemas/types")).await, (StatusCode::OK, json!(["AVRO"])));
    assert_eq!(get(&c, &format!("{base}/subjects")).await, (StatusCode::OK, json!([])));

    // Register, and register again (re-formatted): the same id, no new version.
    let first = register(&c, &base, "orders-value", V1).await;
    assert_eq!(first.0, StatusCode::OK, "{first:?}");
    let id = first.1["id"].as_u64().expect("an id");
    let again = post(
        &c,
        &format!("{base}/subjects/orders-value/versions"),
        json!({"schema": V1.replace(',', ", "), "schemaType": "AVRO", "references": []}),
    )
    .await;
    assert_eq!(again, (StatusCode::OK, json!({"id": id})));
    // The same schema under another subject: the same global id.
    assert_eq!(register(&c, &base, "orders-key", V1).await, (StatusCode::OK, json!({"id": id})));
    let v2 = register(&c, &base, "orders-value", V2_OPTIONAL).await;
    assert_eq!(v2.0, StatusCode::OK);
    let id2 = v2.1["id"].as_u64().expect("an id");
    assert_ne!(id, id2);

    // Plain `application/json` works too.
    let plain = c
        .post(format!("{base}/subjects/orders-value"))
        .header("Content-Type", "application/json")
        .body(json!({"schema": V1}).to_string())
        .send()
        .await
        .expect("the registry should answer");
    assert_eq!(plain.status(), StatusCode::OK);
    let content_type = plain.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    assert_eq!(content_type.as_deref(), Some(CT));

    // Lookup.
    let found = post(&c, &format!("{base}/subjects/orders-value"), json!({"schema": V1})).await;
    assert_eq!(found, (StatusCode::OK, json!({"subject": "orders-value", "id": id, "version": 1, "schema": V1})));
    assert_error(&post(&c, &format!("{base}/subjects/orders-value"), json!({"schema": CLICK})).await, 404, 40403);
    assert_error(&post(&c, &format!("{base}/subjects/nobody"), json!({"schema": CLICK})).await, 404, 40401);

    // Subjects and versions.
    assert_eq!(get(&c, &format!("{base}/subjects")).await, (StatusCode::OK, json!(["orders-key", "orders-value"])));
    assert_eq!(get(&c, &format!("{base}/subjects/orders-value/versions")).await, (StatusCode::OK, json!([1, 2])));
    let latest = get(&c, &format!("{base}/subjects/orders-value/versions/latest")).await;
    assert_eq!(
        latest,
        (StatusCode::OK, json!({"subject": "orders-value", "id": id2, "version": 2, "schema": V2_OPTIONAL}))
    );
    assert!(latest.1.get("schemaType").is_none());
    let one = get(&c, &format!("{base}/subjects/orders-value/versions/1")).await;
    assert_eq!(one.1["id"].as_u64(), Some(id));
    let raw = get(&c, &format!("{base}/subjects/orders-value/versions/1/schema")).await;
    assert_eq!(raw, (StatusCode::OK, serde_json::from_str::<Value>(V1).expect("json")));
    assert_error(&get(&c, &format!("{base}/subjects/orders-value/versions/9")).await, 404, 40402);
    assert_error(&get(&c, &format!("{base}/subjects/orders-value/versions/abc")).await, 422, 42202);
    assert_error(&get(&c, &format!("{base}/subjects/nobody/versions")).await, 404, 40401);

    // By id.
    assert_eq!(get(&c, &format!("{base}/schemas/ids/{id}")).await, (StatusCode::OK, json!({"schema": V1})));
    let versions = get(&c, &format!("{base}/schemas/ids/{id}/versions")).await;
    assert_eq!(
        versions,
        (StatusCode::OK, json!([{"subject": "orders-key", "version": 1}, {"subject": "orders-value", "version": 1}]))
    );
    let subjects = get(&c, &format!("{base}/schemas/ids/{id}/subjects")).await;
    assert_eq!(subjects, (StatusCode::OK, json!(["orders-key", "orders-value"])));
    assert_error(&get(&c, &format!("{base}/schemas/ids/99999")).await, 404, 40403);

    // Invalid schemas.
    assert_error(&register(&c, &base, "orders-value", r#"{"type":"record","name":"X"}"#).await, 422, 42201);
    assert_error(&register(&c, &base, "orders-value", "not json").await, 422, 42201);

    // Compatibility checks.
    let compat = |v: &str| format!("{base}/compatibility/subjects/orders-value/versions/{v}");
    assert_eq!(
        post(&c, &compat("latest"), json!({"schema": V2_OPTIONAL})).await,
        (StatusCode::OK, json!({"is_compatible": true}))
    );
    assert_eq!(
        post(&c, &compat("1"), json!({"schema": V2_REQUIRED})).await,
        (StatusCode::OK, json!({"is_compatible": false}))
    );
    let verbose = post(&c, &format!("{}?verbose=true", compat("latest")), json!({"schema": V2_REQUIRED})).await;
    assert_eq!(verbose.1["is_compatible"], json!(false));
    assert!(verbose.1["messages"].as_array().is_some_and(|m| !m.is_empty()), "{verbose:?}");
    assert_error(&post(&c, &compat("7"), json!({"schema": V1})).await, 404, 40402);
    assert_error(
        &post(&c, &format!("{base}/compatibility/subjects/nobody/versions/latest"), json!({"schema": V1})).await,
        404,
        40401,
    );

    // Global config.
    assert_eq!(get(&c, &format!("{base}/config")).await, (StatusCode::OK, json!({"compatibilityLevel": "BACKWARD"})));
    assert_eq!(
        put(&c, &format!("{base}/config"), json!({"compatibility": "FULL"})).await,
        (StatusCode::OK, json!({"compatibility": "FULL"}))
    );
    assert_eq!(get(&c, &format!("{base}/config")).await, (StatusCode::OK, json!({"compatibilityLevel": "FULL"})));
    assert_error(&put(&c, &format!("{base}/config"), json!({"compatibility": "SIDEWAYS"})).await, 422, 42203);

    // Per-subject config.
    assert_error(&get(&c, &format!("{base}/config/orders-value")).await, 404, 40408);
    assert_eq!(
        get(&c, &format!("{base}/config/orders-value?defaultToGlobal=true")).await,
        (StatusCode::OK, json!({"compatibilityLevel": "FULL"}))
    );
    assert_eq!(
        put(&c, &format!("{base}/config/orders-value"), json!({"compatibility": "NONE"})).await,
        (StatusCode::OK, json!({"compatibility": "NONE"}))
    );
    assert_eq!(
        get(&c, &format!("{base}/config/orders-value")).await,
        (StatusCode::OK, json!({"compatibilityLevel": "NONE"}))
    );
    // Under NONE the breaking change is accepted.
    let breaking = register(&c, &base, "orders-value", V2_REQUIRED).await;
    assert_eq!(breaking.0, StatusCode::OK, "{breaking:?}");
    assert_eq!(
        delete(&c, &format!("{base}/config/orders-value")).await,
        (StatusCode::OK, json!({"compatibilityLevel": "NONE"}))
    );
    assert_error(&get(&c, &format!("{base}/config/orders-value")).await, 404, 40408);

    // Deletes: soft first, then permanent.
    assert_error(&delete(&c, &format!("{base}/subjects/orders-value/versions/1?permanent=true")).await, 404, 40407);
    assert_eq!(delete(&c, &format!("{base}/subjects/orders-value/versions/1")).await, (StatusCode::OK, json!(1)));
    assert_eq!(get(&c, &format!("{base}/subjects/orders-value/versions")).await, (StatusCode::OK, json!([2, 3])));
    assert_eq!(
        get(&c, &format!("{base}/subjects/orders-value/versions?deleted=true")).await,
        (StatusCode::OK, json!([1, 2, 3]))
    );
    assert_eq!(delete(&c, &format!("{base}/subjects/orders-value")).await, (StatusCode::OK, json!([2, 3])));
    assert_eq!(get(&c, &format!("{base}/subjects")).await, (StatusCode::OK, json!(["orders-key"])));
    assert_error(&get(&c, &format!("{base}/subjects/orders-value/versions/latest")).await, 404, 40401);
    assert_eq!(
        delete(&c, &format!("{base}/subjects/orders-value?permanent=true")).await,
        (StatusCode::OK, json!([1, 2, 3]))
    );
    assert_eq!(get(&c, &format!("{base}/subjects?deleted=true")).await, (StatusCode::OK, json!(["orders-key"])));
    // Ids outlive their subjects.
    assert_eq!(get(&c, &format!("{base}/schemas/ids/{id2}")).await.0, StatusCode::OK);

    server.stop().await;
}

#[tokio::test]
async fn breaking_change_is_409_and_optional_field_with_default_is_accepted() {
    let topic = random_topic();
    let server = start(&topic).await;
    let c = Client::new();
    let base = server.url.clone();

    assert_eq!(register(&c, &base, "payments-value", V1).await.0, StatusCode::OK);
    let rejected = register(&c, &base, "payments-value", V2_REQUIRED).await;
    assert_error(&rejected, 409, 409);
    assert_eq!(get(&c, &format!("{base}/subjects/payments-value/versions")).await.1, json!([1]));
    let accepted = register(&c, &base, "payments-value", V2_OPTIONAL).await;
    assert_eq!(accepted.0, StatusCode::OK, "{accepted:?}");
    assert_eq!(get(&c, &format!("{base}/subjects/payments-value/versions")).await.1, json!([1, 2]));

    // BACKWARD_TRANSITIVE for the subject: a field added with a default in v2 that loses its
    // default in v3 breaks against v1 only.
    assert_eq!(
        put(&c, &format!("{base}/config/payments-value"), json!({"compatibility": "BACKWARD_TRANSITIVE"})).await.0,
        StatusCode::OK
    );
    let v3 = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"long"},{"name":"note","type":["null","string"]}]}"#;
    let result = register(&c, &base, "payments-value", v3).await;
    assert_error(&result, 409, 409);
    assert_eq!(
        put(&c, &format!("{base}/config/payments-value"), json!({"compatibility": "BACKWARD"})).await.0,
        StatusCode::OK
    );
    assert_eq!(register(&c, &base, "payments-value", v3).await.0, StatusCode::OK);

    server.stop().await;
}

#[tokio::test]
async fn schema_registry_converter_round_trip() {
    let topic = random_topic();
    let server = start(&topic).await;
    let settings = SrSettings::new(server.url.clone());
    let encoder = AvroEncoder::new(settings.clone());
    let decoder = AvroDecoder::new(settings);
    let strategy = SubjectNameStrategy::TopicNameStrategyWithSchema(
        "orders".to_string(),
        false,
        SuppliedSchema::new(Some("shop.Order".to_string()), SchemaType::Avro, V1.to_string()),
    );
    let bytes = encoder
        .encode(vec![("id", AvroValue::String("o-1".into())), ("amount", AvroValue::Long(1250))], strategy)
        .await
        .expect("the converter should register and encode");
    assert_eq!(bytes[0], 0, "Confluent magic byte");
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);

    let c = Client::new();
    let latest = get(&c, &format!("{}/subjects/orders-value/versions/latest", server.url)).await;
    assert_eq!(latest.1["id"].as_u64(), Some(u64::from(id)), "{latest:?}");

    let decoded = decoder.decode(Some(&bytes)).await.expect("the converter should decode");
    assert_eq!(
        decoded.value,
        AvroValue::Record(vec![
            ("id".to_string(), AvroValue::String("o-1".into())),
            ("amount".to_string(), AvroValue::Long(1250)),
        ])
    );

    // A breaking schema through the converter is refused by the registry.
    let breaking = SubjectNameStrategy::TopicNameStrategyWithSchema(
        "orders".to_string(),
        false,
        SuppliedSchema::new(Some("shop.Order".to_string()), SchemaType::Avro, V2_REQUIRED.to_string()),
    );
    let refused = AvroEncoder::new(SrSettings::new(server.url.clone()))
        .encode(
            vec![
                ("id", AvroValue::String("o-2".into())),
                ("amount", AvroValue::Long(1)),
                ("currency", AvroValue::String("EUR".into())),
            ],
            breaking,
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");

    server.stop().await;
}

#[tokio::test]
async fn basic_auth_refuses_every_request_without_the_credentials() {
    let topic = random_topic();
    let auth = shopstream_registry::BasicAuth { user: "sr-user".into(), password: "sr-pass-Zq81".into() };
    let server = start_with(&topic, Some(auth)).await;
    let c = Client::new();
    let (status, body) = get(&c, &format!("{}/subjects", server.url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let wrong = c.get(format!("{}/subjects", server.url)).basic_auth("sr-user", Some("guess")).send().await;
    assert_eq!(wrong.expect("answer").status(), StatusCode::UNAUTHORIZED);
    let right = c.get(format!("{}/subjects", server.url)).basic_auth("sr-user", Some("sr-pass-Zq81")).send().await;
    assert_eq!(right.expect("answer").status(), StatusCode::OK);

    // The converter with the credentials registers and encodes; without them it is refused.
    let strategy = || {
        SubjectNameStrategy::TopicNameStrategyWithSchema(
            "orders".to_string(),
            false,
            SuppliedSchema::new(Some("shop.Order".to_string()), SchemaType::Avro, V1.to_string()),
        )
    };
    let value = || vec![("id", AvroValue::String("o-1".into())), ("amount", AvroValue::Long(1))];
    let settings = SrSettings::new_builder(server.url.clone())
        .set_basic_authorization("sr-user", Some("sr-pass-Zq81"))
        .build()
        .expect("settings");
    AvroEncoder::new(settings).encode(value(), strategy()).await.expect("with credentials");
    let refused = AvroEncoder::new(SrSettings::new(server.url.clone())).encode(value(), strategy()).await;
    assert!(refused.is_err(), "{refused:?}");
    server.stop().await;
}

#[tokio::test]
async fn restart_on_the_same_topic_keeps_ids() {
    let topic = random_topic();
    let c = Client::new();
    let first = start(&topic).await;
    let a = register(&c, &first.url, "a-value", V1).await.1["id"].clone();
    let b = register(&c, &first.url, "b-value", CLICK).await.1["id"].clone();
    let a2 = register(&c, &first.url, "a-value", V2_OPTIONAL).await.1["id"].clone();
    assert_eq!(
        put(&c, &format!("{}/config/b-value", first.url), json!({"compatibility": "FULL"})).await.0,
        StatusCode::OK
    );
    assert_eq!(delete(&c, &format!("{}/subjects/a-value/versions/2", first.url)).await.0, StatusCode::OK);
    first.stop().await;

    let second = start(&topic).await;
    let base = second.url.clone();
    assert_eq!(get(&c, &format!("{base}/subjects/a-value/versions/1")).await.1["id"], a);
    assert_eq!(get(&c, &format!("{base}/subjects/b-value/versions/latest")).await.1["id"], b);
    assert_eq!(get(&c, &format!("{base}/subjects/a-value/versions")).await.1, json!([1]));
    assert_eq!(get(&c, &format!("{base}/config/b-value")).await.1, json!({"compatibilityLevel": "FULL"}));
    let a2_id = a2.as_u64().expect("an id");
    assert_eq!(get(&c, &format!("{base}/schemas/ids/{a2_id}")).await.1, json!({"schema": V2_OPTIONAL}));
    // Registering again after the restart gives the same ids, and a new schema the next one.
    assert_eq!(register(&c, &base, "a-value", V1).await.1["id"], a);
    assert_eq!(register(&c, &base, "c-value", CLICK).await.1["id"], b);
    let next = register(&c, &base, "d-value", r#"{"type":"string"}"#).await.1["id"].as_u64();
    assert_eq!(next, Some(a2_id + 1));
    second.stop().await;
}

#[tokio::test]
async fn two_instances_on_one_topic_agree() {
    let topic = random_topic();
    let c = Client::new();
    let one = start(&topic).await;
    let two = start(&topic).await;

    let id = register(&c, &one.url, "orders-value", V1).await.1["id"].clone();
    let seen = eventually("instance two to see orders-value", || {
        let c = c.clone();
        let url = format!("{}/subjects/orders-value/versions/latest", two.url);
        async move {
            let (status, body) = get(&c, &url).await;
            (status == StatusCode::OK).then_some(body)
        }
    })
    .await;
    assert_eq!(seen["id"], id);
    // The same schema through the other instance, under another subject: the same id.
    assert_eq!(register(&c, &two.url, "orders-copy", V1).await.1["id"], id);
    // A breaking change through the other instance is refused there too.
    assert_error(&register(&c, &two.url, "orders-value", V2_REQUIRED).await, 409, 409);

    // Concurrent registrations of different schemas through both instances get distinct ids
    // that both instances agree on.
    let schemas: Vec<String> = (0..6)
        .map(|i| format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"f","type":"int"}}]}}"#))
        .collect();
    let mut tasks = Vec::new();
    for (i, schema) in schemas.iter().enumerate() {
        let url = if i % 2 == 0 { one.url.clone() } else { two.url.clone() };
        let c = c.clone();
        let schema = schema.clone();
        tasks.push(tokio::spawn(async move { register(&c, &url, &format!("race-{i}"), &schema).await }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("the task ran");
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(body["id"].as_u64().expect("an id"));
    }
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    for (i, id) in ids.iter().enumerate() {
        for base in [&one.url, &two.url] {
            let url = format!("{base}/schemas/ids/{id}");
            let body = eventually("both instances to know every id", || {
                let c = c.clone();
                let url = url.clone();
                async move {
                    let (status, body) = get(&c, &url).await;
                    (status == StatusCode::OK).then_some(body)
                }
            })
            .await;
            assert_eq!(body, json!({"schema": schemas[i]}));
        }
    }

    // Concurrent conflicting registrations on one subject: each is BACKWARD compatible with v1
    // but not with the other, so the log order decides; the loser gets a 409 (from its pre-check
    // or, if both raced past it, from the check at apply time) and both instances agree.
    assert_eq!(register(&c, &one.url, "conflict", V1).await.0, StatusCode::OK);
    eventually("instance two to see conflict", || {
        let c = c.clone();
        let url = format!("{}/subjects/conflict/versions", two.url);
        async move { (get(&c, &url).await.0 == StatusCode::OK).then_some(()) }
    })
    .await;
    let nullable = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":["null","long"]}]}"#;
    let double = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"double"}]}"#;
    let (l, r) = tokio::join!(register(&c, &one.url, "conflict", nullable), register(&c, &two.url, "conflict", double));
    let winners: Vec<&(StatusCode, Value)> = [&l, &r].into_iter().filter(|x| x.0 == StatusCode::OK).collect();
    assert_eq!(winners.len(), 1, "exactly one should win: {l:?} {r:?}");
    let loser = if l.0 == StatusCode::OK { &r } else { &l };
    assert_error(loser, 409, 409);
    for base in [&one.url, &two.url] {
        let url = format!("{base}/subjects/conflict/versions/latest");
        let want = winners[0].1["id"].clone();
        eventually("both instances to agree on the winner", || {
            let c = c.clone();
            let url = url.clone();
            let want = want.clone();
            async move {
                let (_, body) = get(&c, &url).await;
                (body["version"] == json!(2) && body["id"] == want).then_some(())
            }
        })
        .await;
    }

    one.stop().await;
    two.stop().await;
}
