//! Every outcome in `corpus/EXPECTED_MATCHES.md` (supply-graph-ai's
//! own assertions on its fixtures), as tests.

use catalogue::matching::{MatchIndex, PARTIAL_MATCH_THRESHOLD, Profile, Via};
use catalogue::okh::parse_manifest;
use catalogue::okw::{Facility, parse_facilities};
use catalogue::requirements::{Capabilities, RequirementSet, Term, derive};
use catalogue::taxonomy::{SkillLevel, Taxonomy};

use crate::corpus::CORPUS;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{CORPUS}/fixtures/supply-graph-ai/{rel}"))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn design(rel: &str) -> RequirementSet {
    let m = parse_manifest(&read(rel), rel).unwrap_or_else(|e| panic!("{e}"));
    derive(&m, Taxonomy::builtin())
}

fn facilities(rel: &str) -> Vec<Facility> {
    parse_facilities(&read(rel), rel).unwrap_or_else(|e| panic!("{e}"))
}

fn profiles(idx: &MatchIndex<'_>, fs: &[Facility]) -> Vec<Profile> {
    fs.iter()
        .map(|f| idx.profile(&f.capabilities(idx.taxonomy())))
        .collect()
}

fn labels(set: &RequirementSet, which: &[usize]) -> Vec<String> {
    which
        .iter()
        .map(|&r| set.requirements[r].term.label(Taxonomy::builtin()))
        .collect()
}

/// Case 1: "3DP" normalises to 3d_printing; the additive lab is a solution.
#[test]
fn case1_3dp_design_matches_additive_lab() {
    let idx = MatchIndex::new(Taxonomy::builtin());
    let set = design("harness/okh_3dp_only.json");
    assert_eq!(labels(&set, &[0]), ["3D printing"]);
    let lab = profiles(&idx, &facilities("harness/okw_additive_local.json"));
    let hits = idx.rank_profiles(&set, &lab, PARTIAL_MATCH_THRESHOLD);
    assert_eq!(hits.len(), 1, "at least one solution");
    assert!(hits[0].1.full);
    assert_eq!(hits[0].1.score, 1.0);
    assert_eq!(idx.explain(&lab[0], &set)[0].1, Via::Direct);
}

/// Case 2: against the maps.ofmaking.org spaces only the 3DP lab matches.
#[test]
fn case2_only_the_3dp_space_matches() {
    let idx = MatchIndex::new(Taxonomy::builtin());
    let set = design("harness/okh_3dp_only.json");
    let spaces = facilities("harness/mom_spaces_3dp.json");
    let names: Vec<&str> = spaces.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Harness MoM 3DP Lab",
            "Harness MoM Laser Only",
            "Harness MoM No Processes"
        ]
    );
    let hits = idx.rank_profiles(&set, &profiles(&idx, &spaces), PARTIAL_MATCH_THRESHOLD);
    let matched: Vec<&str> = hits.iter().map(|(i, _)| spaces[*i].name.as_str()).collect();
    assert_eq!(matched, ["Harness MoM 3DP Lab"]);
}

/// Case 3: 3DP + Assembly against the 3DP-only lab: 50 % < 60 %, no
/// single-facility solution; a multi-facility plan names Assembly as the gap.
#[test]
fn case3_multi_process_has_no_single_solution_and_assembly_is_the_gap() {
    let idx = MatchIndex::new(Taxonomy::builtin());
    let set = design("harness/okh_multi_process.json");
    assert_eq!(labels(&set, &[0, 1]), ["3D printing", "Assembly"]);
    let spaces = facilities("harness/mom_spaces_3dp.json");
    let lab = profiles(&idx, &spaces[..1]);
    let s = idx.score_set(&lab[0], &set);
    assert_eq!(
        s.coverage, 0.5,
        "50 % of the requirements: supply-graph-ai's score"
    );
    assert!(!s.passes(PARTIAL_MATCH_THRESHOLD));
    assert!(
        idx.rank_profiles(&set, &lab, PARTIAL_MATCH_THRESHOLD)
            .is_empty()
    );
    let plan = idx.plan(&set, &lab, 3);
    assert_eq!(plan.steps.len(), 1);
    assert!(!plan.complete);
    assert_eq!(labels(&set, &plan.gaps), ["Assembly"]);
}

/// Case 4: "CNC Machining" vs "CNC Machining" is satisfied, directly, with
/// one detail.
#[test]
fn case4_identical_process_is_a_direct_match() {
    let tax = Taxonomy::builtin();
    let fixture: serde_json::Value =
        serde_json::from_slice(&read("harness/matching_baseline.json")).unwrap();
    let req = fixture["requirements"][0]["process_name"].as_str().unwrap();
    let cap = fixture["capabilities"][0]["process_name"].as_str().unwrap();
    let manifest = serde_json::json!({"title": "baseline", "manufacturing_processes": [req]});
    let set = derive(
        &parse_manifest(manifest.to_string().as_bytes(), "baseline.json").unwrap(),
        tax,
    );
    let mut caps = Capabilities::new(SkillLevel::Advanced);
    caps.add(Term::from_text(tax, cap));
    caps.finish();
    let idx = MatchIndex::new(tax);
    let p = idx.profile(&caps);
    let details = idx.explain(&p, &set);
    assert_eq!(
        details.len(),
        fixture["expected_detail_count"].as_u64().unwrap() as usize
    );
    assert_eq!(
        details[0].1,
        Via::Direct,
        "expected_matching_layer = direct"
    );
    assert!(idx.score_set(&p, &set).full, "expected_satisfied = true");
}

