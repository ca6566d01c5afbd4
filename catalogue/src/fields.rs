//! Reading keyed records — OKH manifests and OKW facilities — out of a
//! [`Document`] tree: keys compared in kebab-case, typed field readers whose
//! errors name file, line and field, unused keys kept verbatim with a warning
//! (and a "did you mean") for unknown ones, and the pieces of the canonical
//! form and ids that both kinds of item share.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::{Document, MAX_LIST_ITEMS, ParseError, Warning, kebab, type_name};
use crate::id::ItemId;
use crate::taxonomy::edit_distance;

/// The closest known key to an unknown one, when within a typo's reach.
pub(crate) fn did_you_mean<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = if key.len() >= 8 { 2 } else { 1 };
    let mut best: Option<(usize, &'k str)> = None;
    for &k in known {
        let d = edit_distance(key, k, limit + 1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Reads top-level fields by kebab-case name, remembering which were used.
pub(crate) struct Fields<'d, 'a> {
    doc: &'d Document<'a>,
    /// kebab key → (key as written, value)
    entries: BTreeMap<String, (String, &'d Value)>,
    used: Vec<String>,
    prefix: Vec<String>,
    pub(crate) warnings: Vec<Warning>,
}

impl<'d, 'a> Fields<'d, 'a> {
    pub(crate) fn new(
        doc: &'d Document<'a>,
        map: &'d Map<String, Value>,
        prefix: Vec<String>,
    ) -> Self {
        let mut entries = BTreeMap::new();
        let mut warnings = Vec::new();
        for (k, v) in map {
            let kk = kebab(k);
            if entries.contains_key(&kk) {
                let mut path: Vec<&str> = prefix.iter().map(String::as_str).collect();
                path.push(k);
                warnings.push(doc.warning(
                    &path,
                    format!("another spelling of `{kk}` is also present; kept in extra"),
                ));
                entries.insert(format!("{kk}~{k}"), (k.clone(), v));
            } else {
                entries.insert(kk, (k.clone(), v));
            }
        }
        Fields {
            doc,
            entries,
            used: Vec::new(),
            prefix,
            warnings,
        }
    }

    fn path<'s>(&'s self, key: &'s str) -> Vec<&'s str> {
        let mut p: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        p.push(key);
        p
    }

    pub(crate) fn get(&mut self, key: &str) -> Option<(&'d Value, String)> {
        let (written, v) = self.entries.get(key)?;
        self.used.push(key.to_owned());
        Some((*v, written.clone()))
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub(crate) fn error(&self, written: &str, message: impl Into<String>) -> ParseError {
        self.doc.field_error(&self.path(written), message)
    }

    /// A text field: text, number or boolean; a list or mapping is an error.
    pub(crate) fn text(&mut self, key: &str) -> Result<Option<String>, ParseError> {
        let Some((v, written)) = self.get(key) else {
            return Ok(None);
        };
        match scalar_text(v) {
            Ok(t) => Ok(t),
            Err(found) => Err(self.error(&written, format!("expected text, found {found}"))),
        }
    }

    /// The text of the first of `keys` that has some; a later key is read
    /// (and so counted as used) only when the earlier ones give none.
    pub(crate) fn first_text(&mut self, keys: &[&str]) -> Result<Option<String>, ParseError> {
        for key in keys {
            if let Some(t) = self.text(key)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// [`text_list`] of a value read from field `written`, its error located
    /// there.
    pub(crate) fn texts(&self, v: &Value, written: &str) -> Result<Vec<String>, ParseError> {
        text_list(v).map_err(|m| self.error(written, m))
    }

    /// A list of texts: a list of scalars, or one text split at commas
    /// (and new lines).
    pub(crate) fn list(&mut self, key: &str) -> Result<Vec<String>, ParseError> {
        let Some((v, written)) = self.get(key) else {
            return Ok(Vec::new());
        };
        let out = self.texts(v, &written)?;
        if out.len() > MAX_LIST_ITEMS {
            return Err(self.error(
                &written,
                format!("{} entries, at most {MAX_LIST_ITEMS}", out.len()),
            ));
        }
        Ok(out)
    }

    /// Every unused key, for `extra`; unknown ones also raise warnings.
    pub(crate) fn finish(mut self, known: &[&str]) -> (BTreeMap<String, Value>, Vec<Warning>) {
        let mut extra = BTreeMap::new();
        let entries = std::mem::take(&mut self.entries);
        for (kk, (written, v)) in entries {
            if self.used.contains(&kk) {
                continue;
            }
            let base = kk.split('~').next().unwrap_or(&kk).to_owned();
            if !known.contains(&base.as_str()) {
                let msg = match did_you_mean(&base, known) {
                    Some(s) => format!("unknown key (did you mean `{s}`?); kept as is"),
                    None => "unknown key; kept as is".to_owned(),
                };
                let w = self.doc.warning(&self.path(&written), msg);
                self.warnings.push(w);
            }
            extra.insert(kk, v.clone());
        }
        (extra, self.warnings)
    }
}

/// A scalar as text (`Ok(None)` for null or blank); `Err(type)` otherwise.
pub(crate) fn scalar_text(v: &Value) -> Result<Option<String>, &'static str> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => {
            let t = clean_text(s);
            Ok((!t.is_empty()).then_some(t))
        }
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(type_name(other)),
    }
}

/// A scalar as text; `None` for null, blank, a list or a mapping.
pub(crate) fn loose_text(v: &Value) -> Option<String> {
    scalar_text(v).ok().flatten()
}

/// [`loose_text`] of entry `key` of a mapping.
pub(crate) fn entry_text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(loose_text)
}

/// Trims whitespace and one pair of wrapping quotes.
pub(crate) fn clean_text(s: &str) -> String {
    let t = s.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .map_or(t, str::trim);
    t.to_owned()
}

/// A list of texts from a list of scalars, a list of `{name: …}` mappings
/// or one comma-separated text.
pub(crate) fn text_list(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(split_list(s)),
        Value::Number(_) | Value::Bool(_) => Ok(loose_text(v).into_iter().collect()),
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(m) => {
                        let name = ["name", "title", "description", "material-id", "material_id"]
                            .iter()
                            .find_map(|k| entry_text(m, k));
                        if let Some(n) = name {
                            out.push(n);
                        }
                    }
                    Value::Array(_) => {
                        return Err(format!("entry {i}: expected text, found a list"));
                    }
                    other => out.extend(loose_text(other)),
                }
            }
            Ok(out)
        }
        Value::Object(_) => Err("expected a list or text, found a mapping".into()),
    }
}

