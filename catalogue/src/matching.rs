//! Scoring designs against capabilities: ranking, reverse matching and
//! multi-facility plans, as integer-and-float work over pre-compiled tables.
//!
//! ## Compilation
//!
//! Designs are added once to a [`MatchIndex`]: every requirement's
//! [`Term`] is interned to a dense `u32` (taxonomy concepts first, then
//! Wikidata ids and free terms), and its weight is computed, so a design is
//! a slice of `(term, weight, critical)` triples. A maker's or facility's
//! [`Capabilities`] compile to a [`Profile`]: one quality in `[0, 1]` per
//! taxonomy concept, plus the sorted list of free terms it has. Scoring a
//! design is then a loop over its few requirements with one table look-up
//! each.
//!
//! ## Quality of one requirement (how well the profile meets it)
//!
//! * `1.0` — **direct**: the profile has the concept, a tool that provides
//!   it, or a more specific process (FFF printing meets "3D printing");
//!   free terms and Wikidata ids must be equal;
//! * `0.7` — **generic**: the profile names a more general process than
//!   the one required (says "3D printing", the part needs SLA);
//! * the rule's confidence — **substitution** from the taxonomy (a laser
//!   cutter for a CNC router on sheet parts: 0.6); the best one counts;
//! * `0` — **missing**.
//!
//! For a process, a profile whose skill is below the process's level loses
//! 0.2 per level (a basic maker and an advanced process: ×0.6).
//!
//! ## Score of a design
//!
//! `score = Σ wᵢ·qᵢ / Σ wᵢ` with `wᵢ = (1.0 if critical else 0.25) ×
//! confidenceᵢ` — the weighted share of requirements met. Inferred
//! requirements weigh less through their confidence and are flagged in
//! results. A design **fully** matches when every critical requirement has
//! a quality above 0 (every requirement, if none is critical). A design
//! **passes** when it fully matches or its score is at least
//! [`PARTIAL_MATCH_THRESHOLD`] (0.6, supply-graph-ai's
//! `PARTIAL_MATCH_THRESHOLD`). Ranking: score, then full matches first,
//! then more declared evidence, then index (deterministic). Designs and
//! profiles of different domains never match; a design with no known
//! requirement is not assessed.
//!
//! ## Plans
//!
//! [`MatchIndex::plan`] covers one design with up to `k` facilities
//! greedily: each step takes the facility adding the most uncovered weight
//! (ties: lowest index); each part goes to the first facility of the plan
//! that meets all its needs; what no chosen facility meets is the plan's
//! gaps.

use std::collections::BTreeMap;

use crate::requirements::{Capabilities, RequirementSet, Term};
use crate::taxonomy::{ConceptId, ConceptKind, Domain, Taxonomy};

/// Least score for a partial match (supply-graph-ai's value).
pub const PARTIAL_MATCH_THRESHOLD: f32 = 0.6;
/// Weight of a critical requirement (before confidence).
pub const CRITICAL_WEIGHT: f32 = 1.0;
/// Weight of an optional requirement (before confidence).
pub const OPTIONAL_WEIGHT: f32 = 0.25;
/// Quality when only a more general process is offered.
pub const GENERIC_QUALITY: f32 = 0.7;
/// Quality lost per skill level below the process's.
pub const SKILL_PENALTY_PER_LEVEL: f32 = 0.2;
/// Most designs one index holds.
pub const MAX_DESIGNS: usize = 1 << 22;
/// Most requirements one design may carry into the index.
pub const MAX_REQUIREMENTS_PER_DESIGN: usize = 1024;

/// How a requirement is met.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Via {
    /// Not met.
    Missing,
    /// Met directly.
    Direct,
    /// Met by a more general process the profile names.
    Generic(ConceptId),
    /// Met by a substitute at a confidence.
    Substitute(ConceptId, f32),
}

/// Capabilities compiled against an index.
#[derive(Clone, Debug)]
pub struct Profile {
    domains: u8,
    quality: Vec<f32>,
    via: Vec<Via>,
    skill_short: Vec<u8>,
    free: Vec<u32>,
}

impl Profile {
    /// Domains served.
    pub fn domains(&self) -> u8 {
        self.domains
    }
}

