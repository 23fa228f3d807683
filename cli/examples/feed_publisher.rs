//! Publishes the lines of an NDJSON feed to an MQTT topic at QoS 1, as fast as the broker
//! takes them (or at `--rate` events a second), and waits until the broker has
//! acknowledged every one: the load for measuring `twinline live` (scripts/bench-live.sh).
//!
//! ```sh
//! cargo run --release -p twinline --example feed_publisher -- FEED.ndjson \
//!     --port 1883 --topic twinline/plant-agv/inventory/all [--rate 20000]
//! ```
//!
//! With `synthetic:N` for the file, it sends N receipts of one `bench-caps` each to the
//! plant-agv warehouse, dated over the hour from 2026-11-23 06:30 UTC.

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[allow(
    clippy::disallowed_methods,
    reason = "a load generator measures wall time"
)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let Some(path) = args.first() else {
        eprintln!(
            "usage: feed_publisher FEED.ndjson|synthetic:N [--port P] [--topic T] [--rate N]"
        );
        std::process::exit(2);
    };
    let port: u16 = flag("--port").map_or(1883, |p| p.parse().expect("--port: a number"));
    let topic = flag("--topic").unwrap_or_else(|| "twinline/plant-agv/inventory/all".into());
    let rate: Option<f64> = flag("--rate").map(|r| r.parse().expect("--rate: a number"));
    let text = match path.strip_prefix("synthetic:") {
        Some(n) => synthetic(n.parse().expect("synthetic:N takes a number")),
        None => std::fs::read_to_string(path).expect("the feed file reads"),
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();

    let mut options = MqttOptions::new(
        format!("publisher-{}", std::process::id()),
        "127.0.0.1",
        port,
    );
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_inflight(1_000);
    let (client, mut connection) = Client::new(options, 10_000);
    let acked = Arc::new(AtomicUsize::new(0));
    let counter = acked.clone();
    std::thread::spawn(move || {
        for n in connection.iter() {
            match n {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("feed_publisher: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    });
    let began = Instant::now();
    for (i, line) in lines.iter().enumerate() {
        if let Some(r) = rate {
            let due = Duration::from_secs_f64(i as f64 / r);
            if let Some(wait) = due.checked_sub(began.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        client
            .publish(
                topic.clone(),
                QoS::AtLeastOnce,
                false,
                line.as_bytes().to_vec(),
            )
            .expect("the request queue is open");
    }
    while acked.load(Ordering::Relaxed) < lines.len() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let wall = began.elapsed().as_secs_f64();
    println!(
        "published {} events in {wall:.3} s ({:.0} events/s), all acknowledged",
        lines.len(),
        lines.len() as f64 / wall
    );
}

/// `n` receipts dated evenly over the hour from 06:30.
fn synthetic(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let ms = (i as u64 * 3_600_000) / n as u64;
        let (h, m) = (6 + (30 + ms / 60_000) / 60, (30 + ms / 60_000) % 60);
        let (s, milli) = (ms / 1_000 % 60, ms % 1_000);
        out.push_str(&format!(
            r#"{{"event_id":"bench-{i:07}","ts":"2026-11-23T{h:02}:{m:02}:{s:02}.{milli:03}Z","site":"plant-agv","material":"bench-caps","location":"warehouse","kind":"receipt","qty":1,"unit":"pcs"}}"#
        ));
        out.push('\n');
    }
    out
}
