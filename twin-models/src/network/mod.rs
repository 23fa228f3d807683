//! The network subsystem: the network beyond one plant at run time. Plants book their
//! lines' output as pallets of finished goods, distribution centres serve customer orders
//! from stock and reorder from their plant under their policy, and trucks carry what the
//! plant has over the lane after a drawn transit time. What a plant cannot ship yet waits
//! for its production, first come first served; so do customer orders a DC cannot serve.
//!
//! [`NetworkRuntime`] is a resource of the plant's world; its [`NetworkEvent`]s are the
//! production tick, generated customer orders and truck arrivals. It reads the lines only
//! through the output the caller reports at each tick.

pub mod kpi;

use crate::scenario::{Network, SiteKind};
pub use kpi::{LaneKpis, NetworkKpis, RegionKpis, SiteKpis};
use orchestrator::replenish::StockPosition;
use sim::{Calendar, Level, RngStreams, SimDuration, SimTime, Spells, StreamRng};
use std::collections::{BTreeMap, VecDeque};

/// Plants book their lines' output as finished goods this often.
pub use crate::scenario::network::PRODUCTION_TICK;

/// An event of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NetworkEvent {
    /// Plants book their lines' output as finished goods.
    Tick,
    /// A generated customer order reaches DC `site`.
    CustomerOrder { site: u16 },
    /// Truck `truck` of lane `lane` reaches its DC.
    TruckArrival { lane: u16, truck: u32 },
}

/// A customer order waiting at a DC.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct CustomerOrder {
    left: f64,
    due: SimTime,
}

/// A site's state and statistics.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct SiteState {
    /// Pallets on hand, with their time average and least since the warm-up.
    on_hand: Level,
    // Plant.
    pallets_booked: u64,
    made: f64,
    shipped: f64,
    /// Requests from DCs not yet shipped: (lane, pallets).
    waiting: VecDeque<(usize, f64)>,
    // DC.
    in_transit: f64,
    requested: f64,
    open: VecDeque<CustomerOrder>,
    orders: u64,
    demanded: f64,
    filled_at_once: f64,
    shipped_in_full: u64,
    on_time: u64,
    received: f64,
    /// Spells with demand waiting (stock-outs).
    out: Spells,
    outflow: f64,
}

impl SiteState {
    /// A site with `on_hand` pallets at time 0.
    fn new(on_hand: f64) -> Self {
        SiteState {
            on_hand: Level::new(SimTime::ZERO, on_hand),
            pallets_booked: 0,
            made: 0.0,
            shipped: 0.0,
            waiting: VecDeque::new(),
            in_transit: 0.0,
            requested: 0.0,
            open: VecDeque::new(),
            orders: 0,
            demanded: 0.0,
            filled_at_once: 0.0,
            shipped_in_full: 0,
            on_time: 0,
            received: 0.0,
            out: Spells::new(),
            outflow: 0.0,
        }
    }

    fn backlog(&self) -> f64 {
        self.open.iter().map(|o| o.left).sum()
    }

    fn take(&mut self, now: SimTime, qty: f64) {
        self.on_hand.add(now, -qty);
        self.outflow += qty;
    }

    /// Serves waiting customer orders in order while stock lasts.
    fn serve_orders(&mut self, now: SimTime) {
        while let Some(o) = self.open.front() {
            if self.on_hand.value() + 1e-9 < o.left {
                break;
            }
            let o = self.open.pop_front().expect("looked at it just now");
            self.take(now, o.left);
            self.shipped_in_full += 1;
            if now <= o.due {
                self.on_time += 1;
            }
        }
        if self.open.is_empty() {
            self.out.set(false, now);
        }
    }
}

/// A truck on a lane: the pallets it carries.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Truck {
    pallets: f64,
}

/// A truck to put on the calendar: it reaches the end of `lane` after `transit`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Departure {
    /// Lane index.
    lane: usize,
    /// Truck number on the lane.
    truck: u32,
    /// Transit time drawn for it.
    transit: SimDuration,
}

