//! What a design needs, read from its prose: title, keywords, function,
//! description, intended use. Most real manifests declare no process,
//! material or tool (the LOSH list's files imported from OKH v1 carry only
//! a name and a page of text), so this is where their requirements come
//! from — and where they go wrong, if every word is believed.
//!
//! Rules (each concept's [`ProseRule`] says which apply to it):
//!
//! * **Where.** The text is cut into sections at wiki headings
//!   (`== Tools needed ==`): a *materials* section (bill of materials,
//!   materials, what you will need, costs, ingredients), a *tools* section
//!   (tools, equipment, skills) and ordinary *body* text. Reference
//!   sections (references, see also, external links) are dropped.
//! * **Not boilerplate.** URLs and link text are removed, and so is every
//!   sentence that is about the files rather than the thing ("All files can
//!   be found at YouMagine", licences, downloads, "click here").
//! * **Not negated.** A name right after "no", "without", "not" or
//!   "instead of" is not a need ("no tools needed").
//! * **Named or cued.** A process is taken where it is named
//!   ([`ProseRule::Named`]). A tool or material ([`ProseRule::Cue`]) is
//!   taken in a materials or tools section, in the keywords, or after a cue
//!   ("made of", "made from", "using a", "piece of", "sheets of") or before
//!   one ("… filament", "… panels") — never from the title alone, which
//!   names the product (a design called "Shovel" is a shovel, not made with
//!   one). Activities a text mentions for what the design is *for*
//!   ([`ProseRule::Title`]: gardening) count only in the title, keywords or
//!   a materials/tools section.
//! * **Hints agree.** A hint (a word that merely suggests a concept, such as
//!   "sensor" for electronics) counts in the title, keywords or a section;
//!   in body text only when a second, different hint for the same concept
//!   agrees ("wood" and "plywood").
//!
//! Every requirement found keeps the words around the phrase as its
//! `evidence`, so that a result can show why it was inferred. Confidence:
//! 0.8 in a materials or tools section, 0.7 named in the title or keywords,
//! 0.6 named or cued in body text, 0.5 a hint in the title, keywords or a
//! section, 0.4 agreeing hints in body text; what a found concept
//! `implies` (an Arduino implies electronics assembly) is added at 0.9 of
//! the confidence that implied it.

use crate::requirements::{Origin, Requirement, Term};
use crate::taxonomy::{ConceptId, ConceptKind, ProseRule, Taxonomy, TextMatch, normalize_term};

/// Confidence of a name found in a materials or tools section.
pub const CONFIDENCE_SECTION: f32 = 0.8;
/// Confidence of a name found in the title or keywords.
pub const CONFIDENCE_TITLE: f32 = 0.7;
/// Confidence of a name (or a cued tool or material) in body text.
pub const CONFIDENCE_BODY: f32 = 0.6;
/// Confidence of a hint in the title, keywords or a section.
pub const CONFIDENCE_HINT: f32 = 0.5;
/// Confidence of agreeing hints in body text.
pub const CONFIDENCE_AGREEING_HINTS: f32 = 0.4;
/// Share of the implying requirement's confidence an implied one gets.
pub const IMPLIED_FACTOR: f32 = 0.9;
/// Longest prose read per field, in bytes (manifests are at most 1 MiB).
pub const MAX_PROSE_BYTES: usize = 64 * 1024;
/// Words of evidence kept on each side of a phrase.
const EVIDENCE_WORDS: usize = 5;

/// Where a piece of prose sits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Place {
    /// The title.
    Title,
    /// The keywords.
    Keywords,
    /// A bill-of-materials, tools, equipment or skills section.
    Section,
    /// Any other text.
    Body,
}

/// The prose of a design, by place.
#[derive(Debug, Default)]
pub struct Prose<'a> {
    /// Title.
    pub title: &'a str,
    /// Keywords, joined.
    pub keywords: String,
    /// Function, description, intended use (each once).
    pub body: Vec<&'a str>,
}

