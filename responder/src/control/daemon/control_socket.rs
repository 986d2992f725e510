//! The Unix control socket behind `responder ctl`: one line in (`reload`,
//! `stats`, `zone-status [ZONE]`, `zone-reload ZONE`, `zone-refresh ZONE`, `zone-retransfer ZONE`), one JSON line out. Each client on its own thread
//! ([`clients`](super::clients)), so an idle one delays no `ctl stats`; two
//! reloads at once take turns inside the reloader.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::clients::{Client, Clients, Limits};
use super::runtime::Runtime;
use super::served;
use super::snapshot::render;
use super::socket_path::{self, Claimed};

/// Longest line accepted; the commands are a few bytes.
const MAX_REQUEST: u64 = 256;
/// A command is a few bytes typed by a program: the whole line must arrive
/// within the request limit. The reply limit starts with its first byte,
/// after any reload.
const LIMITS: Limits = Limits { connections: 8, request: Duration::from_secs(3), reply: Duration::from_secs(5) };
const BUSY: &[u8] = b"{\"ok\":false,\"error\":\"busy: too many control clients at once\"}\n";

pub struct ControlSocket {
    // Fields drop in order: accepting stops before the file goes.
    _clients: Clients,
    _claimed: Claimed,
}

impl ControlSocket {
    /// Binds `path`, refusing anything there but a stale socket
    /// ([`socket_path::bind`]), and serves it.
    pub fn start(path: &Path, runtime: Arc<Runtime>) -> Result<ControlSocket, String> {
        let (listener, claimed) = socket_path::bind(path)?;
        let clients = Clients::start("control", listener, LIMITS, BUSY, move |client| serve_one(client, &runtime))
            .map_err(|e| format!("control socket {}: cannot serve it: {e}", path.display()))?;
        Ok(ControlSocket { _clients: clients, _claimed: claimed })
    }
}

fn serve_one<S: super::clients::Stream>(client: &mut Client<S>, runtime: &Runtime) -> io::Result<()> {
    let mut line = String::new();
    BufReader::new((&mut *client).take(MAX_REQUEST)).read_line(&mut line)?;
    if line.is_empty() {
        return Ok(()); // closed without asking: a liveness probe
    }
    // Rendered whole before the first byte goes out: written piece by piece
    // (a system call per JSON token), the 5 s reply limit ran out in the
    // middle of the `ctl stats` of 20,000 zones, and the client got half.
    let mut reply = handle(line.trim(), runtime).to_string();
    reply.push('\n');
    client.write_all(reply.as_bytes())
}

/// The reply to one request line.
pub fn handle(request: &str, runtime: &Runtime) -> Value {
    #[cfg(feature = "test-hooks")]
    if let Some(reply) = crate::test_hooks::handle(request) {
        return reply;
    }
    if let Some(reply) = super::secondary::handle(request, runtime) {
        return reply;
    }
    if let Some(reply) = super::zone_set::handle(request, runtime) {
        return reply;
    }
    match request {
        "stats" => {
            let mut stats = render::json(&runtime.snapshot());
            stats["ok"] = json!(true);
            stats
        }
        "reload" => {
            tracing::info!("reload requested over the control socket");
            reload_reply(runtime)
        }
        other => {
            json!({"ok": false, "error": format!("unknown command {other:?}: try reload, stats, zone-status, zone-reload, zone-refresh or zone-retransfer")})
        }
    }
}

