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
//! Each requirement *i* has a criticality weight `kᵢ` (1.0 critical, 0.25
//! optional), a confidence `cᵢ` (1.0 declared, 0.4–0.8 inferred from
//! prose) and a specificity `sᵢ` from the taxonomy (1.0 for a named
//! process, tool, material or part; 0.6 for umbrella processes such as
//! machining or electronics; 0.2 for the bare TsDC codes `ASM` and `MEC`;
//! 0.1 for sourcing standard parts), and the profile meets it with quality
//! `qᵢ`. Then:
//!
//! * `score = Σ kᵢcᵢsᵢqᵢ / max(Σ kᵢcᵢsᵢ, 1)` — what is shown and ranked:
//!   the share of what the design specifically needs that the profile has.
//!   The floor ([`SCORE_FLOOR`]: every design needs at least one declared,
//!   specific, critical requirement's worth) stands for what is not known:
//!   a design whose only known need is `MEC` scores at most 0.2, whatever
//!   the profile, and one whose needs were read from prose at confidence
//!   0.6 at most 0.6.
//! * `coverage = Σ kᵢcᵢqᵢ / Σ kᵢcᵢ` — the weighted share of requirements
//!   met, supply-graph-ai's score, which its `PARTIAL_MATCH_THRESHOLD`
//!   (0.6, [`PARTIAL_MATCH_THRESHOLD`]) applies to.
//! * `evidence = Σ cᵢsᵢ` over the critical requirements (all of them when
//!   none is critical) — how much is known of what the design needs.
//!
//! A design is a **full** match when every critical requirement has a
//! quality above 0 (every requirement, if none is critical) *and* its
//! evidence is at least [`MIN_EVIDENCE`] (1.0); when everything is met but
//! the evidence is thinner it is **likely** (most prose-only manifests).
//! A design **passes** when its score is at least [`MIN_SCORE`] (0.3) and
//! it is full, likely, or its coverage reaches the threshold. Reverse
//! matching (`produce`, [`RankOptions::complete_only`]) keeps only full
//! and likely designs.
//! Ranking: score, then the specific need covered (`Σ kᵢcᵢsᵢqᵢ`: of two
//! designs met equally well, the one that needs more that you have comes
//! first), then full matches first, then coverage, then index
//! (deterministic). Designs and profiles of different domains never match;
//! a design with no known requirement is not assessed.
//!
//! Worked example (the README's): "hammer, saw, screwdriver, wood glue,
//! timber" against the Chair (tools hammer, saw, screwdriver — critical,
//! declared, specific — and three optional parts: legs, seat, back):
//! `Σ kcs = 3 × 1 + 3 × 0.25 = 3.75`, met `3`, so score = 3 / 3.75 = 0.80,
//! coverage 0.80, evidence 3: full. A design declaring only `MEC` that the
//! hammer (woodworking, hence mechanical parts) meets: `Σ kcs = 0.2`,
//! score = 0.2 / max(0.2, 1) = 0.20, evidence 0.2: likely at best, and
//! below 0.3, so it does not pass.
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
/// Least evidence (`Σ confidence × specificity` of the critical
/// requirements) for a full match.
pub const MIN_EVIDENCE: f32 = 1.0;
/// Floor of a score's denominator: the weight of one declared, specific,
/// critical requirement.
pub const SCORE_FLOOR: f32 = 1.0;
/// Least score for any design to pass: below it too little is known of the
/// design (a bare `ASM` or `MEC` code scores 0.2 at most).
pub const MIN_SCORE: f32 = 0.3;
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

/// The score of one design for one profile (see the module docs).
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct Score {
    /// Share of what the design specifically needs that is met, with the
    /// evidence floor, in [0, 1]: what is shown and ranked.
    pub score: f32,
    /// Weighted share of requirements met (supply-graph-ai's score), in
    /// [0, 1].
    pub coverage: f32,
    /// Specific need met: `Σ kᵢcᵢsᵢqᵢ`.
    pub specific_met: f32,
    /// How much is known of what the design needs: `Σ cᵢsᵢ` (critical).
    pub evidence: f32,
    /// Critical requirements met.
    pub critical_met: u32,
    /// Critical requirements.
    pub critical_total: u32,
    /// Every critical requirement met, with enough evidence.
    pub full: bool,
    /// Every critical requirement met, but too little is known of the
    /// design to call it full.
    pub likely: bool,
}

