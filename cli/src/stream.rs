//! A run that writes its time series and its timeline as it goes, so that a long horizon
//! costs disk, not memory (`run`, `replay` and `live` with `--out`).
//!
//! The series is CSV in time order: rows are appended as they are sampled. The timeline is
//! CSV grouped by station, so each station's stops are appended to a scratch file as they
//! close, with where each piece lies, and put in station order at the end; the file is the
//! same, byte for byte, as one written from memory. The plant's alerts are written as they
//! come too (`alerts.ndjson`, in time order, the plant's before the feed's at equal times,
//! as one written from memory), and the KPIs keep only the first ones; a live twin with a
//! state directory keeps its alerts, series and timeline in its snapshots instead.

use crate::Failure;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use twin_models::{RunOutput, RunSpec, Scenario, Twin};

/// Samples between writes.
const SAMPLES_PER_STEP: u64 = 4096;

/// Runs `scenario` once with `spec` as `simulate` would, writing `timeseries.csv` and
/// `timeline.csv` into `dir` as it goes; the output keeps neither. The run goes to its end
/// even when a file cannot be written (the error comes with it).
pub fn run(scenario: &Scenario, spec: RunSpec, dir: &Path) -> (RunOutput, Result<(), Failure>) {
    finish(Twin::new(scenario, spec), dir)
}

/// Runs `twin` (a plain run, or a replay with its feed) on to its horizon, writing
/// `timeseries.csv` and `timeline.csv` into `dir` as it goes; the output keeps neither.
pub fn finish(mut twin: Twin<&Scenario>, dir: &Path) -> (RunOutput, Result<(), Failure>) {
    let scenario = twin.scenario();
    let mut files = match RunFiles::create(dir, &twin) {
        Ok(f) => f,
        Err(e) => return (twin.finish(), Err(e)),
    };
    let step = scenario
        .run
        .sample_interval
        .0
        .saturating_mul(SAMPLES_PER_STEP)
        .max(1);
    loop {
        if let Err(e) = files.take(&mut twin) {
            return (twin.finish(), Err(e));
        }
        if twin.done() {
            break;
        }
        let next = twin.now().0.saturating_add(step);
        twin.handle_events_to(sim::SimTime(next));
    }
    let mut output = twin.finish();
    let result = files.finish(&mut output);
    (output, result)
}

/// The files of a run being written as it goes (`timeseries.csv`, `timeline.csv`,
/// `alerts.ndjson`), and where each station's timeline pieces lie in the scratch file.
pub struct RunFiles {
    series: (PathBuf, BufWriter<File>),
    scratch: (PathBuf, BufWriter<File>),
    timeline: PathBuf,
    /// Per station: (offset, length) of its pieces in the scratch file, in time order.
    pieces: Vec<Vec<(u64, usize)>>,
    written: u64,
    /// The plant's alerts, written as they come.
    alerts: AlertStream,
}

/// The plant's alerts on their way to `alerts.ndjson`: those that may still have a later
/// one before them wait; the rest go to a scratch file in time order, merged with the
/// feed's at the end.
struct AlertStream {
    scratch: (PathBuf, BufWriter<File>),
    file: PathBuf,
    /// Taken from the twin, not yet written, in the order raised.
    pending: Vec<twin_models::kpi::PlantAlert>,
}

impl AlertStream {
    /// Writes, in time order, the pending alerts dated before `now` (simulated seconds):
    /// an alert is never dated before the instant it is raised at, so none to come goes
    /// before them.
    fn write_before(&mut self, now: f64) -> Result<(), Failure> {
        let (mut ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|a| a.at_s < now);
        self.pending = rest;
        ready.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let (path, scratch) = &mut self.scratch;
        for a in &ready {
            let line = serde_json::to_string(a).expect("an alert serialises") + "\n";
            scratch.write_all(line.as_bytes()).map_err(failed(path))?;
        }
        Ok(())
    }

    /// Writes `alerts.ndjson`: the plant's alerts merged with `feed` (in time order, the
    /// plant's first at equal times); removes the scratch.
    fn finish(mut self, feed: &[twin_models::kpi::FeedAlert]) -> Result<(), Failure> {
        self.write_before(f64::INFINITY)?;
        let (scratch_path, mut scratch) = self.scratch;
        scratch.flush().map_err(failed(&scratch_path))?;
        drop(scratch);
        let plant =
            std::io::BufReader::new(File::open(&scratch_path).map_err(failed(&scratch_path))?);
        let (path, mut out) = create(self.file)?;
        let mut feed: Vec<&twin_models::kpi::FeedAlert> = feed.iter().collect();
        feed.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let mut feed = feed.into_iter().peekable();
        // The plant's lines, then an end that lets the rest of the feed's out.
        for line in std::io::BufRead::lines(plant).map(Some).chain([None]) {
            let line = line.transpose().map_err(failed(&scratch_path))?;
            let at = line.as_deref().map_or(f64::INFINITY, |l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .ok()
                    .and_then(|v| v["at_s"].as_f64())
                    .unwrap_or(f64::INFINITY)
            });
            while let Some(f) = feed.next_if(|f| f.at_s < at) {
                let text = serde_json::to_string(f).expect("an alert serialises");
                writeln!(out, "{text}").map_err(failed(&path))?;
            }
            if let Some(line) = line {
                writeln!(out, "{line}").map_err(failed(&path))?;
            }
        }
        out.flush().map_err(failed(&path))?;
        std::fs::remove_file(&scratch_path).map_err(failed(&scratch_path))
    }
}

