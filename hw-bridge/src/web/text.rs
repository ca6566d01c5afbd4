//! Every word the pages show, in one place for translation.

pub(super) const BRAND: &str = "okmesh node";
pub(super) const NAV: &[(&str, &str)] = &[
    ("/", "Status"),
    ("/setup", "Set up"),
    ("/build", "What can I build?"),
    ("/catalogue", "Catalogue"),
    ("/board", "What's in demand?"),
    ("/publish", "Publish a design"),
    ("/mine", "My items"),
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
pub(super) const SYNC_PEERS: &str = "Neighbours holding all of this catalogue";
pub(super) const SYNC_NOTE: &str =
    "Two nodes are in sync when their catalogue fingerprints are equal.";
pub(super) const RADIO: &str = "Radio";
pub(super) const LINK_KIND: &str = "Link";
pub(super) const LINK_UDP: &str =
    "UDP testbed (no radio: frames go between processes as datagrams)";
pub(super) const LINK_MESHTASTIC: &str = "Meshtastic device";
pub(super) const LINK_ADDRESS: &str = "Address";
pub(super) const REGION: &str = "Region";
pub(super) const PRESET: &str = "Modem preset";
pub(super) const FIRMWARE: &str = "Firmware";
pub(super) const NOT_REPORTED: &str = "not reported by the device";
pub(super) const NONE_ON_UDP: &str = "none: a UDP link has no radio";
pub(super) const UDP_NOTE: &str = "This node runs on the UDP testbed, so there is no region or preset to check: what matters is that the neighbours below are heard.";
pub(super) const RADIO_NOTE: &str = "Every node of a mesh needs the same region and modem preset; change them with the Meshtastic app if a neighbour is not heard.";
pub(super) const CHANNEL_USE: &str = "Channel use";
pub(super) const CHANNEL_UTIL: &str = "Channel busy (all senders, as the radio measures it)";
pub(super) const RADIO_TX: &str = "This radio's transmit time, last hour (as the radio reports it)";
pub(super) const OWN_AIRTIME: &str = "Airtime of this node's frames (the node's own estimate)";
pub(super) const NOT_MEASURED: &str = "not measured: the link reports no channel figures";
pub(super) const RECENT_EVENTS: &str = "Recent events";
pub(super) const NO_EVENTS: &str = "Nothing has happened since the node started.";
pub(super) const AGO: &str = "s ago";
/// What each recent event's kind (as `GET /status` names it) is called.
pub(super) const EVENT_KINDS: &[(&str, &str)] = &[
    ("published", "Published here"),
    ("stored", "Received from the mesh"),
    ("item_rejected", "Item refused"),
    ("frame_rejected", "Frame refused"),
    ("signal_published", "Signal sent"),
    ("signal_taken", "Signal received"),
    ("new_neighbour", "New neighbour heard"),
    ("link_up", "Radio link up"),
    ("link_down", "Radio link down"),
    ("send_refused", "Radio refused a frame"),
    ("package_requested", "Package requested"),
    ("package_complete", "Package complete and verified"),
    ("package_refused", "Package data refused"),
    ("package_cache_failed", "Package cache refused a write"),
];
pub(super) const STEP_RADIO: &str = "2. Radio check";
pub(super) const MAP_TITLE: &str = "Map of known facilities on a latitude and longitude grid";
pub(super) const MAP_HERE: &str = "This facility (from the latitude and longitude fields)";
pub(super) const MAP_NOTE: &str = "The map is drawn by the node, without internet: a grid of latitude and longitude with the facilities whose files give a position (this node's own in green). It has no roads or coastlines. With JavaScript on, click it to fill in the latitude and longitude; the fields can always be typed in.";
pub(super) const MAP_EMPTY: &str =
    "No facility on the mesh gives a position yet, so the map shows the whole world.";
pub(super) const PACKAGE: &str = "Package (the design's files)";
pub(super) const NO_PACKAGE: &str = "Not held here: this node holds no package of this design and is fetching none. A package is fetched by its id: okmesh package request ID --api ADDR.";
pub(super) const PACKAGE_HELD: &str = "Held and verified";
pub(super) const PACKAGE_FETCHING: &str = "Being fetched";
pub(super) const PACKAGE_PARTIAL: &str = "Partly held, not being fetched";
pub(super) const OF: &str = "of";
pub(super) const PIECES: &str = "pieces";
pub(super) const BYTES: &str = "bytes";
pub(super) const FILES: &str = "files";
pub(super) const WITHDRAW: &str = "Withdraw";
pub(super) const HISTORY_NOTE: &str =
    "Newest first. Every version is signed; the content id changes with every change to the file.";
pub(super) const SETUP_TITLE: &str = "Set up your facility";
pub(super) const SETUP_INTRO: &str = "<p class=\"note\">Describe your workshop once; the node publishes it to the mesh as an Open Know-Where facility so that makers nearby can find what you can make. Publishing needs this browser to be <a href=\"/pair\">paired</a>.</p>";
pub(super) const STEP_PLACE: &str = "1. Name and place";
pub(super) const FACILITY_NAME: &str = "Facility name";
pub(super) const CITY: &str = "Town or city";
pub(super) const COUNTRY: &str = "Country";
pub(super) const LATITUDE: &str = "Latitude";
pub(super) const LONGITUDE: &str = "Longitude";
pub(super) const STEP_PROFILE: &str = "3. What you have";
pub(super) const TEMPLATE: &str = "Start from a template";
pub(super) const NO_TEMPLATE: &str = "(none)";
pub(super) const APPLY_TEMPLATE: &str = "Apply template";
pub(super) const PROCESSES: &str = "Processes";
pub(super) const EQUIPMENT: &str = "Equipment";
pub(super) const MATERIALS: &str = "Materials";
pub(super) const OTHER: &str = "Anything else (free text, kept as the description)";
pub(super) const STEP_PUBLISH: &str = "4. Publish";
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
pub(super) const HISTORY: &str = "Version history (versions held)";
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

/// What the script says, as `data-*` attributes of `#ui-text` (the script
/// holds no words of its own).
pub(super) const SCRIPT_TEXT: &[(&str, &str)] = &[
    (
        "unpaired",
        "This browser is not paired: open Pair and enter the node's token first.",
    ),
    ("refused", "Refused"),
    (
        "held-by",
        "Neighbours holding everything this node holds, this version included:",
    ),
    ("of", "of"),
    (
        "not-token",
        "That is not a token: it is the hex digits `okmesh key show --token` prints.",
    ),
    (
        "paired",
        "Paired: this browser now sends the token with its changes.",
    ),
    ("forgotten", "Forgotten."),
    ("need-name", "Give the facility a name."),
    (
        "bad-place",
        "Latitude is -90 to 90 and longitude -180 to 180 (decimal degrees).",
    ),
    ("facility-published", "Published facility"),
    ("spreads", "it now spreads over the mesh."),
    ("build-here", "What can this facility build?"),
    ("unreachable", "Could not reach the node:"),
    ("demand-made", "Demand sent to the mesh as signal"),
    ("confirmed", "Confirmation sent as signal"),
    (
        "withdrawn",
        "Withdrawn: a signed cancellation replaces the demand here and spreads to the other nodes.",
    ),
    (
        "confirm-withdraw",
        "Withdraw this demand on every node? This cannot be undone.",
    ),
    ("reload", "Reload the board"),
    (
        "retired",
        "Retired: a signed tombstone replaces it here and spreads to the other nodes as they sync.",
    ),
    (
        "confirm-retire",
        "Retire this item on every node? This cannot be undone.",
    ),
    ("published", "Checked and signed:"),
    ("version", "version"),
    ("signed-by", "signed by publisher key"),
    (
        "neighbours",
        "neighbours heard now; sync offers it to each of them.",
    ),
    ("no-file", "Choose a file or paste its text first."),
    ("new-demand", "New demand you can make:"),
    ("new-design", "New design you can make:"),
    (
        "live",
        "Listening for new demands and designs that this node's facility can make…",
    ),
    (
        "lost",
        "The event stream stopped; the browser tries again by itself.",
    ),
];
pub(super) const BOARD_TITLE: &str = "What's in demand?";
pub(super) const NOTICES: &str = "Notices";
pub(super) const NOTICES_STATIC: &str = "With JavaScript on, new demands and designs this node's facility can make appear here as they arrive. Without it, reload the page.";
pub(super) const OPEN_DEMANDS: &str = "Open demands";
pub(super) const NO_DEMANDS: &str =
    "No open demand heard yet. Demands made on any node reach this one over the mesh.";
/// The demand board's columns (also each cell's label on a phone).
pub(super) const DEMAND_COLS: [&str; 6] =
    ["Design", "Wanted", "Taken", "Open", "Deadline", "Offer"];
pub(super) const CAN_MAKE: &str = "You can make this";
pub(super) const URGENT_MARK: &str = "urgent";
pub(super) const YOURS: &str = "your demand";
pub(super) const ALL_TAKEN: &str = "taken";
pub(super) const UNKNOWN_DESIGN: &str = "design not held here";
pub(super) const OFFER_QUANTITY: &str = "Quantity you can make";
pub(super) const CONFIRM: &str = "Confirm";
pub(super) const MAKE_DEMAND: &str = "Make a demand";
pub(super) const DEMAND_NOTE: &str = "A demand asks the mesh for a design to be made: makers whose facility can make it see it on their board and confirm a quantity. Sending needs this browser to be <a href=\"/pair\">paired</a>.";
pub(super) const DESIGN_FIELD: &str = "Design";
pub(super) const QUANTITY: &str = "Quantity";
pub(super) const DEADLINE: &str = "Deadline, from now (e.g. 2h, 3d; at most 30d)";
pub(super) const URGENT: &str = "Urgent (sent ahead of catalogue traffic, behind chat)";
pub(super) const SEND_DEMAND: &str = "Send the demand";
pub(super) const NO_DESIGNS: &str = "No design is held yet to make a demand for.";
pub(super) const ASK_FOR_IT: &str = "Make a demand for this design";
pub(super) const PUBLISH_TITLE: &str = "Publish a design";
pub(super) const PUBLISH_INTRO: &str = "<p class=\"note\">Upload an Open Know-How manifest (YAML, TOML or JSON) or paste it. The node checks it as <code>okmesh publish</code> does, signs it with its publisher key and shares it with its neighbours. Publishing needs this browser to be <a href=\"/pair\">paired</a>.</p>";
pub(super) const EDIT_INTRO: &str = "<p class=\"note\">Editing: change the file below and publish it again under the same name; the node stores it as a new version of the same item.</p>";
pub(super) const ITEM_KIND: &str = "What it is";
pub(super) const FILE_NAME: &str = "File name (its extension gives the format: .yml, .toml, .json)";
pub(super) const UPLOAD: &str = "Read a file from this device";
pub(super) const FILE_TEXT: &str = "The file";
pub(super) const PUBLISH_DESIGN: &str = "Check, sign and publish";
pub(super) const MINE_TITLE: &str = "My items";
pub(super) const MINE_INTRO: &str = "<p class=\"note\">Designs and facilities signed with this node's publisher key. Edit publishes a new version; Retire replaces the item everywhere with a signed tombstone. Both need this browser to be <a href=\"/pair\">paired</a>.</p>";
pub(super) const NO_MINE: &str = "Nothing published from this node yet: <a href=\"/setup\">set up your facility</a> or <a href=\"/publish\">publish a design</a>.";
/// The columns of "my items" (also each cell's label on a phone).
pub(super) const MINE_COLS: [&str; 4] = ["Name", "Kind", "Version", "Change"];
pub(super) const EDIT: &str = "Edit";
pub(super) const RETIRE: &str = "Retire";
pub(super) const SIGNED_BY: &str = "Signed by (publisher key)";
pub(super) const UNSIGNED: &str = "unsigned (stored before items were signed)";

/// How long until a deadline `secs` away (negative: passed).
pub(super) fn due_in(secs: i64) -> String {
    match secs {
        s if s <= 0 => "passed".into(),
        s if s < 3600 => format!("in {} min", (s + 59) / 60),
        s if s < 48 * 3600 => format!("in {} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("in {} days", s / 86400),
    }
}
