//! A one-line native XDP_PASS program on the client end of a testbed.
//! veth delivers an XDP_TX frame (a tier-0 answer, the reflector's reply)
//! at once only to a peer that runs a native XDP program itself: it wakes
//! the peer's NAPI only then. Compiled with clang, attached with `ip link`
//! (a real NIC needs nothing of the kind).

use std::path::Path;
use std::process::Command;

use crate::testbed::{run, Testbed};

const SOURCE: &str = "__attribute__((section(\"xdp\"), used)) int pass(void *ctx) { return 2; }\n\
                      char LICENSE[] __attribute__((section(\"license\"), used)) = \"MIT\";\n";

/// Compiles the program into `dir` and attaches it to the client interface;
/// panics (the test fails) when either step does.
pub fn attach(bed: &Testbed, dir: &Path) {
    let source = dir.join("pass.c");
    let object = dir.join("pass.o");
    std::fs::write(&source, SOURCE).expect("writing pass.c");
    let cc = run(Command::new("clang").args(["-target", "bpf", "-O2", "-c"]).arg(&source).arg("-o").arg(&object))
        .expect("clang");
    assert!(cc.status.success(), "clang: {}", String::from_utf8_lossy(&cc.stderr));
    let object = object.display().to_string();
    let ip = run(bed.client_command("ip").args([
        "link",
        "set",
        "dev",
        &bed.client_if,
        "xdpdrv",
        "obj",
        &object,
        "sec",
        "xdp",
    ]))
    .expect("ip link");
    assert!(ip.status.success(), "ip link set xdpdrv: {}", String::from_utf8_lossy(&ip.stderr));
}
