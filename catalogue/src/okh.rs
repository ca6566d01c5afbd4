//! Open Know-How design manifests: every dialect in the wild, one model.
//!
//! [`parse_manifest`] reads bytes (plus a file name for messages) in any of:
//!
//! * **OKH v1 YAML** (`okh-manifest-version`, `title`, `project-link`, …),
//!   including Helpful Engineering's Wikidata "atoms" (`bom-atoms`,
//!   `tool-list-atoms`, `product-atom`, `bom-output-atoms`);
//! * **OKH-LOSH TOML** — `okhv` "OKH-LOSHv1.0", "2.0", "2.4" — in kebab-case
//!   (`documentation-language`) and camelCase (`documentationLanguage`);
//! * **supply-graph-ai JSON** (snake_case, `manufacturing_processes`,
//!   `parts`, `sub_parts`, `materials`, `domain`, and `bom` as a path or
//!   as a mapping with `components`, each with optional `sub_components`).
//!
//! A document that is plainly a facility (it has OKW keys such as
//! `equipment`, `location` or `supply-atoms` and no OKH key) is refused
//! with [`ParseError::WrongKind`].
//!
//! Keys are compared in kebab-case, so the three spellings of a key are one.
//! Fields the model understands go to typed fields; every other key is kept
//! verbatim in [`Manifest::extra`] (under its kebab-case name). A key that is
//! in no known dialect raises a [`Warning`], with a "did you mean" when it is
//! one or two edits from a known key (`descroption`). The original bytes are
//! kept in [`Manifest::raw`]. Nothing is dropped.
//!
//! ## Identity
//!
//! * [`ItemId`] — names the design across versions: the first 16 bytes of
//!   `BLAKE3-derive-key("okmesh item id v1", "manifest\0" + repo + "\0" +
//!   title)`, where `repo` is the repository or project URL (`repo`,
//!   `project-link`, else `documentation-home`) without scheme, `www.`,
//!   trailing `/` or `.git`, its host lower-cased and its path lower-cased
//!   only on hosts whose paths ignore case (GitHub, GitLab, Codeberg,
//!   Bitbucket): elsewhere, as on MediaWiki sites (Appropedia, the OHO
//!   wiki), `Quake_Safe` and `Quake_safe` are two pages, hence two designs;
//!   and `title` is the title normalised by
//!   [`crate::taxonomy::normalize_term`]. A new version keeps its repository
//!   and title, hence its id; a fork (new repository) or a renamed design is
//!   a new item. (The `id` UUID of supply-graph-ai JSON is per document, not
//!   per design, and is kept in `extra` only.)
//! * [`ContentId`] — BLAKE3 of the *canonical form*: the bytes
//!   `"okmesh-okh-canonical-v1\n"` followed by the compact JSON of
//!   [`Manifest::canonical_value`] — the normalised model, keys sorted, empty
//!   fields left out, strings trimmed, the file name, format, warnings and
//!   raw bytes left out. Two files that differ only in layout, comments,
//!   key spelling (kebab/camel/snake) or format have the same content id.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::{
    Document, Format, MAX_LIST_ITEMS, ParseError, Warning, join_path, kebab, parse_document_as,
    type_name,
};
pub use crate::fields::split_list;
use crate::fields::{
    Fields, canonical_bytes, derive_item_id, did_you_mean, entry_text, loose_text, not_a_mapping,
    put_extra, put_list, put_opt, scalar_text,
};
use crate::id::{ContentId, ItemId};
use crate::taxonomy::{normalize_term, wikidata_id};

/// Which published schema a manifest follows.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ManifestDialect {
    /// OKH v1 (YAML), possibly with Helpful Engineering atoms.
    OkhV1,
    /// OKH-LOSH (TOML), any `okhv`.
    OkhLosh,
    /// supply-graph-ai's JSON manifests.
    SupplyGraphJson,
}

impl ManifestDialect {
    /// Label.
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestDialect::OkhV1 => "okh-v1",
            ManifestDialect::OkhLosh => "okh-losh",
            ManifestDialect::SupplyGraphJson => "supply-graph-ai",
        }
    }
}

/// Role of a Wikidata atom in a manifest or facility.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum AtomRole {
    /// An input (bill of materials, inventory, supply).
    Input,
    /// A tool.
    Tool,
    /// The product.
    Product,
    /// A by-product (`bom-output-atoms`).
    Output,
    /// A process (OKW `processes`).
    Process,
}

