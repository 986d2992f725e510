//! `--metrics ADDR:PORT`: Prometheus text at `GET /metrics`, over the
//! smallest HTTP/1.1 that scrapers speak: one request per connection,
//! `Connection: close`. Everything else gets 404 (or 405 for other methods).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::runtime::Runtime;
use crate::stats::render;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Request heads are small; anything longer is not a scraper.
const MAX_HEAD: usize = 8192;
const STOP_POLL: Duration = Duration::from_millis(200);

pub struct MetricsServer {
    pub local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    pub fn start(addr: SocketAddr, runtime: Arc<Runtime>) -> Result<MetricsServer, String> {
        let listener = TcpListener::bind(addr).map_err(|e| format!("--metrics {addr}: {e}"))?;
        let local_addr = listener.local_addr().map_err(|e| format!("--metrics {addr}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| format!("--metrics {addr}: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || accept_loop(&listener, &runtime, &thread_stop))
            .map_err(|e| format!("--metrics {addr}: cannot start its thread: {e}"))?;
        Ok(MetricsServer { local_addr, stop, thread: Some(thread) })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, runtime: &Runtime, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = serve_one(stream, runtime) {
                    tracing::debug!("metrics client: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(STOP_POLL),
            Err(e) => {
                tracing::warn!("metrics: accept failed: {e}");
                std::thread::sleep(STOP_POLL);
            }
        }
    }
}

fn serve_one(mut stream: TcpStream, runtime: &Runtime) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 || head.len() + n > MAX_HEAD {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let (status, body) = respond(&head, runtime);
    let content_type = if status == "200 OK" { "text/plain; version=0.0.4; charset=utf-8" } else { "text/plain" };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if !head.starts_with(b"HEAD ") {
        stream.write_all(body.as_bytes())?;
    }
    Ok(())
}

fn respond(head: &[u8], runtime: &Runtime) -> (&'static str, String) {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = std::str::from_utf8(line).unwrap_or_default().split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => ("200 OK", render::prometheus(&runtime.snapshot())),
        ("GET" | "HEAD", _) => ("404 Not Found", "not found: try /metrics\n".into()),
        _ => ("405 Method Not Allowed", "only GET\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::reload::{Reloader, ZoneSource};
    use crate::engine::Options;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn metrics_are_served_and_other_paths_and_methods_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let zone = dir.path().join("z.zone");
        std::fs::write(&zone, "$ORIGIN example.org.\n@ 60 IN SOA ns h 9 1 1 1 60\n@ NS ns\nns A 198.18.0.1\n").unwrap();
        let (reloader, _) =
            Reloader::start(ZoneSource::Zones(vec![zone.display().to_string()]), Options::default()).unwrap();
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::new(Runtime::new(reloader))).unwrap();
        let addr = server.local_addr;

        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("responder_zone_serial{zone=\"example.org.\"} 9\n"), "{ok}");
        let head = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"), "HEAD has no body: {head}");
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(addr, "garbage\n\n").starts_with("HTTP/1.1 405"));
    }
}
