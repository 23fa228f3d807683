//! `live --state DIR`: a live twin that survives being stopped or killed without losing an
//! event or applying one twice.
//!
//! DIR holds two files:
//! - `events.log`: every arrival the twin accepted (events and refused lines, with where
//!   they came from), appended as it comes and flushed to disk before the broker is told
//!   it was received (MQTT acknowledgements are sent only then). A record is its length
//!   (u32), the first 8 bytes of its blake3, and its postcard encoding; the file begins
//!   with the number of the first record it holds (u64). All little-endian.
//! - `live.snap`: the twin's snapshot (docs/snapshots.md) with the ingestion's state, the
//!   quarantine, the sources seen, the alerts already shown, the restarts so far, and how
//!   many log records it covers. It is written every `--state-every` of wall time and
//!   when the run stops, through a temporary file flushed to disk and renamed, and then the
//!   log starts afresh from the next record.
//!
//! A restart reads `live.snap`, replays the log records it does not cover (a record cut
//! short by a crash ends the log: it was never acknowledged, so the broker sends it
//! again), and goes on; events the broker redelivers are duplicates by `event_id`.

use super::{Reading, Received, Session};
use crate::Failure;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use twin_models::plant::save::{seal, unseal};

const MAGIC: &[u8; 8] = b"TWINLIVE";
const VERSION: u32 = 1;
const LOG: &str = "events.log";
/// The state file in a state directory.
pub const STATE: &str = "live.snap";
/// A record's length and checksum.
const RECORD_HEAD: usize = 4 + 8;

/// A restart of the twin, for the record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Restart {
    /// Simulated time of the snapshot it resumed from, seconds.
    pub from_s: f64,
    /// Log records replayed on top of it.
    pub replayed: u64,
    /// Whether the run before it stopped cleanly (its last snapshot taken as it stopped).
    pub clean: bool,
}

/// The saved state as written: the twin's snapshot, the session, what was received, and
/// the log records it covers.
#[derive(Serialize)]
struct SavedRef<'a> {
    twin: &'a [u8],
    session: &'a Session,
    events: u64,
    /// Alerts about the sources (JSON text).
    source_alerts: Vec<String>,
    covered: u64,
    /// Whether it was taken as the run stopped (nothing after it).
    clean: bool,
}

/// The saved state as read: the fields of [`SavedRef`], owned.
#[derive(Deserialize)]
struct Saved {
    twin: Vec<u8>,
    session: Session,
    events: u64,
    source_alerts: Vec<String>,
    covered: u64,
    clean: bool,
}

/// What a restart finds in the state directory.
pub struct Found {
    /// The last snapshot, if one was taken.
    pub saved: Option<Resumed>,
    /// Arrivals logged after it (or since the start, without one), in order.
    pub replay: Vec<Reading>,
}

/// The last snapshot of a live run.
pub struct Resumed {
    /// The twin's snapshot.
    pub twin: Vec<u8>,
    pub session: Session,
    /// Events received before, and alerts about the sources raised before.
    pub received: Received,
    /// Whether it was taken as the run stopped.
    pub clean: bool,
}

/// The state directory of a running live twin.
pub struct StateDir {
    dir: PathBuf,
    log: File,
    /// Records logged since the very first run (the next one's number).
    records: u64,
    /// Whether records were written since the last flush to disk.
    unsynced: bool,
    /// Acknowledgements waiting for the records they follow to reach the disk.
    acks: Vec<Box<dyn FnMut() -> bool + Send>>,
    every: Duration,
    last: Instant,
}

fn io(path: &Path, what: &str) -> impl Fn(std::io::Error) -> Failure {
    let path = path.display().to_string();
    let what = what.to_string();
    move |e| Failure::Io(format!("{path}: cannot {what}: {e}"))
}

