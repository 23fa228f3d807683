//! `twinline live`: the twin paced to the wall clock, taking inventory events as they come
//! from MQTT topics or standard input (NDJSON), and the pacing loop that paced replays
//! share.
//!
//! Sources run on their own threads and hand events to the engine through one bounded
//! channel ([`CHANNEL_CAPACITY`]): when the engine falls behind, a source blocks, and a
//! blocked MQTT reader stops reading its socket, so the broker holds the backlog (QoS 1).
//!
//! The twin runs a lateness window behind the feed clock: events may arrive out of order
//! within the window and still apply in (`ts`, `event_id`) order, exactly as a replay of
//! the same events would; later ones apply on arrival as corrections.

pub mod durable;
pub mod mqtt;
pub mod projection;
pub mod stdin;

use crate::Failure;
use crate::feed_report::{FedRun, Quarantine, Version, report};
use crate::pace::Pace;
use crate::stream::RunFiles;
use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError, bounded};
use feeds::{FeedEvent, Ingestion, Timestamp};
use serde_json::json;
use sim::{SimDuration, SimTime};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twin_models::kpi::PlantAlert;
use twin_models::{RunSpec, Scenario, Twin};

/// Events in flight between the sources and the engine, at most.
pub const CHANNEL_CAPACITY: usize = 16_384;

/// How often the paced engine looks at the clock when nothing arrives.
const TICK: Duration = Duration::from_millis(20);

/// Arrivals taken in one round before the clock moves again.
const ROUND: usize = 65_536;

/// What a source read: an event, or a line refused (what the state directory logs).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Reading {
    /// A valid event, and where it was read (a line number where lines are counted).
    Event {
        source: Arc<str>,
        line: Option<usize>,
        event: FeedEvent,
    },
    /// A line that is not a valid event.
    Refused {
        source: Arc<str>,
        line: Option<usize>,
        reason: String,
        raw: String,
    },
}

/// What a source hands the engine.
pub enum Arrival {
    /// A line read.
    Read(Reading),
    /// The source has no more (end of standard input).
    Ended,
    /// The source can never deliver (a broker refused the credentials): the run ends.
    Fatal { source: Arc<str>, reason: String },
    /// A line read back from the state directory's log after a restart: taken as it was
    /// taken before, and not logged again.
    Logged(Reading),
    /// Acknowledges to the source what it sent before (an MQTT message's events): to be
    /// called once they are safe (with `--state`, on disk); `false` when it could not be
    /// sent yet (the source's queue is full), to be tried again.
    Ack(Box<dyn FnMut() -> bool + Send>),
}

/// What a live run knows of its feed: the ingestion, the quarantine, the sources seen (by
/// the number the ingestion knows them by), the alerts already sent, and the restarts so
/// far. With `--state` it is saved with the twin.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub ingestion: Ingestion,
    pub quarantine: Quarantine,
    pub sources: Vec<Arc<str>>,
    /// Alerts already sent (feed, plant).
    pub shown: (usize, usize),
    pub restarts: Vec<durable::Restart>,
}

impl Session {
    /// A session of a feed read with `lateness` seconds of window.
    pub fn new(lateness: f64) -> Self {
        Session {
            ingestion: Ingestion::new(lateness),
            quarantine: Quarantine::default(),
            sources: Vec::new(),
            shown: (0, 0),
            restarts: Vec::new(),
        }
    }
}

/// Where alerts go as they are raised: standard output (NDJSON), and an MQTT topic.
pub struct AlertSink {
    mqtt: Option<mqtt::AlertPublisher>,
}

impl AlertSink {
    /// Alerts to standard output only.
    pub fn stdout() -> Self {
        AlertSink { mqtt: None }
    }

    /// Sends one alert (site: where it goes on MQTT).
    fn emit(&mut self, site: &str, alert: &impl serde::Serialize) {
        let line = serde_json::to_string(alert).expect("an alert serialises");
        crate::say(&format!("{line}\n"));
        if let Some(p) = &mut self.mqtt {
            p.publish(site, line);
        }
    }

    /// Sends the feed's alerts `twin` raised since `shown` (feed, plant: counts sent so
    /// far) and the plant's `new` ones, and moves it on.
    fn catch_up(
        &mut self,
        twin: &Twin<&Scenario>,
        site: &str,
        shown: &mut (usize, usize),
        new: &[PlantAlert],
    ) {
        for a in &twin.feed_alerts()[shown.0..] {
            self.emit(&a.site, a);
        }
        shown.0 = twin.feed_alerts().len();
        for a in new {
            self.emit(site, a);
        }
        shown.1 += new.len();
    }
}

