//! # scenarios — what a simulation run is, as a YAML file
//!
//! A scenario names the seed, the duration, the radio, where the nodes are,
//! what they do, which faults strike when, and what the results must show.
//! This crate parses and validates scenario files and holds the library of
//! ready scenarios (`scenarios/library/*.yaml`, embedded in the binary).
//!
//! Loading is strict: unknown keys are rejected, every value is range-checked,
//! and every problem is reported with the field path and the line it is on,
//! e.g. `quickstart.yaml:12:3: radio.preset: unknown modem preset `LongFst``.
//! Command-line overrides (`--set topology.nodes=400`) are applied to the YAML
//! tree before validation, so they are checked exactly like the file.
//!
//! The parsed [`Scenario`] has every default filled in; [`to_yaml`] writes
//! it back out as the fully resolved run configuration, and
//! [`Scenario::sim_config`] compiles it into the simulator's own
//! [`sim::Config`] (scenarios depends on sim, never the other way round).

mod compile;
pub mod duration;
pub mod library;
pub mod metric;
pub mod path;
pub mod schema;
pub mod signals;
pub mod validate;
pub mod workload;

use core::fmt;
use std::path::{Path, PathBuf};

pub use metric::{Metric, MetricUnit};
pub use path::{FieldPath, Location};
pub use schema::*;

/// One problem in a scenario.
#[derive(Clone, PartialEq, Debug)]
pub struct Problem {
    /// Where in the document.
    pub path: FieldPath,
    /// Where in the file, when the path is found there.
    pub location: Option<Location>,
    /// Whether the value came from a `--set` override.
    pub from_override: bool,
    /// What is wrong.
    pub message: String,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Neither a file nor a library scenario has that name.
    #[error("no scenario file or library scenario named `{name}` (library: {})", available.join(", "))]
    NotFound {
        /// What was asked for.
        name: String,
        /// The library's names.
        available: Vec<String>,
    },
    /// The text is not valid YAML.
    #[error("{origin}:{line}:{column}: not valid YAML: {message}")]
    Syntax {
        /// The file or library entry.
        origin: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A `--set` override is malformed or cannot be applied.
    #[error("--set {text}: {message}")]
    Override {
        /// The override as given.
        text: String,
        /// Why it is unusable.
        message: String,
    },
    /// One or more fields are wrong.
    #[error("{}", ProblemList { origin, problems })]
    Invalid {
        /// The file or library entry.
        origin: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

struct ProblemList<'a> {
    origin: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (p.from_override, p.location) {
                (true, _) => write!(f, "--set {}: {}", p.path, p.message)?,
                (false, Some(l)) => write!(
                    f,
                    "{}:{}:{}: {}: {}",
                    self.origin, l.line, l.column, p.path, p.message
                )?,
                (false, None) => write!(f, "{}: {}: {}", self.origin, p.path, p.message)?,
            }
        }
        Ok(())
    }
}

/// A `--set path=value` override.
#[derive(Clone, PartialEq, Debug)]
pub struct Override {
    /// The field to set.
    pub path: FieldPath,
    /// The value, parsed as a YAML scalar or flow collection.
    pub value: String,
    /// The override as written.
    pub text: String,
}

impl core::str::FromStr for Override {
    type Err = ScenarioError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |message: String| ScenarioError::Override {
            text: text.to_string(),
            message,
        };
        let (path, value) = text
            .split_once('=')
            .ok_or_else(|| err("expected PATH=VALUE, e.g. topology.nodes=200".into()))?;
        Ok(Override {
            path: FieldPath::parse(path.trim()).map_err(err)?,
            value: value.trim().to_string(),
            text: text.to_string(),
        })
    }
}

impl Scenario {
    /// How many nodes the topology has.
    pub fn node_count(&self) -> u32 {
        match &self.topology {
            Topology::Random { nodes, .. }
            | Topology::Grid { nodes, .. }
            | Topology::Clusters { nodes, .. }
            | Topology::Chain { nodes, .. } => *nodes,
            Topology::Csv { nodes, .. } => nodes.len() as u32,
        }
    }
}

/// Loads `spec`: a path to a scenario file, or the name of a library scenario.
pub fn resolve(spec: &str, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let path = Path::new(spec);
    if path.exists() {
        return load_file(path, overrides);
    }
    match library::get(spec) {
        Some(source) => load_str(source, &format!("library/{spec}.yaml"), None, overrides),
        None => Err(ScenarioError::NotFound {
            name: spec.to_string(),
            available: library::names().map(str::to_string).collect(),
        }),
    }
}

