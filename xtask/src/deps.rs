//! `cargo xtask deps`: make sure the Debian/Ubuntu packages the project needs
//! are installed, installing only what is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{interrupt, workspace};

/// Needed to build: `responder/build.rs` compiles `ebpf/xdp_dns.c` with clang.
/// No gcc-multilib: `linux-libc-dev` already ships `<asm/types.h>` under
/// /usr/include/<multiarch>/, which the build script adds to clang's path.
pub const BUILD_PACKAGES: &[&str] =
    &["clang", "llvm", "libbpf-dev", "libelf-dev", "zlib1g-dev", "pkg-config", "linux-libc-dev", "m4"];

/// Needed to run and test: testbeds (ip, ping), NIC queries, XDP inspection,
/// reference server and clients (knot, kdig, kxdpgun), the signers that sign
/// test zones at test time (kzonesign and keymgr; ldns-signzone), load and
/// leak checks.
pub const RUNTIME_PACKAGES: &[&str] = &[
    "iproute2",
    "iputils-ping",
    "ethtool",
    "bpftool",
    "knot",
    "knot-dnsutils",
    "knot-dnssecutils",
    "ldnsutils",
    // `delv` validates DO=1 answers against a test zone's key (tests/tests/dnssec_serve.rs);
    // `dnstap-read` decodes what tests/tests/dnstap.rs captures.
    "bind9-dnsutils",
    "dnsperf",
    "valgrind",
    // `cargo xtask man`'s test renders the pages with `man -l` and groff.
    "man-db",
    "groff-base",
    // `cargo xtask package` builds with dpkg-deb (in dpkg) and its test runs lintian.
    "lintian",
    // scripts/anycast-healthcheck polls /readyz with curl; its test runs it.
    "curl",
    // tests/tests/dnstap.rs: fstrm_capture reads the dnstap stream (dnstap-read,
    // above, decodes it), tcpdump reads the pcap output.
    "fstrm-bin",
    "tcpdump",
];

/// Needed by `cargo xtask bench` only, so installed by it rather than by
/// every command: the peer servers, the load and latency generators, and
/// gnuplot for the plot. Their services are kept from starting.
pub const BENCH_PACKAGES: &[&str] = &["knot", "nsd", "bind9", "knot-dnsutils", "dnsperf", "gnuplot-nox"];

/// Needed by `cargo xtask image` and its test only: podman builds and runs
/// the image; runc is its runtime here (crun fails on this machine kind's
/// cgroup layout, see [`configure_podman`]).
pub const IMAGE_PACKAGES: &[&str] = &["podman", "runc"];

/// What podman needs on these hosts (measured on Debian 12, podman 4.3):
/// the runc runtime, and no default ulimits (setting them fails in the
/// hosts' containers). Written only where no containers.conf exists, so an
/// administrator's file is never replaced.
const CONTAINERS_CONF: &str = "/etc/containers/containers.conf";
const CONTAINERS_CONF_TEXT: &str = "# Written by `cargo xtask image` (xtask/src/deps.rs): crun fails here\n\
                                    # (cgroups in hybrid mode, setrlimit errors); runc works.\n\
                                    [containers]\ndefault_ulimits = []\n\n[engine]\nruntime = \"runc\"\n";

pub fn configure_podman() -> Result<(), String> {
    let path = Path::new(CONTAINERS_CONF);
    if path.exists() {
        let text = fs::read_to_string(path).map_err(|e| format!("{CONTAINERS_CONF}: {e}"))?;
        if !text.contains("default_ulimits") || !text.contains("runc") {
            eprintln!(
                "xtask: warning: {CONTAINERS_CONF} exists without `default_ulimits = []` and runtime \"runc\"; \
                 podman may fail here (see docs/DEPLOY.md, Containers)"
            );
        }
        return Ok(());
    }
    if !workspace::is_root() {
        return Err(format!("{CONTAINERS_CONF} is missing; as root, write:\n{CONTAINERS_CONF_TEXT}"));
    }
    fs::create_dir_all("/etc/containers").map_err(|e| format!("/etc/containers: {e}"))?;
    fs::write(path, CONTAINERS_CONF_TEXT).map_err(|e| format!("{CONTAINERS_CONF}: {e}"))
}

