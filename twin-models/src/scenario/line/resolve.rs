//! Resolves a line: stations in flow order from the buffers' `from` and `to`, units,
//! processes, failures, the schedule with its changeovers, and planned stops.

use super::file::*;
use super::graph;
use super::model::*;
use crate::scenario::check::{Checker, Seg, at, i, k};
use crate::scenario::failure::failure_mode;
use crate::units::parse_rate;
use orchestrator::{ChangeoverMatrix, SequenceRule, sequence_campaigns};
use sim::SimDuration;
use std::collections::BTreeSet;

fn capacity(c: &mut Checker<'_>, path: &[Seg], cap: &CapacityFile) -> Option<Option<u64>> {
    match cap {
        CapacityFile::Units(n) => Some(Some(*n)),
        CapacityFile::Word(w) if w == "unbounded" => Some(None),
        CapacityFile::Word(w) => {
            c.fail(
                path,
                format!("`{w}` is not a capacity; give a whole number of units or \"unbounded\""),
            );
            None
        }
    }
}

fn changeover_matrix(
    c: &mut Checker<'_>,
    path: &[Seg],
    file: Option<&ChangeoverFile>,
    fallback: &ChangeoverMatrix,
    products: &[String],
) -> ChangeoverMatrix {
    let Some(f) = file else {
        return fallback.clone();
    };
    let default = match &f.default {
        Some(d) => c
            .duration(&at(path, &[k("default")]), d)
            .unwrap_or_default(),
        None => SimDuration::ZERO,
    };
    let mut m = ChangeoverMatrix::uniform(products.len(), default.0);
    for (ti, t) in f.times.iter().enumerate() {
        let p = at(path, &[k("times"), i(ti)]);
        let from = product_index(c, &at(&p, &[k("from")]), &t.from, products);
        let to = product_index(c, &at(&p, &[k("to")]), &t.to, products);
        let time = c.duration(&at(&p, &[k("time")]), &t.time);
        if let (Some(a), Some(b), Some(d)) = (from, to, time) {
            if a == b && d > SimDuration::ZERO {
                c.fail(
                    &p,
                    format!("a change from `{}` to itself takes no time", t.from),
                );
            }
            m.set(a, b, d.0);
        }
    }
    m
}

fn product_index(
    c: &mut Checker<'_>,
    path: &[Seg],
    name: &str,
    products: &[String],
) -> Option<usize> {
    let found = products.iter().position(|p| p == name);
    if found.is_none() {
        c.fail(
            path,
            format!(
                "product `{name}` is not defined; products are: {}",
                products.join(", ")
            ),
        );
    }
    found
}

fn resolve_source(c: &mut Checker<'_>, base: &[Seg], s: Option<&SourceFile>) -> Option<Source> {
    let Some(s) = s else {
        return Some(Source::Unlimited);
    };
    let p = at(base, &[k("source")]);
    match s.kind {
        SourceKind::Unlimited => {
            for (name, given) in [
                ("interarrival", s.interarrival.is_some()),
                ("when_full", s.when_full.is_some()),
                ("queue_capacity", s.queue_capacity.is_some()),
            ] {
                if given {
                    c.fail(
                        &at(&p, &[k(name)]),
                        "only a source of kind \"arrivals\" takes this field",
                    );
                }
            }
            Some(Source::Unlimited)
        }
        SourceKind::Arrivals => {
            let Some(ia) = &s.interarrival else {
                c.fail(
                    &p,
                    "a source of kind \"arrivals\" needs `interarrival`, e.g. \"exp(2s)\"",
                );
                return None;
            };
            let interarrival = c.distribution(&at(&p, &[k("interarrival")]), ia)?;
            if interarrival.mean_secs() <= 0.0 {
                c.fail(
                    &at(&p, &[k("interarrival")]),
                    "the mean time between arrivals must be longer than zero",
                );
            }
            let queue_capacity = match &s.queue_capacity {
                Some(q) => capacity(c, &at(&p, &[k("queue_capacity")]), q)?,
                None => None,
            };
            Some(Source::Arrivals {
                interarrival,
                when_full: s.when_full.unwrap_or(WhenFull::Wait),
                queue_capacity,
            })
        }
    }
}

