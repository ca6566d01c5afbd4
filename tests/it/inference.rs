//! Inference from prose, judged (issue 14, "must be true"): a random
//! sample of 30 of the corpus's prose-only manifests — the LOSH-list files
//! imported from OKH v1 (`corpus/okh/losh-list/imported_from_v1`), which
//! declare no process, material or tool — with, for each, what a person
//! reading the manifest judged it needs.
//!
//! The sample: the 207 file names sorted, then a partial Fisher–Yates
//! shuffle driven by SplitMix64 seeded with `0x0E14` (issue 14); the first
//! 30. [`the_sample_is_the_judged_one`] checks that the judged list is
//! still that sample.
//!
//! Judgement, per file: `need` — groups of taxonomy keys, any one of which
//! satisfies the need (`3d_printing|fff_printing|3d_printer`); `ok` —
//! keys that are not needed but not wrong either (a plausible reading).
//! Every other inferred key is wrong. **Precision** = inferred keys that
//! are needed or ok / inferred keys; **recall** = need groups met by an
//! inferred key / need groups, both summed over the sample (micro
//! average). Printed by [`prose_inference_precision_and_recall`].
//!
//! The rules of [`catalogue::infer`] were written while looking at that
//! sample, so a second one was judged after they were: [`HELD_OUT`], 20
//! more files drawn the same way (seed `0x0E15`, from the 177 files not in
//! the first sample). Its figures are printed too, as the honest estimate.

use catalogue::okh::parse_manifest;
use catalogue::requirements::{Term, derive};
use catalogue::taxonomy::Taxonomy;

use crate::corpus::{CORPUS, files};

const DIR: &str = "okh/losh-list/imported_from_v1";

/// One judged manifest: file name, need groups, acceptable extras.
type Judged = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const P3D: &str = "3d_printing|fff_printing|3d_printer";
const ELEC: &str = "electronics_assembly|soldering|pcb_fabrication|smt_assembly";
const MCU: &str = "microcontroller_board|electronic_components";

