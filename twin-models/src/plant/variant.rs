//! What-ifs from a snapshot with changed settings: which differences between the
//! scenario a snapshot was taken of and a variant of it a fork can start from the
//! snapshot's state, and which it cannot.
//!
//! A fork of a variant takes the snapshot's state as it is (units on the buffers, machines
//! mid-cycle, vehicles on their way, stock on hand) and from then on runs with the
//! variant's settings. That is well defined only for settings the state does not hold the
//! shape of:
//! - a buffer's capacity (a buffer fuller than its new capacity takes nothing until it has
//!   drained below it; to or from 0, which joins two machines directly, is refused);
//! - a machine's speed or processing time, and its speed factors per product (a unit in
//!   process finishes at the speed it started at);
//! - a level switch's levels, step and delay (each switch reads its buffer's level anew);
//! - the fleet's dispatch rule, idle policy and lateness weight (from its next decision);
//! - more vehicles of a type (each new one idle on a parking spot free at the time, at
//!   home there);
//! - a stocked material's policy (reviewed at once: an order may be placed now).
//!
//! Anything else (another line, machine, fewer vehicles, layout, failure law, task list,
//! run setting …) changes what the state holds, or what it has already drawn, and is
//! refused naming the field.

use super::save::SnapshotError;
use crate::scenario::Scenario;
use serde_json::Value;

/// One difference a fork applies to the snapshot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The capacities of line `line`'s buffers, the speeds of its machines or its level
    /// switches.
    Line(usize),
    /// The fleet's dispatch rule, idle policy or lateness weight.
    Fleet,
    /// More vehicles of some types.
    Vehicles,
    /// Stocked material `k`'s policy.
    Stock(usize),
}

impl Change {
    /// What it changes, in words, by the names in `scenario`.
    pub fn describe(&self, scenario: &Scenario) -> String {
        match *self {
            Change::Line(l) => format!(
                "line {}'s buffer capacities, machine speeds or level switches",
                scenario.lines[l].name
            ),
            Change::Fleet => "the fleet's dispatch rule, idle policy or lateness weight".into(),
            Change::Vehicles => "the number of vehicles".into(),
            Change::Stock(k) => format!("the policy of stock {k} ({})", scenario.stock[k].material),
        }
    }
}

/// One step of a path into the resolved scenario.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    At(usize),
}

