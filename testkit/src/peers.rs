//! The configurations of the kernel-stack peers as the comparisons run
//! them (`cargo xtask bench`, the `kernel_split` example): one worker, the
//! server's testbed address, nothing written back, no rate limiting, every
//! file in a scratch directory.

use crate::testbed::SERVER_V4;

/// Knot serving `domain` from `zone`; `xdp_iface` turns its XDP mode on for
/// UDP there.
pub fn knot_config(dir: &str, domain: &str, zone: &str, xdp_iface: Option<&str>) -> String {
    let xdp = match xdp_iface {
        Some(iface) => format!("xdp:\n    listen: {iface}@53\n    udp: on\n    tcp: off\n"),
        None => String::new(),
    };
    format!(
        "server:\n    rundir: {dir}\n    listen: {SERVER_V4}@53\n    udp-workers: 1\n    tcp-workers: 1\n    \
         background-workers: 1\n\
         {xdp}\
         log:\n  - target: stderr\n    any: info\n\
         database:\n    storage: {dir}\n\
         template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
         zone:\n  - domain: {domain}\n    file: {zone}\n"
    )
}

/// NSD with one server process serving `domain` from `zone`. Debian's NSD
/// limits response rates by default (`rrl-ratelimit: 200`), which drops most
/// answers to a single-source load: turned off, as for every other server.
pub fn nsd_config(dir: &str, domain: &str, zone: &str) -> String {
    format!(
        "server:\n    ip-address: {SERVER_V4}@53\n    do-ip6: no\n    server-count: 1\n    reuseport: no\n    \
         username: \"\"\n    chroot: \"\"\n    zonesdir: \"{dir}\"\n    database: \"\"\n    \
         zonelistfile: \"{dir}/zone.list\"\n    xfrdfile: \"{dir}/xfrd.state\"\n    xfrdir: \"{dir}\"\n    \
         pidfile: \"{dir}/nsd.pid\"\n    verbosity: 1\n    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\n\
         remote-control:\n    control-enable: no\n\
         zone:\n    name: {domain}\n    zonefile: \"{zone}\"\n"
    )
}
