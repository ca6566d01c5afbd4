//! What a design needs ([`RequirementSet`]) and what a maker or facility
//! has ([`Capabilities`]), both in taxonomy terms.
//!
//! ## Requirements of a manifest ([`derive`])
//!
//! | source | becomes | critical | confidence |
//! |---|---|---|---|
//! | declared processes (`manufacturing_processes`, `process_requirements`) | process | yes | 1.0 |
//! | `tsdc` (OKH-LOSH; supply-graph-ai only when it declares no `manufacturing_processes`, whose generator fills `tsdc` with unrelated codes) | process | yes (`STD`, sourcing standard parts: no) | 1.0 |
//! | each part's `tsdc` / `printing-process` | process, tied to the part | yes | 1.0 |
//! | `materials`, `material`, part materials, `bom-atoms` | material | no | 1.0 |
//! | `tool-list`, `tool-list-atoms` | tool | only when no process is declared | 1.0 |
//! | `bom` components (supply-graph-ai's `bom` mapping) | material or part | no | 1.0 |
//! | `bom` text (OKH v1) — known materials and tools named in it | material / tool | no | 0.6, *inferred* |
//! | title, keywords, function, description, intended use — when the manifest declares no process, or only umbrella codes (`ASM`, `MEC`, `STD`: specificity below 0.5) | process, tool (critical when no process is declared), material | processes | 0.4–0.8 by where and how it was found (see [`crate::infer`]); *inferred*, with the words around it as evidence |
//!
//! Specific declared process data is trusted as complete, so prose is not
//! mined when a manifest declares a specific process. A term the taxonomy
//! does not know is kept as a free term (or as its Wikidata id) so that the
//! same words on the facility side still match. The same term from two
//! sources is one requirement (critical if either is, inferred only if both
//! are, highest confidence).
//!
//! ## Domain
//!
//! A manifest that says its `domain` (supply-graph-ai: `manufacturing` or
//! `cooking`) is in it. Otherwise it is `cooking` when most of its
//! *declared* requirements that the taxonomy knows are cooking concepts
//! (ovens, baking sheets, flour…). Prose alone never makes a manifest
//! cooking: the corpus has appropriate-technology designs of stoves and
//! kitchens, which are hardware.

use std::collections::BTreeMap;

use crate::infer::{Prose, infer};
use crate::okh::{Atom, AtomRole, Manifest, ManifestDialect};
use crate::taxonomy::{
    ConceptId, ConceptKind, Domain, SkillLevel, Taxonomy, TextMatch, normalize_term, wikidata_id,
};

/// Confidence of a declared requirement.
pub const CONFIDENCE_DECLARED: f32 = 1.0;
/// Confidence of a requirement inferred from a name or alias in prose.
pub const CONFIDENCE_INFERRED_NAMED: f32 = 0.6;
/// Confidence of a requirement inferred from a hint word in prose.
pub const CONFIDENCE_INFERRED_HINT: f32 = 0.4;
/// Declared processes below this specificity (umbrella codes) do not stop
/// prose from being read.
pub const GENERIC_SPECIFICITY: f32 = 0.5;

/// A requirement or capability, in matching terms.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Term {
    /// A taxonomy concept.
    Concept(ConceptId),
    /// A Wikidata item the taxonomy does not know (`Q…`).
    Wikidata(String),
    /// Free text the taxonomy does not know, normalised.
    Free(String),
}

impl Term {
    /// The term one piece of text names: a concept it is a name of; a
    /// Wikidata id; the one concept every name inside it agrees on
    /// ("Measuring tape or ruler"); else the text as a free term.
    pub fn from_text(tax: &Taxonomy, text: &str) -> Term {
        if let Some(c) = tax.lookup(text) {
            return Term::Concept(c);
        }
        if let Some(q) = wikidata_id(text) {
            return Term::Wikidata(q);
        }
        let norm = normalize_term(text);
        let named: Vec<ConceptId> = tax
            .scan_list(&norm)
            .into_iter()
            .filter(|f| f.how == TextMatch::Alias)
            .map(|f| f.concept)
            .collect();
        if let Some(&first) = named.first()
            && named.iter().all(|&c| c == first)
            && norm.split(' ').count() <= 8
        {
            return Term::Concept(first);
        }
        Term::Free(norm)
    }