impl Score {
    /// Score at least [`MIN_SCORE`], and full, likely or coverage at
    /// least `threshold`.
    pub fn passes(&self, threshold: f32) -> bool {
        self.score >= MIN_SCORE - 1e-6 && (self.complete() || self.coverage >= threshold)
    }

    /// Every critical requirement is met (full or likely).
    pub fn complete(&self) -> bool {
        self.full || self.likely
    }

    /// `full`, `likely` or `partial`.
    pub fn fit(&self) -> &'static str {
        if self.full {
            "full"
        } else if self.likely {
            "likely"
        } else {
            "partial"
        }
    }

    /// Ranking order: better first (see the module docs).
    pub fn better(&self, other: &Score) -> std::cmp::Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(other.specific_met.total_cmp(&self.specific_met))
            .then(other.full.cmp(&self.full))
            .then(other.coverage.total_cmp(&self.coverage))
    }
}

/// The sums one score is made of, over a design's requirements.
#[derive(Clone, Copy, Default)]
struct Sums {
    cov_num: f32,
    cov_total: f32,
    fit_num: f32,
    fit_total: f32,
    evidence_critical: f32,
    evidence_all: f32,
    critical_met: u32,
    critical_total: u32,
    all_met: bool,
}

impl Sums {
    fn new() -> Self {
        Sums {
            all_met: true,
            ..Sums::default()
        }
    }

    #[inline]
    fn add(&mut self, critical: bool, w_cov: f32, w_fit: f32, ev: f32, q: f32) {
        self.cov_num += w_cov * q;
        self.cov_total += w_cov;
        self.fit_num += w_fit * q;
        self.fit_total += w_fit;
        self.evidence_all += ev;
        if critical {
            self.evidence_critical += ev;
            self.critical_total += 1;
        }
        if q > 0.0 {
            self.critical_met += u32::from(critical);
        } else {
            self.all_met = false;
        }
    }