/// Trucks a plant loads at once, at most (a review or a production tick); what waits
/// beyond them ships at the next tick, 15 minutes on: 4,000 trucks an hour, more than any
/// plant's docks.
pub const TRUCKS_PER_TICK: usize = 1_000;

/// The network's runtime state (a resource of the plant's world).
#[derive(bevy_ecs::resource::Resource, serde::Serialize, serde::Deserialize)]
pub struct NetworkRuntime {
    net: Network,
    /// The end of the run: nothing is scheduled past it.
    horizon: SimTime,
    /// Per site: customer orders come from a feed (the model generates none).
    fed: Vec<bool>,
    sites: Vec<SiteState>,
    trucks: Vec<Vec<Truck>>,
    /// Per lane, the first truck of the measured period.
    measured_from: Vec<usize>,
    lane_rng: Vec<StreamRng>,
    demand_rng: Vec<StreamRng>,
}

/// The stream of lane `l`'s transit times.
fn lane_stream(streams: &RngStreams, l: usize) -> StreamRng {
    streams.stream(&[RngStreams::label("lane-transit"), l as u64])
}

/// The stream of site `s`'s demand.
fn demand_stream(streams: &RngStreams, s: usize) -> StreamRng {
    streams.stream(&[RngStreams::label("dc-demand"), s as u64])
}

impl NetworkRuntime {
    /// The network at its initial stock, for a run to `horizon`; `seed` is the run's.
    pub fn new(net: &Network, seed: u64, horizon: SimTime) -> Self {
        let streams = RngStreams::new(seed);
        NetworkRuntime {
            horizon,
            fed: vec![false; net.sites.len()],
            sites: net
                .sites
                .iter()
                .map(|s| SiteState::new(s.initial))
                .collect(),
            trucks: vec![Vec::new(); net.lanes.len()],
            measured_from: vec![0; net.lanes.len()],
            lane_rng: (0..net.lanes.len())
                .map(|l| lane_stream(&streams, l))
                .collect(),
            demand_rng: (0..net.sites.len())
                .map(|s| demand_stream(&streams, s))
                .collect(),
            net: net.clone(),
        }
    }

    /// Replaces every random stream by the one of the same purpose under `seed` (a fork's
    /// fresh future from the same state).
    pub fn reseed(&mut self, seed: u64) {
        let streams = RngStreams::new(seed);
        for (l, r) in self.lane_rng.iter_mut().enumerate() {
            *r = lane_stream(&streams, l);
        }
        for (s, r) in self.demand_rng.iter_mut().enumerate() {
            *r = demand_stream(&streams, s);
        }
    }

    /// The network's sites and lanes.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Sets whether site `site` takes its customer orders from a feed (then the model
    /// generates none there).
    pub fn set_fed(&mut self, site: usize, fed: bool) {
        self.fed[site] = fed;
    }

    /// Puts the first production tick and every DC's first generated order on `cal`, and
    /// lets every DC review its position (one may start at or below its reorder point).
    pub fn start(&mut self, cal: &mut impl Calendar<NetworkEvent>) {
        cal.at(SimTime::ZERO, NetworkEvent::Tick);
        for site in 0..self.net.sites.len() {
            if let Some(first) = self.next_order_in(site)
                && SimTime(first.0) < self.horizon
            {
                cal.at(
                    SimTime(first.0),
                    NetworkEvent::CustomerOrder { site: site as u16 },
                );
            }
        }
        let now = cal.now();
        let mut trucks = Vec::new();
        for site in 0..self.net.sites.len() {
            trucks.extend(self.review(site, now));
        }
        send_trucks(cal, trucks);
    }

