//! Scenario fields addressed by dotted paths: what `sweep --set`, the viewer's what-if
//! panel and a templated line's `set` table write.
//!
//! A path walks the scenario's TOML: table keys by name, and arrays of tables (`lines`,
//! `stations`, `buffers`, `vehicles`, …) by an entry's `name` or by its index, so
//! `lines.L1.buffers.rinse-fill.capacity` is the capacity of buffer `rinse-fill` on line
//! `L1`. Fields the file leaves out but the format knows (`run.warmup`) may be set; the
//! scenario's JSON Schema says which fields exist, so a misspelt path fails at once with
//! the fields it could have meant. `fleet.size` is the vehicle count of a fleet with one
//! vehicle type. A field set where the document says the same thing another way replaces
//! that way (`capacity` replaces `accumulation`, `speed` replaces `processing_time`).

use super::check::{Seg, i, k};
use serde_json::Value as Json;
use std::sync::OnceLock;
use toml::Value;

/// Sets the scenario field at the dotted `path` in the scenario document `doc` to
/// `value`; the error says, in words, why the path names no field.
pub fn set_field(doc: &mut toml::Table, path: &str, value: &Value) -> Result<(), String> {
    let segments = expand_alias(doc, path)?;
    let fields = FieldMap::scenario();
    set_in_table(doc, Some(&fields.root), fields, &segments, value).map(|_| ())
}

/// Sets the field at the dotted `path` of a line (`stations.filler.speed`) in the line's
/// table `line`; returns the path it walked, with array entries as indices.
pub(crate) fn set_line_field(
    line: &mut toml::Table,
    path: &str,
    value: &Value,
) -> Result<Vec<Seg>, String> {
    let segments = split(path)?;
    let fields = FieldMap::scenario();
    let schema = fields.root.get("$defs").and_then(|d| d.get("LineFile"));
    set_in_table(line, schema, fields, &segments, value)
}

/// The field names of a dotted `path`; the error says why it is not one.
pub fn split(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(
            "a path is field names joined by dots, e.g. lines.L1.buffers.B2.capacity".into(),
        );
    }
    Ok(path.split('.').map(str::to_string).collect())
}

/// The scenario format's JSON Schema, the map of which fields exist.
struct FieldMap {
    root: Json,
}

impl FieldMap {
    /// The field map of the scenario format, built once.
    fn scenario() -> &'static Self {
        static MAP: OnceLock<FieldMap> = OnceLock::new();
        MAP.get_or_init(|| FieldMap {
            root: serde_json::from_str(&super::json_schema()).expect("the scenario schema is JSON"),
        })
    }

    fn resolve<'a>(&'a self, mut node: &'a Json) -> &'a Json {
        while let Some(r) = node.get("$ref").and_then(Json::as_str) {
            let name = r.rsplit('/').next().unwrap_or_default();
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    fn alternatives<'a>(&'a self, node: &'a Json) -> Vec<&'a Json> {
        let node = self.resolve(node);
        let mut out = vec![node];
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(alts) = node.get(key).and_then(Json::as_array) {
                for a in alts {
                    out.extend(self.alternatives(a));
                }
            }
        }
        out
    }

    /// The fields an object at `node` may have; `None` when the schema does not say.
    fn properties<'a>(&'a self, node: &'a Json) -> Option<Vec<(&'a String, &'a Json)>> {
        let mut found: Option<Vec<(&String, &Json)>> = None;
        for alt in self.alternatives(node) {
            if let Some(p) = alt.get("properties").and_then(Json::as_object) {
                found.get_or_insert_with(Vec::new).extend(p.iter());
            }
        }
        found
    }

    fn items<'a>(&'a self, node: &'a Json) -> Option<&'a Json> {
        self.alternatives(node)
            .into_iter()
            .find_map(|a| a.get("items"))
    }
}

/// Sets `segments` below the table `table`, whose schema is `schema`; returns the walked
/// path.
fn set_in_table(
    table: &mut toml::Table,
    schema: Option<&Json>,
    fields: &FieldMap,
    segments: &[String],
    value: &Value,
) -> Result<Vec<Seg>, String> {
    let mut root = Value::Table(std::mem::take(table));
    let mut walked = Vec::new();
    let result = set_in(&mut root, schema, fields, segments, "", &mut walked, value);
    if let Value::Table(t) = root {
        *table = t;
    }
    result.map(|()| walked)
}

