//! The signed-zone run (`--signed [nsec3|nsec]`): the bench zone signed at
//! bench time by a real signer, ldns-signzone with a KSK and a ZSK from
//! ldns-keygen (ECDSA P-256), the way `tests/src/signer.rs` signs test
//! zones. Every server then loads the same signed file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::super::plan::Denial;
use super::super::process::run_bounded;
use super::super::workload::ORIGIN;

/// The NSEC3 salt (hex). RFC 9276 advises none; signers still commonly
/// set one, and a salt costs a server nothing per query.
pub const NSEC3_SALT: &str = "5eedd115";

/// Signing 100,000 names takes seconds; this is for a machine under load.
const SIGN_TIMEOUT: Duration = Duration::from_secs(600);
const KEYGEN_TIMEOUT: Duration = Duration::from_secs(60);

pub const LDNS_SIGNZONE: &str = "/usr/bin/ldns-signzone";
pub const LDNS_KEYGEN: &str = "/usr/bin/ldns-keygen";

/// The signed zone and what signing it took.
pub struct Signed {
    pub zone: PathBuf,
    pub seconds: f64,
}

/// ldns-signzone's arguments: NSEC3 with 0 iterations and the salt, no
/// opt-out (every delegation gets its NSEC3), or plain NSEC.
pub fn signzone_args(denial: Denial, zone: &str, ksk: &str, zsk: &str) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if denial == Denial::Nsec3 {
        args.extend(["-n", "-t", "0", "-s", NSEC3_SALT].map(str::to_owned));
    }
    // The origin: the zone file's own $ORIGIN says so too, but ldns takes
    // the file's name otherwise.
    args.extend(["-o".to_owned(), ORIGIN.to_owned(), zone.to_owned(), ksk.to_owned(), zsk.to_owned()]);
    args
}

/// Signs `zone` (in `dir`) into `zone.signed` there.
pub fn sign(dir: &Path, zone: &Path, denial: Denial) -> Result<Signed, String> {
    for tool in [LDNS_KEYGEN, LDNS_SIGNZONE] {
        if !Path::new(tool).is_file() {
            return Err(format!("{tool} is missing (Debian package ldnsutils); --signed cannot run without it"));
        }
    }
    let keygen = |ksk: bool| -> Result<String, String> {
        let mut cmd = Command::new(LDNS_KEYGEN);
        cmd.current_dir(dir).args(["-a", "ECDSAP256SHA256"]);
        if ksk {
            cmd.arg("-k");
        }
        let out = run_bounded(cmd.arg(ORIGIN), KEYGEN_TIMEOUT)?;
        let base = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || base.is_empty() {
            return Err(format!(
                "ldns-keygen failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(base)
    };
    let (ksk, zsk) = (keygen(true)?, keygen(false)?);
    let started = Instant::now();
    let mut cmd = Command::new(LDNS_SIGNZONE);
    cmd.current_dir(dir).args(signzone_args(denial, &zone.display().to_string(), &ksk, &zsk));
    let out = run_bounded(&mut cmd, SIGN_TIMEOUT)?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("ldns-signzone failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    let mut signed = zone.as_os_str().to_owned();
    signed.push(".signed");
    let signed = PathBuf::from(signed);
    if !signed.is_file() {
        return Err(format!("ldns-signzone wrote no {}", signed.display()));
    }
    Ok(Signed { zone: signed, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsec3_has_no_iterations_a_salt_and_no_opt_out() {
        let args = signzone_args(Denial::Nsec3, "z", "Kk", "Kz");
        assert_eq!(args, ["-n", "-t", "0", "-s", NSEC3_SALT, "-o", ORIGIN, "z", "Kk", "Kz"]);
        assert!(!args.contains(&"-p".to_owned()), "no opt-out");
        assert_eq!(signzone_args(Denial::Nsec, "z", "Kk", "Kz"), ["-o", ORIGIN, "z", "Kk", "Kz"]);
    }
}
