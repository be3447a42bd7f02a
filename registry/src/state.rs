//! The registry's state machine: the record format written to the `_schemas` topic and the pure,
//! deterministic function that applies records in log order. Every instance applying the same log
//! ends with the same ids, versions and configs. No I/O.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::compat::{self, ParsedSchema};
use crate::config::CompatibilityLevel;
use crate::error::RegistryError;

/// One mutation, the JSON value of one record in the topic (the record key is the subject, or
/// empty for global config). Tagged by `"op"`:
///
/// ```json
/// {"op":"register","subject":"orders-value","schema":"{...}","schema_type":"AVRO"}
/// {"op":"delete_subject","subject":"orders-value","permanent":false}
/// {"op":"delete_version","subject":"orders-value","version":2,"permanent":false}
/// {"op":"set_config","subject":null,"compatibility":"FULL"}
/// {"op":"delete_config","subject":"orders-value"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Record {
    /// Register `schema` under `subject` (checked against the subject's level when applied).
    Register {
        subject: String,
        schema: String,
        #[serde(default)]
        schema_type: Option<String>,
    },
    /// Soft delete (or, after a soft delete, permanently delete) every version of a subject.
    DeleteSubject { subject: String, permanent: bool },
    /// Soft delete (or, after a soft delete, permanently delete) one version.
    DeleteVersion { subject: String, version: u32, permanent: bool },
    /// Set the global (`subject: null`) or a subject's compatibility level.
    SetConfig { subject: Option<String>, compatibility: CompatibilityLevel },
    /// Remove the global override (back to the configured default) or a subject's level.
    DeleteConfig { subject: Option<String> },
}

impl Record {
    /// The Kafka record key: the subject, or empty for global settings.
    pub fn key(&self) -> &str {
        match self {
            Record::Register { subject, .. }
            | Record::DeleteSubject { subject, .. }
            | Record::DeleteVersion { subject, .. } => subject,
            Record::SetConfig { subject, .. } | Record::DeleteConfig { subject } => subject.as_deref().unwrap_or(""),
        }
    }
}

/// What applying a record did; the write handler answers from this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The schema's global id and its version in the subject (an existing one if it was already there).
    Registered { id: u32, version: u32 },
    /// The versions a subject delete removed.
    DeletedVersions(Vec<u32>),
    /// The version a version delete removed.
    DeletedVersion(u32),
    /// The level now set.
    ConfigSet(CompatibilityLevel),
    /// The level that was removed.
    ConfigDeleted(CompatibilityLevel),
}

/// The outcome of applying one record.
pub type Outcome = Result<Applied, RegistryError>;

/// A version of a subject, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectVersion {
    pub subject: String,
    pub id: u32,
    pub version: u32,
    pub schema: String,
}

/// A version as `latest`, `-1` or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(u32),
}

impl VersionSpec {
    /// Parses a path segment; anything but `latest`, `-1` or 1..=2^31-1 is a 42202.
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        if s.eq_ignore_ascii_case("latest") || s == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match s.parse::<u32>() {
            Ok(n) if n >= 1 && n <= i32::MAX as u32 => Ok(VersionSpec::Number(n)),
            _ => Err(RegistryError::InvalidVersion(s.to_string())),
        }
    }
}

#[derive(Debug, Clone)]
struct VersionEntry {
    version: u32,
    id: u32,
    deleted: bool,
}

/// The in-memory state rebuilt from the topic.
#[derive(Debug)]
pub struct State {
    default_level: CompatibilityLevel,
    global_level: Option<CompatibilityLevel>,
    subject_levels: BTreeMap<String, CompatibilityLevel>,
    schemas: BTreeMap<u32, ParsedSchema>,
    by_canonical: HashMap<String, u32>,
    /// Versions per subject, in increasing version order.
    subjects: BTreeMap<String, Vec<VersionEntry>>,
}

impl State {
    /// An empty state whose global level defaults to `default_level`.
    pub fn new(default_level: CompatibilityLevel) -> Self {
        State {
            default_level,
            global_level: None,
            subject_levels: BTreeMap::new(),
            schemas: BTreeMap::new(),
            by_canonical: HashMap::new(),
            subjects: BTreeMap::new(),
        }
    }

