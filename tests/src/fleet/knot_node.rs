//! knotd inside a fleet node: a throw-away configuration written from a few
//! Knot-named pieces (keys, remotes, ACLs, zones as primary or secondary),
//! started in the node's namespace on port 53 of its addresses, stopped by
//! PID and started again on the same configuration and database (its
//! journal survives, so IXFR does).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{ask_in, wait_for, Node};
use crate::daemon::{run_bounded, Daemon};
use crate::dns::rtype::SOA;

/// A Knot `key:` entry: hmac-sha256 with a base64 secret.
pub struct KnotKey {
    pub id: String,
    pub secret: String,
}

/// A Knot `remote:` entry.
pub struct KnotRemote {
    pub id: String,
    pub address: SocketAddr,
    pub key: Option<String>,
}

/// A Knot `acl:` entry.
pub struct KnotAcl {
    pub id: String,
    /// Addresses or prefixes, as Knot writes them.
    pub address: Vec<String>,
    pub key: Option<String>,
    /// `transfer`, `notify`, ...
    pub action: String,
}

pub struct KnotZone {
    pub domain: String,
    /// The zone file's text for a primary; `None` for a secondary (it then
    /// needs `master`).
    pub text: Option<String>,
    pub master: Vec<String>,
    pub notify: Vec<String>,
    pub acl: Vec<String>,
}

