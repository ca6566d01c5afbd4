//! The matching vocabulary: canonical processes, tools and materials, and the
//! substitution rules between them.
//!
//! The data lives in `catalogue/data/taxonomy.toml` (embedded at build time
//! with `include_str!`, so a node needs no file); every entry carries a
//! `source` naming where its codes, Wikipedia slugs, Wikidata ids and aliases
//! come from. [`Taxonomy::builtin`] parses it once. [`Taxonomy::fingerprint`]
//! (BLAKE3 of the file) names the version: anything derived from it (the
//! persisted match index) is rebuilt when it changes.
//!
//! Each entry becomes a [`Concept`] with a small integer [`ConceptId`]: the
//! matcher works on those ids, never on strings. Free text is mapped to
//! concepts by [`Taxonomy::lookup`] (one term: an id, a name, an alias, a TsDC
//! code, a Wikipedia URL or slug, a Wikidata id or URL) and
//! [`Taxonomy::scan_text`] (a sentence: every alias or hint phrase in it).
//!
//! Relations used by matching:
//!
//! * `parent` — a process is a kind of its parent (FFF printing is 3D
//!   printing): owning the child satisfies a requirement for the parent;
//! * `enables` — a tool provides processes (a 3D printer provides FFF
//!   printing, hence 3D printing);
//! * substitutions — `need ← use` with a confidence: a requirement for
//!   `need` can be met by `use`, less well.
//!
//! Term normalisation (used for every look-up): lower-case; a Wikipedia URL
//! is reduced to its slug and percent-decoded; every run of characters that
//! are not letters or digits becomes one space (so `3D_printer`,
//! `3d-printer` and `3D Printer` are the same key). A plural (`-s`, `-es`,
//! `-ies`) is tolerated when the exact key is unknown.
//!
//! Names come in three strengths: `aliases` name the concept anywhere;
//! `terms` name it only as a whole term (what a maker types, a declared
//! field), never inside prose (`laser`, `mill`, `files` are other things in
//! a sentence); `hints` merely suggest it in prose. How prose may infer a
//! concept at all is its [`ProseRule`]; the rules themselves are in
//! [`crate::infer`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The embedded taxonomy data file.
pub const BUILTIN_TOML: &str = include_str!("../data/taxonomy.toml");

/// Index of a concept in its [`Taxonomy`] (dense, from 0).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ConceptId(pub u16);

impl ConceptId {
    /// The index as a `usize`, for table look-ups.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// What a concept is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ConceptKind {
    /// A manufacturing (or cooking) process.
    Process,
    /// A tool or machine.
    Tool,
    /// A material or ingredient.
    Material,
}

impl ConceptKind {
    /// Lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            ConceptKind::Process => "process",
            ConceptKind::Tool => "tool",
            ConceptKind::Material => "material",
        }
    }
}

/// The field of making an item belongs to. Matching only pairs a design
/// with a facility that works in the design's domain.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub enum Domain {
    /// Hardware: fabrication, electronics, building, textiles.
    #[default]
    Manufacturing,
    /// Food: recipes, kitchens, groceries.
    Cooking,
}

impl Domain {
    /// Lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Manufacturing => "manufacturing",
            Domain::Cooking => "cooking",
        }
    }

    /// Bit of this domain in a domain mask.
    pub fn bit(self) -> u8 {
        match self {
            Domain::Manufacturing => 1,
            Domain::Cooking => 2,
        }
    }
}

/// How much skill a process needs, or a maker has.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum SkillLevel {
    /// Can be learnt in an afternoon.
    Basic = 1,
    /// Needs practice.
    Intermediate = 2,
    /// Needs training or a professional.
    Advanced = 3,
}

impl SkillLevel {
    /// Lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillLevel::Basic => "basic",
            SkillLevel::Intermediate => "intermediate",
            SkillLevel::Advanced => "advanced",
        }
    }

    /// Parses `basic`, `beginner`, `intermediate`, `advanced`, `expert`, ….
    pub fn parse(word: &str) -> Option<SkillLevel> {
        match word {
            "basic" | "beginner" | "novice" | "some" | "simple" => Some(SkillLevel::Basic),
            "intermediate" | "good" | "experienced" => Some(SkillLevel::Intermediate),
            "advanced" | "expert" | "professional" | "pro" => Some(SkillLevel::Advanced),
            _ => None,
        }
    }
}

