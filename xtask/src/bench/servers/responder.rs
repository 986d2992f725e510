//! The responder in its three serving modes, and the I/O floor (the same
//! AF_XDP data plane answering with a fixed reply).

use std::path::{Path, PathBuf};

use super::{Context, Launch, NotRun};
use crate::bench::bed::SERVER_CPU;
use crate::bench::plan::ServerKind;
use crate::testbed::SERVER_V4;

/// Logged by `responder serve` once everything serves, XDP included.
const READY_LINE: &str = "responder ready:";
/// Logged by the floor example once XDP steers to every queue's socket.
const FLOOR_READY_LINE: &str = "AF_XDP serving on";

pub fn launch(kind: ServerKind, ctx: &Context<'_>) -> Result<Launch, NotRun> {
    let zone = ctx.zone.display().to_string();
    let listen = format!("{SERVER_V4}:53");
    let iface = ctx.bed.bed.server_if.clone();
    // Unpinned, the workers take the data plane's own default (`auto`):
    // it always pins one worker per queue, to the interface's local CPUs.
    let cpu = if ctx.bed.pinned { SERVER_CPU.to_string() } else { "auto".to_owned() };
    let serve = |extra: &[&str]| -> Vec<String> {
        // One kernel UDP worker: the XDP modes do not use it, the kernel mode
        // gets one, like the other servers.
        let mut args: Vec<String> =
            ["serve", "--user", "root", "--zone", &zone, "--listen", &listen, "--udp-workers", "1"]
                .map(str::to_owned)
                .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(ctx.responder_args.iter().cloned());
        args
    };
    let responder = ctx.responder.display().to_string();
    let socket = control_socket(&ctx.dir, kind);
    let control = socket.display().to_string();
    let (program, args, ready_line) = match kind {
        ServerKind::ResponderXdp => (
            responder,
            serve(&["--iface", &iface, "--xdp-mode", "native", "--cpus", &cpu, "--control-socket", &control]),
            Some(READY_LINE),
        ),
        ServerKind::ResponderXdpGeneric => (
            responder,
            serve(&["--iface", &iface, "--xdp-mode", "generic", "--cpus", &cpu, "--control-socket", &control]),
            Some(READY_LINE),
        ),
        ServerKind::ResponderKernel => (responder, serve(&[]), None),
        ServerKind::Floor => (
            ctx.floor.display().to_string(),
            ["--iface", &iface, "--xdp-mode", "native", "--cpus", &cpu, "--address", &SERVER_V4.to_string()]
                .map(str::to_owned)
                .to_vec(),
            Some(FLOOR_READY_LINE),
        ),
        other => return Err(NotRun::Failed(format!("{other} is not a responder mode"))),
    };
    // The floor has no control socket: it prints its counters only at exit.
    let control_socket = matches!(kind, ServerKind::ResponderXdp | ServerKind::ResponderXdpGeneric).then_some(socket);
    Ok(Launch { program, args, ready_line, control_socket })
}

/// In the server's scratch directory, unless that path is too long for a
/// Unix socket address (108 bytes with its terminating NUL).
fn control_socket(dir: &Path, kind: ServerKind) -> PathBuf {
    let path = dir.join("ctl.sock");
    if path.as_os_str().len() < 100 {
        path
    } else {
        std::env::temp_dir().join(format!("rsp-bench-{}-{kind}.sock", std::process::id()))
    }
}