    /// Handles `event`; at a production tick, `line_output(l)` says how many good units
    /// line `l` has made since time 0.
    pub fn handle(
        &mut self,
        event: NetworkEvent,
        mut line_output: impl FnMut(usize) -> f64,
        cal: &mut impl Calendar<NetworkEvent>,
    ) {
        let now = cal.now();
        match event {
            NetworkEvent::Tick => {
                for k in 0..self.net.sites.len() {
                    if self.net.sites[k].kind != SiteKind::Plant {
                        continue;
                    }
                    let mut units = 0.0;
                    for i in 0..self.net.sites[k].lines.len() {
                        units += line_output(self.net.sites[k].lines[i]);
                    }
                    let trucks = self.produced(k, units, now);
                    send_trucks(cal, trucks);
                }
                if now + PRODUCTION_TICK < self.horizon {
                    cal.after(PRODUCTION_TICK, NetworkEvent::Tick);
                }
            }
            NetworkEvent::CustomerOrder { site } => {
                let trucks = self.generated_order(site as usize, now);
                if let Some(next) = self.next_order_in(site as usize)
                    && now + next < self.horizon
                {
                    cal.after(next, NetworkEvent::CustomerOrder { site });
                }
                send_trucks(cal, trucks);
            }
            NetworkEvent::TruckArrival { lane, truck } => {
                let trucks = self.arrived(lane as usize, truck, now);
                send_trucks(cal, trucks);
            }
        }
    }

    /// A customer order of `qty` pallets due at `due` reached DC `site` (from a feed).
    pub fn order_from_feed(
        &mut self,
        site: usize,
        qty: f64,
        due: SimTime,
        cal: &mut impl Calendar<NetworkEvent>,
    ) {
        let trucks = self.customer_order(site, qty, due, cal.now());
        send_trucks(cal, trucks);
    }

    /// A cycle count at `site` (from a feed): its figure becomes `qty`; returns the drift
    /// (counted minus the twin's figure).
    pub fn count(&mut self, site: usize, qty: f64, cal: &mut impl Calendar<NetworkEvent>) -> f64 {
        let (drift, trucks) = self.counted(site, qty, cal.now());
        send_trucks(cal, trucks);
        drift
    }

    /// Stock at `site` booked up or down by `delta` (from a feed).
    pub fn adjust(&mut self, site: usize, delta: f64, cal: &mut impl Calendar<NetworkEvent>) {
        let trucks = self.adjusted(site, delta, cal.now());
        send_trucks(cal, trucks);
    }

    /// Time to the next generated customer order at DC `site`, if it has a generator (and
    /// no feed brings its orders).
    fn next_order_in(&mut self, site: usize) -> Option<SimDuration> {
        if self.fed[site] {
            return None;
        }
        let d = self.net.sites[site].demand.as_ref()?;
        Some(d.every.sample(&mut self.demand_rng[site]))
    }

    /// A generated customer order at DC `site` now.
    fn generated_order(&mut self, site: usize, now: SimTime) -> Vec<Departure> {
        let d = self.net.sites[site]
            .demand
            .clone()
            .expect("only sites with a generator get generated orders");
        self.customer_order(site, d.qty, now + d.due, now)
    }

    /// A customer order of `qty` pallets due at `due` at DC `site`: shipped from stock now
    /// if it can be and nothing waits before it, else it waits. Returns trucks the DC's
    /// reorder sets off.
    fn customer_order(
        &mut self,
        site: usize,
        qty: f64,
        due: SimTime,
        now: SimTime,
    ) -> Vec<Departure> {
        let s = &mut self.sites[site];
        s.orders += 1;
        s.demanded += qty;
        s.filled_at_once += qty.min((s.on_hand.value() - s.backlog()).max(0.0));
        s.open.push_back(CustomerOrder { left: qty, due });
        if s.open.len() == 1 && s.on_hand.value() + 1e-9 >= qty {
            s.serve_orders(now);
        } else {
            s.out.set(true, now);
        }
        self.review(site, now)
    }

    /// DC `site` looks at its position and asks its plant for what its policy orders.
    fn review(&mut self, site: usize, now: SimTime) -> Vec<Departure> {
        let (Some(policy), Some(lane)) = (self.net.sites[site].policy, self.net.sites[site].supply)
        else {
            return Vec::new();
        };
        let s = &mut self.sites[site];
        let position = StockPosition {
            on_hand: s.on_hand.value(),
            on_order: s.in_transit + s.requested,
            backorders: s.backlog(),
        };
        let Some(qty) = policy.order(&position, 0.0) else {
            return Vec::new();
        };
        s.requested += qty;
        let plant = self.net.lanes[lane].from;
        self.sites[plant].waiting.push_back((lane, qty));
        self.ship_waiting(plant, now)
    }

