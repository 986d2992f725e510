//! The workspace's `rust-version` must be at least every dependency's: a
//! lower one promises a toolchain that cannot build the lock file's crates
//! (it said 1.85 while aya 0.14 needs 1.87). Each crate the lock file takes
//! from crates.io is looked up in cargo's registry cache, where `cargo build`
//! unpacked it; crates for other platforms (never unpacked here, never built
//! here) are skipped, but the crate that set the bar before, aya, must be found.

use std::path::{Path, PathBuf};

type Version = Vec<u64>;

/// MAJOR.MINOR[.PATCH], the patch 0 when left out: "1.87" is "1.87.0".
fn version(text: &str) -> Version {
    let mut parts: Version =
        text.split('.').map(|n| n.parse().unwrap_or_else(|_| panic!("bad rust-version {text:?}"))).collect();
    parts.resize(3, 0);
    parts
}

fn manifest(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rust_version(table: &toml::Table) -> Option<String> {
    table.get("package")?.get("rust-version")?.as_str().map(str::to_string)
}

/// `~/.cargo/registry/src/*/` (or under $CARGO_HOME).
fn registry_sources() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("neither CARGO_HOME nor HOME is set");
    let src = home.join("registry/src");
    let entries = std::fs::read_dir(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    entries.map(|e| e.expect("registry entry").path()).collect()
}

#[test]
fn a_left_out_patch_is_zero() {
    assert_eq!(version("1.87"), version("1.87.0"));
    assert!(version("1.88") > version("1.87.9"));
}

#[test]
fn rust_version_covers_every_dependency() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = manifest(&root.join("Cargo.toml"));
    let ours = workspace
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .and_then(|v| v.as_str())
        .expect("Cargo.toml has no [workspace.package] rust-version");
    let ours = version(ours);
    let lock = manifest(&root.join("Cargo.lock"));
    let sources = registry_sources();
    let (mut found, mut too_new) = (Vec::new(), Vec::new());
    for package in lock["package"].as_array().expect("Cargo.lock has packages") {
        let field = |key: &str| package.get(key).and_then(|v| v.as_str()).unwrap_or_default();
        if !field("source").starts_with("registry+") {
            continue;
        }
        let dir = format!("{}-{}", field("name"), field("version"));
        let Some(path) = sources.iter().map(|s| s.join(&dir).join("Cargo.toml")).find(|p| p.exists()) else {
            continue;
        };
        found.push(field("name").to_string());
        if let Some(needed) = rust_version(&manifest(&path)) {
            if version(&needed) > ours {
                too_new.push(format!("{dir} needs {needed}"));
            }
        }
    }
    assert!(found.iter().any(|name| name == "aya"), "aya's manifest is not in the registry cache: {sources:?}");
    assert!(too_new.is_empty(), "Cargo.toml's rust-version {ours:?} is older than: {too_new:#?}");
}