impl AtomRole {
    /// Label.
    pub fn as_str(self) -> &'static str {
        match self {
            AtomRole::Input => "input",
            AtomRole::Tool => "tool",
            AtomRole::Product => "product",
            AtomRole::Output => "output",
            AtomRole::Process => "process",
        }
    }
}

/// A Wikidata (or custom `QH…`) atom.
#[derive(Clone, PartialEq, Debug)]
pub struct Atom {
    /// Role.
    pub role: AtomRole,
    /// `identifier` as written.
    pub identifier: Option<String>,
    /// The valid Wikidata id (`Q…`) from `identifier`, else from `link`.
    pub wikidata: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `link`.
    pub link: Option<String>,
}

impl Atom {
    /// The atom in the canonical form of a manifest or facility.
    pub(crate) fn canonical(&self) -> Value {
        let mut m = Map::new();
        m.insert("role".into(), self.role.as_str().into());
        put_opt(&mut m, "identifier", &self.identifier);
        put_opt(&mut m, "wikidata", &self.wikidata);
        put_opt(&mut m, "description", &self.description);
        put_opt(&mut m, "link", &self.link);
        Value::Object(m)
    }
}

/// A part or sub-part of a design.
#[derive(Clone, PartialEq, Debug)]
pub struct Part {
    /// Name.
    pub name: String,
    /// TsDC codes or process names for this part.
    pub processes: Vec<String>,
    /// Material.
    pub material: Option<String>,
    /// Other keys, verbatim (kebab-case names).
    pub extra: BTreeMap<String, Value>,
}

/// A normalised design manifest. See the module docs for the rules.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// File name given to the parser.
    pub file: String,
    /// Syntax of the file.
    pub format: Format,
    /// Schema followed.
    pub dialect: ManifestDialect,
    /// `okhv` / `okh-manifest-version`.
    pub okhv: Option<String>,
    /// `title` / `name`.
    pub title: String,
    /// `version`.
    pub version: Option<String>,
    /// `repo` / `project-link`.
    pub repo: Option<String>,
    /// `documentation-home`.
    pub documentation_home: Option<String>,
    /// Licences by kind (`hardware`, `documentation`, `software`); a plain
    /// string licence (OKH-LOSH) is the `hardware` licence.
    pub licenses: BTreeMap<String, String>,
    /// `licensor` (its name when it is a mapping).
    pub licensor: Option<String>,
    /// `function` (OKH-LOSH, supply-graph-ai).
    pub function: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `intended-use`.
    pub intended_use: Option<String>,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// Top-level TsDC codes.
    pub tsdc: Vec<String>,
    /// Declared manufacturing processes (supply-graph-ai
    /// `manufacturing_processes` and `process_requirements`).
    pub processes: Vec<String>,
    /// Declared materials.
    pub materials: Vec<String>,
    /// Tool list.
    pub tools: Vec<String>,
    /// Bill of materials as text (OKH v1) or a path (OKH-LOSH).
    pub bom: Option<String>,
    /// Names of the components of a `bom` mapping (supply-graph-ai), with
    /// their sub-components; the mapping itself is kept in `extra`.
    pub bom_components: Vec<String>,
    /// `domain` as declared (`manufacturing`, `cooking`).
    pub domain: Option<String>,
    /// Parts (`part`, `parts`, `sub_parts`).
    pub parts: Vec<Part>,
    /// Wikidata atoms.
    pub atoms: Vec<Atom>,
    /// Every other key, verbatim, by kebab-case name.
    pub extra: BTreeMap<String, Value>,
    /// What was odd in the input.
    pub warnings: Vec<Warning>,
    /// Stable id of the design.
    pub item_id: ItemId,
    /// Id of this version's content.
    pub content_id: ContentId,
    /// The original bytes.
    pub raw: Vec<u8>,
}

