//! `okmesh demand`, `okmesh offer`, `okmesh ask` on a node's data
//! directory, and `okmesh produce --db` ranking network demand first.

use std::path::Path;
use std::process::Output;

use hw_bridge::store::open_store;
use node_core::identity::Keypair;
use node_core::signals::{Draft, Payload, SignalBook, SignalConfig, SignalRepr, tags_from};
use node_core::store::StoreConfig;
use node_core::{Duration, Instant};
use serde_json::Value;

use crate::corpus::CORPUS;
use crate::util::{okmesh, temp_dir};

/// 2026-12-03T12:00:00Z: every command here runs at this `--now`.
const NOW_S: u64 = 1_796_299_200;
const NOW: &str = "2026-12-03T12:00Z";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn out(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `okmesh ARGS --data-dir DIR --now NOW`.
fn at(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--data-dir", s(dir), "--now", NOW]);
    out(&okmesh(&all))
}

/// A store holding the OKH corpus, as `okmesh import` makes it.
fn corpus_store(name: &str) -> std::path::PathBuf {
    let db = temp_dir(name).join("node");
    let okh = format!("{CORPUS}/okh");
    let (code, _, err) = out(&okmesh(&["import", &okh, "--db", s(&db), "--quiet"]));
    assert_eq!(code, 0, "{err}");
    db
}

/// The live signals of the store in `dir` at [`NOW_S`], as a node reads
/// them back.
fn book(dir: &Path) -> SignalBook {
    let (store, _) = open_store(dir, StoreConfig::default()).expect("store opens");
    let now = Instant::from_micros(NOW_S * 1_000_000);
    let mut book = SignalBook::new(SignalConfig::default().limits);
    for (_, bytes) in store.signals() {
        let _ = book.restore(now, bytes);
    }
    book
}

/// Logs a signal of another publisher in the store, as if heard from the mesh.
fn put_foreign(dir: &Path, key: &Keypair, payload: Payload) -> String {
    let repr = SignalRepr::sign(
        key,
        Draft {
            payload,
            urgent: false,
            created: Instant::from_micros(NOW_S * 1_000_000),
            ttl: Duration::from_secs(6 * 3600),
        },
    )
    .expect("signs");
    let (mut store, _) = open_store(dir, StoreConfig::default()).expect("store opens");
    store
        .put_signal(repr.id().0, &repr.encode())
        .expect("logged");
    store.sync().expect("synced");
    repr.id().to_string()
}

/// The store's manifests that RobsArduinoShop can make, best first, as
/// `produce --json` lists them (item id, title).
fn makeable(db: &Path, shop: &str) -> Vec<(String, String)> {
    let (code, text, err) = out(&okmesh(&[
        "produce",
        "--facility",
        shop,
        "--db",
        s(db),
        "--top",
        "100000",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["item_id"].as_str().unwrap().to_owned(),
                r["title"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_demand_made_on_the_command_line_is_in_the_book_signed_by_the_node() {
    let db = corpus_store("demand-new");
    let (code, text, err) = out(&okmesh(&["key", "show", "--json", "--data-dir", s(&db)]));
    assert_eq!(code, 0, "{err}");
    let keys: Value = serde_json::from_str(&text).unwrap();
    let publisher = keys["publisher"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let shop = format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw/RobsArduinoShop.yml");
    let (design, title) = makeable(&db, &shop).remove(0);

    // The same demand is made again below, once cancelled.
    let new_demand: [&str; 12] = [
        "demand",
        "new",
        "--design",
        &design,
        "--quantity",
        "40",
        "--deadline",
        "2h",
        "--urgent",
        "--tag",
        "3d printing",
        "--json",
    ];
    let (code, text, err) = at(&db, &new_demand);
    assert_eq!(code, 0, "{err}");
    let made: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(made["signed_by"], publisher.as_str());
    let id = made["id"].as_str().unwrap().to_owned();

    // In the store's signal log, as the node reads it back on start.
    let b = book(&db);
    let (_, held) = b
        .live(Instant::from_micros(NOW_S * 1_000_000))
        .find(|(i, _)| i.to_string() == id)
        .expect("the demand is live in the book");
    assert_eq!(held.repr.source.fingerprint().to_string(), publisher);
    assert!(held.repr.urgent);
    match &held.repr.payload {
        Payload::Demand {
            design: d,
            quantity,
            deadline,
            tags,
        } => {
            assert_eq!(d.to_string(), design);
            assert_eq!(*quantity, 40);
            assert_eq!(deadline.as_micros() / 1_000_000, NOW_S + 7200);
            assert_eq!(tags, &tags_from(["3d-printing"]).unwrap());
        }
        other => panic!("not a demand: {other:?}"),
    }

    // Listed, with its title; by title works as well as by id.
    let (code, text, _) = at(&db, &["demand", "list"]);
    assert_eq!(code, 0);
    assert!(text.starts_with("1 live demands in "), "{text}");
    let row = text.lines().find(|l| l.starts_with(&id)).expect("listed");
    assert!(
        row.contains("     40") && row.contains("this node"),
        "{row}"
    );
    assert!(
        row.contains(&title) && row.contains("2026-12-03T14:00:00Z"),
        "{row}"
    );

    // An offer takes it on; the list shows how many are taken.
    let (code, _, err) = at(&db, &["offer", &id, "--quantity", "50"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--quantity 50: the demand") && err.contains("wants 40"),
        "{err}"
    );
    let (code, text, err) = at(&db, &["offer", &id, "--quantity", "10", "--json"]);
    assert_eq!(code, 0, "{err}");
    let offer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(offer["won"], true);
    let (_, list, _) = at(&db, &["demand", "list", "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["taken"], 10);
    assert_eq!(list[0]["taken_by"], offer["id"]);

    // Cancelled by its signer: gone.
    let (code, text, err) = at(&db, &["demand", "cancel", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.starts_with(&format!("cancelled demand {id}")),
        "{text}"
    );
    let (_, text, _) = at(&db, &["demand", "list"]);
    assert!(text.starts_with("no live demand in "), "{text}");
    // The very same demand (same second, same content: same id) stays cancelled.
    let (code, _, err) = at(&db, &new_demand);
    assert_eq!(code, 2);
    assert!(err.contains("was cancelled and cannot come back"), "{err}");
    assert!(
        book(&db)
            .live(Instant::from_micros(NOW_S * 1_000_000))
            .all(|(i, _)| i.to_string() != id)
    );
}

#[test]
fn bad_signal_arguments_exit_2_and_say_where_and_why() {
    let db = corpus_store("demand-bad");
    let shop = format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw/RobsArduinoShop.yml");
    let (design, _) = makeable(&db, &shop).remove(0);
    let other = Keypair::derive(7, "test", 1);
    let foreign = put_foreign(
        &db,
        &other,
        Payload::Capability {
            tags: tags_from(["3d-printing", "material=pla"]).unwrap(),
        },
    );
    fn new<'a>(design: &'a str, quantity: &'a str, deadline: &'a str) -> Vec<&'a str> {
        vec![
            "demand",
            "new",
            "--design",
            design,
            "--quantity",
            quantity,
            "--deadline",
            deadline,
        ]
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (new(&design, "0", "2h"), "--quantity <QUANTITY>"),
        (new(&design, "1000001", "2h"), "from 1 to 1000000"),
        (
            new(&design, "4", "2026-12-01"),
            "--deadline '2026-12-01': 2026-12-01T00:00:00Z is not in the future",
        ),
        (
            new(&design, "4", "31d"),
            "beyond the longest a signal lives (30d)",
        ),
        (
            new("no such design", "4", "2h"),
            "--design 'no such design': no manifest in the store",
        ),
        (
            vec!["demand", "cancel", "0123456789abcdef"],
            "0123456789abcdef: no live signal with this id",
        ),
        (
            vec!["demand", "cancel", "xyz"],
            "signal 'xyz': expected a signal id",
        ),
        (
            vec!["demand", "cancel", &foreign],
            "only its signer may cancel it",
        ),
        (
            vec!["offer", "0123456789abcdef", "--quantity", "3"],
            "no live signal with this id",
        ),
        (
            vec!["offer", &foreign, "--quantity", "3"],
            "a capability signal, not a demand",
        ),
        (
            vec!["ask", "--need", " , "],
            "--need ' , ': say what is needed",
        ),
        (vec!["ask", "--need", "pla/abs"], "--need 'pla/abs'"),
    ];
    for (args, needle) in cases {
        let (code, text, err) = at(&db, &args);
        assert_eq!(code, 2, "{args:?}: {text}{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(text.is_empty(), "{args:?}: {text}");
    }
    // Nothing was published by the refused commands.
    assert_eq!(book(&db).len(), 1);
    // A store that is not there is named.
    let missing = db.with_file_name("missing");
    let (code, _, err) = at(&missing, &["demand", "list"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--data-dir") && err.contains("no such store folder"),
        "{err}"
    );
}

#[test]
fn ask_answers_from_the_capabilities_the_node_heard() {
    let db = corpus_store("ask");
    let printer = Keypair::derive(7, "test", 2);
    put_foreign(
        &db,
        &printer,
        Payload::Capability {
            tags: tags_from(["3d-printing", "material=pla", "material=petg"]).unwrap(),
        },
    );
    let (code, text, err) = at(&db, &["ask", "--need", "3d printing, material=PLA"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.starts_with(
            "1 facilities this node has heard of announce all of: 3d-printing, material=pla"
        ),
        "{text}"
    );
    assert!(
        text.contains(&printer.public().fingerprint().to_string()),
        "{text}"
    );
    let (code, text, _) = at(&db, &["ask", "--need", "glass blowing"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("no facility this node has heard of announces all of: glass-blowing"),
        "{text}"
    );
    assert!(text.contains("POST /queries?need=glass-blowing"), "{text}");
}

#[test]
fn produce_lists_designs_in_demand_first_and_is_unchanged_without_demand() {
    let db = corpus_store("produce-demand");
    let shop = format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw/RobsArduinoShop.yml");
    let produce = |extra: &[&str]| {
        let mut args = vec!["produce", "--facility", &shop, "--db", s(&db), "--now", NOW];
        args.extend_from_slice(extra);
        let (code, text, err) = out(&okmesh(&args));
        assert_eq!(code, 0, "{err}");
        text
    };
    let before = produce(&[]);
    let ranked = makeable(&db, &shop);
    assert!(ranked.len() >= 3, "{ranked:?}");
    // Demand for the lowest-ranked design the shop can make: it comes first.
    let (last, last_title) = ranked.last().unwrap().clone();
    let (second, _) = ranked[1].clone();
    let (code, text, err) = at(
        &db,
        &[
            "demand",
            "new",
            "--design",
            &last,
            "--quantity",
            "40",
            "--deadline",
            "1d",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let first_id: Value = serde_json::from_str(&text).unwrap();
    let (code, _, err) = at(
        &db,
        &[
            "demand",
            "new",
            "--design",
            &second,
            "--quantity",
            "2",
            "--deadline",
            "1d",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let with = produce(&[]);
    let mut lines = with.lines();
    let head = lines.next().unwrap();
    assert!(
        head.starts_with("in demand on the mesh and makeable here: 2 of 2 designs in demand"),
        "{with}"
    );
    assert!(head.contains("combined = score × open quantity"), "{head}");
    lines.next(); // the column names
    let top = lines.next().unwrap();
    assert!(
        top.trim_start().starts_with("1 ") && top.contains("     40  2026-12-04T12:00:00Z"),
        "{top}"
    );
    assert!(
        top.contains(&last_title.chars().take(30).collect::<String>()),
        "{top}"
    );
    // The plain ranking follows, unchanged.
    assert!(with.ends_with(&before), "{with}");
    let json: Value = serde_json::from_str(&produce(&["--json"])).unwrap();
    assert_eq!(json["in_demand"][0]["design"], last.as_str());
    assert_eq!(json["in_demand"][0]["open"], 40);
    assert!(
        json["in_demand"][0]["combined"].as_f64().unwrap()
            > json["in_demand"][1]["combined"].as_f64().unwrap()
    );
    // Withdrawn, the output is as before, byte for byte.
    let (code, _, err) = at(&db, &["demand", "cancel", first_id["id"].as_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&at(&db, &["demand", "list", "--json"]).1).unwrap();
    let (code, _, err) = at(&db, &["demand", "cancel", list[0]["id"].as_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(produce(&[]), before);
}

#[test]
fn with_api_the_commands_work_through_a_running_node() {
    use crate::field_support::{http_json, lone_udp_radio, start_api_node};
    let dir = tempfile::tempdir().unwrap();
    let (_node, a) = start_api_node(&lone_udp_radio(), dir.path(), &[]);
    let manifest =
        b"okhv = \"2.0\"\nname = \"Test bench clamp\"\nmaterial = \"PLA\"\ntsdc = \"3DP\"\n";
    let (code, v) = http_json(&a, "POST", "/manifests?name=clamp.toml", manifest);
    assert_eq!(code, 201, "{v}");
    let design = v["published"][0]["id"].as_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--api", &a, "--data-dir", s(dir.path())]);
        out(&okmesh(&all))
    };
    // By title; the tag with a `+` arrives whole.
    let (code, text, err) = run(&[
        "demand",
        "new",
        "--design",
        "test bench clamp",
        "--quantity",
        "40",
        "--deadline",
        "3h",
        "--tag",
        "material=pla+petg",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let made: Value = serde_json::from_str(&text).unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    let (_, signals) = http_json(&a, "GET", "/signals", b"");
    let d = signals
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id.as_str())
        .expect("the node holds it");
    assert_eq!(
        (d["design"].as_str(), d["quantity"].as_u64()),
        (Some(design.as_str()), Some(40))
    );
    assert_eq!(d["tags"], serde_json::json!(["material=pla+petg"]));
    assert_eq!(d["ours"], true);
    // Listed; an offer above what it wants is refused by the node, one within is taken.
    let (code, text, _) = run(&["demand", "list"]);
    assert_eq!(code, 0);
    assert!(
        text.contains(&id) && text.contains("Test bench clamp"),
        "{text}"
    );
    let (code, _, err) = run(&["offer", &id, "--quantity", "41"]);
    assert_eq!(code, 2);
    assert!(err.contains("wants 40; offer at most that"), "{err}");
    let (code, _, err) = run(&["offer", &id, "--quantity", "10"]);
    assert_eq!(code, 0, "{err}");
    let (_, demands) = http_json(&a, "GET", "/demands", b"");
    assert_eq!(
        (demands[0]["taken"].as_u64(), demands[0]["open"].as_u64()),
        (Some(10), Some(30))
    );
    // A query nobody known answers goes to the mesh.
    let (code, text, err) = run(&["ask", "--need", "glass blowing"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("went to the mesh"), "{text}");
    // Cancelled through the node.
    let (code, _, err) = run(&["demand", "cancel", &id]);
    assert_eq!(code, 0, "{err}");
    let (_, demands) = http_json(&a, "GET", "/demands", b"");
    assert_eq!(demands, serde_json::json!([]));
    // No node there: said so.
    let (code, _, err) = out(&okmesh(&["demand", "list", "--api", "127.0.0.1:1"]));
    assert_eq!(code, 2);
    assert!(err.contains("--api 127.0.0.1:1: cannot connect"), "{err}");
}