impl KnotZone {
    /// A primary zone from `text`, notifying `notify` and letting `acl` in.
    pub fn primary(domain: &str, text: &str, notify: &[&str], acl: &[&str]) -> KnotZone {
        KnotZone {
            domain: domain.into(),
            text: Some(text.into()),
            master: Vec::new(),
            notify: notify.iter().map(|s| s.to_string()).collect(),
            acl: acl.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A secondary zone pulled from `master` (remote ids), NOTIFY accepted
    /// through `acl`.
    pub fn secondary(domain: &str, master: &[&str], acl: &[&str]) -> KnotZone {
        KnotZone {
            domain: domain.into(),
            text: None,
            master: master.iter().map(|s| s.to_string()).collect(),
            notify: Vec::new(),
            acl: acl.iter().map(|s| s.to_string()).collect(),
        }
    }
}

#[derive(Default)]
pub struct KnotConfig {
    pub keys: Vec<KnotKey>,
    pub remotes: Vec<KnotRemote>,
    pub acls: Vec<KnotAcl>,
    pub zones: Vec<KnotZone>,
}

impl KnotConfig {
    /// The text of knot.conf for a server listening on `listen`, keeping
    /// everything below `dir`. Primaries keep their changes in the journal
    /// (so they answer IXFR) and never write the zone file back.
    fn render(&self, dir: &Path, listen: &[SocketAddr]) -> String {
        let d = dir.display();
        let listen: Vec<String> = listen.iter().map(|a| format!("{}@{}", a.ip(), a.port())).collect();
        let mut conf = format!(
            "server:\n    listen: [{}]\n    rundir: {d}\n    udp-workers: 1\n    tcp-workers: 1\n    \
             background-workers: 1\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n    storage: {d}/db\n",
            listen.join(", ")
        );
        let list = |items: &[String]| format!("[{}]", items.join(", "));
        if !self.keys.is_empty() {
            conf.push_str("key:\n");
            for k in &self.keys {
                let _ = write!(conf, "  - id: {}\n    algorithm: hmac-sha256\n    secret: {}\n", k.id, k.secret);
            }
        }
        if !self.remotes.is_empty() {
            conf.push_str("remote:\n");
            for r in &self.remotes {
                let _ = writeln!(conf, "  - id: {}\n    address: {}@{}", r.id, r.address.ip(), r.address.port());
                if let Some(key) = &r.key {
                    let _ = writeln!(conf, "    key: {key}");
                }
            }
        }
        if !self.acls.is_empty() {
            conf.push_str("acl:\n");
            for a in &self.acls {
                let _ = writeln!(conf, "  - id: {}\n    address: {}\n    action: {}", a.id, list(&a.address), a.action);
                if let Some(key) = &a.key {
                    let _ = writeln!(conf, "    key: {key}");
                }
            }
        }
        let _ = write!(
            conf,
            "template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    zonefile-load: whole\n    \
             journal-content: changes\nzone:\n"
        );
        for z in &self.zones {
            let _ = writeln!(conf, "  - domain: {}\n    file: {}.zone", z.domain, z.domain.trim_end_matches('.'));
            for (key, values) in [("master", &z.master), ("notify", &z.notify), ("acl", &z.acl)] {
                if !values.is_empty() {
                    let _ = writeln!(conf, "    {key}: {}", list(values));
                }
            }
        }
        conf
    }
}

pub struct KnotNode {
    pub node: Node,
    pub dir: PathBuf,
    daemon: Option<Daemon>,
    started: u32,
}

impl KnotNode {
    /// Writes the configuration and the primary zones' files below `dir` and
    /// starts knotd on port 53 of the node's addresses; returns once every
    /// primary zone answers its SOA from the hub.
    pub fn start(node: &Node, hub_ns: &str, dir: &Path, config: &KnotConfig) -> KnotNode {
        std::fs::create_dir_all(dir.join("db")).unwrap();
        for zone in &config.zones {
            if let Some(text) = &zone.text {
                std::fs::write(dir.join(format!("{}.zone", zone.domain.trim_end_matches('.'))), text).unwrap();
            }
        }
        let listen = [SocketAddr::from((node.v4, 53)), SocketAddr::from((node.v6, 53))];
        std::fs::write(dir.join("knot.conf"), config.render(dir, &listen)).unwrap();
        let mut knot = KnotNode { node: node.clone(), dir: dir.into(), daemon: None, started: 0 };
        let primaries: Vec<String> =
            config.zones.iter().filter(|z| z.text.is_some()).map(|z| z.domain.clone()).collect();
        knot.run(hub_ns, &primaries);
        knot
    }

    /// (Re)starts knotd and waits until each of `zones` answers its SOA.
    pub fn run(&mut self, hub_ns: &str, zones: &[String]) {
        assert!(self.daemon.is_none(), "knotd is running already");
        self.started += 1;
        let mut cmd = self.node.command("knotd");
        cmd.arg("-c").arg(self.dir.join("knot.conf"));
        let log = self.dir.join(format!("knotd-{}.log", self.started));
        self.daemon = Some(Daemon::spawn(cmd, "knotd", &log).unwrap());
        let server = SocketAddr::from((self.node.v4, 53));
        for zone in zones {
            wait_for(&format!("knotd to serve {zone}"), Duration::from_secs(20), || {
                if let Some(status) = self.daemon.as_mut().and_then(Daemon::exited) {
                    panic!("knotd exited with {status}:\n{}", self.log());
                }
                ask_in(hub_ns, server, zone, SOA).is_ok_and(|r| r.rcode == 0)
            });
        }
    }

    /// SIGTERM by PID and wait for the exit.
    pub fn stop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.terminate(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Daemon::pid)
    }

    /// Everything this knotd wrote, every start included.
    pub fn log(&self) -> String {
        (1..=self.started)
            .map(|n| std::fs::read_to_string(self.dir.join(format!("knotd-{n}.log"))).unwrap_or_default())
            .collect()
    }

    /// `knotc zone-begin; zone-set ...; zone-commit`: one change set, the
    /// serial up by one, NOTIFY sent. Each entry is `OWNER TTL TYPE RDATA`.
    pub fn commit(&self, zone: &str, records: &[&str]) {
        let mut steps = vec![vec!["zone-begin".to_string(), zone.to_string()]];
        for record in records {
            let mut step = vec!["zone-set".to_string(), zone.to_string()];
            step.extend(record.split_whitespace().map(str::to_string));
            steps.push(step);
        }
        steps.push(vec!["zone-commit".to_string(), zone.to_string()]);
        for args in steps {
            self.knotc(&args);
        }
    }

    /// `knotc ARGS` on this knotd's control socket; panics on failure.
    pub fn knotc(&self, args: &[String]) -> String {
        let socket = self.dir.join("knot.sock");
        let out = run_bounded(Command::new("knotc").arg("-s").arg(&socket).args(args), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "knotc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for KnotNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- knotd log ({}) ---\n{}", self.node.ns, self.log());
        }
    }
}