/// Reloads and logs the outcome; shared with SIGHUP.
pub fn reload_reply(runtime: &Runtime) -> Value {
    runtime.notifier.reloading();
    let outcome = runtime.reloader.reload();
    // READY=1 either way: a failed reload leaves the old zones serving.
    let status = match &outcome {
        Ok(loaded) => format!("serving {}", served::describe(&loaded.zones)),
        Err(_) => "reload failed; serving the previous zones".into(),
    };
    runtime.notifier.reloaded(&status);
    match outcome {
        Ok(loaded) => {
            tracing::info!(
                "reloaded in {:.2?} ({}): {} ({} bytes)",
                loaded.took,
                loaded.path.name(),
                served::describe(&loaded.zones),
                loaded.table_bytes
            );
            let zones: Vec<Value> = loaded.zones.iter().map(|z| json!({"name": z.name, "serial": z.serial})).collect();
            json!({"ok": true, "zones": zones, "seconds": loaded.took.as_secs_f64(), "path": loaded.path.name()})
        }
        Err(error) => {
            tracing::error!("reload failed, still serving the previous zones: {error}");
            json!({"ok": false, "error": error})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::daemon::reload::{Reloader, ZoneSource};
    use crate::engine::Options;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::{UnixListener, UnixStream};

    fn runtime(dir: &Path) -> Arc<Runtime> {
        let zone = dir.join("example.com.zone");
        std::fs::write(&zone, "$ORIGIN example.com.\n@ 300 IN SOA ns h 5 1 1 1 60\n@ NS ns\nns A 198.18.0.1\n")
            .unwrap();
        let source = ZoneSource::Zones(vec![zone.display().to_string()]);
        let (reloader, _) = Reloader::start(source, Options::default()).unwrap();
        Arc::new(Runtime::new(reloader))
    }

    fn ask(path: &Path, request: &[u8]) -> Value {
        let mut stream = UnixStream::connect(path).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(request).unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn requests_are_answered_and_nonsense_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/ctl.sock");
        let socket = ControlSocket::start(&path, runtime(dir.path())).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only the owner may reload");

        let stats = ask(&path, b"stats\n");
        assert_eq!((stats["ok"].as_bool(), stats["zones"][0]["serial"].as_u64()), (Some(true), Some(5)));
        let reload = ask(&path, b"reload\n");
        assert_eq!(reload["ok"], true, "{reload}");
        let unknown = ask(&path, b"shutdown\n");
        assert_eq!(unknown["ok"], false);
        assert!(unknown["error"].as_str().unwrap().contains("unknown command \"shutdown\""), "{unknown}");
        // A request longer than the limit is cut there, never buffered whole.
        let long = ask(&path, &[b'x'; 4096]);
        assert_eq!(long["ok"], false);
        assert!(long["error"].as_str().unwrap().len() < 400, "{long}");

        // A second server on a live socket is refused; the first keeps it.
        let error = ControlSocket::start(&path, runtime(dir.path())).err().expect("a live socket is kept");
        assert!(error.contains("another responder is serving it"), "{error}");
        assert_eq!(ask(&path, b"stats\n")["ok"], true);
        drop(socket);
        assert!(!path.exists(), "the socket is removed at stop");
    }

    /// `stats` is answered within 1 s while one client sits idle and another
    /// drips a byte every 4 s; the dripping one is cut off before its second
    /// byte is due.
    #[test]
    fn idle_and_dripping_clients_delay_no_stats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        let _socket = ControlSocket::start(&path, runtime(dir.path())).unwrap();
        let idle = UnixStream::connect(&path).unwrap();
        let mut drip = UnixStream::connect(&path).unwrap();
        drip.write_all(b"s").unwrap();
        std::thread::sleep(Duration::from_millis(100)); // both in the server's hands

        let started = std::time::Instant::now();
        assert_eq!(ask(&path, b"stats\n")["ok"], true);
        assert!(started.elapsed() < Duration::from_secs(1), "stats took {:?}", started.elapsed());

        drip.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        let mut byte = [0u8; 1];
        match drip.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("the dripping client was kept past the request limit: {other:?}"),
        }
        drop(idle);
    }

    #[test]
    fn a_file_at_the_path_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        std::fs::write(&path, b"not a socket\n").unwrap();
        let error = ControlSocket::start(&path, runtime(dir.path())).err().expect("a file is not replaced");
        assert!(error.contains("a regular file is there, not a socket"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"not a socket\n");
    }

    /// Two servers starting at once on a stale socket: one serves it, the
    /// other is refused, and neither removes the other's new socket.
    #[test]
    fn of_two_servers_starting_at_once_on_a_stale_socket_exactly_one_serves_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        let runtime = runtime(dir.path());
        for round in 0..40 {
            drop(UnixListener::bind(&path).unwrap()); // stale
            let barrier = std::sync::Barrier::new(2);
            let started: Vec<Result<ControlSocket, String>> = std::thread::scope(|scope| {
                let starts: Vec<_> = (0..2)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            ControlSocket::start(&path, Arc::clone(&runtime))
                        })
                    })
                    .collect();
                starts.into_iter().map(|s| s.join().unwrap()).collect()
            });
            let served = started.iter().filter(|s| s.is_ok()).count();
            let errors: Vec<&String> = started.iter().filter_map(|s| s.as_ref().err()).collect();
            assert_eq!(served, 1, "round {round}: {served} servers started ({errors:?})");
            assert!(errors[0].contains("another responder is serving it"), "round {round}: {}", errors[0]);
            assert_eq!(ask(&path, b"stats\n")["ok"], true, "round {round}: the winner lost its socket");
            drop(started);
        }
    }

    #[test]
    fn the_stall_hook_exists_only_with_the_test_hooks_feature() {
        let dir = tempfile::tempdir().unwrap();
        let reply = handle("test-stall-worker 0 10", &runtime(dir.path()));
        assert_eq!(reply["ok"], cfg!(feature = "test-hooks"), "{reply}");
        // No worker runs here; take the request back so none in this process sleeps.
        handle("test-stall-worker 0 0", &runtime(dir.path()));
    }

    #[test]
    fn a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        drop(UnixListener::bind(&path).unwrap()); // the file stays, nobody listens
        assert!(path.exists());
        let _socket = ControlSocket::start(&path, runtime(dir.path())).unwrap();
        assert_eq!(ask(&path, b"stats\n")["ok"], true);
    }
}