    fn score(&self) -> Score {
        if self.cov_total <= 0.0 {
            return Score {
                critical_total: self.critical_total,
                ..Score::default()
            };
        }
        let (met, evidence) = if self.critical_total > 0 {
            (
                self.critical_met == self.critical_total,
                self.evidence_critical,
            )
        } else {
            (self.all_met, self.evidence_all)
        };
        let enough = evidence >= MIN_EVIDENCE - 1e-6;
        Score {
            score: (self.fit_num / self.fit_total.max(SCORE_FLOOR)).clamp(0.0, 1.0),
            coverage: (self.cov_num / self.cov_total).clamp(0.0, 1.0),
            specific_met: self.fit_num,
            evidence,
            critical_met: self.critical_met,
            critical_total: self.critical_total,
            full: met && enough,
            likely: met && !enough,
        }
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
    /// Least coverage of a partial match (full and likely ones pass
    /// regardless).
    pub threshold: f32,
    /// Only designs whose every critical requirement is met (full or
    /// likely): what a facility can make outright.
    pub complete_only: bool,
    /// At most this many results.
    pub top: usize,
}

impl Default for RankOptions {
    fn default() -> Self {
        RankOptions {
            threshold: PARTIAL_MATCH_THRESHOLD,
            complete_only: false,
            top: usize::MAX,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct DesignEntry {
    start: u32,
    end: u32,
    total_weight: f32,
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
    req_fit_weight: Vec<f32>,
    req_evidence: Vec<f32>,
    req_critical: Vec<bool>,
}

/// Coverage weight of one requirement: `kᵢ·cᵢ`.
pub fn weight(critical: bool, confidence: f32) -> f32 {
    (if critical {
        CRITICAL_WEIGHT
    } else {
        OPTIONAL_WEIGHT
    }) * confidence
}

/// Score weight of one requirement: `kᵢ·cᵢ·sᵢ`.
pub fn fit_weight(critical: bool, confidence: f32, specificity: f32) -> f32 {
    weight(critical, confidence) * specificity
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
            req_fit_weight: Vec::new(),
            req_evidence: Vec::new(),
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
        for r in &set.requirements {
            let id = self.intern(&r.term);
            let w = weight(r.critical, r.confidence);
            let s = r.term.specificity(self.tax);
            self.req_term.push(id);
            self.req_weight.push(w);
            self.req_fit_weight.push(w * s);
            self.req_evidence.push(r.confidence * s);
            self.req_critical.push(r.critical);
            total_weight += w;
        }
        self.designs.push(DesignEntry {
            start,
            end: self.req_term.len() as u32,
            total_weight,
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
        let (s, e) = (d.start as usize, d.end as usize);
        if p.domains & d.domain.bit() == 0 || d.total_weight <= 0.0 {
            return Score {
                critical_total: self.req_critical[s..e].iter().filter(|c| **c).count() as u32,
                ..Score::default()
            };
        }
        let mut sums = Sums::new();
        for i in s..e {
            let q = self.quality(p, self.req_term[i]);
            sums.add(
                self.req_critical[i],
                self.req_weight[i],
                self.req_fit_weight[i],
                self.req_evidence[i],
                q,
            );
        }
        sums.score()
    }

    /// Designs that pass for a profile, best first (see the module docs).
    pub fn rank(&self, p: &Profile, opts: &RankOptions) -> Vec<Ranked> {
        self.rank_counted(p, opts).0
    }

    /// As [`MatchIndex::rank`], with the number of designs that pass
    /// before `top` is applied.
    pub fn rank_counted(&self, p: &Profile, opts: &RankOptions) -> (Vec<Ranked>, usize) {
        let mut out = Vec::new();
        for (i, d) in self.designs.iter().enumerate() {
            if p.domains & d.domain.bit() == 0 || d.total_weight <= 0.0 {
                continue;
            }
            let s = self.score(p, i);
            if (opts.complete_only && !s.complete()) || !s.passes(opts.threshold) {
                continue;
            }
            out.push(Ranked {
                design: i,
                score: s,
            });
        }
        let passing = out.len();
        let cmp = |a: &Ranked, b: &Ranked| a.score.better(&b.score).then(a.design.cmp(&b.design));
        if out.len() > opts.top {
            out.select_nth_unstable_by(opts.top, cmp);
            out.truncate(opts.top);
        }
        out.sort_unstable_by(cmp);
        (out, passing)
    }

    /// The design that comes closest to passing without passing: the best
    /// score, then coverage (for a hint when nothing passes).
    pub fn nearest(&self, p: &Profile, opts: &RankOptions) -> Option<Ranked> {
        let mut best: Option<Ranked> = None;
        for (i, d) in self.designs.iter().enumerate() {
            if p.domains & d.domain.bit() == 0 || d.total_weight <= 0.0 {
                continue;
            }
            let s = self.score(p, i);
            if s.coverage <= 0.0
                || ((!opts.complete_only || s.complete()) && s.passes(opts.threshold))
            {
                continue;
            }
            let better = best.is_none_or(|b| {
                s.score
                    .total_cmp(&b.score.score)
                    .then(s.coverage.total_cmp(&b.score.coverage))
                    .is_gt()
            });
            if better {
                best = Some(Ranked {
                    design: i,
                    score: s,
                });
            }
        }
        best
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
        out.sort_by(|a, b| a.1.better(&b.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Scores a requirement set (not necessarily in the index).
    pub fn score_set(&self, p: &Profile, set: &RequirementSet) -> Score {
        if p.domains & set.domain.bit() == 0 {
            return Score::default();
        }
        let ex = self.explain(p, set);
        let mut sums = Sums::new();
        for (r, (q, ..)) in set.requirements.iter().zip(&ex) {
            let w = weight(r.critical, r.confidence);
            let sp = r.term.specificity(self.tax);
            sums.add(r.critical, w, w * sp, r.confidence * sp, *q);
        }
        sums.score()
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
        assert!((sa.coverage - 0.6).abs() < 1e-6, "{sa:?}");
        assert!((sa.score - 0.6).abs() < 1e-6, "{sa:?}");
        assert!(sa.full, "a substitution meets the requirement");
        let sb = idx.score(&p, b);
        assert!((sb.coverage - 0.5).abs() < 1e-6, "{sb:?}");
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
