//! Open Know-Where facilities, and capability profiles built from informal
//! text.
//!
//! [`parse_facilities`] reads bytes (plus a file name for messages) in any
//! of:
//!
//! * **OKW YAML** as written by Helpful Engineering (`title`,
//!   `tool-list-atoms`, `inventory-atoms`, `supply-atoms`, `product-atoms`,
//!   `processes` as Wikidata atoms, `tool-list` text);
//! * **supply-graph-ai OKW JSON** (`name`, `location`,
//!   `manufacturing_processes`, `equipment[]` with `equipment_type`,
//!   `manufacturing_process` and `materials_worked`, `typical_materials`);
//! * a **JSON list of makerspaces** as exported from maps.ofmaking.org
//!   (`space`, `name`, `city`, `country`, `processes`) — one file, many
//!   facilities.
//!
//! As for manifests ([`crate::okh`]), keys are compared in kebab-case, unused
//! keys are kept in [`Facility::extra`], unknown ones raise warnings, the raw
//! bytes are kept. A document that is plainly a manifest (OKH keys such as
//! `okhv`, `function` or `bom-atoms`, and no OKW key) is refused with
//! [`ParseError::WrongKind`].
//!
//! ## Consistency of atoms
//!
//! An OKW atom names one thing three times: its Wikidata `identifier`, its
//! `description` and its `link`. When they disagree — Helpful Engineering's
//! sewing room gives the identifier Q211387 (soldering, as its Arduino shop
//! uses it), the description "Sewing of simple garments" and a link to
//! Q652122 (sewing) — [`Facility::read`] takes what two of the three agree
//! on, and says so in a note; with no majority it keeps the identifier's
//! reading and says that too.
//!
//! Identity: [`ItemId`] = first 16 bytes of `BLAKE3-derive-key("okmesh item id
//! v1", "facility\0" + name-part)`, where the name part is the makerspace URL
//! (`space`), else the facility's own `id`, else its normalised name, city and
//! country. [`ContentId`] = BLAKE3 of `"okmesh-okw-canonical-v1\n"` + the
//! compact sorted JSON of [`Facility::canonical_value`].
//!
//! [`build_profile`] turns what a maker types ("3d printer, PLA, soldering
//! iron, laser cutter, basic electronics") into a temporary [`Facility`] and
//! its [`Capabilities`], listing what it did not recognise with suggestions.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::{
    Document, Format, MAX_LIST_ITEMS, ParseError, Warning, parse_document_as, type_name,
};
use crate::fields::{
    Fields, canonical_bytes, clean_text, derive_item_id, entry_text, loose_text, not_a_mapping,
    put_extra, put_list, put_opt, split_list,
};
use crate::id::{ContentId, ItemId};
use crate::okh::{
    Atom, AtomRole, FACILITY_MARKERS, MANIFEST_MARKERS, marker_count, parse_atoms, read_atom_lists,
};
use crate::requirements::{Capabilities, Term};
use crate::taxonomy::{
    ConceptId, ConceptKind, Domain, SkillLevel, Taxonomy, TextMatch, normalize_term, wikidata_id,
};

/// Which schema a facility record follows.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum FacilityDialect {
    /// OKW YAML (Helpful Engineering library).
    OkwYaml,
    /// supply-graph-ai OKW JSON.
    SupplyGraphJson,
    /// A makerspace from a maps.ofmaking.org list.
    MakingSpace,
    /// Built by [`build_profile`] from informal text.
    Profile,
}

impl FacilityDialect {
    /// Label.
    pub fn as_str(self) -> &'static str {
        match self {
            FacilityDialect::OkwYaml => "okw-yaml",
            FacilityDialect::SupplyGraphJson => "supply-graph-ai",
            FacilityDialect::MakingSpace => "making-space",
            FacilityDialect::Profile => "profile",
        }
    }
}

/// One piece of equipment.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Equipment {
    /// `equipment_type` (often a Wikipedia URL).
    pub kind: Option<String>,
    /// `manufacturing_process`.
    pub process: Option<String>,
    /// `materials_worked[].material_type`.
    pub materials: Vec<String>,
}