/// Sets `segments` below `node`, whose schema is `schema` and whose own path is `shown`;
/// pushes each step taken onto `walked`.
fn set_in(
    node: &mut Value,
    schema: Option<&Json>,
    fields: &FieldMap,
    segments: &[String],
    shown: &str,
    walked: &mut Vec<Seg>,
    value: &Value,
) -> Result<(), String> {
    let seg = &segments[0];
    let last = segments.len() == 1;
    let joined = if shown.is_empty() {
        seg.clone()
    } else {
        format!("{shown}.{seg}")
    };
    match node {
        Value::Table(table) => {
            let child = match schema.and_then(|s| fields.properties(s)) {
                Some(props) => match props.iter().find(|(k, _)| *k == seg) {
                    Some((_, s)) => Some(*s),
                    None => {
                        let mut known: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
                        known.sort_unstable();
                        known.dedup();
                        let owner = if shown.is_empty() {
                            "the scenario".to_string()
                        } else {
                            format!("`{shown}`")
                        };
                        return Err(format!(
                            "{owner} has no field `{seg}` (its fields: {})",
                            known.join(", ")
                        ));
                    }
                },
                None => None,
            };
            walked.push(k(seg));
            if last {
                for other in replaced_by(seg) {
                    table.remove(*other);
                }
                table.insert(seg.clone(), value.clone());
                return Ok(());
            }
            if !table.contains_key(seg.as_str()) {
                if child.and_then(|s| fields.items(s)).is_some() {
                    return Err(format!("the scenario has no `{joined}` entries"));
                }
                table.insert(seg.clone(), Value::Table(toml::Table::new()));
            }
            let next = table
                .get_mut(seg.as_str())
                .expect("present or just inserted");
            set_in(next, child, fields, &segments[1..], &joined, walked, value)
        }
        Value::Array(entries) => {
            let names: Vec<String> = entries
                .iter()
                .enumerate()
                .map(|(i, e)| entry_name(e).unwrap_or_else(|| i.to_string()))
                .collect();
            let index = names
                .iter()
                .position(|n| n == seg)
                .or_else(|| seg.parse::<usize>().ok().filter(|&i| i < entries.len()))
                .ok_or_else(|| {
                    format!(
                        "no `{shown}` entry named `{seg}` (there are: {})",
                        names.join(", ")
                    )
                })?;
            walked.push(i(index));
            if last {
                entries[index] = value.clone();
                return Ok(());
            }
            let child = schema.and_then(|s| fields.items(s));
            set_in(
                &mut entries[index],
                child,
                fields,
                &segments[1..],
                &joined,
                walked,
                value,
            )
        }
        other => Err(format!(
            "`{shown}` is a value ({}), not a table with fields",
            describe(other)
        )),
    }
}

/// Fields that say one thing in different ways: each group's sides exclude each other.
const ALTERNATIVES: &[&[&[&str]]] = &[
    &[&["speed"], &["processing_time"]],
    &[&["capacity"], &["accumulation"]],
    &[&["transport_time"], &["length_m", "speed_m_per_s"]],
    &[&["quantity"], &["duration"]],
];

/// The fields a value set at `field` replaces: the other ways of saying it, so that
/// setting a buffer's `capacity` where its template gave `accumulation` is a change, not
/// a contradiction.
fn replaced_by(field: &str) -> impl Iterator<Item = &'static &'static str> {
    ALTERNATIVES
        .iter()
        .filter(move |group| group.iter().any(|side| side.contains(&field)))
        .flat_map(move |group| {
            group
                .iter()
                .filter(move |side| !side.contains(&field))
                .flat_map(|side| side.iter())
        })
}

fn entry_name(v: &Value) -> Option<String> {
    v.as_table()?.get("name")?.as_str().map(str::to_string)
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// Splits a path into segments, expanding `fleet.size`.
fn expand_alias(doc: &toml::Table, path: &str) -> Result<Vec<String>, String> {
    if path == "fleet.size" {
        let types = doc
            .get("fleet")
            .and_then(|f| f.get("vehicles"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        return match types {
            1 => Ok(["fleet", "vehicles", "0", "count"]
                .map(str::to_string)
                .to_vec()),
            0 => Err("the scenario has no fleet".into()),
            n => Err(format!(
                "the fleet has {n} vehicle types; set fleet.vehicles.NAME.count instead"
            )),
        };
    }
    split(path)
}
