//! ARCHITECTURE.md names every crate, and the dependency rules it states hold.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn members() -> Vec<String> {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

fn dependencies(krate: &str) -> Vec<String> {
    let manifest: toml::Table = read(&format!("{krate}/Cargo.toml")).parse().unwrap();
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_crate_has_a_section() {
    let arch = read("ARCHITECTURE.md");
    for m in members() {
        assert!(
            arch.contains(&format!("### `{m}/`")),
            "ARCHITECTURE.md has no section for `{m}/`"
        );
    }
}

#[test]
fn dependencies_point_one_way() {
    let sim = dependencies("sim");
    assert!(
        !sim.iter().any(
            |d| ["traffic", "feeds", "orchestrator", "twin-models", "bevy"].contains(&d.as_str())
        ),
        "{sim:?}"
    );
    // The planning crates: no ECS, no kernel, and none depends on another.
    for planning in ["traffic", "feeds", "orchestrator"] {
        let deps = dependencies(planning);
        assert!(
            !deps.iter().any(|d| [
                "sim",
                "twin-models",
                "bevy",
                "bevy_ecs",
                "traffic",
                "feeds",
                "orchestrator"
            ]
            .contains(&d.as_str())),
            "{planning}: {deps:?}"
        );
    }
    let models = dependencies("twin-models");
    assert!(
        !models.iter().any(|d| d == "bevy" || d == "experiments"),
        "{models:?}"
    );
    let experiments = dependencies("experiments");
    assert!(
        !experiments
            .iter()
            .any(|d| ["bevy", "twinline", "indicatif", "rumqttc", "ctrlc"].contains(&d.as_str())),
        "{experiments:?}"
    );
}

/// A crate's modules: each source file's module path (`line::fluid` is `["line",
/// "fluid"]`, the crate root `[]`) with its code, comments and strings taken out.
fn modules(krate: &str) -> Vec<(Vec<String>, String)> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut p = prefix.to_vec();
                if !["mod", "lib", "main"].contains(&name.as_str()) {
                    p.push(name);
                }
                out.push((p, code_only(&std::fs::read_to_string(&path).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(krate).join("src"), &[], &mut out);
    out
}

/// `text` with comments, strings and character literals blanked out (lifetimes stay).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
            i = end;
        } else if b[i] == b'"'
            || (b[i] == b'r' && b.get(i + 1).is_some_and(|&c| c == b'"' || c == b'#'))
        {
            // A string, plain or raw (r"..", r#".."#).
            let hashes = if b[i] == b'r' {
                let h = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                i += 1 + h;
                h
            } else {
                0
            };
            i += 1;
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < b.len() {
                if hashes == 0 && b[i] == b'\\' {
                    i += 2;
                } else if b[i..].starts_with(close.as_bytes()) {
                    i += close.len();
                    break;
                } else {
                    i += 1;
                }
            }
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            let end = text[i + 2..].find('\'').map_or(b.len(), |k| i + 2 + k + 1);
            i = end;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Every path the code of module `at` names through `crate::`, `super::` or `self::`
/// (use trees expanded), resolved to absolute paths from the crate root.
fn paths_named(at: &[String], code: &str) -> Vec<Vec<String>> {
    fn ident(s: &str) -> usize {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    }
    /// Expands the use tree at the start of `s` under `base`; returns the bytes read.
    fn tree(s: &str, base: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        let mut i = 0;
        let mut path = base;
        loop {
            let rest = &s[i..];
            let trimmed = rest.trim_start();
            i += rest.len() - trimmed.len();
            if trimmed.starts_with('{') {
                i += 1;
                loop {
                    let r = &s[i..];
                    let t = r.trim_start();
                    i += r.len() - t.len();
                    if t.starts_with('}') {
                        return i + 1;
                    }
                    i += tree(&s[i..], path.clone(), out);
                    let r = &s[i..];
                    let t = r.trim_start();
                    i += r.len() - t.len();
                    if t.starts_with(',') {
                        i += 1;
                    }
                }
            }
            let n = ident(trimmed);
            if n == 0 {
                out.push(path);
                return i;
            }
            path.push(trimmed[..n].to_string());
            i += n;
            if s[i..].starts_with("::") {
                i += 2;
            } else {
                out.push(path);
                return i;
            }
        }
    }
    let mut out = Vec::new();
    for (k, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
        .chain(code.match_indices("self::"))
    {
        let before = code[..k].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut base = at.to_vec();
        let mut rest = &code[k..];
        if let Some(r) = rest.strip_prefix("crate::") {
            base.clear();
            rest = r;
        } else {
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            if let Some(r) = rest.strip_prefix("self::") {
                rest = r;
            }
        }
        tree(rest, base, &mut out);
    }
    out
}

/// The cycles among a crate's modules, at every depth: modules grouped by their first
/// `depth` path segments, with no edge between a module and its own ancestors (a parent
/// is its children's front door).
fn import_cycles(krate: &str) -> Vec<String> {
    let mods = modules(krate);
    let known: std::collections::BTreeSet<Vec<String>> =
        mods.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (m, code) in &mods {
        for p in paths_named(m, code) {
            // The longest known module the path starts with.
            let target = (0..=p.len())
                .rev()
                .map(|n| p[..n].to_vec())
                .find(|q| known.contains(q))
                .unwrap_or_default();
            edges.push((m.clone(), target));
        }
    }
    let deepest = known.iter().map(Vec::len).max().unwrap_or(0);
    let mut cycles = Vec::new();
    for depth in 1..=deepest {
        let group = |m: &[String]| m[..m.len().min(depth)].join("::");
        let mut graph: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
            Default::default();
        for (from, to) in &edges {
            if from.starts_with(to) || to.starts_with(from) {
                continue;
            }
            // Only modules that share their parent at this depth are compared.
            let shared = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if shared + 1 != depth || from.len() < depth || to.len() < depth {
                continue;
            }
            let (a, b) = (group(from), group(to));
            if a != b {
                graph.entry(a).or_default().insert(b);
            }
        }
        // A cycle shows as a node reachable from one of its own successors.
        for (node, next) in &graph {
            let mut seen = std::collections::BTreeSet::new();
            let mut stack: Vec<String> = next.iter().cloned().collect();
            while let Some(n) = stack.pop() {
                if n == *node {
                    cycles.push(format!("{krate}: `{node}` imports itself through {next:?}"));
                    break;
                }
                if seen.insert(n.clone()) {
                    stack.extend(graph.get(&n).into_iter().flatten().cloned());
                }
            }
        }
    }
    cycles
}

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let cycles: Vec<String> = members().iter().flat_map(|m| import_cycles(m)).collect();
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

#[test]
fn the_import_circle_check_sees_a_circle() {
    let a = vec!["a".to_string()];
    let b = vec!["b".to_string(), "c".to_string()];
    // `use crate::{b::c::X, a}` from `a` and `use super::super::a::Y` from `b::c`.
    let from_a = paths_named(&a, "use crate::{b::c::{X, Z}, a}; fn f() { crate::b::g() }");
    assert!(from_a.contains(&vec!["b".into(), "c".into(), "X".into()]));
    assert!(from_a.contains(&vec!["b".into(), "g".into()]));
    let from_b = paths_named(&b, "use super::super::a::Y;");
    assert_eq!(from_b, vec![vec!["a".to_string(), "Y".to_string()]]);
    assert_eq!(
        code_only("let s = \"crate::x\"; // crate::y\nuse crate::z;"),
        "let s = \"\"; \nuse crate::z;"
    );
}
