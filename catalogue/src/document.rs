//! Reading a manifest or facility file into one generic tree, whatever its
//! format (JSON, TOML, YAML), with errors that say where.
//!
//! Parsers here take bytes plus a *file name* used only in messages; they do
//! no I/O. The tree is a [`serde_json::Value`]: TOML dates become strings,
//! YAML tags are dropped, YAML keys that are not strings are written out as
//! text, non-finite floats become strings.
//!
//! Hand-written OKH v1 YAML is often not valid YAML (the corpus has such a
//! file). When a YAML document does not parse, it is *recovered block by
//! block*: every top-level `key:` line starts a block, each block is parsed on
//! its own, and a block that still fails is kept as plain text. Each recovery
//! is a [`Warning`] naming the line, so nothing is lost silently; a recovered
//! document that yields no block at all is an error. JSON and TOML are
//! machine-written and are never recovered: a syntax error is an error.

use std::fmt;

use serde_json::{Map, Value};

/// Largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Most entries accepted in one list field (parts, atoms, keywords, …).
pub const MAX_LIST_ITEMS: usize = 4096;

/// The syntax of a document.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Format {
    /// JSON.
    Json,
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
}

impl Format {
    /// Every format, in code order.
    pub const ALL: [Format; 3] = [Format::Json, Format::Toml, Format::Yaml];

    /// The format's one-byte code in the store's log and on the wire
    /// (1 JSON, 2 TOML, 3 YAML; 0 is never a format).
    pub fn code(self) -> u8 {
        match self {
            Format::Json => 1,
            Format::Toml => 2,
            Format::Yaml => 3,
        }
    }

    /// The format with this [`code`](Format::code), if any.
    pub fn from_code(code: u8) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.code() == code)
    }

    /// Lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Toml => "toml",
            Format::Yaml => "yaml",
        }
    }
}

/// Something in an input that was accepted but deserves attention: an
/// unknown key, a likely typo, a recovered syntax error.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Warning {
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// Field path, e.g. `tool-list-atoms[0].descroption`.
    pub field: String,
    /// What is wrong and what was done about it.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: `{}`: {}", self.field, self.message),
            None => write!(f, "`{}`: {}", self.field, self.message),
        }
    }
}

/// A document that cannot be used. Every variant names the file; the
/// others also name the line (and column or field) where it could be found.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ParseError {
    /// The input is over [`MAX_DOCUMENT_BYTES`].
    #[error("{file}: {size_bytes} bytes is over the limit of {limit_bytes} bytes")]
    TooLarge {
        /// File name.
        file: String,
        /// Size of the input.
        size_bytes: usize,
        /// The limit.
        limit_bytes: usize,
    },
    /// The input is not UTF-8 text.
    #[error("{file}:{line}:{column}: not UTF-8 text")]
    NotUtf8 {
        /// File name.
        file: String,
        /// Line of the first bad byte.
        line: u32,
        /// Column (in bytes) of the first bad byte.
        column: u32,
    },
    /// The text is not valid in its format.
    #[error("{file}:{line}:{column}: {format} syntax error: {message}")]
    Syntax {
        /// File name.
        file: String,
        /// `json`, `toml` or `yaml`.
        format: &'static str,
        /// Line.
        line: u32,
        /// Column.
        column: u32,
        /// The parser's message.
        message: String,
    },
    /// The document parsed but is not a mapping of fields.
    #[error("{file}:{line}: expected a mapping of fields at the top level, found {found}")]
    NotAMapping {
        /// File name.
        file: String,
        /// Line (1).
        line: u32,
        /// What was found instead.
        found: &'static str,
    },
    /// A field has a value of the wrong type or out of limits.
    #[error("{file}:{line}: field `{field}`: {message}")]
    Field {
        /// File name.
        file: String,
        /// Line of the field (1 when it cannot be located).
        line: u32,
        /// Field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The document is another kind of item than the one asked for (a
    /// manifest given as a facility, or the other way round).
    #[error("{file}: expected {expected}, but this is {found}: {why}")]
    WrongKind {
        /// File name.
        file: String,
        /// What was asked for.
        expected: &'static str,
        /// What the document is.
        found: &'static str,
        /// Which keys tell.
        why: String,
    },
    /// A required field is absent or empty.
    #[error("{file}:{line}: field `{field}` is required: {message}")]
    Missing {
        /// File name.
        file: String,
        /// Line where the field was expected (the end of the document's
        /// top level, or 1).
        line: u32,
        /// The missing field.
        field: String,
        /// Which names were looked for.
        message: String,
    },
}

