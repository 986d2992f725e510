//! `cargo xtask image`: an OCI image of the responder, built with podman
//! FROM scratch. No base image can be pulled here and none is needed: the
//! binary needs only glibc, so the image holds the binary, the libraries
//! `ldd` names (and the dynamic loader), a passwd/group with an unprivileged
//! `responder` user it runs as, and the example config and zone:
//!
//! - `/usr/bin/responder` (ENTRYPOINT: `podman run IMAGE serve …` works)
//! - `/etc/responder/responder.toml` and `/etc/responder/zones/example.com.zone`
//!   (CMD: `serve --config /etc/responder/responder.toml`); mount your own
//!   over /etc/responder
//!
//! docs/DEPLOY.md ("Containers") gives the capabilities XDP needs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{deps, run, workspace};

/// The image's name; tagged with the crate version and `latest`.
pub const IMAGE: &str = "localhost/responder";
/// The unprivileged user the image runs as (not 0: the server refuses to
/// keep root unless told, and a container should not need it).
pub const UID: u32 = 953;

pub fn run(_args: ()) -> Result<(), String> {
    deps::ensure(deps::IMAGE_PACKAGES, false)?;
    deps::configure_podman()?;
    let binary = run::build_release()?;
    let version = crate::package::crate_version()?;
    let tags = [format!("{IMAGE}:{version}"), format!("{IMAGE}:latest")];
    build(&binary, &workspace::target_dir().join("image"), &tags)?;
    eprintln!("xtask image: {}", tags.join(", "));
    Ok(())
}

