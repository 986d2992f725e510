//! Servers on a fleet testbed ([`testkit::fleet`]: node namespaces joined
//! to one hub): knotd and responder, each in its node, configured from
//! Knot-named pieces (keys, remotes, ACLs, zones), queried from the hub as
//! a client would be. The multi-node tests (`tests/tests/fleet.rs`) build
//! their topologies from these.

pub mod knot_node;
pub mod responder_node;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::dns::{self, Question, Reply, Transport};
use crate::netns::in_netns;

pub use testkit::fleet::{Fleet, Node};

/// A UDP query to `server` sent from namespace `ns`.
pub fn ask_in(ns: &str, server: SocketAddr, name: &str, qtype: u16) -> Result<Reply, String> {
    in_netns(ns, || dns::ask(server, Transport::Udp, &Question::new(name, qtype)))?
}

/// Polls `done` every 50 ms until it holds, failing after `within`;
/// returns how long it took.
pub fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}
