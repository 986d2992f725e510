//! A small fleet on one host: N node namespaces, each joined by its own veth
//! pair to one hub namespace that routes between them and stands for the
//! Internet (clients, load generators). A hidden primary, secondaries, a
//! downstream server: each sits in a node, reaches the others through the
//! hub, and is queried from the hub as a client would.
//!
//! ```text
//!   node 0 (198.19.0.1) ─┐
//!   node 1 (198.19.1.1) ─┼─ hub (198.19.i.2 on each link, forwarding)
//!   node 2 (198.19.2.1) ─┘
//! ```
//!
//! Each link is a veth pair with its own /24 and /64 (node `.1`/`::1`, hub
//! `.2`/`::2`), so a node's link looks to XDP exactly like the two-namespace
//! [`crate::testbed::Testbed`]: a load generator on the hub's end of a link
//! (kxdpgun, a socket) reaches that node's data plane alone. Neighbours are
//! permanent both ways (AF_XDP skips ARP/ND). Addresses are from
//! 198.18.0.0/15 and fd00::/8 only; the namespaces are recorded in the
//! testbed ledger before they exist and removed on drop.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

use crate::testbed::{record_in_ledger, run, short, Testbed};

/// One node: its namespace and its end of the link to the hub.
#[derive(Clone, Debug)]
pub struct Node {
    pub ns: String,
    /// The link inside the node's namespace.
    pub ifname: String,
    /// The link's other end, inside the hub's namespace.
    pub hub_if: String,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    /// The hub's addresses on this link: the node's default routes.
    pub hub_v4: Ipv4Addr,
    pub hub_v6: Ipv6Addr,
    pub queues: u32,
}

impl Node {
    /// A command that runs `program` inside this node's namespace.
    pub fn command(&self, program: &str) -> Command {
        Testbed::command_in(&self.ns, program)
    }

    pub fn addr(&self, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(self.v6)
        } else {
            IpAddr::V4(self.v4)
        }
    }
}

pub struct Fleet {
    pub hub_ns: String,
    pub nodes: Vec<Node>,
}

/// The link of node `i`: 198.19.i.0/24 and fd00:19:i::/64.
pub fn node_v4(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, i, 1)
}

pub fn node_v6(i: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0x19, u16::from(i), 0, 0, 0, 0, 1)
}

fn hub_v4(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, i, 2)
}

fn hub_v6(i: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0x19, u16::from(i), 0, 0, 0, 0, 2)
}