/// Services that packages start on install; the bench starts its own
/// instances on the testbed and must find port 53 free.
const SERVICES: &[(&str, &str)] = &[("knot", "knot.service"), ("nsd", "nsd.service"), ("bind9", "named.service")];

const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// `announce`: say so when nothing needed doing (when asked for explicitly;
/// as the silent first step of other commands it would only be noise).
pub fn run(announce: bool) -> Result<(), String> {
    ensure(&wanted(), announce)?;
    // The image's test (xtask/src/image.rs) runs in `cargo xtask test` too.
    ensure(IMAGE_PACKAGES, announce)?;
    if workspace::is_root() {
        configure_podman()?;
    }
    ensure_python_tool(KUBERNETES_VALIDATE.0, KUBERNETES_VALIDATE.1, announce)
}

/// `kubernetes-validate` (PyPI): the Kubernetes OpenAPI schemas bundled, so
/// tests/tests/kubernetes.rs validates the manifests offline. Debian has no
/// kubeconform or kubectl, and no image registry is reachable here.
pub const KUBERNETES_VALIDATE: (&str, &str) = ("kubernetes-validate", "kubernetes-validate==1.37.0");

/// Installs `requirement` with pip unless `command` is already on PATH.
fn ensure_python_tool(command: &str, requirement: &str, announce: bool) -> Result<(), String> {
    let present = Command::new(command).arg("--version").output().is_ok_and(|o| o.status.success());
    if present {
        if announce {
            eprintln!("xtask deps: {command} is installed");
        }
        return Ok(());
    }
    eprintln!("xtask deps: installing {requirement} with pip");
    let pip = |extra: &[&str]| {
        Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(extra)
            .arg(requirement)
            .status()
            .is_ok_and(|s| s.success())
    };
    // Debian's own python3 refuses installs outside a venv (PEP 668) unless told.
    if pip(&[]) || pip(&["--break-system-packages"]) {
        Ok(())
    } else {
        Err(format!("cannot install {requirement}: run `python3 -m pip install {requirement}` (Debian: apt-get install python3-pip)"))
    }
}

/// Installs those of `packages` that are missing.
pub fn ensure(packages: &[&str], announce: bool) -> Result<(), String> {
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    if !is_debian_like(&os_release) {
        eprintln!(
            "xtask deps: not Debian/Ubuntu; cannot install packages automatically. Make sure the equivalents \
             of these are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    }

    let missing = missing_packages(packages)?;
    if missing.is_empty() {
        if announce {
            eprintln!("xtask deps: all {} system packages are installed", packages.len());
        }
        return Ok(());
    }
    let install_line =
        format!("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y {}", missing.join(" "));
    if !workspace::is_root() {
        return Err(format!("missing system packages: {}\nrun as root:  {install_line}", missing.join(" ")));
    }

    interrupt::install();
    apt_get(&["update"])?;
    let (available, unavailable) = split_by_candidate(&missing)?;
    if !unavailable.is_empty() {
        eprintln!(
            "xtask deps: warning: not available from apt on this system, skipping: {} (install an equivalent by hand)",
            unavailable.join(" ")
        );
    }
    if available.is_empty() {
        return Ok(());
    }
    eprintln!("xtask deps: installing missing packages: {}", available.join(" "));
    {
        let _no_service_starts = ServiceStartBlock::engage()?;
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(available.iter().map(String::as_str));
        apt_get(&args)?;
    }
    keep_services_off(&available);
    Ok(())
}

/// Every package the project needs, build and runtime.
pub fn wanted() -> Vec<&'static str> {
    BUILD_PACKAGES.iter().chain(RUNTIME_PACKAGES).copied().collect()
}

/// Debian, Ubuntu and their derivatives (which name one of them in ID_LIKE).
pub fn is_debian_like(os_release: &str) -> bool {
    os_release.lines().any(|line| {
        let Some((key, value)) = line.split_once('=') else {
            return false;
        };
        let value = value.trim().trim_matches('"');
        match key.trim() {
            "ID" => matches!(value, "debian" | "ubuntu"),
            "ID_LIKE" => value.split_whitespace().any(|id| matches!(id, "debian" | "ubuntu")),
            _ => false,
        }
    })
}

fn missing_packages(wanted: &[&str]) -> Result<Vec<String>, String> {
    // dpkg-query exits 1 when it knows nothing about some name but still
    // prints the ones it knows, so the status code is not the answer.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${Status}\\n"])
        .args(wanted)
        .output()
        .map_err(|e| format!("cannot run dpkg-query: {e}"))?;
    let installed = installed_from_dpkg_query(&String::from_utf8_lossy(&out.stdout));
    Ok(wanted.iter().filter(|p| !installed.contains(**p)).map(|p| p.to_string()).collect())
}

/// Parses `dpkg-query -W -f='${Package} ${Status}\n'` output into the set of
/// installed packages. A package can be known but not installed
/// (`deinstall ok config-files`, `unknown ok not-installed`).
pub fn installed_from_dpkg_query(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, status)| status.split_whitespace().eq(["install", "ok", "installed"]))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// Splits packages into those apt can install and those it has no candidate
/// for (names differ between releases, e.g. bpftool on older Ubuntu).
fn split_by_candidate(packages: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let out = Command::new("apt-cache")
        .arg("policy")
        .args(packages)
        .output()
        .map_err(|e| format!("cannot run apt-cache: {e}"))?;
    let candidates = candidates_from_apt_policy(&String::from_utf8_lossy(&out.stdout));
    Ok(packages.iter().cloned().partition(|p| candidates.get(p).is_some_and(|c| c != "(none)")))
}

