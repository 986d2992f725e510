//! A one-line native XDP_PASS program on the client end, around the
//! kdig and dnsperf parts of a tier-0 run. veth delivers an XDP_TX frame
//! (a tier-0 answer) at once only to a peer running a native XDP program
//! itself, since only then does it wake the peer's NAPI (docs/DESIGN.md,
//! "Traps found on veth"); otherwise the answer waits in the ring until
//! something else arrives, and kdig and dnsperf time out. kxdpgun brings
//! its own program, so this one is off during load steps. A real NIC
//! needs nothing of the kind.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::bed::BenchBed;
use crate::testbed::run;

const SOURCE: &str = "__attribute__((section(\"xdp\"), used)) int pass(void *ctx) { return 2; }\n\
                      char LICENSE[] __attribute__((section(\"license\"), used)) = \"MIT\";\n";

/// Compiles the program into `dir`; returns the object's path.
pub fn build(dir: &Path) -> Result<PathBuf, String> {
    let source = dir.join("client-pass.c");
    let object = dir.join("client-pass.o");
    std::fs::write(&source, SOURCE).map_err(|e| format!("cannot write {}: {e}", source.display()))?;
    let out = Command::new("clang")
        .args(["-target", "bpf", "-O2", "-c"])
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .output()
        .map_err(|e| format!("cannot run clang for the client's XDP_PASS program: {e}"))?;
    if !out.status.success() {
        return Err(format!("clang failed on the client's XDP_PASS program: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(object)
}

/// Attaches `object` natively to the client interface.
pub fn attach(bed: &BenchBed, object: &Path) -> Result<(), String> {
    let object = object.display().to_string();
    let mut cmd = Command::new("ip");
    cmd.args([
        "-n",
        &bed.bed.client_ns,
        "link",
        "set",
        "dev",
        &bed.bed.client_if,
        "xdpdrv",
        "obj",
        &object,
        "sec",
        "xdp",
    ]);
    run(&mut cmd).map(drop).map_err(|e| format!("cannot attach the client's XDP_PASS program: {e}"))
}

/// Removes whatever XDP program the client interface has.
pub fn detach(bed: &BenchBed) -> Result<(), String> {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", &bed.bed.client_ns, "link", "set", "dev", &bed.bed.client_if, "xdp", "off"]);
    run(&mut cmd).map(drop).map_err(|e| format!("cannot detach the client's XDP program: {e}"))
}