const KNOWN_KEYS: &[&str] = &[
    // OKH v1
    "title",
    "description",
    "intended-use",
    "keywords",
    "project-link",
    "health-safety-notice",
    "contact",
    "contributors",
    "image",
    "version",
    "development-stage",
    "made",
    "made-independently",
    "standards-used",
    "derivative-of",
    "variant-of",
    "sub",
    "license",
    "licensor",
    "documentation-home",
    "archive-download",
    "design-files",
    "schematics",
    "bom",
    "making-instructions",
    "manufacturing-files",
    "operating-instructions",
    "tool-list",
    "quality-instructions",
    "maintenance-instructions",
    "disposal-instructions",
    "risk-assessment",
    "software",
    "date-created",
    "date-updated",
    "manifest-author",
    "manifest-language",
    "documentation-language",
    "manifest-is-translation",
    "documentation-is-translation",
    "okh-manifest-version",
    "user-manual",
    // Helpful Engineering additions
    "bom-atoms",
    "tool-list-atoms",
    "product-atom",
    "bom-output-atoms",
    "intended-output",
    // OKH-LOSH
    "okhv",
    "name",
    "repo",
    "release",
    "organization",
    "organisation",
    "readme",
    "technology-readiness-level",
    "documentation-readiness-level",
    "function",
    "cpc-patent-class",
    "patent-class",
    "tsdc",
    "tsdc-id",
    "manufacturing-instructions",
    "contribution-guide",
    "outer-dimensions",
    "part",
    "source",
    "export",
    "auxiliary",
    "attestation",
    "standard",
    "fork-of",
    "timestamp",
    "material",
    "mass",
    "publication",
    "smallest-tolerance-class",
    "alternative-license",
    "functional-metadata",
    "production-metadata",
    // supply-graph-ai
    "id",
    "manufacturing-processes",
    "materials",
    "manufacturing-specs",
    "parts",
    "sub-parts",
    "metadata",
    "technical-specifications",
    "publications",
    "documentation",
    "version-date",
    "domain",
    "data-source",
    "ingredients",
];

const PART_KEYS: &[&str] = &[
    "name",
    "id",
    "image",
    "tsdc",
    "material",
    "source",
    "export",
    "auxiliary",
    "outer-dimensions",
    "outer-dimension",
    "outer-dimension-dim",
    "mass",
    "printing-process",
    "infill",
    "raft-brim",
    "supports",
    "resolution-mm",
    "shell-thickness",
    "top-bottom-thickness",
    "smallest-tolerance-class",
    "smallest-inner-radius-mm",
    "manufacturing-params",
    "component-id",
    "quantity",
    "unit",
    "depends-on",
];

const ATOM_KEYS: &[&str] = &["identifier", "description", "link"];

/// Hosts whose paths ignore letter case (`github.com/Owner/Repo` is
/// `github.com/owner/repo`).
const CASE_INSENSITIVE_HOSTS: &[&str] = &[
    "github.com",
    "gitlab.com",
    "codeberg.org",
    "bitbucket.org",
    "raw.githubusercontent.com",
];

/// Normalises a repository URL for [`ItemId`] derivation (see the module
/// docs: the path keeps its case except on hosts that ignore it).
pub fn normalize_repo(url: &str) -> String {
    let mut u = url.trim().to_owned();
    for scheme in ["https://", "http://"] {
        if u.len() >= scheme.len() && u[..scheme.len()].eq_ignore_ascii_case(scheme) {
            u = u[scheme.len()..].to_owned();
        }
    }
    if u.len() >= 4 && u[..4].eq_ignore_ascii_case("www.") {
        u = u[4..].to_owned();
    }
    while u.ends_with('/') {
        u.pop();
    }
    if u.len() >= 4 && u[u.len() - 4..].eq_ignore_ascii_case(".git") {
        u.truncate(u.len() - 4);
    }
    let (host, path) = match u.find(['/', '?', '#']) {
        Some(i) => u.split_at(i),
        None => (u.as_str(), ""),
    };
    let host = host.to_lowercase();
    let path = if CASE_INSENSITIVE_HOSTS.contains(&host.as_str()) {
        path.to_lowercase()
    } else {
        path.to_owned()
    };
    format!("{host}{path}")
}

/// Keys only an OKH manifest has.
pub(crate) const MANIFEST_MARKERS: &[&str] = &[
    "okhv",
    "okh-manifest-version",
    "bom-atoms",
    "product-atom",
    "bom-output-atoms",
    "function",
    "tsdc",
    "repo",
    "project-link",
    "part",
    "parts",
    "sub-parts",
    "manufacturing-specs",
    "intended-use",
    "made",
    "made-independently",
    "design-files",
    "making-instructions",
    "manufacturing-instructions",
    "documentation-language",
];

/// Keys only an OKW facility (or makerspace) has.
pub(crate) const FACILITY_MARKERS: &[&str] = &[
    "equipment",
    "inventory-atoms",
    "supply-atoms",
    "supplies-atom",
    "product-atoms",
    "location",
    "facility-status",
    "typical-materials",
    "access-type",
    "opening-hours",
    "typical-batch-size",
    "space",
    "lat",
    "lon",
];

