//! Schema evolution through the real registry: a new optional field is BACKWARD compatible (the current
//! reader reads data written with the new schema), and a breaking change is refused by the registry
//! before anything is produced.

mod common;

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use schema_registry_converter::async_impl::avro::AvroEncoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::{SchemaType, SubjectNameStrategy, SuppliedSchema};
use shopstream_core::Codec;
use shopstream_schemas::{Contract, PriceObserved};

/// A record written with a newer schema: the current fields plus new ones.
#[derive(serde::Serialize, Clone)]
struct Newer {
    #[serde(flatten)]
    base: PriceObserved,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_price_minor: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warehouse: Option<String>,
}

fn example() -> PriceObserved {
    let text = include_str!("../schemas/examples/price_observed.json");
    serde_json::from_str(text).expect("example")
}

/// The current schema with one more field.
fn with_field(field: serde_json::Value) -> String {
    let mut schema: serde_json::Value = serde_json::from_str(PriceObserved::SCHEMA).expect("schema json");
    schema["fields"].as_array_mut().expect("fields").push(field);
    schema.to_string()
}

/// Encode `value` with `schema` through the registry (auto-registering it under `<topic>-value`),
/// then produce it: the path every stage takes. Nothing is produced if the registry refuses.
async fn encode_and_produce(env: &common::TestEnv, topic: &str, schema: &str, value: &Newer) -> Result<(), String> {
    let encoder = AvroEncoder::new(SrSettings::new(env.registry.clone()));
    let supplied = SuppliedSchema::new(Some(PriceObserved::NAME.to_string()), SchemaType::Avro, schema.to_string());
    let strategy = SubjectNameStrategy::TopicNameStrategyWithSchema(topic.to_string(), false, supplied);
    let bytes = encoder.encode_struct(value, &strategy).await.map_err(|e| e.to_string())?;
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", &env.brokers).create().map_err(|e| e.to_string())?;
    producer
        .send(FutureRecord::to(topic).key("k").payload(&bytes), Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e.to_string())?;
    Ok(())
}

#[test]
fn an_optional_field_is_backward_compatible_and_a_breaking_change_is_refused_before_producing() {
    let env = common::TestEnv::new("evolve", "[sources]\n");
    let topic = format!("{}events.prices", env.topic_prefix());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        shopstream_core::kafka::ensure_topics(&env.brokers, &[topic.as_str()], 1).await.expect("topic");
        let codec = Codec::new(&env.registry);
        let producer = shopstream_core::kafka::Producer::new(&env.brokers).expect("producer");

        // v1: what the pipeline writes today.
        let v1 = codec.encode(&topic, &example()).await.expect("v1 registers");
        producer.send(&topic, b"k", &v1).await.expect("produce v1");

        // v2: one optional field with a default. Registered under BACKWARD, and the current reader
        // (the Rust type of v1) reads v2 data.
        let v2_schema =
            with_field(serde_json::json!({"name": "unit_price_minor", "type": ["null", "long"], "default": null}));
        let v2_value = Newer { base: example(), unit_price_minor: Some(42), warehouse: None };
        encode_and_produce(&env, &topic, &v2_schema, &v2_value).await.expect("v2 is accepted");
        let versions = common::reqwest::blocking_get_json(&format!("{}/subjects/{topic}-value/versions", env.registry));
        assert_eq!(versions, serde_json::json!([1, 2]), "v2 is a new version of the subject");

        // Read back with the pipeline's codec: the old reader reads new data.
        let size_before = shopstream_core::kafka::topic_size(&env.brokers, &topic).expect("size");
        assert_eq!(size_before, 2);
        let v2_bytes = {
            let encoder = AvroEncoder::new(SrSettings::new(env.registry.clone()));
            let supplied =
                SuppliedSchema::new(Some(PriceObserved::NAME.to_string()), SchemaType::Avro, v2_schema.clone());
            encoder
                .encode_struct(
                    &v2_value,
                    &SubjectNameStrategy::TopicNameStrategyWithSchema(topic.clone(), false, supplied),
                )
                .await
                .expect("encode v2")
        };
        let old_reader: PriceObserved = codec.decode(&v2_bytes).await.expect("the v1 reader decodes v2 data");
        assert_eq!(old_reader, example());

        // v3: a required field without a default breaks BACKWARD: the registry refuses it and nothing
        // reaches the topic.
        let v3_schema = with_field(serde_json::json!({"name": "warehouse", "type": "string"}));
        let v3_value = Newer { warehouse: Some("ICN-1".into()), ..v2_value.clone() };
        let err = encode_and_produce(&env, &topic, &v3_schema, &v3_value).await.expect_err("v3 must be refused");
        assert!(err.to_lowercase().contains("409") || err.to_lowercase().contains("incompatible"), "{err}");
        assert_eq!(
            shopstream_core::kafka::topic_size(&env.brokers, &topic).expect("size"),
            size_before,
            "nothing was produced"
        );
        let versions = common::reqwest::blocking_get_json(&format!("{}/subjects/{topic}-value/versions", env.registry));
        assert_eq!(versions, serde_json::json!([1, 2]), "no version was added");
    });
}

/// A small contract in two versions: v2 adds a field with a default.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
struct TinyV1 {
    sku: String,
}

impl Contract for TinyV1 {
    const SCHEMA: &'static str =
        r#"{"type":"record","name":"Tiny","namespace":"io.shopstream.test","fields":[{"name":"sku","type":"string"}]}"#;
    const NAME: &'static str = "io.shopstream.test.Tiny";
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
struct TinyV2 {
    sku: String,
    pack_size: i64,
}

impl Contract for TinyV2 {
    const SCHEMA: &'static str = r#"{"type":"record","name":"Tiny","namespace":"io.shopstream.test","fields":[{"name":"sku","type":"string"},{"name":"pack_size","type":"long","default":1}]}"#;
    const NAME: &'static str = "io.shopstream.test.Tiny";
}

#[test]
fn a_new_reader_reads_old_events_with_the_defaults_of_its_new_fields() {
    // What a replay through a new build does: events written with v1 are read by the v2 type.
    let env = common::TestEnv::new("reader", "[sources]\n");
    let topic = format!("{}events.tiny", env.topic_prefix());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        // The old build and the new build, each with its own codec (a codec caches its subject's schema).
        let old_build = Codec::new(&env.registry);
        let new_build = Codec::new(&env.registry);
        let old = old_build.encode(&topic, &TinyV1 { sku: "A-1".into() }).await.expect("v1 registers");
        // v2 is BACKWARD compatible: the registry takes it as the subject's next version.
        let new = new_build.encode(&topic, &TinyV2 { sku: "B-2".into(), pack_size: 6 }).await.expect("v2 registers");
        let codec = Codec::new(&env.registry);
        let read_old: TinyV2 = codec.decode(&old).await.expect("the v2 reader reads v1 data");
        assert_eq!(read_old, TinyV2 { sku: "A-1".into(), pack_size: 1 }, "the default fills the new field");
        let read_new: TinyV2 = codec.decode(&new).await.expect("v2 data");
        assert_eq!(read_new.pack_size, 6);
        // And the v1 reader still reads v2 data (the field it does not know is dropped).
        let v1_reads_v2: TinyV1 = codec.decode(&new).await.expect("v1 reads v2");
        assert_eq!(v1_reads_v2.sku, "B-2");
    });
}
