//! Long branching lines (from [`LOCAL_FROM`] stations) planned where things change, as
//! long series lines are (see `series`): an event books and replans only its **reach**,
//! the stations joined to it through buffers that are empty or full, and leaves the
//! others at their rates.
//!
//! A buffer joins every station feeding it and fed by it when it is within [`NEAR`] of
//! full, of empty (of the product any machine after it runs, or at its conveyor's end),
//! when it is a direct coupling, when a station divides over it by most room (the
//! division follows its level whatever it is), when it is a merge whose machines run
//! different products (it holds one back while another has its product to give), or when
//! a machine feeding it has made another product than its last run's since it was booked
//! (not in its runs yet, that run would seem to go on). The
//! rates of the reach's stations depend only on each other and on the flows of the
//! buffers at its edge, which hold them back in nothing, so planning the reach alone
//! gives the rates planning the whole line would.
//!
//! The plan itself must not depend on when it is made: an empty buffer into which more
//! flows than its machines take fills at once, and a full one from which more flows out
//! than in leaves full at once (`propagate_graph`). Held to an empty buffer's division
//! or a full merge's last allowance instead, machines kept a split that only the next
//! plan reaching them undid: planning the whole line at the next event anywhere, a reach
//! at the next event it met, so that the two parted by up to 1.5 % of a machine's count
//! over 12 h.
//!
//! What a station not yet booked has put into or taken from a buffer by a time follows
//! from its rate since it was booked ([`FluidLine::content_at`]), exactly as booking it
//! would count it.

use super::series::{NEAR, at_after};
use super::{EPS, FluidLine};
use crate::line::events::LineEvent;
use crate::scenario::Divide;
use sim::{Calendar, SimTime};

/// A station's mark: not booked since the last plan.
pub(super) const UNMARKED: u8 = 0;
/// A station's mark: booked to now, to be planned again.
pub(super) const PLANNED: u8 = 1;
/// A station's mark: in the reach being booked now.
pub(super) const BOOKING: u8 = 2;

/// Branching lines of this many stations or more are planned locally.
pub(super) const LOCAL_FROM: usize = 48;

impl FluidLine {
    /// Whether station `s` is booked to now, to be planned again.
    #[inline]
    fn marked(&self, s: usize) -> bool {
        self.mark.get(s).is_some_and(|&m| m != UNMARKED)
    }

    /// Whether station `s` is in the reach being booked.
    #[inline]
    fn booking(&self, s: usize) -> bool {
        self.mark.get(s) == Some(&BOOKING)
    }

    /// Marks station `s` as `mark`; whether it was not marked before.
    fn mark_station(&mut self, s: usize, mark: u8) -> bool {
        if self.mark.len() != self.stations.len() {
            self.mark = vec![UNMARKED; self.stations.len()];
        }
        std::mem::replace(&mut self.mark[s], mark) == UNMARKED
    }

    /// Good ticks station `s` has made since it was booked, by `x`, at its rate.
    fn made_since_booked(&self, s: usize, x: SimTime) -> u128 {
        let st = &self.stations[s];
        if st.since >= x {
            return 0;
        }
        st.good_of::<true>(self.taken_at(s, x) - st.processed)
    }

    /// What has gone into and come out of buffer `b` of a branching line by `x`: what is
    /// booked, and what the stations next to it not booked to `x` have put in (split over
    /// their outputs as booking splits it) and taken at their rates.
    pub(super) fn content_at(&self, b: usize, x: SimTime) -> (u128, u128) {
        let g = self.graph.as_deref().expect("a branching line");
        let buf = &self.buffers[b];
        let (mut cum_in, mut cum_out) = (buf.cum_in, buf.cum_out);
        for &e in &g.feeds[b] {
            let f = g.edge_from[e];
            let made = self.made_since_booked(f, x);
            if made > 0 {
                Self::split_ticks(g, f, made, |edge, put| {
                    if edge == e {
                        cum_in += put;
                    }
                });
            }
        }
        for &t in &g.to[b] {
            if self.stations[t].since < x {
                cum_out += self.taken_at(t, x) - self.stations[t].processed;
            }
        }
        (cum_in, cum_out)
    }

