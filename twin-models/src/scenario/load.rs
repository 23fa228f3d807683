//! Loading: TOML text → [`ScenarioFile`] (stage one, [`super::document`]; lines made
//! from templates written out, [`super::template`]) → [`Scenario`] (stage two: each
//! section's resolver, in the order their references need), with every
//! problem reported against its field path and, where the text has it, line and column.

use super::check::{Checker, FileReader, at, i, k};
use super::document::{ScenarioFile, parse_file};
use super::error::ScenarioError;
use super::fleet::resolve::resolve_fleet;
use super::line::resolve::resolve_line;
use super::logistics::resolve::resolve_logistics;
use super::model::Scenario;
use super::network::resolve::resolve_network;
use super::run::resolve::{resolve_products, resolve_run};
use super::stock::resolve::resolve_stock;
use super::template::expand;
use std::collections::BTreeSet;

/// Parses and validates scenario `text`; `file` names it in errors. A scenario that names
/// another file (a layout `map`) needs [`load_scenario_with_files`].
pub fn load_scenario(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    load_scenario_with_files(file, text, &|name: &str| {
        Err(format!(
            "this caller reads no files; put the grid inline or load `{name}` through load_scenario_with_files"
        ))
    })
}

/// As [`load_scenario`], with `files` reading the files the scenario names (relative to
/// the scenario file; the library itself does no I/O).
pub fn load_scenario_with_files(
    file: &str,
    text: &str,
    files: FileReader<'_>,
) -> Result<Scenario, ScenarioError> {
    let raw = parse_file(file, text)?;
    let (raw, origins) = expand(file, text, raw)?;
    resolve(Checker::new(file, text).with_origins(&origins), &raw, files)
}

/// Stage two: resolves names, parses units and checks that every value means something.
fn resolve(
    mut c: Checker<'_>,
    raw: &ScenarioFile,
    files: FileReader<'_>,
) -> Result<Scenario, ScenarioError> {
    let run = resolve_run(&mut c, &raw.run);
    let products = resolve_products(&mut c, &raw.products);
    if raw.lines.is_empty() {
        c.fail(&[k("lines")], "a scenario needs at least one line");
    }
    let fleet = resolve_fleet(
        &mut c,
        raw.layout.as_ref(),
        raw.fleet.as_ref(),
        &raw.tasks,
        files,
    );
    let stock = resolve_stock(&mut c, &raw.stock, fleet.as_ref());
    let mut lines = Vec::new();
    let mut line_names = BTreeSet::new();
    for (li, lf) in raw.lines.iter().enumerate() {
        let base = [k("lines"), i(li)];
        if !line_names.insert(lf.name.clone()) {
            c.fail(
                &at(&base, &[k("name")]),
                format!("line `{}` is defined twice", lf.name),
            );
        }
        if let Some(mut line) = resolve_line(&mut c, &base, lf, &products) {
            let stations: Vec<&str> = line.stations.iter().map(|s| s.name.as_str()).collect();
            let (outfeed, materials) = resolve_logistics(
                &mut c,
                &base,
                &lf.name,
                lf.outfeed.as_ref(),
                &lf.materials,
                &stations,
                fleet.as_ref(),
                &stock,
            );
            line.outfeed = outfeed;
            // Written per unit the station makes (a case takes one sheet of film), consumed
            // as the station takes its input.
            line.materials = materials
                .into_iter()
                .map(|mut m| {
                    m.per_unit /= line.stations.get(m.station).map_or(1, |s| s.takes) as f64;
                    m
                })
                .collect();
            lines.push(line);
        }
    }
    if let (Some(run), Some(fleet)) = (&run, &fleet) {
        check_task_load(&mut c, run.horizon, fleet);
    }
    let line_names: Vec<String> = raw.lines.iter().map(|l| l.name.clone()).collect();
    let network = resolve_network(&mut c, &raw.sites, &raw.lanes, &line_names);
    if let Some(run) = &run {
        check_series_size(&mut c, run, super::model::series_columns(&lines, &stock));
    }
    c.finish()?;
    Ok(Scenario {
        name: raw.name.clone(),
        run: run.expect("no diagnostics means run settings resolved"),
        products,
        lines,
        fleet,
        stock,
        network,
    })
}

/// Refuses a sampling interval whose time series over the horizon would pass
/// [`MAX_SAMPLE_CELLS`](super::run::model::MAX_SAMPLE_CELLS).
fn check_series_size(c: &mut Checker<'_>, run: &super::RunSettings, columns: u64) {
    let rows = super::run::model::samples(run.horizon, run.sample_interval);
    let cells = rows.saturating_mul(columns);
    if cells > super::run::model::MAX_SAMPLE_CELLS {
        c.fail(
            &[k("run"), k("sample_interval")],
            format!(
                "sampling every {:.3e} s over the {:.0} s horizon records {rows} rows of {columns} columns, {cells} cells, more than the {} a run keeps: lengthen the interval",
                run.sample_interval.as_secs_f64(),
                run.horizon.as_secs_f64(),
                super::run::model::MAX_SAMPLE_CELLS
            ),
        );
    }
}

/// Tasks a scenario's list may create over its horizon: each stays in memory for the
/// KPIs, so a list that would create more describes no plant (a task every 0.1 µs).
pub const MAX_LISTED_TASKS: u64 = 10_000_000;

/// Refuses task lists that would create more than [`MAX_LISTED_TASKS`] over `horizon`.
fn check_task_load(c: &mut Checker<'_>, horizon: sim::SimDuration, fleet: &super::Fleet) {
    for (ti, t) in fleet.tasks.iter().enumerate() {
        let Some(every) = t
            .every
            .as_ref()
            .map(|e| sim::SimDuration::from_secs_f64(e.mean_secs()))
            .filter(|e| e.0 > 0)
        else {
            continue;
        };
        let releases = horizon.0.saturating_sub(t.first.0) / every.0 + 1;
        let tasks = releases.saturating_mul(u64::from(t.loads));
        if tasks > MAX_LISTED_TASKS {
            c.fail(
                &[k("tasks"), i(ti), k("every")],
                format!(
                    "every {:.3e} s over the {:.0} s horizon makes {tasks} tasks, more than the {MAX_LISTED_TASKS} a run keeps: is the interval meant to be this short?",
                    every.as_secs_f64(),
                    horizon.as_secs_f64()
                ),
            );
        }
    }
}

/// The JSON Schema of the scenario format, for editors.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ScenarioFile);
    serde_json::to_string_pretty(&schema).expect("a schema always serialises")
}
