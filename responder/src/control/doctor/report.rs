//! What `responder doctor` found, as data: one [`Check`] per concern, each
//! with a status, a one-line finding, the command that fixes it, and the
//! machine-readable facts behind it. Rendered as text for people or as JSON
//! for scripts; the exit status is derived from the same data.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but not as well as it could, or only under a condition.
    Warn,
    /// Stops XDP serving until fixed.
    Fail,
    /// Not run (no root, an XDP program in the way, or `--no-probe`); the
    /// finding says why.
    Skip,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Stable identifier, the key scripts use (`driver`, `xdp-native`, …).
    pub name: &'static str,
    pub status: Status,
    pub finding: String,
    /// What to run or change, for WARN and FAIL.
    pub fix: Option<String>,
    /// The values the finding was made from.
    pub facts: Map<String, Value>,
}

impl Check {
    pub fn new(name: &'static str, status: Status, finding: impl Into<String>) -> Check {
        Check { name, status, finding: finding.into(), fix: None, facts: Map::new() }
    }

    pub fn ok(name: &'static str, finding: impl Into<String>) -> Check {
        Check::new(name, Status::Ok, finding)
    }

    pub fn warn(name: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(name, Status::Warn, finding).with_fix(fix)
    }

    pub fn fail(name: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(name, Status::Fail, finding).with_fix(fix)
    }

    pub fn skip(name: &'static str, why: impl Into<String>) -> Check {
        Check::new(name, Status::Skip, why)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    pub fn fact(mut self, key: &str, value: impl Into<Value>) -> Check {
        self.facts.insert(key.to_owned(), value.into());
        self
    }
}

/// Which XDP attach modes the probes found working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XdpSupport {
    /// `None`: not probed.
    pub native: Option<bool>,
    pub generic: Option<bool>,
    pub zero_copy: Option<bool>,
}

/// The overall answer, and the process exit status that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Native XDP works and nothing failed: exit 0.
    Native,
    /// Only generic XDP works: exit 1.
    GenericOnly,
    /// Something failed, or native XDP could not be confirmed: exit 1.
    NotReady,
    /// The interface does not exist or cannot be named: exit 2, like any
    /// other usage error.
    NoInterface,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Native => 0,
            Verdict::GenericOnly | Verdict::NotReady => 1,
            Verdict::NoInterface => 2,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Native => "native",
            Verdict::GenericOnly => "generic-only",
            Verdict::NotReady => "not-ready",
            Verdict::NoInterface => "no-interface",
        }
    }
}

/// Everything found about one interface.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub interface: String,
    pub checks: Vec<Check>,
    pub xdp: XdpSupport,
    /// Whether the interface exists; without it there is nothing to judge.
    pub interface_found: bool,
}

impl Report {
    pub fn new(interface: &str) -> Report {
        Report {
            interface: interface.to_owned(),
            checks: Vec::new(),
            xdp: XdpSupport::default(),
            interface_found: true,
        }
    }

    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    #[cfg(test)]
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    pub fn verdict(&self) -> Verdict {
        if !self.interface_found {
            return Verdict::NoInterface;
        }
        if self.checks.iter().any(|c| c.status == Status::Fail) {
            return Verdict::NotReady;
        }
        match (self.xdp.native, self.xdp.generic) {
            (Some(true), _) => Verdict::Native,
            (_, Some(true)) => Verdict::GenericOnly,
            _ => Verdict::NotReady,
        }
    }