pub(crate) fn resolve_line(
    c: &mut Checker<'_>,
    base: &[Seg],
    lf: &LineFile,
    products: &[String],
) -> Option<Line> {
    let n_before = c.problems();
    let source = resolve_source(c, base, lf.source.as_ref());
    if lf.stations.is_empty() {
        c.fail(
            &at(base, &[k("stations")]),
            "a line needs at least one station",
        );
        return None;
    }
    let names: Vec<&str> = lf.stations.iter().map(|s| s.name.as_str()).collect();
    let station_list = names.join(", ");
    let rated = lf.rated_speed.as_ref().and_then(|r| {
        parse_rate(r)
            .map_err(|e| c.fail(&at(base, &[k("rated_speed")]), e))
            .ok()
    });
    let line_factors = speed_factors(
        c,
        &at(base, &[k("speed_factors")]),
        &lf.speed_factors,
        &vec![1.0; products.len()],
        products,
    );
    // The topology first: what a station's unit holds depends on what feeds it.
    let topo = graph::topology(c, base, lf);
    let takes: Vec<u64> = lf
        .stations
        .iter()
        .enumerate()
        .map(|(si, sf)| {
            let takes = sf.takes.unwrap_or(1);
            if takes == 0 {
                c.fail(
                    &at(base, &[k("stations"), i(si), k("takes")]),
                    "a station takes at least one unit of its input per unit it makes",
                );
            }
            takes.max(1)
        })
        .collect();
    // Base units in one unit of each station's output, for shares of the rated speed.
    let equivalents = match &topo {
        Some(t) if t.is_line => graph::equivalents(c, base, t, &takes, &names),
        // The graph is already refused: read stations as listed, to report their own errors.
        _ => takes
            .iter()
            .scan(1u64, |eq, &n| {
                *eq = eq.saturating_mul(n);
                Some(*eq)
            })
            .collect(),
    };
    let line_rates = LineRates {
        rated,
        rated_given: lf.rated_speed.is_some(),
        factors: &line_factors,
    };
    let line_matrix = changeover_matrix(
        c,
        &at(base, &[k("changeover")]),
        lf.changeover.as_ref(),
        &ChangeoverMatrix::uniform(products.len(), 0),
        products,
    );
    let mut stations = Vec::new();
    for (si, sf) in lf.stations.iter().enumerate() {
        let p = at(base, &[k("stations"), i(si)]);
        if names[..si].contains(&sf.name.as_str()) {
            c.fail(
                &at(&p, &[k("name")]),
                format!(
                    "station `{}` is defined twice in line `{}`",
                    sf.name, lf.name
                ),
            );
        }
        if let Some(s) = resolve_station(
            c,
            &p,
            sf,
            products,
            &line_matrix,
            &line_rates,
            equivalents[si],
        ) {
            stations.push(s);
        }
    }
    let find = |name: &str| names.iter().position(|n| *n == name);

    let mut buffer_names = BTreeSet::new();
    let mut buffers_raw = Vec::new();
    for (bi, bf) in lf.buffers.iter().enumerate() {
        let p = at(base, &[k("buffers"), i(bi)]);
        if !buffer_names.insert(bf.name.as_str()) {
            c.fail(
                &at(&p, &[k("name")]),
                format!(
                    "buffer `{}` is defined twice in line `{}`",
                    bf.name, lf.name
                ),
            );
        }
        let ends = topo.as_ref().map(|t| &t.ends[bi]);
        let cap = match (&bf.capacity, &bf.accumulation) {
            (Some(cap), None) => capacity(c, &at(&p, &[k("capacity")]), cap),
            (None, Some(a)) => {
                let ap = at(&p, &[k("accumulation")]);
                let time = c.duration(&ap, a);
                // In the buffer's unit: what the stations before it make.
                let per = ends.map_or(1, |(from, _)| equivalents[from[0]]);
                match (time, rated) {
                    (Some(t), Some(rated)) => Some(Some(accumulated_units(rated, t) / per)),
                    (Some(_), None) => {
                        line_rates.refuse_without_rated(c, &ap, "an accumulation time");
                        None
                    }
                    (None, _) => None,
                }
            }
            (Some(_), Some(_)) => {
                c.fail(&p, "give `capacity` or `accumulation`, not both");
                None
            }
            (None, None) => {
                c.fail(
                    &p,
                    "a buffer needs `capacity` (units) or `accumulation` (time at the line's rated speed)",
                );
                None
            }
        };
        let transport = match (&bf.transport_time, bf.length_m, bf.speed_m_per_s) {
            (Some(t), None, None) => c.duration(&at(&p, &[k("transport_time")]), t),
            (None, Some(len), Some(v)) => {
                if !(len.is_finite() && len > 0.0) {
                    c.fail(
                        &at(&p, &[k("length_m")]),
                        "the length must be a positive number of metres",
                    );
                    None
                } else if !(v.is_finite() && v > 0.0) {
                    c.fail(
                        &at(&p, &[k("speed_m_per_s")]),
                        "the speed must be a positive number of metres per second",
                    );
                    None
                } else {
                    Some(SimDuration::from_secs_f64(len / v))
                }
            }
            (None, None, None) => Some(SimDuration::ZERO),
            _ => {
                c.fail(
                    &p,
                    "give either `transport_time` or both `length_m` and `speed_m_per_s`",
                );
                None
            }
        };
        if let (Some(Some(0)), Some(t)) = (cap, transport)
            && t > SimDuration::ZERO
        {
            c.fail(
                &at(&p, &[k("capacity")]),
                "a conveyor with a transport time must hold at least one unit",
            );
        }
        if let (Some(Some(0)), Some((from, to))) = (cap, ends)
            && (from.len() > 1 || to.len() > 1)
        {
            c.fail(
                &at(&p, &[k("capacity")]),
                "a buffer of capacity 0 couples two machines directly: it cannot join several `from` or `to` stations",
            );
        }
        let site = graph::RuleSite {
            path: p.clone(),
            outputs_are: "stations its `to` names".into(),
            outputs: bf.to.names().iter().map(String::as_str).collect(),
            inputs: bf.from.names().len(),
            inputs_are: "its `from` names".into(),
        };
        let (divide, combine) = graph::rules(c, &site, bf.divide, bf.combine, &bf.shares);
        if let (Some(cap), Some(transport), Some((from, to))) = (cap, transport, ends) {
            buffers_raw.push(Buffer {
                name: bf.name.clone(),
                capacity: cap,
                transport,
                from: from.clone(),
                to: to.clone(),
                divide,
                combine,
            });
        }
    }
    // The resolved line's buffers in flow order; `rank[bi]` is where buffer `bi` went.
    let (buffers, rank) = match &topo {
        Some(t) if buffers_raw.len() == lf.buffers.len() => {
            let mut rank = vec![0; t.order.len()];
            for (r, &bi) in t.order.iter().enumerate() {
                rank[bi] = r;
            }
            (
                t.order.iter().map(|&bi| buffers_raw[bi].clone()).collect(),
                rank,
            )
        }
        _ => (Vec::new(), Vec::new()),
    };
    let graph_known =
        topo.as_ref().is_some_and(|t| t.is_line) && buffers_raw.len() == lf.buffers.len();

    // Each station's place in the graph and its rules.
    if let Some(t) = &topo {
        for (si, sf) in lf.stations.iter().enumerate() {
            let p = at(base, &[k("stations"), i(si)]);
            let site = graph::RuleSite {
                path: p.clone(),
                outputs_are: format!("buffers leaving `{}`", sf.name),
                outputs: t.outputs[si]
                    .iter()
                    .map(|&b| lf.buffers[b].name.as_str())
                    .collect(),
                inputs: t.inputs[si].len(),
                inputs_are: format!("buffers feeding `{}` are", sf.name),
            };
            let (divide, combine) = graph::rules(c, &site, sf.divide, sf.combine, &sf.shares);
            if takes[si] > 1 && t.inputs[si].len() > 1 {
                c.fail(
                    &at(&p, &[k("takes")]),
                    format!(
                        "`{}` takes {} units at once from one buffer, but {} buffers feed it; let them meet on one buffer (several `from`)",
                        sf.name,
                        takes[si],
                        t.inputs[si].len()
                    ),
                );
            }
            // A station that makes one unit of several takes them all at once: the buffer
            // before it must hold them (the unit its upstream neighbour holds cannot be
            // part of them).
            for &bi in &t.inputs[si] {
                if takes[si] > 1
                    && buffers_raw.len() == lf.buffers.len()
                    && buffers_raw[bi].capacity.is_some_and(|cap| cap < takes[si])
                {
                    c.fail(
                        &at(base, &[k("buffers"), i(bi), k("capacity")]),
                        format!(
                            "`{}` takes {} units at once, more than this buffer before it holds",
                            sf.name, takes[si]
                        ),
                    );
                }
            }
            let rework = sf.rework.as_deref().and_then(|name| {
                let site = (lf, t, buffers_raw.as_slice(), equivalents.as_slice());
                rework_buffer(c, &at(&p, &[k("rework")]), site, si, name)
            });
            if graph_known && let Some(s) = stations.get_mut(si) {
                s.inputs = t.inputs[si].iter().map(|&b| rank[b]).collect();
                s.outputs = t.outputs[si].iter().map(|&b| rank[b]).collect();
                s.divide = divide;
                s.combine = combine;
                s.rework = rework.map(|b| rank[b]);
            }
        }
    }
    if let (
        Some(Source::Arrivals {
            queue_capacity: Some(q),
            ..
        }),
        Some(first),
    ) = (&source, lf.stations.first())
        && first.takes.unwrap_or(1) > *q
    {
        c.fail(
            &at(base, &[k("source"), k("queue_capacity")]),
            format!(
                "`{}` takes {} arrivals at once, more than the queue holds",
                first.name,
                first.takes.unwrap_or(1)
            ),
        );
    }
    // What each station makes: its own name for it, else what it takes (what the first
    // station feeding it makes; the line's unit at the start).
    let line_unit = lf.unit.clone().unwrap_or_else(|| "unit".to_string());
    let mut units: Vec<String> = Vec::with_capacity(lf.stations.len());
    for (si, sf) in lf.stations.iter().enumerate() {
        let input = topo
            .as_ref()
            .filter(|t| t.is_line)
            .and_then(|t| t.inputs[si].first())
            .and_then(|&b| topo.as_ref().map(|t| t.ends[b].0[0]))
            .map_or(&line_unit, |f| &units[f]);
        let unit = match (&sf.unit, takes[si]) {
            (Some(u), _) => u.clone(),
            (None, 1) => input.clone(),
            (None, n) => format!("pack of {n}"),
        };
        units.push(unit);
    }
    if stations.len() == units.len() {
        for (s, u) in stations.iter_mut().zip(units) {
            s.unit = u;
        }
    }

    let switches = match &topo {
        Some(t) if graph_known => resolve_switches(c, base, lf, t, &rank, &names, &buffers),
        _ => Vec::new(),
    };

    let oee_station = match &lf.oee_station {
        Some(name) => find(name).or_else(|| {
            c.fail(
                &at(base, &[k("oee_station")]),
                format!("station `{name}` does not exist in line `{}`; its stations are: {station_list}", lf.name),
            );
            None
        }),
        None => lf.stations.iter().position(|s| s.kind == StationKind::Filler).or_else(|| {
            // The slowest station by mean cycle time.
            (stations.len() == lf.stations.len()).then(|| {
                (0..stations.len())
                    .max_by(|&a, &b| stations[a].ideal_cycle_secs(0).total_cmp(&stations[b].ideal_cycle_secs(0)))
                    .unwrap_or(0)
            })
        }),
    };

    let (campaigns, repeat_schedule) =
        resolve_schedule(c, base, lf, products, &stations, oee_station);
    let mut planned_stops = Vec::new();
    for (pi, ps) in lf.planned_stops.iter().enumerate() {
        let p = at(base, &[k("planned_stops"), i(pi)]);
        let start = c.duration(&at(&p, &[k("start")]), &ps.start);
        let duration = c.duration(&at(&p, &[k("duration")]), &ps.duration);
        if duration == Some(SimDuration::ZERO) {
            c.fail(
                &at(&p, &[k("duration")]),
                "a planned stop must last longer than zero",
            );
        }
        let every = match &ps.every {
            Some(e) => {
                let e = c.duration(&at(&p, &[k("every")]), e);
                if let (Some(e), Some(d)) = (e, duration)
                    && e <= d
                {
                    c.fail(
                        &at(&p, &[k("every")]),
                        "the repeat period must be longer than the stop itself",
                    );
                }
                e
            }
            None => None,
        };
        let covered: Vec<usize> = match &ps.stations {
            None => (0..names.len()).collect(),
            Some(list) => list
                .iter()
                .enumerate()
                .filter_map(|(j, n)| {
                    find(n).or_else(|| {
                        c.fail(
                            &at(&p, &[k("stations"), i(j)]),
                            format!("station `{n}` does not exist in line `{}`; its stations are: {station_list}", lf.name),
                        );
                        None
                    })
                })
                .collect(),
        };
        if let (Some(start), Some(duration)) = (start, duration) {
            planned_stops.push(PlannedStop {
                name: ps.name.clone(),
                start,
                duration,
                every,
                stations: covered,
            });
        }
    }
    if c.problems() > n_before {
        return None;
    }
    Some(Line {
        name: lf.name.clone(),
        source: source?,
        stations,
        buffers,
        oee_station: oee_station?,
        campaigns,
        repeat_schedule,
        planned_stops,
        switches,
        unit: lf.unit.clone().unwrap_or_else(|| "unit".to_string()),
        force_discrete: lf.engine == Some(EngineChoice::Discrete),
        outfeed: None,
        materials: Vec::new(),
    })
}

