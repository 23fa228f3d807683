//! MAPF results checked by an independent checker that reads only the result text, the map
//! and the scenario: starts and goals, moves along edges or waits, no vertex or swap
//! conflicts, and the reported sum of costs and makespan.

use traffic::mapf::{
    DistanceTable, GridMap, MapfReport, Search, lower_bounds, parse_scenario, solve,
};

/// A cell as (column, row).
type Point = (i64, i64);
/// An agent's start and goal.
type Task = (Point, Point);

/// Parses `(x,y),(x,y),` into points.
fn points(s: &str) -> Vec<(i64, i64)> {
    s.split("),")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let p = p.trim_start_matches('(');
            let (x, y) = p.split_once(',').expect("a point has two coordinates");
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// Checks a rendered result against the map text and the agents' (start, goal) points.
fn check(result: &str, map_text: &str, agents: &[Task]) {
    // The map, read afresh: '.' is free.
    let rows: Vec<&str> = map_text
        .lines()
        .skip_while(|l| l.trim() != "map")
        .skip(1)
        .collect();
    let free = |(x, y): (i64, i64)| {
        y >= 0
            && x >= 0
            && rows
                .get(y as usize)
                .and_then(|r| r.as_bytes().get(x as usize))
                == Some(&b'.')
    };
    let field = |k: &str| {
        result
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}="))
    };
    assert_eq!(field("solved"), "1");
    let steps: Vec<Vec<(i64, i64)>> = result
        .lines()
        .skip_while(|l| *l != "solution=")
        .skip(1)
        .enumerate()
        .map(|(t, l)| {
            let (tt, rest) = l.split_once(':').expect("t:...");
            assert_eq!(tt.parse::<usize>().unwrap(), t);
            points(rest)
        })
        .collect();
    assert!(!steps.is_empty());
    let n = agents.len();
    for (i, (s, g)) in agents.iter().enumerate() {
        assert_eq!(steps[0][i], *s, "agent {i} start");
        assert_eq!(steps.last().unwrap()[i], *g, "agent {i} goal");
    }
    for t in 0..steps.len() {
        assert_eq!(steps[t].len(), n);
        let mut seen = std::collections::BTreeSet::new();
        for &p in &steps[t] {
            assert!(free(p), "t={t}: {p:?} is not a free cell");
            assert!(seen.insert(p), "t={t}: two agents at {p:?}");
        }
        if t > 0 {
            for i in 0..n {
                let (a, b) = (steps[t - 1][i], steps[t][i]);
                assert!(
                    (a.0 - b.0).abs() + (a.1 - b.1).abs() <= 1,
                    "t={t}: agent {i} jumps {a:?} -> {b:?}"
                );
                for (j, (&before, &after)) in steps[t - 1].iter().zip(&steps[t]).enumerate() {
                    if i != j && a != b {
                        assert!(
                            !(before == b && after == a),
                            "t={t}: agents {i} and {j} swap"
                        );
                    }
                }
            }
        }
    }
    let soc: usize = (0..n)
        .map(|i| {
            steps
                .iter()
                .rposition(|c| c[i] != agents[i].1)
                .map_or(0, |t| t + 1)
        })
        .sum();
    assert_eq!(field("soc").parse::<usize>().unwrap(), soc);
    assert_eq!(field("makespan").parse::<usize>().unwrap(), steps.len() - 1);
    assert!(soc >= field("soc_lb").parse::<usize>().unwrap());
}

fn solve_text(map_text: &str, scen_text: &str, n: usize) -> (String, Vec<Task>) {
    solve_with(map_text, scen_text, n, false, u64::MAX, true)
}

/// Solves; `anytime` keeps improving for up to `steps` search steps.
fn solve_with(
    map_text: &str,
    scen_text: &str,
    n: usize,
    anytime: bool,
    steps: u64,
    scatter: bool,
) -> (String, Vec<Task>) {
    let map = GridMap::parse(map_text).unwrap();
    let (starts, goals): (Vec<u32>, Vec<u32>) = parse_scenario(scen_text, &map, n)
        .unwrap()
        .into_iter()
        .unzip();
    let dist: Vec<DistanceTable> = goals.iter().map(|&g| map.distances_to(g)).collect();
    let mut left = steps;
    let search = Search {
        seed: 1,
        anytime,
        scatter,
        stop: &mut || {
            left = left.saturating_sub(1);
            left == 0
        },
        improved: &mut |_| {},
    };
    let sol = solve(&map, &starts, &goals, &dist, search).unwrap();
    let report = MapfReport {
        map: &map,
        map_file: "test.map".into(),
        solver: "twinline-lacam".into(),
        starts: &starts,
        goals: &goals,
        lower_bounds: lower_bounds(&dist, &starts),
        comp_time_ms: 0.0,
        solution: Some(&sol),
    };
    let xy = |c: u32| (map.xy(c).0 as i64, map.xy(c).1 as i64);
    (
        report.render(),
        starts
            .iter()
            .zip(&goals)
            .map(|(&s, &g)| (xy(s), xy(g)))
            .collect(),
    )
}

