//! The catalogue read back for people: stored items parsed into manifests
//! and facilities, a maker's "what I have" text turned into capabilities,
//! and ranked match results as JSON.
//!
//! The command line (`okmesh match`, `produce`, `plan`, `import`) and the
//! field node's HTTP API share this code, so a match over the API ranks
//! exactly as `okmesh match --json` does.
//!
//! # Reading stored items back
//!
//! The store keeps each item's original bytes but not its file name, and the
//! parsers can depend on the name: the format comes from the extension when
//! there is one (else from the content), and an OKW record without a title
//! is named after its file. [`parse_stored_manifest`] and
//! [`parse_stored_facility`] therefore name a stored item
//! `db:<id prefix>/<name>` and, when that does not give back the item's id
//! and content id, try the `.json`, `.toml` and `.yml` extensions: the
//! content id recorded in the version stamp decides which reading is the
//! original. `okmesh import` runs the same functions on every draft before
//! it publishes it, so what it stores always reads back as the same item.

use node_core::catalog::{ContentId, ItemId};
use node_core::document::ParseError;
use node_core::matching::{MatchIndex, Profile, RankOptions, Via};
use node_core::okh::{Manifest, parse_manifest};
use node_core::okw::{Facility, build_profile, parse_facilities};
use node_core::requirements::{Capabilities, RequirementSet, derive};
use node_core::store::StoredItem;
use node_core::taxonomy::Taxonomy;
use serde_json::{Value, json};

/// Extensions tried, after none, when reading a stored item back.
const EXTENSIONS: [&str; 4] = ["", ".json", ".toml", ".yml"];

/// The name a stored item is parsed under (messages and the OKW
/// name-from-file rule): `db:<first 8 hex digits of id>/<name><ext>`, with
/// path separators in the name replaced.
pub fn stored_label(id: ItemId, name: &str, ext: &str) -> String {
    let id = id.to_string();
    let name = name.replace(['/', '\\'], "_");
    format!("db:{}/{name}{ext}", &id[..8])
}

/// Tries `read` under the label of each of [`EXTENSIONS`]: the first
/// reading of the item's own identity (`Ok((_, true))`) wins; else the first
/// that parsed; else the first error. `None` when every reading was skipped.
fn read_back<T>(
    id: ItemId,
    name: &str,
    mut read: impl FnMut(&str) -> Option<Result<(T, bool), ParseError>>,
) -> Option<Result<(T, bool), ParseError>> {
    let mut first: Option<Result<(T, bool), ParseError>> = None;
    for ext in EXTENSIONS {
        let Some(reading) = read(&stored_label(id, name, ext)) else {
            continue;
        };
        if matches!(reading, Ok((_, true))) {
            return Some(reading);
        }
        if first.as_ref().is_none_or(|f| f.is_err() && reading.is_ok()) {
            first = Some(reading);
        }
    }
    first
}

/// Reads stored manifest bytes back. `Ok((m, true))` when `m` has the
/// given id and content id; `Ok((m, false))` when the bytes parse but to
/// another identity (an item made by another parser version); the error of
/// the first reading when no reading parses.
pub fn parse_stored_manifest(
    id: ItemId,
    content: ContentId,
    name: &str,
    bytes: &[u8],
) -> Result<(Manifest, bool), ParseError> {
    read_back(id, name, |label| {
        Some(parse_manifest(bytes, label).map(|m| {
            let own = m.item_id == id && m.content_id == content;
            (m, own)
        }))
    })
    .expect("EXTENSIONS is not empty")
}

/// As [`parse_stored_manifest`], for a facility. Stored bytes hold one
/// facility; if they hold a list, the entry with the item's id is taken.
pub fn parse_stored_facility(
    id: ItemId,
    content: ContentId,
    name: &str,
    bytes: &[u8],
) -> Result<(Facility, bool), ParseError> {
    let found = read_back(id, name, |label| match parse_facilities(bytes, label) {
        Err(e) => Some(Err(e)),
        // parse_facilities never returns an empty list for a mapping, but a
        // stored `[]` would be one.
        Ok(fs) if fs.is_empty() => None,
        Ok(mut fs) => {
            let own = fs
                .iter()
                .position(|f| f.item_id == id && f.content_id == content);
            let at = own
                .or_else(|| fs.iter().position(|f| f.item_id == id))
                .unwrap_or(0);
            Some(Ok((fs.swap_remove(at), own.is_some())))
        }
    });
    found.unwrap_or_else(|| {
        Err(ParseError::NotAMapping {
            file: stored_label(id, name, ""),
            line: 1,
            found: "an empty list",
        })
    })
}