/// Where prose may infer a concept (see [`crate::infer`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ProseRule {
    /// Named anywhere in the design's own prose (processes, components).
    Named,
    /// Only in a bill-of-materials or tools section, or after a cue such as
    /// "made of" or "using a" (most tools and materials: a design titled
    /// "Shovel" is a shovel, not made with one).
    Cue,
    /// Only in the title or keywords, or in a materials or tools section
    /// (activities a text mentions for what the design is *for*:
    /// gardening, cooking).
    Title,
    /// Never inferred from prose.
    Never,
}

impl ProseRule {
    fn parse(s: &str) -> Option<ProseRule> {
        match s {
            "named" => Some(ProseRule::Named),
            "cue" => Some(ProseRule::Cue),
            "title" => Some(ProseRule::Title),
            "never" => Some(ProseRule::Never),
            _ => None,
        }
    }
}

/// One entry of the taxonomy.
#[derive(Clone, Debug)]
pub struct Concept {
    /// Canonical id, e.g. `3d_printing`.
    pub key: String,
    /// Human label.
    pub name: String,
    /// Process, tool or material.
    pub kind: ConceptKind,
    /// Field of making.
    pub domain: Domain,
    /// TsDC codes (processes).
    pub tsdc: Vec<String>,
    /// Wikipedia slugs.
    pub wikipedia: Vec<String>,
    /// Wikidata ids.
    pub wikidata: Vec<String>,
    /// Names that mean exactly this concept.
    pub aliases: Vec<String>,
    /// Names that mean this concept only as a whole term, never in prose.
    pub terms: Vec<String>,
    /// Words that suggest this concept in free text.
    pub hints: Vec<String>,
    /// More general process (processes only).
    pub parent: Option<ConceptId>,
    /// Processes a tool provides.
    pub enables: Vec<ConceptId>,
    /// Least skill the process needs (Basic for tools and materials).
    pub skill: SkillLevel,
    /// How much a requirement for it says about a design, in (0, 1]: 1 for
    /// a named process, tool or material; low for umbrella codes such as
    /// `ASM` (assembly) or `MEC` (mechanical parts) that nearly every
    /// design carries.
    pub specificity: f32,
    /// Where prose may infer it.
    pub prose: ProseRule,
    /// What needing it implies the design also needs (an Arduino board
    /// implies electronics assembly), added as inferred requirements.
    pub implies: Vec<ConceptId>,
    /// Where the entry's data comes from.
    pub source: String,
}

/// A requirement for `need` may be met by `with` at `confidence`.
#[derive(Clone, Debug)]
pub struct Substitution {
    /// The required concept.
    pub need: ConceptId,
    /// The capability that stands in for it.
    pub with: ConceptId,
    /// How well it stands in, in (0, 1].
    pub confidence: f32,
    /// When it applies.
    pub note: String,
    /// Where the rule comes from.
    pub source: String,
}

/// How a phrase in free text was recognised.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum TextMatch {
    /// The phrase is a name or alias of the concept.
    Alias,
    /// The phrase only hints at the concept.
    Hint,
}

/// A concept found in free text by [`Taxonomy::scan_text`].
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The concept.
    pub concept: ConceptId,
    /// Alias or hint.
    pub how: TextMatch,
    /// The normalised phrase that matched.
    pub phrase: String,
    /// Index of the phrase's first word in the normalised text.
    pub word: usize,
}

/// A Wikidata item's human label, for atoms the taxonomy does not model as
/// concepts (parts such as "chair legs").
#[derive(Clone, Debug, PartialEq)]
pub struct AtomLabel {
    /// `Q…`.
    pub wikidata: String,
    /// The label.
    pub label: String,
    /// Where it comes from.
    pub source: String,
}

