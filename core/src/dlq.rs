//! Dead letters: a record a stage cannot process goes to its stage's DLQ topic with the reason, the
//! error class and the original bytes, so nothing is silently dropped and counts reconcile.

use rdkafka::message::{BorrowedMessage, Message};
use shopstream_schemas::DeadLetter;

use crate::codec::Codec;
use crate::error::{ErrorClass, Result};
use crate::kafka::Producer;

/// How much of a refused dead letter's payload is kept (the reason says it was cut, and from how much).
pub const TRUNCATED_PAYLOAD_BYTES: usize = 64 * 1024;

/// The record being dead-lettered, copied out of the consumer's buffer.
#[derive(Debug, Clone)]
pub struct Origin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

impl Origin {
    pub fn of(msg: &BorrowedMessage<'_>) -> Origin {
        Origin {
            topic: msg.topic().to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key().map(<[u8]>::to_vec),
            payload: msg.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        }
    }
}

/// Why a record is dead-lettered.
#[derive(Debug, Clone)]
pub struct Failure {
    pub stage: &'static str,
    pub reason: String,
    pub class: ErrorClass,
    pub source: Option<String>,
    pub parser: Option<String>,
}

/// Send the dead letter; done when the broker acknowledged it.
pub async fn send(producer: &Producer, codec: &Codec, topic: &str, origin: &Origin, failure: Failure) -> Result<()> {
    tracing::warn!(
        stage = failure.stage,
        origin_topic = %origin.topic,
        partition = origin.partition,
        offset = origin.offset,
        reason = %failure.reason,
        "A record was dead-lettered."
    );
    let letter = DeadLetter {
        stage: failure.stage.to_string(),
        reason: failure.reason,
        error_kind: failure.class.as_str().to_string(),
        source: failure.source,
        parser: failure.parser,
        origin_topic: origin.topic.clone(),
        origin_partition: origin.partition,
        origin_offset: origin.offset,
        key: origin.key.clone(),
        payload: origin.payload.clone(),
        failed_at: crate::now_ms(),
    };
    let bytes = codec.encode(topic, &letter).await?;
    let key = origin.key.clone().unwrap_or_default();
    producer.send(topic, &key, &bytes).await?;
    Ok(())
}