/// How many keys of a mapping are in `markers` (keys compared in kebab-case).
pub(crate) fn marker_count(map: &Map<String, Value>, markers: &[&str]) -> usize {
    map.keys()
        .filter(|k| markers.contains(&kebab(k).as_str()))
        .count()
}

/// Parses atoms from a list (or a single mapping) of `{identifier,
/// description, link}`.
pub(crate) fn parse_atoms(
    doc: &Document<'_>,
    key_written: &str,
    v: &Value,
    role: AtomRole,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Atom>, ParseError> {
    let items: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        other => {
            return Err(doc.field_error(
                &[key_written],
                format!("expected a list of atoms, found {}", type_name(other)),
            ));
        }
    };
    if items.len() > MAX_LIST_ITEMS {
        return Err(doc.field_error(
            &[key_written],
            format!("{} atoms, at most {MAX_LIST_ITEMS}", items.len()),
        ));
    }
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let idx = format!("[{i}]");
        let Value::Object(m) = item else {
            if let Some(t) = loose_text(item) {
                out.push(Atom {
                    role,
                    identifier: None,
                    wikidata: wikidata_id(&t),
                    description: Some(t),
                    link: None,
                });
                continue;
            }
            return Err(doc.field_error(
                &[key_written, &idx],
                format!("expected an atom, found {}", type_name(item)),
            ));
        };
        let mut identifier = None;
        let mut description = None;
        let mut link = None;
        for (k, val) in m {
            let kk = kebab(k);
            let text = scalar_text(val).map_err(|found| {
                doc.field_error(
                    &[key_written, &idx, k],
                    format!("expected text, found {found}"),
                )
            })?;
            match kk.as_str() {
                "identifier" => identifier = text,
                "description" | "name" => description = description.or(text),
                "link" => link = text,
                _ => {
                    let msg = match did_you_mean(&kk, ATOM_KEYS) {
                        Some(s) => format!(
                            "unknown atom key (did you mean `{s}`?); value {:?} kept in the raw file",
                            text.unwrap_or_default()
                        ),
                        None => "unknown atom key; kept in the raw file".to_owned(),
                    };
                    warnings.push(Warning {
                        line: doc.line_of(&[key_written, k]),
                        field: join_path(&[key_written, &idx, k]),
                        message: msg,
                    });
                }
            }
        }
        if identifier.is_none() && description.is_none() && link.is_none() {
            continue;
        }
        let wikidata = identifier.as_deref().and_then(wikidata_id).or_else(|| {
            link.as_deref()
                .filter(|l| l.contains("wikidata.org"))
                .and_then(wikidata_id)
        });
        out.push(Atom {
            role,
            identifier,
            wikidata,
            description,
            link,
        });
    }
    Ok(out)
}