/// The live run's settings from the command line.
pub struct LiveSettings {
    pub mqtt: Vec<String>,
    pub topics: Vec<String>,
    pub client_id: String,
    pub ca: Option<PathBuf>,
    pub stdin: bool,
    pub speed: f64,
    pub start: Option<Timestamp>,
    pub lateness: SimDuration,
    /// A site silent this long raises a `feed_gap` alert.
    pub gap_alert: SimDuration,
    /// The state directory that makes the run survive restarts, if any.
    pub state: Option<PathBuf>,
    /// Wall time between snapshots into the state directory.
    pub state_every: Duration,
    /// Projections of the next hours, if asked for.
    pub projections: Option<projection::ProjectionSettings>,
}

/// What came in, and when (wall seconds from the start).
#[derive(Default)]
pub struct Received {
    pub events: u64,
    pub first_s: Option<f64>,
    pub last_s: Option<f64>,
    /// A source that can never deliver, and why: the run stopped there.
    pub fatal: Option<(Arc<str>, String)>,
    /// Alerts about the sources themselves (not the twin's): they join alerts.ndjson.
    pub alerts: Vec<serde_json::Value>,
    /// The run's files could not be written as it went (it ran on without them).
    pub write_failed: Option<Failure>,
    /// The state directory could not be written: the run stopped there (it would no
    /// longer survive a restart).
    pub state_failed: Option<Failure>,
}

