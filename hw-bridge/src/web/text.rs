//! Every word the pages show, in one place for translation.

pub(super) const BRAND: &str = "okmesh node";
pub(super) const NAV: &[(&str, &str)] = &[
    ("/", "Status"),
    ("/setup", "Set up"),
    ("/build", "What can I build?"),
    ("/catalogue", "Catalogue"),
    ("/pair", "Pair"),
];
pub(super) const ERROR_TITLE: &str = "Something went wrong";
pub(super) const NEED_PAIR: &str =
    "<p>This node needs its access token: open <a href=\"/pair\">Pair</a> and enter it.</p>";
pub(super) const PAIR_TITLE: &str = "Pair this browser";
pub(super) const PAIR_BODY: &str = "<h1>Pair this browser</h1><form id=\"pair-form\" class=\"card\">\
<p>Changes to the node (publishing a facility) need the node's access token. On the node, run</p>\
<pre>okmesh key show --token --data-dir DIR</pre>\
<p>and enter the hex digits it prints. This browser keeps the token (local storage and a same-site cookie) and sends it only to this node.</p>\
<label for=\"token\">Access token</label><input type=\"password\" id=\"token\" autocomplete=\"off\">\
<button type=\"submit\" id=\"pair\">Pair</button> <button type=\"button\" id=\"forget\">Forget the token</button>\
<div id=\"pair-result\" role=\"status\"></div></form>";
pub(super) const STATUS_TITLE: &str = "Node status";
pub(super) const NODE_ID: &str = "Node";
pub(super) const NODE_KEY: &str = "Node key";
pub(super) const PUBLISHER_KEY: &str = "Publisher key";
pub(super) const RADIO_LINK: &str = "Radio link";
pub(super) const UP: &str = "<span class=\"ok\">up</span>";
pub(super) const DOWN: &str = "<span class=\"bad\">down</span>";
pub(super) const UPTIME: &str = "Running for";
pub(super) const NEIGHBOURS: &str = "Neighbours heard";
pub(super) const NO_NEIGHBOURS: &str =
    "No neighbour heard yet. Check the radio's region and preset match the other nodes'.";
pub(super) const NEIGHBOUR_HEAD: &str = "<tr><th>Node</th><th>Frames</th><th>RSSI dBm</th><th>SNR dB</th><th class=\"wide\">Hops</th><th>Last heard</th></tr>";
pub(super) const CATALOGUE: &str = "Catalogue held";
pub(super) const ITEMS: &str = "Items";
pub(super) const DESIGNS: &str = "Designs";
pub(super) const FACILITIES: &str = "Facilities";
pub(super) const STORE_USED: &str = "Store used";
pub(super) const FINGERPRINT: &str = "Fingerprint";
pub(super) const SYNC: &str = "Sync";
pub(super) const SUMMARIES_SENT: &str = "Summaries sent";
pub(super) const ITEMS_RECEIVED: &str = "Items received";
pub(super) const DATA_SENT: &str = "Items sent";
pub(super) const WANTS_SENT: &str = "Requests sent";
pub(super) const REJECTED: &str = "Rejected";
pub(super) const DUTY_CYCLE: &str = "Duty cycle used";
pub(super) const SYNC_NOTE: &str =
    "Two nodes are in sync when their catalogue fingerprints are equal.";
pub(super) const SETUP_TITLE: &str = "Set up your facility";
pub(super) const SETUP_INTRO: &str = "<p class=\"note\">Describe your workshop once; the node publishes it to the mesh as an Open Know-Where facility so that makers nearby can find what you can make. Publishing needs this browser to be <a href=\"/pair\">paired</a>.</p>";
pub(super) const STEP_PLACE: &str = "1. Name and place";
pub(super) const FACILITY_NAME: &str = "Facility name";
pub(super) const CITY: &str = "Town or city";
pub(super) const COUNTRY: &str = "Country";
pub(super) const LATITUDE: &str = "Latitude";
pub(super) const LONGITUDE: &str = "Longitude";
pub(super) const STEP_PROFILE: &str = "2. What you have";
pub(super) const TEMPLATE: &str = "Start from a template";
pub(super) const NO_TEMPLATE: &str = "(none)";
pub(super) const PROCESSES: &str = "Processes";
pub(super) const EQUIPMENT: &str = "Equipment";
pub(super) const MATERIALS: &str = "Materials";
pub(super) const OTHER: &str = "Anything else (free text, kept as the description)";
pub(super) const STEP_PUBLISH: &str = "3. Publish";
pub(super) const PUBLISH_NOTE: &str = "The node checks the facility as the CLI does, signs it and shares it with its neighbours. Publishing again with the same name updates it.";
pub(super) const PUBLISH: &str = "Publish to the mesh";
pub(super) const BUILD_TITLE: &str = "What can I build?";
pub(super) const HAVE: &str = "What you have (tools, processes, materials, separated by commas)";
pub(super) const HAVE_EXAMPLE: &str = "3d printer, PLA, soldering iron";
pub(super) const SEARCH: &str = "Show designs";
pub(super) const OR_FACILITY: &str = "…or use a facility on the mesh";
pub(super) const UNRECOGNISED: &str = "Not recognised:";
pub(super) const DID_YOU_MEAN: &str = "did you mean";
pub(super) const RECOGNISED: &str = "Read as:";
pub(super) const NO_RESULTS: &str =
    "No design fits yet. Add what else you have, or wait for more designs to arrive over the mesh.";
pub(super) const MISSING: &str = "Missing:";
pub(super) const SUBSTITUTIONS: &str = "Substitutions:";
pub(super) const CATALOGUE_TITLE: &str = "Catalogue";
pub(super) const NAME_CONTAINS: &str = "Name contains";
pub(super) const KIND: &str = "Kind";
pub(super) const ALL: &str = "All";
pub(super) const ITEM_HEAD: &str =
    "<tr><th>Name</th><th>Kind</th><th>Version</th><th class=\"wide\">Bytes</th></tr>";
pub(super) const FACILITY: &str = "facility";
pub(super) const DESIGN: &str = "design";
pub(super) const DESCRIPTION: &str = "Description";
pub(super) const VERSION: &str = "Version";
pub(super) const KEYWORDS: &str = "Keywords";
pub(super) const LINKS: &str = "Links (open when online)";
pub(super) const PARSE: &str = "Could not read";
pub(super) const ITEM_ID: &str = "Item id";
pub(super) const FILE: &str = "File";
pub(super) const HISTORY: &str = "Versions held";
pub(super) const SEQ: &str = "Version";
pub(super) const CONTENT: &str = "Content id";
pub(super) const BUILD_HERE: &str = "What can this facility build?";
pub(super) const RAW: &str = "The file as published";

/// "N designs ranked of M".
pub(super) fn ranked(shown: usize, designs: u64) -> String {
    format!("{shown} best of {designs} designs")
}

/// "Showing N of M".
pub(super) fn showing(shown: usize, total: usize) -> String {
    format!("Showing {shown} of {total}")
}
