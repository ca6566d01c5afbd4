//! Every example of issue 14 ("matching a maker can believe"), as a test:
//! each gives a plausible answer now.

use std::path::Path;

use catalogue::matching::{MatchIndex, RankOptions};
use catalogue::okh::parse_manifest;
use catalogue::okw::{build_profile, parse_facilities};
use catalogue::ranked::{Designs, Input, detail, ranked_json};
use catalogue::requirements::{Term, derive};
use catalogue::taxonomy::Taxonomy;

use crate::corpus::CORPUS;
use crate::field_support::{http_json, lone_udp_radio, start_api_node};
use crate::relevance::corpus_designs;
use crate::util::{okmesh, temp_dir};

fn text(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `okmesh match --have TEXT --corpus corpus/okh --json`, as the library
/// computes it.
fn ranked(have: &str, top: usize) -> (Designs, serde_json::Value) {
    let tax = Taxonomy::builtin();
    let designs = corpus_designs(tax);
    let idx = designs.index(tax).unwrap();
    let input = Input::from_text(have, tax).unwrap();
    let v = ranked_json(
        &designs,
        &idx,
        &input,
        &RankOptions {
            top,
            ..RankOptions::default()
        },
    );
    (designs, v)
}

fn files(v: &serde_json::Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap().to_owned())
        .collect()
}

fn has(files: &[String], fragment: &str) -> bool {
    files.iter().any(|f| f.contains(fragment))
}

const BARE_CODES: &[&str] = &[
    "okh-AmboVent",
    "okh-JPL_Open_Source_Rover",
    "okh-Brick_Making_Machine",
];

#[test]
fn prusa_petg_soldering_station_drill_press_fits_printed_designs_not_bare_codes() {
    let (_, v) = ranked("Prusa i3, PETG, soldering station, drill press", 20);
    assert!(v["notes"].as_array().unwrap().is_empty(), "{}", v["notes"]);
    let f = files(&v);
    for bare in BARE_CODES {
        assert!(!has(&f, bare), "{bare} ranks: {f:?}");
    }
    assert!(
        has(&f[..5], "okh-GliaX-Faceshield") || has(&f[..5], "3D_printed"),
        "{f:?}"
    );
    // Nothing about which only a bare TsDC code is known is a full fit.
    for r in v["results"].as_array().unwrap() {
        if r["fit"] == "full" {
            assert!(r["evidence"].as_f64().unwrap() >= 1.0, "{r}");
        }
    }
}

#[test]
fn cnc_router_mdf_hand_tools_gives_sheet_wood_not_a_laptop_or_a_tie() {
    let (_, v) = ranked("CNC router, MDF, hand tools", 40);
    let f = files(&v);
    for never in ["okh-MNT-Reform", "okh-Poppy_Humanoid", "okh-AmboVent"] {
        assert!(!has(&f, never), "{never}: {f:?}");
    }
    assert!(has(&f[..3], "Zane_Middle_School_portable_cubbies"), "{f:?}");
    let scores: Vec<f64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    let tied = scores.iter().filter(|s| **s == scores[0]).count();
    assert!(tied <= 3, "{tied} designs tied at the top: {scores:?}");
}