fn resolve_schedule(
    c: &mut Checker<'_>,
    base: &[Seg],
    lf: &LineFile,
    products: &[String],
    stations: &[Station],
    oee_station: Option<usize>,
) -> (Vec<Campaign>, bool) {
    let Some(s) = &lf.schedule else {
        return (
            vec![Campaign {
                product: 0,
                amount: CampaignAmount::Endless,
            }],
            false,
        );
    };
    let p = at(base, &[k("schedule")]);
    if s.campaigns.is_empty() {
        c.fail(
            &at(&p, &[k("campaigns")]),
            "a schedule needs at least one campaign",
        );
    }
    let mut campaigns = Vec::new();
    for (ci, cf) in s.campaigns.iter().enumerate() {
        let cp = at(&p, &[k("campaigns"), i(ci)]);
        let product = product_index(c, &at(&cp, &[k("product")]), &cf.product, products);
        let amount = match (cf.quantity, &cf.duration) {
            (Some(0), None) => {
                c.fail(
                    &at(&cp, &[k("quantity")]),
                    "a campaign quantity must be at least one unit",
                );
                None
            }
            (Some(q), None) => Some(CampaignAmount::Quantity(q)),
            (None, Some(d)) => match c.duration(&at(&cp, &[k("duration")]), d) {
                Some(SimDuration::ZERO) => {
                    c.fail(
                        &at(&cp, &[k("duration")]),
                        "a campaign must last longer than zero",
                    );
                    None
                }
                other => other.map(CampaignAmount::Duration),
            },
            _ => {
                c.fail(&cp, "give exactly one of `quantity` and `duration`");
                None
            }
        };
        if let (Some(product), Some(amount)) = (product, amount) {
            campaigns.push(Campaign { product, amount });
        }
    }
    if campaigns.is_empty() {
        return (
            vec![Campaign {
                product: 0,
                amount: CampaignAmount::Endless,
            }],
            false,
        );
    }
    if s.sequence == Some(SequenceFile::MinChangeover)
        && let Some(oee) = oee_station.filter(|&o| o < stations.len())
    {
        // The critical machine's changeovers decide the line's lost time.
        let order: Vec<usize> = campaigns.iter().map(|cp| cp.product).collect();
        let seq = sequence_campaigns(
            &stations[oee].changeover,
            &order,
            SequenceRule::MinChangeover,
        );
        campaigns = seq.into_iter().map(|j| campaigns[j].clone()).collect();
    }
    (campaigns, s.repeat.unwrap_or(false))
}