/// Reads the atom lists under `keys`, each with the role its atoms play.
pub(crate) fn read_atom_lists(
    doc: &Document<'_>,
    f: &mut Fields<'_, '_>,
    keys: &[(&str, AtomRole)],
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Atom>, ParseError> {
    let mut atoms = Vec::new();
    for &(key, role) in keys {
        if let Some((v, written)) = f.get(key) {
            atoms.extend(parse_atoms(doc, &written, v, role, warnings)?);
        }
    }
    Ok(atoms)
}

/// Most components read from one `bom` mapping (all levels).
pub const MAX_BOM_COMPONENTS: usize = 4096;
/// Deepest `sub_components` nesting read.
pub const MAX_BOM_DEPTH: usize = 8;

/// The names of a supply-graph-ai `bom` mapping's components, depth first;
/// a component that is not a mapping or has no name is a warning.
fn bom_component_names(
    doc: &Document<'_>,
    written: &str,
    bom: &Map<String, Value>,
    warnings: &mut Vec<Warning>,
) -> Vec<String> {
    fn walk(
        line: Option<u32>,
        path: &str,
        items: &[Value],
        depth: usize,
        out: &mut Vec<String>,
        warnings: &mut Vec<Warning>,
    ) {
        let warn = |warnings: &mut Vec<Warning>, field: String, message: String| {
            warnings.push(Warning {
                line,
                field,
                message,
            })
        };
        for (i, item) in items.iter().enumerate() {
            let here = format!("{path}[{i}]");
            if out.len() >= MAX_BOM_COMPONENTS {
                warn(
                    warnings,
                    here,
                    format!(
                        "more than {MAX_BOM_COMPONENTS} components; the rest are kept but not read"
                    ),
                );
                return;
            }
            let Value::Object(c) = item else {
                warn(
                    warnings,
                    here,
                    format!(
                        "expected a component, found {}; kept as is",
                        type_name(item)
                    ),
                );
                continue;
            };
            match ["name", "title", "description"]
                .iter()
                .find_map(|k| entry_text(c, k))
            {
                Some(n) => out.push(n),
                None => warn(
                    warnings,
                    here.clone(),
                    "a component without a name; kept as is".into(),
                ),
            }
            let subs = c
                .iter()
                .find(|(k, _)| kebab(k) == "sub-components")
                .map(|(_, v)| v);
            match subs {
                Some(Value::Array(a)) if depth < MAX_BOM_DEPTH => {
                    let sub = format!("{here}.sub_components");
                    walk(line, &sub, a, depth + 1, out, warnings);
                }
                Some(Value::Array(_)) => warn(
                    warnings,
                    here,
                    format!("sub-components nested deeper than {MAX_BOM_DEPTH}; kept but not read"),
                ),
                Some(Value::Null) | None => {}
                Some(other) => warn(
                    warnings,
                    format!("{here}.sub_components"),
                    format!("expected a list, found {}; kept as is", type_name(other)),
                ),
            }
        }
    }
    let mut out = Vec::new();
    let line = doc.line_of(&[written]);
    match bom
        .iter()
        .find(|(k, _)| kebab(k) == "components")
        .map(|(_, v)| v)
    {
        Some(Value::Array(a)) => walk(
            line,
            &format!("{written}.components"),
            a,
            0,
            &mut out,
            warnings,
        ),
        Some(Value::Null) | None => {}
        Some(other) => warnings.push(Warning {
            line,
            field: format!("{written}.components"),
            message: format!(
                "expected a list of components, found {}; kept as is",
                type_name(other)
            ),
        }),
    }
    out
}

/// Parses one manifest. See the module docs.
pub fn parse_manifest(bytes: &[u8], file: &str) -> Result<Manifest, ParseError> {
    parse_manifest_as(bytes, file, None)
}

/// Parses one manifest in a known format (see
/// [`parse_document_as`](crate::document::parse_document_as)).
pub fn parse_manifest_as(
    bytes: &[u8],
    file: &str,
    format: Option<Format>,
) -> Result<Manifest, ParseError> {
    let doc = parse_document_as(bytes, file, format)?;
    let Value::Object(map) = &doc.root else {
        return Err(not_a_mapping(file, &doc.root));
    };
    if marker_count(map, FACILITY_MARKERS) > 0 && marker_count(map, MANIFEST_MARKERS) == 0 {
        let keys: Vec<&str> = map
            .keys()
            .filter(|k| FACILITY_MARKERS.contains(&kebab(k).as_str()))
            .map(String::as_str)
            .take(3)
            .collect();
        return Err(ParseError::WrongKind {
            file: file.to_owned(),
            expected: "an OKH manifest (a design)",
            found: "an OKW facility",
            why: format!(
                "it has facility keys ({}) and no manifest key",
                keys.join(", ")
            ),
        });
    }
    let mut f = Fields::new(&doc, map, Vec::new());
    let dialect = match doc.format {
        Format::Json => ManifestDialect::SupplyGraphJson,
        Format::Toml => ManifestDialect::OkhLosh,
        Format::Yaml => {
            if f.has("okhv") && !f.has("title") {
                ManifestDialect::OkhLosh
            } else {
                ManifestDialect::OkhV1
            }
        }
    };
    let okhv = f.first_text(&["okhv", "okh-manifest-version"])?;
    let Some(title) = f.first_text(&["title", "name"])? else {
        return Err(ParseError::Missing {
            file: file.to_owned(),
            line: doc.text.lines().count().max(1) as u32,
            field: "title".into(),
            message: "a design needs a `title` (OKH v1) or `name` (OKH-LOSH)".into(),
        });
    };
    let version = f.text("version")?;
    let repo = f.first_text(&["repo", "project-link"])?;
    let documentation_home = f.text("documentation-home")?;
    let mut licenses = BTreeMap::new();
    if let Some((v, written)) = f.get("license") {
        match v {
            Value::Object(m) => {
                for (k, val) in m {
                    match scalar_text(val) {
                        Ok(Some(t)) => {
                            licenses.insert(kebab(k), t);
                        }
                        Ok(None) => {}
                        Err(found) => {
                            return Err(f.error(
                                &written,
                                format!("licence `{k}`: expected text, found {found}"),
                            ));
                        }
                    }
                }
            }
            Value::Array(_) => {
                // Several licences: the first is the hardware licence.
                let all = f.texts(v, &written)?;
                for (i, t) in all.into_iter().enumerate() {
                    let key = if i == 0 {
                        "hardware".to_owned()
                    } else {
                        format!("alternative-{i}")
                    };
                    licenses.insert(key, t);
                }
            }
            other => match scalar_text(other) {
                Ok(Some(t)) => {
                    licenses.insert("hardware".into(), t);
                }
                Ok(None) => {}
                Err(found) => {
                    return Err(f.error(
                        &written,
                        format!("expected text or a mapping, found {found}"),
                    ));
                }
            },
        }
    }
    let licensor = match f.get("licensor") {
        None => None,
        Some((Value::Object(m), _)) => entry_text(m, "name"),
        Some((v @ Value::Array(_), written)) => {
            let names = f.texts(v, &written)?;
            (!names.is_empty()).then(|| names.join(", "))
        }
        Some((v, written)) => scalar_text(v).map_err(|found| {
            f.error(
                &written,
                format!("expected text or a mapping, found {found}"),
            )
        })?,
    };
    let function = f.text("function")?;
    let description = f.text("description")?;
    let intended_use = f.text("intended-use")?;
    let keywords = f.list("keywords")?;
    let mut tsdc = f.list("tsdc")?;
    tsdc.extend(f.list("tsdc-id")?);
    let mut processes = f.list("manufacturing-processes")?;
    let mut materials = Vec::new();
    if let Some((v, written)) = f.get("materials") {
        materials.extend(f.texts(v, &written)?);
    }
    materials.extend(f.list("material")?);
    let mut tools = f.list("tool-list")?;
    materials.extend(f.list("ingredients")?);
    let domain = f.text("domain")?;
    let mut bom_warnings = Vec::new();
    let mut bom_components = Vec::new();
    let mut bom_kept = None;
    // `bom`: text (OKH v1), a path (OKH-LOSH), a list, or a mapping with
    // components (supply-graph-ai). A shape we cannot read is kept as is.
    let bom = match f.get("bom") {
        None => None,
        Some((v, written)) => match v {
            Value::Object(bm) => {
                bom_components = bom_component_names(&doc, &written, bm, &mut bom_warnings);
                bom_kept = Some(v.clone());
                None
            }
            Value::Array(_) => match f.texts(v, &written) {
                Ok(t) => Some(t.join(", ")),
                Err(e) => {
                    bom_warnings.push(doc.warning(
                        &[&written],
                        format!("{e}; kept as is, not read for matching"),
                    ));
                    bom_kept = Some(v.clone());
                    None
                }
            },
            other => scalar_text(other).unwrap_or_default(),
        },
    };
    // supply-graph-ai: manufacturing_specs.process_requirements[].process_name
    let mut specs_extra = None;
    if let Some((Value::Object(specs), written)) = f.get("manufacturing-specs") {
        for (k, v) in specs {
            if kebab(k) == "process-requirements"
                && let Value::Array(reqs) = v
            {
                for r in reqs {
                    let name = r.get("process_name").or_else(|| r.get("process-name"));
                    if let Some(Ok(Some(p))) = name.map(scalar_text)
                        && !processes.contains(&p)
                    {
                        processes.push(p);
                    }
                }
            }
        }
        specs_extra = Some((written, Value::Object(specs.clone())));
    }
    let mut parts = Vec::new();
    let mut part_warnings = Vec::new();
    for key in ["part", "parts", "sub-parts"] {
        let Some((v, written)) = f.get(key) else {
            continue;
        };
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(_) => vec![v],
            Value::Null => Vec::new(),
            other => {
                return Err(f.error(
                    &written,
                    format!("expected a list of parts, found {}", type_name(other)),
                ));
            }
        };
        if items.len() + parts.len() > MAX_LIST_ITEMS {
            return Err(f.error(&written, format!("more than {MAX_LIST_ITEMS} parts")));
        }
        for (i, item) in items.into_iter().enumerate() {
            let idx = format!("[{i}]");
            let Value::Object(pm) = item else {
                return Err(doc.field_error(
                    &[&written, &idx],
                    format!("expected a part, found {}", type_name(item)),
                ));
            };
            let mut pf = Fields::new(&doc, pm, vec![written.clone(), idx.clone()]);
            let name = pf
                .text("name")?
                .unwrap_or_else(|| format!("{written}{idx}"));
            let mut procs = pf.list("tsdc")?;
            procs.extend(pf.list("printing-process")?);
            let material = pf.text("material")?;
            let (extra, w) = pf.finish(PART_KEYS);
            part_warnings.extend(w);
            parts.push(Part {
                name,
                processes: procs,
                material,
                extra,
            });
        }
    }
    let mut atom_warnings = Vec::new();
    let atoms = read_atom_lists(
        &doc,
        &mut f,
        &[
            ("bom-atoms", AtomRole::Input),
            ("tool-list-atoms", AtomRole::Tool),
            ("product-atom", AtomRole::Product),
            ("bom-output-atoms", AtomRole::Output),
        ],
        &mut atom_warnings,
    )?;
    let mut warnings = doc.warnings.clone();
    let (mut extra, w) = f.finish(KNOWN_KEYS);
    warnings.extend(w);
    warnings.extend(part_warnings);
    warnings.extend(atom_warnings);
    warnings.extend(bom_warnings);
    if let Some(v) = bom_kept {
        extra.insert("bom".into(), v);
    }
    if let Some((_, v)) = specs_extra {
        extra.insert("manufacturing-specs".into(), v);
    }
    if dialect == ManifestDialect::SupplyGraphJson && !processes.is_empty() && !tsdc.is_empty() {
        let declared: Vec<String> = processes.iter().map(|p| normalize_term(p)).collect();
        let stray: Vec<&String> = tsdc
            .iter()
            .filter(|t| !declared.contains(&normalize_term(t)))
            .collect();
        if !stray.is_empty() {
            warnings.push(doc.warning(
                &["tsdc"],
                format!("top-level tsdc {stray:?} is not among manufacturing_processes; matching uses manufacturing_processes"),
            ));
        }
    }
    tools.retain(|t| !t.is_empty());
    let mut m = Manifest {
        file: file.to_owned(),
        format: doc.format,
        dialect,
        okhv,
        title,
        version,
        repo,
        documentation_home,
        licenses,
        licensor,
        function,
        description,
        intended_use,
        keywords,
        tsdc,
        processes,
        materials,
        tools,
        bom,
        bom_components,
        domain,
        parts,
        atoms,
        extra,
        warnings,
        item_id: ItemId::default(),
        content_id: ContentId::default(),
        raw: bytes.to_vec(),
    };
    m.item_id = m.derive_item_id();
    m.content_id = m.derive_content_id();
    Ok(m)
}