/// Headings that start a materials or tools section (normalised, matched
/// as whole words at the start).
const SECTION_HEADINGS: &[&str] = &[
    "bill of materials",
    "materials",
    "material",
    "bom",
    "parts list",
    "parts",
    "components",
    "ingredients",
    "what you will need",
    "what you need",
    "you will need",
    "costs",
    "cost",
    "tools",
    "tools needed",
    "tool list",
    "equipment",
    "skills",
    "skills and knowledge needed",
    "supplies",
];

/// Headings of sections that say nothing about making the design.
const SKIP_HEADINGS: &[&str] = &[
    "references",
    "reference",
    "see also",
    "external links",
    "sources",
    "bibliography",
    "footnotes",
    "notes",
    "citations",
    "further reading",
];

/// Words that make a sentence boilerplate about files, sites and licences.
const BOILERPLATE: &[&str] = &[
    "can be found",
    "could be found",
    "available at",
    "available on",
    "available from",
    "download",
    "licen",
    "thingiverse",
    "youmagine",
    "github",
    "gitlab",
    "click here",
    "for more information",
    "creative commons",
    "copyright",
    "instructables",
    "link to",
    "stl file",
    "scad file",
    "source file",
    "files are",
    "all files",
];

/// Words before a name that say it is not needed.
const NEGATIONS: &[&str] = &["no", "without", "not", "instead of", "free of", "never"];

/// Phrases before a tool or material that say the design uses it.
const CUES_BEFORE: &[&str] = &[
    "made of",
    "made from",
    "made out of",
    "made with",
    "built from",
    "built with",
    "built out of",
    "constructed from",
    "constructed with",
    "constructed of",
    "consists of",
    "consisting of",
    "using",
    "use",
    "uses",
    "used",
    "with a",
    "with an",
    "requires",
    "require",
    "needs",
    "need",
    "printed in",
    "printed with",
    "printed from",
    "printed using",
    "cut from",
    "cut out of",
    "out of",
    "piece of",
    "pieces of",
    "sheet of",
    "sheets of",
    "strip of",
    "strips of",
    "layer of",
    "roll of",
    "panels of",
    "frame of",
    "held together with",
    "glued with",
    "hergestellt aus",
    "aus",
    "hecho de",
    "hecha de",
    "de madera",
    "fait de",
    "feito de",
];

/// Words right after a material that say the design uses it.
const CUES_AFTER: &[&str] = &[
    "filament", "sheet", "sheets", "panel", "panels", "board", "boards", "frame", "frames",
    "parts", "tube", "tubes", "pipe", "pipes", "plate", "plates", "strips", "poles", "beams",
    "screws", "glue", "wire",
];

/// A section of prose: where it is and its text.
#[derive(Debug)]
struct Segment<'a> {
    place: Place,
    text: &'a str,
}

/// Cuts body text at wiki headings (`= H =`, `== H ==`, `=== H ===`).
fn sections(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut place = Place::Body;
    let mut rest = text;
    let mut start_of_text = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut skip = false;
    while i < bytes.len() {
        if bytes[i] == b'=' && (i == 0 || bytes[i - 1] != b'=') {
            let eq = bytes[i..].iter().take_while(|&&b| b == b'=').count();
            let inner_start = i + eq;
            let marker = &text[i..inner_start];
            if eq <= 4
                && let Some(end) = text[inner_start..].find(marker)
            {
                let inner = &text[inner_start..inner_start + end];
                let after = inner_start + end + eq;
                let closes = bytes.get(after).is_none_or(|&b| b != b'=');
                let short = !inner.trim().is_empty()
                    && inner.len() <= 60
                    && inner
                        .chars()
                        .all(|c| c.is_alphanumeric() || " -&/',()".contains(c));
                if closes && short {
                    if !skip {
                        out.push(Segment {
                            place,
                            text: &text[start_of_text..i],
                        });
                    }
                    let h = normalize_term(inner);
                    skip = SKIP_HEADINGS
                        .iter()
                        .any(|s| h == *s || h.starts_with(&format!("{s} ")));
                    place = if SECTION_HEADINGS
                        .iter()
                        .any(|s| h == *s || h.starts_with(&format!("{s} ")))
                    {
                        Place::Section
                    } else {
                        Place::Body
                    };
                    i = after;
                    start_of_text = after;
                    rest = &text[after..];
                    continue;
                }
            }
            i += eq;
            continue;
        }
        i += 1;
    }
    if !skip {
        out.push(Segment { place, text: rest });
    }
    out
}

