//! `twinline live` end to end: NDJSON on standard input ends exactly as a replay of the
//! same file, and a real Mosquitto broker killed and restarted mid-stream loses nothing and
//! applies nothing twice.
//!
//! The MQTT test starts its own `mosquitto` (Debian package `mosquitto`, which
//! `scripts/test.sh` installs) on a free loopback port, with persistence in a folder of
//! its own.

use rumqttc::{Client, MqttOptions, QoS};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

mod common;

use common::root;

fn temp_dir(name: &str) -> common::Scratch {
    common::scratch_dir("live", name)
}

fn kpis(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("kpis.json")).unwrap()).unwrap()
}

/// `live` on the AGV plant from 06:00 at 7,200× real time, 2 h, an hour behind the feed
/// clock, with `input` on standard input and its results in `out`.
fn stdin_live(input: &[u8], out: &Path) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["live", "scenarios/plant-agv.toml", "--stdin"])
        .args(["--start", "2026-11-23T06:00:00Z", "--speed", "7200"])
        .args([
            "--lateness",
            "1h",
            "--horizon",
            "2h",
            "--reproducible",
            "--out",
        ])
        .arg(out)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn events_on_stdin_end_as_the_replay_of_the_same_file() {
    let feed = std::fs::read(root().join("scenarios/feeds/plant-agv.ndjson")).unwrap();
    let (live_dir, replay_dir) = (temp_dir("stdin"), temp_dir("stdin-replay"));
    // 2 h at 7,200× is a wall second; the twin keeps an hour (half a wall second) behind
    // the feed clock, so every event of the file is in before its time comes.
    let live = stdin_live(&feed, &live_dir);
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let replay = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["replay", "scenarios/plant-agv.toml"])
        .args(["--feed", "scenarios/feeds/plant-agv.ndjson"])
        .args(["--horizon", "2h", "--reproducible", "--out"])
        .arg(&replay_dir)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(replay.status.success());
    let mut l = kpis(&live_dir);
    let r = kpis(&replay_dir);
    let section = l.as_object_mut().unwrap().remove("live").unwrap();
    assert_eq!(section["received"], 1890, "every valid line of the file");
    assert_eq!(l["ingestion"]["late_corrections"], 0);
    assert_eq!(l, r, "the live run's KPIs are the replay's");
    // The same lines refused for the same reasons (only the source's name differs).
    let reasons = |dir: &Path| -> Vec<String> {
        std::fs::read_to_string(dir.join("quarantine.ndjson"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{} {}", v["line"], v["reason"])
            })
            .collect()
    };
    assert_eq!(reasons(&live_dir).len(), 2);
    assert_eq!(reasons(&live_dir), reasons(&replay_dir));
}

/// A Mosquitto broker of the test's own on `port`, persisting to `dir`.
struct Broker {
    child: Child,
}

impl Broker {
    fn start(dir: &Path, port: u16) -> Broker {
        Self::start_with(dir, port, "allow_anonymous true\n")
    }

    /// A broker that takes only `user` with `password` (a password file made by
    /// `mosquitto_passwd`, from the same package).
    fn start_with_password(dir: &Path, port: u16, user: &str, password: &str) -> Broker {
        let file = dir.join("passwords");
        let made = mosquitto_passwd(&file, user, password);
        assert!(made.success());
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        Self::start_with(
            dir,
            port,
            &format!("allow_anonymous false\npassword_file {}\n", file.display()),
        )
    }

    fn start_with(dir: &Path, port: u16, access: &str) -> Broker {
        // Started as root, mosquitto runs as its own user: it must be able to save there.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{access}persistence true\n\
                 persistence_location {}/\nmax_queued_messages 0\n",
                dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(mosquitto())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        // Dropping the broker kills and waits for it, whatever happens next.
        let broker = Broker { child };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return broker;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("mosquitto did not open port {port}");
    }

    /// Stops the broker as an operator would (SIGTERM: it saves its state first).
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a Mosquitto password file holding `user` with `password`.
fn mosquitto_passwd(file: &Path, user: &str, password: &str) -> std::process::ExitStatus {
    let tool = ["/usr/bin/mosquitto_passwd", "/usr/sbin/mosquitto_passwd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("mosquitto_passwd"));
    Command::new(tool)
        .arg("-b")
        .arg("-c")
        .arg(file)
        .args([user, password])
        .status()
        .expect("mosquitto_passwd (package mosquitto) runs")
}

fn mosquitto() -> PathBuf {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("the MQTT tests need a Mosquitto broker: run scripts/test.sh, which installs it")
}

/// `twinline live` on the bundled plant from 06:00 with `source` and `pace` flags, writing
/// to `out`; its standard error comes line by line on the receiver.
fn spawn_live(source: &[&str], pace: &[&str], out: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut twin = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["live", "scenarios/plant-agv.toml"])
        .args(source)
        .args(["--start", "2026-11-23T06:00:00Z"])
        .args(pace)
        .arg("--out")
        .arg(out)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (said_tx, said) = mpsc::channel::<String>();
    let stderr = twin.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = said_tx.send(line);
        }
    });
    (twin, said)
}