/// Parses `apt-cache policy PKG...` into package → candidate version.
/// Unknown names produce no block at all.
pub fn candidates_from_apt_policy(output: &str) -> BTreeMap<String, String> {
    let mut candidates = BTreeMap::new();
    let mut current = None;
    for line in output.lines() {
        if !line.starts_with(' ') {
            current = line.strip_suffix(':').map(str::to_owned);
        } else if let (Some(pkg), Some(version)) = (&current, line.trim().strip_prefix("Candidate:")) {
            candidates.insert(pkg.clone(), version.trim().to_owned());
        }
    }
    candidates
}

fn apt_get(args: &[&str]) -> Result<(), String> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if interrupt::interrupted() {
        return Err("interrupted".to_owned());
    }
    if !status.success() {
        return Err(format!("apt-get {} failed ({status})", args.join(" ")));
    }
    Ok(())
}

/// While alive, maintainer scripts may not start services: a packaged knotd
/// would otherwise start and take port 53 from the responder. Uses the
/// standard policy-rc.d hook (honoured by invoke-rc.d and
/// deb-systemd-invoke); an existing policy is the administrator's and is left
/// alone.
struct ServiceStartBlock {
    written: Option<PathBuf>,
}

impl ServiceStartBlock {
    fn engage() -> Result<Self, String> {
        Self::engage_at(Path::new(POLICY_RC_D))
    }

