//! Field paths (`radio.preset`, `faults[2].crash.node`) and finding the line
//! a path sits on in the YAML source.

use core::fmt;

use saphyr_parser::{Event, Parser};

/// One step of a field path.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from the document root to a field.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The root.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(k.to_string()));
        p
    }

    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    /// Parses `a.b[2].c` (as written after `--set`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segs = Vec::new();
        for part in text.split('.') {
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "`{text}` is not a field path such as topology.nodes or faults[0].crash.node"
                ));
            }
            segs.push(Segment::Key(name.to_string()));
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped
                    .find(']')
                    .ok_or_else(|| format!("unclosed `[` in `{text}`"))?;
                let index = stripped[..end]
                    .parse()
                    .map_err(|_| format!("`{}` in `{text}` is not an index", &stripped[..end]))?;
                segs.push(Segment::Index(index));
                rest = &stripped[end + 1..];
            }
            if !rest.is_empty() {
                return Err(format!("unexpected `{rest}` in `{text}`"));
            }
        }
        Ok(FieldPath(segs))
    }

    /// Whether `self` equals `other` or lies under it.
    pub fn starts_with(&self, other: &FieldPath) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl From<&serde_path_to_error::Path> for FieldPath {
    fn from(p: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        FieldPath(
            p.iter()
                .filter_map(|s| match s {
                    S::Seq { index } => Some(Segment::Index(*index)),
                    S::Map { key } | S::Enum { variant: key } => Some(Segment::Key(key.clone())),
                    S::Unknown => None,
                })
                .collect(),
        )
    }
}

/// A position in the source, 1-based line and column.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

enum Frame {
    /// In a mapping; `key` is the key whose value comes next, if any.
    Map { key: Option<String> },
    /// In a sequence; the index of the next item.
    Seq { next: usize },
}

/// Finds where `target` is in `source`: the line of the key for mapping
/// entries, of the item for sequence entries. Returns the deepest prefix of
/// the path that exists, so a misspelt leaf still points at its parent.
pub fn locate(source: &str, target: &FieldPath) -> Option<Location> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<Segment> = Vec::new();
    let mut best: Option<(usize, Location)> = None;
    let consider = |path: &[Segment], loc: Location, best: &mut Option<(usize, Location)>| {
        if path.len() <= target.0.len()
            && target.0[..path.len()] == *path
            && best.is_none_or(|(depth, _)| path.len() >= depth)
        {
            *best = Some((path.len(), loc));
        }
    };
    for item in Parser::new_from_str(source) {
        let Ok((event, span)) = item else { break };
        let loc = Location {
            line: span.start.line(),
            column: span.start.col() + 1,
        };
        // A node starts: if we are in a mapping waiting for a key, a scalar is the key.
        let is_node_start = matches!(
            event,
            Event::Scalar(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::Alias(..)
        );
        if is_node_start {
            match stack.last_mut() {
                Some(Frame::Map { key }) if key.is_none() => {
                    if let Event::Scalar(text, ..) = &event {
                        *key = Some(text.to_string());
                        path.push(Segment::Key(text.to_string()));
                        consider(&path, loc, &mut best);
                        path.pop();
                    }
                    continue;
                }
                Some(Frame::Map { key }) => {
                    path.push(Segment::Key(key.take().unwrap_or_default()));
                }
                Some(Frame::Seq { next }) => {
                    path.push(Segment::Index(*next));
                    *next += 1;
                    consider(&path, loc, &mut best);
                }
                None => {}
            }
            match event {
                Event::MappingStart(..) => stack.push(Frame::Map { key: None }),
                Event::SequenceStart(..) => stack.push(Frame::Seq { next: 0 }),
                _ => {
                    if !stack.is_empty() {
                        path.pop();
                    }
                }
            }
            continue;
        }
        if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
            stack.pop();
            if !stack.is_empty() {
                path.pop();
            }
        }
    }
    best.map(|(_, loc)| loc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "\
name: demo
radio:
  preset: LongFst
  path_loss:
    model: log_distance
faults:
  - crash:
      at: 10m
      node: 99
  - partition: {at: 1h, groups: [[0, 1], [2]]}
";

    fn at(path: &str) -> Option<usize> {
        locate(SRC, &FieldPath::parse(path).unwrap()).map(|l| l.line)
    }

    #[test]
    fn finds_keys_items_and_nested_flow_values() {
        assert_eq!(at("name"), Some(1));
        assert_eq!(at("radio.preset"), Some(3));
        assert_eq!(at("radio.path_loss.model"), Some(5));
        assert_eq!(at("faults[0].crash.node"), Some(9));
        assert_eq!(at("faults[1].partition.groups[1]"), Some(10));
    }

    #[test]
    fn a_missing_leaf_points_at_its_deepest_existing_parent() {
        assert_eq!(at("radio.tx_power_dbm"), Some(2));
        assert_eq!(at("faults[0].crash.restart_after"), Some(7));
    }

    #[test]
    fn paths_parse_and_print_alike() {
        for p in ["topology.nodes", "faults[2].crash.node", "a[0][1].b"] {
            assert_eq!(FieldPath::parse(p).unwrap().to_string(), p);
        }
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("a[x]").is_err());
        assert!(FieldPath::parse("a[1").is_err());
    }
}
