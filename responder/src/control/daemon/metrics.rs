//! `--metrics ADDR:PORT`: Prometheus text at `GET /metrics`, over the
//! smallest HTTP/1.1 that scrapers speak: one request per connection,
//! `Connection: close`, the request head parsed by `httparse`. Other paths
//! get 404, other methods 405, a malformed head 400. Each client on its own
//! thread ([`clients`](super::clients)), so an idle or slow one delays no
//! scrape.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use super::clients::{Client, Clients, Limits, Stream};
use super::runtime::Runtime;
use super::snapshot::render;

/// Request heads are small; anything longer is not a scraper.
const MAX_HEAD: usize = 8192;
/// Headers looked at; scrapers send a handful.
const MAX_HEADERS: usize = 32;
/// A scraper sends its request at once: the whole head must arrive within
/// the request limit. The reply limit bounds a reader that stops reading.
const LIMITS: Limits = Limits { connections: 16, request: Duration::from_secs(3), reply: Duration::from_secs(5) };
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n";

pub struct MetricsServer {
    pub local_addr: SocketAddr,
    _clients: Clients,
}

impl MetricsServer {
    pub fn start(addr: SocketAddr, runtime: Arc<Runtime>) -> Result<MetricsServer, String> {
        let listener = TcpListener::bind(addr).map_err(|e| format!("--metrics {addr}: {e}"))?;
        let local_addr = listener.local_addr().map_err(|e| format!("--metrics {addr}: {e}"))?;
        let clients = Clients::start("metrics", listener, LIMITS, BUSY, move |client| serve_one(client, &runtime))
            .map_err(|e| format!("--metrics {addr}: cannot serve it: {e}"))?;
        Ok(MetricsServer { local_addr, _clients: clients })
    }
}

/// What the request head asked for.
enum Request {
    Get { path: String, head_only: bool },
    OtherMethod,
    Malformed,
    TooLarge,
}

fn serve_one<S: Stream>(client: &mut Client<S>, runtime: &Runtime) -> io::Result<()> {
    let Some(request) = read_request(client)? else {
        return Ok(()); // closed without a byte: a port check
    };
    let (status, body) = respond(&request, runtime);
    let content_type = if status == "200 OK" { "text/plain; version=0.0.4; charset=utf-8" } else { "text/plain" };
    let allow = if matches!(request, Request::OtherMethod) { "Allow: GET, HEAD\r\n" } else { "" };
    let mut reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    );
    if !matches!(request, Request::Get { head_only: true, .. }) {
        reply.push_str(&body);
    }
    client.write_all(reply.as_bytes())
}

/// Reads until the head is complete, malformed or too long. `None` when the
/// client closed before sending anything.
fn read_request<S: Stream>(client: &mut Client<S>) -> io::Result<Option<Request>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok((!head.is_empty()).then_some(Request::Malformed));
        }
        head.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                let path = parsed.path.unwrap_or_default();
                let path = path.split('?').next().unwrap_or_default().to_owned();
                return Ok(Some(match parsed.method {
                    Some("GET") => Request::Get { path, head_only: false },
                    Some("HEAD") => Request::Get { path, head_only: true },
                    _ => Request::OtherMethod,
                }));
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => return Ok(Some(Request::TooLarge)),
            Err(_) => return Ok(Some(Request::Malformed)),
        }
    }
}

fn respond(request: &Request, runtime: &Runtime) -> (&'static str, String) {
    match request {
        Request::Get { path, .. } if path == "/metrics" => {
            let mut body = render::prometheus(&runtime.snapshot());
            super::secondary::prometheus(runtime, &mut body);
            ("200 OK", body)
        }
        Request::Get { .. } => ("404 Not Found", "not found: try /metrics\n".into()),
        Request::OtherMethod => ("405 Method Not Allowed", "only GET\n".into()),
        Request::Malformed => ("400 Bad Request", "not an HTTP/1.x request\n".into()),
        Request::TooLarge => ("431 Request Header Fields Too Large", "request head too large\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::daemon::reload::{Reloader, ZoneSource};
    use crate::engine::Options;
    use std::net::TcpStream;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    fn server(dir: &std::path::Path) -> MetricsServer {
        let zone = dir.join("z.zone");
        std::fs::write(&zone, "$ORIGIN example.org.\n@ 60 IN SOA ns h 9 1 1 1 60\n@ NS ns\nns A 198.18.0.1\n").unwrap();
        let (reloader, _) =
            Reloader::start(ZoneSource::Zones(vec![zone.display().to_string()]), Options::default()).unwrap();
        MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::new(Runtime::new(reloader))).unwrap()
    }

    #[test]
    fn metrics_are_served_and_other_paths_and_methods_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path());
        let addr = server.local_addr;

        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("responder_zone_serial{zone=\"example.org.\"} 9\n"), "{ok}");
        let head = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"), "HEAD has no body: {head}");
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(addr, "garbage\n\n").starts_with("HTTP/1.1 400"));
        let bad_header = get(addr, "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n");
        assert!(bad_header.starts_with("HTTP/1.1 400"), "{bad_header}");
        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(get(addr, &huge).starts_with("HTTP/1.1 431"));
    }

    /// A scrape is answered within 1 s while three clients sit idle and one
    /// drips a byte every 4 s; the dripping one is cut off before its second
    /// byte is due (the request limit is for the whole request).
    #[test]
    fn idle_and_dripping_clients_delay_no_scrape() {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path());
        let addr = server.local_addr;
        let idle: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let mut drip = TcpStream::connect(addr).unwrap();
        drip.write_all(b"G").unwrap();
        std::thread::sleep(Duration::from_millis(100)); // all four in the server's hands

        let started = std::time::Instant::now();
        let scrape = get(addr, "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(scrape.starts_with("HTTP/1.1 200 OK"), "{scrape}");
        assert!(started.elapsed() < Duration::from_secs(1), "the scrape took {:?}", started.elapsed());

        // The next byte would come 4 s after the first: by then it is closed.
        drip.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        let mut byte = [0u8; 1];
        match drip.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("the dripping client was kept past the request limit: {other:?}"),
        }
        drop(idle);
    }
}