    /// Whether buffer `b` joins the stations next to it at `x` (see the module's doc).
    fn joins_at(&self, b: usize, x: SimTime) -> bool {
        let g = self.graph.as_deref().expect("a branching line");
        let buf = &self.buffers[b];
        let by_room = g.feeds[b].iter().any(|&e| {
            let f = g.edge_from[e];
            g.edges(f).len() > 1 && g.divide[f] == Divide::MostRoom
        });
        if by_room || buf.capacity == Some(0) {
            return true;
        }
        // A merge whose machines run different products holds one back while another
        // still has the product it takes to give (see `merge_holds`).
        if g.feeds[b].len() > 1 && self.run_several(g.feeds[b].iter().map(|&e| g.edge_from[e])) {
            return true;
        }
        // What a machine feeding it made since it was booked is not in its runs yet: made
        // of another product than the last run's, that run would seem to go on, and the
        // end of its product reach the machines after it late (as on a series line).
        let last = buf.runs.back().map(|r| r.0);
        if g.feeds[b].iter().any(|&e| {
            let f = g.edge_from[e];
            Some(self.stations[f].core.product) != last && self.made_since_booked(f, x) > 0
        }) {
            return true;
        }
        let (cum_in, cum_out) = self.content_at(b, x);
        let level = cum_in.saturating_sub(cum_out);
        if buf
            .capacity
            .is_some_and(|c| c.saturating_sub(level) <= NEAR)
        {
            return true;
        }
        let dry = g.to[b].iter().any(|&t| {
            let product = self.stations[t].core.product;
            buf.leading_between(product, cum_in, cum_out) <= NEAR
        });
        dry || buf.transit.as_ref().is_some_and(|tr| {
            tr.arrived_at_replan.saturating_sub(cum_out) <= NEAR
                && tr.ready(x.0, cum_in, cum_out) <= NEAR
        })
    }

