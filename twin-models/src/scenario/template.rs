//! Line templates: `[[line_templates]]` written once, made into lines by
//! `[[lines]] template = "NAME"`. A line made from a template is the template's fields,
//! then every field the line writes (each replacing the template's whole field), then the
//! line's `set` changes by dotted path ([`super::fields`]). Expansion works on the TOML
//! document before anything is resolved, so a templated line resolves exactly as if it
//! had been written out; `Origins` remembers where each part was written, so that a
//! problem found later points at the template or at the line's change.

use super::check::{Checker, Seg, Written, WrittenAt, at, i, k};
use super::document::ScenarioFile;
use super::error::{Diagnostic, ScenarioError, line_col};
use super::fields::set_line_field;
use std::collections::BTreeMap;
use toml::Value;

/// Where the lines made from templates were written.
#[derive(Debug, Default)]
pub(crate) struct Origins {
    /// By index in `lines`.
    lines: BTreeMap<usize, LineOrigin>,
}

#[derive(Debug)]
struct LineOrigin {
    /// Index in `line_templates`, and the template's name.
    template: usize,
    name: String,
    /// Fields the line writes itself.
    own: Vec<String>,
    /// Each `set` change: the path it walked in the made line, and its key in `set`.
    changes: Vec<(Vec<Seg>, String)>,
}

impl WrittenAt for Origins {
    fn written(&self, path: &[Seg]) -> Option<Written<'_>> {
        let [Seg::Key(lines), Seg::Index(li), rest @ ..] = path else {
            return None;
        };
        let origin = self.lines.get(li).filter(|_| lines == "lines")?;
        let line = [k("lines"), i(*li)];
        let change = origin
            .changes
            .iter()
            .filter(|(walked, _)| rest.len() >= walked.len() && same(&rest[..walked.len()], walked))
            .max_by_key(|(walked, _)| walked.len());
        if let Some((_, key)) = change {
            return Some(Written {
                path: at(&line, &[k("set"), k(key)]),
                template: None,
            });
        }
        match rest.first() {
            Some(Seg::Key(field)) if origin.own.contains(field) => None,
            None => None,
            Some(_) => Some(Written {
                path: at(&[k("line_templates"), i(origin.template)], rest),
                template: Some(&origin.name),
            }),
        }
    }
}

fn same(a: &[Seg], b: &[Seg]) -> bool {
    a.iter().zip(b).all(|(x, y)| match (x, y) {
        (Seg::Key(x), Seg::Key(y)) => x == y,
        (Seg::Index(x), Seg::Index(y)) => x == y,
        _ => false,
    })
}

/// Whether `raw` uses templates at all.
fn uses_templates(raw: &ScenarioFile) -> bool {
    !raw.line_templates.is_empty()
        || raw
            .lines
            .iter()
            .any(|l| l.template.is_some() || !l.set.is_empty())
}

/// The scenario document of `text` with every templated line written out and the
/// templates gone: what `sweep --set` changes. `file` names the text in errors.
pub fn expand_templates(file: &str, text: &str) -> Result<toml::Table, ScenarioError> {
    let raw = super::document::parse_file(file, text)?;
    let mut doc = parse_table(file, text)?;
    if uses_templates(&raw) {
        expand_document(file, text, &raw, &mut doc)?;
    }
    Ok(doc)
}

/// `raw` (parsed from `text`) with its templated lines made, and where they came from.
pub(crate) fn expand(
    file: &str,
    text: &str,
    raw: ScenarioFile,
) -> Result<(ScenarioFile, Origins), ScenarioError> {
    if !uses_templates(&raw) {
        return Ok((raw, Origins::default()));
    }
    let mut doc = parse_table(file, text)?;
    let origins = expand_document(file, text, &raw, &mut doc)?;
    let made = serde_path_to_error::deserialize::<_, ScenarioFile>(doc).map_err(|e| {
        // Only a `set` change can give a made line the wrong shape: the template and the
        // line were read in their own shape already.
        let path = serde_path(e.path());
        let reason = e.into_inner().message().trim().to_string();
        let mut c = Checker::new(file, text).with_origins(&origins);
        c.fail(&path, reason);
        c.finish().expect_err("one problem recorded")
    })?;
    Ok((made, origins))
}

fn parse_table(file: &str, text: &str) -> Result<toml::Table, ScenarioError> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        ScenarioError::Syntax(Diagnostic {
            file: file.to_string(),
            location: e.span().map(|s| line_col(text, s.start)),
            path: String::new(),
            reason: e.message().trim().to_string(),
        })
    })
}

