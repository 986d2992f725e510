//! The queries `cargo xtask run` shows against the bundled example zone, and
//! the kdig plumbing to ask them from the client namespace.

use std::fmt;
use std::net::IpAddr;
use std::process::Command;

use crate::testbed::{Testbed, SERVER_V4, SERVER_V6};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

#[derive(Debug)]
pub struct DemoQuery {
    pub what: &'static str,
    pub name: &'static str,
    pub rtype: &'static str,
    pub transport: Transport,
    pub ipv6: bool,
    /// The response code the bundled zone must produce.
    pub expect: &'static str,
}

/// A UDP/IPv4 query that must come back NOERROR; the methods below vary that.
const fn query(name: &'static str, rtype: &'static str, what: &'static str) -> DemoQuery {
    DemoQuery { what, name, rtype, transport: Transport::Udp, ipv6: false, expect: "NOERROR" }
}

impl DemoQuery {
    pub fn server(&self) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(SERVER_V6)
        } else {
            IpAddr::V4(SERVER_V4)
        }
    }

    const fn over_tcp(self) -> Self {
        DemoQuery { transport: Transport::Tcp, ..self }
    }

    const fn over_ipv6(self) -> Self {
        DemoQuery { ipv6: true, ..self }
    }

    const fn expecting(self, rcode: &'static str) -> Self {
        DemoQuery { expect: rcode, ..self }
    }
}

/// One query per kind of answer the engine builds. UDP rides the AF_XDP
/// path; TCP goes through the kernel-socket server.
#[rustfmt::skip]
pub const DEMO_QUERIES: &[DemoQuery] = &[
    query("www.example.com", "A", "address"),
    query("www.example.com", "AAAA", "IPv6 address"),
    query("example.com", "MX", "mail exchanger at the apex"),
    query("alias.example.com", "A", "CNAME chased to its target"),
    query("anything.wild.example.com", "A", "wildcard synthesis"),
    query("nonexistent.example.com", "A", "name that does not exist").expecting("NXDOMAIN"),
    query("www.child.example.com", "A", "referral to a delegated child"),
    query("_sip._udp.example.com", "SRV", "service record over TCP").over_tcp(),
    query("example.com", "TXT", "apex TXT over IPv6").over_ipv6(),
];

impl fmt::Display for DemoQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        };
        let family = if self.ipv6 { "IPv6" } else { "IPv4" };
        write!(f, "{} {} ({}, {transport}/{family})", self.name, self.rtype, self.what)
    }
}

/// What kdig made of one query.
#[derive(Debug)]
pub struct Answer {
    /// kdig's output: header, flags and the answer/authority/additional records.
    pub text: String,
    /// The response code, or `None` when no response arrived.
    pub rcode: Option<String>,
    /// kdig's complaints (timeouts, refused connections).
    pub errors: String,
}

/// kdig run in the client namespace: short timeouts so a dead server fails
/// fast, and only the parts of the response worth reading.
pub fn kdig(bed: &Testbed, server: IpAddr, name: &str, rtype: &str, transport: Transport) -> Command {
    let mut cmd = bed.client_command("kdig");
    cmd.arg(format!("@{server}")).args([name, rtype]);
    if transport == Transport::Tcp {
        cmd.arg("+tcp");
    }
    cmd.args(["+noall", "+header", "+answer", "+authority", "+additional", "+time=2", "+retry=1"]);
    cmd
}

pub fn ask(mut cmd: Command) -> Answer {
    match cmd.output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            Answer { rcode: rcode_of(&text), text, errors: String::from_utf8_lossy(&out.stderr).trim().to_owned() }
        }
        Err(e) => Answer { text: String::new(), rcode: None, errors: format!("cannot run kdig: {e}") },
    }
}

/// Extracts the status from kdig's `;; ->>HEADER<<- opcode: QUERY; status: NXDOMAIN; id: 1` line.
pub fn rcode_of(kdig_output: &str) -> Option<String> {
    kdig_output
        .lines()
        .filter(|line| line.contains("->>HEADER<<-"))
        .find_map(|line| line.split("status:").nth(1))
        .and_then(|rest| rest.split(';').next())
        .map(|status| status.trim().to_owned())
        .filter(|status| !status.is_empty())
}

/// Asks every demo query, prints each answer under a header line and returns
/// how many did not come back with the expected response code.
pub fn show_answers(bed: &Testbed) -> usize {
    let mut failures = 0;
    for query in DEMO_QUERIES {
        println!("\n== {query}");
        let answer = ask(kdig(bed, query.server(), query.name, query.rtype, query.transport));
        for line in answer.text.lines().filter(|l| !l.trim().is_empty()) {
            println!("   {line}");
        }
        match answer.rcode.as_deref() {
            Some(rcode) if rcode == query.expect => {}
            Some(rcode) => {
                failures += 1;
                println!("   FAILED: expected {}, got {rcode}", query.expect);
            }
            None => {
                failures += 1;
                println!("   FAILED: no response. {}", answer.errors);
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rcode_from_kdig_header() {
        let out = ";; ->>HEADER<<- opcode: QUERY; status: NXDOMAIN; id: 46654\n\
                   ;; Flags: qr aa rd; QUERY: 1; ANSWER: 0; AUTHORITY: 1; ADDITIONAL: 0\n\
                   example.com.  3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600\n";
        assert_eq!(rcode_of(out).as_deref(), Some("NXDOMAIN"));
        assert_eq!(rcode_of(";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 1").as_deref(), Some("NOERROR"));
    }

    #[test]
    fn no_header_means_no_response() {
        assert_eq!(rcode_of(""), None);
        // A TXT record mentioning "status:" is data, not the header.
        assert_eq!(rcode_of("example.com. 3600 IN TXT \"status: fine\"\n"), None);
    }

    #[test]
    fn queries_cover_both_transports_families_and_outcomes() {
        assert!(DEMO_QUERIES.iter().any(|q| q.transport == Transport::Tcp));
        assert!(DEMO_QUERIES.iter().any(|q| q.ipv6));
        assert!(DEMO_QUERIES.iter().any(|q| q.expect == "NXDOMAIN"));
        assert!(DEMO_QUERIES.iter().all(|q| q.name.ends_with("example.com")));
        assert_eq!(DEMO_QUERIES[8].server().to_string(), "fd00::1");
        assert_eq!(DEMO_QUERIES[7].to_string(), "_sip._udp.example.com SRV (service record over TCP, TCP/IPv4)");
    }
}
