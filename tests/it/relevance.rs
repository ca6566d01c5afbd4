//! The relevance test set (issue 14, item 10): what a maker types, or a
//! facility file, and the designs of `corpus/okh` a person who read the
//! manifests expects on top — and the ones that must not appear at all.
//!
//! Every case was written by reading the corpus manifests: `relevant`
//! lists the designs the input can plausibly make (by file name fragment,
//! so that two designs with one title stay apart), `never` the ones it
//! cannot, or that only an artefact of matching would rank (a bare TsDC
//! code covered by a drill press, a title containing "Test Bed").
//!
//! The metric, printed by [`relevance_set_precision_at_5`] (`cargo test
//! --test it relevance -- --nocapture`): **precision at 5** of a case is
//! the share of its first five results that are relevant, out of
//! `min(5, relevant designs)`; the set's figure is the mean over cases.
//! A `never` design anywhere in the first 20 results (what `okmesh match`
//! shows by default) and a wrong `first` are counted as violations.

use std::path::Path;

use catalogue::matching::{MatchIndex, RankOptions};
use catalogue::okh::parse_manifest;
use catalogue::okw::parse_facilities;
use catalogue::ranked::{Designs, Input};
use catalogue::taxonomy::Taxonomy;

use crate::corpus::{CORPUS, files};

/// How a case asks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ask {
    /// `okmesh match --have TEXT`.
    Have(&'static str),
    /// `okmesh produce --facility FILE` (relative to the corpus).
    Produce(&'static str),
}

/// One case of the set.
pub(crate) struct Case {
    /// Short name.
    pub name: &'static str,
    /// The input.
    pub ask: Ask,
    /// Designs the input can make (file name fragments).
    pub relevant: &'static [&'static str],
    /// A design that must be among the first `n` (any of the fragments),
    /// when one clearly must.
    pub first: Option<(&'static [&'static str], usize)>,
    /// Designs that must not be among the first 20 results.
    pub never: &'static [&'static str],
}

/// Designs made by 3D printing alone (FFF, PLA or PETG), read from their
/// manifests ("3D printed", "3-D printable", a RepRap as the tool).
const PRINTED: &[&str] = &[
    "okh-GliaX-Faceshield",
    "openflexure-microscope",
    "openflexure-block-stage",
    "openflexure-delta-stage",
    "Flypi",
    "Syringe",
    "picamera",
    "okh-DR002",
    "okh-GN009",
    "okh-SS003",
    "okh-HL015",
    "okh-HL038",
    "3D_printed_prosthetic_foot",
    "3D_printed_2_liter_winnower",
    "3D_printed_custom_T-shirt",
    "Rockwall_hold",
    "Saline_Water_Filter",
    "Snap_together_shovel",
    "braille-signage",
    "Arctic_Cat_Snowmobile",
    "Charcoal_Holder_Pen",
    "Compost_Toilet_Hinge",
    "Unicef_Developmental_Kit",
    "Pipette_Carousel",
    "ClampRing",
    "Hand_Washing_Station",
    "solar_wax_melter",
    "Radiation_Shield",
    "Water_bottle_filter",
    "Parametric_Nasopharyngeal_Swab",
    "Stand_for_SLA_device",
    "Vibration_Dampener",
    "Car_Heater-Vent_Hanger",
];

/// Designs that need 3D printing and electronics (an Arduino, LEDs, a
/// board to solder).
const PRINTED_ELECTRONICS: &[&str] = &[
    "OttoDIY",
    "Otto-DIY",
    "okh-BCN3D_MOVEO",
    "okh-Poppy_Humanoid",
    "openflexure-simple-illumination",
    "okh-Koruza",
    "mech-jiwe",
];