    /// The term a TsDC code (or, failing that, a name) names.
    pub fn from_tsdc(tax: &Taxonomy, code: &str) -> Term {
        match tax.lookup_tsdc(code) {
            Some(c) => Term::Concept(c),
            None => Term::from_text(tax, code),
        }
    }

    /// The term an atom names: its Wikidata id (a concept when the taxonomy
    /// knows it), else its description, else its identifier.
    pub fn from_atom(tax: &Taxonomy, atom: &Atom) -> Term {
        if let Some(q) = &atom.wikidata {
            return match tax.lookup_wikidata(q) {
                Some(c) => Term::Concept(c),
                None => Term::Wikidata(q.clone()),
            };
        }
        if let Some(d) = &atom.description {
            return Term::from_text(tax, d);
        }
        Term::Free(normalize_term(
            atom.identifier.as_deref().unwrap_or_default(),
        ))
    }

    /// Human label: the concept's name, a Wikidata item's label (from the
    /// taxonomy's label table) or `wikidata:Q…`, or the free text.
    pub fn label(&self, tax: &Taxonomy) -> String {
        match self {
            Term::Concept(c) => tax.concept(*c).name.clone(),
            Term::Wikidata(q) => tax
                .atom_label(q)
                .map_or_else(|| format!("wikidata:{q}"), |l| l.label.clone()),
            Term::Free(s) => s.clone(),
        }
    }

    /// The machine id: the concept key, `wikidata:Q…`, or `free:text`.
    pub fn id(&self, tax: &Taxonomy) -> String {
        match self {
            Term::Concept(c) => tax.concept(*c).key.clone(),
            Term::Wikidata(q) => format!("wikidata:{q}"),
            Term::Free(s) => format!("free:{s}"),
        }
    }

    /// How much a requirement for it says about a design (see
    /// [`crate::taxonomy::Concept::specificity`]); a named part or a term
    /// the taxonomy does not know says much.
    pub fn specificity(&self, tax: &Taxonomy) -> f32 {
        match self {
            Term::Concept(c) => tax.concept(*c).specificity,
            _ => 1.0,
        }
    }

    /// The concept, when the term is one.
    pub fn concept(&self) -> Option<ConceptId> {
        match self {
            Term::Concept(c) => Some(*c),
            _ => None,
        }
    }

    /// True for an empty free term (nothing to match).
    pub fn is_empty(&self) -> bool {
        matches!(self, Term::Free(s) if s.is_empty())
    }
}

/// Where a requirement comes from.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Origin {
    /// Declared processes.
    Process,
    /// Top-level `tsdc`.
    Tsdc,
    /// A part (index into [`crate::okh::Manifest::parts`]).
    Part(u16),
    /// Declared materials.
    Material,
    /// The tool list.
    Tool,
    /// A Wikidata atom.
    Atom(AtomRole),
    /// The bill of materials text.
    Bom,
    /// Prose (title, keywords, function, description).
    Text,
}

impl Origin {
    /// Label.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Process => "processes",
            Origin::Tsdc => "tsdc",
            Origin::Part(_) => "part",
            Origin::Material => "materials",
            Origin::Tool => "tool-list",
            Origin::Atom(_) => "atoms",
            Origin::Bom => "bom",
            Origin::Text => "text",
        }
    }
}

/// One thing a design needs.
#[derive(Clone, PartialEq, Debug)]
pub struct Requirement {
    /// What is needed.
    pub term: Term,
    /// Kind of the need (for free terms: from where it was found).
    pub kind: ConceptKind,
    /// The text it was read from.
    pub text: String,
    /// Where it was read.
    pub origin: Origin,
    /// Without it the design cannot be made.
    pub critical: bool,
    /// Guessed from prose rather than declared.
    pub inferred: bool,
    /// How sure we are the design needs it, in (0, 1].
    pub confidence: f32,
    /// For an inferred requirement, the words around the phrase it was read
    /// from; empty for declared ones.
    pub evidence: String,
}

