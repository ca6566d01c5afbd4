//! `okmesh package build / verify / extract`: a design folder becomes a
//! signed package file, verifies, extracts byte for byte; a corrupted or
//! truncated file is refused with the reason.

use std::path::Path;

use crate::util::{okmesh, temp_dir};

const MANIFEST: &str = "title: CLI lamp\ndescription: a lamp for the package test\nlicense: CC0-1.0\nproject-link: https://example.org/lamp\n";

fn run(args: &[&str]) -> (i32, String, String) {
    let o = okmesh(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn build_verify_extract_round_trip_and_refuse_damage() {
    let t = temp_dir("package-cli");
    let (data, design, pkg, out) = (
        t.join("node"),
        t.join("lamp"),
        t.join("lamp.okpkg"),
        t.join("out"),
    );
    assert_eq!(run(&["key", "new", "--data-dir", s(&data)]).0, 0);
    std::fs::create_dir_all(design.join("cad/parts")).unwrap();
    std::fs::write(design.join("okh.yaml"), MANIFEST).unwrap();
    let stl: Vec<u8> = (0..30_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(design.join("cad/parts/shade.stl"), &stl).unwrap();
    std::fs::write(design.join("README.md"), "# lamp\n").unwrap();

    let (code, stdout, stderr) = run(&[
        "package",
        "build",
        s(&design),
        "--data-dir",
        s(&data),
        "-o",
        s(&pkg),
    ]);
    assert_eq!(code, 0, "{stderr}");
    // 30 000 + 7 + manifest bytes in 4 KiB pieces (auto picks LoRa below 1 MiB).
    assert!(
        stdout.contains("3 files, 8 pieces of 4096 bytes"),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(&["package", "verify", s(&pkg)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("verified"), "{stdout}");

    let (code, _, stderr) = run(&["package", "extract", s(&pkg), s(&out)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read(out.join("cad/parts/shade.stl")).unwrap(), stl);
    assert_eq!(
        std::fs::read_to_string(out.join("okh.yaml")).unwrap(),
        MANIFEST
    );
    // Extracting again into the now full folder is refused.
    let (code, _, stderr) = run(&["package", "extract", s(&pkg), s(&out)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not empty"), "{stderr}");

    let bytes = std::fs::read(&pkg).unwrap();
    let bad = t.join("bad.okpkg");
    let mut corrupt = bytes.clone();
    let at = corrupt.len() - 100;
    corrupt[at] ^= 1;
    std::fs::write(&bad, &corrupt).unwrap();
    let (code, _, stderr) = run(&["package", "verify", s(&bad)]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("does not match the signed Merkle root"),
        "{stderr}"
    );
    std::fs::write(&bad, &bytes[..bytes.len() - 10]).unwrap();
    let (code, _, stderr) = run(&["package", "verify", s(&bad)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("package truncated"), "{stderr}");
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn build_without_a_manifest_says_so() {
    let t = temp_dir("package-cli-nomanifest");
    let data = t.join("node");
    assert_eq!(run(&["key", "new", "--data-dir", s(&data)]).0, 0);
    let design = t.join("d");
    std::fs::create_dir_all(&design).unwrap();
    std::fs::write(design.join("part.stl"), "solid x").unwrap();
    let (code, _, stderr) = run(&["package", "build", s(&design), "--data-dir", s(&data)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no manifest"), "{stderr}");
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn estimate_tells_a_maker_how_long_before_starting() {
    let (code, stdout, stderr) = run(&["package", "estimate", "--bytes", "200000"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("200000 bytes in 49 pieces"), "{stdout}");
    // LongFast at 10 % duty: hours for 200 KB, as the physics says.
    let lf = stdout.lines().find(|l| l.contains("LongFast")).unwrap();
    assert!(lf.contains(" h "), "{lf}");
    // Three holders in reach share the load under their own duty cycles.
    let (_, three, _) = run(&["package", "estimate", "--bytes", "200000", "--holders", "3"]);
    let lf3 = three.lines().find(|l| l.contains("LongFast")).unwrap();
    assert_ne!(lf, lf3);
    let (code, _, stderr) = run(&["package", "estimate", "--bytes", "1", "--duty", "0"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--duty"), "{stderr}");
}