/// `live` on the bundled plant subscribed to `topic` on the test broker at `port` as
/// client `client` (made unique to this process), 2 h at 1,200× real time, 5 min behind
/// the feed clock.
fn live_on_broker(
    port: u16,
    topic: &str,
    client: &str,
    out: &Path,
) -> (Child, mpsc::Receiver<String>) {
    let url = format!("mqtt://127.0.0.1:{port}");
    let client_id = format!("{client}-{}", std::process::id());
    spawn_live(
        &["--mqtt", &url, "--topic", topic, "--client-id", &client_id],
        &["--speed", "1200", "--lateness", "5min", "--horizon", "2h"],
        out,
    )
}

/// Collects what twinline says into `log` until a line contains `what`.
fn wait_for(said: &mpsc::Receiver<String>, log: &mut Vec<String>, what: &str) {
    while !log.iter().any(|l| l.contains(what)) {
        log.push(
            said.recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("twinline did not say `{what}`: {log:?}")),
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One receipt of a single cap, `i` seconds after 06:00.
fn receipt(i: usize) -> String {
    let (h, m, s) = (6 + i / 3600, i / 60 % 60, i % 60);
    format!(
        r#"{{"event_id":"r-{i:05}","ts":"2026-11-23T{h:02}:{m:02}:{s:02}Z","site":"plant-agv","material":"test-caps","location":"warehouse","kind":"receipt","qty":1,"unit":"pcs"}}"#
    )
}

/// The position of the receipts' test caps in a run's KPIs.
fn test_caps(k: &serde_json::Value) -> serde_json::Value {
    k["runs"][0]["kpis"]["feed"]["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["material"] == "test-caps")
        .unwrap_or_else(|| panic!("no test-caps position: {k}"))
        .clone()
}

/// A publisher of receipts on the bundled plant's inventory topics: QoS 1 on a persistent
/// session, reconnecting as the twin does, counting what it sent and what the broker
/// acknowledged.
struct Sender {
    sent: Arc<AtomicUsize>,
    acked: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Client>,
}

impl Sender {
    /// Sends `events` receipts made by `receipt` (every `twice`-th one a second time, as a
    /// sender retrying would), resting `rest` every `every` events.
    fn start(
        port: u16,
        name: &str,
        events: usize,
        receipt: fn(usize) -> String,
        twice: Option<usize>,
        (every, rest): (usize, Duration),
    ) -> Sender {
        let mut options =
            MqttOptions::new(format!("{name}-{}", std::process::id()), "127.0.0.1", port);
        options
            .set_clean_session(false)
            .set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = Client::new(options, 64);
        let done = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicUsize::new(0));
        {
            let (done, acked) = (done.clone(), acked.clone());
            std::thread::spawn(move || {
                for n in connection.iter() {
                    match n {
                        Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {}
                        Err(_) if done.load(Ordering::SeqCst) => return,
                        Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    }
                }
            });
        }
        let sent = Arc::new(AtomicUsize::new(0));
        let thread = {
            let sent = sent.clone();
            std::thread::spawn(move || {
                for i in 0..events {
                    let topic = format!("twinline/plant-agv/inventory/{}", i % 3);
                    client
                        .publish(topic.clone(), QoS::AtLeastOnce, false, receipt(i))
                        .unwrap();
                    if twice.is_some_and(|k| i % k == 0) {
                        client
                            .publish(topic, QoS::AtLeastOnce, false, receipt(i))
                            .unwrap();
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                    if i % every == 0 {
                        std::thread::sleep(rest);
                    }
                }
                client
            })
        };
        Sender {
            sent,
            acked,
            done,
            thread,
        }
    }

    /// Waits until it has sent `n`.
    fn reached(&self, n: usize) {
        while self.sent.load(Ordering::SeqCst) < n {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits until it has sent everything and `twin` has ended: the twin's exit status,
    /// and the receipts sent and acknowledged.
    fn finish(self, twin: &mut Child) -> (std::process::ExitStatus, usize, usize) {
        let client = self.thread.join().unwrap();
        let status = twin.wait().unwrap();
        self.done.store(true, Ordering::SeqCst);
        let _ = client.try_disconnect();
        (
            status,
            self.sent.load(Ordering::SeqCst),
            self.acked.load(Ordering::SeqCst),
        )
    }
}

#[test]
fn a_broker_restarted_mid_stream_loses_no_event_and_applies_none_twice() {
    const EVENTS: usize = 3_000;
    let dir = temp_dir("mqtt");
    let out = dir.join("out");
    let port = free_port();
    let mut broker = Some(Broker::start(&dir, port));
    // 2 h at 1,200× is six wall seconds; the events are dated within the first 50 min.
    let (mut twin, said) = live_on_broker(port, "twinline/+/inventory/#", "twin", &out);
    let mut log = Vec::new();
    wait_for(&said, &mut log, "subscribed");
    // Every 100th receipt is sent twice, as a sender retrying would.
    let sender = Sender::start(
        port,
        "sender",
        EVENTS,
        receipt,
        Some(100),
        (50, Duration::from_millis(20)),
    );
    // Mid-stream, the broker goes down for a second and comes back.
    sender.reached(EVENTS / 3);
    broker.take().unwrap().stop();
    std::thread::sleep(Duration::from_secs(1));
    let _broker = Broker::start(&dir, port);
    let (status, sent, acked) = sender.finish(&mut twin);
    while let Ok(l) = said.try_recv() {
        log.push(l);
    }
    assert!(status.success(), "{log:?}");
    assert!(
        sent == EVENTS && acked >= EVENTS,
        "the broker took every event: {sent} sent, {acked} acknowledged; {log:?}"
    );
    let k = kpis(&out);
    let position = test_caps(&k);
    // Exactly once: every receipt counted, none twice.
    assert_eq!(position["on_hand"], EVENTS as f64, "{log:?}");
    assert_eq!(k["ingestion"]["accepted"], EVENTS);
    assert_eq!(k["ingestion"]["quarantined"], 0);
    assert!(k["ingestion"]["duplicates"].as_u64().unwrap() >= (EVENTS / 100) as u64);
    // The outage is on the record.
    let link = &k["live"]["sources"][0];
    assert!(link["connects"].as_u64().unwrap() >= 2, "{link}");
    let outages = link["outages"].as_array().unwrap();
    assert!(!outages.is_empty(), "{link}");
    assert!(outages[0]["lasted_s"].as_f64().unwrap() > 0.5, "{link}");
}

#[test]
#[allow(clippy::disallowed_methods, reason = "pacing is measured in wall time")]
fn a_paced_replay_takes_its_time_prints_alerts_as_raised_and_ends_as_the_unpaced_one() {
    // 10,000 kg of shrink film at 06:00, 1,000 taken every 10 min: a warning at 07:00,
    // out at 07:40.
    let dir = temp_dir("paced");
    let mut lines = vec![
        r#"{"event_id":"n","ts":"2026-11-23T06:00:00Z","site":"plant-agv","material":"shrink-film","location":"warehouse","kind":"cycle_count","qty":10000,"unit":"kg"}"#.to_string(),
    ];
    for k in 1..=10 {
        lines.push(format!(
            r#"{{"event_id":"use-{k:02}","ts":"2026-11-23T{:02}:{:02}:00Z","site":"plant-agv","material":"shrink-film","location":"warehouse","kind":"consumption","qty":1000,"unit":"kg"}}"#,
            6 + k * 10 / 60,
            k * 10 % 60
        ));
    }
    let feed = dir.join("run-out.ndjson");
    std::fs::write(&feed, lines.join("\n")).unwrap();
    let replay = |speed: Option<&str>, out: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_twinline"));
        c.args(["replay", "scenarios/plant-agv.toml", "--feed"])
            .arg(&feed)
            .args(["--horizon", "2h", "--reproducible", "--out"])
            .arg(out)
            .current_dir(root());
        if let Some(s) = speed {
            c.args(["--speed", s]);
        }
        let began = std::time::Instant::now();
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (String::from_utf8(o.stdout).unwrap(), began.elapsed())
    };
    let (paced_out, wall) = replay(Some("14400"), &dir.join("paced"));
    let (_, _) = replay(None, &dir.join("unpaced"));
    // 2 h at 14,400× cannot take less than half a second.
    assert!(wall >= Duration::from_millis(500), "{wall:?}");
    let raised: Vec<(String, f64)> = paced_out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["kind"].as_str().unwrap().to_string(),
                v["at_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        raised,
        [
            ("projected_stock_out".to_string(), 3_600.0),
            ("stock_out".to_string(), 6_000.0)
        ]
    );
    assert_eq!(kpis(&dir.join("paced")), kpis(&dir.join("unpaced")));
    // The series and the timeline, written as each run went (tick by tick when paced,
    // in steps when not), are the same bytes.
    for file in [
        "alerts.ndjson",
        "timeseries.csv",
        "timeline.csv",
        "quarantine.ndjson",
    ] {
        let read = |run: &str| std::fs::read_to_string(dir.join(run).join(file)).unwrap();
        assert_eq!(read("paced"), read("unpaced"), "{file}");
    }
    assert!(read_lines(&dir.join("paced/timeseries.csv")) > 20);
    assert!(!dir.join("paced/timeline.csv.part").exists());
}

fn read_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn a_broker_down_at_the_start_is_an_outage_and_nothing_is_lost() {
    const EVENTS: usize = 200;
    let dir = temp_dir("mqtt-late-broker");
    let out = dir.join("out");
    let port = free_port();
    let url = format!("mqtt://127.0.0.1:{port}");
    // 1 h at 1,200× is three wall seconds; the broker comes up after one.
    let client_id = format!("late-{}", std::process::id());
    let (mut twin, said) = spawn_live(
        &["--mqtt", &url, "--client-id", &client_id],
        &[
            "--speed",
            "1200",
            "--lateness",
            "1min",
            "--horizon",
            "1h",
            "--warmup",
            "1min",
        ],
        &out,
    );
    std::thread::sleep(Duration::from_secs(1));
    let _broker = Broker::start(&dir, port);
    let mut log = Vec::new();
    wait_for(&said, &mut log, "subscribed");
    let mut options = MqttOptions::new(
        format!("late-sender-{}", std::process::id()),
        "127.0.0.1",
        port,
    );
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 256);
    let acked = Arc::new(AtomicUsize::new(0));
    let counter = acked.clone();
    std::thread::spawn(move || {
        for n in connection.iter() {
            match n {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    for i in 0..EVENTS {
        client
            .publish(
                "twinline/plant-agv/inventory/late",
                QoS::AtLeastOnce,
                false,
                receipt(i),
            )
            .unwrap();
    }
    let status = twin.wait().unwrap();
    while let Ok(l) = said.try_recv() {
        log.push(l);
    }
    assert!(status.success(), "{log:?}");
    assert_eq!(acked.load(Ordering::SeqCst), EVENTS);
    let k = kpis(&out);
    assert_eq!(k["ingestion"]["accepted"], EVENTS, "{log:?}");
    let link = &k["live"]["sources"][0];
    let outages = link["outages"].as_array().unwrap();
    // Down from the start until the broker came up, about a second later.
    assert_eq!(outages.len(), 1, "{link}");
    assert!(outages[0]["began_s"].as_f64().unwrap() < 0.5, "{link}");
    assert!(outages[0]["lasted_s"].as_f64().unwrap() > 0.5, "{link}");
    assert_eq!(outages[0]["ongoing"], false);
    assert_eq!(link["connects"], 1);
}

#[test]
fn ctrl_c_ends_a_live_run_with_its_results_up_to_then() {
    let dir = temp_dir("interrupted");
    let out = dir.join("out");
    // A day at 600×: far longer than the test waits. Standard input stays open.
    let mut twin = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["live", "scenarios/plant-agv.toml", "--stdin"])
        .args(["--start", "2026-11-23T06:00:00Z", "--speed", "600"])
        .args(["--lateness", "1min", "--horizon", "24h", "--out"])
        .arg(&out)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = twin.stdin.take().unwrap();
    for i in 0..50 {
        writeln!(input, "{}", receipt(i)).unwrap();
    }
    input.flush().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let status = Command::new("kill")
        .args(["-INT", &twin.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = twin.wait_with_output().unwrap();
    drop(input);
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("interrupted at"), "{said}");
    let k = kpis(&out);
    // About 2.5 s × 600 = 25 min simulated, far short of the day; the warm-up (1 h) never
    // ended, so the statistics run from time 0.
    let horizon = k["horizon_s"].as_f64().unwrap();
    assert!(horizon > 600.0 && horizon < 7_200.0, "{horizon}");
    assert_eq!(k["warmup_s"], 0.0);
    assert_eq!(
        k["runs"][0]["kpis"]["measured_s"].as_f64().unwrap(),
        horizon
    );
    // The receipts dated in the first 50 s all applied.
    assert_eq!(k["ingestion"]["accepted"], 50);
    let caps = k["runs"][0]["kpis"]["feed"]["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["material"] == "test-caps")
        .unwrap()
        .clone();
    assert_eq!(caps["on_hand"], 50.0);
}

/// `twinline live` with `args` on the bundled plant, run to its end: exit status, standard
/// output and standard error.
fn live_to_end(args: &[&str], out: &Path) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["live", "scenarios/plant-agv.toml"])
        .args(args)
        .args(["--start", "2026-11-23T06:00:00Z", "--speed", "3600"])
        .args(["--horizon", "30min", "--warmup", "1min"])
        .arg("--out")
        .arg(out)
        .current_dir(root())
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every file under `dir`, as text.
fn every_output(dir: &Path) -> String {
    let mut all = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            all.push_str(&String::from_utf8_lossy(
                &std::fs::read(e.unwrap().path()).unwrap(),
            ));
        }
    }
    all
}

/// `mqtt://user:pass@host` was read as a host name `user:pass@host`: the password went to
/// standard error and kpis.json, and the run retried DNS to the horizon and exited 0.
#[test]
fn regression_credentials_in_the_url_are_used_and_never_shown() {
    let secret = "p@ss-7xq";
    let dir = temp_dir("mqtt-password");
    let port = free_port();
    let _broker = Broker::start_with_password(&dir, port, "twin", secret);
    let out = dir.join("out");
    let url = format!("mqtt://twin:p%40ss-7xq@127.0.0.1:{port}");
    let id = format!("creds-{}", std::process::id());
    let (code, stdout, stderr) = live_to_end(&["--mqtt", &url, "--client-id", &id], &out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("connected to mqtt://127.0.0.1"), "{stderr}");
    assert!(
        stderr.contains("unencrypted"),
        "a warning for plain TCP: {stderr}"
    );
    assert_eq!(kpis(&out)["live"]["sources"][0]["connects"], 1);
    assert_eq!(
        kpis(&out)["live"]["sources"][0]["source"],
        format!("mqtt://127.0.0.1:{port}")
    );
    for (what, text) in [
        ("standard output", stdout),
        ("standard error", stderr),
        ("the files", every_output(&out)),
    ] {
        assert!(
            !text.contains("7xq") && !text.contains("twin:"),
            "{what} shows the credentials: {text}"
        );
    }
}

/// A wrong or missing password ran to the horizon with no event and exited 0.
#[test]
fn regression_a_refused_password_is_an_error_and_a_loud_alert() {
    let dir = temp_dir("mqtt-refused");
    let port = free_port();
    let _broker = Broker::start_with_password(&dir, port, "twin", "right-one");
    for (name, url) in [
        ("wrong", format!("mqtt://twin:wrong-9zq@127.0.0.1:{port}")),
        ("missing", format!("mqtt://127.0.0.1:{port}")),
    ] {
        let out = dir.join(name);
        let id = format!("refused-{name}-{}", std::process::id());
        let (code, stdout, stderr) = live_to_end(&["--mqtt", &url, "--client-id", &id], &out);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("refused the user name or password")
                || stderr.contains("not authorised"),
            "{name}: {stderr}"
        );
        assert!(stdout.contains("feed_source_refused"), "{name}: {stdout}");
        assert!(!stderr.contains("9zq") && !every_output(&out).contains("9zq"));
        assert!(
            out.join("kpis.json").exists(),
            "the results up to then are written"
        );
        let alerts = std::fs::read_to_string(out.join("alerts.ndjson")).unwrap();
        assert!(
            alerts.contains("feed_source_refused"),
            "{name}: the alert is on record too: {alerts}"
        );
    }
}

/// A conflicting `event_id` on standard input: both versions are refused (the first was
/// still held in the lateness window), each with its line number and as the twin read it.
#[test]
fn a_conflict_on_stdin_refuses_both_versions_with_their_lines() {
    let feed = std::fs::read_to_string(root().join("scenarios/feeds/plant-agv.ndjson")).unwrap();
    let lines: Vec<&str> = feed.lines().take(3).collect();
    let rival = lines[0].replacen("\"qty\":", "\"qty\":1", 1);
    let input = format!("{}\n{}\n{}\n{rival}\n", lines[0], lines[1], lines[2]);
    let dir = temp_dir("stdin-conflict");
    let o = stdin_live(input.as_bytes(), &dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let quarantine = std::fs::read_to_string(dir.join("quarantine.ndjson")).unwrap();
    let entries: Vec<serde_json::Value> = quarantine
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2, "{quarantine}");
    let mut lines_refused: Vec<u64> = entries
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    lines_refused.sort();
    assert_eq!(lines_refused, [1, 4]);
    for e in &entries {
        let raw: serde_json::Value = serde_json::from_str(e["raw"].as_str().unwrap()).unwrap();
        assert!(raw["event_id"].is_string(), "{e}");
        assert!(
            e["reason"]
                .as_str()
                .unwrap()
                .contains("neither version applies")
        );
    }
    let counters = &kpis(&dir)["ingestion"];
    assert_eq!(counters["quarantined"], 2, "{counters}");
}

/// A certificate authority and a server certificate for 127.0.0.1 signed by it, made with
/// `openssl` in `dir`: (CA file, certificate, key).
fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs (scripts/test.sh installs it)");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=twinline test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    use std::os::unix::fs::PermissionsExt as _;
    for f in ["ca.pem", "server.pem", "server.key"] {
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Over TLS, with the CA the test made: credentials in the URL, no warning, connected.
#[test]
fn credentials_over_tls_to_a_broker_with_a_self_signed_authority() {
    let dir = temp_dir("mqtt-tls");
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (ca, cert, key) = test_certificates(&certs);
    let port = free_port();
    let passwords = dir.join("passwords");
    let made = mosquitto_passwd(&passwords, "twin", "tls-secret-4kd");
    assert!(made.success());
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&passwords, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _broker = Broker::start_with(
        &dir,
        port,
        &format!(
            "allow_anonymous false\npassword_file {}\ncafile {}\ncertfile {}\nkeyfile {}\n",
            passwords.display(),
            ca.display(),
            cert.display(),
            key.display()
        ),
    );
    let out = dir.join("out");
    let url = format!("mqtts://twin:tls-secret-4kd@127.0.0.1:{port}");
    let id = format!("tls-{}", std::process::id());
    let (code, stdout, stderr) = live_to_end(
        &[
            "--mqtt",
            &url,
            "--client-id",
            &id,
            "--ca",
            ca.to_str().unwrap(),
        ],
        &out,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("connected to mqtts://127.0.0.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("unencrypted"), "{stderr}");
    assert_eq!(kpis(&out)["live"]["sources"][0]["connects"], 1);
    assert!(!format!("{stdout}{stderr}{}", every_output(&out)).contains("4kd"));
}

/// Collects what `said` holds now into `log`.
fn drain(said: &mpsc::Receiver<String>, log: &mut Vec<String>) {
    while let Ok(l) = said.try_recv() {
        log.push(l);
    }
}

#[test]
fn a_twin_killed_stopped_and_restarted_with_its_state_applies_every_event_exactly_once() {
    const EVENTS: usize = 10_000;
    let dir = temp_dir("restarts");
    let (out, state) = (dir.join("out"), dir.join("state"));
    let port = free_port();
    let mut broker = Some(Broker::start(&dir, port));
    let url = format!("mqtt://127.0.0.1:{port}");
    let client_id = format!("twin-restarts-{}", std::process::id());
    let state_arg = state.display().to_string();
    let source = [
        "--mqtt",
        &url,
        "--topic",
        "twinline/+/inventory/#",
        "--client-id",
        &client_id,
        "--state",
        &state_arg,
        "--state-every",
        "300ms",
    ];
    // 3 h at 1,200× is nine wall seconds; the receipts are dated over the first 2 h 47 min.
    let pace = ["--speed", "1200", "--lateness", "5min", "--horizon", "3h"];
    let mut log = Vec::new();
    let (mut twin, mut said) = spawn_live(&source, &pace, &out);
    wait_for(&said, &mut log, "subscribed");
    let sender = Sender::start(
        port,
        "sender-r",
        EVENTS,
        receipt,
        None,
        (100, Duration::from_millis(10)),
    );
    let reached = |n: usize| sender.reached(n);
    // Killed outright mid-stream (SIGKILL: nothing saved on the way out), and started
    // again with the same state and client id.
    reached(EVENTS / 4);
    twin.kill().unwrap();
    twin.wait().unwrap();
    drain(&said, &mut log);
    (twin, said) = spawn_live(&source, &pace, &out);
    wait_for(&said, &mut log, "connected");
    // The broker goes down and comes back while the twin runs.
    reached(EVENTS / 2);
    broker.take().unwrap().stop();
    std::thread::sleep(Duration::from_millis(500));
    let _broker = Broker::start(&dir, port);
    // Stopped cleanly (SIGTERM) and started again.
    reached(EVENTS * 3 / 4);
    let status = Command::new("kill")
        .args(["-TERM", &twin.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(twin.wait().unwrap().success());
    drain(&said, &mut log);
    (twin, said) = spawn_live(&source, &pace, &out);
    let (status, sent, acked) = sender.finish(&mut twin);
    drain(&said, &mut log);
    assert!(status.success(), "{log:?}");
    assert_eq!(sent, EVENTS);
    assert!(acked >= EVENTS, "{log:?}");
    let k = kpis(&out);
    let position = test_caps(&k);
    // Every receipt applied once, across three runs of the twin.
    assert_eq!(
        position["on_hand"], EVENTS as f64,
        "{log:?} {} {}",
        k["ingestion"], k["live"]
    );
    assert_eq!(k["ingestion"]["accepted"], EVENTS, "{}", k["ingestion"]);
    assert_eq!(k["ingestion"]["quarantined"], 0);
    // Both restarts are on the record: the first after a crash, the second after a
    // clean stop.
    let restarts = k["live"]["restarts"].as_array().unwrap();
    assert_eq!(restarts.len(), 2, "{restarts:?}");
    assert_eq!(restarts[0]["clean"], false, "{restarts:?}");
    assert_eq!(restarts[1]["clean"], true, "{restarts:?}");
    let alerts = std::fs::read_to_string(out.join("alerts.ndjson")).unwrap();
    assert_eq!(alerts.matches("twin_restarted").count(), 2, "{alerts}");
}

#[test]
fn a_live_run_projects_the_next_hours_as_it_goes() {
    let feed = std::fs::read(root().join("scenarios/feeds/plant-agv.ndjson")).unwrap();
    let out = temp_dir("projections");
    // 6 h at 3,600× is six wall seconds; a projection of the next 2 h every simulated
    // hour, 6 futures each.
    let mut child = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["live", "scenarios/plant-agv.toml", "--stdin"])
        .args(["--start", "2026-11-23T06:00:00Z", "--speed", "3600"])
        .args(["--lateness", "1h", "--horizon", "6h"])
        .args([
            "--project-every",
            "1h",
            "--project",
            "2h",
            "--project-reps",
            "6",
        ])
        .arg("--out")
        .arg(&out)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&feed).unwrap();
    let o = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{said}");
    let projections: Vec<serde_json::Value> =
        std::fs::read_to_string(out.join("projections.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    // One an hour at most, and the last looks only as far as the run goes.
    assert!(
        (3..=6).contains(&projections.len()),
        "{} projections",
        projections.len()
    );
    for p in &projections {
        assert_eq!(p["kind"], "projection");
        assert_eq!(p["futures"], 6);
        let (at, ahead) = (p["at_s"].as_f64().unwrap(), p["ahead_s"].as_f64().unwrap());
        assert!(ahead > 0.0 && at + ahead <= 6.0 * 3600.0 + 1e-6, "{p}");
        for l in p["lines"].as_array().unwrap() {
            // A line of about 20,000 units an hour makes that, give or take, per hour ahead.
            let per_h = l["units_out"].as_f64().unwrap() / (ahead / 3600.0);
            assert!((5_000.0..40_000.0).contains(&per_h), "{p}");
            assert!(l["ci95"].as_f64().unwrap() >= 0.0, "{p}");
        }
        assert!(
            p["hint"]
                .as_str()
                .unwrap()
                .contains("units from now to 2026-11-23T"),
            "{p}"
        );
    }
    // Announced as alerts too, and counted.
    let alerts = std::fs::read_to_string(out.join("alerts.ndjson")).unwrap();
    assert_eq!(alerts.matches("\"projection\"").count(), projections.len());
    assert_eq!(kpis(&out)["live"]["projections"], projections.len());
}

#[test]
fn a_projection_says_what_runs_out_in_how_many_futures_and_when() {
    // The bundled plant with caps in the warehouse for a little under three hours: every
    // future of three hours from the first half hour to the second hour sees them run out.
    let dir = temp_dir("projected-risks");
    let bundled = std::fs::read_to_string(root().join("scenarios/plant-agv.toml")).unwrap();
    let low = bundled.replace(
        "material = \"caps\"\nat = \"warehouse\"\ninitial = 1_200_000",
        "material = \"caps\"\nat = \"warehouse\"\ninitial = 60_000",
    );
    assert_ne!(low, bundled);
    let scenario = dir.join("low-caps.toml");
    std::fs::write(&scenario, low).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .arg("live")
        .arg(&scenario)
        .args([
            "--stdin",
            "--start",
            "2026-11-23T06:00:00Z",
            "--speed",
            "3600",
        ])
        .args(["--lateness", "1h", "--horizon", "5h"])
        .args([
            "--project-every",
            "30min",
            "--project",
            "3h",
            "--project-reps",
            "4",
        ])
        .arg("--out")
        .arg(&out)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(out.join("projections.ndjson")).unwrap();
    let risky: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|p| (1800.0..=7200.0).contains(&p["at_s"].as_f64().unwrap()))
        .collect();
    assert!(!risky.is_empty(), "{text}");
    for p in &risky {
        let (at, ahead) = (p["at_s"].as_f64().unwrap(), p["ahead_s"].as_f64().unwrap());
        let caps = p["risks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["material"] == "caps" && r["kind"] == "stock_out")
            .unwrap_or_else(|| panic!("no caps risk: {p}"));
        let share = caps["share"].as_f64().unwrap();
        assert_eq!(share, 1.0, "{p}");
        let when = caps["mean_at_s"].as_f64().unwrap();
        assert!(at <= when && when <= at + ahead, "{p}");
        assert!(p["hint"].as_str().unwrap().contains("caps runs out"), "{p}");
        let said = format!("in {:.0} % of futures", 100.0 * share);
        assert!(p["hint"].as_str().unwrap().contains(&said), "{p}");
    }
}

#[test]
fn a_state_directory_that_cannot_be_resumed_is_refused_with_its_reason() {
    let dir = temp_dir("bad-state");
    let state = dir.join("state");
    let live = |scenario: &str| {
        Command::new(env!("CARGO_BIN_EXE_twinline"))
            .args([
                "live",
                scenario,
                "--stdin",
                "--speed",
                "7200",
                "--horizon",
                "2h",
            ])
            .args(["--start", "2026-11-23T06:00:00Z", "--state"])
            .arg(&state)
            .current_dir(root())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // A run that ends cleanly leaves its state; the same scenario goes on from it.
    let first = live("scenarios/plant-agv.toml");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(state.join("live.snap").exists() && state.join("events.log").exists());
    let again = live("scenarios/plant-agv.toml");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("twin_restarted"));
    // Another scenario: refused, as is a damaged state.
    let other = live("scenarios/bottling-line.toml");
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("differs from"));
    let mut bytes = std::fs::read(state.join("live.snap")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(state.join("live.snap"), bytes).unwrap();
    let damaged = live("scenarios/plant-agv.toml");
    assert_eq!(damaged.status.code(), Some(2));
    let said = String::from_utf8_lossy(&damaged.stderr);
    assert!(
        said.contains("live.snap") && said.contains("checksum"),
        "{said}"
    );
}

#[test]
fn machine_states_come_over_mqtt_on_their_machines_topics() {
    let dir = temp_dir("machine-topics");
    let out = dir.join("out");
    let port = free_port();
    let _broker = Broker::start(&dir, port);
    let (mut twin, said) = live_on_broker(
        port,
        "twinline/+/line/+/machine/+/state",
        "twin-machines",
        &out,
    );
    let mut log = Vec::new();
    wait_for(&said, &mut log, "subscribed");
    let options = MqttOptions::new(format!("plc-{}", std::process::id()), "127.0.0.1", port);
    let (client, mut connection) = Client::new(options, 16);
    std::thread::spawn(move || for _ in connection.iter() {});
    // The topic names the machine; the payloads say only what happened.
    let topic = "twinline/plant-agv/line/L1/machine/filler/state";
    for (id, minute, state, extra) in [
        ("m1", 10, "execute", ""),
        ("m2", 20, "held", r#","repair_s":600"#),
        ("m3", 25, "execute", r#","produced":5000"#),
    ] {
        let payload = format!(
            r#"{{"event_id":"{id}","ts":"2026-11-23T06:{minute:02}:00Z","site":"plant-agv","state":"{state}"{extra}}}"#
        );
        client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .unwrap();
    }
    let status = twin.wait().unwrap();
    let _ = client.try_disconnect();
    while let Ok(l) = said.try_recv() {
        log.push(l);
    }
    assert!(status.success(), "{log:?}");
    let k = kpis(&out);
    let machines = &k["runs"][0]["kpis"]["feed"]["machines"];
    assert_eq!(machines[0]["line"], "L1", "{k}");
    assert_eq!(machines[0]["station"], "filler");
    assert_eq!(machines[0]["reports"], 3);
    assert_eq!(machines[0]["stops"], 1);
    assert!(machines[0]["produced_drift"].is_number());
}

/// A live twin with `--out` writes the plant's alerts as they come, as `run` does: its
/// alerts.ndjson holds every one it sent, its KPIs the first thousand and a count (a long
/// live run costs disk, not memory).
#[test]
fn a_live_twin_writes_its_alerts_as_they_come_and_keeps_the_first_thousand() {
    // The AGV plant with one vehicle for twelve days: about 1,900 late transports.
    let dir = temp_dir("alerts-streamed");
    let (file, _) = common::short_of_vehicles(&dir, 1);
    let out = dir.join("live");
    // Nothing comes on standard input: twelve days at 10^7× are a fraction of a second.
    let live = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .arg("live")
        .arg(&file)
        .args([
            "--stdin",
            "--start",
            "2026-11-23T06:00:00Z",
            "--speed",
            "10000000",
        ])
        .args(["--horizon", "12d", "--reproducible", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    // What was sent as it came (standard output) and what was written, in time order.
    let mut sent: Vec<String> = String::from_utf8_lossy(&live.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(str::to_string)
        .collect();
    let written: Vec<String> = std::fs::read_to_string(out.join("alerts.ndjson"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(sent.len() > 1_500, "{} alerts", sent.len());
    let at = |l: &String| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["at_s"]
            .as_f64()
            .unwrap()
    };
    assert!(
        written.windows(2).all(|w| at(&w[0]) <= at(&w[1])),
        "in time order"
    );
    sent.sort_by(|a, b| at(a).total_cmp(&at(b)));
    assert_eq!(written, sent, "every alert sent, once, and nothing else");
    assert!(!out.join("alerts.ndjson.part").exists());
    let fleet = &kpis(&out)["runs"][0]["kpis"]["fleet"];
    assert_eq!(fleet["alerts"].as_array().unwrap().len(), 1_000);
    assert_eq!(fleet["alerts_omitted"], sent.len() as u64 - 1_000);
}
