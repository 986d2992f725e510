//! `cargo xtask package`: a Debian package, staged by hand and built with
//! `dpkg-deb --build`. Chosen over cargo-deb: dpkg-deb is on every Debian
//! host already (cargo-deb would be one more tool to compile and pin), and
//! the tree it packs is the whole truth, listed below in one place:
//!
//! - `/usr/sbin/responder` (stripped; section 8, a daemon root starts)
//! - `/usr/share/man/man8/responder*.8.gz` and bash, zsh, fish completions
//!   (from `cargo xtask man`)
//! - `/lib/systemd/system/responder.service` (scripts/responder.service, the
//!   binary's path changed to /usr/sbin)
//! - `/etc/responder/responder.toml` (scripts/responder.toml) and the
//!   example zone it serves, `/etc/responder/zones/example.com.zone`: conffiles
//! - copyright, changelog; a postinst that creates the `responder` system
//!   user and starts nothing: the operator edits the config, then enables.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{man, run, workspace};

/// Where the staged tree and the .deb go.
pub fn default_dir() -> PathBuf {
    workspace::target_dir().join("debian")
}

pub fn run(out: Option<PathBuf>) -> Result<(), String> {
    let binary = run::build_release()?;
    let deb = build(&binary, &out.unwrap_or_else(default_dir))?;
    eprintln!("xtask package: {}", deb.display());
    Ok(())
}

/// Stages the tree under `out/stage` and packs it into `out/NAME.deb`.
pub fn build(binary: &Path, out: &Path) -> Result<PathBuf, String> {
    let stage = out.join("stage");
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    let generated = out.join("man");
    man::generate(&generated)?;
    let root = workspace::root();
    let version = crate_version()?;
    let arch = output("dpkg", &["--print-architecture"])?;

    let sbin = stage.join("usr/sbin/responder");
    copy(binary, &sbin, 0o755)?;
    check(Command::new("strip").args(["--strip-unneeded", "--remove-section=.comment"]).arg(&sbin), "strip")?;

    let pages = fs::read_dir(generated.join("man8")).map_err(|e| format!("man pages: {e}"))?;
    for page in pages {
        let page = page.map_err(|e| e.to_string())?.path();
        let name = page.file_name().and_then(|n| n.to_str()).ok_or("a man page without a name")?;
        let target = stage.join("usr/share/man/man8").join(name);
        copy(&page, &target, 0o644)?;
        check(Command::new("gzip").args(["-9n"]).arg(&target), "gzip")?;
    }
    let completions = generated.join("completions");
    copy(&completions.join("responder.bash"), &stage.join("usr/share/bash-completion/completions/responder"), 0o644)?;
    copy(&completions.join("_responder"), &stage.join("usr/share/zsh/vendor-completions/_responder"), 0o644)?;
    copy(
        &completions.join("responder.fish"),
        &stage.join("usr/share/fish/vendor_completions.d/responder.fish"),
        0o644,
    )?;

    let unit =
        read(&root.join("scripts/responder.service"))?.replace("/usr/local/bin/responder", "/usr/sbin/responder");
    write(&stage.join("lib/systemd/system/responder.service"), &unit, 0o644)?;
    // The example zone beside the config, so the installed config checks out
    // (`responder check-config`) before the operator points it at real zones.
    let config = read(&root.join("scripts/responder.toml"))?;
    let config = config.replace("file = \"../zones/example.com.zone\"", "file = \"zones/example.com.zone\"");
    // The unit needs both: the server refuses to keep root without `user`,
    // and ExecReload talks to this socket.
    let config = config
        .replace("#user = \"responder\"", "user = \"responder\"")
        .replace("#listen = \"/run/responder/control.sock\"", "listen = \"/run/responder/control.sock\"");
    write(&stage.join("etc/responder/responder.toml"), &config, 0o644)?;
    copy(&workspace::bundled_zone(), &stage.join("etc/responder/zones/example.com.zone"), 0o644)?;

    let doc = stage.join("usr/share/doc/responder");
    write(&doc.join("copyright"), &copyright(root)?, 0o644)?;
    // A version without a Debian revision makes a native package: changelog.gz.
    let changelog = doc.join("changelog");
    write(&changelog, &changelog_text(&version), 0o644)?;
    check(Command::new("gzip").args(["-9n"]).arg(&changelog), "gzip")?;

    let control = stage.join("DEBIAN");
    write(&control.join("control"), &control_text(&version, &arch, binary)?, 0o644)?;
    write(&control.join("conffiles"), CONFFILES, 0o644)?;
    write(&control.join("postinst"), POSTINST, 0o755)?;
    write(&control.join("md5sums"), &md5sums(&stage)?, 0o644)?;

    let deb = out.join(format!("responder_{version}_{arch}.deb"));
    check(Command::new("dpkg-deb").args(["--root-owner-group", "--build"]).arg(&stage).arg(&deb), "dpkg-deb --build")?;
    Ok(deb)
}

