//! Network-namespace helpers for the steering program's attach and traffic
//! tests, over the shared veth testbed (addresses from 198.18.0.0/15 and
//! fd00::/8 only, removed by a Drop guard even when a test fails half-way).

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::steering::{CLIENT_V4, CLIENT_V6};
use testkit::testbed;

pub use testbed::privileged;

/// Upper bound on every wait in these tests.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// `ip link` XDP modes.
pub const NATIVE: u32 = 1;
pub const GENERIC: u32 = 2;

/// The shared veth testbed (`testkit/src/testbed.rs`, a dev-dependency of
/// the library, so its unit tests and the integration tests build the same
/// pair), seen from the program's side.
pub struct NetnsVeth {
    /// Holds `iface`, where the program attaches, with the server addresses.
    pub ns: String,
    pub iface: String,
    /// Holds the peer end, with the client addresses.
    pub peer_ns: String,
    /// Removes both namespaces, and so the pair, on drop.
    _bed: testbed::Testbed,
}

impl NetnsVeth {
    /// `tag` (at most 3 characters) keeps tests apart; the PID keeps runs apart.
    pub fn create(tag: &str) -> NetnsVeth {
        let bed = testbed::Testbed::create(&format!("x{tag}"), 1).expect("veth testbed");
        NetnsVeth { ns: bed.server_ns.clone(), iface: bed.server_if.clone(), peer_ns: bed.client_ns.clone(), _bed: bed }
    }

    /// Runs `f` on a thread inside the program's namespace.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_netns(&self.ns, f)
    }

    /// `(mode, program id)` of the XDP program on `iface` (in the program's
    /// namespace) as `ip` reports it.
    pub fn xdp_state(&self, iface: &str) -> Option<(u32, u32)> {
        let out = ip(&["-n", &self.ns, "-j", "link", "show", "dev", iface]);
        parse_xdp_state(&String::from_utf8_lossy(&out))
    }

    /// Waits until `iface` has no XDP program: detaching through a closed
    /// link may finish a moment after the close.
    pub fn wait_detached(&self, iface: &str) -> Option<(u32, u32)> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let state = self.xdp_state(iface);
            if state.is_none() || Instant::now() > deadline {
                return state;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The client address of the same family as `server`.
    pub fn client_for(server: IpAddr) -> IpAddr {
        match server {
            IpAddr::V4(_) => IpAddr::V4(CLIENT_V4),
            IpAddr::V6(_) => IpAddr::V6(CLIENT_V6),
        }
    }
}

/// Runs `f` on a new thread moved into namespace `ns`, so that interface
/// names, indexes and new sockets belong there. The thread ends with `f`,
/// and its namespace membership with it; the calling thread never moves.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let handle = File::open(format!("/var/run/netns/{ns}")).expect("open the namespace");
                // SAFETY: `handle` is an open namespace descriptor; setns moves only this thread.
                let rc = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

pub fn ip(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Reads `"xdp":{"mode":M,"prog":{"id":N` from `ip -j link show` (iproute2
/// prints these fields in this order).
pub fn parse_xdp_state(json: &str) -> Option<(u32, u32)> {
    let number_after = |text: &str, key: &str| -> Option<(u32, usize)> {
        let start = text.find(key)? + key.len();
        let digits: String = text[start..].chars().take_while(char::is_ascii_digit).collect();
        Some((digits.parse().ok()?, start + digits.len()))
    };
    let xdp = &json[json.find("\"xdp\":{")?..];
    let (mode, rest) = number_after(xdp, "\"mode\":")?;
    let (id, _) = number_after(&xdp[rest..], "\"prog\":{\"id\":")?;
    Some((mode, id))
}

#[test]
fn parses_ip_link_json() {
    let attached = r#"[{"ifindex":3,"ifname":"pa","mtu":1500,"xdp":{"mode":1,"prog":{"id":159,"name":"xdp_dns_steer"},"attached":[{"mode":1,"prog":{"id":159}}]},"qdisc":"noqueue"}]"#;
    assert_eq!(parse_xdp_state(attached), Some((1, 159)));
    let bare = r#"[{"ifindex":3,"ifname":"pa","mtu":1500,"qdisc":"noqueue"}]"#;
    assert_eq!(parse_xdp_state(bare), None);
}
