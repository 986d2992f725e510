//! `responder check` and `responder check-config` through the binary, as an
//! operator runs them before a deploy: every error in one run, each as
//! `FILE:LINE[:COL]: message`, exit status 1; a good config says OK.
//!
//! No network, no root.

use std::path::Path;

use responder_tests::responder;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = responder::run(args).unwrap_or_else(|e| panic!("{e}"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

const GOOD: &str = "$ORIGIN good.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n";

#[test]
fn check_reports_an_error_in_every_zone_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad_a = dir.path().join("a.zone");
    std::fs::write(&bad_a, "$ORIGIN a.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\nns A 300.0.0.1\n").unwrap();
    let good = dir.path().join("good.zone");
    std::fs::write(&good, GOOD).unwrap();
    let bad_b = dir.path().join("b.zone");
    std::fs::write(&bad_b, "$ORIGIN b.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nx IN\n").unwrap();
    let paths = [&bad_a, &good, &bad_b].map(|p| p.to_str().unwrap().to_owned());
    let (ok, _, stderr) = run(&["check", &paths[0], &paths[1], &paths[2]]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains(&format!("{}:4: ", paths[0])), "a.zone's error is missing:\n{stderr}");
    assert!(stderr.contains(&format!("{}:5: ", paths[2])), "b.zone's error is missing:\n{stderr}");
    assert!(stderr.contains("responder: 2 error(s)"), "{stderr}");
}

#[test]
fn check_config_reports_every_bad_key_and_the_bad_zone() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("bad.zone");
    std::fs::write(&zone, "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\nns A 300.0.0.1\n").unwrap();
    let config = dir.path().join("responder.toml");
    let text = "[server]\nudp-workers = 2\nlisen = [\"127.0.0.1:53\"]\n\n[[zone]]\nfile = \"bad.zone\"\n\n[xdp]\nmode = \"fast\"\n";
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();
    let (ok, _, stderr) = run(&["check-config", "--config", config]);
    assert!(!ok, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("responder: ")).collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].starts_with(&format!("{config}:3:1: ")) && lines[0].contains("lisen"), "{stderr}");
    assert!(lines[1].starts_with(&format!("{config}:9:")) && lines[1].contains("fast"), "{stderr}");
    assert!(lines[2].starts_with(&format!("{}:4: ", zone.display())), "{stderr}");
    assert!(stderr.contains("responder: 3 error(s)"), "{stderr}");
}

#[test]
fn the_example_configuration_checks_out() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/responder.toml");
    let (ok, stdout, stderr) = run(&["check-config", "--config", example.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(": OK, 1 zone(s), "), "{stdout}");
}