/// The taxonomy data file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    /// The file is not valid TOML or does not follow the schema.
    #[error("taxonomy: {0}")]
    Syntax(String),
    /// An entry refers to an id that no entry has.
    #[error("taxonomy: entry `{entry}` refers to unknown id `{target}`")]
    UnknownRef {
        /// Entry holding the reference.
        entry: String,
        /// The missing id.
        target: String,
    },
    /// Two entries claim the same name, alias, slug or code.
    #[error("taxonomy: `{key}` names both `{first}` and `{second}`")]
    Ambiguous {
        /// The normalised key.
        key: String,
        /// First entry.
        first: String,
        /// Second entry.
        second: String,
    },
    /// A value is out of range (skill, domain, confidence, too many entries).
    #[error("taxonomy: entry `{entry}`: {message}")]
    BadValue {
        /// The entry.
        entry: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    #[serde(default)]
    atom: Vec<RawAtom>,
    #[serde(default)]
    process: Vec<RawConcept>,
    #[serde(default)]
    tool: Vec<RawConcept>,
    #[serde(default)]
    material: Vec<RawConcept>,
    #[serde(default)]
    substitution: Vec<RawSubstitution>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConcept {
    id: String,
    name: String,
    #[serde(default)]
    tsdc: Vec<String>,
    #[serde(default)]
    wikipedia: Vec<String>,
    #[serde(default)]
    wikidata: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    terms: Vec<String>,
    #[serde(default)]
    hints: Vec<String>,
    parent: Option<String>,
    #[serde(default)]
    enables: Vec<String>,
    #[serde(default)]
    implies: Vec<String>,
    skill: Option<String>,
    domain: Option<String>,
    specificity: Option<f32>,
    prose: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAtom {
    wikidata: String,
    label: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubstitution {
    need: String,
    #[serde(rename = "use")]
    with: String,
    confidence: f32,
    note: String,
    source: String,
}

/// Most concepts a taxonomy may hold (ids are `u16`; matching tables are
/// sized by it).
pub const MAX_CONCEPTS: usize = 4096;

/// The parsed taxonomy with its look-up tables.
#[derive(Debug)]
pub struct Taxonomy {
    concepts: Vec<Concept>,
    substitutions: Vec<Substitution>,
    // Look-up only (never iterated): deterministic results do not depend on them.
    by_name: BTreeMap<String, ConceptId>,
    by_hint: BTreeMap<String, ConceptId>,
    by_tsdc: BTreeMap<String, ConceptId>,
    by_wikidata: BTreeMap<String, ConceptId>,
    /// Sorted list of (name key, concept), for suggestions.
    names_sorted: Vec<(String, ConceptId)>,
    subs_for: Vec<Vec<(ConceptId, f32)>>,
    provides: Vec<Vec<ConceptId>>,
    max_phrase_words: usize,
    /// Exact-only names (never matched in prose).
    by_term: BTreeMap<String, ConceptId>,
    atom_labels: BTreeMap<String, AtomLabel>,
    fingerprint: [u8; 32],
}

impl Taxonomy {
    /// The taxonomy embedded in the binary, parsed once.
    pub fn builtin() -> &'static Taxonomy {
        static BUILTIN: OnceLock<Taxonomy> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let parsed = Taxonomy::from_toml(BUILTIN_TOML);
            assert!(parsed.is_ok(), "embedded taxonomy is broken: {parsed:?}");
            parsed.unwrap_or_else(|_| unreachable!())
        })
    }

    /// Parses and checks a taxonomy file.
    pub fn from_toml(text: &str) -> Result<Taxonomy, TaxonomyError> {
        let raw: RawFile =
            toml::from_str(text).map_err(|e| TaxonomyError::Syntax(e.to_string()))?;
        if raw.version != 1 && raw.version != 2 {
            return Err(TaxonomyError::Syntax(format!(
                "unsupported version {}",
                raw.version
            )));
        }
        let entries: Vec<(ConceptKind, RawConcept)> = raw
            .process
            .into_iter()
            .map(|c| (ConceptKind::Process, c))
            .chain(raw.tool.into_iter().map(|c| (ConceptKind::Tool, c)))
            .chain(raw.material.into_iter().map(|c| (ConceptKind::Material, c)))
            .collect();
        if entries.len() > MAX_CONCEPTS {
            return Err(TaxonomyError::BadValue {
                entry: "(file)".into(),
                message: format!("{} entries, at most {MAX_CONCEPTS}", entries.len()),
            });
        }
        let mut ids: BTreeMap<String, ConceptId> = BTreeMap::new();
        for (i, (_, c)) in entries.iter().enumerate() {
            let id = ConceptId(i as u16);
            if ids.insert(c.id.clone(), id).is_some() {
                return Err(TaxonomyError::Ambiguous {
                    key: c.id.clone(),
                    first: c.id.clone(),
                    second: c.id.clone(),
                });
            }
        }
        let resolve = |entry: &str, target: &str| {
            ids.get(target)
                .copied()
                .ok_or_else(|| TaxonomyError::UnknownRef {
                    entry: entry.to_owned(),
                    target: target.to_owned(),
                })
        };
        let mut concepts = Vec::with_capacity(entries.len());
        for (kind, c) in &entries {
            let parent = c.parent.as_deref().map(|p| resolve(&c.id, p)).transpose()?;
            let enables = c
                .enables
                .iter()
                .map(|p| resolve(&c.id, p))
                .collect::<Result<Vec<_>, _>>()?;
            let skill = match c.skill.as_deref() {
                None => SkillLevel::Basic,
                Some(s) => SkillLevel::parse(s).ok_or_else(|| TaxonomyError::BadValue {
                    entry: c.id.clone(),
                    message: format!("unknown skill `{s}`"),
                })?,
            };
            let domain = match c.domain.as_deref() {
                None | Some("manufacturing") => Domain::Manufacturing,
                Some("cooking") => Domain::Cooking,
                Some(d) => {
                    return Err(TaxonomyError::BadValue {
                        entry: c.id.clone(),
                        message: format!("unknown domain `{d}`"),
                    });
                }
            };
            let implies = c
                .implies
                .iter()
                .map(|p| resolve(&c.id, p))
                .collect::<Result<Vec<_>, _>>()?;
            let specificity = c.specificity.unwrap_or(1.0);
            if !(specificity > 0.0 && specificity <= 1.0) {
                return Err(TaxonomyError::BadValue {
                    entry: c.id.clone(),
                    message: format!("specificity {specificity} is not in (0, 1]"),
                });
            }
            let prose = match c.prose.as_deref() {
                // Processes are named by what is done; tools and materials
                // in prose are often the product or its use.
                None if *kind == ConceptKind::Process => ProseRule::Named,
                None => ProseRule::Cue,
                Some(p) => ProseRule::parse(p).ok_or_else(|| TaxonomyError::BadValue {
                    entry: c.id.clone(),
                    message: format!("unknown prose rule `{p}` (named, cue, title, never)"),
                })?,
            };
            if c.source.trim().is_empty() {
                return Err(TaxonomyError::BadValue {
                    entry: c.id.clone(),
                    message: "no source".into(),
                });
            }
            concepts.push(Concept {
                key: c.id.clone(),
                name: c.name.clone(),
                kind: *kind,
                domain,
                tsdc: c.tsdc.clone(),
                wikipedia: c.wikipedia.clone(),
                wikidata: c.wikidata.clone(),
                aliases: c.aliases.clone(),
                terms: c.terms.clone(),
                hints: c.hints.clone(),
                parent,
                enables,
                skill,
                specificity,
                prose,
                implies,
                source: c.source.clone(),
            });
        }
        let mut atom_labels = BTreeMap::new();
        for a in raw.atom {
            let Some(q) = wikidata_id(&a.wikidata) else {
                return Err(TaxonomyError::BadValue {
                    entry: a.wikidata.clone(),
                    message: "not a Wikidata id".into(),
                });
            };
            if a.source.trim().is_empty() || a.label.trim().is_empty() {
                return Err(TaxonomyError::BadValue {
                    entry: q,
                    message: "an atom label needs a label and a source".into(),
                });
            }
            atom_labels.insert(
                q.clone(),
                AtomLabel {
                    wikidata: q,
                    label: a.label,
                    source: a.source,
                },
            );
        }
        let mut substitutions = Vec::new();
        for s in &raw.substitution {
            let need = resolve(&s.need, &s.need)?;
            let with = resolve(&s.need, &s.with)?;
            if !(s.confidence > 0.0 && s.confidence <= 1.0) {
                return Err(TaxonomyError::BadValue {
                    entry: s.need.clone(),
                    message: format!("confidence {} is not in (0, 1]", s.confidence),
                });
            }
            substitutions.push(Substitution {
                need,
                with,
                confidence: s.confidence,
                note: s.note.clone(),
                source: s.source.clone(),
            });
        }
        let mut t = Taxonomy {
            concepts,
            substitutions,
            by_name: BTreeMap::new(),
            by_hint: BTreeMap::new(),
            by_tsdc: BTreeMap::new(),
            by_wikidata: BTreeMap::new(),
            names_sorted: Vec::new(),
            subs_for: Vec::new(),
            provides: Vec::new(),
            max_phrase_words: 1,
            by_term: BTreeMap::new(),
            atom_labels,
            fingerprint: *blake3::hash(text.as_bytes()).as_bytes(),
        };
        t.index()?;
        Ok(t)
    }

    fn index(&mut self) -> Result<(), TaxonomyError> {
        fn claim(
            map: &mut BTreeMap<String, ConceptId>,
            concepts: &[Concept],
            key: String,
            id: ConceptId,
        ) -> Result<(), TaxonomyError> {
            if key.is_empty() {
                return Ok(());
            }
            match map.get(&key) {
                Some(&other) if other != id => Err(TaxonomyError::Ambiguous {
                    key,
                    first: concepts[other.index()].key.clone(),
                    second: concepts[id.index()].key.clone(),
                }),
                _ => {
                    map.insert(key, id);
                    Ok(())
                }
            }
        }
        let mut by_name = BTreeMap::new();
        let mut by_hint = BTreeMap::new();
        let mut by_tsdc = BTreeMap::new();
        let mut by_wikidata = BTreeMap::new();
        let mut by_term = BTreeMap::new();
        let mut max_words = 1;
        for (i, c) in self.concepts.iter().enumerate() {
            let id = ConceptId(i as u16);
            let terms: Vec<String> = c.terms.iter().map(|t| normalize_term(t)).collect();
            let names = std::iter::once(&c.key)
                .chain(std::iter::once(&c.name))
                .chain(&c.aliases)
                .chain(&c.wikipedia);
            for n in names {
                let key = normalize_term(&decode_percent(n));
                // A key or name listed as a term is a term only.
                if terms.contains(&key) {
                    continue;
                }
                max_words = max_words.max(key.split(' ').count());
                claim(&mut by_name, &self.concepts, key, id)?;
            }
            for key in terms {
                claim(&mut by_term, &self.concepts, key, id)?;
            }
            for code in &c.tsdc {
                claim(&mut by_tsdc, &self.concepts, code.to_ascii_uppercase(), id)?;
            }
            for q in &c.wikidata {
                claim(&mut by_wikidata, &self.concepts, q.to_ascii_uppercase(), id)?;
            }
        }
        for (i, c) in self.concepts.iter().enumerate() {
            let id = ConceptId(i as u16);
            for h in &c.hints {
                let key = normalize_term(h);
                max_words = max_words.max(key.split(' ').count());
                // A hint may repeat another concept's alias: the alias wins.
                if !by_name.contains_key(&key) {
                    claim(&mut by_hint, &self.concepts, key, id)?;
                }
            }
        }
        if let Some((k, _)) = by_term.iter().find(|(k, _)| by_name.contains_key(*k)) {
            return Err(TaxonomyError::Ambiguous {
                key: k.clone(),
                first: "(a term)".into(),
                second: "(a name)".into(),
            });
        }
        let mut names_sorted: Vec<(String, ConceptId)> = by_name
            .iter()
            .chain(&by_term)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        names_sorted.sort();
        let mut subs_for = vec![Vec::new(); self.concepts.len()];
        for s in &self.substitutions {
            subs_for[s.need.index()].push((s.with, s.confidence));
        }
        // What owning a concept provides: itself, the processes it enables,
        // and all their ancestors.
        let mut provides = Vec::with_capacity(self.concepts.len());
        for i in 0..self.concepts.len() {
            let mut out = Vec::new();
            let mut stack = vec![ConceptId(i as u16)];
            stack.extend(self.concepts[i].enables.iter().copied());
            while let Some(c) = stack.pop() {
                if out.contains(&c) {
                    continue;
                }
                out.push(c);
                if out.len() > 64 {
                    return Err(TaxonomyError::BadValue {
                        entry: self.concepts[i].key.clone(),
                        message: "parent chain too long or cyclic".into(),
                    });
                }
                if let Some(p) = self.concepts[c.index()].parent {
                    stack.push(p);
                }
            }
            out.sort();
            provides.push(out);
        }
        self.by_name = by_name;
        self.by_hint = by_hint;
        self.by_tsdc = by_tsdc;
        self.by_wikidata = by_wikidata;
        self.by_term = by_term;
        self.names_sorted = names_sorted;
        self.subs_for = subs_for;
        self.provides = provides;
        self.max_phrase_words = max_words.min(6);
        Ok(())
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.concepts.len()
    }

    /// True when there are no concepts.
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }

    /// All concepts, indexed by [`ConceptId`].
    pub fn concepts(&self) -> &[Concept] {
        &self.concepts
    }

    /// All substitution rules.
    pub fn substitutions(&self) -> &[Substitution] {
        &self.substitutions
    }

    /// The concept with this id.
    pub fn concept(&self, id: ConceptId) -> &Concept {
        &self.concepts[id.index()]
    }

    /// The concept whose canonical id is `key`.
    pub fn by_key(&self, key: &str) -> Option<ConceptId> {
        self.concepts
            .iter()
            .position(|c| c.key == key)
            .map(|i| ConceptId(i as u16))
    }

    /// Substitutes for `need`: `(capability, confidence)`.
    pub fn substitutes(&self, need: ConceptId) -> &[(ConceptId, f32)] {
        &self.subs_for[need.index()]
    }

    /// What owning `c` provides: `c`, the processes it enables and every
    /// ancestor of those (sorted).
    pub fn provides(&self, c: ConceptId) -> &[ConceptId] {
        &self.provides[c.index()]
    }

    /// The concept a TsDC code names (`3DP`, `tsdc:3DP`; case-insensitive).
    pub fn lookup_tsdc(&self, code: &str) -> Option<ConceptId> {
        let code = code.trim();
        let code = code.strip_prefix("tsdc:").unwrap_or(code);
        self.by_tsdc.get(&code.to_ascii_uppercase()).copied()
    }

    /// The concept a Wikidata id or URL names.
    pub fn lookup_wikidata(&self, q: &str) -> Option<ConceptId> {
        wikidata_id(q).and_then(|q| self.by_wikidata.get(&q).copied())
    }

    /// The concept one term names: canonical id, name, alias, TsDC code,
    /// Wikipedia slug or URL, Wikidata id or URL.
    pub fn lookup(&self, term: &str) -> Option<ConceptId> {
        let term = term.trim();
        if term.is_empty() {
            return None;
        }
        if let Some(q) = wikidata_id(term) {
            return self.by_wikidata.get(&q).copied();
        }
        if let Some(c) = self.lookup_tsdc(term) {
            return Some(c);
        }
        let key = normalize_term(&decode_percent(wikipedia_slug(term).unwrap_or(term)));
        self.lookup_key(&key)
    }

    fn lookup_key(&self, key: &str) -> Option<ConceptId> {
        self.name_key(key, true)
    }

    /// A name (and, when `whole`, an exact-only term) with plural forms.
    fn name_key(&self, key: &str, whole: bool) -> Option<ConceptId> {
        let get = |k: &str| {
            self.by_name
                .get(k)
                .or_else(|| if whole { self.by_term.get(k) } else { None })
                .copied()
        };
        if let Some(c) = get(key) {
            return Some(c);
        }
        singulars(key).into_iter().find_map(|s| get(&s))
    }

    /// The label of a Wikidata atom the taxonomy knows by name only.
    pub fn atom_label(&self, q: &str) -> Option<&AtomLabel> {
        wikidata_id(q).and_then(|q| self.atom_labels.get(&q))
    }

    /// Every atom label, by id.
    pub fn atom_labels(&self) -> impl Iterator<Item = &AtomLabel> {
        self.atom_labels.values()
    }

    /// BLAKE3 of the taxonomy file: its version, for derived data.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Every concept named or hinted at in free text, in order of first
    /// appearance, each once. Longest phrases win. In free text only hints,
    /// multi-word names and names of five or more characters count (short
    /// names such as `saw` or `cup` are too ambiguous in prose), and never
    /// `terms`.
    pub fn scan_text(&self, text: &str) -> Vec<Found> {
        let mut out: Vec<Found> = Vec::new();
        for f in self.scan_words(&normalize_term(text)) {
            if let Some(prev) = out.iter_mut().find(|p| p.concept == f.concept) {
                if f.how < prev.how {
                    prev.how = f.how;
                }
            } else {
                out.push(f);
            }
        }
        out
    }

    /// Every occurrence of a name or hint in already normalised text (see
    /// [`normalize_term`]), in order, longest phrases first; `word` is the
    /// index of the phrase's first word.
    pub fn scan_words(&self, norm: &str) -> Vec<Found> {
        self.scan_words_min(norm, 5)
    }

    /// As [`Taxonomy::scan_words`], for a list of things (a bill of
    /// materials) where short names such as `PET` or `PP` mean what they
    /// say: one-word names of `min_len` or more characters count.
    pub fn scan_list(&self, norm: &str) -> Vec<Found> {
        self.scan_words_min(norm, 2)
    }

    fn scan_words_min(&self, norm: &str, min_len: usize) -> Vec<Found> {
        let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        let mut out: Vec<Found> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut step = 1;
            for n in (1..=self.max_phrase_words.min(words.len() - i)).rev() {
                let phrase = words[i..i + n].join(" ");
                let hit = if n > 1 || phrase.len() >= min_len {
                    self.name_key(&phrase, false).map(|c| (c, TextMatch::Alias))
                } else {
                    None
                }
                .or_else(|| self.by_hint.get(&phrase).map(|&c| (c, TextMatch::Hint)))
                .or_else(|| {
                    singulars(&phrase)
                        .into_iter()
                        .find_map(|s| self.by_hint.get(&s).map(|&c| (c, TextMatch::Hint)))
                });
                if let Some((concept, how)) = hit {
                    out.push(Found {
                        concept,
                        how,
                        phrase,
                        word: i,
                    });
                    step = n;
                    break;
                }
            }
            i += step;
        }
        out
    }

    /// Up to `max` known names close to `term` (edit distance, or one
    /// containing the other as whole words), best first.
    pub fn suggest(&self, term: &str, max: usize) -> Vec<String> {
        self.suggest_scored(term, max)
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    }

    /// The one known name `term` is a misspelling of, when exactly one name
    /// is closest and within a typo's reach (one edit per four characters,
    /// at most three): `soldring iron` → `soldering iron`. None when two
    /// names are as close, when the term is a known name or hint, or when
    /// it is shorter than six characters (`hose` is not a misspelt `hoe`).
    pub fn correct(&self, term: &str) -> Option<String> {
        if self.lookup(term).is_some() {
            return None;
        }
        let key = normalize_term(term);
        let chars = key.chars().count();
        // Short words are other words one edit away ("hose", "hoe").
        if chars < 6 || self.by_hint.contains_key(&key) {
            return None;
        }
        let limit = (chars / 4).clamp(1, 3);
        let scored = self.suggest_scored(term, 2);
        match scored.as_slice() {
            [(d, name)] if *d <= limit && *d > 0 => Some(name.clone()),
            [(d, name), (d2, _)] if *d <= limit && *d > 0 && d2 > d => Some(name.clone()),
            _ => None,
        }
    }

    fn suggest_scored(&self, term: &str, max: usize) -> Vec<(usize, String)> {
        let key = normalize_term(term);
        if key.is_empty() {
            return Vec::new();
        }
        let limit = (key.chars().count() / 4).clamp(1, 3);
        let mut scored: Vec<(usize, &str)> = Vec::new();
        for (name, _) in &self.names_sorted {
            let d = edit_distance(&key, name, limit + 1);
            let contains = key.len() >= 3
                && (format!(" {name} ").contains(&format!(" {key} "))
                    || format!(" {key} ").contains(&format!(" {name} ")));
            if d <= limit {
                scored.push((d, name));
            } else if contains {
                scored.push((limit + 1, name));
            }
        }
        scored.sort();
        let mut out: Vec<(usize, String)> = Vec::new();
        for (d, name) in scored {
            if out.len() >= max {
                break;
            }
            // Two names of one concept are one suggestion.
            let c = self.lookup_key(name);
            if !out
                .iter()
                .any(|(_, o)| o == name || (c.is_some() && self.lookup_key(o) == c))
            {
                out.push((d, name.to_owned()));
            }
        }
        out
    }
}