/// The note for a stored item that parses, but not to its own identity.
pub fn stored_note(item: &StoredItem, what: &str) -> String {
    format!(
        "{}: stored {what} does not parse back to its id and content id (made by another okmesh version?); used as parsed",
        stored_label(item.id, &item.name, "")
    )
}

/// Manifests loaded for matching, with what could not be loaded.
#[derive(Debug, Default)]
pub struct Designs {
    /// The manifests, in load order.
    pub manifests: Vec<Manifest>,
    /// Their requirement sets, index for index.
    pub sets: Vec<RequirementSet>,
    /// `file: reason` for every item or file that was not loaded.
    pub skipped: Vec<String>,
}

impl Designs {
    /// Adds a parsed manifest.
    pub fn push(&mut self, m: Manifest, tax: &Taxonomy) {
        self.sets.push(derive(&m, tax));
        self.manifests.push(m);
    }

    /// The stored manifests `items`, each read back with
    /// [`parse_stored_manifest`]; an item that does not parse is listed in
    /// `skipped`.
    pub fn from_stored<'a>(
        items: impl IntoIterator<Item = &'a StoredItem>,
        tax: &Taxonomy,
    ) -> Self {
        let mut d = Designs::default();
        for item in items {
            match parse_stored_manifest(item.id, item.stamp.content, &item.name, &item.bytes) {
                Ok((m, exact)) => {
                    if !exact {
                        d.skipped.push(stored_note(item, "manifest"));
                    }
                    d.push(m, tax);
                }
                Err(e) => d.skipped.push(e.to_string()),
            }
        }
        d
    }

    /// A match index over these designs.
    pub fn index<'t>(
        &self,
        tax: &'t Taxonomy,
    ) -> Result<MatchIndex<'t>, node_core::matching::IndexError> {
        let mut idx = MatchIndex::new(tax);
        for s in &self.sets {
            idx.add(s)?;
        }
        Ok(idx)
    }
}

/// The stored facilities `items`, read back with [`parse_stored_facility`],
/// with a note for each item that could not be used.
pub fn facilities_from_stored<'a>(
    items: impl IntoIterator<Item = &'a StoredItem>,
) -> (Vec<Facility>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for item in items {
        match parse_stored_facility(item.id, item.stamp.content, &item.name, &item.bytes) {
            Ok((f, exact)) => {
                if !exact {
                    notes.push(stored_note(item, "facility"));
                }
                out.push(f);
            }
            Err(e) => notes.push(e.to_string()),
        }
    }
    (out, notes)
}

/// What a maker or facility has, with notes on the input.
#[derive(Debug)]
pub struct Input {
    /// Who: "your profile" or the facility's name.
    pub name: String,
    /// The capabilities matched against.
    pub caps: Capabilities,
    /// Notes for the user (unrecognised phrases, facility warnings).
    pub notes: Vec<String>,
    /// How the input was read, as JSON.
    pub json: Value,
}

/// A "what I have" text that names nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("nothing given: name tools, materials or skills, separated by commas")]
pub struct EmptyProfile;

impl Input {
    /// Reads free text such as "3d printer, PLA, soldering iron, basic
    /// electronics"; unrecognised phrases are kept as free text and noted
    /// with suggestions.
    pub fn from_text(text: &str, tax: &Taxonomy) -> Result<Input, EmptyProfile> {
        let d = build_profile(text, tax);
        if d.recognised.is_empty() && d.unrecognised.is_empty() {
            return Err(EmptyProfile);
        }
        let mut notes = Vec::new();
        for u in &d.unrecognised {
            let hint = if u.suggestions.is_empty() {
                String::new()
            } else {
                format!(" (did you mean: {}?)", u.suggestions.join(", "))
            };
            notes.push(format!(
                "not recognised: \"{}\"{hint}; kept as free text",
                u.phrase
            ));
        }
        let json = json!({
            "recognised": d.recognised.iter().map(|(p, c)| json!({"phrase": p, "as": tax.concept(*c).key})).collect::<Vec<_>>(),
            "unrecognised": d.unrecognised.iter().map(|u| json!({"phrase": u.phrase, "suggestions": u.suggestions})).collect::<Vec<_>>(),
        });
        Ok(Input {
            name: "your profile".into(),
            caps: d.capabilities,
            notes,
            json,
        })
    }

