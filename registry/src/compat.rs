//! Parsing Avro schemas into their identity key, and Confluent's compatibility rules on top of
//! apache-avro's schema resolution check. Pure functions; no I/O.

use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::Schema;

use crate::config::CompatibilityLevel;
use crate::error::RegistryError;

/// A schema as submitted, with its parsed form and the key that decides whether two schemas are
/// "the same schema" (and so share a global id).
#[derive(Debug, Clone)]
pub struct ParsedSchema {
    /// The text as first submitted; what the API returns.
    pub text: String,
    /// The parsed schema.
    pub schema: Schema,
    /// apache-avro's normalized JSON of the parsed schema: insensitive to whitespace, key order and
    /// namespace spelling, but (like Confluent's canonical string, unlike Avro's Parsing Canonical
    /// Form) it keeps defaults, docs and aliases, since a changed default is a different schema.
    pub canonical: String,
}

/// Parses an Avro schema; anything unparseable is a 42201.
pub fn parse(text: &str) -> Result<ParsedSchema, RegistryError> {
    let schema = Schema::parse_str(text).map_err(|e| RegistryError::InvalidSchema(e.to_string()))?;
    let canonical = serde_json::to_string(&schema).unwrap_or_else(|_| schema.canonical_form());
    Ok(ParsedSchema { text: text.to_string(), schema, canonical })
}

/// Whether a reader with `reader` can fully read data written with `writer`; `None` if so,
/// otherwise why not. A partial match (e.g. a reader enum missing some writer symbols without a
/// default, a union covering only some writer branches) counts as incompatible, as in Confluent.
pub fn can_read(writer: &Schema, reader: &Schema) -> Option<String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => None,
        Ok(Compatibility::Partial) => {
            Some("only part of the writer's values can be read (enum symbols or union branches missing)".to_string())
        }
        Err(e) => Some(e.to_string()),
    }
}

/// Checks `new` against `existing` (oldest first) under `level`; the messages say what breaks,
/// and an empty list means compatible. Non-transitive levels look only at the last schema.
pub fn check(level: CompatibilityLevel, new: &Schema, existing: &[(u32, &Schema)]) -> Vec<String> {
    if level == CompatibilityLevel::None {
        return Vec::new();
    }
    let against: &[(u32, &Schema)] = if level.is_transitive() {
        existing
    } else {
        match existing.split_last() {
            Some((last, _)) => std::slice::from_ref(last),
            None => &[],
        }
    };
    let mut messages = Vec::new();
    for (version, old) in against {
        if level.checks_backward() {
            if let Some(why) = can_read(old, new) {
                messages
                    .push(format!("{level}: the new schema cannot read data written with version {version}: {why}"));
            }
        }
        if level.checks_forward() {
            if let Some(why) = can_read(new, old) {
                messages
                    .push(format!("{level}: version {version} cannot read data written with the new schema: {why}"));
            }
        }
    }
    messages
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const V1: &str =
        r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"}]}"#;
    /// V1 plus an optional field with a default: backward and forward compatible.
    pub(crate) const V2_OPTIONAL: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"note","type":["null","string"],"default":null}]}"#;
    /// V1 plus a required field: new readers cannot read old data.
    pub(crate) const V2_REQUIRED: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"}]}"#;

    fn p(text: &str) -> Schema {
        match parse(text) {
            Ok(parsed) => parsed.schema,
            Err(e) => panic!("test schema should parse: {e}"),
        }
    }

    #[test]
    fn invalid_avro_is_42201() {
        for bad in ["{", r#"{"type":"record","name":"X"}"#, r#"{"type":"nope"}"#, "not json"] {
            let code = parse(bad).err().map(|e| e.error_code());
            assert_eq!(code, Some(42201), "{bad}");
        }
    }

    #[test]
    fn canonical_ignores_whitespace_order_and_namespace_spelling() {
        let a = parse(V1).map(|s| s.canonical).ok();
        let b = parse(
            r#"{ "fields": [ {"type": "string", "name": "id"} ],
                 "name": "shop.Order", "type": "record" }"#,
        )
        .map(|s| s.canonical)
        .ok();
        assert!(a.is_some());
        assert_eq!(a, b);
        // A different default is a different schema.
        let c = parse(r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string","default":"x"}]}"#)
            .map(|s| s.canonical)
            .ok();
        assert_ne!(a, c);
    }

    #[test]
    fn backward_rejects_required_field_and_accepts_optional_with_default() {
        let v1 = p(V1);
        assert!(check(CompatibilityLevel::Backward, &p(V2_OPTIONAL), &[(1, &v1)]).is_empty());
        let messages = check(CompatibilityLevel::Backward, &p(V2_REQUIRED), &[(1, &v1)]);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("version 1"), "{messages:?}");
        // Forward: old readers ignore the new field, so adding a required field is fine.
        assert!(check(CompatibilityLevel::Forward, &p(V2_REQUIRED), &[(1, &v1)]).is_empty());
        assert!(!check(CompatibilityLevel::Full, &p(V2_REQUIRED), &[(1, &v1)]).is_empty());
        assert!(check(CompatibilityLevel::None, &p(V2_REQUIRED), &[(1, &v1)]).is_empty());
    }

    #[test]
    fn removing_a_field_without_default_breaks_forward_only() {
        let v2 = p(V2_REQUIRED);
        let v1 = p(V1);
        assert!(check(CompatibilityLevel::Backward, &v1, &[(1, &v2)]).is_empty());
        assert!(!check(CompatibilityLevel::Forward, &v1, &[(1, &v2)]).is_empty());
    }

    #[test]
    fn transitive_levels_check_every_version_others_only_the_latest() {
        // v1: {id}; v2: {id, qty default 0}; v3: {id, qty} without default. v3 reads v2 data but not v1's.
        let v1 = p(V1);
        let v2 = p(
            r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int","default":0}]}"#,
        );
        let v3 = p(V2_REQUIRED);
        let existing = [(1, &v1), (2, &v2)];
        assert!(check(CompatibilityLevel::Backward, &v3, &existing).is_empty());
        let messages = check(CompatibilityLevel::BackwardTransitive, &v3, &existing);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("version 1"));
        assert!(check(CompatibilityLevel::BackwardTransitive, &v3, &[]).is_empty());
    }

    #[test]
    fn type_changes_and_partial_enums_are_incompatible() {
        let int_field = p(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
        let long_field = p(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}"#);
        let str_field = p(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#);
        // int promotes to long, not back.
        assert!(can_read(&int_field, &long_field).is_none());
        assert!(can_read(&long_field, &int_field).is_some());
        assert!(can_read(&int_field, &str_field).is_some());
        let abc = p(r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#);
        let ab = p(r#"{"type":"enum","name":"E","symbols":["A","B"]}"#);
        assert!(can_read(&ab, &abc).is_none());
        assert!(can_read(&abc, &ab).is_some());
    }
}