/// The sample, in sample order, with the judgement of each file.
const JUDGED: &[Judged] = &[
    (
        // Natural building with straw; acrylic cases for the compost.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_A_Recipe_To_Live.toml",
        &["masonry"],
        &["acrylic", "woodworking"],
    ),
    (
        // "An easy to use portable lock, no tools needed": nothing stated.
        "field-ready-projects_openknowhow_org____manifests____okh-PR001.toml",
        &[],
        &[],
    ),
    (
        // A RepRap 3-D printer, a tap and die, a spring, a zip tie.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Arctic_Cat_Snowmobile_Choke_Lever.toml",
        &[P3D],
        &[
            "cable_ties",
            "assembly",
            "machining",
            "tap_and_die",
            "filament",
        ],
    ),
    (
        "field-ready-projects_openknowhow_org____manifests____okh-HL004_Large.toml",
        &[],
        &[],
    ),
    (
        // A RepRap 3-D printer printing PLA onto a T-shirt.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_3D_printed_custom_T-shirt.toml",
        &[P3D, "pla|filament"],
        &["fabric", "programming"],
    ),
    (
        // A plate reader and the software to run it.
        "raw_githubusercontent_com____cool-fosh____OSP____master____okh-OSP.toml",
        &[],
        &["programming", "electronics_assembly"],
    ),
    (
        // A power meter that shows storage levels and raises an alert.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Flock_House_Hyper_Visible_Power_Meter.toml",
        &[ELEC],
        &["programming", "electronic_components"],
    ),
    (
        // A chain from a gutter's spout, instead of a downspout.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Rain_chain.toml",
        &[],
        &["plumbing", "metalworking"],
    ),
    (
        "field-ready-projects_openknowhow_org____manifests____okh-SS011.toml",
        &[],
        &[],
    ),
    (
        // A planted (living) roof on an animal hutch.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Bayside_Park_Farm_living_roof.toml",
        &["gardening"],
        &["woodworking", "masonry"],
    ),
    (
        "field-ready-projects_openknowhow_org____manifests____okh-DS006.toml",
        &[],
        &[],
    ),
    (
        // A policy paper on solar microgrids: nothing to make.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_U_S__strategic_solar_photovoltaic-powered_microgrid_deployment_for_enhanced_national_security.toml",
        &[],
        &[],
    ),
    (
        "field-ready-projects_openknowhow_org____manifests____okh-HL027.toml",
        &[],
        &[],
    ),
    (
        // A circuit board with a microcontroller, stepper drivers, breakout boards.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Control_Board_for_Grilled_Cheese_Maker.toml",
        &[ELEC, MCU],
        &[
            "programming",
            "pcb_fabrication",
            "electronic_components",
            "soldering",
        ],
    ),
    (
        // A cob (earth) bench.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_4th_and_F_St__Cob_Bench.toml",
        &["masonry"],
        &["concrete"],
    ),
    (
        // A pen "printed for students" (an OSAT print).
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Charcoal_Holder_Pen.toml",
        &[P3D],
        &["filament", "pla"],
    ),
    (
        "field-ready-projects_openknowhow_org____manifests____okh-HL009.toml",
        &[],
        &[],
    ),
    (
        // What a hori hori knife is used for: nothing on how to make it.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Hori_Hori_Knife______Shovel.toml",
        &[],
        &["metalworking"],
    ),
    (
        // An optical filament diameter sensor module for recyclebots.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Open_Source_3-D_Filament_Diameter_Sensor_for_Recycling__Winding_and_Additive_Manufacturing_Machines.toml",
        &[ELEC],
        &[
            "3d_printing",
            "fff_printing",
            "programming",
            "filament",
            "calipers",
            "electronic_components",
        ],
    ),
    (
        "field-ready-projects_openknowhow_org____manifests____okh-HL001.toml",
        &[],
        &[],
    ),
    (
        // An education programme about farms.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Pop-Up-Farm.toml",
        &[],
        &["gardening"],
    ),
    (
        // An LM741 amplifier on 9 V batteries, an Arduino Due shield.
        "raw_githubusercontent_com____Sussex-Neuroscience____voltage-amplifier____master____okh-arduino-voltage-amplifier.toml",
        &[ELEC, MCU],
        &["pcb_fabrication", "electronic_components", "soldering"],
    ),
    (
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_3D_printed_prosthetic_foot.toml",
        &[P3D],
        &["filament", "pla"],
    ),
    (
        // A campus lighting retrofit proposal.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_HEIF_Redwood_Bowl_lighting.toml",
        &[],
        &["electronics_assembly"],
    ),
    (
        // An article on standby power.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Phantom_power_reducing_power_bars.toml",
        &[],
        &["electronics_assembly"],
    ),
    (
        // A mobile greenhouse for plant experiments.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Zane_Middle_School_starter_box_mobile_greenhouse.toml",
        &[],
        &["gardening", "woodworking"],
    ),
    (
        // German: what to do at an emergency birth.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Notgeburt.toml",
        &[],
        &[],
    ),
    (
        // An aquaponic food-growing system on a barge.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_WetLand_aquaponic_system.toml",
        &["gardening"],
        &["plumbing"],
    ),
    (
        // An ESP32 and a TLC5947 driver for up to 24 LEDs.
        "raw_githubusercontent_com____BadenLab____LED-Zappelin____master____okh-LED-Zappelin.toml",
        &[ELEC, MCU],
        &[
            "programming",
            "pcb_fabrication",
            "electronic_components",
            "soldering",
        ],
    ),
    (
        // Panels of polyiso, plywood or cardboard; a plastic or canvas
        // tarp; filament, duct and foil tape.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Hexayurt_project____Hexayurt_H2.toml",
        &["plywood|paper|wood"],
        &[
            "assembly",
            "woodworking",
            "scissors",
            "paper_folding",
            "fabric",
            "tape",
        ],
    ),
];

