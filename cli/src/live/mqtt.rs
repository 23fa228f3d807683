//! Inventory events from MQTT topics: QoS 1 on a persistent session (a fixed client id,
//! no clean start), so the broker keeps what comes while the twin is away; reconnects
//! with back-off; every outage is reported. Redelivered messages are duplicates by
//! `event_id`, which the ingestion ignores.
//!
//! Credentials come in the broker's URL (`mqtt://USER:PASSWORD@HOST`, percent-encoded) or
//! from the environment (`TWINLINE_MQTT_USERNAME`, `TWINLINE_MQTT_PASSWORD`); either way
//! they are taken out of the URL at once and never printed or written: every message and
//! file shows the broker as `scheme://host:port`. A broker that refuses them ends the run
//! with an error.

use super::{Arrival, Reading};
use crate::Failure;
use crossbeam_channel::Sender;
use feeds::FeedReader;
use rumqttc::{
    Client, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS, TlsConfiguration,
    Transport,
};
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// First wait before reconnecting; doubled after each failed try up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Requests (subscriptions, alerts to publish) queued for the connection, at most.
const REQUESTS: usize = 1_024;

/// The system's CA bundle, for `mqtts://` without `--ca`.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A broker's address from `--mqtt`, with the credentials taken out of it.
pub struct BrokerUrl {
    /// The address as shown and written: `scheme://host:port`, never the credentials.
    pub shown: String,
    tls: bool,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// `url` with what stands before an `@` in its authority hidden, for messages about a URL
/// that does not parse.
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let shown = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    if scheme.is_empty() {
        shown
    } else {
        format!("{scheme}://{shown}")
    }
}

/// `%XX` escapes in `s` decoded (as URLs write a `@` or `:` in a password).
fn percent_decoded(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a `%` in the credentials must start an escape such as %40")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the credentials are not UTF-8 once unescaped".into())
}

impl BrokerUrl {
    /// Reads `mqtt://[USER[:PASSWORD]@]HOST[:PORT]` or `mqtts://...` (TLS; a bare host
    /// means `mqtt://`).
    pub fn parse(url: &str) -> Result<BrokerUrl, String> {
        let bad = |why: String| format!("--mqtt {}: {why}", redacted(url));
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else if url.contains("://") {
            return Err(bad("the scheme must be mqtt:// or mqtts://".into()));
        } else {
            (false, url)
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, address) = match rest.rfind('@') {
            Some(at) => {
                let (user, pass) = rest[..at].split_once(':').unwrap_or((&rest[..at], ""));
                let user = percent_decoded(user).map_err(bad)?;
                if user.is_empty() {
                    return Err(bad("the user name before `@` is empty".into()));
                }
                (
                    Some((user, percent_decoded(pass).map_err(bad)?)),
                    &rest[at + 1..],
                )
            }
            None => (None, rest),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad(format!("`{p}` is not a port number")))?,
            ),
            None => (address, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(bad("no host".into()));
        }
        Ok(BrokerUrl {
            shown: format!("{}://{host}:{port}", if tls { "mqtts" } else { "mqtt" }),
            tls,
            host: host.to_string(),
            port,
            credentials,
        })
    }

    /// Whether a user name and password go to the broker (from the URL or the
    /// environment), and whether over plain TCP.
    pub fn sends_credentials_in_clear(&self) -> bool {
        !self.tls
            && (self.credentials.is_some() || std::env::var_os("TWINLINE_MQTT_USERNAME").is_some())
    }
}

/// What to subscribe to, where.
pub struct Subscription {
    /// The broker.
    pub broker: BrokerUrl,
    pub topics: Vec<String>,
    pub client_id: String,
    /// CA certificates (PEM) for TLS.
    pub ca: Option<PathBuf>,
    /// Whether the engine acknowledges each message (once its events are safe), rather
    /// than the client on receipt.
    pub manual_acks: bool,
}

/// One broker connection's record: connections, messages, outages.
pub struct Link {
    url: String,
    connects: u64,
    messages: u64,
    outages: Vec<(f64, f64, String)>,
    /// Since when (wall seconds from the run's start) the link is down, and why.
    down: Option<(f64, String)>,
    began: Option<Instant>,
}

