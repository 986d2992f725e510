//! Records the commit the binary is built from, for the ready line (and
//! anything else that reports the build): `RESPONDER_COMMIT` if the builder
//! sets it (a source tarball has no git), else `git rev-parse`, else
//! "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=RESPONDER_COMMIT");
    let commit = std::env::var("RESPONDER_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| {
        // Rebuilt when HEAD moves: HEAD itself, the branch it names, and
        // packed-refs (where `git gc` moves branch heads).
        for path in ["HEAD", "packed-refs"] {
            if let Some(p) = git(&["rev-parse", "--git-path", path]) {
                println!("cargo:rerun-if-changed={p}");
            }
        }
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(p) = git(&["rev-parse", "--git-path", &branch]) {
                println!("cargo:rerun-if-changed={p}");
            }
        }
        // No "-dirty": the script reruns only when HEAD moves, so it could
        // not keep that mark true.
        git(&["rev-parse", "--short=12", "HEAD"])
    });
    println!("cargo:rustc-env=RESPONDER_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
}