    fn engage_at(path: &Path) -> Result<Self, String> {
        if path.exists() {
            return Ok(ServiceStartBlock { written: None });
        }
        write_deny_policy(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(ServiceStartBlock { written: Some(path.to_owned()) })
    }
}

fn write_deny_policy(path: &Path) -> io::Result<()> {
    // 101 = "action forbidden by policy" (invoke-rc.d(8)).
    fs::write(path, "#!/bin/sh\n# Temporary, from `cargo xtask deps`: no service starts during install.\nexit 101\n")?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

impl Drop for ServiceStartBlock {
    fn drop(&mut self) {
        if let Some(path) = &self.written {
            if let Err(e) = fs::remove_file(path) {
                eprintln!("xtask deps: warning: could not remove {}: {e}; remove it by hand", path.display());
            }
        }
    }
}

/// We installed DNS servers as references, not as the machine's DNS
/// service: keep systemd from starting them at the next boot.
fn keep_services_off(installed: &[String]) {
    if !Path::new("/run/systemd/system").exists() {
        return;
    }
    for (_, service) in SERVICES.iter().filter(|(package, _)| installed.iter().any(|p| p == package)) {
        let disabled = Command::new("systemctl").args(["disable", "--now", service]).output();
        if disabled.is_ok_and(|out| out.status.success()) {
            eprintln!("xtask deps: disabled the {service} that came with the package (it would take port 53)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_debian_family() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\n";
        let ubuntu = "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n";
        let mint = "NAME=\"Linux Mint\"\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\n";
        let fedora = "NAME=\"Fedora Linux\"\nID=fedora\n";
        let tricky = "NAME=\"debian lookalike\"\nID=arch\nVARIANT_ID=debian\n";
        assert!(is_debian_like(debian));
        assert!(is_debian_like(ubuntu));
        assert!(is_debian_like(mint));
        assert!(!is_debian_like(fedora));
        assert!(!is_debian_like(tricky));
        assert!(!is_debian_like(""));
    }

    #[test]
    fn only_fully_installed_packages_count() {
        let out = "clang install ok installed\n\
                   knot deinstall ok config-files\n\
                   gcc-multilib unknown ok not-installed\n\
                   llvm install ok half-configured\n\
                   m4 install ok installed\n";
        let installed = installed_from_dpkg_query(out);
        assert_eq!(installed.into_iter().collect::<Vec<_>>(), ["clang", "m4"]);
    }

    #[test]
    fn package_list_has_no_duplicates_and_no_multilib() {
        let all = wanted();
        let unique: BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        assert!(!all.contains(&"gcc-multilib"));
        for tool_package in
            ["clang", "libbpf-dev", "knot-dnsutils", "knot-dnssecutils", "ldnsutils", "iproute2", "bpftool"]
        {
            assert!(all.contains(&tool_package), "{tool_package}");
        }
    }

    #[test]
    fn bench_packages_bring_every_peer_and_their_services_are_known() {
        for package in ["knot", "nsd", "bind9", "dnsperf", "knot-dnsutils", "gnuplot-nox"] {
            assert!(BENCH_PACKAGES.contains(&package), "{package}");
        }
        for (package, _) in SERVICES {
            assert!(BENCH_PACKAGES.contains(package), "{package} has a service but is not a bench package");
        }
    }

    #[test]
    fn apt_policy_candidates() {
        let out = "clang:\n  Installed: (none)\n  Candidate: 1:14.0-55.7~deb12u1\n  Version table:\n     \
                   1:14.0-55.7~deb12u1 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n\
                   bpftool:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n";
        let c = candidates_from_apt_policy(out);
        assert_eq!(c.get("clang").map(String::as_str), Some("1:14.0-55.7~deb12u1"));
        assert_eq!(c.get("bpftool").map(String::as_str), Some("(none)"));
        assert_eq!(c.get("knot"), None);
    }

    #[test]
    fn service_block_writes_and_removes_its_own_policy_only() {
        let dir = std::env::temp_dir().join(format!("xtask-policy-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy-rc.d");
        {
            let _block = ServiceStartBlock::engage_at(&path).unwrap();
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "policy must be executable");
            // Through sh, not exec: other test threads forking while the file
            // was open for writing would make exec fail with ETXTBSY.
            let status = Command::new("sh").arg(&path).status().unwrap();
            assert_eq!(status.code(), Some(101), "policy must deny starts");
        }
        assert!(!path.exists(), "our policy must be removed afterwards");

        fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        drop(ServiceStartBlock::engage_at(&path).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "#!/bin/sh\nexit 0\n", "an existing policy is left alone");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn this_machine_has_what_the_project_needs() {
        // The sanity check behind `deps` itself: on a Debian machine where
        // deps has run, dpkg-query must see every package as installed.
        let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
        if !is_debian_like(&os_release) || std::env::var("CI").as_deref() != Ok("true") {
            eprintln!("skipping: only checked under CI=true on Debian/Ubuntu");
            return;
        }
        assert_eq!(missing_packages(&wanted()).unwrap(), Vec::<String>::new());
    }
}