/// A serde path as field path segments.
fn serde_path(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(i(*index)),
            Segment::Map { key } | Segment::Enum { variant: key } => Some(k(key)),
            Segment::Unknown => None,
        })
        .collect()
}

/// Stations and buffers the lines made from templates may hold together: a small file
/// must not make an unbounded scenario.
pub const MAX_MADE_PARTS: usize = 1_000_000;

/// Stations and buffers of a template.
fn parts(template: &toml::Table) -> usize {
    ["stations", "buffers"]
        .iter()
        .filter_map(|f| template.get(*f).and_then(Value::as_array))
        .map(Vec::len)
        .sum::<usize>()
        .max(1)
}

/// Writes out every templated line of `doc` (the document of `text`, parsed as `raw`) and
/// removes the templates.
fn expand_document(
    file: &str,
    text: &str,
    raw: &ScenarioFile,
    doc: &mut toml::Table,
) -> Result<Origins, ScenarioError> {
    let mut c = Checker::new(file, text);
    let mut templates: Vec<(String, toml::Table)> = Vec::new();
    // By name: a file may hold many templates and many lines.
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(Value::Array(list)) = doc.remove("line_templates") {
        for (ti, (t, tf)) in list.into_iter().zip(&raw.line_templates).enumerate() {
            let p = [k("line_templates"), i(ti)];
            if by_name.contains_key(&tf.name) {
                c.fail(
                    &at(&p, &[k("name")]),
                    format!("line template `{}` is defined twice", tf.name),
                );
            }
            if tf.template.is_some() {
                c.fail(
                    &at(&p, &[k("template")]),
                    "a template is not made from another template; write its fields out",
                );
            }
            if !tf.set.is_empty() {
                c.fail(
                    &at(&p, &[k("set")]),
                    "`set` changes a template's fields in a line made from it, not in a template",
                );
            }
            let Value::Table(mut t) = t else {
                continue;
            };
            t.remove("name");
            by_name.insert(tf.name.clone(), templates.len());
            templates.push((tf.name.clone(), t));
        }
    }
    let mut origins = Origins::default();
    let mut made_parts = 0usize;
    let Some(Value::Array(lines)) = doc.get_mut("lines") else {
        c.finish()?;
        return Ok(origins);
    };
    for (li, (line, lf)) in lines.iter_mut().zip(&raw.lines).enumerate() {
        let p = [k("lines"), i(li)];
        let Value::Table(own) = line else {
            continue;
        };
        let Some(name) = &lf.template else {
            if !lf.set.is_empty() {
                c.fail(
                    &at(&p, &[k("set")]),
                    "`set` changes the fields of a template; this line names no `template`",
                );
            }
            continue;
        };
        let Some(&ti) = by_name.get(name) else {
            let known: Vec<&str> = templates.iter().map(|(n, _)| n.as_str()).collect();
            c.fail(
                &at(&p, &[k("template")]),
                if known.is_empty() {
                    format!(
                        "line template `{name}` is not defined; there are no `[[line_templates]]`"
                    )
                } else {
                    format!(
                        "line template `{name}` is not defined; templates are: {}",
                        known.join(", ")
                    )
                },
            );
            continue;
        };
        // A few bytes per line can copy a large template many times: bounded before copying.
        made_parts += parts(&templates[ti].1);
        if made_parts > MAX_MADE_PARTS {
            c.fail(
                &at(&p, &[k("template")]),
                format!(
                    "the lines made from templates up to here hold {made_parts} stations and buffers, more than the {MAX_MADE_PARTS} a scenario may make"
                ),
            );
            break;
        }
        let mut made = templates[ti].1.clone();
        let changes = match own.remove("set") {
            Some(Value::Table(changes)) => changes,
            _ => toml::Table::new(),
        };
        own.remove("template");
        let written: Vec<String> = own.keys().cloned().collect();
        for (key, value) in std::mem::take(own) {
            made.insert(key, value);
        }
        let mut walked = Vec::new();
        for (path, value) in &changes {
            match set_line_field(&mut made, path, value) {
                Ok(w) => walked.push((w, path.clone())),
                Err(e) => c.fail(&at(&p, &[k("set"), k(path)]), e),
            }
        }
        *line = Value::Table(made);
        origins.lines.insert(
            li,
            LineOrigin {
                template: ti,
                name: name.clone(),
                own: written,
                changes: walked,
            },
        );
    }
    c.finish()?;
    Ok(origins)
}