    /// Applies one record. Deterministic: it depends only on the state and the record, so every
    /// instance reading the same log computes the same outcome.
    pub fn apply(&mut self, record: Record) -> Outcome {
        match record {
            Record::Register { subject, schema, schema_type } => {
                check_schema_type(schema_type.as_deref())?;
                let parsed = compat::parse(&schema)?;
                self.apply_register(subject, parsed)
            }
            Record::DeleteSubject { subject, permanent } => {
                let versions = self.plan_delete_subject(&subject, permanent)?;
                if permanent {
                    self.subjects.remove(&subject);
                } else if let Some(entries) = self.subjects.get_mut(&subject) {
                    entries.iter_mut().for_each(|e| e.deleted = true);
                }
                Ok(Applied::DeletedVersions(versions))
            }
            Record::DeleteVersion { subject, version, permanent } => {
                self.plan_delete_version(&subject, version, permanent)?;
                if let Some(entries) = self.subjects.get_mut(&subject) {
                    if permanent {
                        entries.retain(|e| e.version != version);
                    } else {
                        entries.iter_mut().filter(|e| e.version == version).for_each(|e| e.deleted = true);
                    }
                    if entries.is_empty() {
                        self.subjects.remove(&subject);
                    }
                }
                Ok(Applied::DeletedVersion(version))
            }
            Record::SetConfig { subject, compatibility } => {
                match subject {
                    Some(subject) => {
                        self.subject_levels.insert(subject, compatibility);
                    }
                    None => self.global_level = Some(compatibility),
                }
                Ok(Applied::ConfigSet(compatibility))
            }
            Record::DeleteConfig { subject } => match subject {
                Some(subject) => self
                    .subject_levels
                    .remove(&subject)
                    .map(Applied::ConfigDeleted)
                    .ok_or(RegistryError::SubjectLevelCompatibilityNotConfigured(subject)),
                None => {
                    let previous = self.global_level();
                    self.global_level = None;
                    Ok(Applied::ConfigDeleted(previous))
                }
            },
        }
    }

    fn apply_register(&mut self, subject: String, parsed: ParsedSchema) -> Outcome {
        if let Some(existing) = self.find_in_subject(&subject, &parsed.canonical, false) {
            return Ok(Applied::Registered { id: existing.id, version: existing.version });
        }
        let messages = self.check_against_subject(&subject, &parsed)?;
        if !messages.is_empty() {
            return Err(RegistryError::IncompatibleSchema { subject, messages });
        }
        let id = match self.by_canonical.get(&parsed.canonical) {
            Some(id) => *id,
            None => {
                let id = self.schemas.keys().next_back().copied().unwrap_or(0) + 1;
                self.by_canonical.insert(parsed.canonical.clone(), id);
                self.schemas.insert(id, parsed);
                id
            }
        };
        let entries = self.subjects.entry(subject).or_default();
        let version = entries.last().map(|e| e.version).unwrap_or(0) + 1;
        entries.push(VersionEntry { version, id, deleted: false });
        Ok(Applied::Registered { id, version })
    }

    /// The compatibility problems of registering `parsed` under `subject` now (empty = fine).
    pub fn check_against_subject(&self, subject: &str, parsed: &ParsedSchema) -> Result<Vec<String>, RegistryError> {
        let existing = self.live_schemas(subject);
        Ok(compat::check(self.effective_level(subject), &parsed.schema, &existing))
    }

    /// The compatibility problems of `parsed` against one version, in the subject's level's
    /// direction (a single-version check is never transitive).
    pub fn check_against_version(
        &self,
        subject: &str,
        spec: VersionSpec,
        parsed: &ParsedSchema,
    ) -> Result<Vec<String>, RegistryError> {
        let found = self.version(subject, spec, false)?;
        let old = self.schemas.get(&found.id).ok_or_else(|| RegistryError::SchemaNotFound(found.id.to_string()))?;
        Ok(compat::check(
            self.effective_level(subject).non_transitive(),
            &parsed.schema,
            &[(found.version, &old.schema)],
        ))
    }

    fn live_schemas(&self, subject: &str) -> Vec<(u32, &apache_avro::Schema)> {
        self.subjects
            .get(subject)
            .into_iter()
            .flatten()
            .filter(|e| !e.deleted)
            .filter_map(|e| self.schemas.get(&e.id).map(|s| (e.version, &s.schema)))
            .collect()
    }

    fn find_in_subject(&self, subject: &str, canonical: &str, deleted: bool) -> Option<&VersionEntry> {
        let id = self.by_canonical.get(canonical)?;
        self.subjects.get(subject)?.iter().filter(|e| deleted || !e.deleted).find(|e| e.id == *id)
    }

