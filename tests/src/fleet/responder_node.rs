//! `responder serve --config` inside a fleet node: a configuration written
//! from Knot-named pieces (keys, remotes, zones as secondary or from a file,
//! XDP on the node's link or kernel sockets only), its control socket, and
//! its metrics listener on the node's own loopback (each namespace has one,
//! so every node uses the same port).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{ask_in, wait_for, Node};
use crate::daemon::Daemon;
use crate::dns::Reply;
use crate::netns::in_netns;
use crate::responder::binary;
use crate::xdp_server::strip_ansi;

/// The metrics listener, on the loopback of the node's namespace.
pub const METRICS: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9153);

/// A `[[remote]]`.
pub struct Remote {
    pub id: String,
    pub address: SocketAddr,
    pub key: Option<String>,
}

/// A `[[zone]]`: a secondary of `master` (remote ids), or, with `text`,
/// served from a file written beside the configuration.
pub struct Zone {
    pub name: String,
    pub master: Vec<String>,
    pub text: Option<String>,
    /// Further `key = value` lines of the table (`acl`, `notify`,
    /// `catalog-role`, ...), as written.
    pub settings: Vec<String>,
}

impl Zone {
    pub fn secondary(name: &str, master: &[&str]) -> Zone {
        Zone {
            name: name.into(),
            master: master.iter().map(|s| s.to_string()).collect(),
            text: None,
            settings: Vec::new(),
        }
    }

    pub fn from_text(name: &str, text: &str) -> Zone {
        Zone { name: name.into(), master: Vec::new(), text: Some(text.into()), settings: Vec::new() }
    }

    /// One more `key = value` line in the zone's table.
    pub fn with(mut self, setting: &str) -> Zone {
        self.settings.push(setting.into());
        self
    }
}

#[derive(Default)]
pub struct ResponderConfig {
    /// The AF_XDP data plane on the node's link (all its queues, native
    /// mode); kernel sockets only without it.
    pub xdp: bool,
    /// `[[key]]`s: id and base64 hmac-sha256 secret.
    pub keys: Vec<(String, String)>,
    pub remotes: Vec<Remote>,
    pub zones: Vec<Zone>,
    /// Appended to the file as it is (`[[acl]]` or `[[template]]` tables,
    /// say).
    pub extra: String,
}

impl ResponderConfig {
    fn render(&self, node: &Node, dir: &Path) -> String {
        let mut conf = format!(
            "[server]\nlisten = [\"{}:53\", \"[{}]:53\"]\nudp-workers = 1\nstorage = \"copies\"\nuser = \"root\"\n\n\
             [control]\nlisten = \"ctl.sock\"\nmetrics = \"{METRICS}\"\n\n[log]\nstats-interval = 0\n\n",
            node.v4, node.v6
        );
        if self.xdp {
            let _ = write!(conf, "[xdp]\ninterface = \"{}\"\nqueues = \"all\"\nmode = \"native\"\n\n", node.ifname);
        }
        for (id, secret) in &self.keys {
            let _ = write!(conf, "[[key]]\nid = \"{id}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n\n");
        }
        for r in &self.remotes {
            let _ =
                writeln!(conf, "[[remote]]\nid = \"{}\"\naddress = \"{}@{}\"", r.id, r.address.ip(), r.address.port());
            if let Some(key) = &r.key {
                let _ = writeln!(conf, "key = \"{key}\"");
            }
            conf.push('\n');
        }
        for z in &self.zones {
            let _ = writeln!(conf, "[[zone]]\nname = \"{}\"", z.name);
            if !z.master.is_empty() {
                let masters: Vec<String> = z.master.iter().map(|m| format!("\"{m}\"")).collect();
                let _ = writeln!(conf, "master = [{}]", masters.join(", "));
            }
            if let Some(text) = &z.text {
                let file = format!("{}.zone", z.name.trim_end_matches('.'));
                std::fs::write(dir.join(&file), text).unwrap();
                let _ = writeln!(conf, "file = \"{file}\"");
            }
            for setting in &z.settings {
                let _ = writeln!(conf, "{setting}");
            }
            conf.push('\n');
        }
        conf.push_str(&self.extra);
        conf
    }
}

pub struct ResponderNode {
    pub node: Node,
    pub dir: PathBuf,
    hub_ns: String,
    daemon: Option<Daemon>,
    started: u32,
}

/// Start-up (loading copies, attaching XDP) on a loaded 2-core host
/// running a debug build.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

impl ResponderNode {
    /// Writes the configuration below `dir` (made for this node) and starts
    /// the server; returns once it is ready and answers from the hub.
    pub fn start(node: &Node, hub_ns: &str, dir: &Path, config: &ResponderConfig) -> ResponderNode {
        std::fs::create_dir_all(dir).unwrap();
        let mut server =
            ResponderNode { node: node.clone(), dir: dir.into(), hub_ns: hub_ns.into(), daemon: None, started: 0 };
        server.configure(config);
        server.run();
        server
    }

    /// Replaces the configuration; it takes effect at the next start.
    pub fn configure(&self, config: &ResponderConfig) {
        std::fs::write(self.dir.join("responder.toml"), config.render(&self.node, &self.dir)).unwrap();
    }