impl ParseError {
    /// The line the error points at, if any.
    pub fn line(&self) -> Option<u32> {
        match self {
            ParseError::TooLarge { .. } | ParseError::WrongKind { .. } => None,
            ParseError::NotUtf8 { line, .. }
            | ParseError::Syntax { line, .. }
            | ParseError::NotAMapping { line, .. }
            | ParseError::Field { line, .. }
            | ParseError::Missing { line, .. } => Some(*line),
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::Field { field, .. } | ParseError::Missing { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The file name the error is about.
    pub fn file(&self) -> &str {
        match self {
            ParseError::TooLarge { file, .. }
            | ParseError::NotUtf8 { file, .. }
            | ParseError::Syntax { file, .. }
            | ParseError::NotAMapping { file, .. }
            | ParseError::Field { file, .. }
            | ParseError::WrongKind { file, .. }
            | ParseError::Missing { file, .. } => file,
        }
    }
}

/// A parsed document: the generic tree and what is needed to point back
/// into the text.
#[derive(Debug)]
pub struct Document<'a> {
    /// File name for messages.
    pub file: &'a str,
    /// The text.
    pub text: &'a str,
    /// Its format.
    pub format: Format,
    /// The tree.
    pub root: Value,
    /// Warnings raised while reading (recovery).
    pub warnings: Vec<Warning>,
    /// Line look-ups done so far (each scans the text; capped).
    lookups: std::cell::Cell<u32>,
}

/// Most line look-ups per document: each scans the text, so a file with
/// thousands of odd keys gets lines for the first ones only.
pub const MAX_LINE_LOOKUPS: u32 = 256;

impl Document<'_> {
    /// The 1-based line where the key path is written, following the path
    /// from the top: each key is searched at the start of a line (after
    /// indentation, `- `, a quote or a TOML table header) from the line of
    /// its parent on. Array indices in the path are skipped.
    pub fn line_of(&self, path: &[&str]) -> Option<u32> {
        if self.lookups.get() >= MAX_LINE_LOOKUPS {
            return None;
        }
        self.lookups.set(self.lookups.get() + 1);
        let lines: Vec<&str> = self.text.lines().collect();
        let mut from = 0usize;
        let mut found = None;
        for key in path {
            if key.is_empty() || key.starts_with('[') {
                continue;
            }
            // A top-level key is looked for at the left margin first.
            let top = found.is_none();
            let hit = (from..lines.len())
                .find(|&i| top && !lines[i].starts_with([' ', '\t']) && line_has_key(lines[i], key))
                .or_else(|| (from..lines.len()).find(|&i| line_has_key(lines[i], key)))?;
            from = hit;
            found = Some(hit as u32 + 1);
        }
        found
    }

    /// A field error at `path`.
    pub fn field_error(&self, path: &[&str], message: impl Into<String>) -> ParseError {
        ParseError::Field {
            file: self.file.to_owned(),
            line: self.line_of(path).unwrap_or(1),
            field: join_path(path),
            message: message.into(),
        }
    }

    /// A warning at `path`.
    pub fn warning(&self, path: &[&str], message: impl Into<String>) -> Warning {
        Warning {
            line: self.line_of(path),
            field: join_path(path),
            message: message.into(),
        }
    }
}

/// Joins a key path as `a.b[0].c`.
pub fn join_path(path: &[&str]) -> String {
    let mut s = String::new();
    for p in path {
        if p.starts_with('[') || s.is_empty() {
            s.push_str(p);
        } else {
            s.push('.');
            s.push_str(p);
        }
    }
    s
}

fn line_has_key(line: &str, key: &str) -> bool {
    let mut t = line.trim_start();
    t = t.trim_start_matches(['[', '-', ' ']);
    let t = t.strip_prefix(['"', '\'']).unwrap_or(t);
    let Some(rest) = t.strip_prefix(key) else {
        return false;
    };
    let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest).trim_start();
    rest.starts_with(':') || rest.starts_with('=') || rest.starts_with(']')
}