/// The held-out sample (see the module docs), judged after the rules were
/// written.
const HELD_OUT: &[Judged] = &[
    (
        // "An open-source incubator for fun and profit."
        "raw_githubusercontent_com____cool-fosh____Fermento____master____okh-Fermento.toml",
        &[],
        &["electronics_assembly"],
    ),
    (
        // Malaria statistics; nothing on how the net is made.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Building_an_inexpensive_mosquito_net.toml",
        &[],
        &["sewing", "fabric"],
    ),
    (
        // "Fetoscope (Electrical)".
        "field-ready-projects_openknowhow_org____manifests____okh-HL035.toml",
        &[ELEC],
        &[],
    ),
    (
        // Natural building: mortise and tenon, wattle and daub, earthen plaster.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Rancho_Mastatal_Starboard_Cork_house.toml",
        &["masonry"],
        &["woodworking", "wood"],
    ),
    (
        // A water test with paper strips and an oven.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_PathoScreen.toml",
        &[],
        &["paper"],
    ),
    (
        // A composting toilet.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_WaterPod_Composting_Toilet.toml",
        &[],
        &["plumbing", "gardening"],
    ),
    (
        // A low voltage supply from an old PC power supply; screwdriver, cable cutter.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Extra_Low_voltage_power_supply.toml",
        &[ELEC],
        &["screwdriver", "pliers", "electronic_components", "computer"],
    ),
    (
        // A lighting retrofit at a bank.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_RCEA_energy_audit_reviews____Coast_Central_Credit_Union.toml",
        &[],
        &["electronics_assembly"],
    ),
    (
        // How to write a cookbook.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_How_to_write_a_cookbook_like_locally_delicious_for_your_bioregion.toml",
        &[],
        &[],
    ),
    (
        // A study of floating PV modules on foams.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Distributed_manufacturing_of_after_market_flexible_floating_photovoltaic_modules.toml",
        &[],
        &["electronics_assembly"],
    ),
    (
        // A desalination plant controversy.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Haverstraw_Water_Supply_Project.toml",
        &[],
        &["plumbing"],
    ),
    (
        // A terrace garden.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Mumbai_Port_Trust_terrace_garden.toml",
        &["gardening"],
        &[],
    ),
    (
        // A policy paper on solar PV.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Leveraging_solar_photovoltaic_technology_for_sustainable_development_in_Ontario_s_aboriginal_communities.toml",
        &[],
        &[],
    ),
    (
        // A case study of CIGS cell recycling.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Semiconductor_recycling_plant_case_study_of_CIGS_photovoltaic_manufacturing.toml",
        &[],
        &[],
    ),
    (
        // "A mounted LED and resistor".
        "gitlab_com____openflexure____openflexure-simple-illumination____-____raw____master____okh.toml",
        &[ELEC, "electronic_components"],
        &["soldering"],
    ),
    (
        // A proposal for local net making.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Nets_for_Uganda__Local_Manufacturing_for_Malaria_Prevention.toml",
        &[],
        &["sewing", "fabric"],
    ),
    (
        // Paper-based diagnostics.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Low-Cost__Point-of-Care_Paper-Based_Microfluidic_Diagnostics.toml",
        &[],
        &["paper"],
    ),
    (
        // Cotton as a crop.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_Pakistan_sustainable_cotton.toml",
        &[],
        &[],
    ),
    (
        // A welded frame, 3D-printed parts, an Arduino.
        "gitlab_com____bath_open_instrumentation_group____mech-jiwe____-____raw____master____okh-MechJiwe.toml",
        &["welding", P3D, "microcontroller_board|electronics_assembly"],
        &[
            "steel",
            "metalworking",
            "electronic_components",
            "filament",
            "3d_printer",
        ],
    ),
    (
        // An interactive display about energy use.
        "www_appropedia_org____generateOpenKnowHowManifest_php_title_RCEA_Know_Your_Load.toml",
        &[],
        &["electronics_assembly"],
    ),
];

