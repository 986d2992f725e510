//! The responder in its serving modes (XDP native, with tier 0 on, XDP
//! generic, kernel sockets), the I/O floor (the same AF_XDP data plane
//! answering with a fixed reply) and the in-kernel floor (the XDP program
//! reflecting each query itself).

use std::path::{Path, PathBuf};

use super::{Context, Launch, NotRun};
use crate::bench::bed::SERVER_CPU;
use crate::bench::plan::ServerKind;
use crate::testbed::SERVER_V4;

/// Logged by `responder serve` once everything serves, XDP included.
const READY_LINE: &str = "responder ready:";
/// Logged by the floor example once XDP steers to every queue's socket.
const FLOOR_READY_LINE: &str = "AF_XDP serving on";
/// Logged by the floor example once its reflector is attached.
const FLOOR_XDP_TX_READY_LINE: &str = "XDP_TX reflecting on";
/// Tier 0 for `responder-xdp-t0`: every zone's apex and delegations.
pub const T0_SELECTION: &str = "apex+delegations";

pub fn launch(kind: ServerKind, ctx: &Context<'_>) -> Result<Launch, NotRun> {
    let zone = ctx.zone.display().to_string();
    let listen = format!("{SERVER_V4}:53");
    let iface = ctx.bed.bed.server_if.clone();
    // Unpinned, the workers take the data plane's own default (`auto`):
    // it always pins one worker per queue, to the interface's local CPUs.
    let cpu = if ctx.bed.pinned { SERVER_CPU.to_string() } else { "auto".to_owned() };
    let serve = |extra: &[&str]| -> Vec<String> {
        // One kernel UDP worker: the XDP modes do not use it, the kernel mode
        // gets one, like the other servers; unless --responder-args sets the
        // count (a flag given twice is refused), e.g. to compare per-CPU
        // steering with the flow hash over two queues, unpinned.
        let mut args: Vec<String> =
            ["serve", "--user", "root", "--zone", &zone, "--listen", &listen].map(str::to_owned).to_vec();
        if !sets_udp_workers(ctx.responder_args) {
            args.extend(["--udp-workers".to_owned(), "1".to_owned()]);
        }
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
        ServerKind::ResponderXdpT0 => (
            responder,
            serve(&[
                "--iface",
                &iface,
                "--xdp-mode",
                "native",
                "--xdp-answers",
                T0_SELECTION,
                "--cpus",
                &cpu,
                "--control-socket",
                &control,
            ]),
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
        ServerKind::FloorXdpTx => (
            ctx.floor.display().to_string(),
            ["--iface", &iface, "--floor", "xdp-tx", "--xdp-mode", "native", "--address", &SERVER_V4.to_string()]
                .map(str::to_owned)
                .to_vec(),
            Some(FLOOR_XDP_TX_READY_LINE),
        ),
        other => return Err(NotRun::Failed(format!("{other} is not a responder mode"))),
    };
    // The floor has no control socket: it prints its counters only at exit.
    let control_socket = kind.runs_responder_program().then_some(socket);
    Ok(Launch { program, args, ready_line, control_socket })
}

/// Whether the extra `responder serve` flags choose the UDP worker count.
fn sets_udp_workers(args: &[String]) -> bool {
    args.iter().any(|a| a == "--udp-workers" || a.starts_with("--udp-workers="))
}

/// Tier 0 stays off, with a warning, when something stands in its way (a
/// kernel refusing its code, a conflicting flag in `--responder-args`):
/// measured so, `responder-xdp-t0` would be `responder-xdp` under another
/// name. Its start line says how many answers it published.
pub fn check_started(kind: ServerKind, log: &str) -> Result<(), String> {
    if kind != ServerKind::ResponderXdpT0 {
        return Ok(());
    }
    let wanted = format!("XDP answers {T0_SELECTION}: ");
    let published = log
        .lines()
        .find(|l| l.contains(READY_LINE))
        .and_then(|l| l.split(&wanted).nth(1))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u64>().ok());
    match published {
        Some(n) if n > 0 => Ok(()),
        _ => Err(format!(
            "{kind}: tier 0 is not on (no `{wanted}N` with N > 0 in the start line); the log says:\n{}",
            log.lines().filter(|l| l.contains("XDP answers") || l.contains(READY_LINE)).collect::<Vec<_>>().join("\n")
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responder_args_may_choose_the_udp_worker_count() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!sets_udp_workers(&args(&["--udp-flow-hash", "--ring-size", "4096"])));
        assert!(sets_udp_workers(&args(&["--udp-workers", "2", "--udp-flow-hash"])));
        assert!(sets_udp_workers(&args(&["--udp-workers=2"])));
    }

    #[test]
    fn the_tier0_server_must_have_published_answers() {
        let on = "INFO XDP answers (tier 0) published\nresponder ready: zones 1, XDP native on rs1 (1 queue), \
                  XDP answers apex+delegations: 6006, control /tmp/c\n";
        assert_eq!(check_started(ServerKind::ResponderXdpT0, on), Ok(()));
        let off = "WARN XDP answers (tier 0) are off: rate limiting\nresponder ready: zones 1, XDP answers off\n";
        let err = check_started(ServerKind::ResponderXdpT0, off).unwrap_err();
        assert!(err.contains("tier 0 is not on") && err.contains("rate limiting"), "{err}");
        let none = "responder ready: XDP answers apex+delegations: 0\n";
        assert!(check_started(ServerKind::ResponderXdpT0, none).is_err(), "nothing published");
        assert_eq!(check_started(ServerKind::ResponderXdp, off), Ok(()), "other kinds are not checked");
    }
}