    /// The report for people: one aligned line per check, the fix indented
    /// below it, and the verdict last.
    pub fn to_text(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = format!("responder doctor: {}\n", self.interface);
        for c in &self.checks {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "  {:<4}  {:<width$}  {}", c.status.label(), c.name, c.finding);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "        {:<width$}  fix: {}", "", fix);
            }
        }
        let _ = writeln!(out, "verdict: {}", self.verdict_sentence());
        out
    }

    fn verdict_sentence(&self) -> String {
        match self.verdict() {
            Verdict::Native => {
                let copy = match self.xdp.zero_copy {
                    Some(true) => "with zero-copy AF_XDP",
                    Some(false) => "with copy-mode AF_XDP (no zero-copy in this driver)",
                    None => "(zero-copy not probed)",
                };
                format!("ready: native XDP {copy}; serve with `responder serve --iface {} ...`", self.interface)
            }
            Verdict::GenericOnly => "generic XDP only: it works, but frames reach XDP after the kernel built an skb \
                 and AF_XDP can only copy, so most of XDP's gain is lost; measure it against kernel-socket mode \
                 (`responder serve --listen ADDR:53` without --iface) or use a driver with native XDP"
                .into(),
            Verdict::NotReady => {
                let failed: Vec<&str> =
                    self.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.name).collect();
                if failed.is_empty() {
                    "not ready: native XDP could not be confirmed (see SKIP lines)".into()
                } else {
                    format!("not ready: fix {}", failed.join(", "))
                }
            }
            Verdict::NoInterface => format!("no interface `{}`", self.interface),
        }
    }

    /// The report for scripts. Field names are stable; `checks` keeps the
    /// text report's order.
    pub fn to_json(&self) -> Value {
        let checks: Vec<Value> = self
            .checks
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "status": c.status.label(),
                    "finding": c.finding,
                    "fix": c.fix,
                    "facts": Value::Object(c.facts.clone()),
                })
            })
            .collect();
        let verdict = self.verdict();
        json!({
            "interface": self.interface,
            "verdict": verdict.label(),
            "exit_code": verdict.exit_code(),
            "summary": self.verdict_sentence(),
            "xdp": {
                "native": self.xdp.native,
                "generic": self.xdp.generic,
                "zero_copy": self.xdp.zero_copy,
            },
            "checks": checks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(native: Option<bool>, generic: Option<bool>, extra: Check) -> Report {
        let mut r = Report::new("eth0");
        r.xdp = XdpSupport { native, generic, zero_copy: None };
        r.push(Check::ok("driver", "i40e"));
        r.push(extra);
        r
    }

    #[test]
    fn verdict_follows_probes_and_failures() {
        let fine = Check::ok("mtu", "1500");
        assert_eq!(report(Some(true), Some(true), fine.clone()).verdict(), Verdict::Native);
        assert_eq!(report(Some(false), Some(true), fine.clone()).verdict(), Verdict::GenericOnly);
        assert_eq!(report(None, None, fine.clone()).verdict(), Verdict::NotReady, "unprobed is not confirmed");
        let warned = Check::warn("queues", "4 of 8", "ethtool -L eth0 combined 8");
        assert_eq!(report(Some(true), None, warned).verdict(), Verdict::Native, "warnings do not block");
        let failed = Check::fail("privileges", "not root", "run as root");
        assert_eq!(report(Some(true), Some(true), failed).verdict(), Verdict::NotReady);
        let mut missing = report(None, None, fine);
        missing.interface_found = false;
        assert_eq!(missing.verdict(), Verdict::NoInterface);
        assert_eq!(
            [Verdict::Native, Verdict::GenericOnly, Verdict::NotReady, Verdict::NoInterface].map(Verdict::exit_code),
            [0, 1, 1, 2]
        );
    }

    #[test]
    fn text_shows_status_finding_and_fix() {
        let r = report(Some(false), Some(true), Check::warn("queues", "4 of 8 in use", "ethtool -L eth0 combined 8"));
        let text = r.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "responder doctor: eth0");
        assert!(lines[1].starts_with("  OK    driver "), "{text}");
        assert!(lines[2].starts_with("  WARN  queues ") && lines[2].ends_with("4 of 8 in use"), "{text}");
        assert!(lines[3].trim_start().starts_with("fix: ethtool -L eth0 combined 8"), "{text}");
        assert!(lines[4].starts_with("verdict: generic XDP only"), "{text}");
    }

    #[test]
    fn json_carries_everything() {
        let check = Check::warn("queues", "4 of 8", "ethtool -L eth0 combined 8").fact("combined", 4).fact("max", 8);
        let v = report(Some(true), Some(true), check).to_json();
        assert_eq!(v["interface"], "eth0");
        assert_eq!(v["verdict"], "native");
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["xdp"]["native"], true);
        assert_eq!(v["xdp"]["zero_copy"], Value::Null);
        assert_eq!(v["checks"][1]["status"], "WARN");
        assert_eq!(v["checks"][1]["fix"], "ethtool -L eth0 combined 8");
        assert_eq!(v["checks"][1]["facts"]["max"], 8);
        assert_eq!(v["checks"][0]["fix"], Value::Null);
        // Round trip through text: what we print is valid JSON.
        let parsed: Value = serde_json::from_str(&v.to_string()).unwrap();
        assert_eq!(parsed, v);
    }
}
