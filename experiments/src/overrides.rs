//! Scenario fields addressed by dotted paths, and the values a sweep gives them.
//!
//! How a path walks the scenario is [`twin_models::scenario::fields`]'s: table keys by
//! name, arrays of tables by an entry's `name` or index, checked against the format.

use crate::error::ExperimentError;
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
    twin_models::scenario::fields::split(path)
        .map(|_| ())
        .map_err(|e| ExperimentError::set(path, e))
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

/// Sets the field at `path` in the scenario document `doc` to `value`
/// ([`twin_models::scenario::set_field`]).
pub fn apply(doc: &mut toml::Table, path: &str, value: &Value) -> Result<(), ExperimentError> {
    twin_models::scenario::set_field(doc, path, value).map_err(|e| ExperimentError::set(path, e))
}