/// What a line gives its stations' speeds: the rated speed that shares ("110%") and
/// accumulation times are reckoned against, and the line's speed factors per product.
struct LineRates<'a> {
    /// Milli-units per hour; `None` when not given or not valid.
    rated: Option<u64>,
    /// Whether the line wrote a rated speed (valid or not: an invalid one has its error).
    rated_given: bool,
    factors: &'a [f64],
}

impl LineRates<'_> {
    /// A station's speed: a rate, or a share of the rated speed (milli-units per hour of
    /// its own unit, worth `equivalent` base units).
    fn station_rate(
        &self,
        c: &mut Checker<'_>,
        path: &[Seg],
        text: &str,
        equivalent: u64,
    ) -> Option<u64> {
        let Some(share) = text.trim().strip_suffix('%') else {
            return parse_rate(text).map_err(|e| c.fail(path, e)).ok();
        };
        let Ok(pct) = share.trim().parse::<f64>() else {
            c.fail(
                path,
                format!("`{text}` is not a share of the rated speed; write it like \"110%\""),
            );
            return None;
        };
        if !(pct.is_finite() && pct > 0.0) {
            c.fail(
                path,
                format!("`{text}` must be a positive share of the rated speed"),
            );
            return None;
        }
        let Some(rated) = self.rated else {
            self.refuse_without_rated(c, path, "a speed in per cent");
            return None;
        };
        // Multiplied before dividing, so whole shares of whole rates stay exact.
        let milli = (rated as f64 * pct / 100.0 / equivalent as f64).round();
        if !(1.0..=1e15).contains(&milli) {
            c.fail(
                path,
                format!(
                    "`{text}` of the rated speed is outside the supported range (0.001/h to 1e12/h)"
                ),
            );
            return None;
        }
        Some(milli as u64)
    }

    fn refuse_without_rated(&self, c: &mut Checker<'_>, path: &[Seg], what: &str) {
        if !self.rated_given {
            c.fail(
                path,
                format!("{what} needs the line's `rated_speed`, e.g. rated_speed = \"36000/h\""),
            );
        }
    }
}