/// Removes URLs, Markdown links and wiki external links (with their text).
fn strip_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let rest = &s[i..];
        if c == '[' {
            // [text](url), [url text], [[Page|text]]: drop the whole link.
            if let Some(close) = rest.find(']') {
                let inner = &rest[1..close];
                let after = &rest[close + 1..];
                let is_md = after.starts_with('(');
                let is_ext = inner.starts_with("http") || inner.starts_with("www.");
                let is_wiki = inner.starts_with('[');
                if is_md || is_ext || is_wiki {
                    let mut skip_to = i + close + 1;
                    if is_md && let Some(p) = after.find(')') {
                        skip_to += p + 1;
                    }
                    if is_wiki && after.starts_with(']') {
                        skip_to += 1;
                    }
                    while chars.peek().is_some_and(|(j, _)| *j < skip_to) {
                        chars.next();
                    }
                    out.push(' ');
                    continue;
                }
            }
        }
        if rest.starts_with("http://") || rest.starts_with("https://") || rest.starts_with("www.") {
            while chars.peek().is_some_and(|(_, c)| !c.is_whitespace()) {
                chars.next();
            }
            out.push(' ');
            continue;
        }
        out.push(c);
    }
    out
}

/// Splits text into sentences (and list items), dropping boilerplate.
fn sentences(text: &str) -> Vec<String> {
    let clean = strip_links(text);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_space = false;
    for c in clean.chars() {
        let ends = matches!(c, '.' | '!' | '?' | ';' | '\n' | '•');
        // Bills of materials run items together with double spaces.
        let gap = c == ' ' && prev_space;
        if ends || gap {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        } else {
            cur.push(c);
        }
        prev_space = c == ' ';
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .filter(|s| {
            let l = s.to_lowercase();
            !BOILERPLATE.iter().any(|b| l.contains(b))
        })
        .collect()
}

/// Whether `phrase` occurs (as whole words) in `words`.
fn has_words(words: &[&str], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    words.len() >= p.len() && words.windows(p.len()).any(|w| w == &p[..])
}

/// Words looked back for a cue ("made of", "printed using the …").
const CUE_WINDOW: usize = 4;
/// Words looked back for a negation ("no tools needed").
const NEGATION_WINDOW: usize = 2;

/// One occurrence found in prose.
#[derive(Clone, Debug)]
struct Hit {
    concept: ConceptId,
    how: TextMatch,
    place: Place,
    cued: bool,
    phrase: String,
    evidence: String,
}

fn scan(tax: &Taxonomy, text: &str, place: Place, out: &mut Vec<Hit>) {
    for sentence in sentences(text) {
        let norm = normalize_term(&sentence);
        let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        // (end word of the last hit, whether it was cued): a cue carries
        // over a list ("with screws and wood glue").
        let mut last: Option<(usize, bool)> = None;
        for f in tax.scan_words(&norm) {
            let n = f.phrase.split(' ').count();
            let near = &words[f.word.saturating_sub(NEGATION_WINDOW)..f.word];
            if NEGATIONS.iter().any(|neg| has_words(near, neg)) {
                continue;
            }
            let before = &words[f.word.saturating_sub(CUE_WINDOW)..f.word];
            let after = words.get(f.word + n).copied().unwrap_or("");
            let listed = last.is_some_and(|(end, cued)| {
                cued && f.word >= end
                    && f.word - end <= 2
                    && words[end..f.word]
                        .iter()
                        .all(|w| matches!(*w, "and" | "or" | "plus" | "und" | "y" | "et" | "e"))
            });
            // "… filament", "… panels" make a material, never a tool
            // ("3D-printer filament" is not a 3D printer).
            let material = tax.concept(f.concept).kind == ConceptKind::Material;
            let cued = listed
                || CUES_BEFORE.iter().any(|c| has_words(before, c))
                || (material && CUES_AFTER.contains(&after));
            last = Some((f.word + n, cued));
            let from = f.word.saturating_sub(EVIDENCE_WORDS);
            let to = (f.word + n + EVIDENCE_WORDS).min(words.len());
            let mut evidence = words[from..to].join(" ");
            if from > 0 {
                evidence.insert_str(0, "… ");
            }
            if to < words.len() {
                evidence.push_str(" …");
            }
            out.push(Hit {
                concept: f.concept,
                how: f.how,
                place,
                cued,
                phrase: f.phrase,
                evidence,
            });
        }
    }
}

/// The confidence a hit earns under its concept's rule, if it counts
/// alone (hints in body text never do: see [`infer`]).
fn accept(tax: &Taxonomy, h: &Hit) -> Option<f32> {
    let c = tax.concept(h.concept);
    let named = h.how == TextMatch::Alias;
    match (c.prose, h.place) {
        (ProseRule::Never, _) => None,
        (_, Place::Section) => Some(if named {
            CONFIDENCE_SECTION
        } else {
            CONFIDENCE_HINT
        }),
        (ProseRule::Cue, Place::Title) => None,
        (ProseRule::Cue, Place::Keywords) => named.then_some(CONFIDENCE_TITLE),
        (ProseRule::Cue, Place::Body) => (named && h.cued).then_some(CONFIDENCE_BODY),
        (ProseRule::Title, Place::Body) => None,
        (_, Place::Title | Place::Keywords) => Some(if named {
            CONFIDENCE_TITLE
        } else {
            CONFIDENCE_HINT
        }),
        (ProseRule::Named, Place::Body) => named.then_some(CONFIDENCE_BODY),
    }
}

/// Requirements inferred from a design's prose (see the module docs).
/// `critical_tools`: whether tools are critical (nothing else says how the
/// design is made).
pub fn infer(tax: &Taxonomy, prose: &Prose<'_>, critical_tools: bool) -> Vec<Requirement> {
    let cut = |s: &str| -> String { crate::entry::cut_to(s, MAX_PROSE_BYTES).to_owned() };
    let mut hits = Vec::new();
    scan(tax, &cut(prose.title), Place::Title, &mut hits);
    scan(tax, &cut(&prose.keywords), Place::Keywords, &mut hits);
    for text in &prose.body {
        for seg in sections(&cut(text)) {
            scan(tax, seg.text, seg.place, &mut hits);
        }
    }
    // Best accepted hit per concept, in order of first appearance.
    let mut found: Vec<(ConceptId, f32, Hit)> = Vec::new();
    let mut keep = |concept: ConceptId, conf: f32, h: &Hit| {
        if let Some(f) = found.iter_mut().find(|f| f.0 == concept) {
            if conf > f.1 {
                f.1 = conf;
                f.2 = h.clone();
            }
        } else {
            found.push((concept, conf, h.clone()));
        }
    };
    for h in &hits {
        if let Some(conf) = accept(tax, h) {
            keep(h.concept, conf, h);
        }
    }
    // Hints in body text that a second, different hint agrees with.
    for h in hits
        .iter()
        .filter(|h| h.place == Place::Body && h.how == TextMatch::Hint)
    {
        let rule = tax.concept(h.concept).prose;
        if rule != ProseRule::Named {
            continue;
        }
        let agree = hits.iter().any(|o| {
            o.concept == h.concept
                && o.how == TextMatch::Hint
                && o.phrase != h.phrase
                && !o.phrase.starts_with(&h.phrase)
                && !h.phrase.starts_with(&o.phrase)
        });
        if agree {
            keep(h.concept, CONFIDENCE_AGREEING_HINTS, h);
        }
    }
    // What the found concepts imply.
    let mut implied = Vec::new();
    for (c, conf, h) in &found {
        for &i in &tax.concept(*c).implies {
            if !found.iter().any(|f| f.0 == i)
                && !implied
                    .iter()
                    .any(|(x, ..): &(ConceptId, f32, Hit)| *x == i)
            {
                let mut h = h.clone();
                h.evidence = format!("implied by {} ({})", tax.concept(*c).name, h.evidence);
                implied.push((i, conf * IMPLIED_FACTOR, h));
            }
        }
    }
    found.extend(implied);
    let sourcing = tax.by_key("standard_parts");
    found
        .into_iter()
        .map(|(concept, confidence, h)| {
            let c = tax.concept(concept);
            let critical = match c.kind {
                ConceptKind::Process => Some(concept) != sourcing,
                ConceptKind::Tool => critical_tools,
                ConceptKind::Material => false,
            };
            Requirement {
                term: Term::Concept(concept),
                kind: c.kind,
                text: h.phrase,
                origin: Origin::Text,
                critical,
                inferred: true,
                confidence,
                evidence: h.evidence,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(prose: &Prose<'_>) -> Vec<String> {
        let tax = Taxonomy::builtin();
        infer(tax, prose, false)
            .iter()
            .map(|r| tax.concept(r.term.concept().unwrap()).key.clone())
            .collect()
    }

    fn body(text: &str) -> Vec<String> {
        keys(&Prose {
            title: "",
            keywords: String::new(),
            body: vec![text],
        })
    }

    #[test]
    fn boilerplate_and_unrelated_senses_add_nothing() {
        assert!(body("All files can be found at YouMagine.").is_empty());
        assert!(body("He walked with a foot turned inward.").is_empty());
        assert!(body("Testing the water for HIV and coliforms.").is_empty());
        assert!(body("An easy to use portable lock, no tools needed").is_empty());
    }

    #[test]
    fn sections_and_cues_give_tools_and_materials() {
        let k = body(
            "A holder. == Bill of Materials == PLA Filament ~ 22$  == Tools == MOST Delta RepRap or similar RepRap 3-D printer == References == a laser cutter",
        );
        assert!(k.contains(&"pla".to_owned()), "{k:?}");
        assert!(k.contains(&"3d_printer".to_owned()), "{k:?}");
        assert!(!k.contains(&"laser_cutter".to_owned()), "{k:?}");
        let k = body(
            "The cubbies are made out of medium density fiber board and held together with screws and wood glue.",
        );
        assert!(k.contains(&"plywood".to_owned()), "{k:?}");
        assert!(k.contains(&"wood_glue".to_owned()), "{k:?}");
        // A material merely mentioned is not a need.
        assert!(body("Prosthetics were carved wood.").is_empty());
    }

    #[test]
    fn a_title_names_the_product_not_its_tools() {
        let k = keys(&Prose {
            title: "Snap together shovel",
            keywords: String::new(),
            body: vec![],
        });
        assert!(k.is_empty(), "{k:?}");
        let k = keys(&Prose {
            title: "3D printed prosthetic foot",
            keywords: String::new(),
            body: vec![],
        });
        assert_eq!(k, ["3d_printing"]);
    }

    #[test]
    fn hints_in_body_need_a_second_opinion_and_components_imply_electronics() {
        assert!(body("The bench was built in a garden.").is_empty());
        let k = body("A controller based on an ESP32 microcontroller driving 24 LEDs.");
        assert!(k.contains(&"microcontroller_board".to_owned()), "{k:?}");
        assert!(k.contains(&"electronics_assembly".to_owned()), "{k:?}");
        let k = body("Eine Halterung, 3D-gedruckt aus PLA.");
        assert!(k.contains(&"3d_printing".to_owned()), "{k:?}");
    }
}