    /// Starts the server (again) and waits for its ready line (XDP
    /// attached, if asked for) and an answer over UDP from the hub.
    pub fn run(&mut self) {
        assert!(self.daemon.is_none(), "responder is running already");
        self.started += 1;
        let mut cmd = self.node.command(&binary().unwrap().display().to_string());
        cmd.arg("serve").arg("--config").arg(self.dir.join("responder.toml")).env("NO_COLOR", "1");
        let log = self.dir.join(format!("responder-{}.log", self.started));
        let mut daemon = Daemon::spawn(cmd, "responder serve", &log).unwrap();
        let started = self.started;
        let dir = self.dir.clone();
        wait_for("the ready line", READY_TIMEOUT, || {
            if let Some(status) = daemon.exited() {
                panic!("responder exited with {status}:\n{}", read_log(&dir, started));
            }
            read_log(&dir, started).contains("responder ready:")
        });
        let addr = SocketAddr::from((self.node.v4, 53));
        in_netns(&self.hub_ns, || daemon.wait_until_answering(addr, READY_TIMEOUT))
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
        self.daemon = Some(daemon);
    }

    /// SIGTERM by PID; the log of this run, with the stop report (the XDP
    /// queue counters) at its end.
    pub fn stop(&mut self) -> String {
        let daemon = self.daemon.take().expect("responder is running");
        let (status, log) = daemon.terminate(Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "responder exited with {status} on SIGTERM:\n{log}");
        strip_ansi(&log)
    }

    pub fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Daemon::pid)
    }

    /// Everything this node's server wrote, every start included.
    pub fn log(&self) -> String {
        (1..=self.started).map(|n| read_log(&self.dir, n)).collect()
    }

    /// A UDP query to the node's IPv4 address from the hub, as a client.
    pub fn ask(&self, name: &str, qtype: u16) -> Reply {
        ask_in(&self.hub_ns, SocketAddr::from((self.node.v4, 53)), name, qtype).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The first answer record, as text, of a NOERROR answer.
    pub fn answer(&self, name: &str, qtype: u16) -> Option<String> {
        let reply = self.ask(name, qtype);
        (reply.rcode == 0).then(|| reply.answer.first().map(|rr| rr.to_string())).flatten()
    }

    /// One request on the control socket, its JSON answer.
    pub fn ctl(&self, request: &str) -> Value {
        crate::responder::ctl(&self.dir, request, Duration::from_secs(10))
    }

    /// `ctl zone-status ZONE`: the zone's entry.
    pub fn zone_status(&self, zone: &str) -> Value {
        let reply = self.ctl(&format!("zone-status {zone}"));
        assert_eq!(reply["ok"], true, "{reply}");
        reply["zones"][0].clone()
    }

    pub fn serial(&self, zone: &str) -> Option<u64> {
        self.zone_status(zone)["serial"].as_u64()
    }

    /// `GET PATH` on the metrics listener: the status code and the body.
    pub fn http_get(&self, path: &str) -> (u16, String) {
        in_netns(&self.node.ns, || http_get(METRICS, path)).unwrap().unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub fn metrics(&self) -> String {
        let (code, body) = self.http_get("/metrics");
        assert_eq!(code, 200, "{body}");
        body
    }

    /// `(status, body)` of `/readyz`.
    pub fn readyz(&self) -> (u16, String) {
        self.http_get("/readyz")
    }
}

impl Drop for ResponderNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- responder log ({}) ---\n{}", self.node.ns, self.log());
        }
    }
}

fn read_log(dir: &Path, run: u32) -> String {
    strip_ansi(&std::fs::read_to_string(dir.join(format!("responder-{run}.log"))).unwrap_or_default())
}

/// A bare HTTP/1.1 GET with `Connection: close`.
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_string();
    Ok((code, body))
}

/// The sum of a Prometheus family's samples whose labels include every
/// `key="value"` of `labels`.
pub fn metric_sum(text: &str, family: &str, labels: &[(&str, &str)]) -> u64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name_labels, value) = line.rsplit_once(' ')?;
            let (name, rest) = name_labels.split_once('{').unwrap_or((name_labels, ""));
            (name == family && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum::<f64>() as u64
}

#[cfg(test)]
mod tests {
    use super::metric_sum;

    #[test]
    fn samples_are_summed_by_label() {
        let text =
            "# HELP x y\nresponder_responses_total{path=\"xdp\",protocol=\"udp\",queue=\"0\",rcode=\"noerror\"} 5\n\
                    responder_responses_total{path=\"xdp\",protocol=\"udp\",queue=\"1\",rcode=\"noerror\"} 7\n\
                    responder_responses_total{path=\"kernel\",protocol=\"udp\",queue=\"all\",rcode=\"noerror\"} 100\n\
                    responder_responses_total_x{path=\"xdp\"} 1000\nresponder_zones 2\n";
        assert_eq!(metric_sum(text, "responder_responses_total", &[("path", "xdp")]), 12);
        assert_eq!(metric_sum(text, "responder_responses_total", &[]), 112);
        assert_eq!(metric_sum(text, "responder_zones", &[]), 2);
        assert_eq!(metric_sum(text, "responder_responses_total", &[("path", "none")]), 0);
    }
}