impl Link {
    /// A link not yet connected.
    pub fn new(url: &str) -> Self {
        Link {
            url: url.to_string(),
            connects: 0,
            messages: 0,
            outages: Vec::new(),
            down: None,
            began: None,
        }
    }

    fn since(&self) -> f64 {
        self.began.map_or(0.0, |b| b.elapsed().as_secs_f64())
    }

    fn lost(&mut self, reason: String) {
        if self.down.is_none() {
            self.down = Some((self.since(), reason));
        }
    }

    fn connected(&mut self) {
        self.connects += 1;
        if let Some((from, reason)) = self.down.take() {
            // Not being connected yet at the start is no outage; a refused start is.
            self.outages.push((from, self.since() - from, reason));
        }
    }

    /// The record for kpis.json.
    pub fn to_json(&self) -> serde_json::Value {
        let mut outages: Vec<serde_json::Value> = self
            .outages
            .iter()
            .map(|(from, lasted, reason)| {
                json!({ "began_s": from, "lasted_s": lasted, "reason": reason, "ongoing": false })
            })
            .collect();
        if let Some((from, reason)) = &self.down {
            outages.push(json!({
                "began_s": from, "lasted_s": self.since() - from, "reason": reason, "ongoing": true
            }));
        }
        json!({
            "source": self.url,
            "connects": self.connects,
            "messages": self.messages,
            "outages": outages,
            "outage_s": self.outages.iter().fold(0.0, |s, o| s + o.1),
        })
    }
}

/// Publishes alerts to `twinline/<site>/alerts` on the live connection, without ever
/// blocking the engine (an alert that finds the queue full is counted, and it is still in
/// alerts.ndjson and on standard output).
pub struct AlertPublisher {
    client: Client,
    pub published: u64,
    pub failed: u64,
}

impl AlertPublisher {
    pub fn new(client: Client) -> Self {
        AlertPublisher {
            client,
            published: 0,
            failed: 0,
        }
    }

    pub fn publish(&mut self, site: &str, line: String) {
        let topic = format!("twinline/{site}/alerts");
        match self
            .client
            .try_publish(topic, QoS::AtLeastOnce, false, line.into_bytes())
        {
            Ok(()) => self.published += 1,
            Err(_) => self.failed += 1,
        }
    }
}

/// Connection options from `s` and the environment.
fn options(s: &Subscription) -> Result<MqttOptions, Failure> {
    let b = &s.broker;
    let bad = |why: String| Failure::BadInput(format!("--mqtt {}: {why}", b.shown));
    let mut o = MqttOptions::new(&s.client_id, b.host.clone(), b.port);
    o.set_keep_alive(Duration::from_secs(10))
        .set_clean_session(false)
        .set_manual_acks(s.manual_acks)
        .set_max_packet_size(1 << 20, 1 << 20);
    match (
        &b.credentials,
        std::env::var("TWINLINE_MQTT_USERNAME"),
        std::env::var("TWINLINE_MQTT_PASSWORD"),
    ) {
        (Some((user, pass)), _, _) => {
            o.set_credentials(user.clone(), pass.clone());
        }
        (None, Ok(user), Ok(pass)) => {
            o.set_credentials(user, pass);
        }
        (None, Ok(user), Err(_)) => {
            o.set_credentials(user, "");
        }
        (None, Err(_), Ok(_)) => {
            return Err(bad(
                "TWINLINE_MQTT_PASSWORD is set without TWINLINE_MQTT_USERNAME".into(),
            ));
        }
        (None, Err(_), Err(_)) => {}
    }
    let tls = b.tls;
    if tls {
        let path = s.ca.clone().unwrap_or_else(|| PathBuf::from(SYSTEM_CAS));
        let ca = std::fs::read(&path).map_err(|e| {
            bad(format!(
                "cannot read the CA certificates {} ({e}); give them with --ca FILE.pem",
                path.display()
            ))
        })?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth: None,
        }));
    }
    Ok(o)
}