/// Loads a scenario file.
pub fn load_file(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let source = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(
        &source,
        &path.display().to_string(),
        path.parent(),
        overrides,
    )
}

/// Parses, overrides and validates scenario text. `origin` names it in
/// messages; `base_dir` resolves relative paths inside it (CSV topologies).
pub fn load_str(
    source: &str,
    origin: &str,
    base_dir: Option<&Path>,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    let mut tree: serde_norway::Value = serde_norway::from_str(source).map_err(|e| {
        let loc = e.location();
        ScenarioError::Syntax {
            origin: origin.to_string(),
            line: loc.as_ref().map_or(1, |l| l.line()),
            column: loc.as_ref().map_or(1, |l| l.column()),
            message: e.to_string(),
        }
    })?;
    for o in overrides {
        apply_override(&mut tree, o)?;
    }
    let problem = |path: FieldPath, message: String| {
        let from_override = overrides.iter().any(|o| path.starts_with(&o.path));
        Problem {
            location: path::locate(source, &path),
            path,
            from_override,
            message,
        }
    };
    // Deserialise from text, not from the tree: serde_norway reads
    // externally tagged enums (`- crash: {…}`) only from text.
    let text = if overrides.is_empty() {
        source.to_string()
    } else {
        serde_norway::to_string(&tree).map_err(|e| ScenarioError::Override {
            text: overrides[0].text.clone(),
            message: e.to_string(),
        })?
    };
    let mut scenario: Scenario = serde_path_to_error::deserialize(
        serde_norway::Deserializer::from_str(&text),
    )
    .map_err(|e| {
        let mut path = FieldPath::from(e.path());
        let message = bare_message(&e.inner().to_string(), &path);
        // serde reports an unknown key at its parent: point at the key itself.
        if let Some(key) = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            && path.0.last() != Some(&path::Segment::Key(key.to_string()))
        {
            path = path.key(key);
        }
        ScenarioError::Invalid {
            origin: origin.to_string(),
            problems: vec![problem(path, message)],
        }
    })?;
    if let Topology::Csv { path: csv, nodes } = &mut scenario.topology {
        let file = base_dir.map_or_else(|| PathBuf::from(&*csv), |d| d.join(&*csv));
        *nodes = read_positions(&file).map_err(|message| ScenarioError::Invalid {
            origin: origin.to_string(),
            problems: vec![problem(
                FieldPath::root().key("topology").key("path"),
                message,
            )],
        })?;
    }
    let problems: Vec<Problem> = validate::validate(&scenario)
        .into_iter()
        .map(|(p, m)| problem(p, m))
        .collect();
    if !problems.is_empty() {
        return Err(ScenarioError::Invalid {
            origin: origin.to_string(),
            problems,
        });
    }
    // Only a valid scenario is worth reading the corpus for.
    workload::resolve(&mut scenario, base_dir).map_err(|(p, m)| ScenarioError::Invalid {
        origin: origin.to_string(),
        problems: vec![problem(p, m)],
    })?;
    let (nodes, seed) = (scenario.node_count(), scenario.seed);
    if let Some(w) = scenario.workload.signals.as_mut() {
        w.plan = signals::resolve(w, nodes, seed).map_err(|(p, m)| ScenarioError::Invalid {
            origin: origin.to_string(),
            problems: vec![problem(p, m)],
        })?;
    }
    Ok(scenario)
}

/// serde_norway decorates its messages with its own (coarser) path and a
/// location; we report both ourselves, so strip them.
fn bare_message(message: &str, path: &FieldPath) -> String {
    let mut m = message;
    if let Some(i) = m.rfind(" at line ")
        && m[i + 9..]
            .split(" column ")
            .all(|n| n.parse::<usize>().is_ok())
    {
        m = &m[..i];
    }
    for depth in (1..=path.0.len()).rev() {
        let prefix = FieldPath(path.0[..depth].to_vec()).to_string();
        if let Some(rest) = m.strip_prefix(&prefix).and_then(|r| r.strip_prefix(": ")) {
            m = rest;
            break;
        }
    }
    m.to_string()
}

