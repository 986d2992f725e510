//! `responder doctor --iface IFACE`: everything that decides whether DNS can
//! be served through XDP on an interface, each finding with the command that
//! fixes it.
//!
//! Read-only facts come first (ethtool ioctls, one netlink request, sysfs and
//! procfs; no privilege needed). Then, as root and only when no other XDP
//! program is attached, the probes: our own steering program is attached
//! natively and generically, and an AF_XDP socket is bound in zero-copy mode,
//! each undone at once. A program someone else attached is never touched.
//!
//! - [`report`]: the findings as data, text and JSON, and the exit status.
//! - [`checks`]: facts → findings, pure functions.
//! - [`ethtool`], [`netlink`], [`host`]: reading the facts.
//! - [`drivers`]: what is known about common drivers.
//! - [`probe`]: the attach and bind probes.

mod checks;
mod drivers;
mod host;
mod memory;
mod netlink;
mod probe;
mod report;

use std::ffi::CString;
use std::io;

use super::cli::DoctorArgs;
use crate::xdp::ethtool::Ethtool;
use crate::xdp::queues;
use report::{Check, Report, XdpSupport};

/// Runs the doctor and prints its report; returns the exit status (0 native
/// XDP works, 1 generic only or something failed, 2 no such interface).
pub fn run(args: &DoctorArgs) -> i32 {
    let mut report = diagnose(&args.iface, !args.no_probe);
    let source = match (&args.table, args.zones.as_slice()) {
        (Some(table), _) => Some(memory::Source::Table(table)),
        (None, []) => None,
        (None, zones) => Some(memory::Source::Zones(zones)),
    };
    if let Some(source) = source {
        report.push(memory::check(&source));
    }
    if args.json {
        println!("{:#}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    report.verdict().exit_code()
}

/// Examines `iface` in this network namespace; with `probe`, also tries the
/// attach modes and zero-copy (root only).
pub fn diagnose(iface: &str, probe: bool) -> Report {
    let mut report = Report::new(iface);
    let Some(ifindex) = interface_index(iface) else {
        report.interface_found = false;
        report.push(Check::fail(
            "interface",
            format!("no interface `{iface}` in this network namespace (present: {})", interface_names().join(", ")),
            "name one from `ip link`",
        ));
        return report;
    };
    report.push(Check::ok("interface", format!("ifindex {ifindex}")).fact("ifindex", ifindex));

    let ethtool = Ethtool::new(iface);
    let drvinfo = ask(&ethtool, Ethtool::driver_info);
    let sysfs_driver = host::sysfs_driver(iface);
    let driver_name = drvinfo.as_ref().ok().map(|d| d.driver.clone()).or_else(|| sysfs_driver.clone());
    let facts = driver_name.as_deref().and_then(drivers::lookup);
    report.push(checks::driver(iface, &drvinfo, sysfs_driver, host::sysfs_bus_info(iface)));
    report.push(checks::sriov(iface, &host::sriov_role(iface)));

    let link = netlink::link_info(ifindex);
    match &link {
        Ok(info) => report.push(checks::link(iface, info)),
        Err(e) => report.push(Check::warn(
            "link",
            format!("cannot read the link state: {e}"),
            format!("ip link show dev {iface}"),
        )),
    }
    let info = link.unwrap_or_default();
    report.push(checks::mtu(iface, info.mtu, info.max_mtu, facts));

    let online = queues::online_cpus();
    let node = queues::nic_numa_node(iface);
    let local: Option<Vec<usize>> = node
        .and_then(|n| queues::node_cpus(n).ok())
        .map(|cpus| cpus.into_iter().filter(|c| online.contains(c)).collect());
    let worker_cpus = local.as_ref().filter(|l| !l.is_empty()).map_or(online.len(), Vec::len) as u32;
    let channels = ask(&ethtool, Ethtool::channels);
    let queue_check = checks::queues(iface, &channels, &info, worker_cpus, facts);
    let rx_queues = queue_check.facts.get("rx_queues").and_then(|v| v.as_u64()).unwrap_or(1) as u32;
    report.push(queue_check);
    report.push(checks::rss(iface, &ask(&ethtool, Ethtool::udp_hash_fields), rx_queues));

    let features = ask(&ethtool, Ethtool::features);
    for check in checks::offloads(iface, &features, &host::vlan_uppers(iface)) {
        report.push(check);
    }
    report.push(checks::numa(node, local.as_deref(), &online, rx_queues));
    report.push(checks::irqs(&host::device_irqs(iface), host::irqbalance_running()));
    let (defer, flush) = host::napi_settings(iface);
    report.push(checks::busy_poll(iface, defer, flush));

    let release = host::kernel_release();
    report.push(checks::kernel(release.as_deref(), release.as_deref().and_then(host::parse_release)));
    let privileges = host::Privileges::current();
    report.push(checks::privileges(iface, &privileges));
    report.push(checks::memlock(&privileges, rx_queues));

    report.push(checks::attached(iface, info.xdp, info.xdp.and_then(|x| probe::program_name(x.program_id)).as_deref()));
    let skip_reason = if info.xdp.is_some() {
        Some("another XDP program is attached (see xdp-attached)".to_string())
    } else if !probe {
        Some("--no-probe: not attempted".to_string())
    } else if !privileges.missing().is_empty() {
        Some(format!(
            "needs root: attaching XDP and binding AF_XDP need {}; run `sudo responder doctor --iface {iface}`",
            privileges.missing().join(", ")
        ))
    } else {
        None
    };
    match skip_reason {
        Some(why) => {
            for name in ["xdp-native", "zero-copy", "xdp-generic"] {
                report.push(Check::skip(name, why.clone()));
            }
        }
        None => run_probes(&mut report, iface, ifindex),
    }
    report
}

fn run_probes(report: &mut Report, iface: &str, ifindex: u32) {
    match probe::run(iface, ifindex) {
        Ok(results) => {
            report.xdp = XdpSupport {
                native: Some(results.native.is_ok()),
                generic: Some(results.generic.is_ok()),
                zero_copy: match &results.zero_copy {
                    Some(probe::ZeroCopyOutcome::Available) => Some(true),
                    Some(probe::ZeroCopyOutcome::CopyOnly) => Some(false),
                    _ => None,
                },
            };
            report.push(checks::native(iface, &results.native));
            report.push(checks::zero_copy(results.zero_copy.as_ref()));
            report.push(checks::generic(&results.generic));
        }
        Err(e) => {
            report.push(Check::fail(
                "xdp-native",
                format!("cannot load the steering program: {e}"),
                "see the message; `responder serve --iface` would fail the same way",
            ));
            for name in ["zero-copy", "xdp-generic"] {
                report.push(Check::skip(name, "the steering program did not load"));
            }
        }
    }
}

/// An ethtool request on a socket that may not have been created.
fn ask<T>(ethtool: &io::Result<Ethtool>, request: impl Fn(&Ethtool) -> io::Result<T>) -> io::Result<T> {
    match ethtool {
        Ok(e) => request(e),
        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
    }
}

fn interface_index(iface: &str) -> Option<u32> {
    if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
        return None;
    }
    let name = CString::new(iface).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

fn interface_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::report::{Status, Verdict};
    use super::*;

    #[test]
    fn missing_interface_is_a_usage_error() {
        let report = diagnose("nosuchif0", true);
        assert_eq!(report.verdict(), Verdict::NoInterface);
        assert_eq!(report.verdict().exit_code(), 2);
        let check = report.check("interface").unwrap();
        assert_eq!(check.status, Status::Fail);
        assert!(check.finding.contains("lo"), "lists the interfaces that exist: {check:?}");
        assert_eq!(diagnose("", false).verdict(), Verdict::NoInterface, "an empty name is not a panic");
        assert_eq!(diagnose("a\0b", false).verdict(), Verdict::NoInterface);
    }

    #[test]
    fn loopback_without_probes() {
        // Read-only: runs as any user, changes nothing.
        let report = diagnose("lo", false);
        for name in ["driver", "link", "mtu", "queues", "lro", "numa", "privileges", "xdp-attached"] {
            assert!(report.check(name).is_some(), "no {name} line:\n{}", report.to_text());
        }
        assert_eq!(report.check("xdp-native").unwrap().status, Status::Skip);
        assert_eq!(report.xdp, XdpSupport::default());
        assert_eq!(report.verdict(), Verdict::NotReady, "unprobed native XDP is not confirmed");
    }
}