/// Singular forms of a normalised phrase's last word: `-s`, `-es`, `-ies`.
fn singulars(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = key.strip_suffix("ies")
        && s.len() >= 3
    {
        out.push(format!("{s}y"));
    }
    if let Some(s) = key.strip_suffix("es")
        && s.len() >= 3
    {
        out.push(s.to_owned());
    }
    if let Some(s) = key.strip_suffix('s')
        && s.len() >= 3
        && !s.ends_with('s')
    {
        out.push(s.to_owned());
    }
    out
}

/// The normal form of a term: lower case, every run of non-alphanumeric
/// characters turned into one space, trimmed.
pub fn normalize_term(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for ch in s.chars() {
        if ch.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(ch.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// The slug of a Wikipedia article URL.
pub fn wikipedia_slug(s: &str) -> Option<&str> {
    let i = s.find("wikipedia.org/wiki/")?;
    let slug = &s[i + "wikipedia.org/wiki/".len()..];
    Some(slug.split(['#', '?']).next().unwrap_or(slug))
}

/// The upper-case Wikidata id (`Q123`) of an id or URL.
pub fn wikidata_id(s: &str) -> Option<String> {
    let s = s.trim();
    let tail = match s.find("wikidata.org/wiki/") {
        Some(i) => &s[i + "wikidata.org/wiki/".len()..],
        None => s,
    };
    let tail = tail.split(['#', '?', '/']).next().unwrap_or(tail);
    let digits = tail.strip_prefix(['Q', 'q'])?;
    (!digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("Q{digits}"))
}

fn decode_percent(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Levenshtein distance, giving up (returning `cap`) once it exceeds `cap`.
pub fn edit_distance(a: &str, b: &str, cap: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > cap {
        return cap;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            row_min = row_min.min(cur[j]);
        }
        if row_min > cap {
            return cap;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()].min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> &'static Taxonomy {
        Taxonomy::builtin()
    }

    fn key(id: Option<ConceptId>) -> Option<&'static str> {
        id.map(|c| t().concept(c).key.as_str())
    }

    #[test]
    fn builtin_parses_and_every_entry_has_a_source() {
        assert!(t().len() >= 80, "{}", t().len());
        for c in t().concepts() {
            assert!(!c.source.trim().is_empty(), "{} has no source", c.key);
        }
        for s in t().substitutions() {
            assert!(!s.source.trim().is_empty());
        }
    }

    #[test]
    fn looks_up_codes_names_urls_and_atoms() {
        assert_eq!(key(t().lookup("3DP")), Some("3d_printing"));
        assert_eq!(key(t().lookup("tsdc:PCB")), Some("pcb_fabrication"));
        assert_eq!(key(t().lookup("3d_printing")), Some("3d_printing"));
        assert_eq!(key(t().lookup("3D Printing")), Some("3d_printing"));
        assert_eq!(
            key(t().lookup("https://en.wikipedia.org/wiki/Fused_filament_fabrication")),
            Some("fff_printing")
        );
        assert_eq!(
            key(t().lookup("https://www.wikidata.org/wiki/Q25294")),
            Some("hammer")
        );
        assert_eq!(key(t().lookup("Q161071")), Some("screwdriver"));
        assert_eq!(key(t().lookup("Screwdrivers")), Some("screwdriver"));
        assert_eq!(key(t().lookup("CNC Machining")), Some("cnc_machining"));
        assert_eq!(key(t().lookup("Post-processing")), Some("post_processing"));
        assert_eq!(key(t().lookup("wibble")), None);
        assert_eq!(key(t().lookup("")), None);
    }

    #[test]
    fn provides_follows_enables_and_parents() {
        let printer = t().by_key("3d_printer").unwrap();
        let got: Vec<&str> = t()
            .provides(printer)
            .iter()
            .map(|c| t().concept(*c).key.as_str())
            .collect();
        assert!(got.contains(&"fff_printing"));
        assert!(got.contains(&"3d_printing"));
        assert!(!got.contains(&"sla_printing"));
    }

    #[test]
    fn scan_text_finds_phrases_longest_first() {
        let found =
            t().scan_text("A 3D printed microscope with an Arduino; laser cut acrylic. We saw it.");
        let keys: Vec<&str> = found
            .iter()
            .map(|f| t().concept(f.concept).key.as_str())
            .collect();
        assert!(keys.contains(&"3d_printing"), "{keys:?}");
        assert!(keys.contains(&"laser_cutting"), "{keys:?}");
        assert!(
            !keys.contains(&"saw"),
            "short names are ignored in prose: {keys:?}"
        );
    }

    #[test]
    fn suggests_close_names() {
        let s = t().suggest("soldring iron", 3);
        assert_eq!(s.first().map(String::as_str), Some("soldering iron"));
        assert!(t().suggest("zzzzqqqq", 3).is_empty());
    }

    #[test]
    fn bad_files_are_rejected() {
        assert!(matches!(
            Taxonomy::from_toml(
                "version = 1\n[[process]]\nid='a'\nname='A'\nsource='x'\nparent='b'\n"
            ),
            Err(TaxonomyError::UnknownRef { .. })
        ));
        assert!(matches!(
            Taxonomy::from_toml(
                "version = 1\n[[process]]\nid='a'\nname='A'\nsource='x'\n[[tool]]\nid='b'\nname='A'\nsource='y'\n"
            ),
            Err(TaxonomyError::Ambiguous { .. })
        ));
        assert!(matches!(
            Taxonomy::from_toml("nonsense"),
            Err(TaxonomyError::Syntax(_))
        ));
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting", 10), 3);
        assert_eq!(edit_distance("abc", "abc", 10), 0);
        assert_eq!(edit_distance("a", "abcdef", 2), 2);
    }
}