impl StateDir {
    /// Opens (making it if missing) the state directory `dir`; returns what a previous run
    /// left there, if anything. Snapshots are taken every `every` of wall time.
    #[allow(
        clippy::disallowed_methods,
        reason = "snapshots are taken at wall-time intervals"
    )]
    pub fn open(dir: &Path, every: Duration) -> Result<(StateDir, Option<Found>), Failure> {
        std::fs::create_dir_all(dir).map_err(io(dir, "create the state directory"))?;
        let state_path = dir.join(STATE);
        let saved = match std::fs::read(&state_path) {
            Ok(bytes) => {
                let body = unseal(MAGIC, VERSION, &bytes).map_err(|e| {
                    Failure::BadInput(format!("{}: cannot resume: {e}", state_path.display()))
                })?;
                let saved: Saved = postcard::from_bytes(body).map_err(|e| {
                    Failure::BadInput(format!(
                        "{}: cannot resume: it does not decode ({e})",
                        state_path.display()
                    ))
                })?;
                Some(saved)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&state_path, "read")(e)),
        };
        let log_path = dir.join(LOG);
        let (base, records, good_len) = read_log(&log_path)?;
        let covered = saved.as_ref().map_or(0, |s| s.covered);
        if saved.is_none() && base > 0 {
            return Err(Failure::BadInput(format!(
                "{}: the log starts at record {base} but {} is missing: the state directory is incomplete",
                log_path.display(),
                state_path.display()
            )));
        }
        if base > covered {
            return Err(Failure::BadInput(format!(
                "{}: the log starts at record {base}, after the {covered} records {} covers: records are missing",
                log_path.display(),
                state_path.display()
            )));
        }
        let next = base + records.len() as u64;
        let replay: Vec<Reading> = records
            .into_iter()
            .skip(covered.saturating_sub(base) as usize)
            .collect();
        let mut log = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&log_path)
            .map_err(io(&log_path, "open"))?;
        // Records are numbered on from the last one logged or covered. A log that does not
        // reach that far (none yet, or cut before its first record's number) starts
        // afresh there; otherwise a record cut short by a crash is dropped (it was never
        // acknowledged).
        let start = next.max(covered);
        if good_len == 0 || next < covered {
            log.set_len(0).map_err(io(&log_path, "start afresh"))?;
            log.write_all(&start.to_le_bytes())
                .map_err(io(&log_path, "write"))?;
        } else {
            log.set_len(good_len)
                .map_err(io(&log_path, "cut a torn record"))?;
        }
        log.seek(SeekFrom::End(0)).map_err(io(&log_path, "seek"))?;
        let saved = saved.map(|s| Resumed {
            twin: s.twin,
            session: s.session,
            received: Received {
                events: s.events,
                alerts: s
                    .source_alerts
                    .iter()
                    .filter_map(|a| serde_json::from_str(a).ok())
                    .collect(),
                ..Received::default()
            },
            clean: s.clean,
        });
        // A run killed before its first snapshot left only its log.
        let found = (saved.is_some() || !replay.is_empty()).then_some(Found { saved, replay });
        let state = StateDir {
            dir: dir.to_path_buf(),
            log,
            records: start,
            unsynced: false,
            acks: Vec::new(),
            every,
            last: Instant::now(),
        };
        Ok((state, found))
    }

    /// Appends `record` to the log (not yet on disk: see [`StateDir::commit`]).
    pub fn append(&mut self, record: &Reading) -> Result<(), Failure> {
        let body = postcard::to_stdvec(record).expect("a record encodes");
        let mut head = Vec::with_capacity(RECORD_HEAD + body.len());
        head.extend_from_slice(&(body.len() as u32).to_le_bytes());
        head.extend_from_slice(&blake3::hash(&body).as_bytes()[..8]);
        head.extend_from_slice(&body);
        self.log
            .write_all(&head)
            .map_err(io(&self.dir.join(LOG), "append"))?;
        self.records += 1;
        self.unsynced = true;
        Ok(())
    }

    /// Holds `ack` until the records logged so far are on disk.
    pub fn after_commit(&mut self, ack: Box<dyn FnMut() -> bool + Send>) {
        self.acks.push(ack);
    }

    /// Puts the records logged so far on disk, then sends the acknowledgements held.
    pub fn commit(&mut self) -> Result<(), Failure> {
        if self.unsynced {
            self.log
                .sync_data()
                .map_err(io(&self.dir.join(LOG), "flush to disk"))?;
            self.unsynced = false;
        }
        // One the source cannot take yet (its queue is full) is tried again next time.
        self.acks.retain_mut(|ack| !ack());
        Ok(())
    }

    /// Whether a snapshot is due.
    #[allow(
        clippy::disallowed_methods,
        reason = "snapshots are taken at wall-time intervals"
    )]
    pub fn due(&self) -> bool {
        self.last.elapsed() >= self.every
    }

    /// Saves `twin` (a snapshot's bytes) and `session` as covering every record logged so
    /// far, then starts the log afresh.
    #[allow(
        clippy::disallowed_methods,
        reason = "snapshots are taken at wall-time intervals"
    )]
    pub fn checkpoint(
        &mut self,
        twin: Vec<u8>,
        session: &Session,
        received: &Received,
        clean: bool,
    ) -> Result<(), Failure> {
        self.commit()?;
        let saved = SavedRef {
            twin: &twin,
            session,
            events: received.events,
            source_alerts: received.alerts.iter().map(|a| a.to_string()).collect(),
            covered: self.records,
            clean,
        };
        let body = postcard::to_stdvec(&saved).expect("a live state encodes");
        let path = self.dir.join(STATE);
        write_durably(&path, &seal(MAGIC, VERSION, &body))?;
        // The snapshot covers the log: start it afresh at the next record.
        let log_path = self.dir.join(LOG);
        write_durably(&log_path, &self.records.to_le_bytes())?;
        self.log = OpenOptions::new()
            .append(true)
            .open(&log_path)
            .map_err(io(&log_path, "open"))?;
        self.last = Instant::now();
        Ok(())
    }
}