/// A normalised facility (or temporary profile).
#[derive(Clone, Debug)]
pub struct Facility {
    /// File name given to the parser (with `#index` for list entries).
    pub file: String,
    /// Syntax of the file.
    pub format: Format,
    /// Schema followed.
    pub dialect: FacilityDialect,
    /// `name` / `title`.
    pub name: String,
    /// City, when given.
    pub city: Option<String>,
    /// Country, when given.
    pub country: Option<String>,
    /// Processes offered, as written.
    pub processes: Vec<String>,
    /// Equipment.
    pub equipment: Vec<Equipment>,
    /// Materials at hand (`typical_materials`, `bom`).
    pub materials: Vec<String>,
    /// Tools as text (`tool-list`).
    pub tools: Vec<String>,
    /// Wikidata atoms (tools, inventory, supplies, products, processes).
    pub atoms: Vec<Atom>,
    /// Declared skill levels (profiles only), by process name.
    pub skills: BTreeMap<String, SkillLevel>,
    /// `domain` as declared (`manufacturing`, `cooking`).
    pub domain: Option<String>,
    /// Every other key, verbatim, by kebab-case name.
    pub extra: BTreeMap<String, Value>,
    /// What was odd in the input.
    pub warnings: Vec<Warning>,
    /// Stable id.
    pub item_id: ItemId,
    /// Id of this version's content.
    pub content_id: ContentId,
    /// Original bytes (of the whole file, shared by list entries).
    pub raw: Vec<u8>,
}

const KNOWN_KEYS: &[&str] = &[
    // OKW YAML (Helpful Engineering)
    "title",
    "contact",
    "contributors",
    "version",
    "development-stage",
    "license",
    "licensor",
    "documentation-home",
    "archive-download",
    "inventory-atoms",
    "supply-atoms",
    "supplies-atom",
    "product-atoms",
    "tool-list-atoms",
    "tool-list",
    "processes",
    "bom",
    "description",
    "location",
    // supply-graph-ai / IoPA OKW
    "id",
    "name",
    "facility-status",
    "owner",
    "opening-hours",
    "date-founded",
    "access-type",
    "equipment",
    "manufacturing-processes",
    "typical-batch-size",
    "floor-size",
    "storage-capacity",
    "typical-materials",
    "certifications",
    "road-access",
    "loading-dock",
    "maintenance-schedule",
    "typical-products",
    "backup-generator",
    "uninterrupted-power-supply",
    "wheelchair-accessibility",
    "affiliations",
    "housing",
    "circular-economy",
    "human-capacity",
    "innovation-space",
    "record-data",
    // maps.ofmaking.org
    "space",
    "lat",
    "lon",
    "city",
    "country",
    "status",
    "url",
    // supply-graph-ai's current OKW
    "domain",
    "partners-funders",
    "customer-reviews",
];

/// Most facilities one file may hold.
pub const MAX_FACILITIES_PER_FILE: usize = 10_000;

/// Parses a facility file: one facility, or a list of them.
pub fn parse_facilities(bytes: &[u8], file: &str) -> Result<Vec<Facility>, ParseError> {
    parse_facilities_as(bytes, file, None)
}