/// Whole units a buffer holds when it takes `time` to fill at `rated` milli-units per hour
/// (rounded down, in integers so that 120 s at 30000/h is 1000, not 999).
fn accumulated_units(rated: u64, time: SimDuration) -> u64 {
    const MILLI_NS_PER_HOUR: u128 = 1000 * 3600 * 1_000_000_000;
    u64::try_from(u128::from(rated) * u128::from(time.0) / MILLI_NS_PER_HOUR).unwrap_or(u64::MAX)
}

/// The buffer (as written) named `name` that station `si` sends its rejects back to:
/// upstream of it, holding at least one unit, of units the size of the station's.
fn rework_buffer(
    c: &mut Checker<'_>,
    path: &[Seg],
    (lf, t, raw, equivalents): (&LineFile, &graph::Topology, &[Buffer], &[u64]),
    si: usize,
    name: &str,
) -> Option<usize> {
    let station = &lf.stations[si].name;
    let Some(b) = lf.buffers.iter().position(|bf| bf.name == name) else {
        let names: Vec<&str> = lf.buffers.iter().map(|bf| bf.name.as_str()).collect();
        c.fail(
            path,
            format!(
                "buffer `{name}` does not exist in line `{}`; its buffers are: {}",
                lf.name,
                names.join(", ")
            ),
        );
        return None;
    };
    let (from, to) = &t.ends[b];
    if !to.iter().any(|&s| graph::reaches(t, s, si)) {
        c.fail(
            path,
            format!(
                "`{name}` is not upstream of `{station}`: rejects go back to a buffer whose units reach the station again"
            ),
        );
        return None;
    }
    if raw.len() == lf.buffers.len() && raw[b].capacity == Some(0) {
        c.fail(
            path,
            format!("`{name}` holds no unit (capacity 0): a rework buffer holds at least one"),
        );
        return None;
    }
    if let Some(&f) = from.first()
        && equivalents[f] != equivalents[si]
    {
        c.fail(
            path,
            format!(
                "`{name}` holds units of {} base units, but `{station}` makes units of {}: a reject goes back as it is",
                equivalents[f], equivalents[si]
            ),
        );
        return None;
    }
    Some(b)
}