/// Stages the root file system and Containerfile under `out` and builds
/// them into an image tagged `tags`.
pub fn build(binary: &Path, out: &Path, tags: &[String]) -> Result<(), String> {
    if out.exists() {
        fs::remove_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let rootfs = out.join("rootfs");
    copy(binary, &rootfs.join("usr/bin/responder"), 0o755)?;
    for library in libraries(binary)? {
        // fs::copy follows symbolic links: each name becomes the file itself.
        let relative = library.strip_prefix("/").map_err(|_| format!("{}: not absolute", library.display()))?;
        copy(&library, &rootfs.join(relative), 0o755)?;
    }
    write(
        &rootfs.join("etc/passwd"),
        &format!("root:x:0:0:root:/:/nonexistent\nresponder:x:{UID}:{UID}::/nonexistent:/nonexistent\n"),
    )?;
    write(&rootfs.join("etc/group"), &format!("root:x:0:\nresponder:x:{UID}:\n"))?;
    write(&rootfs.join("etc/nsswitch.conf"), "passwd: files\ngroup: files\n")?;
    write(&rootfs.join("etc/responder/responder.toml"), &config()?)?;
    copy(&workspace::bundled_zone(), &rootfs.join("etc/responder/zones/example.com.zone"), 0o644)?;
    write(&out.join("Containerfile"), &containerfile(&crate::package::crate_version()?))?;
    let default = fs::read_to_string(PODMAN_SECCOMP).map_err(|e| format!("{PODMAN_SECCOMP}: {e}"))?;
    write(&out.join(SECCOMP_FILE), &seccomp_for_xdp(&default)?)?;

    let mut build = Command::new("podman");
    build.args(["build", "--quiet", "--file"]).arg(out.join("Containerfile"));
    for tag in tags {
        build.args(["--tag", tag]);
    }
    let built = build.arg(out).output().map_err(|e| format!("cannot run podman: {e}"))?;
    if !built.status.success() {
        return Err(format!("podman build failed:\n{}", String::from_utf8_lossy(&built.stderr)));
    }
    Ok(())
}

/// podman's default seccomp profile, which allows bpf(2) only with
/// CAP_SYS_ADMIN; the XDP data plane needs it with CAP_BPF alone.
const PODMAN_SECCOMP: &str = "/usr/share/containers/seccomp.json";
/// Written beside the Containerfile: `--security-opt seccomp=PATH`.
pub const SECCOMP_FILE: &str = "seccomp-xdp.json";

/// The default profile with bpf(2) allowed to a container given CAP_BPF
/// (instead of CAP_SYS_ADMIN, which the XDP container does not get).
/// Everything else stays as podman ships it.
fn seccomp_for_xdp(default: &str) -> Result<String, String> {
    let mut profile: serde_json::Value = serde_json::from_str(default).map_err(|e| format!("{PODMAN_SECCOMP}: {e}"))?;
    let rules = profile["syscalls"].as_array_mut().ok_or_else(|| format!("{PODMAN_SECCOMP}: no syscalls"))?;
    for rule in rules.iter_mut() {
        if let Some(names) = rule["names"].as_array_mut() {
            names.retain(|n| n != "bpf");
        }
    }
    rules.retain(|rule| rule["names"].as_array().is_none_or(|n| !n.is_empty()));
    rules.push(serde_json::json!({
        "names": ["bpf"],
        "action": "SCMP_ACT_ALLOW",
        "includes": {"caps": ["CAP_BPF"]},
        "comment": "responder: the XDP data plane loads its program and maps with CAP_BPF",
    }));
    serde_json::to_string_pretty(&profile).map_err(|e| e.to_string())
}

fn containerfile(version: &str) -> String {
    format!(
        "FROM scratch\n\
         COPY rootfs/ /\n\
         LABEL org.opencontainers.image.title=\"responder\" org.opencontainers.image.version=\"{version}\" \
         org.opencontainers.image.description=\"Kernel-bypass authoritative DNS server\"\n\
         USER {UID}:{UID}\n\
         ENTRYPOINT [\"/usr/bin/responder\"]\n\
         CMD [\"serve\", \"--config\", \"/etc/responder/responder.toml\"]\n"
    )
}

/// The example config with the image's paths, listening on every address
/// on port 5353 (an unprivileged user cannot bind 53 without
/// CAP_NET_BIND_SERVICE; publish it with `-p 53:5353/udp -p 53:5353/tcp`).
fn config() -> Result<String, String> {
    let example = fs::read_to_string(workspace::root().join("scripts/responder.toml"))
        .map_err(|e| format!("scripts/responder.toml: {e}"))?;
    let replaced = example
        .replace("file = \"../zones/example.com.zone\"", "file = \"zones/example.com.zone\"")
        .replace("listen = [\"127.0.0.1:5353\", \"[::1]:5353\"]", "listen = [\"0.0.0.0:5353\"]");
    if !replaced.contains("file = \"zones/example.com.zone\"") || !replaced.contains("\"0.0.0.0:5353\"") {
        return Err("scripts/responder.toml changed: update the image's config edits in xtask/src/image.rs".into());
    }
    Ok(replaced)
}

/// The shared libraries `ldd` resolves for `binary`, the loader included.
fn libraries(binary: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd").arg(binary).output().map_err(|e| format!("cannot run ldd: {e}"))?;
    if !out.status.success() {
        return Err(format!("ldd {}: {}", binary.display(), String::from_utf8_lossy(&out.stderr)));
    }
    parse_ldd(&String::from_utf8_lossy(&out.stdout))
}

fn parse_ldd(text: &str) -> Result<Vec<PathBuf>, String> {
    let mut libraries = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)`,
        // `/lib64/ld-linux-x86-64.so.2 (0x…)`, `linux-vdso.so.1 (0x…)`.
        let path = match line.split_once(" => ") {
            Some((name, "not found")) => return Err(format!("ldd: {name} not found")),
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next().filter(|p| p.starts_with('/')),
        };
        if let Some(path) = path.filter(|p| p.starts_with('/')) {
            libraries.push(PathBuf::from(path));
        }
    }
    if libraries.is_empty() {
        return Err(format!("ldd named no library:\n{text}"));
    }
    Ok(libraries)
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<(), String> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::copy(from, to).map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", to.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_every_library_and_the_loader() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f1)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f3)\n";
        let libs = parse_ldd(text).unwrap();
        assert_eq!(
            libs,
            ["/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
                .map(PathBuf::from)
        );
        assert!(parse_ldd("\tlibfoo.so.1 => not found\n").unwrap_err().contains("libfoo.so.1"));
        assert!(parse_ldd("\tstatically linked\n").is_err());
    }

    use responder_tests::testbed::{privileged, required_tools, Testbed, SERVER_V4};
    use std::time::{Duration, Instant};

    /// A container by name, removed (with `podman rm -f`) when dropped.
    struct Container(String);

    impl Drop for Container {
        fn drop(&mut self) {
            let _ = Command::new("podman").args(["rm", "--force", "--time", "5", &self.0]).output();
        }
    }

    /// The image under test, removed when dropped.
    struct Image(String);

    impl Drop for Image {
        fn drop(&mut self) {
            let _ = Command::new("podman").args(["rmi", "--force", &self.0]).output();
        }
    }

    fn podman(args: &[&str]) -> (bool, String) {
        let out = Command::new("podman").args(args).output().unwrap_or_else(|e| panic!("cannot run podman: {e}"));
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    /// kdig from the client namespace until www.example.com answers.
    fn answered_by_kdig(bed: &Testbed, container: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        // The kernel sockets answer before XDP is attached: only the ready
        // line says the whole server is up.
        while !podman(&["logs", container]).1.contains("responder ready:") {
            assert!(Instant::now() < deadline, "not ready:\n{}", podman(&["logs", container]).1);
            std::thread::sleep(Duration::from_millis(100));
        }
        loop {
            let out = bed
                .client_command("kdig")
                .args([&format!("@{SERVER_V4}"), "www.example.com", "A", "+short", "+timeout=1", "+retry=0"])
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if said == "198.18.0.80" {
                return said;
            }
            let (_, logs) = podman(&["logs", container]);
            assert!(Instant::now() < deadline, "no answer from the container (kdig said {said:?}); its log:\n{logs}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs the image in the testbed's server namespace with `caps`, serves
    /// `args`, checks kdig gets the answer, stops it; returns its log.
    fn serve_in_testbed(bed: &Testbed, image: &str, name: &str, caps: &str, args: &[&str]) -> String {
        let container = Container(name.to_owned());
        let network = format!("ns:/run/netns/{}", bed.server_ns);
        let mut run = vec!["run", "--detach", "--name", name, "--network", &network, "--cap-add", caps, image];
        run.extend_from_slice(args);
        let (ok, said) = podman(&run);
        assert!(ok, "podman run {args:?}:\n{said}");
        answered_by_kdig(bed, name);
        let (ok, said) = podman(&["stop", "--time", "10", name]);
        assert!(ok, "podman stop:\n{said}");
        let (_, logs) = podman(&["logs", name]);
        let (_, state) = podman(&["inspect", "--format", "{{.State.ExitCode}}", name]);
        assert_eq!(state.trim(), "0", "a clean exit on SIGTERM:\n{logs}");
        drop(container);
        logs
    }

    /// The image built, run in a veth testbed with the documented
    /// capabilities (not --privileged), answering kdig through kernel
    /// sockets and through XDP, then removed.
    #[test]
    fn the_image_serves_kdig_in_a_testbed_over_kernel_sockets_and_xdp() {
        let test = "the_image_serves_kdig_in_a_testbed_over_kernel_sockets_and_xdp";
        if !privileged(test) {
            return;
        }
        let present = |tool: &str, arg: &str| Command::new(tool).arg(arg).output().is_ok_and(|o| o.status.success());
        let missing: Vec<&str> = [
            ("podman", present("podman", "--version")),
            ("runc", present("runc", "--version")),
            ("kdig", present("kdig", "--version")),
        ]
        .into_iter()
        .filter_map(|(tool, here)| (!here).then_some(tool))
        .collect();
        if !required_tools(test, &missing) {
            return;
        }
        deps::configure_podman().unwrap();
        let built = workspace::cargo().args(["build", "--quiet", "-p", "responder"]).status().unwrap();
        assert!(built.success(), "cargo build -p responder");
        let binary = workspace::target_dir().join("debug/responder");
        let pid = std::process::id();
        let image = Image(format!("localhost/responder-test:{pid}"));
        let out = workspace::xtask_dir().join(format!("image-test-{pid}"));
        build(&binary, &out, std::slice::from_ref(&image.0)).unwrap_or_else(|e| panic!("{e}"));
        let seccomp = format!("seccomp={}", out.join(SECCOMP_FILE).display());
        let (ok, user) = podman(&["image", "inspect", "--format", "{{.Config.User}} {{.Config.Entrypoint}}", &image.0]);
        assert!(ok && user.trim() == format!("{UID}:{UID} [/usr/bin/responder]"), "{user}");

        let bed = Testbed::create("image", 1).expect("testbed");
        let listen = format!("{SERVER_V4}:53");
        let config = "/etc/responder/responder.toml";
        // Kernel sockets: the image's own user; port 53 needs only NET_BIND_SERVICE.
        let args = ["serve", "--config", config, "--listen", &listen, "--stats-interval", "0"];
        let logs = serve_in_testbed(&bed, &image.0, &format!("responder-kernel-{pid}"), "NET_BIND_SERVICE", &args);
        assert!(
            logs.contains("responder ready:") && logs.contains(&format!("(uid {UID}"))
                || logs.contains("running as started"),
            "{logs}"
        );
        assert!(logs.contains("stopped after ") && !logs.contains('\x1b'), "{logs}");

        // XDP: started as root in the container with the capabilities XDP
        // needs, then becoming the image's user with none (--user).
        let iface = bed.server_if.clone();
        let args = [
            "serve",
            "--config",
            config,
            "--iface",
            &iface,
            "--listen",
            &listen,
            "--user",
            "responder",
            "--stats-interval",
            "0",
        ];
        let caps = "NET_ADMIN,NET_RAW,BPF,PERFMON,IPC_LOCK,NET_BIND_SERVICE";
        let name = format!("responder-xdp-{pid}");
        let container = Container(name.clone());
        let network = format!("ns:/run/netns/{}", bed.server_ns);
        let mut run = vec![
            "run",
            "--detach",
            "--name",
            &name,
            "--user",
            "0:0",
            "--network",
            &network,
            "--cap-add",
            caps,
            "--security-opt",
            &seccomp,
            &image.0,
        ];
        run.extend_from_slice(&args);
        let (ok, said) = podman(&run);
        assert!(ok, "podman run (XDP):\n{said}");
        answered_by_kdig(&bed, &name);
        let (ok, said) = podman(&["stop", "--time", "10", &name]);
        assert!(ok, "{said}");
        let (_, logs) = podman(&["logs", &name]);
        drop(container);
        assert!(logs.contains(&format!("running as responder (uid {UID}, no capabilities)")), "{logs}");
        let tx: u64 = logs
            .lines()
            .filter_map(|l| l.split_once("): rx ").map(|(_, rest)| rest))
            .filter_map(|rest| rest.split_whitespace().nth(2)?.parse::<u64>().ok())
            .sum();
        assert!(tx >= 1, "answered through AF_XDP:\n{logs}");
        let link = bed.server_command("ip").args(["-j", "link", "show", "dev", &iface]).output().unwrap();
        assert!(!String::from_utf8_lossy(&link.stdout).contains("\"xdp\""), "XDP detached after the container stopped");
        fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn the_seccomp_profile_allows_bpf_with_cap_bpf_only() {
        let default = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["bpf", "quotactl"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#;
        let profile: serde_json::Value = serde_json::from_str(&seccomp_for_xdp(default).unwrap()).unwrap();
        let rules = profile["syscalls"].as_array().unwrap();
        let with_bpf: Vec<_> =
            rules.iter().filter(|r| r["names"].as_array().unwrap().iter().any(|n| n == "bpf")).collect();
        assert_eq!(with_bpf.len(), 1, "{rules:#?}");
        assert_eq!(
            (&with_bpf[0]["action"], &with_bpf[0]["includes"]["caps"][0]),
            (&"SCMP_ACT_ALLOW".into(), &"CAP_BPF".into())
        );
        assert_eq!(rules.len(), 3, "quotactl's rule is kept, the emptied one dropped: {rules:#?}");
        assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    }

    #[test]
    fn the_image_config_is_the_example_with_the_images_paths() {
        let config = config().unwrap();
        assert!(config.contains("listen = [\"0.0.0.0:5353\"]") && config.contains("file = \"zones/example.com.zone\""));
        assert!(containerfile("1.2.3").contains(&format!("USER {UID}:{UID}\nENTRYPOINT [\"/usr/bin/responder\"]")));
    }
}