fn scen_row(s: (usize, usize), g: (usize, usize)) -> String {
    format!("0\tt.map\t0\t0\t{}\t{}\t{}\t{}\t0\n", s.0, s.1, g.0, g.1)
}

#[test]
fn corridor_swap_through_a_side_pocket() {
    // Two agents swap ends of a corridor with one side cell: one must step aside.
    let map = "type octile\nheight 2\nwidth 5\nmap\n.....\n@@.@@\n";
    let scen = format!(
        "version 1\n{}{}",
        scen_row((0, 0), (4, 0)),
        scen_row((4, 0), (0, 0))
    );
    let (text, agents) = solve_text(map, &scen, 2);
    check(&text, map, &agents);
}

#[test]
fn exhaustive_anytime_search_finds_the_optimum() {
    // Worked by hand: one agent steps into the pocket and back out (2 extra moves) and the
    // other waits one step for it: 6 + 5 = 11 against a lower bound of 8.
    let map = "type octile\nheight 2\nwidth 5\nmap\n.....\n@@.@@\n";
    let scen = format!(
        "version 1\n{}{}",
        scen_row((0, 0), (4, 0)),
        scen_row((4, 0), (0, 0))
    );
    let (text, agents) = solve_with(map, &scen, 2, true, u64::MAX, true);
    check(&text, map, &agents);
    assert!(
        text.contains("soc=11\n") && text.contains("soc_lb=8\n"),
        "{text}"
    );
}