/// The twin's snapshot in `bytes`, read from `path`: the bytes themselves when they are a
/// snapshot, the one inside when they are a live twin's state.
pub fn twin_of(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, Failure> {
    if !bytes.starts_with(MAGIC) {
        return Ok(bytes);
    }
    let body = unseal(MAGIC, VERSION, &bytes)
        .map_err(|e| Failure::BadInput(format!("{}: cannot read: {e}", path.display())))?;
    postcard::from_bytes::<Saved>(body)
        .map(|s| s.twin)
        .map_err(|e| {
            Failure::BadInput(format!(
                "{}: cannot read: it does not decode ({e})",
                path.display()
            ))
        })
}

/// Reads the log at `path`: the number of its first record, its whole records, and the
/// length of the file they fill (0 when there is no log).
fn read_log(path: &Path) -> Result<(u64, Vec<Reading>, u64), Failure> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes).map_err(io(path, "read"))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, Vec::new(), 0)),
        Err(e) => return Err(io(path, "read")(e)),
    }
    let Some(base) = bytes.get(..8) else {
        // Cut before its first record's number: nothing in it was acknowledged.
        return Ok((0, Vec::new(), 0));
    };
    let base = u64::from_le_bytes(base.try_into().expect("eight bytes"));
    let mut at = 8;
    let mut records = Vec::new();
    while let Some(head) = bytes.get(at..at + RECORD_HEAD) {
        let len = u32::from_le_bytes(head[..4].try_into().expect("four bytes")) as usize;
        let Some(body) = bytes.get(at + RECORD_HEAD..at + RECORD_HEAD + len) else {
            break;
        };
        if blake3::hash(body).as_bytes()[..8] != head[4..] {
            break;
        }
        let Ok(record) = postcard::from_bytes::<Reading>(body) else {
            break;
        };
        records.push(record);
        at += RECORD_HEAD + len;
    }
    Ok((base, records, at as u64))
}

/// Writes `bytes` to `path` through a temporary file flushed to disk, so that `path` holds
/// the old contents or the new, never half (a crash leaves one or the other).
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).map_err(io(&tmp, "create"))?;
    f.write_all(bytes).map_err(io(&tmp, "write"))?;
    f.sync_all().map_err(io(&tmp, "flush to disk"))?;
    std::fs::rename(&tmp, path).map_err(io(path, "replace"))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Flushes a directory's entries (a rename in it) to disk.
fn sync_dir(dir: &Path) -> Result<(), Failure> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "flush to disk"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn refused(i: usize) -> Reading {
        Reading::Refused {
            source: Arc::from("test"),
            line: Some(i),
            reason: "r".into(),
            raw: i.to_string(),
        }
    }

    fn lines(found: &Option<Found>) -> Vec<usize> {
        found.as_ref().map_or(Vec::new(), |f| {
            f.replay
                .iter()
                .map(|r| match r {
                    Reading::Refused { line, .. } | Reading::Event { line, .. } => line.unwrap(),
                })
                .collect()
        })
    }

    #[test]
    fn records_after_the_snapshot_come_back_once_whatever_became_of_the_log() {
        let dir = std::env::temp_dir().join(format!("twinline-durable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let hour = Duration::from_secs(3600);
        let (mut st, found) = StateDir::open(&dir, hour).unwrap();
        assert!(found.is_none());
        for i in 0..3 {
            st.append(&refused(i)).unwrap();
        }
        st.commit().unwrap();
        // Killed before any snapshot: the whole log comes back.
        drop(st);
        let (mut st, found) = StateDir::open(&dir, hour).unwrap();
        assert_eq!(lines(&found), [0, 1, 2]);
        assert!(found.unwrap().saved.is_none());
        st.checkpoint(vec![7], &Session::new(0.0), &Received::default(), false)
            .unwrap();
        st.append(&refused(3)).unwrap();
        st.append(&refused(4)).unwrap();
        st.commit().unwrap();
        drop(st);
        let (st, found) = StateDir::open(&dir, hour).unwrap();
        assert_eq!(lines(&found), [3, 4]);
        assert_eq!(found.unwrap().saved.unwrap().twin, [7]);
        drop(st);
        // A record cut short at the end is dropped, and the log goes on after the last
        // whole one.
        let log = dir.join(LOG);
        let mut bytes = std::fs::read(&log).unwrap();
        bytes.extend_from_slice(&[9, 0, 0, 0, 1, 2]);
        std::fs::write(&log, &bytes).unwrap();
        let (mut st, found) = StateDir::open(&dir, hour).unwrap();
        assert_eq!(lines(&found), [3, 4]);
        st.append(&refused(5)).unwrap();
        st.commit().unwrap();
        drop(st);
        let (st, found) = StateDir::open(&dir, hour).unwrap();
        assert_eq!(lines(&found), [3, 4, 5]);
        drop(st);
        // The log lost after a snapshot: records go on after the ones it covers.
        std::fs::remove_file(&log).unwrap();
        let (mut st, found) = StateDir::open(&dir, hour).unwrap();
        assert_eq!(lines(&found), Vec::<usize>::new());
        st.append(&refused(6)).unwrap();
        st.commit().unwrap();
        drop(st);
        let (_, found) = StateDir::open(&dir, hour).unwrap();
        assert_eq!(lines(&found), [6]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