    /// Plant `plant` ships the requests waiting, in order, in full trucks (or the last
    /// part of a request, when less than a truck); a truck leaves only when its load is on
    /// hand.
    fn ship_waiting(&mut self, plant: usize, now: SimTime) -> Vec<Departure> {
        let mut out = Vec::new();
        while let Some(&(lane, qty)) = self.sites[plant].waiting.front() {
            // A plant's docks load so many trucks at a time; the rest go at the next
            // production tick. (Without a bound, a request of 10^12 pallets sent
            // 3 × 10^10 trucks in one instant, out of memory.)
            if out.len() >= TRUCKS_PER_TICK {
                break;
            }
            let load = qty.min(self.net.lanes[lane].truck);
            let p = &mut self.sites[plant];
            if p.on_hand.value() + 1e-9 < load {
                p.out.set(true, now);
                break;
            }
            p.take(now, load);
            p.shipped += load;
            if load + 1e-9 >= qty {
                p.waiting.pop_front();
            } else {
                p.waiting[0].1 -= load;
            }
            let d = &mut self.sites[self.net.lanes[lane].to];
            d.requested -= load;
            d.in_transit += load;
            let transit = self.net.lanes[lane]
                .lead_time
                .sample(&mut self.lane_rng[lane]);
            self.trucks[lane].push(Truck { pallets: load });
            out.push(Departure {
                lane,
                truck: (self.trucks[lane].len() - 1) as u32,
                transit,
            });
        }
        let p = &mut self.sites[plant];
        if p.waiting.is_empty() {
            p.out.set(false, now);
        }
        out
    }

    /// Plant `plant`'s lines have made `units` good units in all: books the whole pallets
    /// since the last time and ships what waits.
    fn produced(&mut self, plant: usize, units: f64, now: SimTime) -> Vec<Departure> {
        let upp = self.net.sites[plant].units_per_pallet as f64;
        let pallets = (units / upp).floor().max(0.0) as u64;
        let p = &mut self.sites[plant];
        let new = pallets.saturating_sub(p.pallets_booked);
        p.pallets_booked = p.pallets_booked.max(pallets);
        p.on_hand.add(now, new as f64);
        p.made += new as f64;
        self.ship_waiting(plant, now)
    }

    /// Truck `truck` of `lane` arrives: the DC serves what waits and reviews.
    fn arrived(&mut self, lane: usize, truck: u32, now: SimTime) -> Vec<Departure> {
        let t = self.trucks[lane][truck as usize];
        let dc = self.net.lanes[lane].to;
        let d = &mut self.sites[dc];
        d.on_hand.add(now, t.pallets);
        d.in_transit -= t.pallets;
        d.received += t.pallets;
        d.serve_orders(now);
        self.review(dc, now)
    }

    /// A cycle count at `site` (from a feed): its figure becomes `qty`; the drift.
    fn counted(&mut self, site: usize, qty: f64, now: SimTime) -> (f64, Vec<Departure>) {
        let s = &mut self.sites[site];
        let drift = qty - s.on_hand.value();
        s.on_hand.set(now, qty);
        s.serve_orders(now);
        let out = match self.net.sites[site].kind {
            SiteKind::Dc => self.review(site, now),
            SiteKind::Plant => self.ship_waiting(site, now),
        };
        (drift, out)
    }

    /// Stock at `site` booked up or down by `delta` (from a feed).
    fn adjusted(&mut self, site: usize, delta: f64, now: SimTime) -> Vec<Departure> {
        let qty = (self.sites[site].on_hand.value() + delta).max(0.0);
        self.counted(site, qty, now).1
    }