/// The level switches of every buffer, in flow order (`rank[bi]` is the resolved index
/// of buffer `bi` as written).
fn resolve_switches(
    c: &mut Checker<'_>,
    base: &[Seg],
    lf: &LineFile,
    t: &graph::Topology,
    rank: &[usize],
    names: &[&str],
    buffers: &[Buffer],
) -> Vec<LevelSwitch> {
    let mut out = Vec::new();
    for &bi in &t.order {
        let buffer = &buffers[rank[bi]];
        for (j, sw) in lf.buffers[bi].switches.iter().enumerate() {
            let p = at(base, &[k("buffers"), i(bi), k("switches"), i(j)]);
            let on = switch_level(c, &at(&p, &[k("on")]), &sw.on, buffer.capacity);
            let off = switch_level(c, &at(&p, &[k("off")]), &sw.off, buffer.capacity);
            let delay = match &sw.delay {
                Some(d) => c.duration(&at(&p, &[k("delay")]), d),
                None => Some(SimDuration::ZERO),
            };
            let (Some(on), Some(off)) = (on, off) else {
                continue;
            };
            if on == off {
                c.fail(
                    &p,
                    format!("`on` and `off` are both {on} units: a switch needs hysteresis, levels at least one unit apart"),
                );
                continue;
            }
            let high = on > off;
            let mp = at(&p, &[k("machine")]);
            let mut only = |side: &[usize], word: &str| match side {
                [m] => Some(*m),
                _ => {
                    c.fail(
                        &mp,
                        format!(
                            "buffer `{}` has several {word} machines; name the one the switch drives",
                            buffer.name
                        ),
                    );
                    None
                }
            };
            let machine = match sw.machine.as_deref() {
                None if high => only(&buffer.from, "upstream"),
                None => only(&buffer.to, "downstream"),
                Some("upstream") => only(&buffer.from, "upstream"),
                Some("downstream") => only(&buffer.to, "downstream"),
                Some(name) => names.iter().position(|n| *n == name).or_else(|| {
                    c.fail(
                        &mp,
                        format!(
                            "station `{name}` does not exist in line `{}`; give \"upstream\", \"downstream\" or one of: {}",
                            lf.name,
                            names.join(", ")
                        ),
                    );
                    None
                }),
            };
            let step = match sw.step.as_deref() {
                None => Some(if high { 0.0 } else { 0.9 }),
                Some("stop") => Some(0.0),
                Some(text) => {
                    let pct = text
                        .trim()
                        .strip_suffix('%')
                        .and_then(|x| x.trim().parse::<f64>().ok())
                        .filter(|x| x.is_finite() && *x > 0.0 && *x <= 1000.0);
                    if pct.is_none() {
                        c.fail(
                            &at(&p, &[k("step")]),
                            format!("`{text}` is not a speed step; write a share of nominal speed above 0 and up to 1000%, like \"90%\", or \"stop\""),
                        );
                    }
                    pct.map(|x| x / 100.0)
                }
            };
            if let (Some(delay), Some(machine), Some(step)) = (delay, machine, step) {
                out.push(LevelSwitch {
                    buffer: rank[bi],
                    on,
                    off,
                    delay,
                    machine,
                    step,
                    downstream: buffer.from.iter().any(|&f| graph::reaches(t, machine, f)),
                });
            }
        }
    }
    out
}