impl Fleet {
    /// A hub and one node per entry of `queues` (the RX/TX queues of that
    /// node's veth pair; a node that runs XDP on several queues needs as
    /// many). `tag` keeps parallel runs apart, as [`Testbed::create`]'s.
    pub fn create(tag: &str, queues: &[u32]) -> io::Result<Fleet> {
        if queues.is_empty() || queues.len() > 9 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a fleet has 1 to 9 nodes"));
        }
        let id = format!("{}{}", short(tag, 6), std::process::id() % 100_000);
        let nodes: Vec<Node> = queues
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                let n = i as u8;
                Node {
                    ns: format!("rsp-n{i}-{id}"),
                    // IFNAMSIZ is 16: 2 + 6 + 5 characters at most.
                    ifname: format!("f{i}{id}"),
                    hub_if: format!("h{i}{id}"),
                    v4: node_v4(n),
                    v6: node_v6(n),
                    hub_v4: hub_v4(n),
                    hub_v6: hub_v6(n),
                    queues: q,
                }
            })
            .collect();
        let fleet = Fleet { hub_ns: format!("rsp-h-{id}"), nodes };
        // In the ledger before the first command, and dropped (so removed)
        // on any error below.
        let mut names = vec![fleet.hub_ns.as_str()];
        names.extend(fleet.nodes.iter().map(|n| n.ns.as_str()));
        record_in_ledger(&names)?;
        for ns in &names {
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        // The hub routes between the links, as the Internet between nodes.
        for key in ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"] {
            run(Testbed::command_in(&fleet.hub_ns, "sysctl").args(["-qw", key]))?;
        }
        for node in &fleet.nodes {
            fleet.link(node)?;
        }
        Ok(fleet)
    }

    fn link(&self, node: &Node) -> io::Result<()> {
        let q = node.queues.to_string();
        #[rustfmt::skip]
        ip(&[
            "link", "add", &node.ifname, "numrxqueues", &q, "numtxqueues", &q, "netns", &node.ns,
            "type", "veth", "peer", "name", &node.hub_if, "numrxqueues", &q, "numtxqueues", &q,
            "netns", &self.hub_ns,
        ])?;
        for (ns, ifname, v4, v6) in
            [(&node.ns, &node.ifname, node.v4, node.v6), (&self.hub_ns, &node.hub_if, node.hub_v4, node.hub_v6)]
        {
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", ifname])?;
            // nodad: usable at once instead of after duplicate detection.
            ip(&["-n", ns, "addr", "add", &format!("{v6}/64"), "dev", ifname, "nodad"])?;
            ip(&["-n", ns, "link", "set", ifname, "up"])?;
        }
        let node_mac = mac(&node.ns, &node.ifname)?;
        let hub_mac = mac(&self.hub_ns, &node.hub_if)?;
        for (ns, ifname, addr, lladdr) in [
            (&node.ns, &node.ifname, node.hub_v4.to_string(), &hub_mac),
            (&node.ns, &node.ifname, node.hub_v6.to_string(), &hub_mac),
            (&self.hub_ns, &node.hub_if, node.v4.to_string(), &node_mac),
            (&self.hub_ns, &node.hub_if, node.v6.to_string(), &node_mac),
        ] {
            ip(&["-n", ns, "neigh", "replace", &addr, "lladdr", lladdr, "dev", ifname, "nud", "permanent"])?;
        }
        let (gw4, gw6) = (node.hub_v4.to_string(), node.hub_v6.to_string());
        ip(&["-n", &node.ns, "route", "add", "default", "via", &gw4, "dev", &node.ifname])?;
        ip(&["-n", &node.ns, "-6", "route", "add", "default", "via", &gw6, "dev", &node.ifname])?;
        Ok(())
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// A command that runs `program` inside the hub's namespace.
    pub fn hub_command(&self, program: &str) -> Command {
        Testbed::command_in(&self.hub_ns, program)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth ends inside it and so the pairs.
        for ns in self.nodes.iter().map(|n| &n.ns).chain([&self.hub_ns]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn ip(args: &[&str]) -> io::Result<()> {
    run(Command::new("ip").args(args)).map(drop)
}

fn mac(ns: &str, ifname: &str) -> io::Result<String> {
    let out = run(Command::new("ip").args(["-n", ns, "-br", "link", "show", "dev", ifname]))?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .map(str::to_owned)
        .ok_or_else(|| io::Error::other(format!("no MAC for {ifname} in {ns}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbed::privileged;

    #[test]
    fn nodes_reach_each_other_through_the_hub_and_are_removed() {
        if !privileged("nodes_reach_each_other_through_the_hub_and_are_removed") {
            return;
        }
        let names;
        {
            let fleet = Fleet::create("fleet", &[1, 2, 1]).expect("fleet");
            names = fleet.nodes.iter().map(|n| n.ns.clone()).chain([fleet.hub_ns.clone()]).collect::<Vec<_>>();
            // Node 0 to node 2 crosses the hub both ways, on both families.
            for target in [node_v4(2).to_string(), node_v6(2).to_string()] {
                let out = fleet.node(0).command("ping").args(["-c", "1", "-W", "2", &target]).output().unwrap();
                assert!(out.status.success(), "ping {target}: {}", String::from_utf8_lossy(&out.stdout));
            }
            let out = fleet.hub_command("ping").args(["-c", "1", "-W", "2", &node_v4(1).to_string()]).output();
            assert!(out.unwrap().status.success());
            let queues =
                run(fleet.node(1).command("ls").arg(format!("/sys/class/net/{}/queues", fleet.node(1).ifname)))
                    .unwrap();
            assert_eq!(String::from_utf8_lossy(&queues.stdout).matches("rx-").count(), 2);
        }
        let list = run(Command::new("ip").args(["netns", "list"])).unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        for ns in names {
            assert!(!list.contains(&ns), "namespace {ns} left behind");
        }
    }
}