/// SplitMix64, as in the module docs.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn sample_of(seed: u64, k: usize, except: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = files(DIR)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| !except.contains(&n.as_str()))
        .collect();
    names.sort();
    let mut rng = SplitMix(seed);
    for i in 0..k {
        let j = i + (rng.next() % (names.len() - i) as u64) as usize;
        names.swap(i, j);
    }
    names.truncate(k);
    names
}

#[test]
fn the_sample_is_the_judged_one() {
    assert_eq!(files(DIR).len(), 207, "SOURCES.md: a sample of 207 of 2054");
    let judged: Vec<&str> = JUDGED.iter().map(|j| j.0).collect();
    assert_eq!(sample_of(0x0E14, 30, &[]), judged);
    let held: Vec<&str> = HELD_OUT.iter().map(|j| j.0).collect();
    assert_eq!(sample_of(0x0E15, 20, &judged), held);
}

/// What was inferred for one file: `(key, phrase)`.
fn inferred(file: &str) -> Vec<(String, String)> {
    let tax = Taxonomy::builtin();
    let path = format!("{CORPUS}/{DIR}/{file}");
    let m = parse_manifest(&std::fs::read(&path).unwrap(), file).unwrap();
    derive(&m, tax)
        .requirements
        .iter()
        .filter(|r| r.inferred)
        .filter_map(|r| match &r.term {
            Term::Concept(c) => Some((tax.concept(*c).key.clone(), r.text.clone())),
            _ => None,
        })
        .collect()
}

/// `(correct inferred, inferred, needs met, needs)` over the sample, with
/// a report line per file.
pub(crate) fn judge(set: &[Judged]) -> ((usize, usize, usize, usize), Vec<String>) {
    let (mut correct, mut total, mut met, mut needs) = (0, 0, 0, 0);
    let mut lines = Vec::new();
    for (file, need, ok) in set {
        let got = inferred(file);
        let in_group = |k: &str, g: &str| g.split('|').any(|x| x == k);
        let mut wrong = Vec::new();
        for (k, phrase) in &got {
            total += 1;
            if need.iter().any(|g| in_group(k, g)) || ok.contains(&k.as_str()) {
                correct += 1;
            } else {
                wrong.push(format!("{k} (\"{phrase}\")"));
            }
        }
        let mut missed = Vec::new();
        for g in *need {
            needs += 1;
            if got.iter().any(|(k, _)| in_group(k, g)) {
                met += 1;
            } else {
                missed.push(*g);
            }
        }
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        lines.push(format!(
            "{:<60} inferred {keys:?}; wrong {wrong:?}; missed {missed:?}",
            file.trim_start_matches("www_appropedia_org____generateOpenKnowHowManifest_php_title_")
                .chars()
                .take(60)
                .collect::<String>()
        ));
    }
    ((correct, total, met, needs), lines)
}

/// Least precision the sample must keep (issue 14's goal; 16/26 = 0.615
/// before it).
const MIN_PRECISION: f64 = 0.85;
/// Least recall the sample must keep (issue 14's goal; 8/18 = 0.444 before).
const MIN_RECALL: f64 = 0.85;

#[test]
#[allow(clippy::print_stdout)]
fn prose_inference_precision_and_recall() {
    let ((correct, total, met, needs), lines) = judge(JUDGED);
    for l in &lines {
        println!("{l}");
    }
    let precision = correct as f64 / total.max(1) as f64;
    let recall = met as f64 / needs.max(1) as f64;
    println!(
        "prose inference on 30 judged manifests: precision {correct}/{total} = {precision:.3}, recall {met}/{needs} = {recall:.3}"
    );
    let ((hc, ht, hm, hn), lines) = judge(HELD_OUT);
    for l in &lines {
        println!("held out: {l}");
    }
    println!(
        "held out, 20 more judged after the rules were written: precision {hc}/{ht} = {:.3}, recall {hm}/{hn} = {:.3}",
        hc as f64 / ht.max(1) as f64,
        hm as f64 / hn.max(1) as f64
    );
    assert!(precision >= MIN_PRECISION, "{precision}");
    assert!(recall >= MIN_RECALL, "{recall}");
}