/// Parses facilities in a known format (see
/// [`parse_document_as`](crate::document::parse_document_as)).
pub fn parse_facilities_as(
    bytes: &[u8],
    file: &str,
    format: Option<Format>,
) -> Result<Vec<Facility>, ParseError> {
    let doc = parse_document_as(bytes, file, format)?;
    match &doc.root {
        Value::Object(map) => Ok(vec![parse_one(
            &doc,
            map,
            Vec::new(),
            file.to_owned(),
            bytes,
        )?]),
        Value::Array(items) => {
            if items.len() > MAX_FACILITIES_PER_FILE {
                return Err(doc.field_error(
                    &[],
                    format!(
                        "{} facilities, at most {MAX_FACILITIES_PER_FILE}",
                        items.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let Value::Object(map) = item else {
                    return Err(doc.field_error(
                        &[&format!("[{i}]")],
                        format!("expected a facility, found {}", type_name(item)),
                    ));
                };
                out.push(parse_one(
                    &doc,
                    map,
                    vec![format!("[{i}]")],
                    format!("{file}#{i}"),
                    bytes,
                )?);
            }
            Ok(out)
        }
        other => Err(not_a_mapping(file, other)),
    }
}

fn parse_one(
    doc: &Document<'_>,
    map: &Map<String, Value>,
    prefix: Vec<String>,
    file: String,
    bytes: &[u8],
) -> Result<Facility, ParseError> {
    if marker_count(map, MANIFEST_MARKERS) > 0 && marker_count(map, FACILITY_MARKERS) == 0 {
        let keys: Vec<&str> = map
            .keys()
            .filter(|k| MANIFEST_MARKERS.contains(&crate::document::kebab(k).as_str()))
            .map(String::as_str)
            .take(3)
            .collect();
        return Err(ParseError::WrongKind {
            file,
            expected: "an OKW facility",
            found: "an OKH manifest (a design)",
            why: format!(
                "it has manifest keys ({}) and no facility key",
                keys.join(", ")
            ),
        });
    }
    let mut f = Fields::new(doc, map, prefix.clone());
    // `location` and `equipment` are read structurally and also kept verbatim.
    let mut kept: BTreeMap<String, Value> = BTreeMap::new();
    let dialect = if f.has("space") {
        FacilityDialect::MakingSpace
    } else if doc.format == Format::Json {
        FacilityDialect::SupplyGraphJson
    } else {
        FacilityDialect::OkwYaml
    };
    let name = f.first_text(&["name", "title"])?;
    let space = f.text("space")?;
    let id = f.text("id")?;
    let mut city = f.text("city")?;
    let mut country = f.text("country")?;
    if let Some((Value::Object(loc), _)) = f.get("location") {
        city = city.or_else(|| entry_text(loc, "city"));
        country = country.or_else(|| entry_text(loc, "country"));
        kept.insert("location".into(), Value::Object(loc.clone()));
    }
    let name = match name.or_else(|| space.clone()).or_else(|| id.clone()) {
        Some(n) => n,
        None => {
            // Helpful Engineering OKW files may have no title: name them by file.
            let base = file.rsplit(['/', '\\']).next().unwrap_or(&file);
            base.split('.').next().unwrap_or(base).to_owned()
        }
    };
    let mut processes = f.list("manufacturing-processes")?;
    let mut atoms = Vec::new();
    let mut atom_warnings = Vec::new();
    if let Some((v, written)) = f.get("processes") {
        // A list of names (maps.ofmaking.org) or of atoms (OKW YAML).
        let atom_like = matches!(v, Value::Array(a) if a.iter().any(Value::is_object));
        if atom_like {
            atoms.extend(parse_atoms(
                doc,
                &written,
                v,
                AtomRole::Process,
                &mut atom_warnings,
            )?);
        } else {
            processes.extend(f.texts(v, &written)?);
        }
    }
    atoms.extend(read_atom_lists(
        doc,
        &mut f,
        &[
            ("tool-list-atoms", AtomRole::Tool),
            ("inventory-atoms", AtomRole::Input),
            ("supply-atoms", AtomRole::Input),
            ("supplies-atom", AtomRole::Input),
            ("product-atoms", AtomRole::Product),
        ],
        &mut atom_warnings,
    )?);
    let mut equipment = Vec::new();
    if let Some((v, written)) = f.get("equipment") {
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(f.error(
                    &written,
                    format!("expected a list of equipment, found {}", type_name(other)),
                ));
            }
        };
        if items.len() > MAX_LIST_ITEMS {
            return Err(f.error(
                &written,
                format!("{} entries, at most {MAX_LIST_ITEMS}", items.len()),
            ));
        }
        for item in items {
            let e = match item {
                Value::Object(m) => {
                    let get = |k: &str| entry_text(m, k);
                    let mut materials = Vec::new();
                    if let Some(Value::Array(ms)) = m.get("materials_worked") {
                        for mw in ms {
                            match mw {
                                Value::Object(mm) => {
                                    materials.extend(entry_text(mm, "material_type"))
                                }
                                other => materials.extend(loose_text(other)),
                            }
                        }
                    }
                    Equipment {
                        kind: get("equipment_type")
                            .or_else(|| get("equipment-type"))
                            .or_else(|| get("name")),
                        process: get("manufacturing_process")
                            .or_else(|| get("manufacturing-process")),
                        materials,
                    }
                }
                other => Equipment {
                    kind: loose_text(other),
                    ..Equipment::default()
                },
            };
            equipment.push(e);
        }
        kept.insert("equipment".into(), v.clone());
    }
    let mut materials = f.list("typical-materials")?;
    if let Some((v, written)) = f.get("bom") {
        materials.extend(f.texts(v, &written)?);
    }
    let tools = f.list("tool-list")?;
    let domain = f.text("domain")?;
    let (mut extra, mut warnings) = f.finish(KNOWN_KEYS);
    extra.extend(kept);
    warnings.extend(atom_warnings);
    let mut all_warnings = if prefix.is_empty() {
        doc.warnings.clone()
    } else {
        Vec::new()
    };
    all_warnings.extend(warnings);
    let naming: Vec<String> = match (&space, &id) {
        (Some(s), _) => vec![s.trim().to_lowercase()],
        (None, Some(i)) => vec![i.trim().to_lowercase()],
        _ => vec![
            normalize_term(&name),
            city.as_deref().map(normalize_term).unwrap_or_default(),
            country.as_deref().map(normalize_term).unwrap_or_default(),
        ],
    };
    let mut fac = Facility {
        file,
        format: doc.format,
        dialect,
        name,
        city,
        country,
        processes,
        equipment,
        materials,
        tools,
        atoms,
        skills: BTreeMap::new(),
        domain,
        extra,
        warnings: all_warnings,
        item_id: derive_item_id(
            "facility",
            &naming.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        content_id: ContentId::default(),
        raw: bytes.to_vec(),
    };
    fac.content_id = ContentId::of(&fac.canonical_bytes());
    Ok(fac)
}

impl Facility {
    /// The canonical form as a JSON value (see the module docs).
    pub fn canonical_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), "okw".into());
        m.insert("name".into(), Value::String(self.name.clone()));
        put_opt(&mut m, "city", &self.city);
        put_opt(&mut m, "country", &self.country);
        put_list(&mut m, "processes", &self.processes);
        if !self.equipment.is_empty() {
            let eq = self
                .equipment
                .iter()
                .map(|e| {
                    let mut em = Map::new();
                    put_opt(&mut em, "kind", &e.kind);
                    put_opt(&mut em, "process", &e.process);
                    put_list(&mut em, "materials", &e.materials);
                    Value::Object(em)
                })
                .collect();
            m.insert("equipment".into(), Value::Array(eq));
        }
        put_list(&mut m, "materials", &self.materials);
        put_list(&mut m, "tools", &self.tools);
        if !self.atoms.is_empty() {
            m.insert(
                "atoms".into(),
                Value::Array(self.atoms.iter().map(Atom::canonical).collect()),
            );
        }
        put_opt(&mut m, "domain", &self.domain);
        if !self.skills.is_empty() {
            m.insert(
                "skills".into(),
                Value::Object(
                    self.skills
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().into()))
                        .collect(),
                ),
            );
        }
        put_extra(&mut m, &self.extra);
        Value::Object(m)
    }

    /// The canonical bytes hashed into the [`ContentId`].
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical_bytes("okmesh-okw-canonical-v1\n", &self.canonical_value())
    }

    /// What the facility can do, in matching terms (see [`Facility::read`]).
    pub fn capabilities(&self, tax: &Taxonomy) -> Capabilities {
        self.read(tax).0
    }

    /// What the facility can do, in matching terms, with a note for each
    /// atom whose identifier, description and link disagree (see the module
    /// docs).
    ///
    /// Every process, equipment type, equipment process, material, tool and
    /// atom is looked up in the taxonomy; what it does not know is kept as a
    /// free term (or a Wikidata id) so that the same words in a manifest
    /// still match. Domains: the declared `domain`, else those of the
    /// recognised concepts and of the name; manufacturing when nothing says
    /// otherwise. OKW facilities are taken to be run by skilled people
    /// (skill `advanced`); a profile says its own levels.
    pub fn read(&self, tax: &Taxonomy) -> (Capabilities, Vec<String>) {
        let mut notes = Vec::new();
        let mut caps = Capabilities::new(if self.dialect == FacilityDialect::Profile {
            SkillLevel::Intermediate
        } else {
            SkillLevel::Advanced
        });
        let texts = self
            .processes
            .iter()
            .chain(&self.materials)
            .chain(&self.tools)
            .chain(
                self.equipment
                    .iter()
                    .flat_map(|e| e.kind.iter().chain(&e.process).chain(&e.materials)),
            );
        for t in texts {
            caps.add(Term::from_text(tax, t));
        }
        for a in &self.atoms {
            if a.role == AtomRole::Product {
                continue;
            }
            let (terms, note) = atom_terms(tax, a);
            for t in terms {
                caps.add(t);
            }
            notes.extend(note);
        }
        for (process, level) in &self.skills {
            if let Some(c) = tax.lookup(process) {
                caps.skills.insert(c, *level);
            }
        }
        let mut domains = 0u8;
        for t in &caps.terms {
            if let Term::Concept(c) = t {
                domains |= tax.concept(*c).domain.bit();
            }
        }
        for found in tax.scan_text(&self.name) {
            if tax.concept(found.concept).domain == Domain::Cooking {
                domains |= Domain::Cooking.bit();
            }
        }
        caps.domains = match self
            .domain
            .as_deref()
            .map(str::trim)
            .map(str::to_ascii_lowercase)
        {
            Some(d) if d == "cooking" => Domain::Cooking.bit(),
            Some(d) if d == "manufacturing" => Domain::Manufacturing.bit(),
            _ if domains == 0 => Domain::Manufacturing.bit(),
            _ => domains,
        };
        caps.finish();
        (caps, notes)
    }
}