const CONFFILES: &str = "/etc/responder/responder.toml\n/etc/responder/zones/example.com.zone\n";

/// Creates the system user the example config's `user` names; starts and
/// enables nothing (the config must be edited first: zones, interface).
const POSTINST: &str = "#!/bin/sh
set -e
if [ \"$1\" = configure ]; then
    if ! getent passwd responder >/dev/null; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \\
            --shell /usr/sbin/nologin --comment 'responder DNS server' responder
    fi
fi
exit 0
";

fn control_text(version: &str, arch: &str, binary: &Path) -> Result<String, String> {
    let size_kib = fs::metadata(binary).map_err(|e| e.to_string())?.len() / 1024;
    Ok(format!(
        "Package: responder
Version: {version}
Architecture: {arch}
Maintainer: Seed maintainers <maintainers@example.org>
Installed-Size: {size_kib}
Depends: libc6 (>= {glibc}), libgcc-s1, passwd
Section: net
Priority: optional
Description: kernel-bypass authoritative DNS server
 responder answers authoritative DNS queries from precompiled zones, through
 XDP steering and AF_XDP sockets on a NIC's queues, and over kernel UDP and
 TCP sockets. Man pages: responder(8) and one per subcommand.
",
        glibc = glibc_needed(binary)?
    ))
}

/// The newest GLIBC_x.y symbol version the binary links against.
fn glibc_needed(binary: &Path) -> Result<String, String> {
    let symbols = output("objdump", &["-T", binary.to_str().ok_or("binary path is not UTF-8")?])?;
    let mut versions: Vec<Vec<u32>> = symbols
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .map(|v| v.split('.').filter_map(|n| n.parse().ok()).collect())
        .collect();
    versions.sort();
    let newest = versions.last().ok_or("the binary links no GLIBC_ symbol")?;
    Ok(newest.iter().map(u32::to_string).collect::<Vec<_>>().join("."))
}

fn changelog_text(version: &str) -> String {
    format!(
        "responder ({version}) unstable; urgency=medium\n\n  * Built by cargo xtask package.\n\n -- Seed maintainers <maintainers@example.org>  Sun, 06 Dec 2026 00:00:00 +0000\n"
    )
}

fn copyright(root: &Path) -> Result<String, String> {
    let mit = read(&root.join("LICENSE-MIT"))?;
    let mit: Vec<String> = mit.lines().map(|l| if l.is_empty() { " .".to_string() } else { format!(" {l}") }).collect();
    Ok(format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: responder

Files: *
Copyright: 2026 The responder authors
License: MIT or Apache-2.0

License: MIT
{}

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
",
        mit.join("\n")
    ))
}

pub fn crate_version() -> Result<String, String> {
    let manifest = read(&workspace::root().join("responder/Cargo.toml"))?;
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \"").and_then(|v| v.strip_suffix('"')))
        .map(str::to_owned)
        .ok_or_else(|| "responder/Cargo.toml has no version".to_owned())
}