impl Requirement {
    /// What to show a person: the concept's name; for a Wikidata item or a
    /// free term, the manifest's own words (`chair legs`), else the label
    /// table's, else the id.
    pub fn display(&self, tax: &Taxonomy) -> String {
        match &self.term {
            Term::Concept(_) => self.term.label(tax),
            Term::Wikidata(q) => {
                let own = self.text.trim();
                if !own.is_empty() && wikidata_id(own).as_deref() != Some(q.as_str()) {
                    own.to_owned()
                } else {
                    self.term.label(tax)
                }
            }
            Term::Free(s) => {
                let own = self.text.trim();
                if own.is_empty() {
                    s.clone()
                } else {
                    own.to_owned()
                }
            }
        }
    }
}

/// The needs of one part.
#[derive(Clone, PartialEq, Debug)]
pub struct PartNeeds {
    /// Part name.
    pub name: String,
    /// Indices into [`RequirementSet::requirements`].
    pub needs: Vec<usize>,
}

/// Everything a design needs.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct RequirementSet {
    /// Field of making.
    pub domain: Domain,
    /// The requirements, declared ones first.
    pub requirements: Vec<Requirement>,
    /// Per-part needs.
    pub parts: Vec<PartNeeds>,
}

impl RequirementSet {
    fn push(&mut self, r: Requirement) -> Option<usize> {
        if r.term.is_empty() {
            return None;
        }
        if let Some(i) = self.requirements.iter().position(|x| x.term == r.term) {
            let x = &mut self.requirements[i];
            x.critical |= r.critical;
            x.inferred &= r.inferred;
            x.confidence = x.confidence.max(r.confidence);
            return Some(i);
        }
        self.requirements.push(r);
        Some(self.requirements.len() - 1)
    }

    /// True when any requirement was inferred from prose.
    pub fn any_inferred(&self) -> bool {
        self.requirements.iter().any(|r| r.inferred)
    }
}

fn kind_of(tax: &Taxonomy, term: &Term, default: ConceptKind) -> ConceptKind {
    term.concept().map_or(default, |c| tax.concept(c).kind)
}

