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
