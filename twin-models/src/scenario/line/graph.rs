//! A line's topology: which stations each buffer joins, checked to be a line (one start,
//! one end, no cycle, stations listed in flow order), the base units each station's unit
//! holds, and its dividers' and combiners' rules.

use super::file::{CombineRule, DivideRule, LineFile};
use super::model::Divide;
use crate::scenario::check::{Checker, Seg, at, i, k};
use std::collections::BTreeMap;

/// The topology of a line whose buffers' endpoints all exist.
pub(super) struct Topology {
    /// Per buffer as written: the stations feeding it and those it feeds.
    pub ends: Vec<(Vec<usize>, Vec<usize>)>,
    /// Buffers as written, in flow order (the resolved line's buffer `b` is `order[b]`).
    pub order: Vec<usize>,
    /// Per station, the buffers (as written) feeding it, in the order written.
    pub inputs: Vec<Vec<usize>>,
    /// Per station, the buffers (as written) leaving it, in the order written.
    pub outputs: Vec<Vec<usize>>,
    /// Whether the stations are a line in flow order (no cycle, one start, one end).
    pub is_line: bool,
}

/// Reads the buffers' `from` and `to`; `None` when one names no station (each is reported).
pub(super) fn topology(c: &mut Checker<'_>, base: &[Seg], lf: &LineFile) -> Option<Topology> {
    let names: Vec<&str> = lf.stations.iter().map(|s| s.name.as_str()).collect();
    let n_before = c.problems();
    let mut ends = Vec::with_capacity(lf.buffers.len());
    for (bi, bf) in lf.buffers.iter().enumerate() {
        let p = at(base, &[k("buffers"), i(bi)]);
        let mut side = |field: &str, list: &[String]| -> Vec<usize> {
            let mut out: Vec<usize> = Vec::with_capacity(list.len());
            if list.is_empty() {
                c.fail(&at(&p, &[k(field)]), "name at least one station");
            }
            for (j, name) in list.iter().enumerate() {
                let fp = if list.len() == 1 {
                    at(&p, &[k(field)])
                } else {
                    at(&p, &[k(field), i(j)])
                };
                match names.iter().position(|n| n == name) {
                    Some(s) if out.contains(&s) => {
                        c.fail(&fp, format!("station `{name}` is listed twice"))
                    }
                    Some(s) => out.push(s),
                    None => c.fail(
                        &fp,
                        format!(
                            "station `{name}` does not exist in line `{}`; its stations are: {}",
                            lf.name,
                            names.join(", ")
                        ),
                    ),
                }
            }
            out
        };
        let from = side("from", bf.from.names());
        let to = side("to", bf.to.names());
        ends.push((from, to));
    }
    if c.problems() > n_before {
        return None;
    }
    let n = names.len();
    let mut inputs = vec![Vec::new(); n];
    let mut outputs = vec![Vec::new(); n];
    for (bi, (from, to)) in ends.iter().enumerate() {
        for &s in from {
            outputs[s].push(bi);
        }
        for &s in to {
            inputs[s].push(bi);
        }
    }
    let mut order: Vec<usize> = (0..ends.len()).collect();
    order.sort_by_key(|&b| (ends[b].0[0], ends[b].1[0], b));
    let mut topo = Topology {
        ends,
        order,
        inputs,
        outputs,
        is_line: false,
    };
    topo.is_line = check_line(c, base, lf, &topo, &names);
    Some(topo)
}

/// Checks that the stations form a line: no cycle, listed in flow order, one start, one
/// end. Reports each problem; true when there is none.
fn check_line(
    c: &mut Checker<'_>,
    base: &[Seg],
    lf: &LineFile,
    t: &Topology,
    names: &[&str],
) -> bool {
    let n_before = c.problems();
    if let Some(cycle) = find_cycle(t) {
        let path: Vec<&str> = cycle.iter().map(|&s| names[s]).collect();
        c.fail(
            &at(base, &[k("buffers")]),
            format!(
                "the buffers make a cycle: {} → {}; units flow one way along a line (send rejects back with a station's `rework` instead)",
                path.join(" → "),
                path[0]
            ),
        );
        return false;
    }
    for (bi, (from, to)) in t.ends.iter().enumerate() {
        for &f in from {
            if let Some(&s) = to.iter().find(|&&s| s < f) {
                c.fail(
                    &at(base, &[k("buffers"), i(bi)]),
                    format!(
                        "`{}` feeds `{}` through buffer `{}`, so list `{}` before `{}`: stations are listed in flow order",
                        names[f], names[s], lf.buffers[bi].name, names[f], names[s]
                    ),
                );
            }
        }
    }
    if c.problems() > n_before {
        return false;
    }
    // In flow order the start is first and the end last; any other station without a
    // buffer on one side is a second start or a dead end.
    let last = names.len() - 1;
    for s in 0..names.len() {
        let p = at(base, &[k("stations"), i(s)]);
        if s > 0 && t.inputs[s].is_empty() {
            c.fail(
                &p,
                format!(
                    "no buffer feeds `{}`, but only a line's first station (`{}`) takes from its source; join it to a station before it",
                    names[s], names[0]
                ),
            );
        }
        if s < last && t.outputs[s].is_empty() {
            c.fail(
                &p,
                format!(
                    "`{}` has no path to the line's end (`{}`, its last station): no buffer leaves it",
                    names[s], names[last]
                ),
            );
        }
    }
    c.problems() == n_before
}