/// The pacing loop: moves the twin along `pace`, a `lateness` behind it, offering events
/// from `arrivals` as their time comes, until the horizon or until `stop` is set (Ctrl-C).
/// `sources` is how many sources may send [`Arrival::Ended`]; once all have, everything
/// held is offered.
#[allow(clippy::too_many_arguments)]
pub fn drive(
    twin: &mut Twin<&Scenario>,
    pace: &Pace,
    lateness: SimDuration,
    session: &mut Session,
    arrivals: Option<&Receiver<Arrival>>,
    sources: usize,
    alerts: &mut AlertSink,
    site: &str,
    stop: &AtomicBool,
    mut files: Option<&mut RunFiles>,
    mut state: Option<&mut durable::StateDir>,
    mut projector: Option<&mut projection::Projector>,
    received: &mut Received,
) {
    let start = twin
        .real_time(SimTime::ZERO)
        .expect("a paced twin has a start");
    let mut ended = 0usize;
    let mut flushed = false;
    // The sources seen (MQTT topics may be many) by number, and that number by name.
    let mut numbers: std::collections::BTreeMap<Arc<str>, u32> = session
        .sources
        .iter()
        .enumerate()
        .map(|(k, name)| (name.clone(), k as u32))
        .collect();
    let mut take = |a: Arrival,
                    ended: &mut usize,
                    session: &mut Session,
                    received: &mut Received,
                    state: Option<&mut durable::StateDir>| {
        let a = match (a, state) {
            (Arrival::Logged(r), _) => Arrival::Read(r),
            // With a state directory, every line read is logged before it counts, and
            // acknowledgements wait until it is on disk.
            (Arrival::Read(r), Some(st)) => {
                if let Err(e) = st.append(&r) {
                    received.state_failed.get_or_insert(e);
                    return;
                }
                Arrival::Read(r)
            }
            (Arrival::Ack(ack), Some(st)) => {
                st.after_commit(ack);
                return;
            }
            (a, _) => a,
        };
        let Session {
            ingestion,
            quarantine,
            sources: names,
            ..
        } = session;
        match a {
            Arrival::Read(Reading::Event {
                source,
                line,
                event,
            }) => {
                let at = pace.wall().as_secs_f64();
                received.first_s.get_or_insert(at);
                received.last_s = Some(at);
                received.events += 1;
                let k = *numbers.entry(source.clone()).or_insert_with(|| {
                    names.push(source);
                    names.len() as u32 - 1
                });
                let origin = feeds::Origin {
                    source: k,
                    line: line.unwrap_or(0),
                };
                if let feeds::Admission::Conflict(c) = ingestion.offer(event, origin) {
                    // The lines are not kept: each version is shown as the twin read it.
                    let withdrawn = c.withdrawn.as_ref().map(feeds::FeedEvent::to_ndjson);
                    let first = Version {
                        source: &names[c.first.source as usize],
                        line: (c.first.line > 0).then_some(c.first.line),
                        raw: withdrawn.as_deref().unwrap_or(""),
                    };
                    let refused = Version {
                        source: &names[k as usize],
                        line,
                        raw: &c.event.to_ndjson(),
                    };
                    quarantine.conflict(&c, refused, first);
                }
            }
            Arrival::Read(Reading::Refused {
                source,
                line,
                reason,
                raw,
            }) => {
                ingestion.quarantine();
                quarantine.add(&source, line, &reason, &raw);
            }
            Arrival::Ended => *ended += 1,
            Arrival::Fatal { source, reason } => {
                received.fatal.get_or_insert((source, reason));
            }
            Arrival::Ack(mut ack) => {
                // Without a state directory the sources acknowledge on their own.
                let _ = ack();
            }
            Arrival::Logged(_) => unreachable!("read back above"),
        }
    };
    loop {
        if let Some(rx) = arrivals {
            for _ in 0..ROUND {
                match rx.try_recv() {
                    Ok(a) => take(a, &mut ended, session, received, state.as_deref_mut()),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        ended = sources;
                        break;
                    }
                }
            }
        }
        // What was logged reaches the disk before the sources hear it was received.
        if let Some(st) = state.as_deref_mut()
            && let Err(e) = st.commit()
        {
            received.state_failed.get_or_insert(e);
        }
        if received.state_failed.is_some() {
            return;
        }
        // Once every source has ended nothing more can come: no need to wait for it.
        let behind = if ended >= sources {
            SimDuration::ZERO
        } else {
            lateness
        };
        let target = pace.now_less(behind).min(twin.horizon());
        // Until the clock is past time 0, events dated at or before the start still come
        // in as the opening state, in order.
        let waiting = target == SimTime::ZERO && ended < sources;
        let ready = if waiting {
            Vec::new()
        } else if ended >= sources && !flushed {
            flushed = true;
            session.ingestion.flush()
        } else {
            session
                .ingestion
                .release_until(Timestamp(start.0 + target.0 as i64))
        };
        twin.offer(ready).expect("a paced twin has a start");
        let mut taken = None;
        if !waiting {
            twin.advance_to(target);
            if let Some(f) = files.as_deref_mut() {
                match f.take(twin) {
                    Ok(alerts) => taken = Some(alerts),
                    Err(e) => {
                        received.write_failed.get_or_insert(e);
                        files = None;
                    }
                }
            }
        }
        // The plant's new alerts: those the files took; none while they have yet to take
        // them; else the twin gives them up (its KPIs keep the first ones), unless it
        // keeps them all for its snapshots (a state directory).
        let new = match taken {
            Some(taken) => taken,
            None if files.is_some() => Vec::new(),
            None if state.is_some() => twin.plant_alerts()[session.shown.1..].to_vec(),
            None => twin.take_alerts(),
        };
        alerts.catch_up(twin, site, &mut session.shown, &new);
        if let Some(p) = projector.as_deref_mut()
            && let Some(doc) = p.tick(twin, alerts, site)
        {
            received.alerts.push(doc);
        }
        if let Some(st) = state.as_deref_mut()
            && st.due()
            && let Err(e) = st.checkpoint(twin.save(), session, received, false)
        {
            received.state_failed.get_or_insert(e);
            return;
        }
        if let Some((source, reason)) = &received.fatal {
            // Loud, before the run ends with its error.
            let alert = json!({
                "at_s": twin.now().as_secs_f64(),
                "kind": "feed_source_refused",
                "source": source.as_ref(),
                "hint": format!("{reason}: check the credentials and the broker's access list; the run stops here"),
            });
            alerts.emit(site, &alert);
            received.alerts.push(alert);
            return;
        }
        if twin.done() || stop.load(Ordering::SeqCst) {
            return;
        }
        match arrivals.filter(|_| ended < sources) {
            Some(rx) => match rx.recv_timeout(TICK) {
                Ok(a) => take(a, &mut ended, session, received, state.as_deref_mut()),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => ended = sources,
            },
            None => std::thread::sleep(TICK),
        }
    }
}

/// Starts writing the run's series, timeline and plant alerts into `out` as it goes, if
/// given.
pub fn start_files(
    out: Option<&Path>,
    twin: &Twin<&Scenario>,
) -> Result<Option<RunFiles>, Failure> {
    out.map(|dir| RunFiles::create(dir, twin)).transpose()
}

/// Finishes the files [`start_files`] began with what `output` holds; the first write
/// that failed on the way, if any, is the error.
pub fn end_files(
    files: Option<RunFiles>,
    output: &mut twin_models::RunOutput,
    received: &mut Received,
) -> Result<(), Failure> {
    if let Some(e) = received.write_failed.take() {
        return Err(e);
    }
    files.map_or(Ok(()), |f| f.finish(output))
}

