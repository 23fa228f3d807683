//! `run --snapshot-at T --snapshot FILE` and `run --resume FILE`: one run stopped at T,
//! saved whole, and resumed later as if it had never stopped (docs/snapshots.md).
//!
//! A run that writes a snapshot records its time series and timeline in memory up to T
//! (they are part of the snapshot), so that the resumed run writes them whole.

use crate::{Failure, say, stream};
use sim::SimTime;
use std::path::{Path, PathBuf};
use twin_models::plant::save::read;
use twin_models::{RunOutput, Scenario, Snapshot, Twin};

/// How the one run starts.
pub enum Start {
    /// From time 0, saved at `at` into `file`.
    Fresh {
        /// When to take the snapshot.
        at: SimTime,
        /// Where to write it.
        file: PathBuf,
    },
    /// From a snapshot read from `file`.
    Resumed {
        /// The snapshot's file, for messages.
        file: PathBuf,
        /// The run it holds.
        run: Box<twin_models::SavedRun>,
    },
}

/// Reads the snapshot in `file`.
pub fn read_file(file: &Path) -> Result<Snapshot, Failure> {
    decode(file, &read_bytes(file)?)
}

/// The bytes of the snapshot in `file`: a snapshot file, or the twin's snapshot in a live
/// twin's state directory (or its `live.snap`).
pub fn read_bytes(file: &Path) -> Result<Vec<u8>, Failure> {
    let path = if file.is_dir() {
        file.join(crate::live::durable::STATE)
    } else {
        file.to_path_buf()
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        Failure::BadInput(format!("{}: cannot read the snapshot: {e}", path.display()))
    })?;
    crate::live::durable::twin_of(&path, bytes)
}

/// Decodes snapshot `bytes` read from `file`.
pub fn decode(file: &Path, bytes: &[u8]) -> Result<Snapshot, Failure> {
    read(bytes).map_err(|e| Failure::BadInput(format!("{}: cannot resume: {e}", file.display())))
}

/// Runs `scenario` once with `spec` from `start` to the horizon, writing the run's files
/// into `out` as it goes, as a plain run does.
pub fn run(
    scenario: &Scenario,
    spec: twin_models::RunSpec,
    out: Option<&Path>,
    start: Start,
) -> Result<RunOutput, Failure> {
    let twin = match start {
        Start::Fresh { at, file } => {
            let mut twin = Twin::new(scenario, spec);
            twin.handle_events_to(at);
            crate::live::durable::write_durably(&file, &twin.save())?;
            say(&format!(
                "wrote {} (the run at {:.0} s)\n",
                file.display(),
                at.as_secs_f64()
            ));
            twin
        }
        Start::Resumed { file, run } => Twin::resume(scenario, *run)
            .map_err(|e| Failure::BadInput(format!("{}: cannot resume: {e}", file.display())))?,
    };
    match out {
        Some(dir) => {
            let (output, written) = stream::finish(twin, dir);
            written.map(|()| output)
        }
        None => {
            let mut twin = twin;
            twin.advance_to(twin.horizon());
            Ok(twin.finish())
        }
    }
}