/// Derives what a manifest needs. See the module docs for the rules.
pub fn derive(m: &Manifest, tax: &Taxonomy) -> RequirementSet {
    let mut set = RequirementSet::default();
    let sourcing = tax.by_key("standard_parts");
    let declared = |set: &mut RequirementSet,
                    term: Term,
                    text: &str,
                    origin: Origin,
                    default: ConceptKind,
                    critical: bool| {
        let kind = kind_of(tax, &term, default);
        // Sourcing standard parts is never critical.
        let critical = critical && (sourcing.is_none() || term.concept() != sourcing);
        set.push(Requirement {
            term,
            kind,
            text: text.to_owned(),
            origin,
            critical,
            inferred: false,
            confidence: CONFIDENCE_DECLARED,
            evidence: String::new(),
        })
    };
    // A process code (TsDC or free text) and a named thing (material, tool).
    let process = |set: &mut RequirementSet, text: &str, origin: Origin| {
        declared(
            set,
            Term::from_tsdc(tax, text),
            text,
            origin,
            ConceptKind::Process,
            true,
        )
    };
    let named = |set: &mut RequirementSet, text: &str, origin, kind, critical| {
        declared(
            set,
            Term::from_text(tax, text),
            text,
            origin,
            kind,
            critical,
        )
    };
    for p in &m.processes {
        process(&mut set, p, Origin::Process);
    }
    let use_tsdc = m.dialect != ManifestDialect::SupplyGraphJson || m.processes.is_empty();
    if use_tsdc {
        for t in &m.tsdc {
            process(&mut set, t, Origin::Tsdc);
        }
    }
    for (i, part) in m.parts.iter().enumerate() {
        let origin = Origin::Part(i.min(usize::from(u16::MAX)) as u16);
        let mut needs = Vec::new();
        for p in &part.processes {
            needs.extend(process(&mut set, p, origin));
        }
        if let Some(mat) = &part.material {
            needs.extend(named(&mut set, mat, origin, ConceptKind::Material, false));
        }
        set.parts.push(PartNeeds {
            name: part.name.clone(),
            needs,
        });
    }
    let any_process = set
        .requirements
        .iter()
        .any(|r| r.kind == ConceptKind::Process);
    // Only umbrella codes (or nothing) say how it is made: read the prose.
    let specific_process = set
        .requirements
        .iter()
        .any(|r| r.kind == ConceptKind::Process && r.term.specificity(tax) >= GENERIC_SPECIFICITY);
    for mat in &m.materials {
        named(
            &mut set,
            mat,
            Origin::Material,
            ConceptKind::Material,
            false,
        );
    }
    for t in &m.tools {
        named(&mut set, t, Origin::Tool, ConceptKind::Tool, !any_process);
    }
    for a in &m.atoms {
        let text = a
            .description
            .clone()
            .or_else(|| a.identifier.clone())
            .unwrap_or_default();
        let (kind, critical) = match a.role {
            AtomRole::Input => (ConceptKind::Material, false),
            AtomRole::Tool | AtomRole::Process => (ConceptKind::Tool, !any_process),
            AtomRole::Product | AtomRole::Output => continue,
        };
        declared(
            &mut set,
            Term::from_atom(tax, a),
            &text,
            Origin::Atom(a.role),
            kind,
            critical,
        );
    }
    // supply-graph-ai's `bom` mapping: its components are inputs.
    for c in &m.bom_components {
        named(&mut set, c, Origin::Bom, ConceptKind::Material, false);
    }
    let declared_count = set.requirements.len();
    // The OKH v1 `bom` is prose; an OKH-LOSH `bom` is a path.
    if let Some(bom) = m
        .bom
        .as_deref()
        .filter(|b| !b.contains('/') && !b.to_lowercase().ends_with(".csv"))
    {
        for f in tax.scan_list(&normalize_term(bom)) {
            let c = tax.concept(f.concept);
            if f.how != TextMatch::Alias || c.kind == ConceptKind::Process {
                continue;
            }
            set.push(Requirement {
                term: Term::Concept(f.concept),
                kind: c.kind,
                text: f.phrase.clone(),
                origin: Origin::Bom,
                critical: false,
                inferred: true,
                confidence: CONFIDENCE_INFERRED_NAMED,
                evidence: format!("bom: {}", f.phrase),
            });
        }
    }
    if !specific_process {
        let keywords = m.keywords.join(", ");
        let mut body: Vec<&str> = Vec::new();
        for t in [&m.function, &m.description, &m.intended_use]
            .into_iter()
            .flatten()
        {
            if !body.contains(&t.as_str()) {
                body.push(t);
            }
        }
        let prose = Prose {
            title: &m.title,
            keywords,
            body,
        };
        let has_tools = set.requirements.iter().any(|r| r.kind == ConceptKind::Tool);
        for r in infer(tax, &prose, !any_process && !has_tools) {
            // Prose does not turn a declared optional need into a critical one.
            if set.requirements.iter().any(|x| x.term == r.term) {
                continue;
            }
            set.push(r);
        }
    }
    set.domain = match m
        .domain
        .as_deref()
        .map(str::trim)
        .map(str::to_ascii_lowercase)
    {
        Some(d) if d == "cooking" => Domain::Cooking,
        Some(d) if d == "manufacturing" => Domain::Manufacturing,
        _ => domain_of(&set.requirements[..declared_count], tax),
    };
    set
}

fn domain_of(declared: &[Requirement], tax: &Taxonomy) -> Domain {
    let (mut cook, mut make) = (0, 0);
    for r in declared {
        if let Some(c) = r.term.concept() {
            match tax.concept(c).domain {
                Domain::Cooking => cook += 1,
                Domain::Manufacturing => make += 1,
            }
        }
    }
    if cook > make {
        Domain::Cooking
    } else {
        Domain::Manufacturing
    }
}

