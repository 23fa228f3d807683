//! What the HTML reports hold, read from their text (the browser test is the CLI's).

use experiments::report::{RunInputs, run_report};
use twin_models::{RunSpec, Timing, kpis_document, load_scenario, replicate};

fn line_kpis() -> serde_json::Value {
    kpis_of("bottling-line-serial.toml")
}

fn kpis_of(path: &str) -> serde_json::Value {
    let full = format!("{}/../scenarios/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap();
    let s = load_scenario(path, &text).unwrap();
    let spec = RunSpec::of(&s);
    let reps = replicate(&s, spec, 2, 1);
    kpis_document(&s, spec, &reps, Some(Timing { wall_time_s: 0.0 }))
}

#[test]
fn alerts_are_counted_by_kind_and_listed_up_to_a_hundred() {
    let kpis = line_kpis();
    let alert = |i: usize, kind: &str| {
        format!(
            "{{\"at_s\":{},\"kind\":\"{kind}\",\"hint\":\"hint {i}\"}}\n",
            i * 36
        )
    };
    let mut ndjson = String::new();
    for i in 0..130 {
        ndjson.push_str(&alert(i, if i % 10 == 0 { "stock_out" } else { "reorder" }));
    }
    let html = run_report(&RunInputs {
        kpis: &kpis,
        series: None,
        timeline: None,
        alerts: Some(&ndjson),
    });
    assert!(
        html.contains("<p>130 alert(s): 13 stock_out, 117 reorder.</p>"),
        "counts"
    );
    assert!(
        html.contains("<td class=\"t\">hint 99</td>") && !html.contains("hint 100<"),
        "the first hundred"
    );
    assert!(html.contains("The first 100 of 130 are listed"));
    assert!(
        html.contains("<td class=\"t\">0.01 h</td>"),
        "times in hours"
    );
    let quiet = run_report(&RunInputs {
        kpis: &kpis,
        series: None,
        timeline: None,
        alerts: Some(""),
    });
    assert!(quiet.contains("No alerts were raised."));
    // Without the run's files, only what kpis.json holds: no charts over time, no alerts.
    let bare = run_report(&RunInputs {
        kpis: &kpis,
        series: None,
        timeline: None,
        alerts: None,
    });
    assert!(!bare.contains("output rate over time") && !bare.contains("id=\"alerts\""));
    assert!(bare.contains("L1: time per station state"));
    // Every section is linked from the top.
    for id in ["headline-kpis", "line-l1", "all-kpis"] {
        assert!(
            bare.contains(&format!("<section id=\"{id}\">"))
                && bare.contains(&format!("href=\"#{id}\"")),
            "{id}"
        );
    }
}

#[test]
fn headline_kpis_come_first_with_their_intervals() {
    let kpis = line_kpis();
    let html = run_report(&RunInputs {
        kpis: &kpis,
        series: None,
        timeline: None,
        alerts: None,
    });
    let head = html
        .split("id=\"headline-kpis\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    let rows: Vec<&str> = head.matches("<tr><td>").map(|_| "").collect();
    assert_eq!(
        rows.len(),
        3,
        "throughput, units out and OEE of the one line"
    );
    let t = head.find("lines.L1.throughput_per_h").unwrap();
    let u = head.find("lines.L1.units_out").unwrap();
    let o = head.find("lines.L1.oee.oee").unwrap();
    assert!(t < u && u < o);
    let mean = kpis["summary"]["lines"][0]["throughput_per_h"]["mean"]
        .as_f64()
        .unwrap();
    assert!(head.contains(&experiments::check::fmt_num(mean)));
}

/// Speed steps of level switches in `timeline.csv` are drawn as their own band, with a
/// legend entry only when there are any.
#[test]
fn speed_steps_have_their_own_band_and_legend() {
    let kpis = line_kpis();
    let report = |timeline: &str| {
        run_report(&RunInputs {
            kpis: &kpis,
            series: None,
            timeline: Some(timeline),
            alerts: None,
        })
    };
    let header = "line,station,state,start_s,end_s\n";
    let stops = format!("{header}L1,filler,down,100,400\n");
    let with_steps = format!("{stops}L1,filler,speed 90%,400,900\n");
    let plain = report(&stops);
    assert!(!plain.contains("speed step (level switch)"));
    let html = report(&with_steps);
    assert!(html.contains("speed step (level switch)"), "legend");
    // The band is drawn in the Gantt's SVG, in its own colour.
    let band = "fill=\"#1F3A93\"";
    assert!(html.contains(band) && !plain.contains(band), "band");
}

/// Each line is drawn from its graph: a box per machine, an arrow per buffer named at its
/// junction; a series line is its stations in order.
#[test]
fn lines_are_drawn_from_their_graph() {
    let report = |kpis: &serde_json::Value| {
        run_report(&RunInputs {
            kpis,
            series: None,
            timeline: None,
            alerts: None,
        })
    };
    let graph = report(&kpis_of("bottling-line.toml"));
    let diagram = graph
        .split("L1: the line, with each machine")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .expect("a line diagram");
    for name in [
        "lane-1",
        "lane-2",
        "label-pack",
        "labeller-1",
        "labeller-2",
        "palletiser",
    ] {
        assert!(diagram.contains(name), "{name}");
    }
    // Seven buffers, each with one arrowhead into the one station it feeds.
    assert_eq!(diagram.matches("<polygon").count(), 7, "arrowheads");
    // A rework loop is drawn back to its buffer.
    let rework = report(&kpis_of("textbook/rework.toml"));
    assert!(rework.contains("\nrework\n</text>"), "the rework loop");
    // A series line: its stations in order, unnamed arrows between them.
    let serial = report(&line_kpis());
    let diagram = serial
        .split("L1: the line, with each machine")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .expect("a series line's diagram");
    assert_eq!(diagram.matches("<polygon").count(), 6);
}
