//! Zones signed at test time by real signers, never by responder: Knot
//! (`keymgr` + `kzonesign`, NSEC) and ldns (`ldns-keygen` +
//! `ldns-signzone`, NSEC3 with salt `0a1b` and 0 iterations, opt-out when
//! asked). Each returns the signed zone file's path under `dir`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::daemon::tool;

/// `ldns-keygen` makes a KSK and a ZSK, `ldns-signzone -n` signs with NSEC3
/// (salt, 0 iterations), with opt-out (`-p`) when asked.
pub fn with_ldns(dir: &Path, sub: &str, origin: &str, zone: &str, opt_out: bool) -> PathBuf {
    let ldns = dir.join(sub);
    std::fs::create_dir_all(&ldns).expect("ldns dir");
    let file = ldns.join(format!("{origin}.zone"));
    std::fs::write(&file, zone).expect("write zone");
    let keygen = |ksk: bool| {
        let mut cmd = Command::new("ldns-keygen");
        cmd.current_dir(&ldns).args(["-a", "ECDSAP256SHA256"]);
        if ksk {
            cmd.arg("-k");
        }
        tool(cmd.arg(origin)).trim().to_string()
    };
    let (ksk, zsk) = (keygen(true), keygen(false));
    let mut cmd = Command::new("ldns-signzone");
    cmd.current_dir(&ldns).args(["-n", "-t", "0", "-s", "0a1b"]);
    if opt_out {
        cmd.arg("-p");
    }
    tool(cmd.arg(&file).args([&ksk, &zsk]));
    ldns.join(format!("{origin}.zone.signed"))
}

/// `keymgr` makes a KSK and a ZSK, `kzonesign` signs with NSEC.
pub fn with_knot(dir: &Path, origin: &str, zone: &str) -> PathBuf {
    let knot = dir.join("knot");
    for sub in ["db", "out"] {
        std::fs::create_dir_all(knot.join(sub)).expect("knot dirs");
    }
    let name = format!("{origin}.zone");
    std::fs::write(knot.join(&name), zone).expect("write zone");
    let conf = knot.join("knot.conf");
    let config = format!(
        "server:\n    rundir: {d}\n\
         database:\n    storage: {d}/db\n\
         policy:\n  - id: ecdsa\n    algorithm: ecdsap256sha256\n    manual: on\n\
         zone:\n  - domain: {origin}\n    storage: {d}\n    file: {name}\n    dnssec-signing: on\n    \
         dnssec-policy: ecdsa\n",
        d = knot.display()
    );
    std::fs::write(&conf, config).expect("write knot.conf");
    let keymgr = |args: &[&str]| {
        tool(Command::new("keymgr").arg("-c").arg(&conf).arg(origin).arg("generate").args(args));
    };
    keymgr(&["algorithm=ecdsap256sha256", "ksk=yes", "zsk=no"]);
    keymgr(&["algorithm=ecdsap256sha256", "ksk=no", "zsk=yes"]);
    tool(Command::new("kzonesign").arg("-c").arg(&conf).arg("-o").arg(knot.join("out")).arg(origin));
    knot.join("out").join(name)
}