/// Designs that are electronics to build with a soldering iron: boards,
/// LEDs, microcontrollers, meters.
const ELECTRONICS: &[&str] = &[
    "arduino-voltage-amplifier",
    "okh-spikeling",
    "openflexure-simple-illumination",
    "LED-Zappelin",
    "Openspritzer",
    "test-tube-photometer",
    "open-visual-stimulator",
    "Control_Board_for_Grilled_Cheese_Maker",
    "Extra_Low_voltage_power_supply",
    "Flock_House_Hyper_Visible_Power_Meter",
    "Freeplay_Fetal_Heart_Rate_Monitor",
    "okh-HL035",
    "okh-ventmon",
    "Team_X_Water_Meter",
    "NYC-MTA-Next-Train",
    "Adjustable_Heated_Bed",
    "Filament_Diameter_Sensor",
];

/// Sewn textile designs.
const SEWN: &[&str] = &[
    "okh-manifest-surge-english",
    "okh-manifest-surge-spanish",
    "Building_an_inexpensive_mosquito_net",
    "Anti-Shock_Garment",
    "Nets_for_Uganda",
    "Projet-Pilote-Open",
    "okh-manifest-makermask-origami",
];

/// Sheet-wood and timber designs (MDF, plywood, lumber).
const WOODEN: &[&str] = &[
    "Zane_Middle_School_portable_cubbies",
    "DIY_Graphing_Chalkboard",
    "Hexayurt_H2",
    "Solar_Fruit_Dehydrator",
    "A__frame",
];

/// The two chairs that need exactly a hammer, a saw and a screwdriver
/// (`tool-list-atoms`; one is the upholstered seat).
const CHAIRS: &[&str] = &["okh-chair-helpful", "okh-seat-helpful"];

/// The recipes.
const RECIPES: &[&str] = &[
    "okh-quaker-oats-oatmeal-recipe",
    "okh-chococolate-chip-cookies-recipe",
    "beta/okh/bread.yml",
];

/// Stoves and cookers, which no kitchen of recipes makes.
const COOKERS: &[&str] = &[
    "Kerosene_stove",
    "parabolic_solar_cooker",
    "Updated_cooking_methods",
];

/// Designs whose only stated need is a bare TsDC code (MEC or ASM): nothing
/// a maker has can show that they can make them.
const BARE_CODES: &[&str] = &[
    "okh-AmboVent",
    "okh-JPL_Open_Source_Rover",
    "okh-Brick_Making_Machine",
    "okh-Crown_Cap_Machine",
    "okh-Hammer_Mill",
    "okh-MNT-Reform",
];

/// The lists together, sorted, without duplicates.
fn union(lists: &[&'static [&'static str]]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    out.sort();
    out.dedup();
    out
}