    /// Checks a subject delete without applying it; returns the versions it would delete.
    pub fn plan_delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<u32>, RegistryError> {
        let entries = self
            .subjects
            .get(subject)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_string()))?;
        let all_deleted = entries.iter().all(|e| e.deleted);
        if permanent {
            if !all_deleted {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_string()));
            }
            Ok(entries.iter().map(|e| e.version).collect())
        } else {
            if all_deleted {
                return Err(RegistryError::SubjectSoftDeleted(subject.to_string()));
            }
            Ok(entries.iter().filter(|e| !e.deleted).map(|e| e.version).collect())
        }
    }

    /// Checks a version delete without applying it.
    pub fn plan_delete_version(&self, subject: &str, version: u32, permanent: bool) -> Result<(), RegistryError> {
        let entries = self
            .subjects
            .get(subject)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_string()))?;
        let entry = entries
            .iter()
            .find(|e| e.version == version)
            .ok_or_else(|| RegistryError::VersionNotFound(version.to_string()))?;
        match (permanent, entry.deleted) {
            (false, true) => Err(RegistryError::VersionSoftDeleted { subject: subject.to_string(), version }),
            (true, false) => Err(RegistryError::VersionNotSoftDeleted { subject: subject.to_string(), version }),
            _ => Ok(()),
        }
    }

    /// The global level: the last `PUT /config`, else the configured default.
    pub fn global_level(&self) -> CompatibilityLevel {
        self.global_level.unwrap_or(self.default_level)
    }

    /// The subject's own level, if it has one.
    pub fn subject_level(&self, subject: &str) -> Option<CompatibilityLevel> {
        self.subject_levels.get(subject).copied()
    }

    /// The level that applies to a subject.
    pub fn effective_level(&self, subject: &str) -> CompatibilityLevel {
        self.subject_level(subject).unwrap_or_else(|| self.global_level())
    }

    /// Subjects with at least one visible version (or any version, with `deleted`), sorted.
    pub fn subjects(&self, deleted: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, entries)| entries.iter().any(|e| deleted || !e.deleted))
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn visible_entries(&self, subject: &str, deleted: bool) -> Result<Vec<&VersionEntry>, RegistryError> {
        let entries: Vec<&VersionEntry> =
            self.subjects.get(subject).into_iter().flatten().filter(|e| deleted || !e.deleted).collect();
        if entries.is_empty() {
            Err(RegistryError::SubjectNotFound(subject.to_string()))
        } else {
            Ok(entries)
        }
    }

    /// A subject's version numbers, oldest first.
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<u32>, RegistryError> {
        Ok(self.visible_entries(subject, deleted)?.iter().map(|e| e.version).collect())
    }

    /// One version of a subject.
    pub fn version(&self, subject: &str, spec: VersionSpec, deleted: bool) -> Result<SubjectVersion, RegistryError> {
        let entries = self.visible_entries(subject, deleted)?;
        let entry = match spec {
            VersionSpec::Latest => entries.last().copied(),
            VersionSpec::Number(n) => entries.iter().find(|e| e.version == n).copied(),
        };
        let entry = entry.ok_or_else(|| {
            RegistryError::VersionNotFound(match spec {
                VersionSpec::Latest => "latest".to_string(),
                VersionSpec::Number(n) => n.to_string(),
            })
        })?;
        self.subject_version(subject, entry)
    }

    fn subject_version(&self, subject: &str, entry: &VersionEntry) -> Result<SubjectVersion, RegistryError> {
        let schema = self.schemas.get(&entry.id).ok_or_else(|| RegistryError::SchemaNotFound(entry.id.to_string()))?;
        Ok(SubjectVersion {
            subject: subject.to_string(),
            id: entry.id,
            version: entry.version,
            schema: schema.text.clone(),
        })
    }

    /// Finds `parsed` among a subject's versions: 40401 if the subject has none, 40403 if the
    /// schema is not one of them.
    pub fn lookup(&self, subject: &str, parsed: &ParsedSchema, deleted: bool) -> Result<SubjectVersion, RegistryError> {
        self.visible_entries(subject, deleted)?;
        let entry = self
            .find_in_subject(subject, &parsed.canonical, deleted)
            .ok_or_else(|| RegistryError::SchemaNotFound(format!("under subject '{subject}'")))?;
        self.subject_version(subject, entry)
    }

    /// The schema text for a global id (ids outlive deletes, as in Confluent).
    pub fn schema_by_id(&self, id: u32) -> Result<&ParsedSchema, RegistryError> {
        self.schemas.get(&id).ok_or_else(|| RegistryError::SchemaNotFound(id.to_string()))
    }

    /// Every (subject, version) that uses a global id.
    pub fn id_versions(&self, id: u32, deleted: bool) -> Result<Vec<(String, u32)>, RegistryError> {
        self.schema_by_id(id)?;
        Ok(self
            .subjects
            .iter()
            .flat_map(|(s, entries)| {
                entries
                    .iter()
                    .filter(move |e| e.id == id && (deleted || !e.deleted))
                    .map(move |e| (s.clone(), e.version))
            })
            .collect())
    }
}

