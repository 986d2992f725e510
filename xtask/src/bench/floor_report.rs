//! The report's section "The in-kernel floor": the tier-0 server against
//! `floor-xdp-tx`, the XDP program that sends every query back itself with
//! no DNS work (`ebpf/xdp_reflect.c`), and against the AF_XDP floor. What
//! the reflector reaches is the most any in-kernel answer can reach on this
//! testbed, so issue 17's targets are checked against it too: a target the
//! reflector itself misses is out of reach for tier 0 here.

use std::fmt::Write as _;

use super::measure::{ServerResult, Status};
use super::plan::ServerKind;
use super::report::{ns, spread_k, spread_plain, times};
use super::summary::{self, Figures};

pub const HEADING: &str = "## The in-kernel floor";

/// The section, when floor-xdp-tx was measured.
pub fn section(md: &mut String, results: &[ServerResult], all: &[Figures]) {
    let get = |kind: ServerKind| results.iter().zip(all).find(|(r, _)| r.kind == kind && r.status == Status::Measured);
    let Some((_, reflector)) = get(ServerKind::FloorXdpTx) else { return };
    let _ = writeln!(
        md,
        "{HEADING}\n\n`floor-xdp-tx` answers every query in the XDP program itself (XDP_TX: addresses and ports \
         swapped, QR set, REFUSED), with no DNS work: the cheapest answer an XDP program can give, so the bound \
         for tier 0 on this testbed.\n\n\
         | server | peak answered q/s | CPU s per M answers | XDP program time per packet | peak vs floor-xdp-tx | \
         CPU vs floor-xdp-tx |\n|---|---:|---:|---|---:|---:|"
    );
    for kind in [
        ServerKind::FloorXdpTx,
        ServerKind::Floor,
        ServerKind::ResponderXdpT0,
        ServerKind::ResponderXdp,
        ServerKind::KnotXdp,
    ] {
        if let Some((r, f)) = get(kind) {
            let _ = writeln!(
                md,
                "| {kind} | {}{} | {} | {} | {} | {} |",
                if f.unsaturated && f.peak.is_some() { "≥ " } else { "" },
                spread_k(f.peak),
                spread_plain(f.cpu_per_million),
                ns(&r.program_cost),
                times(summary::ratio(f.peak, reflector.peak)),
                times(summary::ratio(f.cpu_per_million, reflector.cpu_per_million)),
            );
        }
    }
    let _ = writeln!(
        md,
        "\nIssue 17's targets for tier 0, met by the do-nothing reflector itself? (If not, they are out of reach \
         on this testbed whatever tier 0 does.)\n\n| target | floor-xdp-tx | met | responder-xdp-t0 | met |\n\
         |---|---:|---|---:|---|"
    );
    let t0 = get(ServerKind::ResponderXdpT0).map(|(_, f)| f);
    let mut row = |what: &str, peer: ServerKind, peak: bool, met: fn(f64) -> bool| {
        let Some((_, p)) = get(peer) else { return };
        let ratio = |f: &Figures| {
            if peak {
                summary::ratio(f.peak, p.peak)
            } else {
                summary::ratio(f.cpu_per_million, p.cpu_per_million)
            }
        };
        let verdict = |v: Option<f64>| v.map_or("–", |v| if met(v) { "yes" } else { "no" });
        let ours = ratio(reflector);
        let tier0 = t0.and_then(ratio);
        let _ =
            writeln!(md, "| {what} | {} | {} | {} | {} |", times(ours), verdict(ours), times(tier0), verdict(tier0));
    };
    row("peak ≥ 1.3 × floor", ServerKind::Floor, true, |v| v >= 1.3);
    row("CPU per answer ≤ 0.5 × responder-xdp", ServerKind::ResponderXdp, false, |v| v <= 0.5);
    row("CPU per answer ≤ 0.35 × knot-xdp", ServerKind::KnotXdp, false, |v| v <= 0.35);
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::tests::measured;

    #[test]
    fn the_section_compares_tier0_with_the_reflector_and_checks_the_targets_on_both() {
        let results =
            vec![measured(ServerKind::Floor), measured(ServerKind::FloorXdpTx), measured(ServerKind::ResponderXdpT0)];
        let all: Vec<Figures> = results.iter().map(|r| summary::figures(r, 100_000)).collect();
        let mut md = String::new();
        section(&mut md, &results, &all);
        assert!(md.starts_with(HEADING), "{md}");
        assert!(md.contains("| floor-xdp-tx | 190k (150k–199k) | 5.00 | – | 1.00× | 1.00× |"), "{md}");
        assert!(md.contains("| responder-xdp-t0 | 190k"), "{md}");
        assert!(md.contains("| peak ≥ 1.3 × floor | 1.00× | no | 1.00× | no |"), "{md}");
        assert!(!md.contains("responder-xdp |"), "a server not measured has no row: {md}");

        let mut md = String::new();
        section(&mut md, &results[..1], &all[..1]);
        assert!(md.is_empty(), "no section without floor-xdp-tx");
    }
}