/// The concept an atom's description names, of a kind that fits its role.
fn described(tax: &Taxonomy, a: &Atom) -> Option<ConceptId> {
    let d = a.description.as_deref()?;
    let fits = |c: ConceptId| {
        let k = tax.concept(c).kind;
        match a.role {
            AtomRole::Process | AtomRole::Tool => k != ConceptKind::Material,
            _ => true,
        }
    };
    if let Some(c) = tax.lookup(d).filter(|&c| fits(c)) {
        return Some(c);
    }
    tax.scan_text(d)
        .into_iter()
        .filter(|f| f.how == TextMatch::Alias)
        .map(|f| f.concept)
        .find(|&c| fits(c))
}

/// What an atom offers, voting between its identifier, description and
/// link (see the module docs), and the note when they disagree.
fn atom_terms(tax: &Taxonomy, a: &Atom) -> (Vec<Term>, Option<String>) {
    let id_q = a.identifier.as_deref().and_then(wikidata_id);
    let link_q = a
        .link
        .as_deref()
        .filter(|l| l.contains("wikidata.org"))
        .and_then(wikidata_id);
    let by_id = id_q.as_deref().and_then(|q| tax.lookup_wikidata(q));
    let by_link = link_q.as_deref().and_then(|q| tax.lookup_wikidata(q));
    let by_desc = described(tax, a);
    let name = |c: ConceptId| tax.concept(c).name.clone();
    let role = a.role.as_str();
    let desc = a.description.as_deref().unwrap_or("").trim();
    let default = Term::from_atom(tax, a);
    let Some(id) = by_id else {
        // The identifier names nothing the taxonomy knows: keep it (the
        // same id in a manifest still matches) and add what the words say.
        let mut terms = vec![default];
        if let Some(c) = by_desc.or(by_link) {
            terms.push(Term::Concept(c));
        }
        return (terms, None);
    };
    let id_text = id_q.clone().unwrap_or_default();
    let agree_desc = by_desc == Some(id);
    let agree_link = by_link == Some(id);
    match (agree_desc, agree_link) {
        (true, true) | (true, false) | (false, true)
            if by_desc.is_none_or(|c| c == id) && by_link.is_none_or(|c| c == id) =>
        {
            (vec![Term::Concept(id)], None)
        }
        (true, _) | (_, true) => {
            // Two agree on the identifier's reading; the third differs.
            let odd = if agree_desc {
                format!(
                    "its link {} ({})",
                    link_q.unwrap_or_default(),
                    by_link.map(name).unwrap_or_default()
                )
            } else {
                format!(
                    "its description \"{desc}\" ({})",
                    by_desc.map(name).unwrap_or_default()
                )
            };
            (
                vec![Term::Concept(id)],
                Some(format!(
                    "{role} atom {id_text} ({}): {odd} disagrees; two of three agree on {}",
                    name(id),
                    name(id)
                )),
            )
        }
        _ => match (by_desc, by_link) {
            (Some(d), Some(l)) if d == l => (
                vec![Term::Concept(d)],
                Some(format!(
                    "{role} atom {id_text} is {} in the taxonomy, but its description \"{desc}\" and its link {} both say {}: read as {}",
                    name(id),
                    link_q.unwrap_or_default(),
                    name(d),
                    name(d)
                )),
            ),
            (None, None) => (vec![Term::Concept(id)], None),
            _ => (
                vec![Term::Concept(id)],
                Some(format!(
                    "{role} atom {id_text} ({}): its description \"{desc}\"{} and link{} disagree with it and with each other; kept the identifier's reading",
                    name(id),
                    by_desc
                        .map(|c| format!(" ({})", name(c)))
                        .unwrap_or_default(),
                    by_link
                        .map(|c| format!(" ({})", name(c)))
                        .unwrap_or_default()
                )),
            ),
        },
    }
}