/// Only Avro is supported; Confluent omits `schemaType` for Avro.
pub fn check_schema_type(schema_type: Option<&str>) -> Result<(), RegistryError> {
    match schema_type {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("AVRO") => Ok(()),
        Some(t) => Err(RegistryError::InvalidSchema(format!("schema type {t} is not supported; only AVRO is"))),
    }
}

impl CompatibilityLevel {
    /// The same direction, against one version only.
    pub fn non_transitive(self) -> CompatibilityLevel {
        match self {
            CompatibilityLevel::BackwardTransitive => CompatibilityLevel::Backward,
            CompatibilityLevel::ForwardTransitive => CompatibilityLevel::Forward,
            CompatibilityLevel::FullTransitive => CompatibilityLevel::Full,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::tests::{V1, V2_OPTIONAL, V2_REQUIRED};

    const OTHER: &str = r#"{"type":"record","name":"Click","fields":[{"name":"url","type":"string"}]}"#;

    fn register(subject: &str, schema: &str) -> Record {
        Record::Register { subject: subject.into(), schema: schema.into(), schema_type: None }
    }

    fn code(outcome: Outcome) -> Option<u32> {
        outcome.err().map(|e| e.error_code())
    }

    fn parsed(text: &str) -> ParsedSchema {
        match compat::parse(text) {
            Ok(p) => p,
            Err(e) => panic!("test schema should parse: {e}"),
        }
    }

    #[test]
    fn records_round_trip_as_documented_json() {
        let records = [
            register("s", V1),
            Record::DeleteSubject { subject: "s".into(), permanent: false },
            Record::DeleteVersion { subject: "s".into(), version: 2, permanent: true },
            Record::SetConfig { subject: None, compatibility: CompatibilityLevel::Full },
            Record::DeleteConfig { subject: Some("s".into()) },
        ];
        for record in records {
            let json = serde_json::to_string(&record).unwrap_or_default();
            let back: Option<Record> = serde_json::from_str(&json).ok();
            assert_eq!(back.as_ref(), Some(&record), "{json}");
        }
        let parsed: Option<Record> =
            serde_json::from_str(r#"{"op":"set_config","subject":null,"compatibility":"FULL"}"#).ok();
        assert_eq!(parsed, Some(Record::SetConfig { subject: None, compatibility: CompatibilityLevel::Full }));
        assert_eq!(Record::SetConfig { subject: None, compatibility: CompatibilityLevel::Full }.key(), "");
        assert_eq!(register("orders-value", V1).key(), "orders-value");
    }

    #[test]
    fn ids_are_global_and_versions_per_subject() {
        let mut state = State::new(CompatibilityLevel::Backward);
        assert_eq!(state.apply(register("a", V1)).ok(), Some(Applied::Registered { id: 1, version: 1 }));
        // The same schema again, even re-formatted: same id, no new version.
        let reformatted = V1.replace(',', " , ");
        assert_eq!(state.apply(register("a", &reformatted)).ok(), Some(Applied::Registered { id: 1, version: 1 }));
        // The same schema under another subject: same global id, version 1 there.
        assert_eq!(state.apply(register("b", V1)).ok(), Some(Applied::Registered { id: 1, version: 1 }));
        assert_eq!(state.apply(register("a", V2_OPTIONAL)).ok(), Some(Applied::Registered { id: 2, version: 2 }));
        assert_eq!(state.apply(register("c", OTHER)).ok(), Some(Applied::Registered { id: 3, version: 1 }));
        assert_eq!(state.versions("a", false).ok(), Some(vec![1, 2]));
        assert_eq!(state.subjects(false), vec!["a", "b", "c"]);
        assert_eq!(state.id_versions(1, false).ok(), Some(vec![("a".into(), 1), ("b".into(), 1)]));
        let latest = state.version("a", VersionSpec::Latest, false).ok();
        assert_eq!(latest.map(|v| (v.id, v.version, v.schema)), Some((2, 2, V2_OPTIONAL.to_string())));
        let found = state.lookup("a", &parsed(V1), false).ok().map(|v| (v.id, v.version));
        assert_eq!(found, Some((1, 1)));
        assert_eq!(state.lookup("a", &parsed(OTHER), false).err().map(|e| e.error_code()), Some(40403));
        assert_eq!(state.lookup("zzz", &parsed(OTHER), false).err().map(|e| e.error_code()), Some(40401));
        assert_eq!(state.version("a", VersionSpec::Number(9), false).err().map(|e| e.error_code()), Some(40402));
        assert_eq!(state.schema_by_id(42).err().map(|e| e.error_code()), Some(40403));
    }

    #[test]
    fn incompatible_registration_changes_nothing() {
        let mut state = State::new(CompatibilityLevel::Backward);
        assert!(state.apply(register("a", V1)).is_ok());
        let err = state.apply(register("a", V2_REQUIRED)).err();
        assert_eq!(err.as_ref().map(|e| e.error_code()), Some(409));
        assert_eq!(err.map(|e| e.http_status()), Some(409));
        assert_eq!(state.versions("a", false).ok(), Some(vec![1]));
        // The next new schema still gets id 2: a rejected schema consumes no id.
        assert_eq!(state.apply(register("a", V2_OPTIONAL)).ok(), Some(Applied::Registered { id: 2, version: 2 }));
        // With NONE for the subject, the breaking change goes through.
        let set = Record::SetConfig { subject: Some("a".into()), compatibility: CompatibilityLevel::None };
        assert!(state.apply(set).is_ok());
        assert_eq!(state.apply(register("a", V2_REQUIRED)).ok(), Some(Applied::Registered { id: 3, version: 3 }));
        assert_eq!(code(state.apply(register("a", "{not avro"))), Some(42201));
        let protobuf =
            Record::Register { subject: "a".into(), schema: V1.into(), schema_type: Some("PROTOBUF".into()) };
        assert_eq!(code(state.apply(protobuf)), Some(42201));
    }

    #[test]
    fn replaying_the_same_log_gives_the_same_state() {
        let log = vec![
            register("a", V1),
            register("b", OTHER),
            register("a", V2_REQUIRED), // rejected
            register("a", V2_OPTIONAL),
            Record::DeleteVersion { subject: "a".into(), version: 2, permanent: false },
            register("c", V2_OPTIONAL),
        ];
        let run = |log: &[Record]| {
            let mut state = State::new(CompatibilityLevel::Backward);
            let outcomes: Vec<String> = log.iter().map(|r| format!("{:?}", state.apply(r.clone()))).collect();
            (outcomes, state.subjects(true), state.id_versions(3, true).ok())
        };
        assert_eq!(run(&log), run(&log));
        let (outcomes, _, versions) = run(&log);
        assert!(outcomes[5].contains("id: 3"), "{outcomes:?}");
        assert_eq!(versions, Some(vec![("a".into(), 2), ("c".into(), 1)]));
    }

    #[test]
    fn soft_then_permanent_delete_follows_confluent() {
        let mut state = State::new(CompatibilityLevel::None);
        assert!(state.apply(register("a", V1)).is_ok());
        assert!(state.apply(register("a", V2_OPTIONAL)).is_ok());
        let hard_first = Record::DeleteVersion { subject: "a".into(), version: 1, permanent: true };
        assert_eq!(code(state.apply(hard_first.clone())), Some(40407));
        let soft = Record::DeleteVersion { subject: "a".into(), version: 1, permanent: false };
        assert_eq!(state.apply(soft.clone()).ok(), Some(Applied::DeletedVersion(1)));
        assert_eq!(code(state.apply(soft)), Some(40406));
        assert_eq!(state.versions("a", false).ok(), Some(vec![2]));
        assert_eq!(state.versions("a", true).ok(), Some(vec![1, 2]));
        assert_eq!(
            code(state.version("a", VersionSpec::Number(1), false).map(|_| Applied::DeletedVersion(0))),
            Some(40402)
        );
        assert!(state.version("a", VersionSpec::Number(1), true).is_ok());
        // Ids survive deletes.
        assert!(state.schema_by_id(1).is_ok());
        assert_eq!(state.apply(hard_first).ok(), Some(Applied::DeletedVersion(1)));
        assert_eq!(state.versions("a", true).ok(), Some(vec![2]));

        let hard_subject = Record::DeleteSubject { subject: "a".into(), permanent: true };
        assert_eq!(code(state.apply(hard_subject.clone())), Some(40405));
        let soft_subject = Record::DeleteSubject { subject: "a".into(), permanent: false };
        assert_eq!(state.apply(soft_subject.clone()).ok(), Some(Applied::DeletedVersions(vec![2])));
        assert_eq!(code(state.apply(soft_subject)), Some(40404));
        assert!(state.subjects(false).is_empty());
        assert_eq!(state.subjects(true), vec!["a"]);
        assert_eq!(code(state.versions("a", false).map(|_| Applied::DeletedVersion(0))), Some(40401));
        assert_eq!(state.apply(hard_subject.clone()).ok(), Some(Applied::DeletedVersions(vec![2])));
        assert!(state.subjects(true).is_empty());
        assert_eq!(code(state.apply(hard_subject)), Some(40401));
        // Re-registering after a permanent delete reuses the global id.
        assert_eq!(state.apply(register("a", V1)).ok(), Some(Applied::Registered { id: 1, version: 1 }));
    }

    #[test]
    fn registering_after_soft_delete_checks_only_live_versions() {
        let mut state = State::new(CompatibilityLevel::Backward);
        assert!(state.apply(register("a", V1)).is_ok());
        assert!(state.apply(Record::DeleteSubject { subject: "a".into(), permanent: false }).is_ok());
        // No live version, so nothing to be incompatible with; numbering continues.
        assert_eq!(state.apply(register("a", V2_REQUIRED)).ok(), Some(Applied::Registered { id: 2, version: 2 }));
    }

    #[test]
    fn config_levels_resolve_subject_then_global_then_default() {
        let mut state = State::new(CompatibilityLevel::Backward);
        assert_eq!(state.effective_level("a"), CompatibilityLevel::Backward);
        let global = Record::SetConfig { subject: None, compatibility: CompatibilityLevel::Full };
        assert_eq!(state.apply(global).ok(), Some(Applied::ConfigSet(CompatibilityLevel::Full)));
        assert_eq!(state.effective_level("a"), CompatibilityLevel::Full);
        let subject = Record::SetConfig { subject: Some("a".into()), compatibility: CompatibilityLevel::Forward };
        assert!(state.apply(subject).is_ok());
        assert_eq!(state.effective_level("a"), CompatibilityLevel::Forward);
        assert_eq!(state.subject_level("b"), None);
        let delete = Record::DeleteConfig { subject: Some("a".into()) };
        assert_eq!(state.apply(delete.clone()).ok(), Some(Applied::ConfigDeleted(CompatibilityLevel::Forward)));
        assert_eq!(code(state.apply(delete)), Some(40408));
        assert_eq!(
            state.apply(Record::DeleteConfig { subject: None }).ok(),
            Some(Applied::ConfigDeleted(CompatibilityLevel::Full))
        );
        assert_eq!(state.global_level(), CompatibilityLevel::Backward);
    }

    #[test]
    fn single_version_check_uses_the_levels_direction() {
        let mut state = State::new(CompatibilityLevel::BackwardTransitive);
        assert!(state.apply(register("a", V1)).is_ok());
        let bad = state.check_against_version("a", VersionSpec::Latest, &parsed(V2_REQUIRED)).ok();
        assert_eq!(bad.map(|m| m.len()), Some(1));
        let good = state.check_against_version("a", VersionSpec::Number(1), &parsed(V2_OPTIONAL)).ok();
        assert_eq!(good, Some(vec![]));
        let missing = state.check_against_version("a", VersionSpec::Number(5), &parsed(V1)).err();
        assert_eq!(missing.map(|e| e.error_code()), Some(40402));
    }

    #[test]
    fn version_specs_parse_like_confluent() {
        assert_eq!(VersionSpec::parse("latest").ok(), Some(VersionSpec::Latest));
        assert_eq!(VersionSpec::parse("-1").ok(), Some(VersionSpec::Latest));
        assert_eq!(VersionSpec::parse("3").ok(), Some(VersionSpec::Number(3)));
        for bad in ["0", "-2", "x", "4294967295", ""] {
            assert_eq!(VersionSpec::parse(bad).err().map(|e| e.error_code()), Some(42202), "{bad}");
        }
    }
}