#[test]
fn anytime_search_never_worsens_the_first_solution() {
    let Some((map_text, scen_text)) =
        shared_instance("random-32-32-20.map", "random-32-32-20-random-1.scen")
    else {
        return;
    };
    let soc = |t: &str| {
        t.lines()
            .find_map(|l| l.strip_prefix("soc="))
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let (first, _) = solve_text(&map_text, &scen_text, 100);
    let (refined, agents) = solve_with(&map_text, &scen_text, 100, true, 4_000, true);
    check(&refined, &map_text, &agents);
    assert!(
        soc(&refined) <= soc(&first),
        "{} > {}",
        soc(&refined),
        soc(&first)
    );
}

#[test]
fn independent_agents_reach_the_lower_bound() {
    let map = "type octile\nheight 3\nwidth 6\nmap\n......\n......\n......\n";
    let scen = format!(
        "version 1\n{}{}",
        scen_row((0, 0), (5, 0)),
        scen_row((0, 2), (5, 2))
    );
    let (text, agents) = solve_text(map, &scen, 2);
    check(&text, map, &agents);
    assert!(
        text.contains("soc=10\n") && text.contains("soc_lb=10\n"),
        "{text}"
    );
}

/// A generated `side` × `side` map with 20% obstacles and `n` agents on its largest
/// connected part: (map text, scenario text).
fn generated_instance(side: usize, n: usize) -> (String, String) {
    let mut rng = 12345u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut rows = vec![vec![b'.'; side]; side];
    for row in rows.iter_mut() {
        for c in row.iter_mut() {
            if next() % 5 == 0 {
                *c = b'@';
            }
        }
    }
    let map_text = format!(
        "type octile\nheight {side}\nwidth {side}\nmap\n{}\n",
        rows.iter()
            .map(|r| String::from_utf8(r.clone()).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let scen = scenario_on(&map_text, n, &mut next);
    (map_text, scen)
}

/// A scenario of `n` agents with distinct random starts and goals on the largest
/// connected part of a map.
fn scenario_on(map_text: &str, n: usize, next: &mut dyn FnMut() -> u64) -> String {
    let map = GridMap::parse(map_text).unwrap();
    let (w, h) = (map.width, map.height);
    let all = (w * h) as u32;
    let first = (0..all)
        .find(|&c| map.is_free(c as usize % w, c as usize / w))
        .unwrap();
    let reach = map.distances_to(first);
    let mut cells: Vec<u32> = (0..all).filter(|&c| reach.get(c) != u32::MAX).collect();
    for k in (1..cells.len()).rev() {
        cells.swap(k, (next() % (k as u64 + 1)) as usize);
    }
    let xy = |c: u32| (c as usize % w, c as usize / w);
    let scen: String = (0..n)
        .map(|i| scen_row(xy(cells[i]), xy(cells[n + i])))
        .collect();
    format!("version 1\n{scen}")
}

#[test]
fn scattered_paths_cut_the_first_solution_in_a_dense_warehouse() {
    // 300 agents in a generated warehouse with one-cell aisles: plain PIBT piles agents
    // into the same aisles; following paths spread over the floor first costs less.
    let map_text = traffic::mapf::WarehouseShape {
        blocks_x: 8,
        blocks_y: 6,
        rack_length: 10,
        rack_depth: 2,
        aisle: 1,
        margin: 2,
    }
    .to_map_text();
    assert!(map_text.matches('.').count() > 900);
    let mut rng = 99u64;
    let scen = scenario_on(&map_text, 300, &mut || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    });
    let (plain, agents) = solve_with(&map_text, &scen, 300, false, u64::MAX, false);
    check(&plain, &map_text, &agents);
    let (scattered, agents) = solve_with(&map_text, &scen, 300, false, u64::MAX, true);
    check(&scattered, &map_text, &agents);
    assert!(
        soc_of(&scattered) < soc_of(&plain),
        "{} not below {}",
        soc_of(&scattered),
        soc_of(&plain)
    );
}

fn soc_of(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("soc="))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn dense_random_instance_is_solved_and_valid() {
    let (map_text, scen) = generated_instance(16, 40);
    let (text, agents) = solve_text(&map_text, &scen, 40);
    check(&text, &map_text, &agents);
}

#[test]
fn neighbourhood_search_improves_a_dense_instance_and_stays_valid() {
    // 120 agents on a 24 × 24 map (about 26% of the free cells): the first solution has
    // slack that replanning small groups of agents takes out.
    let (map_text, scen) = generated_instance(24, 120);
    let (first, _) = solve_text(&map_text, &scen, 120);
    let (refined, agents) = solve_with(&map_text, &scen, 120, true, 3_000, true);
    check(&refined, &map_text, &agents);
    assert!(
        soc_of(&refined) < soc_of(&first),
        "{} not below {}",
        soc_of(&refined),
        soc_of(&first)
    );
}

/// A standard instance beside the repository (never copied into it), if present.
fn shared_instance(map: &str, scen: &str) -> Option<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/mapf");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
    let found = read(map).zip(read(scen));
    if found.is_none() {
        eprintln!("{dir}/{map} is absent: skipped");
    }
    found
}

#[test]
fn dense_benchmark_instances_are_solved_and_valid() {
    for (map, scen, n) in [
        ("random-32-32-20.map", "random-32-32-20-random-1.scen", 409),
        (
            "warehouse-10-20-10-2-1.map",
            "warehouse-10-20-10-2-1-random-1.scen",
            500,
        ),
    ] {
        let Some((map_text, scen_text)) = shared_instance(map, scen) else {
            continue;
        };
        let (text, agents) = solve_text(&map_text, &scen_text, n);
        check(&text, &map_text, &agents);
    }
}

#[test]
fn bad_inputs_are_errors() {
    assert!(GridMap::parse("type octile\nheight 2\nwidth 3\nmap\n...\n..\n").is_err());
    let map = GridMap::parse("type octile\nheight 1\nwidth 3\nmap\n.@.\n").unwrap();
    assert!(parse_scenario(&format!("version 1\n{}", scen_row((1, 0), (2, 0))), &map, 1).is_err());
    assert!(parse_scenario("version 1\n", &map, 1).is_err());
    let (s, g) = ([0u32], [2u32]);
    let d = vec![map.distances_to(2)];
    assert!(matches!(
        solve(
            &map,
            &s,
            &g,
            &d,
            Search {
                seed: 0,
                anytime: false,
                scatter: true,
                stop: &mut || false,
                improved: &mut |_| {}
            }
        ),
        Err(traffic::mapf::MapfError::Unreachable(0))
    ));
}

#[test]
fn dense_first_solutions_need_few_search_steps_beyond_the_makespan() {
    // 400 agents on a generated 32 × 32 map with 20% obstacles (as dense as the research
    // benchmark random-32-32-20 with 409): the first solution should come straight, one
    // configuration per step of it plus few dead ends. Steering agents off each other's
    // cells among equally near moves once sent this search into livelocks of thousands of
    // configurations.
    let (map_text, scen) = generated_instance(32, 400);
    let map = GridMap::parse(&map_text).unwrap();
    let (starts, goals): (Vec<u32>, Vec<u32>) = parse_scenario(&scen, &map, 400)
        .unwrap()
        .into_iter()
        .unzip();
    let dist: Vec<DistanceTable> = goals.iter().map(|&g| map.distances_to(g)).collect();
    for scatter in [false, true] {
        for seed in 0..4 {
            let mut steps = 0u64;
            let sol = solve(
                &map,
                &starts,
                &goals,
                &dist,
                Search {
                    seed,
                    anytime: false,
                    scatter,
                    stop: &mut || {
                        steps += 1;
                        false
                    },
                    improved: &mut |_| {},
                },
            )
            .unwrap();
            let makespan = sol.makespan();
            // The scatter pass asks once per agent too.
            let search_steps = steps - if scatter { starts.len() as u64 } else { 0 };
            assert!(
                search_steps <= 2 * makespan,
                "scatter {scatter}, seed {seed}: {search_steps} search steps for makespan {makespan}"
            );
        }
    }
}