/// Runs `twinline live`.
pub fn run(
    path: &Path,
    settings: LiveSettings,
    spec_of: impl Fn(&twin_models::Scenario) -> Result<RunSpec, Failure>,
    out: Option<&Path>,
    reproducible: bool,
) -> Result<(), Failure> {
    let (scenario, spec) = crate::feed_report::scenario_and_spec(path, spec_of, out)?;
    if let Some(p) = settings.projections
        && !(1..=twin_models::MAX_REPLICATIONS).contains(&p.reps)
    {
        return Err(Failure::BadInput(format!(
            "--project-reps {}: between 1 and {} futures",
            p.reps,
            twin_models::MAX_REPLICATIONS
        )));
    }
    if settings.mqtt.is_empty() && !settings.stdin {
        return Err(Failure::BadInput(
            "live needs a source: --mqtt URL (with --topic), or --stdin".into(),
        ));
    }
    let start = settings.start.unwrap_or_else(now);
    let (tx, rx) = bounded(CHANNEL_CAPACITY);
    let pace = Pace::new(settings.speed);
    let mut links = Vec::new();
    let mut publisher = None;
    for url in &settings.mqtt {
        let broker = mqtt::BrokerUrl::parse(url).map_err(Failure::BadInput)?;
        if broker.sends_credentials_in_clear() {
            eprintln!(
                "live: warning: the credentials for {} go over plain TCP, unencrypted; use mqtts:// (TLS)",
                broker.shown
            );
        }
        let link = Arc::new(Mutex::new(mqtt::Link::new(&broker.shown)));
        let config = mqtt::Subscription {
            broker,
            topics: settings.topics.clone(),
            client_id: if settings.mqtt.len() > 1 {
                format!("{}-{}", settings.client_id, links.len())
            } else {
                settings.client_id.clone()
            },
            ca: settings.ca.clone(),
            // With a state directory a message is acknowledged once its events are on disk.
            manual_acks: settings.state.is_some(),
        };
        let client = mqtt::spawn(config, tx.clone(), link.clone(), pace.began())?;
        publisher.get_or_insert(mqtt::AlertPublisher::new(client));
        links.push(link);
    }
    if settings.stdin {
        stdin::spawn(tx.clone());
    }
    // Only the sources hold senders: when they all stop, the channel says so.
    drop(tx);
    let sources = settings.mqtt.len() + usize::from(settings.stdin);
    let mut alerts = AlertSink { mqtt: publisher };
    // Ctrl-C (or SIGTERM) ends the run where it is, with its results written.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| Failure::Io(format!("cannot take Ctrl-C to end the run cleanly: {e}")))?;
    }
    let (mut state, found) = match &settings.state {
        Some(dir) => {
            let (state, found) = durable::StateDir::open(dir, settings.state_every)?;
            (Some(state), found)
        }
        None => (None, None),
    };
    let mut session = Session::new(settings.lateness.as_secs_f64());
    let mut received = Received::default();
    let mut backlog = Vec::new();
    let (mut twin, pace) = match found {
        None => (
            Twin::live(&scenario, spec, start),
            Pace::new(settings.speed),
        ),
        Some(found) => {
            let dir = settings
                .state
                .as_deref()
                .expect("found in a state directory");
            let (twin, clean) = match found.saved {
                Some(saved) => {
                    let refused =
                        |e| Failure::BadInput(format!("{}: cannot resume: {e}", dir.display()));
                    let snap = twin_models::plant::save::read(&saved.twin).map_err(refused)?;
                    let twin = Twin::resume(&scenario, snap.run).map_err(refused)?;
                    session = saved.session;
                    received = saved.received;
                    (twin, saved.clean)
                }
                // Killed before its first snapshot: from the start, with its log.
                None => (Twin::live(&scenario, spec, start), false),
            };
            let restart = durable::Restart {
                from_s: twin.now().as_secs_f64(),
                replayed: found.replay.len() as u64,
                clean,
            };
            let alert = json!({
                "at_s": restart.from_s,
                "kind": "twin_restarted",
                "source": dir.display().to_string(),
                "hint": format!(
                    "the twin resumed from its state at {:.0} s simulated with {} logged arrivals after it ({}); events the sources send again are duplicates",
                    restart.from_s,
                    restart.replayed,
                    if restart.clean { "it had stopped cleanly" } else { "it had not stopped cleanly" }
                ),
            });
            alerts.emit(&scenario.name, &alert);
            received.alerts.push(alert);
            session.restarts.push(restart);
            backlog = found.replay;
            // The clock goes on from the snapshot, a lateness ahead (the twin is that far
            // behind the feed clock).
            let pace = Pace::resumed(settings.speed, twin.now() + settings.lateness);
            (twin, pace)
        }
    };
    let mut spec = twin.spec();
    twin.set_gap_alert(settings.gap_alert);
    eprintln!(
        "live: {} from {}, {}× real time, {:.0} s behind the feed clock",
        scenario.name,
        twin.real_time(SimTime::ZERO).unwrap_or(start),
        settings.speed,
        settings.lateness.as_secs_f64()
    );
    // With a state directory the series and timeline stay in the twin (they are part of
    // its snapshots) and are written at the end.
    let mut files = if state.is_some() {
        None
    } else {
        start_files(out, &twin)?
    };
    let alerts_written = files.is_some();
    let mut projector = settings
        .projections
        .map(|p| projection::Projector::new(p, &scenario, twin.now(), out))
        .transpose()?;
    // Arrivals logged after the last snapshot come first, as they came before.
    let rx = if backlog.is_empty() {
        rx
    } else {
        let (merged, merged_rx) = bounded(CHANNEL_CAPACITY);
        std::thread::spawn(move || {
            let logged = backlog.into_iter().map(Arrival::Logged);
            for a in logged.chain(rx) {
                if merged.send(a).is_err() {
                    return;
                }
            }
        });
        merged_rx
    };
    drive(
        &mut twin,
        &pace,
        settings.lateness,
        &mut session,
        Some(&rx),
        sources,
        &mut alerts,
        &scenario.name,
        &stop,
        files.as_mut(),
        state.as_mut(),
        projector.as_mut(),
        &mut received,
    );
    if let Some(p) = projector.as_mut()
        && let Some(doc) = p.finish(&twin, &mut alerts, &scenario.name)
    {
        received.alerts.push(doc);
    }
    if let Some(e) = received.state_failed.take() {
        return Err(e);
    }
    if let Some(st) = state.as_mut() {
        // The state as the run stops: a restart goes on from here.
        st.checkpoint(twin.save(), &session, &received, true)?;
    }
    if !twin.done() {
        spec.horizon = twin.stop_here();
        if spec.warmup > spec.horizon {
            spec.warmup = sim::SimDuration::ZERO;
        }
        eprintln!(
            "live: interrupted at {:.0} s simulated; the results cover the run up to there",
            spec.horizon.as_secs_f64()
        );
    }
    // What is still held is dated past the horizon: counted, as a replay counts it.
    twin.offer(session.ingestion.flush())
        .expect("a live twin has a start");
    let mut output = twin.finish();
    end_files(files, &mut output, &mut received)?;
    let wall = pace.wall().as_secs_f64();
    let sources_doc: Vec<serde_json::Value> = links
        .iter()
        .map(|l| l.lock().expect("the link report is not poisoned").to_json())
        .chain(settings.stdin.then(|| json!({ "source": "stdin" })))
        .collect();
    // The rate while events came: from the first to the last.
    let span = match (received.first_s, received.last_s) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let live = json!({
        "start": start.to_string(),
        "speed": settings.speed,
        "lateness_s": settings.lateness.as_secs_f64(),
        "wall_s": wall,
        "received": received.events,
        "first_event_s": received.first_s,
        "last_event_s": received.last_s,
        "events_per_s": if span > 0.0 { received.events as f64 / span } else { 0.0 },
        "alerts_published": alerts.mqtt.as_ref().map_or(0, |p| p.published),
        "alerts_not_published": alerts.mqtt.as_ref().map_or(0, |p| p.failed),
        "sources": sources_doc,
        "restarts": session.restarts,
        "projections": projector.as_ref().map_or(0, |p| p.made),
    });
    report(
        FedRun {
            scenario: &scenario,
            spec,
            output,
            counters: session.ingestion.counters().clone(),
            quarantine: session.quarantine,
            wall_s: wall,
            extra: Some(("live", live)),
            source_alerts: received.alerts,
            alerts_written,
        },
        out,
        reproducible,
    )?;
    match received.fatal {
        Some((source, reason)) => Err(Failure::BadInput(format!("live: {source}: {reason}"))),
        None => Ok(()),
    }
}

/// The wall clock as a feed timestamp.
#[allow(
    clippy::disallowed_methods,
    reason = "a live run starts at the real time now"
)]
fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(since.as_nanos() as i64)
}