fn apply_override(tree: &mut serde_norway::Value, o: &Override) -> Result<(), ScenarioError> {
    use serde_norway::Value;
    let err = |message: String| ScenarioError::Override {
        text: o.text.clone(),
        message,
    };
    let value: Value = serde_norway::from_str(&o.value)
        .map_err(|e| err(format!("value is not valid YAML: {e}")))?;
    let mut node = tree;
    for (i, seg) in o.path.0.iter().enumerate() {
        let here = FieldPath(o.path.0[..i].to_vec());
        node = match seg {
            path::Segment::Key(k) => {
                if node.is_null() {
                    *node = Value::Mapping(Default::default());
                }
                let map = node
                    .as_mapping_mut()
                    .ok_or_else(|| err(format!("{here} is not a mapping, so it has no `{k}`")))?;
                map.entry(Value::String(k.clone())).or_insert(Value::Null)
            }
            path::Segment::Index(n) => {
                let len = node.as_sequence().map(Vec::len);
                let seq = node
                    .as_sequence_mut()
                    .ok_or_else(|| err(format!("{here} is not a list")))?;
                seq.get_mut(*n).ok_or_else(|| {
                    err(format!("{here} has {} entries, no [{n}]", len.unwrap_or(0)))
                })?
            }
        };
    }
    *node = value;
    Ok(())
}

/// Most rows a positions file may have.
const MAX_CSV_ROWS: usize = 100_000;

fn read_positions(file: &Path) -> Result<Vec<CsvNode>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines
        .next()
        .ok_or_else(|| format!("{} is empty", file.display()))?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let (Some(x), Some(y)) = (col("x_m"), col("y_m")) else {
        return Err(format!(
            "{}: the header must name x_m and y_m (optional z_m, role); found `{header}`",
            file.display()
        ));
    };
    let (z, role) = (col("z_m"), col("role"));
    let mut out = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if out.len() == MAX_CSV_ROWS {
            return Err(format!("{}: more than {MAX_CSV_ROWS} rows", file.display()));
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |idx: usize, name: &str| -> Result<f64, String> {
            let text = fields.get(idx).copied().unwrap_or("");
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    format!(
                        "{}:{line_no}: {name} `{text}` is not a number",
                        file.display()
                    )
                })
        };
        out.push(CsvNode {
            x_m: num(x, "x_m")?,
            y_m: num(y, "y_m")?,
            z_m: match z {
                Some(idx) if fields.get(idx).is_some_and(|t| !t.is_empty()) => {
                    Some(num(idx, "z_m")?)
                }
                _ => None,
            },
            role: match role.and_then(|idx| fields.get(idx)) {
                Some(t) if !t.is_empty() => Some(
                    t.parse()
                        .map_err(|e| format!("{}:{line_no}: {e}", file.display()))?,
                ),
                _ => None,
            },
        });
    }
    Ok(out)
}