#[test]
fn hammer_saw_screwdriver_wood_glue_timber_puts_the_chair_on_top() {
    let (_, v) = ranked("hammer, saw, screwdriver, wood glue, timber", 20);
    assert!(
        v["input"]["unrecognised"].as_array().unwrap().is_empty(),
        "wood glue is a known word: {}",
        v["input"]
    );
    let f = files(&v);
    let chair = f
        .iter()
        .position(|f| f.contains("okh-chair-helpful"))
        .unwrap();
    assert!(chair < 3, "the Chair is #{}: {f:?}", chair + 1);
    let r = &v["results"][chair];
    assert_eq!(r["fit"], "full", "{r}");
    // Its missing parts read as the manifest's words, ids only in JSON.
    let missing: Vec<&str> = r["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(missing, ["(chair legs)", "(seat)", "(chair back)"]);
    assert!(
        r["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == "wikidata:Q79928004" && q["requirement"] == "chair legs"),
        "{r}"
    );
}

#[test]
fn arduino_breadboard_multimeter_are_known_and_a_test_bed_title_is_no_fit() {
    let (_, v) = ranked("Arduino, breadboard, multimeter", 20);
    let recognised: Vec<&str> = v["input"]["recognised"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["phrase"].as_str().unwrap())
        .collect();
    assert_eq!(recognised, ["Arduino", "breadboard", "multimeter"]);
    let f = files(&v);
    assert!(!has(&f, "CubeSat_Attitude_System"), "{f:?}");
    assert!(has(&f[..5], "arduino-voltage-amplifier"), "{f:?}");
    // Flour, sugar and a sewing needle are words makers use, too.
    let tax = Taxonomy::builtin();
    for word in [
        "flour",
        "sugar",
        "wood glue",
        "sewing needle",
        "microcontroller",
        "Ender 3",
        "Bambu Lab",
        "3-D printer",
    ] {
        assert!(tax.lookup(word).is_some(), "{word}");
    }
}

#[test]
fn the_sewing_room_is_read_as_sewing_with_a_note_and_produces_no_arduino_project() {
    let tax = Taxonomy::builtin();
    let rel = "okw/helpfulengineering-library/alpha/okw/RobTestOKWForSewing.yml";
    let f = parse_facilities(&std::fs::read(Path::new(CORPUS).join(rel)).unwrap(), rel)
        .unwrap()
        .remove(0);
    let input = Input::from_facility(&f, tax);
    assert!(
        input.notes.iter().any(|n| n.contains("Q211387")
            && n.contains("Sewing of simple")
            && n.contains("Q652122")
            && n.contains("read as Sewing")),
        "{:?}",
        input.notes
    );
    let soldering = tax.by_key("soldering").unwrap();
    assert!(!input.caps.terms.contains(&Term::Concept(soldering)));
    let designs = corpus_designs(tax);
    let idx = designs.index(tax).unwrap();
    let p = idx.profile(&input.caps);
    let opts = RankOptions {
        threshold: 0.0,
        complete_only: true,
        top: 50,
    };
    let made: Vec<&str> = idx
        .rank(&p, &opts)
        .iter()
        .map(|r| designs.info[r.design].file.as_str())
        .collect();
    for electronic in ["arduino", "OttoDIY", "BCN3D", "LED-Zappelin", "okh-HL035"] {
        assert!(!made.iter().any(|m| m.contains(electronic)), "{made:?}");
    }
    assert!(
        made.iter()
            .any(|m| m.contains("okh-manifest-surge-english")),
        "{made:?}"
    );
}

#[test]
fn plan_for_the_chair_takes_legs_seat_and_back_from_chair_supplies() {
    let o = okmesh(&[
        "plan",
        &format!("{CORPUS}/okh/helpfulengineering-library/alpha/okh/okh-chair-helpful.yml"),
        "--facilities",
        &format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw"),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("every critical requirement covered"), "{out}");
    for part in ["chair legs", "seat", "chair back"] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(part) && l.ends_with("Chair Supplies")),
            "{part}: {out}"
        );
    }
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("Hammer") && l.ends_with("James Maker Space")),
        "{out}"
    );
    assert!(out.contains("gaps (critical): -"), "{out}");
    assert!(out.contains("gaps (optional): -"), "{out}");
    assert!(!out.contains("wikidata:"), "ids only with --json: {out}");
}

#[test]
fn a_misspelling_is_applied_with_a_note_and_gives_results() {
    let (_, v) = ranked("soldring iron, multimeter", 20);
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("read \"soldring iron\" as \"soldering iron\""),
        "{}",
        v["notes"]
    );
    assert!(!v["results"].as_array().unwrap().is_empty());
    // An ambiguous or short one is not: "hose" is not a misspelt "hoe".
    let d = build_profile("hose", Taxonomy::builtin());
    assert!(d.corrected.is_empty(), "{:?}", d.corrected);
}

