//! The onboarding wizard (`/setup`): facility templates and the form that publishes one.

use std::fmt::Write as _;

use catalogue::taxonomy::{ConceptKind, Taxonomy};

use super::{Backend, Page, PageError, esc, html, layout, map, text};

/// A facility template: a label and the taxonomy keys it ticks.
pub const TEMPLATES: [(&str, &str, &[&str]); 6] = [
    (
        "makerspace",
        "Makerspace",
        &[
            "3d_printing",
            "fff_printing",
            "laser_cutting",
            "soldering",
            "electronics_assembly",
            "woodworking",
            "3d_printer",
            "laser_cutter",
            "soldering_iron",
            "hand_tools",
            "power_drill",
            "multimeter",
            "computer",
            "pla",
            "petg",
            "plywood",
            "acrylic",
            "solder",
            "electronic_components",
            "microcontroller_board",
            "fasteners",
        ],
    ),
    (
        "machine-shop",
        "Machine shop",
        &[
            "machining",
            "cnc_machining",
            "cnc_milling",
            "turning",
            "drilling",
            "metalworking",
            "welding",
            "grinding",
            "sheet_metal",
            "cnc_mill",
            "lathe",
            "drill_press",
            "welder",
            "angle_grinder",
            "surface_grinder",
            "sheet_metal_brake",
            "calipers",
            "tap_and_die",
            "hand_tools",
            "steel",
            "aluminium",
            "fasteners",
        ],
    ),
    (
        "sewing",
        "Sewing workshop",
        &[
            "sewing",
            "weaving",
            "sewing_machine",
            "sewing_needle",
            "pins",
            "scissors",
            "loom",
            "fabric",
            "thread",
        ],
    ),
    (
        "electronics",
        "Electronics lab",
        &[
            "electronics_assembly",
            "soldering",
            "smt_assembly",
            "pcb_fabrication",
            "programming",
            "quality_testing",
            "soldering_iron",
            "reflow_oven",
            "multimeter",
            "pcb_mill",
            "breadboard",
            "computer",
            "heat_gun",
            "solder",
            "fr4",
            "electronic_components",
            "microcontroller_board",
            "wire",
        ],
    ),
    (
        "carpentry",
        "Carpentry",
        &[
            "woodworking",
            "drilling",
            "assembly",
            "painting",
            "saw",
            "power_drill",
            "sander",
            "hammer",
            "screwdriver",
            "hand_tools",
            "wood",
            "plywood",
            "wood_glue",
            "fasteners",
        ],
    ),
    (
        "kitchen",
        "Kitchen",
        &[
            "baking",
            "cooking",
            "oven",
            "sheet_pan",
            "spatula",
            "kitchen_utensils",
            "flour",
            "sugar",
            "butter",
            "egg",
            "salt",
            "yeast",
            "food_packaging",
        ],
    ),
];

pub(super) async fn setup_page<B: Backend>(
    b: &B,
    template: Option<&str>,
) -> Result<Page, PageError> {
    let st = b.status().await?;
    let places = b.places().await?;
    // The form starts at this node's own facility, if it has one with a
    // position (the wizard run again edits it).
    let here = places
        .iter()
        .find(|p| p.ours)
        .map(|p| (p.lat_deg, p.lon_deg));
    let tax = Taxonomy::builtin();
    let ticked: &[&str] = TEMPLATES
        .iter()
        .find(|(k, _, _)| Some(*k) == template)
        .map(|t| t.2)
        .unwrap_or(&[]);
    let mut o = String::new();
    let coord = |v: Option<f64>| v.map_or_else(String::new, |d| format!("{d:.5}"));
    let _ = write!(
        o,
        "<h1>{}</h1>{}<form id=\"setup-form\" class=\"card\" method=\"get\" action=\"/setup\">\
<h2>{}</h2><label for=\"name\">{}</label><input type=\"text\" id=\"name\" name=\"name\" required autocomplete=\"organization\">\
<div class=\"row\"><div><label for=\"city\">{}</label><input type=\"text\" id=\"city\"></div>\
<div><label for=\"country\">{}</label><input type=\"text\" id=\"country\"></div>\
<div><label for=\"lat\">{}</label><input type=\"text\" id=\"lat\" inputmode=\"decimal\" value=\"{}\"></div>\
<div><label for=\"lon\">{}</label><input type=\"text\" id=\"lon\" inputmode=\"decimal\" value=\"{}\"></div></div>\
<figure class=\"map-box\">{}<figcaption class=\"note\">{} {}</figcaption></figure>\
<h2>{}</h2><section id=\"radio-check\">{}<h3>{} ({})</h3><div class=\"scroll\">{}</div></section>\
<h2>{}</h2><label for=\"template\">{}</label><select id=\"template\" name=\"template\"><option value=\"\" data-keys=\"\">{}</option>",
        text::SETUP_TITLE,
        text::SETUP_INTRO,
        text::STEP_PLACE,
        text::FACILITY_NAME,
        text::CITY,
        text::COUNTRY,
        text::LATITUDE,
        coord(here.map(|h| h.0)),
        text::LONGITUDE,
        coord(here.map(|h| h.1)),
        map::svg("map", &places, here),
        text::MAP_NOTE,
        if places.is_empty() {
            text::MAP_EMPTY
        } else {
            ""
        },
        text::STEP_RADIO,
        super::status::radio_facts(&st),
        text::NEIGHBOURS,
        st["neighbours"].as_array().map_or(0, Vec::len),
        super::status::neighbour_table(&st),
        text::STEP_PROFILE,
        text::TEMPLATE,
        text::NO_TEMPLATE,
    );
    for (key, label, keys) in &TEMPLATES {
        let sel = if Some(*key) == template {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            o,
            "<option value=\"{key}\" data-keys=\"{}\"{sel}>{label}</option>",
            keys.join(" ")
        );
    }
    let _ = write!(
        o,
        "</select><noscript><button type=\"submit\">{}</button></noscript>",
        text::APPLY_TEMPLATE
    );
    for (kind, legend) in [
        (ConceptKind::Process, text::PROCESSES),
        (ConceptKind::Tool, text::EQUIPMENT),
        (ConceptKind::Material, text::MATERIALS),
    ] {
        let _ = write!(o, "<fieldset><legend>{legend}</legend>");
        for c in tax.concepts().iter().filter(|c| c.kind == kind) {
            let checked = if ticked.contains(&c.key.as_str()) {
                " checked"
            } else {
                ""
            };
            let _ = write!(
                o,
                "<label><input type=\"checkbox\" value=\"{}\" data-kind=\"{}\" data-name=\"{}\"{checked}>{}</label>",
                esc(&c.key),
                kind.as_str(),
                esc(&c.name),
                esc(&c.name)
            );
        }
        o.push_str("</fieldset>");
    }
    let _ = write!(
        o,
        "<label for=\"other\">{}</label><textarea id=\"other\" rows=\"2\"></textarea>\
<h2>{}</h2><p class=\"note\">{}</p><button type=\"submit\" id=\"publish\">{}</button>\
<div id=\"setup-result\" role=\"status\"></div></form>",
        text::OTHER,
        text::STEP_PUBLISH,
        text::PUBLISH_NOTE,
        text::PUBLISH,
    );
    Ok(html(200, layout(text::SETUP_TITLE, "/setup", &o)))
}