/// A switch level in units: whole units up to the capacity, or a share of a bounded one.
fn switch_level(
    c: &mut Checker<'_>,
    path: &[Seg],
    level: &LevelFile,
    capacity: Option<u64>,
) -> Option<u64> {
    let units = match level {
        LevelFile::Units(n) => *n,
        LevelFile::Share(text) => {
            let Some(pct) = text
                .trim()
                .strip_suffix('%')
                .and_then(|x| x.trim().parse::<f64>().ok())
                .filter(|x| (0.0..=100.0).contains(x))
            else {
                c.fail(
                    path,
                    format!("`{text}` is not a level; give whole units or a share of the capacity from 0% to 100%, like \"80%\""),
                );
                return None;
            };
            let Some(cap) = capacity else {
                c.fail(
                    path,
                    "a level in per cent needs a buffer of bounded capacity; give whole units",
                );
                return None;
            };
            (cap as f64 * pct / 100.0).round() as u64
        }
    };
    if let Some(cap) = capacity
        && units > cap
    {
        c.fail(
            path,
            format!("{units} units is above the buffer's capacity of {cap}: the level can never reach it"),
        );
        return None;
    }
    Some(units)
}

/// Speed factors per product: `inherited`, with those `given` at `path` in their place.
fn speed_factors(
    c: &mut Checker<'_>,
    path: &[Seg],
    given: &std::collections::BTreeMap<String, f64>,
    inherited: &[f64],
    products: &[String],
) -> Vec<f64> {
    let mut factors = inherited.to_vec();
    for (name, f) in given {
        let fp = at(path, &[k(name)]);
        if let Some(pi) = product_index(c, &fp, name, products) {
            if !(f.is_finite() && *f > 0.0) {
                c.fail(&fp, format!("{f} is not a positive speed factor"));
            }
            factors[pi] = *f;
        }
    }
    factors
}