/// A word of a profile the builder did not recognise.
#[derive(Clone, PartialEq, Debug)]
pub struct Unrecognised {
    /// The phrase as typed.
    pub phrase: String,
    /// Known names it may have meant.
    pub suggestions: Vec<String>,
}

/// The result of [`build_profile`].
#[derive(Clone, Debug)]
pub struct ProfileDraft {
    /// The temporary facility (dialect [`FacilityDialect::Profile`]).
    pub facility: Facility,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Phrases recognised, with the concept each became.
    pub recognised: Vec<(String, ConceptId)>,
    /// Phrases read as the one known name they are a misspelling of:
    /// `(phrase, name)`.
    pub corrected: Vec<(String, String)>,
    /// Phrases not recognised (kept as free terms), with suggestions.
    pub unrecognised: Vec<Unrecognised>,
}

/// Most phrases a profile may hold.
pub const MAX_PROFILE_PHRASES: usize = 512;

/// Builds a temporary profile from informal text: comma-, semicolon- or
/// line-separated phrases; a leading `basic`/`intermediate`/`advanced` (or
/// `beginner`, `expert`, …) sets the skill for what follows; articles (`a`,
/// `an`, `the`, `some`, `my`) are ignored. Each phrase is looked up whole,
/// then scanned for known names; an unknown phrase that is one or two edits
/// from exactly one known name is read as that name (and listed in
/// `corrected`); what is still unknown is kept as a free term and reported
/// with up to three suggestions.
pub fn build_profile(text: &str, tax: &Taxonomy) -> ProfileDraft {
    let mut recognised = Vec::new();
    let mut corrected = Vec::new();
    let mut unrecognised = Vec::new();
    let mut processes = Vec::new();
    let mut tools = Vec::new();
    let mut materials = Vec::new();
    let mut skills = BTreeMap::new();
    let mut free = Vec::new();
    for phrase in split_list(text).into_iter().take(MAX_PROFILE_PHRASES) {
        let mut words: Vec<&str> = phrase.split_whitespace().collect();
        let mut level = None;
        while let Some(first) = words.first() {
            let lw = first.to_lowercase();
            if let Some(l) = SkillLevel::parse(&lw) {
                level = Some(l);
                words.remove(0);
            } else if matches!(
                lw.as_str(),
                "a" | "an" | "the" | "my" | "skills" | "skill" | "in"
            ) {
                words.remove(0);
            } else {
                break;
            }
        }
        let core = words.join(" ");
        if core.is_empty() {
            continue;
        }
        let mut found: Vec<ConceptId> = match tax.lookup(&core) {
            Some(c) => vec![c],
            None => tax
                .scan_text(&core)
                .into_iter()
                .filter(|f| f.how == crate::taxonomy::TextMatch::Alias)
                .map(|f| f.concept)
                .collect(),
        };
        if found.is_empty()
            && let Some(name) = tax.correct(&core)
            && let Some(c) = tax.lookup(&name)
        {
            corrected.push((phrase.clone(), name));
            found.push(c);
        }
        if found.is_empty() {
            unrecognised.push(Unrecognised {
                phrase: phrase.clone(),
                suggestions: tax.suggest(&core, 3),
            });
            free.push(clean_text(&core));
            continue;
        }
        for c in found {
            let concept = tax.concept(c);
            recognised.push((phrase.clone(), c));
            match concept.kind {
                ConceptKind::Process => processes.push(concept.key.clone()),
                ConceptKind::Tool => tools.push(concept.key.clone()),
                ConceptKind::Material => materials.push(concept.key.clone()),
            }
            if let Some(l) = level {
                if concept.kind == ConceptKind::Process {
                    skills.insert(concept.key.clone(), l);
                } else {
                    for p in &concept.enables {
                        skills.insert(tax.concept(*p).key.clone(), l);
                    }
                }
            }
        }
    }
    tools.extend(free);
    let mut facility = Facility {
        file: "(profile)".into(),
        format: Format::Yaml,
        dialect: FacilityDialect::Profile,
        name: "temporary profile".into(),
        city: None,
        country: None,
        processes,
        equipment: Vec::new(),
        materials,
        tools,
        atoms: Vec::new(),
        skills,
        domain: None,
        extra: BTreeMap::new(),
        warnings: Vec::new(),
        item_id: derive_item_id("profile", &[&normalize_term(text)]),
        content_id: ContentId::default(),
        raw: text.as_bytes().to_vec(),
    };
    facility.content_id = ContentId::of(&facility.canonical_bytes());
    let capabilities = facility.capabilities(tax);
    ProfileDraft {
        facility,
        capabilities,
        recognised,
        corrected,
        unrecognised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(tax: &Taxonomy, caps: &Capabilities) -> Vec<String> {
        caps.terms
            .iter()
            .map(|t| match t {
                Term::Concept(c) => tax.concept(*c).key.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn profile_from_informal_text() {
        let tax = Taxonomy::builtin();
        let d = build_profile(
            "3d printer, PLA, soldering iron, laser cutter, basic electronics, a flux capacitr",
            tax,
        );
        let k = keys(tax, &d.capabilities);
        for want in [
            "3d_printer",
            "pla",
            "soldering_iron",
            "laser_cutter",
            "electronics_assembly",
        ] {
            assert!(k.contains(&want.to_owned()), "{want} missing from {k:?}");
        }
        assert_eq!(d.unrecognised.len(), 1, "{:?}", d.unrecognised);
        assert_eq!(d.unrecognised[0].phrase, "a flux capacitr");
        let ea = tax.by_key("electronics_assembly").unwrap();
        assert_eq!(d.capabilities.skills.get(&ea), Some(&SkillLevel::Basic));
        let s = build_profile("soldring iron", tax);
        assert!(s.unrecognised.is_empty(), "{:?}", s.unrecognised);
        assert_eq!(
            s.corrected,
            vec![("soldring iron".to_owned(), "soldering iron".to_owned())]
        );
    }

    #[test]
    fn makerspace_list_gives_one_facility_each() {
        let json =
            br#"[{"space":"https://m.org/a","name":"A","city":"X","processes":["3d_printing"]},
                       {"space":"https://m.org/b","name":"B","processes":[]}]"#;
        let f = parse_facilities(json, "spaces.json").unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].dialect, FacilityDialect::MakingSpace);
        assert_ne!(f[0].item_id, f[1].item_id);
        assert_eq!(f[0].processes, vec!["3d_printing"]);
        assert!(f[0].warnings.is_empty(), "{:?}", f[0].warnings);
    }

    #[test]
    fn bad_facility_field_is_located() {
        let e = parse_facilities(b"title: Shop\ntool-list-atoms: 7\n", "shop.yml").unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert_eq!(e.field(), Some("tool-list-atoms"));
    }
}