/// What a maker or facility has.
#[derive(Clone, PartialEq, Debug)]
pub struct Capabilities {
    /// The terms, sorted and without duplicates.
    pub terms: Vec<Term>,
    /// Skill per process, where stated.
    pub skills: BTreeMap<ConceptId, SkillLevel>,
    /// Skill for processes not in `skills`.
    pub default_skill: SkillLevel,
    /// Domains served (bits of [`Domain::bit`]).
    pub domains: u8,
}

impl Capabilities {
    /// Empty capabilities with a default skill.
    pub fn new(default_skill: SkillLevel) -> Self {
        Capabilities {
            terms: Vec::new(),
            skills: BTreeMap::new(),
            default_skill,
            domains: Domain::Manufacturing.bit(),
        }
    }

    /// Adds a term (call [`Capabilities::finish`] after the last one).
    pub fn add(&mut self, t: Term) {
        if !t.is_empty() {
            self.terms.push(t);
        }
    }

    /// Sorts and removes duplicates.
    pub fn finish(&mut self) {
        self.terms.sort();
        self.terms.dedup();
    }

    /// The skill for a process.
    pub fn skill_for(&self, c: ConceptId) -> SkillLevel {
        self.skills.get(&c).copied().unwrap_or(self.default_skill)
    }

    /// True when the domain is served.
    pub fn serves(&self, d: Domain) -> bool {
        self.domains & d.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okh::parse_manifest;

    fn keys(set: &RequirementSet) -> Vec<(String, bool, bool)> {
        let tax = Taxonomy::builtin();
        set.requirements
            .iter()
            .map(|r| (r.term.label(tax), r.critical, r.inferred))
            .collect()
    }

    /// A manifest parsed from `bytes` and what it requires.
    fn derived(bytes: &[u8], file: &str) -> (Manifest, RequirementSet) {
        let m = parse_manifest(bytes, file).unwrap();
        let set = derive(&m, Taxonomy::builtin());
        (m, set)
    }

    #[test]
    fn losh_tsdc_and_parts_are_declared() {
        let (_, set) = derived(
            b"okhv = \"2.0\"\nname = \"Loom\"\nlicense = \"MIT\"\nfunction = \"A wooden loom\"\ntsdc = \"MEC\"\n[[part]]\nname = \"Clamp\"\ntsdc = \"3DP\"\nmaterial = \"PLA\"\n",
            "l.toml",
        );
        let k = keys(&set);
        assert!(
            k.contains(&("Mechanical parts fabrication".into(), true, false)),
            "{k:?}"
        );
        assert!(k.contains(&("3D printing".into(), true, false)), "{k:?}");
        assert!(k.contains(&("PLA".into(), false, false)), "{k:?}");
        assert!(
            !set.any_inferred(),
            "prose is not mined when processes are declared: {k:?}"
        );
        assert_eq!(set.parts[0].needs.len(), 2);
        assert_eq!(set.domain, Domain::Manufacturing);
    }

    #[test]
    fn prose_only_manifests_get_inferred_requirements() {
        let tax = Taxonomy::builtin();
        let (_, set) = derived(
            b"okhv = \"OKH-LOSHv1.0\"\nname = \"Tube photometer\"\nlicense = \"MIT\"\nfunction = \"A 3D printed photometer built around an Arduino\"\n",
            "p.toml",
        );
        let r = set
            .requirements
            .iter()
            .find(|r| r.term.label(tax) == "3D printing")
            .unwrap();
        assert!(r.inferred && r.critical && r.confidence < 1.0);
        assert!(
            set.requirements
                .iter()
                .any(|r| r.term.label(tax) == "Electronics assembly")
        );
    }

    #[test]
    fn supply_graph_stray_tsdc_is_not_a_requirement() {
        let (m, set) = derived(
            br#"{"title":"Hand","manufacturing_processes":["3DP","Assembly"],"tsdc":["PCB"],"tool_list":["Reflow oven"]}"#,
            "h.json",
        );
        let k = keys(&set);
        assert!(!k.iter().any(|(l, ..)| l == "PCB fabrication"), "{k:?}");
        assert!(
            k.contains(&("Reflow oven".into(), false, false)),
            "tools are optional here: {k:?}"
        );
        assert!(m.warnings.iter().any(|w| w.field == "tsdc"));
    }
}