/// A cycle of stations, if the buffers make one (depth-first search).
fn find_cycle(t: &Topology) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let n = t.inputs.len();
    let next = |s: usize| -> Vec<usize> {
        let mut v: Vec<usize> = t.outputs[s]
            .iter()
            .flat_map(|&b| t.ends[b].1.iter().copied())
            .collect();
        v.dedup();
        v
    };
    let mut mark = vec![Mark::New; n];
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative: (station, its successors, next successor to visit).
        let mut stack = vec![(root, next(root), 0usize)];
        mark[root] = Mark::Open;
        while let Some((s, succ, pos)) = stack.last_mut() {
            if *pos == succ.len() {
                mark[*s] = Mark::Done;
                stack.pop();
                continue;
            }
            let u = succ[*pos];
            *pos += 1;
            match mark[u] {
                Mark::Open => {
                    let from = stack.iter().position(|(x, _, _)| *x == u).unwrap_or(0);
                    return Some(stack[from..].iter().map(|(x, _, _)| *x).collect());
                }
                Mark::New => {
                    mark[u] = Mark::Open;
                    let succ = next(u);
                    stack.push((u, succ, 0));
                }
                Mark::Done => {}
            }
        }
    }
    None
}

/// Whether units at station `a` are at or can reach station `b` (on a line in flow order,
/// where they move only to stations listed later).
pub(super) fn reaches(t: &Topology, a: usize, b: usize) -> bool {
    if a == b {
        return true;
    }
    let mut seen = vec![false; t.inputs.len()];
    let mut todo = vec![a];
    while let Some(s) = todo.pop() {
        for &bi in &t.outputs[s] {
            for &u in &t.ends[bi].1 {
                if u == b {
                    return true;
                }
                if u < b && !seen[u] {
                    seen[u] = true;
                    todo.push(u);
                }
            }
        }
    }
    false
}

/// Base units in one unit each station makes: its `takes` times what one unit of its
/// input holds (on a line in flow order; every input of a station must carry units of one
/// size). `takes` are per station, at least 1.
pub(super) fn equivalents(
    c: &mut Checker<'_>,
    base: &[Seg],
    t: &Topology,
    takes: &[u64],
    names: &[&str],
) -> Vec<u64> {
    let mut eq: Vec<u64> = Vec::with_capacity(takes.len());
    for (s, &n) in takes.iter().enumerate() {
        let feeding: Vec<usize> = t.inputs[s]
            .iter()
            .flat_map(|&b| t.ends[b].0.iter().copied())
            .collect();
        let input = feeding.first().map_or(1, |&f| eq[f]);
        if let Some(&odd) = feeding.iter().find(|&&f| eq[f] != input) {
            c.fail(
                &at(base, &[k("stations"), i(s)]),
                format!(
                    "`{}` is fed units of different sizes: `{}` makes units of {} base units, `{}` of {}",
                    names[s], names[feeding[0]], input, names[odd], eq[odd]
                ),
            );
        }
        eq.push(input.saturating_mul(n));
    }
    eq
}

/// What a rule is written on, for its checks.
pub(super) struct RuleSite<'a> {
    /// Path of the station or buffer.
    pub path: Vec<Seg>,
    /// What its several outputs are ("buffers leaving `filler`", "stations `to` names").
    pub outputs_are: String,
    /// Names of its outputs, in listed order.
    pub outputs: Vec<&'a str>,
    /// Number of its inputs, and what they are.
    pub inputs: usize,
    pub inputs_are: String,
}

/// The divider and combiner rules written on `site`: refused where they have nothing to
/// choose between, and shares checked to name every output with a positive share.
pub(super) fn rules(
    c: &mut Checker<'_>,
    site: &RuleSite<'_>,
    divide: Option<DivideRule>,
    combine: Option<CombineRule>,
    shares: &BTreeMap<String, f64>,
) -> (Divide, CombineRule) {
    let p = &site.path;
    if divide.is_some() && site.outputs.len() < 2 {
        c.fail(
            &at(p, &[k("divide")]),
            format!(
                "a divider needs two or more outputs, but {} {}",
                site.outputs_are,
                if site.outputs.is_empty() {
                    "are none".to_string()
                } else {
                    format!("are only `{}`", site.outputs[0])
                }
            ),
        );
    }
    if combine.is_some() && site.inputs < 2 {
        c.fail(
            &at(p, &[k("combine")]),
            format!(
                "a combiner needs two or more inputs, but {} {}",
                site.inputs_are,
                if site.inputs == 0 { "none" } else { "only one" }
            ),
        );
    }
    let divide = match divide {
        None | Some(DivideRule::MostRoom) => Divide::MostRoom,
        Some(DivideRule::Priority) => Divide::Priority,
        Some(DivideRule::Shares) => {
            let sp = at(p, &[k("shares")]);
            for name in shares.keys() {
                if !site.outputs.contains(&name.as_str()) {
                    c.fail(
                        &at(&sp, &[k(name)]),
                        format!(
                            "`{name}` is not an output here; the {} are: {}",
                            site.outputs_are,
                            site.outputs.join(", ")
                        ),
                    );
                }
            }
            let mut w = Vec::with_capacity(site.outputs.len());
            for name in &site.outputs {
                match shares.get(*name) {
                    Some(&x) if x.is_finite() && x > 0.0 => w.push(x),
                    Some(&x) => c.fail(
                        &at(&sp, &[k(name)]),
                        format!("a share must be a positive number, not {x}"),
                    ),
                    None => c.fail(
                        &sp,
                        format!("give a share for every output: `{name}` has none"),
                    ),
                }
            }
            Divide::Shares(w)
        }
    };
    if !shares.is_empty() && !matches!(divide, Divide::Shares(_)) {
        c.fail(
            &at(p, &[k("shares")]),
            "`shares` apply to a divider with divide = \"shares\"",
        );
    }
    (divide, combine.unwrap_or(CombineRule::FirstCome))
}