/// Which format the bytes are in: from the file name's extension, else
/// from the content (`{` starts JSON, a `key =` or `[table]` line TOML,
/// anything else YAML).
pub fn detect_format(file: &str, text: &str) -> Format {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return Format::Json;
    }
    if lower.ends_with(".toml") {
        return Format::Toml;
    }
    if lower.ends_with(".yml") || lower.ends_with(".yaml") {
        return Format::Yaml;
    }
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with("[{") || t.starts_with("[\n") || t.starts_with("[]") {
        return Format::Json;
    }
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l.starts_with('[') {
            return Format::Toml;
        }
        let key_end = l.find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '"'));
        if let Some(i) = key_end
            && l[i..].trim_start().starts_with('=')
        {
            return Format::Toml;
        }
        return Format::Yaml;
    }
    Format::Yaml
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line as u32, col as u32)
}

/// Parses bytes into a [`Document`], in the format [`detect_format`] tells
/// from the file name or the content. Never panics, whatever the bytes.
pub fn parse_document<'a>(bytes: &'a [u8], file: &'a str) -> Result<Document<'a>, ParseError> {
    parse_document_as(bytes, file, None)
}

/// Parses bytes into a [`Document`] in a known `format` (bytes that come
/// with no file name: from the store or the mesh), or, with `None`, in the
/// one [`detect_format`] tells. Never panics, whatever the bytes.
pub fn parse_document_as<'a>(
    bytes: &'a [u8],
    file: &'a str,
    format: Option<Format>,
) -> Result<Document<'a>, ParseError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ParseError::TooLarge {
            file: file.to_owned(),
            size_bytes: bytes.len(),
            limit_bytes: MAX_DOCUMENT_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let col =
            e.valid_up_to() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        ParseError::NotUtf8 {
            file: file.to_owned(),
            line: line as u32,
            column: col as u32,
        }
    })?;
    let text_body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = format.unwrap_or_else(|| detect_format(file, text_body));
    let mut warnings = Vec::new();
    let root = match format {
        Format::Json => {
            serde_json::from_str::<Value>(text_body).map_err(|e| ParseError::Syntax {
                file: file.to_owned(),
                format: "json",
                line: e.line() as u32,
                column: e.column() as u32,
                message: strip_position(&e.to_string()),
            })?
        }
        Format::Toml => {
            let table = toml::from_str::<toml::Table>(text_body).map_err(|e| {
                let (line, column) = e.span().map_or((1, 1), |s| line_col(text_body, s.start));
                ParseError::Syntax {
                    file: file.to_owned(),
                    format: "toml",
                    line,
                    column,
                    message: e.message().trim().to_owned(),
                }
            })?;
            toml_to_json(toml::Value::Table(table))
        }
        Format::Yaml => match serde_norway::from_str::<serde_norway::Value>(text_body) {
            Ok(v) => yaml_to_json(v),
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map_or((1, 1), |l| (l.line() as u32, l.column() as u32));
                let err = ParseError::Syntax {
                    file: file.to_owned(),
                    format: "yaml",
                    line,
                    column,
                    message: strip_position(&e.to_string()),
                };
                match recover_yaml(text_body, &mut warnings) {
                    Some(v) => {
                        warnings.insert(
                            0,
                            Warning {
                                line: Some(line),
                                field: String::new(),
                                message: format!("{err}; recovered block by block"),
                            },
                        );
                        v
                    }
                    None => return Err(err),
                }
            }
        },
    };
    Ok(Document {
        file,
        text,
        format,
        root,
        warnings,
        lookups: std::cell::Cell::new(0),
    })
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Block-by-block recovery of a YAML mapping that does not parse as a
/// whole. Returns `None` when no top-level key is found.
fn recover_yaml(text: &str, warnings: &mut Vec<Warning>) -> Option<Value> {
    let lines: Vec<&str> = text.lines().collect();
    let mut starts: Vec<(usize, String)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with([' ', '\t', '#', '-']) || l.trim().is_empty() {
            continue;
        }
        if let Some(colon) = l.find(':') {
            let key = &l[..colon];
            let after = &l[colon + 1..];
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'))
                && (after.is_empty() || after.starts_with([' ', '\t']))
            {
                starts.push((i, key.trim().to_owned()));
            }
        }
    }
    if starts.is_empty() {
        return None;
    }
    let mut map = Map::new();
    for (n, (start, key)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(lines.len(), |s| s.0);
        let block = lines[*start..end].join("\n");
        let value = match serde_norway::from_str::<serde_norway::Value>(&block) {
            Ok(v) => match yaml_to_json(v) {
                Value::Object(mut m) if m.len() == 1 => m.remove(key).unwrap_or(Value::Null),
                other => other,
            },
            Err(e) => {
                let first = lines[*start][key.len() + 1..].trim();
                let mut text = first.to_owned();
                for l in &lines[start + 1..end] {
                    let l = l.trim();
                    if l.is_empty() || l.starts_with('#') {
                        continue;
                    }
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(l);
                }
                warnings.push(Warning {
                    line: Some(*start as u32 + 1),
                    field: key.clone(),
                    message: format!(
                        "not valid YAML ({}); kept as plain text",
                        strip_position(&e.to_string())
                    ),
                });
                if text.is_empty() {
                    Value::Null
                } else {
                    Value::String(text)
                }
            }
        };
        if map.contains_key(key) {
            warnings.push(Warning {
                line: Some(*start as u32 + 1),
                field: key.clone(),
                message: "duplicate key; the first one is kept".into(),
            });
            continue;
        }
        map.insert(key.clone(), value);
    }
    Some(Value::Object(map))
}

fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Null => "null".to_owned(),
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    other => yaml_to_json(other).to_string(),
                };
                out.entry(key).or_insert_with(|| yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// The kebab-case form of a key: `documentationLanguage`,
/// `documentation_language` and `Documentation-Language` all become
/// `documentation-language`.
pub fn kebab(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for ch in key.trim().chars() {
        if ch.is_uppercase() {
            if prev_lower {
                out.push('-');
            }
            out.extend(ch.to_lowercase());
            prev_lower = false;
        } else if ch == '_' || ch == ' ' || ch == '-' {
            if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            prev_lower = false;
        } else {
            out.push(ch);
            prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        }
    }
    out
}

/// Describes a JSON value's type for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_unifies_dialects() {
        assert_eq!(kebab("documentationLanguage"), "documentation-language");
        assert_eq!(kebab("manufacturing_processes"), "manufacturing-processes");
        assert_eq!(kebab("Link"), "link");
        assert_eq!(kebab("okhv"), "okhv");
        assert_eq!(kebab("forkOf"), "fork-of");
        assert_eq!(kebab("tool-list-atoms"), "tool-list-atoms");
    }

    #[test]
    fn detects_formats() {
        assert_eq!(detect_format("x", "{\"a\":1}"), Format::Json);
        assert_eq!(detect_format("x", "# c\nname = \"a\"\n"), Format::Toml);
        assert_eq!(detect_format("x", "title: a\n"), Format::Yaml);
        assert_eq!(detect_format("a.toml", "title: a\n"), Format::Toml);
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let e = parse_document(b"{\n  \"a\": 1,\n  oops\n}", "m.json").unwrap_err();
        assert!(matches!(e, ParseError::Syntax { line: 3, .. }), "{e}");
        assert!(e.to_string().starts_with("m.json:3:"), "{e}");
        let e = parse_document(b"name = \"a\"\nversion = = 2\n", "m.toml").unwrap_err();
        assert!(matches!(e, ParseError::Syntax { line: 2, .. }), "{e}");
        let e = parse_document(b"a\x00\xff", "m.yml").unwrap_err();
        assert!(
            matches!(
                e,
                ParseError::NotUtf8 {
                    line: 1,
                    column: 3,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn broken_yaml_is_recovered_block_by_block_with_warnings() {
        let text = "title: Chair\ndescription: for sitting \n  it is described in: The Big Four\nversion: 1\n";
        let doc = parse_document(text.as_bytes(), "seat.yml").unwrap();
        assert_eq!(doc.root["title"], "Chair");
        assert_eq!(doc.root["version"], 1);
        assert!(
            doc.root["description"]
                .as_str()
                .unwrap()
                .contains("The Big Four")
        );
        assert!(
            doc.warnings
                .iter()
                .any(|w| w.line == Some(2) && w.field == "description"),
            "{:?}",
            doc.warnings
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        for (name, open) in [("d.json", "["), ("d.toml", "a = ["), ("d.yml", "[")] {
            let text = format!("{open}{}", "[".repeat(100_000));
            assert!(parse_document(text.as_bytes(), name).is_err(), "{name}");
        }
    }

    #[test]
    fn line_of_follows_the_path() {
        let text = "title: a\nlicensor:\n  name: b\nname: c\n";
        let doc = parse_document(text.as_bytes(), "x.yml").unwrap();
        assert_eq!(doc.line_of(&["licensor", "name"]), Some(3));
        assert_eq!(doc.line_of(&["name"]), Some(4));
        assert_eq!(doc.line_of(&["title"]), Some(1));
        assert_eq!(doc.line_of(&["nope"]), None);
    }
}
