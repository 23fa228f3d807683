//! A run that writes its time series and its timeline as it goes, so that a long horizon
//! costs disk, not memory (`run`, `replay` and `live` with `--out`).
//!
//! The series is CSV in time order: rows are appended as they are sampled. The timeline is
//! CSV grouped by station, so each station's stops are appended to a scratch file as they
//! close, with where each piece lies, and put in station order at the end; the file is the
//! same, byte for byte, as one written from memory.

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

/// The files of a run being written as it goes (`timeseries.csv`, `timeline.csv`), and
/// where each station's timeline pieces lie in the scratch file.
pub struct RunFiles {
    series: (PathBuf, BufWriter<File>),
    scratch: (PathBuf, BufWriter<File>),
    timeline: PathBuf,
    /// Per station: (offset, length) of its pieces in the scratch file, in time order.
    pieces: Vec<Vec<(u64, usize)>>,
    written: u64,
}

fn failed(path: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::Io(format!("{}: cannot write: {e}", path.display()))
}

fn create(path: PathBuf) -> Result<(PathBuf, BufWriter<File>), Failure> {
    let file = File::create(&path).map_err(failed(&path))?;
    Ok((path, BufWriter::new(file)))
}

impl RunFiles {
    /// Starts the files of `twin`'s run in `dir`, made if missing.
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
        })
    }

    /// Writes what `twin` recorded since the last time.
    pub fn take(&mut self, twin: &mut Twin<&Scenario>) -> Result<(), Failure> {
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
        Ok(())
    }

    /// Writes the rest `output` holds, puts the timeline in order, and removes the scratch.
    pub fn finish(self, output: &mut RunOutput) -> Result<(), Failure> {
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
