//! The LoRR 2024 files: the instance JSON, the map, the agents and the tasks.

/// Why an instance could not be read; each names the file part and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceError {
    /// A file is malformed.
    #[error("{file}: {reason}")]
    Format {
        /// Which file (`instance`, `map`, `agents`, `tasks`).
        file: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn bad(file: &'static str, reason: impl Into<String>) -> InstanceError {
    InstanceError::Format {
        file,
        reason: reason.into(),
    }
}

/// The other files an instance JSON names (paths relative to its folder) and its
/// numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceFiles {
    /// `mapFile`.
    pub map: String,
    /// `agentFile`.
    pub agents: String,
    /// `taskFile`.
    pub tasks: String,
    /// `teamSize`: robots used (the first of the agent file).
    pub team: usize,
    /// `numTasksReveal`: the pool holds this many tasks per robot.
    pub reveal: f64,
}

impl InstanceFiles {
    /// Reads the instance JSON (a flat object of strings and numbers).
    pub fn parse(json: &str) -> Result<InstanceFiles, InstanceError> {
        let field = |name: &str| -> Result<&str, InstanceError> {
            let key = format!("\"{name}\"");
            let at = json
                .find(&key)
                .ok_or_else(|| bad("instance", format!("no `{name}`")))?;
            let rest = json[at + key.len()..].trim_start();
            let rest = rest
                .strip_prefix(':')
                .ok_or_else(|| bad("instance", format!("`{name}` has no value")))?
                .trim_start();
            let end = if let Some(s) = rest.strip_prefix('"') {
                return s
                    .find('"')
                    .map(|e| &s[..e])
                    .ok_or_else(|| bad("instance", format!("`{name}`: unterminated string")));
            } else {
                rest.find([',', '}', '\n']).unwrap_or(rest.len())
            };
            Ok(rest[..end].trim())
        };
        let number = |name: &str| -> Result<f64, InstanceError> {
            let t = field(name)?;
            t.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    bad(
                        "instance",
                        format!("`{name}` = {t} is not a positive number"),
                    )
                })
        };
        let team = number("teamSize")?;
        if team.fract() != 0.0 || team > 1e6 {
            return Err(bad(
                "instance",
                format!("`teamSize` = {team} is not a whole number of robots up to 1,000,000"),
            ));
        }
        let reveal = number("numTasksReveal")?;
        if reveal > 100.0 {
            return Err(bad(
                "instance",
                format!("`numTasksReveal` = {reveal}: at most 100 tasks per robot"),
            ));
        }
        Ok(InstanceFiles {
            map: field("mapFile")?.to_string(),
            agents: field("agentFile")?.to_string(),
            tasks: field("taskFile")?.to_string(),
            team: team as usize,
            reveal,
        })
    }
}

/// A lifelong instance, read: the floor, where the robots start and the task stream.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Whether each cell (`row * width + column`) can be driven on.
    pub free: Vec<bool>,
    /// Start cells, one per robot (each starts facing east).
    pub starts: Vec<u32>,
    /// Tasks in reveal order: their errand cells, to be visited in order.
    pub tasks: Vec<Vec<u32>>,
    /// Tasks revealed and unfinished at once: `int(reveal × robots)`.
    pub pool: usize,
}

impl Instance {
    /// An instance from its files' texts: `files` from the JSON, then the map, agents and
    /// tasks texts.
    pub fn parse(
        files: &InstanceFiles,
        map: &str,
        agents: &str,
        tasks: &str,
    ) -> Result<Instance, InstanceError> {
        let starts = numbered_lines(agents, "agents")?;
        if starts.len() < files.team {
            return Err(bad(
                "agents",
                format!("{} starts for a team of {}", starts.len(), files.team),
            ));
        }
        let starts: Result<Vec<u32>, InstanceError> = starts[..files.team]
            .iter()
            .map(|l| {
                l.trim()
                    .parse::<u32>()
                    .map_err(|_| bad("agents", format!("`{l}` is not a cell number")))
            })
            .collect();
        let tasks: Result<Vec<Vec<u32>>, InstanceError> = numbered_lines(tasks, "tasks")?
            .iter()
            .map(|l| {
                l.split(',')
                    .map(|c| {
                        c.trim()
                            .parse::<u32>()
                            .map_err(|_| bad("tasks", format!("`{l}`: `{c}` is not a cell number")))
                    })
                    .collect()
            })
            .collect();
        Instance::from_parts(map, &starts?, tasks?, files.reveal)
    }

