//! The HTTP/1.1 server of the metrics listener (`/metrics`, `/healthz`,
//! `/readyz`): one thread, a non-blocking mio loop over every connection.
//!
//! Why a loop and not a thread per client (as the control socket has, see
//! `clients.rs`) nor a crate: an idle connection must cost a descriptor and
//! a small buffer, never a thread or a place a scrape needs. With a thread
//! per client and a cap, 50 idle connections fill the cap and the scrape is
//! turned away; `tiny_http` also gives each connection a pool thread and has
//! no limit on a whole request; hyper needs tokio. The requests here are one
//! small head each and the replies are rendered in well under a millisecond
//! (the snapshot never waits on a reload), so the loop answers them itself.
//! The head is parsed by `httparse`, the loop is mio's, as in the
//! kernel-socket TCP server.
//!
//! Limits: each connection has one deadline for its whole request, one for
//! its whole reply; at the connection cap the connection that has been
//! waiting longest for its request is closed to make room, so a flood of
//! idle connections cannot keep a scraper out.

mod connection;
pub mod request;
mod server;

#[cfg(test)]
pub use request::MAX_HEAD;
pub use request::{Method, Request};
pub use server::{HttpServer, Limits, Response};
