//! `/healthz` and `/readyz`: whether the process answers at all, and
//! whether it should be sent traffic (an anycast route announced, a pod
//! behind a Service). Ready means every configured zone is loaded with its
//! SOA and XDP is attached where it was asked for.
//!
//! Each check is a function of the running server giving the reasons it is
//! not ready; a new condition (a zone past its SOA expire, say) is one more
//! entry in [`CHECKS`].

use std::time::Duration;

use super::runtime::Runtime;
use super::served::ServedZone;

/// A worker beats at least every idle period (10 ms) while it runs; one
/// silent this long is stuck, stopped or starved, and its queries go through
/// the kernel's slower path (see `xdp/liveness.rs`). Far above any pause of
/// a healthy worker on a loaded host, so readiness does not flap.
pub const WORKER_SILENCE: Duration = Duration::from_secs(1);

type Check = fn(&Runtime) -> Vec<String>;

const CHECKS: &[Check] = &[zones_loaded, secondaries_current, xdp_attached];

/// `Ok` with a one-line summary, or every reason not to send traffic here.
pub fn readiness(runtime: &Runtime) -> Result<String, Vec<String>> {
    let reasons: Vec<String> = CHECKS.iter().flat_map(|check| check(runtime)).collect();
    if reasons.is_empty() {
        Ok(format!("ready: {} zones served", runtime.reloader.history().zones.len()))
    } else {
        Err(reasons)
    }
}

fn zones_loaded(runtime: &Runtime) -> Vec<String> {
    zones_problems(&runtime.reloader.history().zones)
}

/// The loader refuses a zone file without SOA, but a table file is read as
/// it was compiled: checked again here, since a zone without SOA cannot be
/// transferred or checked for expiry.
fn zones_problems(zones: &[ServedZone]) -> Vec<String> {
    if zones.is_empty() {
        return vec!["no zone is served".into()];
    }
    zones.iter().filter(|z| z.serial.is_none()).map(|z| format!("zone {} has no SOA", z.name)).collect()
}

/// A secondary zone with no copy yet answers REFUSED, an expired one
/// SERVFAIL: neither should draw traffic to this node.
/// A catalog member waiting for its first transfer is left out: it answers
/// REFUSED as it did before it was listed, and counting it would withdraw
/// every node at once each time a member is added to the catalog.
fn secondaries_current(runtime: &Runtime) -> Vec<String> {
    let waiting = super::secondary::members_without_copy(runtime);
    let zones: Vec<_> =
        super::secondary::snapshot(runtime).into_iter().filter(|z| !waiting.contains(&z.zone)).collect();
    secondaries_problems(&zones)
}

fn secondaries_problems(zones: &[super::snapshot::SecondarySnapshot]) -> Vec<String> {
    zones
        .iter()
        .filter_map(|z| match (z.has_copy, z.expired) {
            (false, _) => Some(format!("secondary zone {} has not been transferred yet", z.zone)),
            (true, true) => Some(format!("secondary zone {} is past its SOA expire", z.zone)),
            (true, false) => None,
        })
        .collect()
}

fn xdp_attached(runtime: &Runtime) -> Vec<String> {
    let Some(iface) = &runtime.iface else { return Vec::new() };
    let plane = runtime.plane.lock().unwrap_or_else(|e| e.into_inner());
    match plane.as_ref() {
        None => vec![format!("the XDP data plane on {iface} is not running")],
        Some(plane) if plane.attached_mode().is_none() => vec![format!("no XDP program attached to {iface}")],
        Some(plane) => {
            let liveness = plane.program().liveness();
            let ages = plane.queues().into_iter().map(|(queue, _)| (queue, liveness.age(queue)));
            silent_workers(ages)
        }
    }
}

fn silent_workers(ages: impl Iterator<Item = (u32, Option<Duration>)>) -> Vec<String> {
    ages.filter_map(|(queue, age)| match age {
        None => Some(format!("the XDP worker of queue {queue} never started")),
        Some(age) if age > WORKER_SILENCE => {
            Some(format!("the XDP worker of queue {queue} has been silent for {} ms", age.as_millis()))
        }
        Some(_) => None,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_without_soa_or_no_zones_are_not_ready() {
        let zone = |name: &str, serial| ServedZone { name: name.into(), serial, rrsig_expires: None };
        assert_eq!(zones_problems(&[]), ["no zone is served"]);
        assert_eq!(zones_problems(&[zone("a.", Some(1)), zone("b.", None)]), ["zone b. has no SOA"]);
        assert!(zones_problems(&[zone("a.", Some(1))]).is_empty());
    }

    #[test]
    fn secondaries_without_a_copy_or_expired_are_not_ready() {
        let zone = |name: &str, has_copy, expired| super::super::snapshot::SecondarySnapshot {
            zone: name.into(),
            has_copy,
            expired,
            ..Default::default()
        };
        assert_eq!(
            secondaries_problems(&[zone("a.", true, false), zone("b.", false, false), zone("c.", true, true)]),
            ["secondary zone b. has not been transferred yet", "secondary zone c. is past its SOA expire"]
        );
        assert!(secondaries_problems(&[zone("a.", true, false)]).is_empty());
    }

    #[test]
    fn a_worker_silent_past_the_limit_or_never_started_is_not_ready() {
        let ages = [(0, Some(Duration::from_millis(5))), (1, Some(Duration::from_millis(1500))), (2, None)];
        assert_eq!(
            silent_workers(ages.into_iter()),
            ["the XDP worker of queue 1 has been silent for 1500 ms", "the XDP worker of queue 2 never started"]
        );
    }
}
