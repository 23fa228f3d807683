//! Inventory events from MQTT topics: QoS 1 on a persistent session (a fixed client id,
//! no clean start), so the broker keeps what comes while the twin is away; reconnects
//! with back-off; every outage is reported. Redelivered messages are duplicates by
//! `event_id`, which the ingestion ignores.
//!
//! Credentials come from the environment (`TWINLINE_MQTT_USERNAME`,
//! `TWINLINE_MQTT_PASSWORD`), never from the scenario or the command line.

use super::Arrival;
use crate::Failure;
use crossbeam_channel::Sender;
use feeds::FeedReader;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};
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

/// What to subscribe to, where.
pub struct Subscription {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS).
    pub url: String,
    pub topics: Vec<String>,
    pub client_id: String,
    /// CA certificates (PEM) for TLS.
    pub ca: Option<PathBuf>,
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
    let bad = |why: String| Failure::BadInput(format!("--mqtt {}: {why}", s.url));
    let (tls, rest) = if let Some(r) = s.url.strip_prefix("mqtts://") {
        (true, r)
    } else if let Some(r) = s.url.strip_prefix("mqtt://") {
        (false, r)
    } else if s.url.contains("://") {
        return Err(bad("the scheme must be mqtt:// or mqtts://".into()));
    } else {
        (false, s.url.as_str())
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| bad(format!("`{p}` is not a port number")))?,
        ),
        None => (rest, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() {
        return Err(bad("no host".into()));
    }
    let mut o = MqttOptions::new(&s.client_id, host, port);
    o.set_keep_alive(Duration::from_secs(10))
        .set_clean_session(false)
        .set_max_packet_size(1 << 20, 1 << 20);
    match (
        std::env::var("TWINLINE_MQTT_USERNAME"),
        std::env::var("TWINLINE_MQTT_PASSWORD"),
    ) {
        (Ok(user), Ok(pass)) => {
            o.set_credentials(user, pass);
        }
        (Ok(user), Err(_)) => {
            o.set_credentials(user, "");
        }
        (Err(_), Ok(_)) => {
            return Err(bad(
                "TWINLINE_MQTT_PASSWORD is set without TWINLINE_MQTT_USERNAME".into(),
            ));
        }
        (Err(_), Err(_)) => {}
    }
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
            s.url
        )));
    }
    let options = options(&s)?;
    let (client, mut connection) = Client::new(options, REQUESTS);
    link.lock().expect("link lock").began = Some(began);
    let subscriber = client.clone();
    let topics = s.topics.clone();
    let url = s.url.clone();
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
                    let arrivals: Vec<Arrival> = match std::str::from_utf8(&p.payload) {
                        Ok(text) => text
                            .lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(|text| {
                                line += 1;
                                match reader.ndjson_line(text, line) {
                                    Ok(e) => Arrival::Event(e),
                                    Err(r) => Arrival::Refused {
                                        source: source.clone(),
                                        line: None,
                                        reason: r.reason,
                                        raw: r.raw,
                                    },
                                }
                            })
                            .collect(),
                        Err(e) => vec![Arrival::Refused {
                            source: source.clone(),
                            line: None,
                            reason: format!("payload is not UTF-8 text: {e}"),
                            raw: String::from_utf8_lossy(&p.payload).into_owned(),
                        }],
                    };
                    for a in arrivals {
                        // The engine has stopped: the run is over.
                        if tx.send(a).is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
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