impl Manifest {
    /// The text a design is named by, for listings.
    pub fn display_title(&self) -> &str {
        &self.title
    }

    /// See the module docs: repository (or documentation home) + title.
    pub fn derive_item_id(&self) -> ItemId {
        let repo = self
            .repo
            .as_deref()
            .or(self.documentation_home.as_deref())
            .map(normalize_repo)
            .unwrap_or_default();
        derive_item_id("manifest", &[&repo, &normalize_term(&self.title)])
    }

    /// The canonical form as a JSON value (see the module docs).
    pub fn canonical_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), "okh".into());
        put_opt(&mut m, "okhv", &self.okhv);
        m.insert("title".into(), Value::String(self.title.clone()));
        put_opt(&mut m, "version", &self.version);
        put_opt(&mut m, "repo", &self.repo);
        put_opt(&mut m, "documentation-home", &self.documentation_home);
        if !self.licenses.is_empty() {
            m.insert(
                "licenses".into(),
                Value::Object(
                    self.licenses
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            );
        }
        put_opt(&mut m, "licensor", &self.licensor);
        put_opt(&mut m, "function", &self.function);
        put_opt(&mut m, "description", &self.description);
        put_opt(&mut m, "intended-use", &self.intended_use);
        put_list(&mut m, "keywords", &self.keywords);
        put_list(&mut m, "tsdc", &self.tsdc);
        put_list(&mut m, "processes", &self.processes);
        put_list(&mut m, "materials", &self.materials);
        put_list(&mut m, "tools", &self.tools);
        put_opt(&mut m, "bom", &self.bom);
        put_opt(&mut m, "domain", &self.domain);
        if !self.parts.is_empty() {
            let parts = self
                .parts
                .iter()
                .map(|p| {
                    let mut pm = Map::new();
                    pm.insert("name".into(), Value::String(p.name.clone()));
                    put_list(&mut pm, "processes", &p.processes);
                    put_opt(&mut pm, "material", &p.material);
                    put_extra(&mut pm, &p.extra);
                    Value::Object(pm)
                })
                .collect();
            m.insert("parts".into(), Value::Array(parts));
        }
        if !self.atoms.is_empty() {
            m.insert(
                "atoms".into(),
                Value::Array(self.atoms.iter().map(Atom::canonical).collect()),
            );
        }
        put_extra(&mut m, &self.extra);
        Value::Object(m)
    }

    /// The canonical bytes hashed into the [`ContentId`].
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical_bytes("okmesh-okh-canonical-v1\n", &self.canonical_value())
    }

    /// BLAKE3 of [`Manifest::canonical_bytes`].
    pub fn derive_content_id(&self) -> ContentId {
        ContentId::of(&self.canonical_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losh_kebab_and_camel_are_one_model() {
        let kebab = b"okhv = \"OKH-LOSHv1.0\"\nname = \"Thing\"\nrepo = \"https://github.com/a/b\"\nversion = \"1\"\nlicense = \"CC0-1.0\"\nlicensor = \"Me\"\nfunction = \"Does\"\ndocumentation-language = \"en\"\ntsdc = \"3DP\"\n";
        let camel = b"okhv = \"OKH-LOSHv1.0\"\nname = \"Thing\"\nrepo = \"https://github.com/a/b\"\nversion = \"1\"\nlicense = \"CC0-1.0\"\nlicensor = \"Me\"\nfunction = \"Does\"\ndocumentationLanguage = \"en\"\ntsdc = [\"3DP\"]\n";
        let a = parse_manifest(kebab, "a.toml").unwrap();
        let b = parse_manifest(camel, "b.toml").unwrap();
        assert_eq!(a.item_id, b.item_id);
        assert_eq!(
            a.content_id,
            b.content_id,
            "{}",
            String::from_utf8_lossy(&a.canonical_bytes())
        );
        assert_eq!(a.tsdc, vec!["3DP"]);
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        assert_eq!(a.raw, kebab.to_vec());
    }

    #[test]
    fn new_version_same_item_new_content() {
        let v1 = parse_manifest(
            b"title: Mask\nproject-link: https://x.org/m\nversion: 1\n",
            "m.yml",
        )
        .unwrap();
        let v2 = parse_manifest(
            b"title: Mask\nproject-link: https://x.org/m\nversion: 2\n",
            "m.yml",
        )
        .unwrap();
        assert_eq!(v1.item_id, v2.item_id);
        assert_ne!(v1.content_id, v2.content_id);
        let other = parse_manifest(
            b"title: Mask\nproject-link: https://y.org/m\nversion: 1\n",
            "m.yml",
        )
        .unwrap();
        assert_ne!(v1.item_id, other.item_id);
    }

    #[test]
    fn unknown_keys_and_typos_warn_and_are_kept() {
        let m = parse_manifest(
            b"title: T\ndescroption: oops\nrpm: 666\ntool-list-atoms:\n  - identifier: Q25294\n    descroption: hammer\n",
            "t.yml",
        )
        .unwrap();
        assert_eq!(
            m.extra.get("descroption").and_then(|v| v.as_str()),
            Some("oops")
        );
        assert_eq!(m.extra.get("rpm").and_then(|v| v.as_i64()), Some(666));
        let typo = m
            .warnings
            .iter()
            .find(|w| w.field == "descroption")
            .unwrap();
        assert!(
            typo.message.contains("did you mean `description`"),
            "{typo}"
        );
        assert_eq!(typo.line, Some(2));
        assert!(m.warnings.iter().any(|w| w.field == "rpm"));
        assert!(
            m.warnings
                .iter()
                .any(|w| w.field.starts_with("tool-list-atoms[0]")),
            "{:?}",
            m.warnings
        );
        assert_eq!(m.atoms[0].wikidata.as_deref(), Some("Q25294"));
    }

    #[test]
    fn bad_field_names_file_line_and_field() {
        let e = parse_manifest(
            b"okhv = \"2.0\"\nlicense = \"MIT\"\nname = [1, 2]\n",
            "bad.toml",
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(3));
        assert_eq!(e.field(), Some("name"));
        assert!(e.to_string().starts_with("bad.toml:3: field `name`"), "{e}");
        let e = parse_manifest(b"version: 1\n", "none.yml").unwrap_err();
        assert!(matches!(e, ParseError::Missing { .. }), "{e}");
        let e = parse_manifest(b"[1, 2]", "arr.json").unwrap_err();
        assert!(matches!(e, ParseError::NotAMapping { .. }), "{e}");
    }
}