/// The fully resolved scenario as YAML (every default written out).
pub fn to_yaml(s: &Scenario) -> String {
    serde_norway::to_string(s).expect("a validated scenario always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str, overrides: &[&str]) -> String {
        let ov: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
        load_str(src, "t.yaml", None, &ov).unwrap_err().to_string()
    }

    const BASE: &str =
        "name: t\nduration: 10m\ntopology:\n  kind: chain\n  nodes: 5\n  spacing_m: 500\n";

    #[test]
    fn every_library_scenario_loads_and_round_trips() {
        for name in library::names() {
            let s = resolve(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            let again = load_str(&to_yaml(&s), name, None, &[]).unwrap();
            assert_eq!(s, again, "{name} resolved form reloads identically");
        }
    }

    #[test]
    fn adversaries_and_trust_settings_are_checked_with_their_paths() {
        let e = err(
            &format!(
                "{BASE}trust:\n  window: 0s\nfaults:\n  - adversary: {{node: 1, kind: censor, every: 1m}}\n  - adversary: {{node: 9, kind: forger, every: 1m, ids: 3}}\n  - adversary: {{node: 1, kind: flooder, every: 0s}}\n"
            ),
            &[],
        );
        for needle in [
            "faults[0].adversary.victim: a censor needs a victim",
            "faults[1].adversary.node: node 9 does not exist",
            "faults[1].adversary.ids: only a censor",
            "faults[2].adversary.every: must be at least 1s",
            "faults[2].adversary.node: node 1 is named by another adversary",
            "trust.window: must be at least 1s",
        ] {
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let e = err(
            &format!("{BASE}faults:\n  - adversary: {{node: 1, kind: spy, every: 1m}}\n"),
            &[],
        );
        assert!(e.contains("faults[0]") && e.contains("spy"), "{e}");
    }

    #[test]
    fn unknown_keys_name_the_key_and_its_line() {
        let e = err(
            &format!("{BASE}radio:\n  preset: LongFast\n  txpower: 20\n"),
            &[],
        );
        assert!(
            e.starts_with("t.yaml:9:3: radio.txpower: unknown field `txpower`"),
            "{e}"
        );
        let e = err(&format!("{BASE}colour: blue\n"), &[]);
        assert!(e.starts_with("t.yaml:7:1: colour: unknown field"), "{e}");
    }

    #[test]
    fn bad_values_name_path_and_line() {
        let e = err(&format!("{BASE}radio:\n  preset: LongFst\n"), &[]);
        assert!(
            e.starts_with("t.yaml:8:3: radio.preset: unknown modem preset `LongFst`"),
            "{e}"
        );
        let e = err(
            &format!("{BASE}faults:\n  - crash: {{at: 1m, node: 9}}\n"),
            &[],
        );
        assert!(
            e.contains("t.yaml:8:") && e.contains("faults[0].crash.node: node 9 does not exist"),
            "{e}"
        );
        let e = err(&format!("{BASE}mesh:\n  hop_limit: 8\n"), &[]);
        assert!(e.contains("mesh.hop_limit: 8 exceeds"), "{e}");
        let e = err(
            "name: t\nduration: 10 minutes\ntopology: {kind: chain, nodes: 5, spacing_m: 1}\n",
            &[],
        );
        assert!(e.starts_with("t.yaml:2:1: duration:"), "{e}");
        let e = err(
            "name: t\nduration: 10m\ntopology: {kind: ring, nodes: 5}\n",
            &[],
        );
        assert!(e.contains("topology") && e.contains("ring"), "{e}");
    }

    #[test]
    fn assertion_metrics_are_checked_at_their_line() {
        let known = metric::names(Metric::assertable_metrics());
        for name in ["happiness", "relays", "passed"] {
            let e = err(
                &format!("{BASE}assertions:\n  - {{metric: {name}, min: 1}}\n"),
                &[],
            );
            assert_eq!(
                e,
                format!(
                    "t.yaml:8:6: assertions[0].metric: unknown metric `{name}` (known: {known})"
                )
            );
        }
        let s = load_str(
            &format!("{BASE}assertions:\n  - {{metric: reach_pct, min: 1}}\n"),
            "t.yaml",
            None,
            &[],
        )
        .unwrap();
        assert_eq!(s.assertions[0].metric, Metric::ReachPct);
        assert!(to_yaml(&s).contains("metric: reach_pct"));
        let e = err(BASE, &["assertions=[{metric: nope, max: 1}]"]);
        assert!(
            e.starts_with("--set assertions[0].metric: unknown metric `nope`"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_give_the_line() {
        let e = err("name: t\nduration: [10m\n", &[]);
        assert!(
            e.starts_with("t.yaml:") && e.contains("not valid YAML"),
            "{e}"
        );
    }

    #[test]
    fn overrides_apply_and_are_checked_like_the_file() {
        let ov: Vec<Override> = ["topology.nodes=9", "radio.preset=MediumFast"]
            .iter()
            .map(|o| o.parse().unwrap())
            .collect();
        let s = load_str(BASE, "t.yaml", None, &ov).unwrap();
        assert_eq!(s.node_count(), 9);
        assert_eq!(s.radio.preset, node_core::radio::ModemPreset::MediumFast);
        let e = err(BASE, &["topology.nodez=9"]);
        assert!(e.starts_with("--set topology.nodez: unknown field"), "{e}");
        let e = err(BASE, &["radio.preset=Fastest"]);
        assert!(
            e.starts_with("--set radio.preset: unknown modem preset"),
            "{e}"
        );
        assert!("topology.nodes".parse::<Override>().is_err());
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let e = err(
            &format!("{BASE}mesh: {{hop_limit: 9, queue_capacity: 0}}\n"),
            &[],
        );
        assert!(
            e.contains("mesh.hop_limit") && e.contains("mesh.queue_capacity"),
            "{e}"
        );
    }
}
