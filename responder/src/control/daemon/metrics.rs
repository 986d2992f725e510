//! `--metrics ADDR:PORT`: the operators' HTTP listener. `GET /metrics`
//! (Prometheus text, or OpenMetrics when the `Accept` header asks for it),
//! `/healthz` (the process answers), `/readyz` (send it traffic: see
//! [`health`](super::health)). Other paths get 404, other methods 405, a
//! malformed head 400. The server is [`http`](super::http): no client can
//! delay another.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::health;
use super::http::{HttpServer, Limits, Method, Request, Response};
use super::runtime::Runtime;
use super::snapshot::render::{self, Format};

/// A scraper or prober sends its request at once: the whole head must
/// arrive within the request limit; the reply limit bounds a reader that
/// stops reading. The cap is far above the clients one node has (a few
/// scrapers and health checkers) and far below the descriptor limit.
pub const LIMITS: Limits = Limits { connections: 256, request: Duration::from_secs(3), reply: Duration::from_secs(5) };

pub struct MetricsServer {
    pub local_addr: SocketAddr,
    _server: HttpServer,
}

impl MetricsServer {
    pub fn start(addr: SocketAddr, runtime: Arc<Runtime>) -> Result<MetricsServer, String> {
        let server = HttpServer::start("metrics", addr, LIMITS, move |request| respond(request, &runtime))
            .map_err(|e| format!("--metrics {addr}: {e}"))?;
        Ok(MetricsServer { local_addr: server.local_addr, _server: server })
    }
}

fn respond(request: &Request, runtime: &Runtime) -> Response {
    let (path, accept) = match request {
        Request::Ok { method: Method::Get | Method::Head, path, accept } => (path.as_str(), accept.as_str()),
        Request::Ok { method: Method::Other, .. } => {
            let mut response = Response::text("405 Method Not Allowed", "only GET and HEAD\n");
            response.extra_headers = "Allow: GET, HEAD\r\n";
            return response;
        }
        Request::Malformed => return Response::text("400 Bad Request", "not an HTTP/1.x request\n"),
        Request::TooLarge => return Response::text("431 Request Header Fields Too Large", "request head too large\n"),
    };
    match path {
        "/metrics" => {
            let format = Format::from_accept(accept);
            let body = render::exposition(&runtime.snapshot(), format);
            Response { status: "200 OK", content_type: format.content_type(), extra_headers: "", body }
        }
        "/healthz" => Response::text("200 OK", "alive\n"),
        "/readyz" => match health::readiness(runtime) {
            Ok(summary) => Response::text("200 OK", summary + "\n"),
            Err(reasons) => Response::text("503 Service Unavailable", format!("not ready: {}\n", reasons.join("; "))),
        },
        _ => Response::text("404 Not Found", "not found: try /metrics, /healthz or /readyz\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::daemon::reload::{Reloader, ZoneSource};
    use crate::engine::Options;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    fn runtime(dir: &std::path::Path, zone_text: &str) -> Runtime {
        let zone = dir.join("z.zone");
        std::fs::write(&zone, zone_text).unwrap();
        let (reloader, _) =
            Reloader::start(ZoneSource::Zones(vec![zone.display().to_string()]), Options::default()).unwrap();
        Runtime::new(reloader)
    }

    const ZONE: &str = "$ORIGIN example.org.\n@ 60 IN SOA ns h 9 1 1 1 60\n@ NS ns\nns A 198.18.0.1\n";

    fn server(runtime: Runtime) -> MetricsServer {
        MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::new(runtime)).unwrap()
    }

    #[test]
    fn metrics_are_served_and_other_paths_and_methods_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let server = server(runtime(dir.path(), ZONE));
        let addr = server.local_addr;

        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4"), "{ok}");
        assert!(ok.contains("responder_zone_serial{zone=\"example.org.\"} 9\n"), "{ok}");
        let om = get(addr, "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n");
        assert!(om.contains("Content-Type: application/openmetrics-text; version=1.0.0"), "{om}");
        assert!(om.ends_with("# EOF\n"), "{om}");
        let head = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"), "HEAD has no body: {head}");
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        let post = get(addr, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405") && post.contains("Allow: GET, HEAD\r\n"), "{post}");
        assert!(get(addr, "garbage\n\n").starts_with("HTTP/1.1 400"));
        let bad_header = get(addr, "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n");
        assert!(bad_header.starts_with("HTTP/1.1 400"), "{bad_header}");
        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(super::super::http::MAX_HEAD));
        assert!(get(addr, &huge).starts_with("HTTP/1.1 431"));
    }

    #[test]
    fn healthz_is_alive_and_readyz_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let ready = server(runtime(dir.path(), ZONE));
        assert!(get(ready.local_addr, "GET /healthz HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
        let readyz = get(ready.local_addr, "GET /readyz HTTP/1.1\r\n\r\n");
        assert!(readyz.starts_with("HTTP/1.1 200 OK") && readyz.ends_with("ready: 1 zones served\n"), "{readyz}");

        // XDP asked for on an interface but not running.
        let dir = tempfile::tempdir().unwrap();
        let mut runtime = runtime(dir.path(), ZONE);
        runtime.iface = Some("veth9".into());
        let not_ready = server(runtime);
        assert!(get(not_ready.local_addr, "GET /healthz HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
        let readyz = get(not_ready.local_addr, "GET /readyz HTTP/1.1\r\n\r\n");
        assert!(readyz.starts_with("HTTP/1.1 503 Service Unavailable"), "{readyz}");
        assert!(readyz.contains("the XDP data plane on veth9 is not running"), "{readyz}");
    }

    /// A scrape is answered within 1 s while 50 clients sit idle and 10
    /// drip a byte every 400 ms; the dripping ones are cut off at the
    /// request limit, however often they send.
    #[test]
    fn idle_and_dripping_clients_delay_no_scrape() {
        let dir = tempfile::tempdir().unwrap();
        let server = server(runtime(dir.path(), ZONE));
        let addr = server.local_addr;
        let idle: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let mut drips: Vec<TcpStream> = (0..10).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let started = std::time::Instant::now();
        for round in 0..4 {
            for drip in &mut drips {
                drip.write_all(b"G").unwrap();
            }
            std::thread::sleep(Duration::from_millis(400));
            let scrape_started = std::time::Instant::now();
            let scrape = get(addr, "GET /metrics HTTP/1.1\r\n\r\n");
            assert!(scrape.starts_with("HTTP/1.1 200 OK"), "round {round}: {scrape}");
            let took = scrape_started.elapsed();
            assert!(took < Duration::from_secs(1), "round {round}: the scrape took {took:?}");
        }
        // Keep dripping past the request limit: the server closes them.
        let mut cut = 0;
        while started.elapsed() < LIMITS.request + Duration::from_secs(2) && cut < drips.len() {
            cut = drips.iter_mut().map(|d| d.write_all(b"E").is_err()).filter(|&failed| failed).count();
            std::thread::sleep(Duration::from_millis(400));
        }
        assert_eq!(cut, drips.len(), "dripping clients were kept past the request limit");
        drop(idle);
    }
}
