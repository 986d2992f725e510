//! Differential test: our wire-format RDATA against Knot's, for the bundled
//! zones. Knot's zone parser shares no code or author with ours, so byte-for-
//! byte agreement on every record of every type is the strongest check we have.
//!
//! knotd serves the zones on a loopback port and kdig transfers them with
//! `+generic`, which prints each RDATA in RFC 3597 hex. Needs knotd and kdig
//! (Debian: knot, knot-dnsutils): skipped without them unless `CI=true`.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::test_support::{zones_dir, TempDir};
use super::{embedded_names, load_file, Name, RType, Record};

/// (owner in lower case, type number, RDATA in upper-case hex)
type Rows = BTreeSet<(String, u16, String)>;

const ZONES: [(&str, &str); 2] = [("example.com.", "example.com.zone"), ("types.example.", "tests/all-types.zone")];

#[test]
fn knot_reads_every_record_to_the_same_wire_bytes() {
    let required = std::env::var("CI").is_ok_and(|v| v == "true");
    if !installed("knotd") || !installed("kdig") {
        assert!(!required, "CI=true but knotd or kdig is missing (apt-get install knot knot-dnsutils)");
        eprintln!("skipping: knotd and kdig are needed (apt-get install knot knot-dnsutils)");
        return;
    }
    let dir = TempDir::new("knot-diff");
    let port = free_loopback_port();
    dir.write("knot.conf", &knot_config(dir.root(), port));
    let _knotd = KillOnDrop(
        Command::new("knotd")
            .arg("-c")
            .arg(dir.path("knot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start knotd"),
    );
    for (origin, file) in ZONES {
        let theirs = knot_rows(port, origin);
        assert_eq!(our_rows(&zones_dir().join(file), origin), theirs, "{file}");
    }
}

fn installed(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// A port nobody listens on right now (the kernel's choice, then released).
fn free_loopback_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

fn knot_config(dir: &Path, port: u16) -> String {
    let zones = zones_dir().canonicalize().expect("zones directory");
    let mut config = format!(
        "server:\n  listen: 127.0.0.1@{port}\n  rundir: {dir}\n\
         database:\n  storage: {dir}\n\
         acl:\n  - id: local\n    address: 127.0.0.1\n    action: transfer\n\
         template:\n  - id: default\n    storage: {zones}\n    semantic-checks: on\n    acl: local\n\
         zone:\n",
        dir = dir.display(),
        zones = zones.display(),
    );
    for (origin, file) in ZONES {
        config.push_str(&format!("  - domain: {origin}\n    file: {file}\n"));
    }
    config
}

fn our_rows(path: &Path, origin: &str) -> Rows {
    let origin = Name::parse(origin, None).unwrap().unwrap();
    let zone = load_file(path, Some(&origin)).unwrap_or_else(|e| panic!("{e}"));
    zone.records.iter().map(|r| (r.owner.to_lowercase().to_string(), r.rtype.0, hex(&knot_case(r)))).collect()
}

/// Knot lowers the names inside the RDATA of the types RFC 4034 §6.2 lists
/// for the canonical form; we keep them as written (RFC 4343). Compare what
/// Knot would hold.
fn knot_case(record: &Record) -> Vec<u8> {
    const CANONICAL_LOWER: [RType; 24] = [
        RType::NS,
        RType::MD,
        RType::MF,
        RType::CNAME,
        RType::SOA,
        RType::MB,
        RType::MG,
        RType::MR,
        RType::PTR,
        RType::MINFO,
        RType::MX,
        RType::RP,
        RType::AFSDB,
        RType::RT,
        RType::SIG,
        RType::PX,
        RType::NXT,
        RType::NAPTR,
        RType::KX,
        RType::SRV,
        RType::DNAME,
        RType::A6,
        RType::RRSIG,
        RType::NSEC,
    ];
    let mut rdata = record.rdata.to_vec();
    if CANONICAL_LOWER.contains(&record.rtype) {
        for (at, len, _) in embedded_names(record.rtype, &record.rdata) {
            rdata[at..at + len].make_ascii_lowercase();
        }
    }
    rdata
}

/// AXFR from knotd, retried while it starts and loads (at most ten seconds).
fn knot_rows(port: u16, origin: &str) -> Rows {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let output = Command::new("kdig")
            .args(["@127.0.0.1", "-p", &port.to_string(), origin, "AXFR"])
            .args(["+generic", "+nocomments", "+nostats", "+time=1", "+retry=0"])
            .output()
            .expect("run kdig");
        let text = String::from_utf8_lossy(&output.stdout);
        let rows = parse_generic_axfr(&text);
        if !rows.is_empty() {
            return rows;
        }
        assert!(Instant::now() < deadline, "no AXFR of {origin} from knotd: {text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Lines like `www.example.com. 3600 IN TYPE1 \# 4 C6120050`.
fn parse_generic_axfr(text: &str) -> Rows {
    let mut rows = Rows::new();
    for line in text.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(owner), Some(rtype)) = (fields.first(), fields.get(3)) else {
            continue;
        };
        let Some(rtype) = rtype.strip_prefix("TYPE").and_then(|n| n.parse().ok()) else {
            continue;
        };
        let rdata = fields.get(6..).unwrap_or_default().concat().to_uppercase();
        rows.insert((owner.to_string(), rtype, rdata));
    }
    rows
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