    /// A facility's capabilities.
    pub fn from_facility(f: &Facility, tax: &Taxonomy) -> Input {
        let notes = f
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", f.file))
            .collect();
        let json = json!({"facility": f.name, "file": f.file, "item_id": f.item_id.to_string()});
        Input {
            name: f.name.clone(),
            caps: f.capabilities(tax),
            notes,
            json,
        }
    }
}

/// Missing requirements, substitutions and inferred requirements of a
/// design for a profile, as labels.
#[derive(Debug)]
pub struct Detail {
    /// Requirements not met (optional ones in parentheses).
    pub missing: Vec<String>,
    /// `substitute for requirement (quality)`.
    pub substitutions: Vec<String>,
    /// Requirements inferred rather than stated.
    pub inferred: Vec<String>,
    /// Requirements met with too little skill.
    pub skill: Vec<String>,
    /// Every requirement and how it is met, as JSON.
    pub json: Value,
}

/// Explains one design for a profile.
pub fn detail(idx: &MatchIndex<'_>, p: &Profile, set: &RequirementSet) -> Detail {
    let tax = idx.taxonomy();
    let mut d = Detail {
        missing: Vec::new(),
        substitutions: Vec::new(),
        inferred: Vec::new(),
        skill: Vec::new(),
        json: Value::Null,
    };
    let mut reqs = Vec::new();
    for (r, (q, via, short)) in set.requirements.iter().zip(idx.explain(p, set)) {
        let label = r.term.label(tax);
        let (how, with) = match via {
            Via::Missing => ("missing", None),
            Via::Direct => ("direct", None),
            Via::Generic(c) => ("generic", Some(tax.concept(c).name.clone())),
            Via::Substitute(c, _) => ("substitute", Some(tax.concept(c).name.clone())),
        };
        if q == 0.0 {
            d.missing.push(if r.critical {
                label.clone()
            } else {
                format!("({label})")
            });
        }
        if let Some(w) = &with {
            d.substitutions.push(format!("{w} for {label} ({q:.2})"));
        }
        if r.inferred {
            d.inferred.push(label.clone());
        }
        if short > 0 {
            d.skill.push(format!("{label} (-{short} skill)"));
        }
        reqs.push(json!({
            "requirement": label, "kind": r.kind.as_str(), "critical": r.critical,
            "inferred": r.inferred, "confidence": r.confidence, "from": r.origin.as_str(),
            "text": r.text, "met": how, "with": with, "quality": q, "skill_levels_short": short,
        }));
    }
    d.json = Value::Array(reqs);
    d
}

/// Designs that have at least one known requirement (the others cannot be
/// assessed).
pub fn assessed(designs: &Designs) -> usize {
    designs
        .sets
        .iter()
        .filter(|s| !s.requirements.is_empty())
        .count()
}

/// Ranks `designs` for `input` and returns the JSON `okmesh match --json`
/// prints: the input as read, notes, counts and one entry per result.
pub fn ranked_json(
    designs: &Designs,
    idx: &MatchIndex<'_>,
    input: &Input,
    opts: &RankOptions,
) -> Value {
    let p = idx.profile(&input.caps);
    let ranked = idx.rank(&p, opts);
    let results: Vec<_> = ranked
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let m = &designs.manifests[r.design];
            let d = detail(idx, &p, &designs.sets[r.design]);
            json!({
                "rank": i + 1, "title": m.title, "file": m.file, "item_id": m.item_id.to_string(),
                "content_id": m.content_id.to_string(), "domain": designs.sets[r.design].domain.as_str(),
                "score": r.score.score, "full": r.score.full,
                "critical_met": r.score.critical_met, "critical_total": r.score.critical_total,
                "missing": d.missing, "substitutions": d.substitutions, "inferred": d.inferred,
                "skill": d.skill, "requirements": d.json,
            })
        })
        .collect();
    json!({
        "input": input.json, "notes": input.notes, "designs": designs.manifests.len(),
        "assessed": assessed(designs), "skipped": designs.skipped, "threshold": opts.threshold,
        "results": results,
    })
}