    /// The buffers next to station `s`: the one feeding it, then those it feeds.
    fn buffers_of(&self, s: usize) -> impl Iterator<Item = usize> + '_ {
        let g = self.graph.as_deref().expect("a branching line");
        g.input[s]
            .into_iter()
            .chain(g.edges(s).map(|e| g.edge_to[e]))
    }

    /// The stations feeding buffer `b` and those it feeds.
    fn stations_of(&self, b: usize) -> impl Iterator<Item = usize> + '_ {
        let g = self.graph.as_deref().expect("a branching line");
        g.feeds[b]
            .iter()
            .map(|&e| g.edge_from[e])
            .chain(g.to[b].iter().copied())
    }

    /// The `j`-th of [`Self::stations_of`] buffer `b` (by index, for callers that book
    /// stations between lookups).
    fn station_of(&self, b: usize, j: usize) -> usize {
        let g = self.graph.as_deref().expect("a branching line");
        match g.feeds[b].get(j) {
            Some(&e) => g.edge_from[e],
            None => g.to[b][j - g.feeds[b].len()],
        }
    }

    /// Books station `i` of a long branching line and its reach at `now`, to be planned
    /// again at the next [`FluidLine::settle`].
    pub(super) fn touch_reach(&mut self, i: usize, now: SimTime) {
        if self.marked(i) {
            return;
        }
        let mut reach = std::mem::take(&mut self.reach);
        reach.clear();
        self.mark_station(i, BOOKING);
        reach.push(i);
        let mut k = 0;
        let mut joined = std::mem::take(&mut self.due);
        while k < reach.len() {
            let s = reach[k];
            k += 1;
            joined.clear();
            // A buffer whose stations are all in already adds nobody.
            joined.extend(self.buffers_of(s).filter(|&b| {
                self.stations_of(b).any(|t| !self.booking(t)) && self.joins_at(b, now)
            }));
            for &b in &joined {
                for j in 0..self.stations_of(b).count() {
                    let t = self.station_of(b, j);
                    // One booked earlier at this instant is booked again (for nothing
                    // more), so that every buffer joining the reach is booked whole.
                    if !self.booking(t) {
                        self.mark_station(t, BOOKING);
                        reach.push(t);
                    }
                }
            }
        }
        self.due = joined;
        reach.sort_unstable();
        match self.packs {
            true => self.book_graph::<true, _>(reach.iter().copied(), false, now),
            false => self.book_graph::<false, _>(reach.iter().copied(), false, now),
        }
        for &s in &reach {
            self.mark[s] = PLANNED;
        }
        self.touched.extend(reach.iter().map(|&s| (s, s)));
        self.reach = reach;
    }

    /// A buffer of a long branching line reaches a boundary: every station next to it is
    /// booked with its reach.
    pub(super) fn touch_buffer(&mut self, b: usize, now: SimTime) {
        for j in 0..self.stations_of(b).count() {
            let s = self.station_of(b, j);
            self.touch(s, now);
        }
    }

    /// Plans the reaches booked since the last plan: their rates, the boundaries of their
    /// stations and of the buffers next to them, and the line's next flow event.
    pub(super) fn replan_reach(&mut self, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        self.ramp_wip(now);
        let (mut reach, mut near) = self.collect_reach();
        if !self.control.is_empty() {
            for &b in &near {
                if self.settled(b) {
                    let level = self.buffers[b].level();
                    self.control.sense(b, level, EPS, cal);
                }
            }
            if self.follow_switches(now) {
                self.reach = reach;
                self.due = near;
                (reach, near) = self.collect_reach();
            }
        }
        let slope_before = self.wip_slope_of(&near);
        self.planned += reach.len() as u64;
        for &s in &reach {
            self.stations[s].unlimit();
        }
        for &b in &near {
            if self.buffers[b].transit.is_none() {
                continue;
            }
            let (cum_in, cum_out) = self.content_at(b, now);
            if let Some(tr) = &mut self.buffers[b].transit {
                tr.replan_at(now.0, cum_in, cum_out);
            }
        }
        self.propagate_graph(reach.iter().copied());
        let buffers = self.buffers.len();
        for &b in &near {
            let (cum_in, cum_out) = self.content_at(b, now);
            if self.buffers[b].transit.is_some() {
                self.record_inflow_at(b, now, cum_in);
            }
            let level = cum_in.saturating_sub(cum_out);
            let dt = self
                .buffer_boundary(b, now, level, cum_in)
                .min(self.dry_meeting(b));
            self.boundaries.set(b, at_after(now, dt));
        }
        self.wip_slope += self.wip_slope_of(&near) - slope_before;
        for &s in &reach {
            let dt = self.station_boundary(s).min(self.divider_meeting(s));
            self.boundaries.set(buffers + s, at_after(now, dt));
        }
        for &s in &reach {
            self.mark[s] = UNMARKED;
        }
        self.touched.clear();
        self.reach = reach;
        self.due = near;
        let earliest = self.boundaries.earliest();
        self.schedule_flow((earliest != u64::MAX).then_some(SimTime(earliest)), cal);
    }

    /// The stations booked since the last plan, marked and in flow order, and the
    /// buffers next to them, each once (in the reused vectors).
    fn collect_reach(&mut self) -> (Vec<usize>, Vec<usize>) {
        let mut reach = std::mem::take(&mut self.reach);
        let mut near = std::mem::take(&mut self.due);
        reach.clear();
        near.clear();
        let touched = std::mem::take(&mut self.touched);
        for &(lo, hi) in &touched {
            for s in lo..=hi {
                // Stations booked by `book_all` are not marked yet.
                self.mark_station(s, PLANNED);
                reach.push(s);
            }
        }
        self.touched = touched;
        reach.sort_unstable();
        reach.dedup();
        for &s in &reach {
            near.extend(self.buffers_of(s));
        }
        near.sort_unstable();
        near.dedup();
        (reach, near)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_same_counts, run_line};
    use crate::line::LineEngine;

    /// A branching line of `sections` sections, each a station dividing its output over
    /// two parallel machines that combine onto the next section's station, with every
    /// rule in turn: a station dividing by most room, by shares and by priority over two
    /// buffers (one a conveyor); a buffer shared by two machines by most room and by
    /// shares; combiners first come, by priority and alternating. Breakdowns on operating
    /// time, rejects, a packer (6 into 1) with the stations after it at its speed in
    /// packs and small buffers; with `products`, two products with changeovers; with
    /// `switches`, level switches (stops and speed steps, one with a delay).
    fn branching_line(sections: usize, products: bool, switches: bool) -> String {
        let mut t = String::from("name = \"branching\"\n[run]\nhorizon = \"12h\"\nseed = 5\n");
        if products {
            t += "[[products]]\nname = \"A\"\n[[products]]\nname = \"B\"\n[[lines]]\nname = \"L\"\nschedule = { repeat = true, campaigns = [{ product = \"A\", quantity = 9000 }, { product = \"B\", quantity = 5000 }] }\nchangeover = { default = \"7min\" }\n";
        } else {
            t += "[[lines]]\nname = \"L\"\n";
        }
        let pack = sections * 2 / 3;
        // Speeds in the section's own unit: packs of 6 after the packer.
        let per = |k: usize, x: usize| if k > pack { x / 6 } else { x };
        let failures = |k: usize| {
            format!(
                "failures = [{{ tbf = \"exp({}min)\", ttr = \"exp(2min)\" }}]\n",
                25 + 7 * (k % 5)
            )
        };
        for k in 0..=sections {
            let speed = per(k, [7200, 6600, 7800][k % 3]);
            let takes = if k == pack { "takes = 6\n" } else { "" };
            let divide = match k % 3 {
                0 => "divide = \"most_room\"\n".to_string(),
                1 => format!("divide = \"shares\"\nshares = {{ a{k} = 2, b{k} = 1 }}\n"),
                _ => "divide = \"priority\"\n".to_string(),
            };
            let station_divides = k < sections && k % 2 == 0;
            t += &format!(
                "[[lines.stations]]\nname = \"s{k}\"\nkind = \"generic\"\nspeed = \"{speed}/h\"\n{takes}{}{}",
                if station_divides { divide.as_str() } else { "" },
                if k % 4 == 1 {
                    failures(k)
                } else {
                    String::new()
                }
            );
            if k == sections {
                break;
            }
            let reject = if k % 5 == 3 { 0.003 } else { 0.0 };
            t += &format!(
                "[[lines.stations]]\nname = \"p{k}\"\nkind = \"generic\"\nspeed = \"{}/h\"\nreject_rate = {reject}\n{}",
                per(k + 1, 4000),
                failures(k)
            );
            t += &format!(
                "[[lines.stations]]\nname = \"q{k}\"\nkind = \"generic\"\nspeed = \"{}/h\"\n{}",
                per(k + 1, 3600 + 200 * (k % 3)),
                failures(k + 2)
            );
        }
        for k in 0..sections {
            let capacity = 20 + 10 * (k % 3);
            let combine = ["first_come", "priority", "alternate"][k % 3];
            if k % 2 == 0 {
                let transport = if k % 3 == 2 {
                    "transport_time = \"20s\"\n"
                } else {
                    ""
                };
                t += &format!(
                    "[[lines.buffers]]\nname = \"a{k}\"\nfrom = \"s{k}\"\nto = \"p{k}\"\ncapacity = {capacity}\n{transport}[[lines.buffers]]\nname = \"b{k}\"\nfrom = \"s{k}\"\nto = \"q{k}\"\ncapacity = {capacity}\n"
                );
            } else {
                let divide = match k % 3 {
                    1 => format!("divide = \"shares\"\nshares = {{ p{k} = 2, q{k} = 1 }}\n"),
                    _ => "divide = \"most_room\"\n".to_string(),
                };
                let switches = match k % 4 {
                    3 if switches => format!(
                        "switches = [{{ on = \"90%\", off = \"60%\", machine = \"upstream\" }}, {{ on = \"10%\", off = \"30%\", machine = \"q{k}\", step = \"115%\", delay = \"5s\" }}]\n"
                    ),
                    _ => String::new(),
                };
                t += &format!(
                    "[[lines.buffers]]\nname = \"a{k}\"\nfrom = \"s{k}\"\nto = [\"p{k}\", \"q{k}\"]\ncapacity = {capacity}\n{divide}{switches}"
                );
            }
            let switches = match k % 4 {
                0 if switches => format!(
                    "switches = [{{ on = \"80%\", off = \"50%\", machine = \"p{k}\" }}, {{ on = \"20%\", off = \"40%\", machine = \"s{}\", step = \"90%\" }}]\n",
                    k + 1
                ),
                _ => String::new(),
            };
            t += &format!(
                "[[lines.buffers]]\nname = \"c{k}\"\nfrom = [\"p{k}\", \"q{k}\"]\nto = \"s{}\"\ncapacity = {}\ncombine = \"{combine}\"\n{switches}",
                k + 1,
                capacity + 10
            );
        }
        t
    }

    #[test]
    fn planning_reaches_gives_what_planning_the_whole_line_gives() {
        // To a part in a billion (seeds 1-12 of each: at most 1.7e-10 apart).
        for seed in 1..=6 {
            for (products, switches) in [(true, false), (false, true), (true, true)] {
                same_counts(
                    &branching_line(16, products, switches),
                    (products, switches),
                    seed,
                    1_000_000_000,
                );
            }
        }
    }

    /// The machines feeding a merge change over while nothing reaches the buffer after
    /// them: what they put on since is of the new product, though not in the buffer's runs
    /// until they are booked. Read as the old product's, its end reached the machine after
    /// the merge late (or never, while no event reached it); that machine went on making
    /// the old product from the new one's units (seed 30: 1.9 % apart at the first station
    /// by 12 h). Such a merge now joins its machines, as a series line's buffer does.
    #[test]
    fn a_merge_fed_another_product_since_booked_ends_the_old_one_in_time() {
        same_counts(
            &branching_line(16, true, false),
            (true, false),
            30,
            1_000_000_000,
        );
    }

    /// One section of a random branching line: the speeds (units an hour) of its station
    /// and its two parallel machines, whether the station divides over two buffers (or
    /// one buffer feeds both machines), the divide and combine rules, the capacities of
    /// the buffers before the machines and of the merge after them, a transport time
    /// (seconds, 0 for none) on the first buffer, minutes between failures of the
    /// machines, rejects (per million) at the first machine.
    type Section = (
        (u32, u32, u32),
        bool,
        usize,
        usize,
        (u32, u32),
        u32,
        (u32, u32),
        u32,
    );

    /// A branching line of `sections` (each a station dividing over two parallel
    /// machines that merge onto the next section's station), a last station of `last`
    /// units an hour, and two products in campaigns (`first` units of A, then B for 2 h).
    fn random_branching_line(sections: &[Section], last: u32, first: u32) -> String {
        let mut t = format!(
            "name = \"random\"\n[run]\nhorizon = \"12h\"\n[[products]]\nname = \"A\"\n[[products]]\nname = \"B\"\n[[lines]]\nname = \"L\"\nspeed_factors = {{ \"B\" = 0.9 }}\nschedule = {{ repeat = true, campaigns = [{{ product = \"A\", quantity = {first} }}, {{ product = \"B\", duration = \"2h\" }}] }}\nchangeover = {{ default = \"5min\" }}\n"
        );
        let divides = ["most_room", "shares", "priority"];
        let combines = ["first_come", "priority", "alternate"];
        let station = |name: String, speed: u32, tbf: u32, ppm: u32| {
            format!(
                "[[lines.stations]]\nname = \"{name}\"\nkind = \"generic\"\nspeed = \"{speed}/h\"\nreject_rate = {}\nfailures = [{{ tbf = \"exp({tbf}min)\", ttr = \"exp(2min)\" }}]\n",
                f64::from(ppm) / 1e6
            )
        };
        for (k, &((s, p, q), own, divide, _, _, _, (tp, tq), ppm)) in sections.iter().enumerate() {
            t += &station(format!("s{k}"), s, 40 + k as u32, 0);
            if own {
                t += &format!("divide = \"{}\"\n", divides[divide]);
                if divide == 1 {
                    t += &format!("shares = {{ a{k} = 2, b{k} = 1 }}\n");
                }
            }
            t += &station(format!("p{k}"), p, tp, ppm);
            t += &station(format!("q{k}"), q, tq, 0);
        }
        t += &station(format!("s{}", sections.len()), last, 50, 0);
        for (k, &(_, own, divide, combine, (before, merge), transport, _, _)) in
            sections.iter().enumerate()
        {
            let conveyor = match transport {
                0 => String::new(),
                x => format!("transport_time = \"{x}s\"\n"),
            };
            if own {
                t += &format!(
                    "[[lines.buffers]]\nname = \"a{k}\"\nfrom = \"s{k}\"\nto = \"p{k}\"\ncapacity = {}\n{conveyor}[[lines.buffers]]\nname = \"b{k}\"\nfrom = \"s{k}\"\nto = \"q{k}\"\ncapacity = {before}\n",
                    before.max(1)
                );
            } else {
                t += &format!(
                    "[[lines.buffers]]\nname = \"a{k}\"\nfrom = \"s{k}\"\nto = [\"p{k}\", \"q{k}\"]\ncapacity = {}\ndivide = \"{}\"\n{conveyor}",
                    before.max(1),
                    divides[divide]
                );
                if divide == 1 {
                    t += &format!("shares = {{ p{k} = 2, q{k} = 1 }}\n");
                }
            }
            t += &format!(
                "[[lines.buffers]]\nname = \"c{k}\"\nfrom = [\"p{k}\", \"q{k}\"]\nto = \"s{}\"\ncapacity = {}\ncombine = \"{}\"\n",
                k + 1,
                merge.max(1),
                combines[combine]
            );
        }
        t
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 48,
            // The same lines at every run: a failure is a change, not a new draw.
            rng_seed: proptest::test_runner::RngSeed::Fixed(7),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Random branching lines of 2 to 6 sections (every divide and combine rule, a
        /// station dividing or a buffer shared, small buffers and conveyors, failures,
        /// rejects, two products in campaigns), planned locally and whole: every machine
        /// takes, makes and rejects the same to a part in a hundred million, fails as
        /// often and spends as long in each state (to a millionth of the 12 h). Not every
        /// random line does: where two holds tie, the two plannings may label a machine
        /// differently, and tick rounding can put an event a few nanoseconds apart
        /// (docs/scenarios.md; about 1 line in 100 to 300 of this generator). This fixed
        /// draw meets none of those; with filling and leaving full set together it fails.
        #[test]
        fn random_branching_lines_take_planned_locally_what_they_take_planned_whole(
            sections in proptest::collection::vec(
                (
                    (4_000u32..9_000, 1_500u32..6_000, 1_500u32..6_000),
                    proptest::prelude::any::<bool>(),
                    0usize..3,
                    0usize..3,
                    (1u32..40, 1u32..60),
                    proptest::prop_oneof![proptest::strategy::Just(0u32), 2u32..40],
                    (15u32..90, 15u32..90),
                    proptest::prop_oneof![proptest::strategy::Just(0u32), 1u32..20_000],
                ),
                2..=6,
            ),
            last in 3_000u32..9_000,
            first in 2_000u32..20_000,
            seed in 1u64..1_000,
        ) {
            let text = random_branching_line(&sections, last, first);
            planned_alike(&text, seed);
        }
    }

    /// An empty conveyor lane of a divider by most room: what goes on it reaches its
    /// machine only after the transport time, so it takes nothing while another lane's
    /// machine takes what comes (unit by unit its first unit leaves the other lane the
    /// most room). Before, it shared with the other lane as though its machine took its
    /// share at once, until the next plan, which then gave the other lane everything:
    /// planned whole (the next event anywhere) and locally (the next reaching it) the
    /// line parted by 1.5e-5 of the first station's units in 12 h.
    #[test]
    fn an_empty_conveyor_lane_takes_nothing_while_another_lane_can() {
        let sections: Vec<Section> = vec![
            ((4944, 1561, 1733), false, 0, 0, (1, 1), 0, (28, 24), 0),
            ((4086, 2438, 4388), true, 2, 2, (30, 2), 0, (19, 31), 0),
            ((5482, 3951, 4648), true, 0, 1, (2, 55), 30, (82, 66), 0),
        ];
        planned_alike(&random_branching_line(&sections, 3375, 11529), 970);
    }

    /// A machine alone before a full buffer (a divider to two machines after it) is held
    /// to the room they free; when they take more, it is planned again with that room.
    /// Before, only a machine sharing a buffer was: it kept the room it had while the
    /// buffer drained, until the next plan (planned whole, the next event anywhere;
    /// locally, the next reaching it): 0.14 % of a station's units apart in 12 h.
    #[test]
    fn a_machine_held_by_the_room_it_had_is_planned_with_the_room_it_has() {
        let sections: Vec<Section> = vec![
            ((4657, 4461, 4969), true, 1, 0, (11, 10), 21, (58, 59), 0),
            ((4552, 5153, 3021), false, 1, 0, (16, 7), 29, (23, 22), 8043),
            ((6002, 5640, 2700), false, 2, 0, (15, 1), 27, (20, 28), 0),
        ];
        planned_alike(&random_branching_line(&sections, 3684, 10054), 223);
    }

    /// An empty buffer shared by two machines that fills while the full merge after them
    /// leaves full: found one after the other. Seen together from the plan that held
    /// both machines at nothing, neither held them, the machines ran at full speed, and
    /// both were dropped; the buffer's share then held the first machine below the
    /// merge's room until the next plan (planned whole, the next event anywhere;
    /// locally, the next reaching it): 1.7 % of a station's units apart in 12 h.
    #[test]
    fn a_buffer_filling_is_found_before_a_merge_leaving_full() {
        let sections: Vec<Section> = vec![
            ((5986, 4280, 2630), true, 1, 1, (24, 29), 10, (16, 34), 0),
            ((5366, 5300, 3841), true, 1, 1, (32, 51), 0, (44, 82), 0),
            ((8541, 1877, 2849), true, 1, 2, (11, 17), 15, (35, 87), 0),
            ((8357, 1971, 5710), true, 1, 1, (2, 1), 35, (47, 86), 12166),
            (
                (6805, 4711, 3955),
                false,
                1,
                0,
                (11, 12),
                0,
                (74, 26),
                13996,
            ),
        ];
        planned_alike(&random_branching_line(&sections, 4633, 17693), 308);
    }

    /// A divider by shares whose first output is full, and a priority merge after its two
    /// machines: the holds creep towards the second machine getting no room, by the
    /// first machine's good fraction per sweep, and leap there. Before, the sweeps
    /// stopped short of it, at a count that differs between the whole line and a local
    /// reach: 1 % of a station's units apart in 12 h.
    #[test]
    fn creeping_holds_leap_to_where_they_settle() {
        let sections: Vec<Section> = vec![
            ((4583, 4804, 5299), true, 1, 1, (18, 15), 0, (89, 78), 6567),
            ((5629, 5851, 1837), false, 2, 2, (30, 26), 0, (44, 35), 9960),
            ((4480, 4426, 5658), false, 1, 0, (39, 7), 0, (23, 53), 17673),
            ((7658, 4742, 4538), false, 0, 2, (10, 4), 0, (87, 50), 0),
        ];
        planned_alike(&random_branching_line(&sections, 8006, 19613), 767);
    }

    /// A divider by priority whose first output is full, and a merge taking turns after
    /// its two machines: the holds grow apart each sweep (a ratio above one), past the
    /// merge's even share; leapt to where one reaches nothing, the sweeps after the leap
    /// settle on the even share. Before: 0.33 % of a station's units apart in 12 h.
    #[test]
    fn growing_holds_leap_and_settle_on_the_merges_even_share() {
        let sections: Vec<Section> = vec![
            ((4188, 3878, 4958), true, 2, 2, (4, 58), 0, (41, 21), 2732),
            ((4076, 2707, 3353), true, 1, 2, (39, 58), 0, (24, 80), 0),
            ((8101, 3745, 4923), false, 1, 0, (4, 13), 0, (37, 87), 0),
            ((4919, 5552, 5682), true, 2, 2, (2, 19), 0, (62, 42), 17410),
        ];
        planned_alike(&random_branching_line(&sections, 5594, 10974), 632);
    }

    /// Holds growing apart by 1.6 % a sweep (the first machine rejects 1.5 %), planned
    /// locally in a reach of four stations: leapt as well. Before: 5e-4 of a station's
    /// units apart in 12 h.
    #[test]
    fn holds_growing_by_a_machines_rejects_leap_as_well() {
        let sections: Vec<Section> = vec![
            ((4094, 3810, 5437), true, 2, 2, (5, 26), 9, (18, 43), 0),
            ((4096, 5645, 3256), true, 2, 1, (26, 58), 4, (18, 19), 8831),
            ((8660, 2318, 5428), false, 1, 1, (36, 16), 0, (80, 88), 0),
            ((7635, 4433, 2958), true, 2, 2, (4, 29), 9, (77, 18), 11221),
            ((4363, 4385, 3975), true, 1, 2, (2, 38), 0, (45, 53), 15395),
        ];
        planned_alike(&random_branching_line(&sections, 4171, 12015), 919);
    }

    /// A station dividing over two buffers whose planned share to the full one is a
    /// sliver (2e-10 of its output) gave way there by what the buffer overflowed, while
    /// the split's rounding kept putting the same 2,048 ticks into it: 3e11 rounds at one
    /// event, so that a 12 h run of this line hung. It now ends, planned locally as
    /// planned whole.
    #[test]
    fn a_sliver_into_a_full_buffer_gives_way_at_once() {
        let sections: Vec<Section> = vec![
            ((5038, 5403, 5271), true, 1, 1, (25, 42), 37, (42, 60), 0),
            ((5356, 5324, 4478), true, 2, 1, (5, 41), 0, (49, 43), 0),
            ((6512, 3762, 3686), false, 0, 2, (27, 58), 6, (38, 36), 0),
            ((5774, 4695, 4474), false, 0, 0, (18, 20), 9, (70, 77), 0),
            (
                (5436, 4504, 4151),
                false,
                1,
                1,
                (23, 10),
                18,
                (31, 86),
                19796,
            ),
            ((6264, 4097, 1867), true, 0, 1, (20, 2), 6, (64, 32), 11372),
            ((7345, 1883, 4070), false, 0, 0, (19, 35), 24, (39, 18), 0),
            ((4126, 1831, 5397), false, 2, 2, (30, 5), 0, (34, 18), 0),
            ((4135, 5524, 3604), true, 2, 0, (28, 7), 0, (22, 27), 17490),
            (
                (4751, 2995, 3146),
                true,
                0,
                1,
                (27, 36),
                17,
                (63, 23),
                16589,
            ),
            ((4777, 3619, 4121), true, 2, 2, (2, 30), 22, (44, 27), 0),
            ((8303, 4223, 2529), true, 1, 1, (15, 47), 34, (67, 46), 0),
        ];
        let text = random_branching_line(&sections, 7715, 13594);
        let (done, ended) = std::sync::mpsc::channel();
        let runs = std::thread::spawn(move || {
            planned_alike(&text, 537);
            done.send(()).expect("the test waits");
        });
        match ended.recv_timeout(std::time::Duration::from_secs(600)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("the runs hang"),
            _ => runs.join().expect("the runs agree"),
        }
    }

    /// Runs `text`'s line planned locally and planned whole with the random streams of
    /// `seed`: every station does the same to a part in a hundred million.
    fn planned_alike(text: &str, seed: u64) {
        let ((local, _), (whole, _)) = (run_line(text, true, seed), run_line(text, false, seed));
        assert_same_counts(&local, &whole, 100_000_000);
    }

    /// Runs `text`'s line planned locally and planned whole with the random streams of
    /// `seed`, comparing what each station did to a part in `parts` (and that products
    /// change over along the line and switches act, with `products` and `switches`).
    fn same_counts(text: &str, (products, switches): (bool, bool), seed: u64, parts: u128) {
        let ((local, local_events), (whole, whole_events)) =
            (run_line(text, true, seed), run_line(text, false, seed));
        let LineEngine::Fluid(f) = &local.engine else {
            unreachable!()
        };
        // Every buffer holds what went in less what came out, never below empty nor
        // above full.
        for b in 0..f.buffers.len() {
            let buf = &f.buffers[b];
            assert!(buf.cum_in >= buf.cum_out, "buffer {b} never below empty");
            if let Some(cap) = buf.capacity {
                assert!(buf.level() <= cap, "buffer {b} never above full");
            }
        }
        let n = local.stations();
        assert_eq!(n, 49);
        let changeovers = assert_same_counts(&local, &whole, parts);
        assert!(
            local.units_out() > 500.0,
            "the line makes packs: {}",
            local.units_out()
        );
        if products {
            assert!(
                changeovers > n as u64,
                "products change over along the line"
            );
        }
        if switches {
            let switchings: u64 = f.control.switchings().map(|(n, _)| n).sum();
            assert!(switchings > 100, "switches act: {switchings}");
        }
        assert!(
            local_events <= whole_events + whole_events / 10,
            "planning reaches adds no events: {local_events} against {whole_events}"
        );
    }
}