/// Splits `a, b, c` (or new-line separated text) into trimmed entries.
pub fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n', ';'])
        .map(clean_text)
        .filter(|x| !x.is_empty())
        .collect()
}

pub(crate) fn put_opt(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.into(), Value::String(v.clone()));
    }
}

pub(crate) fn put_list(m: &mut Map<String, Value>, k: &str, v: &[String]) {
    if !v.is_empty() {
        m.insert(
            k.into(),
            Value::Array(v.iter().map(|s| Value::String(s.clone())).collect()),
        );
    }
}

/// Puts `extra` (the keys kept verbatim) under `"extra"` unless it is empty.
pub(crate) fn put_extra(m: &mut Map<String, Value>, extra: &BTreeMap<String, Value>) {
    if !extra.is_empty() {
        m.insert(
            "extra".into(),
            Value::Object(extra.clone().into_iter().collect()),
        );
    }
}

/// The error for a document whose root is not a mapping (nor, where lists
/// are accepted, a list).
pub(crate) fn not_a_mapping(file: &str, root: &Value) -> ParseError {
    ParseError::NotAMapping {
        file: file.to_owned(),
        line: 1,
        found: type_name(root),
    }
}

/// Derives an [`ItemId`] from a kind label and naming parts.
pub(crate) fn derive_item_id(kind: &str, parts: &[&str]) -> ItemId {
    let mut h = blake3::Hasher::new_derive_key("okmesh item id v1");
    h.update(kind.as_bytes());
    for p in parts {
        h.update(b"\0");
        h.update(p.as_bytes());
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    ItemId(out)
}

/// Prefix + compact JSON with sorted keys (objects are sorted recursively).
pub(crate) fn canonical_bytes(prefix: &str, v: &Value) -> Vec<u8> {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let b: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
                let mut out = Map::new();
                for (k, v) in b {
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            Value::String(s) => Value::String(s.trim().to_owned()),
            other => other.clone(),
        }
    }
    let mut out = prefix.as_bytes().to_vec();
    // Serialising a Value into a Vec cannot fail.
    out.extend(serde_json::to_vec(&sorted(v)).unwrap_or_default());
    out
}