/// The score of one design for one profile.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct Score {
    /// Weighted share of requirements met, in [0, 1].
    pub score: f32,
    /// Critical requirements met.
    pub critical_met: u32,
    /// Critical requirements.
    pub critical_total: u32,
    /// Every critical requirement met.
    pub full: bool,
}

impl Score {
    /// Full match, or score at least `threshold`.
    pub fn passes(&self, threshold: f32) -> bool {
        self.full || self.score >= threshold
    }
}

/// One ranked design.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Ranked {
    /// Index of the design in the [`MatchIndex`].
    pub design: usize,
    /// Its score.
    pub score: Score,
}

/// What to return from [`MatchIndex::rank`].
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RankOptions {
    /// Least score (full matches pass regardless).
    pub threshold: f32,
    /// Only full matches.
    pub full_only: bool,
    /// At most this many results.
    pub top: usize,
}

impl Default for RankOptions {
    fn default() -> Self {
        RankOptions {
            threshold: PARTIAL_MATCH_THRESHOLD,
            full_only: false,
            top: usize::MAX,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct DesignEntry {
    start: u32,
    end: u32,
    total_weight: f32,
    critical_total: u32,
    domain: Domain,
}

/// Error adding a design.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum IndexError {
    /// The index holds [`MAX_DESIGNS`] designs already.
    #[error("the match index is full ({limit} designs)")]
    Full {
        /// The limit.
        limit: usize,
    },
    /// The design has more than [`MAX_REQUIREMENTS_PER_DESIGN`] requirements.
    #[error("a design has {count} requirements, at most {limit}")]
    TooManyRequirements {
        /// Its count.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// Designs compiled for matching.
#[derive(Debug)]
pub struct MatchIndex<'t> {
    tax: &'t Taxonomy,
    // Look-up only; ids are handed out in insertion order.
    terms: BTreeMap<Term, u32>,
    designs: Vec<DesignEntry>,
    req_term: Vec<u32>,
    req_weight: Vec<f32>,
    req_critical: Vec<bool>,
}

/// Weight of one requirement.
pub fn weight(critical: bool, confidence: f32) -> f32 {
    (if critical {
        CRITICAL_WEIGHT
    } else {
        OPTIONAL_WEIGHT
    }) * confidence
}

impl<'t> MatchIndex<'t> {
    /// An empty index over a taxonomy.
    pub fn new(tax: &'t Taxonomy) -> Self {
        MatchIndex {
            tax,
            terms: BTreeMap::new(),
            designs: Vec::new(),
            req_term: Vec::new(),
            req_weight: Vec::new(),
            req_critical: Vec::new(),
        }
    }

    /// The taxonomy.
    pub fn taxonomy(&self) -> &'t Taxonomy {
        self.tax
    }

    /// Number of designs.
    pub fn len(&self) -> usize {
        self.designs.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.designs.is_empty()
    }

    fn term_id(&self, t: &Term) -> Option<u32> {
        match t {
            Term::Concept(c) => Some(u32::from(c.0)),
            other => self.terms.get(other).copied(),
        }
    }

    fn intern(&mut self, t: &Term) -> u32 {
        if let Some(id) = self.term_id(t) {
            return id;
        }
        let id = (self.tax.len() + self.terms.len()) as u32;
        self.terms.insert(t.clone(), id);
        id
    }

    /// Adds a design; returns its index.
    pub fn add(&mut self, set: &RequirementSet) -> Result<usize, IndexError> {
        if self.designs.len() >= MAX_DESIGNS {
            return Err(IndexError::Full { limit: MAX_DESIGNS });
        }
        if set.requirements.len() > MAX_REQUIREMENTS_PER_DESIGN {
            return Err(IndexError::TooManyRequirements {
                count: set.requirements.len(),
                limit: MAX_REQUIREMENTS_PER_DESIGN,
            });
        }
        let start = self.req_term.len() as u32;
        let mut total_weight = 0.0;
        let mut critical_total = 0;
        for r in &set.requirements {
            let id = self.intern(&r.term);
            let w = weight(r.critical, r.confidence);
            self.req_term.push(id);
            self.req_weight.push(w);
            self.req_critical.push(r.critical);
            total_weight += w;
            critical_total += u32::from(r.critical);
        }
        self.designs.push(DesignEntry {
            start,
            end: self.req_term.len() as u32,
            total_weight,
            critical_total,
            domain: set.domain,
        });
        Ok(self.designs.len() - 1)
    }

    /// Compiles capabilities into a profile.
    pub fn profile(&self, caps: &Capabilities) -> Profile {
        let tax = self.tax;
        let n = tax.len();
        let mut provided = vec![false; n];
        let mut named = vec![false; n];
        let mut free = Vec::new();
        for t in &caps.terms {
            match t {
                Term::Concept(c) => {
                    named[c.index()] = true;
                    for e in &tax.concept(*c).enables {
                        named[e.index()] = true;
                    }
                    for p in tax.provides(*c) {
                        provided[p.index()] = true;
                    }
                }
                other => free.extend(self.term_id(other)),
            }
        }
        free.sort_unstable();
        free.dedup();
        let mut quality = vec![0.0; n];
        let mut via = vec![Via::Missing; n];
        let mut skill_short = vec![0u8; n];
        for i in 0..n {
            let c = ConceptId(i as u16);
            let (mut q, mut v) = (0.0f32, Via::Missing);
            if provided[i] {
                (q, v) = (1.0, Via::Direct);
            } else {
                let mut a = tax.concept(c).parent;
                let mut guard = 0;
                while let Some(p) = a {
                    if named[p.index()] {
                        (q, v) = (GENERIC_QUALITY, Via::Generic(p));
                        break;
                    }
                    a = tax.concept(p).parent;
                    guard += 1;
                    if guard > 64 {
                        break;
                    }
                }
                for &(with, conf) in tax.substitutes(c) {
                    if provided[with.index()] && conf > q {
                        (q, v) = (conf, Via::Substitute(with, conf));
                    }
                }
            }
            let concept = tax.concept(c);
            if q > 0.0 && concept.kind == ConceptKind::Process {
                let have = caps.skill_for(c) as u8;
                let need = concept.skill as u8;
                if need > have {
                    skill_short[i] = need - have;
                    q *= 1.0 - SKILL_PENALTY_PER_LEVEL * f32::from(need - have);
                }
            }
            quality[i] = q;
            via[i] = v;
        }
        Profile {
            domains: caps.domains,
            quality,
            via,
            skill_short,
            free,
        }
    }

    #[inline]
    fn quality(&self, p: &Profile, term: u32) -> f32 {
        match p.quality.get(term as usize) {
            Some(q) => *q,
            None => {
                if p.free.binary_search(&term).is_ok() {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Scores one design (score 0 across domains or with no requirement).
    pub fn score(&self, p: &Profile, design: usize) -> Score {
        let d = self.designs[design];
        if p.domains & d.domain.bit() == 0 || d.total_weight <= 0.0 {
            return Score {
                critical_total: d.critical_total,
                ..Score::default()
            };
        }
        let (s, e) = (d.start as usize, d.end as usize);
        let mut num = 0.0;
        let mut crit_met = 0;
        let mut all_met = true;
        for i in s..e {
            let q = self.quality(p, self.req_term[i]);
            num += self.req_weight[i] * q;
            if q > 0.0 {
                crit_met += u32::from(self.req_critical[i]);
            } else {
                all_met = false;
            }
        }
        let full = if d.critical_total > 0 {
            crit_met == d.critical_total
        } else {
            all_met
        };
        Score {
            score: (num / d.total_weight).clamp(0.0, 1.0),
            critical_met: crit_met,
            critical_total: d.critical_total,
            full,
        }
    }

    /// Designs that pass for a profile, best first (see the module docs).
    pub fn rank(&self, p: &Profile, opts: &RankOptions) -> Vec<Ranked> {
        let mut out = Vec::new();
        for (i, d) in self.designs.iter().enumerate() {
            if p.domains & d.domain.bit() == 0 || d.total_weight <= 0.0 {
                continue;
            }
            let s = self.score(p, i);
            if (opts.full_only && !s.full) || !s.passes(opts.threshold) {
                continue;
            }
            out.push(Ranked {
                design: i,
                score: s,
            });
        }
        let cmp = |a: &Ranked, b: &Ranked| {
            b.score
                .score
                .total_cmp(&a.score.score)
                .then(b.score.full.cmp(&a.score.full))
                .then(
                    self.designs[b.design]
                        .total_weight
                        .total_cmp(&self.designs[a.design].total_weight),
                )
                .then(a.design.cmp(&b.design))
        };
        if out.len() > opts.top {
            out.select_nth_unstable_by(opts.top, cmp);
            out.truncate(opts.top);
        }
        out.sort_unstable_by(cmp);
        out
    }

    /// How a profile meets each requirement of a set: `(quality, via,
    /// skill levels short)` per requirement, in order.
    pub fn explain(&self, p: &Profile, set: &RequirementSet) -> Vec<(f32, Via, u8)> {
        set.requirements
            .iter()
            .map(|r| match &r.term {
                Term::Concept(c) => (
                    p.quality[c.index()],
                    p.via[c.index()],
                    p.skill_short[c.index()],
                ),
                other => {
                    let q = self.term_id(other).map_or(0.0, |id| self.quality(p, id));
                    (q, if q > 0.0 { Via::Direct } else { Via::Missing }, 0)
                }
            })
            .collect()
    }

    /// Scores one design's requirement set against many profiles (design
    /// → facilities), best first; only passing ones unless `threshold` is 0.
    pub fn rank_profiles(
        &self,
        set: &RequirementSet,
        profiles: &[Profile],
        threshold: f32,
    ) -> Vec<(usize, Score)> {
        let mut out: Vec<(usize, Score)> = profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (i, self.score_set(p, set)))
            .filter(|(_, s)| threshold <= 0.0 || s.passes(threshold))
            .collect();
        out.sort_by(|a, b| {
            b.1.score
                .total_cmp(&a.1.score)
                .then(b.1.full.cmp(&a.1.full))
                .then(a.0.cmp(&b.0))
        });
        out
    }

    /// Scores a requirement set (not necessarily in the index).
    pub fn score_set(&self, p: &Profile, set: &RequirementSet) -> Score {
        if p.domains & set.domain.bit() == 0 {
            return Score::default();
        }
        let ex = self.explain(p, set);
        let (mut num, mut total, mut crit_met, mut crit_total, mut all) = (0.0, 0.0, 0, 0, true);
        for (r, (q, ..)) in set.requirements.iter().zip(&ex) {
            let w = weight(r.critical, r.confidence);
            num += w * q;
            total += w;
            if r.critical {
                crit_total += 1;
                crit_met += u32::from(*q > 0.0);
            }
            all &= *q > 0.0;
        }
        if total <= 0.0 {
            return Score::default();
        }
        Score {
            score: (num / total).clamp(0.0, 1.0),
            critical_met: crit_met,
            critical_total: crit_total,
            full: if crit_total > 0 {
                crit_met == crit_total
            } else {
                all
            },
        }
    }

    /// Greedy multi-facility plan for one design (see the module docs).
    pub fn plan(&self, set: &RequirementSet, facilities: &[Profile], k: usize) -> Plan {
        let quality: Vec<Vec<f32>> = facilities
            .iter()
            .map(|p| {
                if p.domains & set.domain.bit() == 0 {
                    vec![0.0; set.requirements.len()]
                } else {
                    self.explain(p, set).into_iter().map(|(q, ..)| q).collect()
                }
            })
            .collect();
        let weights: Vec<f32> = set
            .requirements
            .iter()
            .map(|r| weight(r.critical, r.confidence))
            .collect();
        let mut covered_by: Vec<Option<usize>> = vec![None; set.requirements.len()];
        let mut steps: Vec<PlanStep> = Vec::new();
        while steps.len() < k {
            let mut best: Option<(usize, f32)> = None;
            for (f, q) in quality.iter().enumerate() {
                if steps.iter().any(|s| s.facility == f) {
                    continue;
                }
                let gain: f32 = (0..weights.len())
                    .filter(|&r| covered_by[r].is_none())
                    .map(|r| weights[r] * q[r])
                    .sum();
                if gain > 0.0 && best.is_none_or(|(_, g)| gain > g) {
                    best = Some((f, gain));
                }
            }
            let Some((f, _)) = best else { break };
            let covers: Vec<usize> = (0..weights.len())
                .filter(|&r| covered_by[r].is_none() && quality[f][r] > 0.0)
                .collect();
            for &r in &covers {
                covered_by[r] = Some(steps.len());
            }
            steps.push(PlanStep {
                facility: f,
                covers,
            });
        }
        let gaps: Vec<usize> = (0..weights.len())
            .filter(|&r| covered_by[r].is_none())
            .collect();
        let parts = set
            .parts
            .iter()
            .map(|part| {
                let crit: Vec<usize> = part
                    .needs
                    .iter()
                    .copied()
                    .filter(|&r| set.requirements[r].critical)
                    .collect();
                let needs = if crit.is_empty() {
                    part.needs.clone()
                } else {
                    crit
                };
                steps
                    .iter()
                    .position(|s| needs.iter().all(|&r| quality[s.facility][r] > 0.0))
                    .map(|i| steps[i].facility)
            })
            .collect();
        let complete = gaps.iter().all(|&r| !set.requirements[r].critical);
        Plan {
            steps,
            gaps,
            parts,
            complete,
        }
    }
}

/// One facility of a plan.
#[derive(Clone, PartialEq, Debug)]
pub struct PlanStep {
    /// Index into the facilities given to [`MatchIndex::plan`].
    pub facility: usize,
    /// Requirements (indices into the set) it is the first to cover.
    pub covers: Vec<usize>,
}

/// A multi-facility plan.
#[derive(Clone, PartialEq, Debug)]
pub struct Plan {
    /// Chosen facilities, in the order chosen.
    pub steps: Vec<PlanStep>,
    /// Requirements no chosen facility meets.
    pub gaps: Vec<usize>,
    /// For each part of the set, the facility that makes it (if any).
    pub parts: Vec<Option<usize>>,
    /// Every critical requirement is covered.
    pub complete: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okh::parse_manifest;
    use crate::okw::build_profile;
    use crate::requirements::derive;

    fn set(text: &[u8], file: &str) -> RequirementSet {
        derive(&parse_manifest(text, file).unwrap(), Taxonomy::builtin())
    }

    #[test]
    fn direct_substitute_and_missing() {
        let tax = Taxonomy::builtin();
        let mut idx = MatchIndex::new(tax);
        let router = set(
            br#"{"title":"Sign","manufacturing_processes":["cnc routing"]}"#,
            "a.json",
        );
        let both = set(
            br#"{"title":"Box","manufacturing_processes":["laser cutting","welding"]}"#,
            "b.json",
        );
        let a = idx.add(&router).unwrap();
        let b = idx.add(&both).unwrap();
        let p = idx.profile(&build_profile("laser cutter", tax).capabilities);
        let sa = idx.score(&p, a);
        assert!((sa.score - 0.6).abs() < 1e-6, "{sa:?}");
        assert!(sa.full, "a substitution meets the requirement");
        let sb = idx.score(&p, b);
        assert!((sb.score - 0.5).abs() < 1e-6, "{sb:?}");
        assert!(!sb.full);
        let ranked = idx.rank(&p, &RankOptions::default());
        assert_eq!(ranked.iter().map(|r| r.design).collect::<Vec<_>>(), vec![a]);
        let ex = idx.explain(&p, &router);
        assert!(matches!(ex[0].1, Via::Substitute(_, c) if (c - 0.6).abs() < 1e-6));
    }

    #[test]
    fn skill_below_the_process_costs() {
        let tax = Taxonomy::builtin();
        let mut idx = MatchIndex::new(tax);
        let d = idx
            .add(&set(
                br#"{"title":"Frame","manufacturing_processes":["welding"]}"#,
                "w.json",
            ))
            .unwrap();
        let pro = idx.profile(&build_profile("expert welding", tax).capabilities);
        let novice = idx.profile(&build_profile("basic welding", tax).capabilities);
        assert_eq!(idx.score(&pro, d).score, 1.0);
        assert!((idx.score(&novice, d).score - 0.6).abs() < 1e-6);
    }

    #[test]
    fn domains_do_not_mix() {
        let tax = Taxonomy::builtin();
        let mut idx = MatchIndex::new(tax);
        let cookies = set(b"title: Cookies\ntool-list: oven, sheet pan\n", "c.yml");
        assert_eq!(cookies.domain, Domain::Cooking);
        let d = idx.add(&cookies).unwrap();
        let workshop = idx.profile(&build_profile("3d printer", tax).capabilities);
        assert_eq!(idx.score(&workshop, d).score, 0.0);
        let kitchen = idx.profile(&build_profile("oven, sheet pan", tax).capabilities);
        assert!(idx.score(&kitchen, d).full);
    }
}
