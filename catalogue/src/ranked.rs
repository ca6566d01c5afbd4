//! What people see of matching: the designs loaded for it, a maker's
//! "what I have" text or a facility turned into capabilities, and ranked
//! results explained in words and as JSON.
//!
//! The command line (`okmesh match`, `produce`, `plan`) and the field
//! node's HTTP API share this code, so a match over the API ranks exactly as
//! `okmesh match --json` does.

use serde_json::{Value, json};

use crate::id::{ContentId, ItemId};
use crate::matching::{MatchIndex, Profile, RankOptions, Ranked, Via};
use crate::okh::Manifest;
use crate::okw::{Facility, build_profile};
use crate::requirements::{Capabilities, RequirementSet, derive};
use crate::taxonomy::Taxonomy;

/// What results show of a design besides its requirements.
#[derive(Clone, PartialEq, Debug)]
pub struct DesignInfo {
    /// Title.
    pub title: String,
    /// The file (or stored item label) it was read from.
    pub file: String,
    /// Stable id.
    pub item_id: ItemId,
    /// This version's content id.
    pub content_id: ContentId,
}

impl DesignInfo {
    /// The info of a parsed manifest.
    pub fn of(m: &Manifest) -> Self {
        DesignInfo {
            title: m.title.clone(),
            file: m.file.clone(),
            item_id: m.item_id,
            content_id: m.content_id,
        }
    }
}

/// Designs loaded for matching, with what could not be loaded. A design is
/// its [`DesignInfo`] and [`RequirementSet`]: once compiled (the persisted
/// match index stores exactly these) no manifest needs parsing again.
#[derive(Debug, Default)]
pub struct Designs {
    /// The designs, in load order.
    pub info: Vec<DesignInfo>,
    /// Their requirement sets, index for index.
    pub sets: Vec<RequirementSet>,
    /// `file: reason` for every item or file that was not loaded.
    pub skipped: Vec<String>,
}

impl Designs {
    /// Adds a parsed manifest.
    pub fn push(&mut self, m: Manifest, tax: &Taxonomy) {
        self.sets.push(derive(&m, tax));
        self.info.push(DesignInfo::of(&m));
    }

    /// Adds a design compiled earlier.
    pub fn push_compiled(&mut self, info: DesignInfo, set: RequirementSet) {
        self.info.push(info);
        self.sets.push(set);
    }

    /// Number of designs.
    pub fn len(&self) -> usize {
        self.info.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// A match index over these designs.
    pub fn index<'t>(
        &self,
        tax: &'t Taxonomy,
    ) -> Result<MatchIndex<'t>, crate::matching::IndexError> {
        let mut idx = MatchIndex::new(tax);
        for s in &self.sets {
            idx.add(s)?;
        }
        Ok(idx)
    }
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
        for (phrase, name) in &d.corrected {
            notes.push(format!(
                "read \"{phrase}\" as \"{name}\" (the only known name that close)"
            ));
        }
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
            "corrected": d.corrected.iter().map(|(p, n)| json!({"phrase": p, "as": n})).collect::<Vec<_>>(),
            "unrecognised": d.unrecognised.iter().map(|u| json!({"phrase": u.phrase, "suggestions": u.suggestions})).collect::<Vec<_>>(),
        });
        Ok(Input {
            name: "your profile".into(),
            caps: d.capabilities,
            notes,
            json,
        })
    }

    /// A facility's capabilities, with its warnings and the notes on atoms
    /// whose identifier, description and link disagree.
    pub fn from_facility(f: &Facility, tax: &Taxonomy) -> Input {
        let (caps, consistency) = f.read(tax);
        let mut notes: Vec<String> = f
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", f.file))
            .collect();
        notes.extend(consistency.iter().map(|n| format!("{}: {n}", f.file)));
        let json = json!({"facility": f.name, "file": f.file, "item_id": f.item_id.to_string()});
        Input {
            name: f.name.clone(),
            caps,
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
        let label = r.display(tax);
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
            d.inferred.push(if r.evidence.is_empty() {
                label.clone()
            } else {
                format!("{label} (\"{}\")", r.evidence)
            });
        }
        if short > 0 {
            d.skill.push(format!("{label} (-{short} skill)"));
        }
        reqs.push(json!({
            "requirement": label, "id": r.term.id(tax), "kind": r.kind.as_str(), "critical": r.critical,
            "inferred": r.inferred, "confidence": r.confidence, "specificity": r.term.specificity(tax),
            "from": r.origin.as_str(), "text": r.text, "evidence": r.evidence,
            "met": how, "with": with, "quality": q, "skill_levels_short": short,
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

/// A ranking: the results shown, how many passed in all, and the nearest
/// miss when none did.
#[derive(Debug)]
pub struct Ranking {
    /// The results, best first, at most `top`.
    pub results: Vec<Ranked>,
    /// Every design that passes, whatever `top`.
    pub passing: usize,
    /// When nothing passes: the design closest to passing.
    pub nearest: Option<Ranked>,
}

/// Ranks designs for a profile (see [`MatchIndex::rank_counted`]).
pub fn rank(idx: &MatchIndex<'_>, p: &Profile, opts: &RankOptions) -> Ranking {
    let (results, passing) = idx.rank_counted(p, opts);
    let nearest = if passing == 0 {
        idx.nearest(p, opts)
    } else {
        None
    };
    Ranking {
        results,
        passing,
        nearest,
    }
}

/// One result as JSON.
fn result_json(
    designs: &Designs,
    idx: &MatchIndex<'_>,
    p: &Profile,
    r: &Ranked,
    rank: usize,
) -> Value {
    let m = &designs.info[r.design];
    let d = detail(idx, p, &designs.sets[r.design]);
    json!({
        "rank": rank, "title": m.title, "file": m.file, "item_id": m.item_id.to_string(),
        "content_id": m.content_id.to_string(), "domain": designs.sets[r.design].domain.as_str(),
        "score": r.score.score, "coverage": r.score.coverage, "evidence": r.score.evidence,
        "fit": r.score.fit(), "full": r.score.full,
        "critical_met": r.score.critical_met, "critical_total": r.score.critical_total,
        "missing": d.missing, "substitutions": d.substitutions, "inferred": d.inferred,
        "skill": d.skill, "requirements": d.json,
    })
}

/// Ranks `designs` for `input` and returns the JSON `okmesh match --json`
/// prints: the input as read, notes, counts (`passing`: every design that
/// passes, whatever `top`) and one entry per result; `nearest` when
/// nothing passes.
pub fn ranked_json(
    designs: &Designs,
    idx: &MatchIndex<'_>,
    input: &Input,
    opts: &RankOptions,
) -> Value {
    let p = idx.profile(&input.caps);
    let ranking = rank(idx, &p, opts);
    let results: Vec<_> = ranking
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| result_json(designs, idx, &p, r, i + 1))
        .collect();
    let nearest = ranking
        .nearest
        .as_ref()
        .map(|r| result_json(designs, idx, &p, r, 0));
    json!({
        "input": input.json, "notes": input.notes, "designs": designs.len(),
        "assessed": assessed(designs), "passing": ranking.passing, "skipped": designs.skipped,
        "threshold": opts.threshold, "results": results, "nearest": nearest,
    })
}
