//! Scenario fields addressed by dotted paths, and the values a sweep gives them.
//!
//! A path walks the scenario's TOML: table keys by name, and arrays of tables (`lines`,
//! `stations`, `buffers`, `vehicles`, …) by an entry's `name` or by its index, so
//! `lines.L1.buffers.rinse-fill.capacity` is the capacity of buffer `rinse-fill` on line
//! `L1`. Fields the file leaves out but the format knows (`run.warmup`) may be set; the
//! scenario's JSON Schema says which fields exist, so a misspelt path fails at once with
//! the fields it could have meant. `fleet.size` is the vehicle count of a fleet with one
//! vehicle type.

use crate::error::ExperimentError;
use serde_json::Value as Json;
use toml::Value;

/// One swept field and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// The dotted path as given.
    pub path: String,
    /// Its values, in the order given.
    pub values: Vec<Value>,
}

/// Parses `PATH=V1,V2,...`. A value is a TOML value (`50`, `0.5`, `true`, `"30min"`, `[1,2]`)
/// or, failing that, a bare string (`30min`, `kanban`); `A..B` is every whole number from A
/// to B inclusive and `A..B:S` steps by S (whole or decimal).
pub fn parse_set(arg: &str) -> Result<Parameter, ExperimentError> {
    let (path, values) = arg.split_once('=').ok_or_else(|| {
        ExperimentError::set(
            arg,
            "expected PATH=V1,V2,... (e.g. lines.L1.buffers.B2.capacity=50,100)",
        )
    })?;
    let path = path.trim();
    check_path_syntax(path)?;
    let mut out = Vec::new();
    for token in split_top_level(values) {
        let token = token.trim();
        if token.is_empty() {
            return Err(ExperimentError::set(path, "an empty value in the list"));
        }
        match parse_range(path, token)? {
            Some(range) => out.extend(range),
            None => out.push(parse_value(token)),
        }
    }
    if out.is_empty() {
        return Err(ExperimentError::set(path, "no values given"));
    }
    Ok(Parameter {
        path: path.to_string(),
        values: out,
    })
}

fn check_path_syntax(path: &str) -> Result<(), ExperimentError> {
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(ExperimentError::set(
            path,
            "a path is field names joined by dots, e.g. lines.L1.buffers.B2.capacity",
        ));
    }
    Ok(())
}

