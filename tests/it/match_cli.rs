//! `okmesh match`, `produce` and `plan`: exit codes and messages.

use crate::corpus::CORPUS;
use crate::util::{okmesh, temp_dir};

fn text(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["match", "--corpus", CORPUS], "--have"),
        (
            &[
                "match",
                "--have",
                "3d printer",
                "--corpus",
                "/nonexistent/okmesh",
            ],
            "/nonexistent/okmesh",
        ),
        (
            &[
                "match",
                "--have",
                "3d printer",
                "--corpus",
                CORPUS,
                "--threshold",
                "2",
            ],
            "--threshold 2: must be between 0 and 1",
        ),
        (
            &["plan", "/nonexistent/m.json", "--facilities", CORPUS],
            "/nonexistent/m.json",
        ),
        (&["produce", "--corpus", CORPUS], "--facility"),
    ];
    for (args, needle) in cases {
        let o = okmesh(args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn bad_facility_file_names_file_line_and_field() {
    let dir = temp_dir("bad-facility");
    let f = dir.join("shop.yml");
    std::fs::write(&f, "title: Shop\ntool-list-atoms: 7\n").unwrap();
    let o = okmesh(&[
        "match",
        "--facility",
        f.to_str().unwrap(),
        "--corpus",
        CORPUS,
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("shop.yml:2: field `tool-list-atoms`"), "{err}");
}

#[test]
fn match_have_ranks_designs_as_json() {
    let o = okmesh(&[
        "match",
        "--have",
        "3d printer, PLA, soldring iron",
        "--corpus",
        CORPUS,
        "--top",
        "5",
        "--json",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores[0] >= 0.6);
    // An unambiguous misspelling is read as the name it misspells, noted.
    assert_eq!(v["input"]["corrected"][0]["as"], "soldering iron");
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains(r#"read "soldring iron" as "soldering iron""#),
        "{}",
        v["notes"]
    );
}

#[test]
fn plan_names_facilities_parts_and_gaps() {
    let base = format!("{CORPUS}/fixtures/supply-graph-ai");
    let o = okmesh(&[
        "plan",
        &format!("{base}/harness/okh_multi_process.json"),
        "--facilities",
        &format!("{base}/harness/okw_additive_local.json"),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("NOT fully covered"), "{out}");
    assert!(out.contains("gaps (critical): Assembly"), "{out}");
}

#[test]
fn produce_lists_only_full_matches() {
    let fac = format!("{CORPUS}/okw/helpfulengineering-library/beta/okw/RobDessertKitchen.yml");
    let o = okmesh(&[
        "produce",
        "--facility",
        &fac,
        "--corpus",
        &format!("{CORPUS}/okh"),
        "--json",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let titles: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Vanishing Oatmeal Raisin Cookies"),
        "{titles:?}"
    );
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["full"] == true)
    );
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["domain"] == "cooking")
    );
}