/// Case 5: the prosthetic hand (3DP, Post-processing, Assembly; PLA, TPU):
/// no single facility covers it; three facilities do.
#[test]
fn case5_prosthetic_hand_needs_several_facilities() {
    let idx = MatchIndex::new(Taxonomy::builtin());
    let dir = "workflow-data/workflow1";
    let fs: Vec<Facility> = [
        "3d-printing-facility-1-001-okw.json",
        "3d-printing-facility-2-002-okw.json",
        "assembly-facility-1-003-okw.json",
        "assembly-facility-2-004-okw.json",
        "post-processing-facility-1-005-okw.json",
    ]
    .iter()
    .flat_map(|f| facilities(&format!("{dir}/okw/{f}")))
    .collect();
    let ps = profiles(&idx, &fs);
    for version in ["1.1.3", "1.1.4", "3.7.9"] {
        let set = design(&format!(
            "{dir}/okh/3d-printed-prosthetic-hand-{version}-okh.json"
        ));
        let critical: Vec<usize> = (0..set.requirements.len())
            .filter(|&r| set.requirements[r].critical)
            .collect();
        assert_eq!(
            labels(&set, &critical),
            ["3D printing", "Post-processing", "Assembly"],
            "{version}"
        );
        for (i, p) in ps.iter().enumerate() {
            assert!(
                !idx.score_set(p, &set).full,
                "{version}: {} alone covers it",
                fs[i].name
            );
        }
        assert!(!idx.plan(&set, &ps, 1).complete);
        let plan = idx.plan(&set, &ps, 3);
        assert!(plan.complete, "{version}: {plan:?}");
        assert!(plan.steps.len() <= 3);
        // Every part is placed at a facility that meets its needs.
        assert!(
            plan.parts.iter().all(Option::is_some),
            "{version}: {plan:?}"
        );
        // Post-Processing Facility 1 also runs FFF printers (its equipment
        // says so), so greedy needs only it and an assembly facility.
        let chosen: Vec<&str> = plan
            .steps
            .iter()
            .map(|s| fs[s.facility].name.as_str())
            .collect();
        assert_eq!(
            chosen,
            ["Post-Processing Facility 1", "Assembly Facility 1"],
            "{version}"
        );
        // The fixture's three-facility plan (printing, post-processing,
        // assembly) covers every critical requirement between them.
        let trio = [&ps[0], &ps[4], &ps[2]];
        for &r in &critical {
            assert!(
                trio.iter().any(|p| idx.explain(p, &set)[r].0 > 0.0),
                "{version}: {r}"
            );
        }
        assert!(
            critical
                .iter()
                .all(|&r| idx.explain(&ps[0], &set)[r].0 == 0.0 || r == critical[0])
        );
    }
}

/// Case 6: the IoT sensor node (PCB, 3DP, Assembly, four sub-parts): each
/// (sub-)part goes to the facility with its process; a three-facility plan.
#[test]
fn case6_iot_node_parts_go_to_their_process() {
    let idx = MatchIndex::new(Taxonomy::builtin());
    let dir = "workflow-data/workflow2";
    let fs: Vec<Facility> = [
        "pcb-fabrication-facility-1-001-okw.json",
        "3d-printing-facility-1-002-okw.json",
        "assembly-facility-1-003-okw.json",
    ]
    .iter()
    .flat_map(|f| facilities(&format!("{dir}/okw/{f}")))
    .collect();
    let ps = profiles(&idx, &fs);
    for version in ["1.8.9", "2.6.0", "3.7.9"] {
        let set = design(&format!("{dir}/okh/iot-sensor-node-{version}-okh.json"));
        for p in &ps {
            assert!(!idx.score_set(p, &set).full);
        }
        let plan = idx.plan(&set, &ps, 3);
        assert!(plan.complete, "{version}: {plan:?}");
        assert_eq!(plan.steps.len(), 3);
        let by_part: Vec<(&str, &str)> = set
            .parts
            .iter()
            .zip(&plan.parts)
            .map(|(part, f)| (part.name.as_str(), f.map_or("-", |f| fs[f].name.as_str())))
            .collect();
        assert_eq!(
            by_part,
            [
                ("Sensor PCB", "PCB Fabrication Facility 1"),
                ("3D Printed Enclosure", "3D Printing Facility 1"),
                ("Final Assembly", "Assembly Facility 1"),
                ("Microcontroller", "PCB Fabrication Facility 1"),
                ("Sensor Module", "PCB Fabrication Facility 1"),
                ("Enclosure Base", "3D Printing Facility 1"),
                ("Enclosure Lid", "3D Printing Facility 1"),
            ],
            "{version}"
        );
    }
}