/// The set. Lists are leaked into `'static` slices once.
pub(crate) fn cases() -> Vec<Case> {
    let leak = |v: Vec<&'static str>| -> &'static [&'static str] { Vec::leak(v) };
    let printed_all = leak(union(&[PRINTED, PRINTED_ELECTRONICS]));
    let printed_or_electronics = leak(union(&[PRINTED, PRINTED_ELECTRONICS, ELECTRONICS]));
    let electronics = leak(union(&[ELECTRONICS, &["openflexure-simple-illumination"]]));
    vec![
        Case {
            name: "issue: Prusa, PETG, soldering station, drill press",
            ask: Ask::Have("Prusa i3, PETG, soldering station, drill press"),
            relevant: printed_or_electronics,
            first: None,
            never: BARE_CODES,
        },
        Case {
            name: "issue: CNC router, MDF, hand tools",
            ask: Ask::Have("CNC router, MDF, hand tools"),
            relevant: WOODEN,
            first: None,
            never: &[
                "okh-MNT-Reform",
                "okh-Poppy_Humanoid",
                "okh-AmboVent",
                "okh-JPL_Open_Source_Rover",
                "okh-Index",
            ],
        },
        Case {
            name: "issue: hammer, saw, screwdriver, wood glue, timber",
            ask: Ask::Have("hammer, saw, screwdriver, wood glue, timber"),
            relevant: leak(union(&[CHAIRS, WOODEN])),
            first: Some((CHAIRS, 3)),
            never: BARE_CODES,
        },
        Case {
            name: "issue: Arduino, breadboard, multimeter",
            ask: Ask::Have("Arduino, breadboard, multimeter"),
            relevant: electronics,
            first: None,
            never: &[
                "CubeSat_Attitude_System",
                "Kerosene_stove",
                "DIY_water_quality_testing",
            ],
        },
        Case {
            name: "issue: the sewing room produces",
            ask: Ask::Produce("okw/helpfulengineering-library/alpha/okw/RobTestOKWForSewing.yml"),
            relevant: SEWN,
            first: None,
            never: &[
                "arduino-voltage-amplifier",
                "OttoDIY",
                "okh-BCN3D_MOVEO",
                "okh-HL035",
                "Openspritzer",
                "LED-Zappelin",
            ],
        },
        Case {
            name: "issue: soldering iron, multimeter, basic electronics",
            ask: Ask::Have("soldering iron, multimeter, basic electronics"),
            relevant: electronics,
            first: None,
            never: &[
                "CD4_Initiative_Test",
                "DIY_water_quality_testing",
                "PathoScreen",
                "CubeSat_Attitude_System",
                "Mid-Upper_Arm_Circumference",
            ],
        },
        Case {
            name: "issue: 3-D printer (Appropedia spelling), PLA",
            ask: Ask::Have("3-D printer, PLA"),
            relevant: printed_all,
            first: None,
            never: leak(union(&[&["okh-chair-helpful"], RECIPES, BARE_CODES])),
        },
        Case {
            name: "dessert kitchen produces",
            ask: Ask::Produce("okw/helpfulengineering-library/beta/okw/RobDessertKitchen.yml"),
            relevant: RECIPES,
            first: None,
            never: COOKERS,
        },
        Case {
            name: "cookie kitchen in words",
            ask: Ask::Have(
                "oven, sheet pan, spatula, butter, white sugar, brown sugar, all-purpose flour, egg, vanilla extract",
            ),
            relevant: RECIPES,
            first: None,
            never: leak(union(&[COOKERS, &["earthen_solar_cooker"]])),
        },
        Case {
            name: "bread kitchen",
            ask: Ask::Have("flour, sugar, butter, salt, yeast, rolling pin, loaf pan, oven"),
            relevant: RECIPES,
            first: Some((&["beta/okh/bread.yml"], 1)),
            never: &["Kerosene_stove", "parabolic_solar_cooker"],
        },
        Case {
            name: "sewing machine, scissors, cotton fabric",
            ask: Ask::Have("sewing machine, scissors, cotton fabric, measuring tape"),
            relevant: SEWN,
            first: None,
            never: &[
                "arduino-voltage-amplifier",
                "okh-chair-helpful",
                "okh-MNT-Reform",
            ],
        },
        Case {
            name: "welding shop",
            ask: Ask::Have("welder, angle grinder, steel tube, drill press"),
            relevant: &[
                "okh-Long_Andre_Cargo_Bike",
                "okh-Carla_Cargo_Crowd",
                "Backpack_frame_bike_trailer",
                "Adjustabike",
            ],
            first: None,
            never: leak(union(&[RECIPES, SEWN, &["okh-MNT-Reform"]])),
        },
        Case {
            name: "PCB lab",
            ask: Ask::Have("PCB fabrication, soldering iron, reflow oven, pick and place machine"),
            relevant: &[
                "okh-MPPT-1210-HUS",
                "okh-OpenEVSE",
                "okh-crKbd",
                "okh-Pslab-hardware",
            ],
            first: None,
            never: leak(union(&[RECIPES, &["CCAT_Earthship_Wall", "Cob_Bench"]])),
        },
        Case {
            name: "gardener",
            ask: Ask::Have("shovel, garden tools, compost"),
            relevant: &[
                "AEF_spiral_herb_garden",
                "CCAT_Raised_Garden_Beds",
                "Sunny_Brae_Middle_School_Garden",
                "Willow_and_blueberry_guild",
                "DIY_compost_bin_projects",
                "How_to_make_a_compost_bin",
                "Jardim_Vertical",
                "Deidre_s_Vertical_Garden",
                "Mumbai_Port_Trust_terrace_garden",
                "Microfarm",
                "starter_box_mobile_greenhouse",
                "GardenPool",
                "Bayside_Park_Farm_living_roof",
            ],
            first: None,
            never: &[
                "arduino-voltage-amplifier",
                "okh-MNT-Reform",
                "okh-AmboVent",
            ],
        },
        Case {
            name: "earth builder",
            ask: Ask::Have("cement, trowel, concrete mixer, bricks"),
            relevant: &[
                "CCAT_Earthship_Wall",
                "CCAT_earthbag_garden_terrace",
                "Cob_Bench",
                "World_Shelters_Rubble_to_Resource",
                "CCAT_greenshed_west_wall",
                "Starboard_Cork_house",
                "Quake_Safe",
                "CCAT_natural_concrete_stain",
                "A_Recipe_To_Live",
            ],
            first: None,
            never: leak(union(&[RECIPES, &["arduino-voltage-amplifier"]])),
        },
        Case {
            name: "plumber",
            ask: Ask::Have("pipe wrench, pipe cutter, PVC pipe, hose"),
            relevant: &[
                "greywater_system",
                "Greywater_Ecuador",
                "CCAT_rainwater_catchment_system",
                "Drip_Irrigation",
                "Pour_flush_toilet",
                "Rain_chain",
                "Hand_Washing_Station",
                "okh-WA006",
                "okh-WA010",
                "okh-WA003",
            ],
            first: None,
            never: leak(union(&[RECIPES, &["arduino-voltage-amplifier"]])),
        },
        Case {
            name: "post-processing facility (supply-graph-ai) produces",
            ask: Ask::Produce(
                "fixtures/supply-graph-ai/workflow-data/workflow1/okw/post-processing-facility-1-005-okw.json",
            ),
            relevant: PRINTED,
            first: None,
            never: leak(union(&[RECIPES, SEWN, BARE_CODES])),
        },
        Case {
            name: "PCB fabrication facility (supply-graph-ai) produces",
            ask: Ask::Produce(
                "fixtures/supply-graph-ai/workflow-data/workflow2/okw/pcb-fabrication-facility-1-001-okw.json",
            ),
            relevant: leak(union(&[
                &[
                    "okh-MPPT-1210-HUS",
                    "okh-OpenEVSE",
                    "okh-crKbd",
                    "okh-Pslab-hardware",
                ],
                ELECTRONICS,
            ])),
            first: None,
            never: leak(union(&[RECIPES, SEWN])),
        },
        Case {
            name: "Raspberry Pi maker",
            ask: Ask::Have("raspberry pi, soldering iron, 3d printer"),
            relevant: leak(union(&[
                &[
                    "NYC-MTA-Next-Train",
                    "picamera",
                    "openflexure-microscope",
                    "Flypi",
                    "poseidon",
                ],
                PRINTED,
                ELECTRONICS,
            ])),
            first: None,
            never: leak(union(&[RECIPES, &["CCAT_Earthship_Wall"]])),
        },
        Case {
            name: "loom builder",
            ask: Ask::Have("3d printer, PLA, ABS, saw, wood, screws"),
            relevant: leak(union(&[&["okh-OHLOOM"], PRINTED, WOODEN])),
            first: None,
            never: &["okh-MNT-Reform", "okh-AmboVent"],
        },
        Case {
            name: "injection moulder",
            ask: Ask::Have("injection moulding machine, PET"),
            relevant: &["okh-manifest-covisor"],
            first: Some((&["okh-manifest-covisor"], 1)),
            never: &["okh-chair-helpful", "okh-MNT-Reform"],
        },
        Case {
            name: "face shield from film",
            ask: Ask::Have("scissors, PET film, elastic"),
            relevant: &["okh-orgami-face-shield", "okh-manifest-makermask-origami"],
            first: None,
            never: &["arduino-voltage-amplifier", "okh-MNT-Reform"],
        },
        Case {
            name: "printer and CNC mill",
            ask: Ask::Have("3d printer, PLA, cnc mill, aluminium"),
            relevant: leak(union(&[&["okh-cosiMeasureMechanical"], PRINTED])),
            first: None,
            never: leak(union(&[RECIPES, SEWN])),
        },
        Case {
            name: "German: 3D-Drucker, PLA, Lötkolben",
            ask: Ask::Have("3D-Drucker, PLA, Lötkolben"),
            relevant: printed_or_electronics,
            first: None,
            never: leak(union(&[RECIPES, &["CCAT_Earthship_Wall"]])),
        },
        Case {
            name: "Spanish: impresora 3D, PLA",
            ask: Ask::Have("impresora 3D, PLA"),
            relevant: printed_all,
            first: None,
            never: leak(union(&[RECIPES, BARE_CODES])),
        },
        Case {
            name: "assembler with hand tools",
            ask: Ask::Have("hand tools, screwdriver, allen keys"),
            relevant: &[
                "FairITYourself__assembly-kit",
                "Adjustabike",
                "okh-chair-helpful",
            ],
            first: None,
            never: &[
                "okh-MNT-Reform",
                "okh-Poppy_Humanoid",
                "okh-Index",
                "okh-axiom",
                "okh-Makair",
            ],
        },
        Case {
            name: "carpenter",
            ask: Ask::Have("drill, saw, plywood, screws, sandpaper"),
            relevant: WOODEN,
            first: None,
            never: &["arduino-voltage-amplifier", "okh-MNT-Reform"],
        },
        Case {
            name: "James Maker Space produces",
            ask: Ask::Produce(
                "okw/helpfulengineering-library/alpha/okw/DevhawkEngineering.okw.yml",
            ),
            relevant: CHAIRS,
            first: Some((CHAIRS, 2)),
            never: BARE_CODES,
        },
        Case {
            name: "issue: sewing needle, thread, fabric",
            ask: Ask::Have("sewing needle, thread, fabric, scissors"),
            relevant: SEWN,
            first: None,
            never: &["arduino-voltage-amplifier", "OttoDIY"],
        },
        Case {
            name: "issue: misspelled soldring iron",
            ask: Ask::Have("soldring iron, multimeter"),
            relevant: electronics,
            first: None,
            never: &["CubeSat_Attitude_System", "CD4_Initiative_Test"],
        },
        Case {
            name: "issue: brand Ender 3",
            ask: Ask::Have("Ender 3, PLA"),
            relevant: printed_all,
            first: None,
            never: BARE_CODES,
        },
        Case {
            name: "issue: brand Bambu",
            ask: Ask::Have("Bambu, PETG"),
            relevant: printed_all,
            first: None,
            never: BARE_CODES,
        },
        Case {
            name: "microcontroller and LEDs",
            ask: Ask::Have("microcontroller, LEDs, resistors, soldering iron"),
            relevant: electronics,
            first: None,
            never: &["CubeSat_Attitude_System", "DIY_water_quality_testing"],
        },
    ]
}

/// The corpus's designs, as `okmesh match --corpus corpus/okh` loads them
/// (file names relative to the corpus).
pub(crate) fn corpus_designs(tax: &Taxonomy) -> Designs {
    let mut d = Designs::default();
    for f in files("okh") {
        let rel = f.strip_prefix(CORPUS).unwrap_or(&f).display().to_string();
        let bytes = std::fs::read(&f).unwrap();
        let m = parse_manifest(&bytes, &rel).unwrap_or_else(|e| panic!("{e}"));
        d.push(m, tax);
    }
    d
}

/// The ranked designs' files for a case, at most `top`.
pub(crate) fn ranked_files(
    designs: &Designs,
    idx: &MatchIndex<'_>,
    ask: Ask,
    top: usize,
) -> Vec<String> {
    let tax = idx.taxonomy();
    let (input, opts) = match ask {
        Ask::Have(text) => (
            Input::from_text(text, tax).unwrap(),
            RankOptions {
                top,
                ..RankOptions::default()
            },
        ),
        Ask::Produce(rel) => {
            let path = Path::new(CORPUS).join(rel);
            let mut fs = parse_facilities(&std::fs::read(&path).unwrap(), rel).unwrap();
            (
                Input::from_facility(&fs.remove(0), tax),
                RankOptions {
                    threshold: 0.0,
                    complete_only: true,
                    top,
                },
            )
        }
    };
    let p = idx.profile(&input.caps);
    idx.rank(&p, &opts)
        .iter()
        .map(|r| designs.info[r.design].file.clone())
        .collect()
}

fn hits(file: &str, fragments: &[&str]) -> bool {
    fragments.iter().any(|f| file.contains(f))
}

/// Precision at 5 of every case, and the violations, as measured now.
pub(crate) struct Measured {
    /// `(case, precision at 5, violations, first five files)`.
    pub cases: Vec<(&'static str, f64, Vec<String>, Vec<String>)>,
    /// Mean precision at 5.
    pub mean: f64,
}

pub(crate) fn measure() -> Measured {
    let tax = Taxonomy::builtin();
    let designs = corpus_designs(tax);
    let idx = designs.index(tax).unwrap();
    let all: Vec<&str> = designs.info.iter().map(|m| m.file.as_str()).collect();
    let mut out = Vec::new();
    for c in cases() {
        let firsts: &[&str] = c.first.map_or(&[], |f| f.0);
        for f in c.relevant.iter().chain(c.never).chain(firsts) {
            assert!(
                all.iter().any(|a| a.contains(f)),
                "{}: `{f}` names no corpus design",
                c.name
            );
        }
        let relevant_total = all.iter().filter(|a| hits(a, c.relevant)).count();
        let ranked = ranked_files(&designs, &idx, c.ask, 20);
        let top5: Vec<String> = ranked.iter().take(5).cloned().collect();
        let good = top5.iter().filter(|f| hits(f, c.relevant)).count();
        let p5 = good as f64 / relevant_total.clamp(1, 5) as f64;
        let mut violations: Vec<String> = ranked
            .iter()
            .enumerate()
            .filter(|(_, f)| hits(f, c.never))
            .map(|(i, f)| format!("#{} {f}", i + 1))
            .collect();
        if let Some((want, n)) = c.first
            && !ranked.iter().take(n).any(|f| hits(f, want))
        {
            violations.push(format!(
                "none of {want:?} among the first {n}: {:?}",
                ranked.iter().take(n).collect::<Vec<_>>()
            ));
        }
        out.push((c.name, p5, violations, top5));
    }
    let mean = out.iter().map(|c| c.1).sum::<f64>() / out.len() as f64;
    Measured { cases: out, mean }
}

/// Least mean precision at 5 the set must keep (0.321 before issue 14).
const MIN_MEAN_PRECISION_AT_5: f64 = 0.80;

#[test]
#[allow(clippy::print_stdout)]
fn relevance_set_precision_at_5() {
    let m = measure();
    assert!(m.cases.len() >= 30, "the set has {} cases", m.cases.len());
    let mut violations = 0;
    for (name, p5, v, top5) in &m.cases {
        println!("{p5:>5.2}  {name}");
        for f in top5 {
            println!("         {f}");
        }
        for x in v {
            println!("   NOT   {x}");
        }
        violations += v.len();
    }
    println!(
        "relevance set: {} cases, precision at 5 = {:.3}, {violations} violations",
        m.cases.len(),
        m.mean
    );
    assert!(m.mean >= MIN_MEAN_PRECISION_AT_5, "{}", m.mean);
    // 38 violations before issue 14; none may come back.
    assert_eq!(violations, 0, "{violations} violations");
}