/// Connects and subscribes on a thread of its own, handing each event on to `tx`;
/// returns a client for publishing alerts.
#[allow(
    clippy::disallowed_methods,
    reason = "outages are measured in wall time"
)]
pub fn spawn(
    s: Subscription,
    tx: Sender<Arrival>,
    link: Arc<Mutex<Link>>,
    began: Instant,
) -> Result<Client, Failure> {
    if s.topics.is_empty() {
        return Err(Failure::BadInput(format!(
            "--mqtt {}: give at least one --topic, e.g. 'twinline/+/inventory/#'",
            s.broker.shown
        )));
    }
    let options = options(&s)?;
    let (client, mut connection) = Client::new(options, REQUESTS);
    link.lock().expect("link lock").began = Some(began);
    let subscriber = client.clone();
    let topics = s.topics.clone();
    let url = s.broker.shown.clone();
    let manual_acks = s.manual_acks;
    std::thread::spawn(move || {
        let mut reader = FeedReader::new();
        let mut backoff = BACKOFF_MIN;
        let mut line = 0usize;
        let note = |f: &dyn Fn(&mut Link)| f(&mut link.lock().expect("link lock"));
        for notification in connection.iter() {
            match notification {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = BACKOFF_MIN;
                    note(&|l| l.connected());
                    // A broker that lost the session (or a first start) needs the
                    // subscriptions again; one that kept it delivers what it held.
                    if !ack.session_present {
                        for t in &topics {
                            let _ = subscriber.try_subscribe(t.clone(), QoS::AtLeastOnce);
                        }
                    }
                    eprintln!(
                        "live: connected to {url} (session {})",
                        if ack.session_present {
                            "resumed"
                        } else {
                            "new"
                        }
                    );
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    eprintln!("live: subscribed to {} on {url}", topics.join(", "));
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    note(&|l| l.messages += 1);
                    let source: Arc<str> = Arc::from(format!("mqtt:{}", p.topic));
                    let machine = machine_of_topic(&p.topic);
                    let arrivals: Vec<Arrival> = match std::str::from_utf8(&p.payload) {
                        Ok(text) => text
                            .lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(|text| {
                                line += 1;
                                let named = machine.map(|m| with_machine(text, m));
                                let text = named.as_deref().unwrap_or(text);
                                match reader.ndjson_line(text, line) {
                                    Ok(event) => Arrival::Read(Reading::Event {
                                        source: source.clone(),
                                        line: None,
                                        event,
                                    }),
                                    Err(r) => Arrival::Read(Reading::Refused {
                                        source: source.clone(),
                                        line: None,
                                        reason: r.reason,
                                        raw: r.raw,
                                    }),
                                }
                            })
                            .collect(),
                        Err(e) => vec![Arrival::Read(Reading::Refused {
                            source: source.clone(),
                            line: None,
                            reason: format!("payload is not UTF-8 text: {e}"),
                            raw: String::from_utf8_lossy(&p.payload).into_owned(),
                        })],
                    };
                    for a in arrivals {
                        // The engine has stopped: the run is over.
                        if tx.send(a).is_err() {
                            return;
                        }
                    }
                    if manual_acks {
                        let acker = subscriber.clone();
                        let ack = move || acker.try_ack(&p).is_ok();
                        if tx.send(Arrival::Ack(Box::new(ack))).is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
                Err(ConnectionError::ConnectionRefused(code))
                    if code != ConnectReturnCode::ServiceUnavailable =>
                {
                    // Trying again cannot help: the broker refuses these credentials or
                    // this client. The run ends with an error.
                    let reason = match code {
                        ConnectReturnCode::BadUserNamePassword => {
                            "the broker refused the user name or password".to_string()
                        }
                        ConnectReturnCode::NotAuthorized => {
                            "the broker refused this client: not authorised".to_string()
                        }
                        other => format!("the broker refused the connection ({other:?})"),
                    };
                    note(&|l| l.lost(reason.clone()));
                    let _ = tx.send(Arrival::Fatal {
                        source: Arc::from(url.as_str()),
                        reason,
                    });
                    return;
                }
                Err(e) => {
                    let reason = e.to_string();
                    let first = link.lock().expect("link lock").down.is_none();
                    note(&|l| l.lost(reason.clone()));
                    if first {
                        eprintln!("live: {url} lost ({reason}); reconnecting");
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    });
    Ok(client)
}

/// The machine a state topic names: `…/line/<line>/machine/<station>/state`.
fn machine_of_topic(topic: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = topic.rsplitn(6, '/').collect();
    match parts[..] {
        ["state", station, "machine", line, "line", ..]
            if !line.is_empty() && !station.is_empty() =>
        {
            Some((line, station))
        }
        _ => None,
    }
}

/// A payload line on a machine's state topic with what the topic says filled in where
/// the line leaves it out: `kind` (`machine_state`), `line` and `station`. A line that
/// is not a JSON object, or already says them, is left as it is (the parser judges it).
fn with_machine(text: &str, (line, station): (&str, &str)) -> String {
    let Ok(serde_json::Value::Object(mut doc)) = serde_json::from_str(text) else {
        return text.to_string();
    };
    for (key, value) in [
        ("kind", "machine_state"),
        ("line", line),
        ("station", station),
    ] {
        doc.entry(key).or_insert_with(|| value.into());
    }
    serde_json::Value::Object(doc).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_out_of_the_url() {
        let b = BrokerUrl::parse("mqtt://ops:p%40ss%3Aw0rd@broker.plant:1884/").unwrap();
        assert_eq!(b.shown, "mqtt://broker.plant:1884");
        assert_eq!(format!("{b:?}"), "mqtt://broker.plant:1884");
        assert_eq!(
            (b.host.as_str(), b.port, b.tls),
            ("broker.plant", 1884, false)
        );
        assert_eq!(
            b.credentials,
            Some(("ops".to_string(), "p@ss:w0rd".to_string()))
        );
        let t = BrokerUrl::parse("mqtts://broker.plant").unwrap();
        assert_eq!(
            (t.shown.as_str(), t.credentials),
            ("mqtts://broker.plant:8883", None)
        );
        assert_eq!(
            BrokerUrl::parse("10.0.0.5").unwrap().shown,
            "mqtt://10.0.0.5:1883"
        );
    }

    #[test]
    fn a_bad_url_is_named_without_its_credentials() {
        for (url, says) in [
            ("mqtt://ops:s3cret@host:port", "`port` is not a port number"),
            ("mqtt://ops:s3cret@", "no host"),
            ("http://ops:s3cret@host", "the scheme must be"),
            ("mqtt://ops:s3%zzcret@host", "escape"),
            ("mqtt://:s3cret@host", "user name"),
        ] {
            let err = BrokerUrl::parse(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("s3") && !err.contains("ops"), "{url}: {err}");
        }
    }

    #[test]
    fn a_state_topic_names_its_machine_where_the_payload_does_not() {
        assert_eq!(
            machine_of_topic("twinline/plant-agv/line/L1/machine/filler/state"),
            Some(("L1", "filler"))
        );
        assert_eq!(machine_of_topic("twinline/plant-agv/inventory/0"), None);
        assert_eq!(machine_of_topic("line//machine/filler/state"), None);
        let named = with_machine(
            r#"{"event_id":"m","ts":"2026-11-23T07:00:00Z","site":"s","state":"held"}"#,
            ("L1", "filler"),
        );
        let doc: serde_json::Value = serde_json::from_str(&named).unwrap();
        assert_eq!(doc["kind"], "machine_state");
        assert_eq!(
            (doc["line"].as_str(), doc["station"].as_str()),
            (Some("L1"), Some("filler"))
        );
        // What the payload says stands; what is not JSON is left to the parser.
        let own = with_machine(r#"{"line":"L2","station":"capper"}"#, ("L1", "filler"));
        assert!(own.contains("L2") && own.contains("capper") && !own.contains("filler"));
        assert_eq!(with_machine("not json", ("L1", "filler")), "not json");
    }
}