#[test]
fn the_header_counts_every_design_that_passes_whatever_top() {
    let header = |top: &str| {
        let o = okmesh(&[
            "match",
            "--have",
            "3d printer, PLA",
            "--corpus",
            &format!("{CORPUS}/okh"),
            "--top",
            top,
        ]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{err}");
        out.lines().next().unwrap().to_owned()
    };
    let one = header("1");
    let many = header("500");
    let count = |h: &str| {
        h.split(" of ")
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(count(&one), count(&many), "{one} / {many}");
    assert!(one.contains("the best 1 shown"), "{one}");
    let o = okmesh(&[
        "match",
        "--have",
        "3d printer",
        "--corpus",
        CORPUS,
        "--top",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--top 0"), "{}", text(&o).1);
}

#[test]
fn nothing_passing_gives_the_nearest_miss() {
    let o = okmesh(&[
        "match",
        "--have",
        "hand tools",
        "--corpus",
        &format!("{CORPUS}/okh"),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("0 of"), "{out}");
    assert!(out.contains("nothing passes; nearest: "), "{out}");
}

#[test]
fn import_prints_each_warning_unless_quiet() {
    let dir = temp_dir("import-warnings");
    let file = format!(
        "{CORPUS}/okh/helpfulengineering-library/alpha/okh/okh-chococolate-chip-cookies-recipe.yml"
    );
    let db = dir.join("kb");
    let o = okmesh(&["import", &file, "--db", db.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("(2 warnings)"), "{out}");
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(warnings.len(), 2, "{out}");
    assert!(warnings[0].contains("descroption"), "{out}");
    let db2 = dir.join("kb2");
    let o = okmesh(&["import", &file, "--db", db2.to_str().unwrap(), "--quiet"]);
    let (out, _) = text(&o);
    assert!(out.contains("(2 warnings)"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("warning")), "{out}");
}

#[test]
fn a_manifest_given_as_a_facility_is_refused_on_the_command_line() {
    let manifest =
        format!("{CORPUS}/okh/helpfulengineering-library/alpha/okh/okh-chair-helpful.yml");
    for args in [
        vec!["match", "--facility", &manifest, "--corpus", CORPUS],
        vec!["produce", "--facility", &manifest, "--corpus", CORPUS],
    ] {
        let o = okmesh(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("expected an OKW facility, but this is an OKH manifest"),
            "{err}"
        );
    }
    let facility = format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw/ChairParts.okw.yml");
    let o = okmesh(&["plan", &facility, "--facilities", &facility]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("expected an OKH manifest (a design), but this is an OKW facility"),
        "{err}"
    );
}

#[test]
fn a_manifest_posted_as_a_facility_is_refused_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (p, addr) = start_api_node(&lone_udp_radio(), &dir.path().join("n"), &[]);
    let chair = std::fs::read(format!(
        "{CORPUS}/okh/helpfulengineering-library/alpha/okh/okh-chair-helpful.yml"
    ))
    .unwrap();
    let (code, v) = http_json(&addr, "POST", "/facilities?name=chair.yml", &chair);
    assert_eq!(code, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("expected an OKW facility, but this is an OKH manifest"),
        "{v}"
    );
    let kitchen = std::fs::read(format!(
        "{CORPUS}/okw/helpfulengineering-library/beta/okw/james-kitchen.yml"
    ))
    .unwrap();
    let (code, v) = http_json(&addr, "POST", "/manifests?name=kitchen.yml", &kitchen);
    assert_eq!(code, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("OKW facility"), "{v}");
    p.terminate();
}

#[test]
fn an_empty_or_missing_corpus_is_an_error() {
    let empty = temp_dir("empty-corpus");
    for dir in [empty.to_str().unwrap(), "/nonexistent/okmesh-corpus"] {
        let o = okmesh(&["match", "--have", "3d printer", "--corpus", dir]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{dir}: {err}");
        assert!(err.contains(dir), "{err}");
    }
    let o = okmesh(&[
        "match",
        "--have",
        "3d printer",
        "--corpus",
        &format!("{CORPUS}/okw"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("holds no OKH manifest"),
        "{}",
        text(&o).1
    );
}

/// A LOSH-list style manifest: a name and prose, nothing declared.
fn prose(name: &str, function: &str) -> Vec<String> {
    let tax = Taxonomy::builtin();
    let toml = format!(
        "okhv = \"OKH-LOSHv1.0\"\nname = {name:?}\nrepo = \"https://www.appropedia.org/{}\"\nlicense = \"CC-BY-SA-4.0\"\nfunction = {function:?}\n",
        name.replace(' ', "_")
    );
    let m = parse_manifest(toml.as_bytes(), "prose.toml").unwrap();
    derive(&m, tax)
        .requirements
        .iter()
        .map(|r| r.term.id(tax))
        .collect()
}

#[test]
fn prose_inference_reads_needs_in_context_only() {
    // Boilerplate and unrelated senses add nothing.
    let k = prose(
        "Door stop",
        "A wedge for doors. All files can be found at YouMagine.",
    );
    assert!(!k.contains(&"sander".to_owned()), "{k:?}");
    let k = prose(
        "Prosthetic foot",
        "Made for a patient with a foot turned inward. It is 3D printed.",
    );
    assert!(!k.contains(&"turning".to_owned()), "{k:?}");
    assert!(k.contains(&"3d_printing".to_owned()), "{k:?}");
    // Appropedia's spelling, and materials named in prose.
    let k = prose(
        "Hanger",
        "== Bill of Materials == PLA filament  == Tools needed == MOST Delta RepRap or similar RepRap 3-D printer",
    );
    assert!(k.contains(&"3d_printer".to_owned()), "{k:?}");
    assert!(k.contains(&"pla".to_owned()), "{k:?}");
    let k = prose("Shelf", "The shelf is made of plywood and screws.");
    assert!(k.contains(&"plywood".to_owned()), "{k:?}");
    assert!(k.contains(&"woodworking".to_owned()), "{k:?}");
    // Non-English manifests.
    let k = prose(
        "Halterung",
        "Eine Halterung, 3D-gedruckt aus PLA, mit einem Lötkolben verdrahtet.",
    );
    assert!(k.contains(&"3d_printing".to_owned()), "{k:?}");
    let k = prose(
        "Maceta",
        "Una maceta modular impresa en 3D, hecha de madera y PLA.",
    );
    assert!(k.contains(&"3d_printing".to_owned()), "{k:?}");
    assert!(k.contains(&"wood".to_owned()), "{k:?}");
    // The inferred requirement keeps its evidence, and results show it.
    let tax = Taxonomy::builtin();
    let m = parse_manifest(
        b"okhv = \"OKH-LOSHv1.0\"\nname = \"Clip\"\nlicense = \"MIT\"\nfunction = \"A clip printed using the MOST 3D printer.\"\n",
        "clip.toml",
    )
    .unwrap();
    let set = derive(&m, tax);
    let r = set
        .requirements
        .iter()
        .find(|r| r.term.id(tax) == "3d_printer")
        .unwrap();
    assert!(
        r.inferred && r.evidence.contains("printed using the most"),
        "{r:?}"
    );
    let mut idx = MatchIndex::new(tax);
    idx.add(&set).unwrap();
    let p = idx.profile(&build_profile("3-D printer", tax).capabilities);
    let d = detail(&idx, &p, &set);
    assert!(
        d.inferred[0].contains("printed using the most"),
        "{:?}",
        d.inferred
    );
}

#[test]
fn soldering_iron_multimeter_basic_electronics_finds_electronics_not_hiv_tests() {
    let (_, v) = ranked("soldering iron, multimeter, basic electronics", 20);
    let f = files(&v);
    for never in [
        "CD4_Initiative_Test",
        "DIY_water_quality_testing",
        "PathoScreen",
        "CubeSat",
    ] {
        assert!(!has(&f, never), "{never}: {f:?}");
    }
    assert!(has(&f[..5], "openflexure-simple-illumination"), "{f:?}");
}

#[test]
fn facility_equipment_maps_to_the_processes_it_provides() {
    let tax = Taxonomy::builtin();
    let json = br#"{"name": "SMT line", "location": {"city": "Berlin"},
        "equipment": [
          {"equipment_type": "https://en.wikipedia.org/wiki/Pick-and-place_machine"},
          {"equipment_type": "https://en.wikipedia.org/wiki/Reflow_oven"},
          {"equipment_type": "Surface grinder"}]}"#;
    let f = parse_facilities(json, "smt.json").unwrap().remove(0);
    let mut idx = MatchIndex::new(tax);
    let mk = |procs: &str| {
        derive(
            &parse_manifest(
                format!(
                    r#"{{"title": "T {}", "manufacturing_processes": [{procs}]}}"#,
                    procs.len()
                )
                .as_bytes(),
                "t.json",
            )
            .unwrap(),
            tax,
        )
    };
    let solder = idx.add(&mk("\"soldering\"")).unwrap();
    let smt = idx.add(&mk("\"SMT assembly\"")).unwrap();
    let grind = idx.add(&mk("\"surface grinding\"")).unwrap();
    let metal = idx.add(&mk("\"metalworking\"")).unwrap();
    let p = idx.profile(&f.capabilities(tax));
    assert!(idx.score(&p, solder).full, "a reflow line solders");
    assert!(idx.score(&p, smt).full);
    assert!(idx.score(&p, grind).full, "a surface grinder grinds");
    assert!(
        !idx.score(&p, metal).full,
        "a surface grinder is no angle grinder"
    );
    assert_eq!(
        tax.lookup_tsdc("SHEET")
            .map(|c| tax.concept(c).key.as_str()),
        Some("sheet_metal")
    );
    for code in [
        "ASM-PCB", "COM-STD", "PRC-MAT", "PRC-COT", "ASM-WEL", "SET-SOF",
    ] {
        assert!(tax.lookup_tsdc(code).is_some(), "{code}");
    }
}

#[test]
fn supply_graph_ai_current_manifests_parse_with_bom_mappings_and_domain() {
    let tax = Taxonomy::builtin();
    let json = br#"{
      "title": "Sensor Kit", "version": "1.0.0", "okhv": "OKH-LOSHv1.0",
      "function": "A sensor", "manufacturing_processes": ["PCB", "3DP"],
      "bom": {"id": "b1", "name": "Sensor Kit BOM", "metadata": {"rev": 2},
        "components": [
          {"id": "c1", "name": "Sensor PCB", "quantity": 1, "unit": "pcs",
           "sub_components": [{"id": "c2", "name": "ESP32", "quantity": 1, "unit": "pcs"}]},
          {"id": "c3", "name": "PLA", "quantity": 50, "unit": "g"},
          "a loose string",
          {"id": "c4", "quantity": 2}
        ]}
    }"#;
    let m = parse_manifest(json, "kit.json").unwrap();
    assert_eq!(m.bom_components, ["Sensor PCB", "ESP32", "PLA"]);
    assert!(m.extra.contains_key("bom"), "the mapping is kept");
    assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
    let ids: Vec<String> = derive(&m, tax)
        .requirements
        .iter()
        .map(|r| r.term.id(tax))
        .collect();
    for want in [
        "pcb_fabrication",
        "3d_printing",
        "microcontroller_board",
        "pla",
    ] {
        assert!(ids.contains(&want.to_owned()), "{want}: {ids:?}");
    }
    // The cooking domain, declared.
    let recipe = br#"{"title": "Flatbread", "domain": "cooking", "function": "Bread",
        "tool_list": ["Oven"], "materials": [{"material_id": "flour", "name": "Flour"}]}"#;
    let set = derive(&parse_manifest(recipe, "bread.json").unwrap(), tax);
    assert_eq!(set.domain.as_str(), "cooking");
    let kitchen = br#"{"name": "Kitchen", "domain": "cooking", "location": {"city": "Accra"},
        "equipment": ["oven"]}"#;
    let f = parse_facilities(kitchen, "k.json").unwrap().remove(0);
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    let mut idx = MatchIndex::new(tax);
    let d = idx.add(&set).unwrap();
    let p = idx.profile(&f.capabilities(tax));
    assert!(idx.score(&p, d).complete(), "{:?}", idx.score(&p, d));
}

#[test]
fn ids_keep_the_case_of_case_sensitive_repository_addresses() {
    let id = |repo: &str| {
        parse_manifest(
            format!("okhv = \"OKH-LOSHv1.0\"\nname = \"Quake Safe\"\nrepo = \"{repo}\"\n")
                .as_bytes(),
            "q.toml",
        )
        .unwrap()
        .item_id
    };
    // MediaWiki page names are case-sensitive: two designs.
    assert_ne!(
        id("https://www.appropedia.org/Quake_Safe"),
        id("https://www.appropedia.org/Quake_safe")
    );
    // The host is not, nor are GitHub paths.
    assert_eq!(
        id("https://WWW.Appropedia.org/Quake_Safe"),
        id("http://appropedia.org/Quake_Safe/")
    );
    assert_eq!(
        id("https://github.com/OPEN-NEXT/LOSH"),
        id("https://github.com/open-next/losh.git")
    );
}