    /// An instance from a map text, start cells and tasks (errand cells in order).
    pub fn from_parts(
        map: &str,
        starts: &[u32],
        tasks: Vec<Vec<u32>>,
        reveal: f64,
    ) -> Result<Instance, InstanceError> {
        let mut lines = map.lines();
        let mut header = |name: &str| -> Result<String, InstanceError> {
            lines
                .next()
                .map(str::trim)
                .filter(|l| l.starts_with(name))
                .map(|l| l[name.len()..].trim().to_string())
                .ok_or_else(|| bad("map", format!("expected the `{name}` line")))
        };
        header("type")?;
        let size = |t: String, what: &str| {
            t.parse::<usize>()
                .ok()
                .filter(|&n| (1..=100_000).contains(&n))
                .ok_or_else(|| bad("map", format!("{what} `{t}` is not between 1 and 100,000")))
        };
        let height = size(header("height")?, "height")?;
        let width = size(header("width")?, "width")?;
        if width * height > 50_000_000 {
            return Err(bad(
                "map",
                format!("{width} × {height} cells: at most 50,000,000"),
            ));
        }
        header("map")?;
        let mut free = Vec::with_capacity(width * height);
        for r in 0..height {
            let row = lines
                .next()
                .ok_or_else(|| bad("map", format!("{height} rows announced, {r} given")))?;
            let row = row.trim_end_matches('\r');
            if row.chars().count() != width {
                return Err(bad(
                    "map",
                    format!("row {r} has {} cells, not {width}", row.chars().count()),
                ));
            }
            free.extend(row.chars().map(|c| c != '@' && c != 'T'));
        }
        let cell = |c: u32, file: &'static str| -> Result<u32, InstanceError> {
            if (c as usize) < free.len() && free[c as usize] {
                Ok(c)
            } else {
                Err(bad(file, format!("cell {c} is not a free cell of the map")))
            }
        };
        let mut seen = vec![false; free.len()];
        for &s in starts {
            cell(s, "agents")?;
            if std::mem::replace(&mut seen[s as usize], true) {
                return Err(bad("agents", format!("two robots start on cell {s}")));
            }
        }
        if tasks.is_empty() {
            return Err(bad("tasks", "no tasks"));
        }
        for t in &tasks {
            if t.is_empty() {
                return Err(bad("tasks", "a task with no errands"));
            }
            for &c in t {
                cell(c, "tasks")?;
            }
        }
        if !(reveal.is_finite() && reveal > 0.0) {
            return Err(bad("instance", format!("`numTasksReveal` = {reveal}")));
        }
        Ok(Instance {
            width,
            height,
            pool: ((reveal * starts.len() as f64) as usize).max(1),
            free,
            starts: starts.to_vec(),
            tasks,
        })
    }
}

/// The lines after the count line, skipping `#` comments; the count must be there and
/// not exceed the lines given.
fn numbered_lines<'a>(text: &'a str, file: &'static str) -> Result<Vec<&'a str>, InstanceError> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let count = lines
        .next()
        .and_then(|l| l.parse::<usize>().ok())
        .ok_or_else(|| bad(file, "the first line must be the number of entries"))?;
    let rest: Vec<&str> = lines.take(count).collect();
    if rest.len() < count {
        return Err(bad(
            file,
            format!("{count} entries announced, {} given", rest.len()),
        ));
    }
    Ok(rest)
}