fn resolve_station(
    c: &mut Checker<'_>,
    p: &[Seg],
    sf: &StationFile,
    products: &[String],
    line_matrix: &ChangeoverMatrix,
    line: &LineRates<'_>,
    equivalent: u64,
) -> Option<Station> {
    let n_before = c.problems();
    let process = match (&sf.speed, &sf.processing_time) {
        (Some(s), None) => line
            .station_rate(c, &at(p, &[k("speed")]), s, equivalent)
            .map(Process::Rate),
        (None, Some(t)) => {
            let d = c.distribution(&at(p, &[k("processing_time")]), t);
            if let Some(d) = &d
                && d.mean_secs() <= 0.0
            {
                c.fail(
                    &at(p, &[k("processing_time")]),
                    "the mean processing time must be longer than zero",
                );
            }
            d.map(Process::Time)
        }
        _ => {
            c.fail(
                p,
                format!(
                    "station `{}` needs exactly one of `speed` and `processing_time`",
                    sf.name
                ),
            );
            None
        }
    };
    let reject_rate = sf.reject_rate.unwrap_or(0.0);
    if !(0.0..1.0).contains(&reject_rate) {
        c.fail(
            &at(p, &[k("reject_rate")]),
            format!("{reject_rate} is not a fraction in [0, 1)"),
        );
    }
    let speed_factors = speed_factors(
        c,
        &at(p, &[k("speed_factors")]),
        &sf.speed_factors,
        line.factors,
        products,
    );
    let mut failures = Vec::new();
    for (fi, ff) in sf.failures.iter().enumerate() {
        failures.extend(failure_mode(c, &at(p, &[k("failures"), i(fi)]), ff));
    }
    if let Some(ms) = &sf.micro_stops {
        let mp = at(p, &[k("micro_stops")]);
        let tbf = c.distribution(&at(&mp, &[k("tbf")]), &ms.tbf);
        let ttr = c.distribution(&at(&mp, &[k("duration")]), &ms.duration);
        if let Some(t) = &tbf
            && t.mean_secs() <= 0.0
        {
            c.fail(
                &at(&mp, &[k("tbf")]),
                "the mean time between micro-stops must be longer than zero",
            );
        }
        if let (Some(tbf), Some(ttr)) = (tbf, ttr) {
            failures.push(FailureMode {
                name: "micro-stop".into(),
                tbf,
                ttr,
                basis: FailureBasis::Operating,
                micro: true,
            });
        }
    }
    let changeover = changeover_matrix(
        c,
        &at(p, &[k("changeover")]),
        sf.changeover.as_ref(),
        line_matrix,
        products,
    );
    if c.problems() > n_before {
        return None;
    }
    Some(Station {
        name: sf.name.clone(),
        kind: sf.kind,
        process: process?,
        reject_rate,
        takes: sf.takes.unwrap_or(1).max(1),
        equivalent,
        unit: sf.unit.clone().unwrap_or_default(),
        speed_factors,
        failures,
        changeover,
        inputs: Vec::new(),
        outputs: Vec::new(),
        divide: Divide::MostRoom,
        combine: CombineRule::FirstCome,
        rework: None,
    })
}
