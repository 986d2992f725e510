//! One request head, read by `httparse`: what the router needs of it.

/// Request heads are small; anything longer is not a scraper or a prober.
pub const MAX_HEAD: usize = 8192;
/// Headers looked at; scrapers send a handful.
const MAX_HEADERS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other,
}

/// What the client asked for, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Ok {
        method: Method,
        /// Without the query string.
        path: String,
        /// The `Accept` header, empty when absent.
        accept: String,
    },
    Malformed,
    TooLarge,
}

/// The request in `head` if it is complete (or can never be), `None` while
/// more bytes may complete it.
pub fn parse(head: &[u8]) -> Option<Request> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {
            let path = parsed.path.unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default().to_owned();
            let method = match parsed.method {
                Some("GET") => Method::Get,
                Some("HEAD") => Method::Head,
                _ => Method::Other,
            };
            let accept = parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("accept"))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
                .unwrap_or_default();
            Some(Request::Ok { method, path, accept })
        }
        Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => None,
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => Some(Request::TooLarge),
        Err(_) => Some(Request::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_complete_partial_bad_and_oversized() {
        let ok = parse(b"GET /metrics?x=1 HTTP/1.1\r\nAccept: application/openmetrics-text\r\n\r\n");
        assert_eq!(
            ok,
            Some(Request::Ok {
                method: Method::Get,
                path: "/metrics".into(),
                accept: "application/openmetrics-text".into()
            })
        );
        assert_eq!(parse(b"GET /metrics HTTP/1.1\r\nHost"), None);
        assert_eq!(parse(b"garbage\n\n"), Some(Request::Malformed));
        let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
        assert_eq!(parse(huge.as_bytes()), Some(Request::TooLarge));
        let many: String = (0..MAX_HEADERS + 1).map(|i| format!("X{i}: y\r\n")).collect();
        assert_eq!(parse(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()), Some(Request::TooLarge));
        assert!(matches!(parse(b"POST / HTTP/1.1\r\n\r\n"), Some(Request::Ok { method: Method::Other, .. })));
    }
}