/// Splits at commas outside brackets, braces and quotes.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    let mut parts = Vec::new();
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A TOML value, or the token itself as a string.
pub fn parse_value(token: &str) -> Value {
    toml::from_str::<toml::Table>(&format!("v = {token}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(token.to_string()))
}

/// Values one parameter may take (a range is counted before it is made).
pub const MAX_VALUES: usize = 100_000;

/// `A..B` or `A..B:S`; `None` when the token is not a range.
fn parse_range(path: &str, token: &str) -> Result<Option<Vec<Value>>, ExperimentError> {
    let Some((from, rest)) = token.split_once("..") else {
        return Ok(None);
    };
    let (to, step) = match rest.split_once(':') {
        Some((to, step)) => (to, Some(step)),
        None => (rest, None),
    };
    let bad = |why: &str| ExperimentError::set(path, format!("range `{token}`: {why}"));
    let int = |s: &str| s.trim().parse::<i64>().ok();
    let int_step = match step {
        None => Some(1),
        Some(s) => int(s),
    };
    if let (Some(a), Some(b), Some(step)) = (int(from), int(to), int_step) {
        if step <= 0 {
            return Err(bad("the step must be positive"));
        }
        if a > b {
            return Err(bad("the start is after the end"));
        }
        // Counted before anything is made: a range says how many values it holds.
        let n = (i128::from(b) - i128::from(a)) / i128::from(step) + 1;
        if n > MAX_VALUES as i128 {
            return Err(bad(&format!("{n} values, more than {MAX_VALUES}")));
        }
        return Ok(Some(
            (a..=b).step_by(step as usize).map(Value::Integer).collect(),
        ));
    }
    let num = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let (Some(a), Some(b)) = (num(from), num(to)) else {
        return Err(bad("expected numbers, as in 8..16 or 0.5..1.0:0.1"));
    };
    let Some(step) = step.and_then(num) else {
        return Err(bad("a decimal range needs a step, as in 0.5..1.0:0.1"));
    };
    if step <= 0.0 {
        return Err(bad("the step must be positive"));
    }
    if a > b {
        return Err(bad("the start is after the end"));
    }
    let n = ((b - a) / step + 1e-9).floor();
    if n >= MAX_VALUES as f64 {
        return Err(bad(&format!("more than {MAX_VALUES} values")));
    }
    let n = n as usize;
    // Values from the index, not by adding steps, so 0.1 steps do not drift; rounded to
    // the step's decimals so 0.30000000000000004 reads 0.3.
    let decimals = step_decimals(step);
    Ok(Some(
        (0..=n)
            .map(|i| {
                let x = a + step * i as f64;
                let scale = 10f64.powi(decimals);
                Value::Float((x * scale).round() / scale)
            })
            .collect(),
    ))
}

fn step_decimals(step: f64) -> i32 {
    (0..12)
        .find(|&d| {
            let s = step * 10f64.powi(d);
            (s - s.round()).abs() < 1e-9
        })
        .unwrap_or(12)
}

/// The scenario format's JSON Schema, the map of which fields exist.
pub struct FieldMap {
    root: Json,
}

impl FieldMap {
    /// The field map of the scenario format.
    pub fn scenario() -> Self {
        FieldMap {
            root: serde_json::from_str(&twin_models::scenario::json_schema())
                .expect("the scenario schema is JSON"),
        }
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

/// Sets the field at `path` in the scenario document `doc` to `value`.
pub fn apply(
    doc: &mut toml::Table,
    fields: &FieldMap,
    path: &str,
    value: &Value,
) -> Result<(), ExperimentError> {
    let segments = expand_alias(doc, path)?;
    let mut root = Value::Table(std::mem::take(doc));
    let result = set_in(
        &mut root,
        Some(&fields.root),
        fields,
        &segments,
        "",
        path,
        value,
    );
    if let Value::Table(t) = root {
        *doc = t;
    }
    result
}

/// Sets `segments` below `node`, whose schema is `schema` and whose own path is `walked`.
fn set_in(
    node: &mut Value,
    schema: Option<&Json>,
    fields: &FieldMap,
    segments: &[String],
    walked: &str,
    path: &str,
    value: &Value,
) -> Result<(), ExperimentError> {
    let seg = &segments[0];
    let last = segments.len() == 1;
    let joined = if walked.is_empty() {
        seg.clone()
    } else {
        format!("{walked}.{seg}")
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
                        let owner = if walked.is_empty() {
                            "the scenario".to_string()
                        } else {
                            format!("`{walked}`")
                        };
                        return Err(ExperimentError::set(
                            path,
                            format!(
                                "{owner} has no field `{seg}` (its fields: {})",
                                known.join(", ")
                            ),
                        ));
                    }
                },
                None => None,
            };
            if last {
                table.insert(seg.clone(), value.clone());
                return Ok(());
            }
            if !table.contains_key(seg.as_str()) {
                if child.and_then(|s| fields.items(s)).is_some() {
                    return Err(ExperimentError::set(
                        path,
                        format!("the scenario has no `{joined}` entries"),
                    ));
                }
                table.insert(seg.clone(), Value::Table(toml::Table::new()));
            }
            let next = table
                .get_mut(seg.as_str())
                .expect("present or just inserted");
            set_in(next, child, fields, &segments[1..], &joined, path, value)
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
                    ExperimentError::set(
                        path,
                        format!(
                            "no `{walked}` entry named `{seg}` (there are: {})",
                            names.join(", ")
                        ),
                    )
                })?;
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
                path,
                value,
            )
        }
        other => Err(ExperimentError::set(
            path,
            format!(
                "`{walked}` is a value ({}), not a table with fields",
                describe(other)
            ),
        )),
    }
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
fn expand_alias(doc: &toml::Table, path: &str) -> Result<Vec<String>, ExperimentError> {
    if path == "fleet.size" {
        let types = doc
            .get("fleet")
            .and_then(|f| f.get("vehicles"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        return match types {
            1 => Ok(vec![
                "fleet".into(),
                "vehicles".into(),
                "0".into(),
                "count".into(),
            ]),
            0 => Err(ExperimentError::set(path, "the scenario has no fleet")),
            n => Err(ExperimentError::set(
                path,
                format!("the fleet has {n} vehicle types; set fleet.vehicles.NAME.count instead"),
            )),
        };
    }
    Ok(path.split('.').map(str::to_string).collect())
}