    /// Restarts the statistics at `now` (end of warm-up).
    pub fn reset_statistics(&mut self, now: SimTime) {
        for s in &mut self.sites {
            s.on_hand.restart(now);
            s.out.restart(now);
            s.made = 0.0;
            s.shipped = 0.0;
            s.orders = 0;
            s.demanded = 0.0;
            s.filled_at_once = 0.0;
            s.shipped_in_full = 0;
            s.on_time = 0;
            s.received = 0.0;
            s.outflow = 0.0;
        }
        for (from, t) in self.measured_from.iter_mut().zip(&self.trucks) {
            *from = t.len();
        }
    }

    /// The network's KPIs at `now`.
    pub fn kpis(&self, now: SimTime) -> NetworkKpis {
        let sites: Vec<SiteKpis> = self
            .sites
            .iter()
            .zip(&self.net.sites)
            .map(|(s, spec)| {
                let average = s.on_hand.mean(now);
                let overdue = s.open.iter().filter(|o| o.due < now).count() as u64;
                let due = s.shipped_in_full + overdue;
                let dc = spec.kind == SiteKind::Dc;
                SiteKpis {
                    site: spec.name.clone(),
                    kind: if dc { "dc" } else { "plant" }.to_string(),
                    region: spec.region.clone(),
                    product: spec.product.clone(),
                    on_hand: s.on_hand.value(),
                    average_on_hand: average,
                    least_on_hand: s.on_hand.least(),
                    turns: if average > 0.0 {
                        s.outflow / average
                    } else {
                        0.0
                    },
                    stock_outs: s.out.count(),
                    stock_out_minutes: s.out.total_s(now) / 60.0,
                    pallets_made: (!dc).then_some(s.made),
                    pallets_shipped: (!dc).then_some(s.shipped),
                    pallets_waiting_to_ship: (!dc)
                        .then(|| s.waiting.iter().fold(0.0, |a, w| a + w.1)),
                    orders: dc.then_some(s.orders),
                    fill_rate: (dc && s.demanded > 0.0).then(|| s.filled_at_once / s.demanded),
                    otif: (dc && due > 0).then(|| s.on_time as f64 / due as f64),
                    open_orders: dc.then_some(s.open.len() as u64),
                    pallets_received: dc.then_some(s.received),
                    pallets_in_transit: dc.then_some(s.in_transit),
                }
            })
            .collect();
        let lanes = self
            .net
            .lanes
            .iter()
            .zip(self.trucks.iter().zip(&self.measured_from))
            .map(|(l, (trucks, &from))| {
                let sent = &trucks[from..];
                LaneKpis {
                    from: self.net.sites[l.from].name.clone(),
                    to: self.net.sites[l.to].name.clone(),
                    trucks: sent.len() as u64,
                    pallets: sent.iter().map(|t| t.pallets).sum(),
                    truck_fill: if sent.is_empty() {
                        0.0
                    } else {
                        sent.iter().map(|t| t.pallets).sum::<f64>() / (sent.len() as f64 * l.truck)
                    },
                }
            })
            .collect();
        let mut regions: BTreeMap<String, (u64, u64, u64, f64, f64)> = BTreeMap::new();
        for (s, k) in self.sites.iter().zip(&sites) {
            if k.kind != "dc" {
                continue;
            }
            let overdue = s.open.iter().filter(|o| o.due < now).count() as u64;
            let r = regions.entry(k.region.clone()).or_default();
            r.0 += s.orders;
            r.1 += s.on_time;
            r.2 += s.shipped_in_full + overdue;
            r.3 += s.filled_at_once;
            r.4 += s.demanded;
        }
        NetworkKpis {
            sites,
            lanes,
            regions: regions
                .into_iter()
                .map(
                    |(region, (orders, on_time, due, filled, demanded))| RegionKpis {
                        region,
                        orders,
                        otif: (due > 0).then(|| on_time as f64 / due as f64),
                        fill_rate: (demanded > 0.0).then(|| filled / demanded),
                    },
                )
                .collect(),
        }
    }
}

/// Puts trucks leaving on the calendar, at their arrival.
fn send_trucks(cal: &mut impl Calendar<NetworkEvent>, trucks: Vec<Departure>) {
    for t in trucks {
        cal.after(
            t.transit,
            NetworkEvent::TruckArrival {
                lane: t.lane as u16,
                truck: t.truck,
            },
        );
    }
}