/// What `variant` changes from `base` (the scenario a snapshot was taken of), each
/// subsystem once, in order; refused at the first difference a fork cannot start from.
/// The scenarios' names are not compared.
pub fn changes(base: &Scenario, variant: &Scenario) -> Result<Vec<Change>, SnapshotError> {
    let tree = |s: &Scenario| {
        let mut v = serde_json::to_value(s).expect("a resolved scenario serialises");
        if let Value::Object(m) = &mut v {
            m.remove("name");
        }
        v
    };
    let mut paths = Vec::new();
    diff(&tree(base), &tree(variant), &mut Vec::new(), &mut paths);
    let mut out = Vec::new();
    for path in &paths {
        let change = classify(base, variant, path)
            .map_err(|reason| cannot(base, path, reason.to_string()))?;
        if !out.contains(&change) {
            out.push(change);
        }
    }
    for (l, (a, b)) in base.lines.iter().zip(&variant.lines).enumerate() {
        if a.is_fluid() != b.is_fluid() {
            return Err(cannot(
                base,
                &[Seg::Key("lines".into()), Seg::At(l)],
                "the change moves the line to the other engine (a machine with a random processing time is simulated unit by unit), whose state the snapshot does not hold".into(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// The paths (into the JSON form) where `a` and `b` differ: the deepest object or array
/// of the same shape that holds each difference.
fn diff(a: &Value, b: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.keys().eq(y.keys()) => {
            for (k, va) in x {
                path.push(Seg::Key(k.clone()));
                diff(va, &y[k], path, out);
                path.pop();
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                path.push(Seg::At(i));
                diff(va, vb, path, out);
                path.pop();
            }
        }
        _ if a == b => {}
        _ => out.push(path.clone()),
    }
}

/// The change a difference at `path` makes, or why a fork cannot make it.
fn classify(base: &Scenario, variant: &Scenario, path: &[Seg]) -> Result<Change, &'static str> {
    use Seg::{At, Key};
    let key = |i: usize| match path.get(i) {
        Some(Key(k)) => k.as_str(),
        _ => "",
    };
    match path {
        [Key(lines), At(l), Key(buffers), At(b), Key(capacity), ..]
            if lines == "lines" && buffers == "buffers" && capacity == "capacity" =>
        {
            let zero = |s: &Scenario| s.lines[*l].buffers[*b].capacity == Some(0);
            if zero(base) || zero(variant) {
                return Err(
                    "a buffer of capacity 0 joins its machines directly, which the state holds as such; a fork changes capacities above 0 only",
                );
            }
            Ok(Change::Line(*l))
        }
        [Key(lines), At(l), Key(stations), At(_), ..]
            if lines == "lines"
                && stations == "stations"
                && matches!(key(4), "process" | "speed_factors") =>
        {
            Ok(Change::Line(*l))
        }
        [Key(lines), At(l), Key(switches), At(_), ..]
            if lines == "lines"
                && switches == "switches"
                && matches!(key(4), "on" | "off" | "step" | "delay") =>
        {
            Ok(Change::Line(*l))
        }
        [Key(fleet), ..]
            if fleet == "fleet" && matches!(key(1), "dispatch" | "idle" | "lateness_weight") =>
        {
            Ok(Change::Fleet)
        }
        [Key(stock), At(k), Key(policy), ..] if stock == "stock" && policy == "policy" => {
            Ok(Change::Stock(*k))
        }
        [Key(fleet), Key(vehicles), ..] if fleet == "fleet" && vehicles == "vehicles" => {
            let counts = |s: &Scenario, kind: usize| {
                s.fleet
                    .as_ref()
                    .map_or(0, |f| f.vehicles.iter().filter(|&&k| k == kind).count())
            };
            let types = base.fleet.as_ref().map_or(0, |f| f.types.len());
            if (0..types).all(|k| counts(variant, k) >= counts(base, k)) {
                Ok(Change::Vehicles)
            } else {
                Err(
                    "a fork adds vehicles, and cannot take one away: each is in the state where it is, with its tasks and battery",
                )
            }
        }
        [Key(run), ..] if run == "run" => Err(
            "a fork keeps the run's settings; give the fork's horizon with --horizon and its seed with --seed",
        ),
        _ => Err(
            "the state holds what it shapes, or what was drawn from it already; a fork changes buffer capacities, machine speeds, level switches, the fleet's dispatch, idle policy, lateness weight and size (more vehicles), and stock policies",
        ),
    }
}

fn cannot(base: &Scenario, path: &[Seg], reason: String) -> SnapshotError {
    SnapshotError::CannotChange {
        field: named(base, path),
        reason,
    }
}

/// `path` as `--set` takes it: lines, machines and buffers by name, other entries by
/// number.
fn named(base: &Scenario, path: &[Seg]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut line = None;
    for (i, seg) in path.iter().enumerate() {
        let parent = match i.checked_sub(1).map(|j| &path[j]) {
            Some(Seg::Key(k)) => k.as_str(),
            _ => "",
        };
        match seg {
            Seg::Key(k) => out.push(k.clone()),
            Seg::At(n) => {
                let name = match (parent, line) {
                    ("lines", _) if i == 1 => {
                        line = Some(*n);
                        base.lines.get(*n).map(|l| l.name.clone())
                    }
                    ("stations", Some(l)) => base.lines[l].stations.get(*n).map(|s| s.name.clone()),
                    ("buffers", Some(l)) => base.lines[l].buffers.get(*n).map(|b| b.name.clone()),
                    _ => None,
                };
                out.push(name.unwrap_or_else(|| n.to_string()));
            }
        }
    }
    out.join(".")
}