fn failed(path: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::Io(format!("{}: cannot write: {e}", path.display()))
}

fn create(path: PathBuf) -> Result<(PathBuf, BufWriter<File>), Failure> {
    let file = File::create(&path).map_err(failed(&path))?;
    Ok((path, BufWriter::new(file)))
}

impl RunFiles {
    /// Starts the files of `twin`'s run in `dir` (series, timeline, the plant's alerts), made
    /// if missing; the KPIs then keep only the first alerts.
    pub fn create(dir: &Path, twin: &Twin<&Scenario>) -> Result<RunFiles, Failure> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))?;
        let mut series = create(dir.join("timeseries.csv"))?;
        let header = twin.series_csv_header().unwrap_or_default();
        series
            .1
            .write_all(header.as_bytes())
            .map_err(failed(&series.0))?;
        Ok(RunFiles {
            series,
            scratch: create(dir.join("timeline.csv.part"))?,
            timeline: dir.join("timeline.csv"),
            pieces: Vec::new(),
            written: 0,
            alerts: AlertStream {
                scratch: create(dir.join("alerts.ndjson.part"))?,
                file: dir.join("alerts.ndjson"),
                pending: Vec::new(),
            },
        })
    }

    /// Writes what `twin` recorded since the last time; returns the plant's alerts it
    /// took, for a caller that also sends them on.
    pub fn take(
        &mut self,
        twin: &mut Twin<&Scenario>,
    ) -> Result<Vec<twin_models::kpi::PlantAlert>, Failure> {
        let taken = twin.take_alerts();
        self.alerts.pending.extend(taken.iter().cloned());
        self.alerts.write_before(twin.now().as_secs_f64())?;
        let (path, series) = &mut self.series;
        series
            .write_all(twin.take_series_csv().as_bytes())
            .map_err(failed(path))?;
        let (path, scratch) = &mut self.scratch;
        for (k, text) in twin.take_timeline_csv().into_iter().enumerate() {
            if self.pieces.len() <= k {
                self.pieces.resize(k + 1, Vec::new());
            }
            if !text.is_empty() {
                scratch.write_all(text.as_bytes()).map_err(failed(path))?;
                self.pieces[k].push((self.written, text.len()));
                self.written += text.len() as u64;
            }
        }
        Ok(taken)
    }

    /// Writes the rest `output` holds, puts the timeline in order, and removes the scratch.
    pub fn finish(self, output: &mut RunOutput) -> Result<(), Failure> {
        let feed = output.kpis.feed.as_ref().map_or(&[][..], |f| &f.alerts[..]);
        self.alerts.finish(feed)?;
        let (path, mut series) = self.series;
        if let Some(rest) = output.series.take() {
            let rows = sim::TimeSeries::csv_rows(rest.rows());
            series.write_all(rows.as_bytes()).map_err(failed(&path))?;
        }
        series.flush().map_err(failed(&path))?;
        let (scratch_path, mut scratch) = self.scratch;
        scratch.flush().map_err(failed(&scratch_path))?;
        drop(scratch);
        let mut pieces = File::open(&scratch_path).map_err(failed(&scratch_path))?;
        let (path, mut timeline) = create(self.timeline)?;
        timeline
            .write_all(twin_models::line::TIMELINE_CSV_HEADER.as_bytes())
            .map_err(failed(&path))?;
        let mut buf = Vec::new();
        let stations = output.timeline.take().unwrap_or_default();
        // Piece k of the scratch file is station k's stops; piece n + k its speed steps.
        // Each piece in the order written, then what the run still held.
        let n = stations.len();
        let parts = stations.iter().enumerate().map(|(k, st)| {
            let rest = twin_models::line::stops_csv(&st.line, &st.station, &st.stops);
            (k, rest)
        });
        let steps = stations.iter().enumerate().map(|(k, st)| {
            let rest = twin_models::line::steps_csv(&st.line, &st.station, &st.steps);
            (n + k, rest)
        });
        for (k, rest) in parts.chain(steps) {
            for &(at, len) in self.pieces.get(k).map_or(&[][..], Vec::as_slice) {
                buf.resize(len, 0);
                pieces
                    .seek(SeekFrom::Start(at))
                    .and_then(|_| pieces.read_exact(&mut buf))
                    .map_err(failed(&scratch_path))?;
                timeline.write_all(&buf).map_err(failed(&path))?;
            }
            timeline.write_all(rest.as_bytes()).map_err(failed(&path))?;
        }
        timeline.flush().map_err(failed(&path))?;
        std::fs::remove_file(&scratch_path).map_err(failed(&scratch_path))
    }
}
