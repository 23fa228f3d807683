//! The lifelong benchmark entry under the LoRR 2024 rules: every step of twinline's
//! entry is checked by the referee (which knows nothing of the planner), on a generated
//! floor always and on the published random-32-32-20 instance where `../shared/lorr` is
//! there.

use traffic::runners::{Contest, Entry, Instance, InstanceFiles};

/// A floor of `size` × `size` with a pillar at every third cell both ways, `robots`
/// robots and a stream of tasks between cells drawn by a fixed generator.
fn pillars(size: usize, robots: usize) -> Instance {
    let mut map = format!("type octile\nheight {size}\nwidth {size}\nmap\n");
    for r in 0..size {
        for c in 0..size {
            map.push(if r % 3 == 1 && c % 3 == 1 { '@' } else { '.' });
        }
        map.push('\n');
    }
    let free: Vec<u32> = (0..size * size)
        .filter(|&k| !((k / size) % 3 == 1 && (k % size) % 3 == 1))
        .map(|k| k as u32)
        .collect();
    let mut state = 7u64;
    let mut draw = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        free[(state >> 33) as usize % free.len()]
    };
    let starts: Vec<u32> = (0..robots).map(|k| free[k * free.len() / robots]).collect();
    let tasks = (0..5000).map(|_| vec![draw(), draw()]).collect();
    Instance::from_parts(&map, &starts, tasks, 1.5).unwrap()
}

/// Runs `steps` steps; returns the contest's (finished, invalid joint actions, refused
/// schedules).
fn play(instance: &Instance, steps: u64) -> (u64, u64, u64) {
    let mut contest = Contest::new(instance);
    let mut entry = Entry::new(instance, 0);
    for _ in 0..steps {
        let (actions, schedule) = entry.decide(&contest.view());
        contest.step(&actions, &schedule);
    }
    (
        contest.finished(),
        contest.planner_errors(),
        contest.schedule_errors(),
    )
}

#[test]
fn every_step_of_a_crowded_floor_is_valid_and_tasks_get_done() {
    // 120 robots on 24 × 24 (448 free cells): a crowd. No step may break a rule.
    let instance = pillars(24, 120);
    let (finished, invalid, refused) = play(&instance, 300);
    assert_eq!((invalid, refused), (0, 0));
    // A task is two errands about 16 + 16 cells apart plus turns: with 120 robots busy
    // for 300 steps, several hundred finish (a frozen crowd would finish a handful).
    assert!(finished > 300, "{finished} tasks finished");
}

#[test]
fn the_same_instance_gives_the_same_run() {
    let instance = pillars(18, 40);
    assert_eq!(play(&instance, 150), play(&instance, 150));
}

#[test]
fn bad_instance_files_say_what_is_wrong() {
    let e = InstanceFiles::parse("{\"mapFile\": \"m.map\"}").unwrap_err();
    assert!(e.to_string().contains("teamSize"), "{e}");
    let e = InstanceFiles::parse(
        "{\"mapFile\":\"m\",\"agentFile\":\"a\",\"taskFile\":\"t\",\"teamSize\":-3,\"numTasksReveal\":1.5}",
    )
    .unwrap_err();
    assert!(e.to_string().contains("teamSize"), "{e}");
    let map = "type octile\nheight 1\nwidth 3\nmap\n.@.\n";
    let e = Instance::from_parts(map, &[1], vec![vec![0]], 1.5).unwrap_err();
    assert!(
        e.to_string().contains("agents") && e.to_string().contains("cell 1"),
        "{e}"
    );
    let e = Instance::from_parts(map, &[0], vec![vec![9]], 1.5).unwrap_err();
    assert!(e.to_string().contains("tasks"), "{e}");
    let e = Instance::from_parts(map, &[0, 0], vec![vec![2]], 1.5).unwrap_err();
    assert!(e.to_string().contains("two robots"), "{e}");
    let short = "type octile\nheight 2\nwidth 3\nmap\n...\n";
    assert!(Instance::from_parts(short, &[0], vec![vec![2]], 1.5).is_err());
    let files = InstanceFiles {
        map: String::new(),
        agents: String::new(),
        tasks: String::new(),
        team: 2,
        reveal: 1.5,
    };
    let e = Instance::parse(&files, map, "# version\n1\n0\n", "1\n2\n").unwrap_err();
    assert!(e.to_string().contains("1 starts for a team of 2"), "{e}");
}

#[test]
fn the_published_random_instance_beats_the_start_kit_entry() {
    // random_32_32_20_100: 100 robots, 500 steps; the start-kit's default entry finished
    // 894 tasks (the best known 1,186). Without the per-step time limit (the run is then
    // deterministic; the CLI applies the limit). This entry finishes 1,084 with seed 0
    // (1,014-1,100 over seeds 1-11). Without its one-way highways it finished 1,018 (seeds
    // 0-11: 991-1,038), and before it planned small floors by tables that ignore turns,
    // with a longer flow memory and staying ranked among the moves, 894-926: the bound
    // below fails if either comes back.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/lorr/random.domain"
    );
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}"));
    let Ok(json) = read("random_32_32_20_100.json") else {
        eprintln!("{dir} is absent: the published instance is not checked here");
        return;
    };
    let files = InstanceFiles::parse(&json).unwrap();
    let instance = Instance::parse(
        &files,
        &read(&files.map).unwrap(),
        &read(&files.agents).unwrap(),
        &read(&files.tasks).unwrap(),
    )
    .unwrap();
    let (finished, invalid, refused) = play(&instance, 500);
    assert_eq!((invalid, refused), (0, 0));
    assert!(finished > 1_050, "{finished} tasks finished");
}