fn md5sums(stage: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    walk(stage, &mut files)?;
    files.sort();
    let mut text = String::new();
    for file in files {
        let relative = file.strip_prefix(stage).map_err(|e| e.to_string())?;
        if relative.starts_with("DEBIAN") || relative.starts_with("etc") {
            continue; // conffiles are not listed, as dh_md5sums leaves them out
        }
        let sum = output("md5sum", &[file.to_str().ok_or("path is not UTF-8")?])?;
        let sum = sum.split_whitespace().next().ok_or("md5sum printed nothing")?;
        text.push_str(&format!("{sum}  {}\n", relative.display()));
    }
    Ok(text)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<(), String> {
    let bytes = fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    write_bytes(to, &bytes, mode)
}

fn write(to: &Path, text: &str, mode: u32) -> Result<(), String> {
    write_bytes(to, text.as_bytes(), mode)
}

fn write_bytes(to: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(to, bytes).map_err(|e| format!("{}: {e}", to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", to.display()))
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn check(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(program: &str, args: &[&str]) -> (bool, String) {
        let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    /// Built from the debug binary (a release build takes minutes): the
    /// package's layout, control data and lintian's verdict do not depend on it.
    #[test]
    fn the_package_holds_what_an_operator_needs_and_lintian_finds_no_error() {
        let built = workspace::cargo().args(["build", "--quiet", "-p", "responder"]).status().unwrap();
        assert!(built.success(), "cargo build -p responder");
        let binary = workspace::target_dir().join("debug/responder");
        let out = workspace::xtask_dir().join(format!("package-test-{}", std::process::id()));
        let deb = build(&binary, &out).unwrap();
        let deb = deb.to_str().unwrap();

        let (ok, contents) = text("dpkg-deb", &["--contents", deb]);
        assert!(ok, "{contents}");
        for path in [
            "./usr/sbin/responder",
            "./usr/share/man/man8/responder.8.gz",
            "./usr/share/man/man8/responder-serve.8.gz",
            "./usr/share/man/man8/responder-check-config.8.gz",
            "./usr/share/bash-completion/completions/responder",
            "./usr/share/zsh/vendor-completions/_responder",
            "./usr/share/fish/vendor_completions.d/responder.fish",
            "./lib/systemd/system/responder.service",
            "./etc/responder/responder.toml",
            "./etc/responder/zones/example.com.zone",
            "./usr/share/doc/responder/copyright",
        ] {
            assert!(contents.lines().any(|l| l.ends_with(path)), "{path} is not in the package:\n{contents}");
        }
        assert!(contents.lines().all(|l| l.contains(" root/root ")), "not all owned by root:\n{contents}");

        let (ok, info) = text("dpkg-deb", &["--info", deb]);
        assert!(ok && info.contains("Package: responder") && info.contains("Depends: libc6 (>= 2."), "{info}");
        let (ok, postinst) = text("dpkg-deb", &["--info", deb, "postinst"]);
        assert!(ok && postinst.contains("useradd --system"), "{postinst}");
        assert!(!postinst.contains("systemctl") && !postinst.contains("invoke-rc.d"), "starts something:\n{postinst}");
        let (ok, conffiles) = text("dpkg-deb", &["--info", deb, "conffiles"]);
        assert!(ok, "{conffiles}");
        let conffiles = conffiles.trim();
        assert_eq!(conffiles, CONFFILES.trim(), "conffiles");
        // The installed config, zone and all, is one `check-config` accepts.
        let config = out.join("stage/etc/responder/responder.toml");
        let (ok, said) = text(binary.to_str().unwrap(), &["check-config", "--config", config.to_str().unwrap()]);
        assert!(ok && said.contains("OK, 1 zone(s)"), "{said}");
        let installed = fs::read_to_string(&config).unwrap();
        assert!(
            installed.contains("\nuser = \"responder\"")
                && installed.contains("\nlisten = \"/run/responder/control.sock\"")
        );

        let unit = fs::read_to_string(out.join("stage/lib/systemd/system/responder.service")).unwrap();
        assert!(unit.contains("ExecStart=/usr/sbin/responder serve") && !unit.contains("/usr/local/bin"), "{unit}");

        // lintian exits 1 on errors (its default --fail-on error); warnings
        // are printed for the reader.
        let (ok, report) = text("lintian", &["--tag-display-limit", "0", deb]);
        eprintln!("lintian:\n{report}");
        assert!(ok, "lintian finds errors:\n{report}");
        assert!(!report.lines().any(|l| l.starts_with("E: ")), "{report}");
        fs::remove_dir_all(&out).unwrap();
    }
}
