//! The Unix control socket behind `responder ctl`: one line in (`reload`,
//! `stats`), one JSON line out. One request at a time on one thread: a
//! reload is serialised anyway, and stats are cheap.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use super::runtime::Runtime;
use super::served;
use crate::stats::render;

/// How long a client may take to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest line accepted; the commands are a few bytes.
const MAX_REQUEST: u64 = 256;
/// How often the accept loop looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

pub struct ControlSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlSocket {
    /// Binds `path` (mode 0600: the socket can reload zones). A stale socket
    /// left by a killed server is replaced; a live one is an error, so two
    /// servers never fight over one path.
    pub fn start(path: &Path, runtime: Arc<Runtime>) -> Result<ControlSocket, String> {
        let shown = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("control socket {shown}: cannot create its directory: {e}"))?;
        }
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(format!("control socket {shown}: another server is listening on it"));
            }
            std::fs::remove_file(path)
                .map_err(|e| format!("control socket {shown}: cannot remove the stale one: {e}"))?;
        }
        let listener = UnixListener::bind(path).map_err(|e| format!("control socket {shown}: {e}"))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("control socket {shown}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| format!("control socket {shown}: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || accept_loop(&listener, &runtime, &thread_stop))
            .map_err(|e| format!("control socket {shown}: cannot start its thread: {e}"))?;
        Ok(ControlSocket { path: path.to_owned(), stop, thread: Some(thread) })
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // After a privilege drop the directory may not let us: harmless, the
        // next start replaces a stale socket.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept_loop(listener: &UnixListener, runtime: &Runtime, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = serve_one(stream, runtime) {
                    tracing::debug!("control socket client: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(STOP_POLL),
            Err(e) => {
                tracing::warn!("control socket: accept failed: {e}");
                std::thread::sleep(STOP_POLL);
            }
        }
    }
}

fn serve_one(stream: UnixStream, runtime: &Runtime) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line)?;
    let reply = handle(line.trim(), runtime);
    let mut stream = stream;
    writeln!(stream, "{reply}")
}

/// The reply to one request line.
pub fn handle(request: &str, runtime: &Runtime) -> Value {
    #[cfg(feature = "test-hooks")]
    if let Some(reply) = crate::test_hooks::handle(request) {
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
        other => json!({"ok": false, "error": format!("unknown command {other:?}: try reload or stats")}),
    }
}

/// Reloads and logs the outcome; shared with SIGHUP.
pub fn reload_reply(runtime: &Runtime) -> Value {
    match runtime.reloader.reload() {
        Ok(loaded) => {
            tracing::info!(
                "reloaded in {:.2?}: {} ({} bytes)",
                loaded.took,
                served::describe(&loaded.zones),
                loaded.table_bytes
            );
            let zones: Vec<Value> = loaded.zones.iter().map(|z| json!({"name": z.name, "serial": z.serial})).collect();
            json!({"ok": true, "zones": zones, "seconds": loaded.took.as_secs_f64()})
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
    use crate::control::reload::{Reloader, ZoneSource};
    use crate::engine::Options;

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
        assert!(error.contains("another server is listening"), "{error}");
        assert_eq!(ask(&path, b"stats\n")["ok"], true);
        drop(socket);
        assert!(!path.exists(), "the socket is removed at stop");
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
