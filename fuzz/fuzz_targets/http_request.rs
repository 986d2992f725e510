//! The metrics listener's request-head parser (`control::http_request::parse`)
//! over arbitrary bytes, fed as the loop feeds it: a growing head, in chunks
//! whose sizes the input's first byte picks.
//!
//! Beyond "no panic": it waits for more only while the head is under the
//! size limit, and a path it returns has no query string.

#![no_main]

use libfuzzer_sys::fuzz_target;
use responder::control::http_request::{parse, Request, MAX_HEAD};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, head)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut end = 0;
    while end < head.len() {
        end = (end + chunk).min(head.len());
        let Some(request) = parse(&head[..end]) else {
            assert!(end < MAX_HEAD, "still waiting after {end} bytes");
            continue;
        };
        if let Request::Ok { path, .. } = &request {
            assert!(!path.contains('?'), "query string kept: {path:?}");
        }
        return;
    }
});
