//! Where the lost queries went: for each XDP server, its peak step's loss
//! beside the drop counters' increase along the path (median over
//! repeats), and `drops.tsv`, every step's counters for scripts.

use std::fmt::Write as _;

use super::drops::{self, PathCounters};
use super::load::Step;
use super::measure::ServerResult;
use super::stats::Spread;
use super::summary::peak_point;
use super::veth_stats::VethStat;
use super::xsk_stats::XskStat;

/// One column: its header and its value in one repeat of the peak step,
/// given whether XDP was native.
type Column = (&'static str, fn(&Step, bool) -> Option<f64>);

fn count(n: Option<u64>) -> Option<f64> {
    n.map(|n| n as f64)
}

/// In path order, then the events that drop nothing themselves.
const COLUMNS: [Column; 15] = [
    ("sent", |s, _| count(Some(s.sent))),
    ("answered", |s, _| count(Some(s.replies))),
    ("lost", |s, _| Some(drops::lost(s.sent, s.replies) as f64)),
    ("client veth TX dropped", |s, _| count(s.drops.client(VethStat::TxDropped))),
    ("server veth RX drops", |s, _| count(s.drops.server(VethStat::Drops))),
    ("server XDP drops", |s, _| count(s.drops.server(VethStat::XdpDrops))),
    ("AF_XDP RX dropped", |s, _| count(s.drops.xsk(XskStat::RxDropped))),
    ("AF_XDP RX ring full", |s, _| count(s.drops.xsk(XskStat::RxRingFull))),
    ("worker dropped", |s, _| count(s.drops.xsk(XskStat::Dropped))),
    ("server veth TX dropped", |s, _| count(s.drops.server(VethStat::TxDropped))),
    ("client veth RX drops", |s, _| count(s.drops.client(VethStat::Drops))),
    ("client XDP drops", |s, _| count(s.drops.client(VethStat::XdpDrops))),
    ("unaccounted", |s, native| Some(drops::unaccounted(s.sent, s.replies, &s.drops, native) as f64)),
    ("AF_XDP fill ring empty (events)", |s, _| count(s.drops.xsk(XskStat::RxFillRingEmpty))),
    ("worker TX ring full (events)", |s, _| count(s.drops.xsk(XskStat::TxRingFull))),
];

/// The AF_XDP socket's own drops, which native XDP also counts in the
/// server veth's RX drops.
const IN_VETH_DROPS_WHEN_NATIVE: [&str; 2] = ["AF_XDP RX dropped", "AF_XDP RX ring full"];

pub const HEADING: &str = "## Where the lost queries went (peak step, median of repeats)";

fn native(result: &ServerResult) -> bool {
    matches!(result.xdp_mode.as_deref(), Some("xdp" | "xdpdrv"))
}

/// The section, or nothing when no XDP server has a ladder.
pub fn section(md: &mut String, results: &[ServerResult]) {
    let shown: Vec<&ServerResult> = results.iter().filter(|r| r.kind.uses_xdp() && !r.points.is_empty()).collect();
    if shown.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "{HEADING}\n\nkxdpgun's counts and each counter's increase over the step, along the path of a query and its \
         answer (see \"where the lost queries went\" below). –: not known (no control socket, or the counter could \
         not be read). *: already counted in server veth RX drops (native XDP).\n"
    );
    let _ = write!(md, "| server | XDP | peak step |");
    for (header, _) in COLUMNS {
        let _ = write!(md, " {header} |");
    }
    let _ = writeln!(md, "\n|---|---|---:|{}", "---:|".repeat(COLUMNS.len()));
    for r in shown {
        let Some(peak) = peak_point(&r.points) else { continue };
        let native = native(r);
        let _ = write!(
            md,
            "| {} | {} | {:.0}k |",
            r.kind,
            r.xdp_mode.as_deref().unwrap_or("–"),
            f64::from(peak.offered) / 1000.0
        );
        for (header, value) in COLUMNS {
            let values: Vec<f64> = peak.steps.iter().filter_map(|s| value(s, native)).collect();
            let cell = match Spread::of(&values) {
                Some(s) if native && IN_VETH_DROPS_WHEN_NATIVE.contains(&header) => format!("{:.0}*", s.median),
                Some(s) => format!("{:.0}", s.median),
                None => "–".to_owned(),
            };
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    md.push('\n');
}

/// For "How this was measured": each column, where it sits in the path.
pub const METHOD: &str = "\
- **where the lost queries went**: the drop counters along the path, read just before kxdpgun starts and just after \
it exits, so the window holds the whole step and nothing else; the table shows each XDP server's peak step, every \
figure the median over repeats. The path: kxdpgun's AF_XDP socket → client veth TX → server veth RX ring → XDP \
program → AF_XDP RX ring → worker → AF_XDP TX → server veth TX → client veth RX → kxdpgun's socket.
  - *sent, answered*: kxdpgun's counts; *lost* = sent − answered.
  - *client veth TX dropped*: sysfs `tx_dropped` of the client end (read in the client namespace): queries \
`veth_xmit` could not put on the server end's receive ring because it was full (plus XDP_TX and `ndo_xdp_xmit` \
errors, none expected here).
  - *server veth RX drops*: `rx_queue_N_drops` of the server end (`ethtool -S`, summed over queues): queries its \
receive path dropped, among them every failed XDP redirect into an AF_XDP socket (RX ring full, no fill buffer) \
under native XDP.
  - *server XDP drops*: `rx_queue_N_xdp_drops`: XDP_DROP verdicts of the server's program.
  - *AF_XDP RX dropped, RX ring full*: the responder's sockets (XDP_STATISTICS via `responder ctl stats`, summed \
over queues): frames dropped for want of a fill-ring buffer, and because the RX ring was full. Under native XDP \
(marked *) the veth has already counted them in server veth RX drops, so they are not added again; under generic \
XDP they happen in the stack, after the veth, and are added. The floor has no control socket: its AF_XDP columns \
are –.
  - *worker dropped*: frames the responder's workers read and did not answer (unanswerable, rate limited).
  - *server veth TX dropped*: sysfs `tx_dropped` of the server end: answers that did not fit the client end's \
receive ring.
  - *client veth RX drops, client XDP drops*: the client end's `rx_queue_N_drops` and `xdp_drops`: answers dropped \
on the way into kxdpgun's socket (its RX ring full, no fill buffer) or by its program.
  - *unaccounted* = lost − (client veth TX dropped + server veth RX drops + server XDP drops + worker dropped + \
server veth TX dropped + client veth RX drops + client XDP drops, + the AF_XDP drops under generic XDP), the median \
of each repeat's own difference (so with several repeats the columns need not add up). What remains was lost \
where no counter is read: in kxdpgun's own socket, or answers arriving after kxdpgun stopped listening. Negative \
means the counters claim more than was lost: they count every frame, the kernel's own neighbour discovery too, so \
a few either way are noise; more means an overlap not listed here. It is shown as it is, not clamped. Unknown counters (–) add nothing.
  - *AF_XDP fill ring empty, worker TX ring full*: events, not frames: how often the kernel found the fill ring \
empty, and how often a worker waited for TX ring room. They say why drops happened, not how many.
  - `drops.tsv` holds every step of every server with all counters (the veth's `xdp_packets`, `xdp_redirect`, \
`xdp_tx`, sysfs `rx_dropped` — which repeats the queues' `drops` — and the workers' received and sent, the \
program's redirected, passed and answered by tier 0 too); `-` is unknown.";

/// Every step of every server, one line each, tab-separated, for scripts.
pub fn tsv(results: &[ServerResult]) -> String {
    let mut out = String::from("server\txdp_mode\toffered\trepeat\tsent\treplies\tlost\tunaccounted");
    for side in ["client", "server"] {
        for stat in VethStat::ALL {
            let _ = write!(out, "\t{side}_{}", stat.name());
        }
    }
    for stat in XskStat::ALL {
        let _ = write!(out, "\t{}", stat.name());
    }
    out.push('\n');
    for r in results {
        let native = native(r);
        for p in &r.points {
            for (i, s) in p.steps.iter().enumerate() {
                let _ = write!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.kind,
                    r.xdp_mode.as_deref().unwrap_or("-"),
                    p.offered,
                    i + 1,
                    s.sent,
                    s.replies,
                    drops::lost(s.sent, s.replies),
                    drops::unaccounted(s.sent, s.replies, &s.drops, native)
                );
                let PathCounters { client, server, xsk } = &s.drops;
                for v in client.0.iter().chain(&server.0).chain(&xsk.0) {
                    match v {
                        Some(v) => {
                            let _ = write!(out, "\t{v}");
                        }
                        None => out.push_str("\t-"),
                    }
                }
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::measure::Point;
    use crate::bench::plan::ServerKind;
    use crate::bench::summary::tests::{measured, step};

    /// A step that lost `client_tx + server_rx + server_tx` queries, those
    /// counted where they happened; the socket saw `xsk_full` of the
    /// server's RX drops as a full ring.
    fn lossy(sent: u64, client_tx: u64, server_rx: u64, server_tx: u64, xsk_full: u64, extra: u64) -> Step {
        let mut s = step(400_000, sent, sent - client_tx - server_rx - server_tx - extra, 1.0);
        s.drops.client.0 = [Some(0); 10];
        s.drops.server.0 = [Some(0); 10];
        s.drops.client.0[VethStat::TxDropped as usize] = Some(client_tx);
        s.drops.server.0[VethStat::Drops as usize] = Some(server_rx);
        s.drops.server.0[VethStat::RxDropped as usize] = Some(server_rx);
        s.drops.server.0[VethStat::TxDropped as usize] = Some(server_tx);
        s.drops.xsk.0 = [Some(0); crate::bench::xsk_stats::XSK_STATS];
        s.drops.xsk.0[XskStat::RxRingFull as usize] = Some(xsk_full);
        s.drops.xsk.0[XskStat::RxFillRingEmpty as usize] = Some(2);
        s
    }

    /// 100k answered in full, then a lossy 400k peak over three repeats.
    fn xdp_server(kind: ServerKind, mode: &str, xsk_known: bool) -> ServerResult {
        let mut r = measured(kind);
        r.xdp_mode = Some(mode.to_owned());
        let mut steps = vec![
            lossy(400_000, 1_000, 300, 500, 300, 0),
            lossy(400_000, 3_000, 700, 900, 600, 10),
            lossy(400_000, 2_000, 500, 700, 500, 0),
        ];
        if !xsk_known {
            for s in &mut steps {
                s.drops.xsk = Default::default();
            }
        }
        r.points = vec![Point { offered: 400_000, steps }];
        r
    }

    fn rendered(results: &[ServerResult]) -> String {
        let mut md = String::new();
        section(&mut md, results);
        md
    }

    #[test]
    fn each_xdp_server_gets_its_peak_steps_medians() {
        let md = rendered(&[
            xdp_server(ServerKind::Floor, "xdp", false),
            xdp_server(ServerKind::ResponderXdp, "xdp", true),
            measured(ServerKind::Knot),
        ]);
        assert!(md.starts_with(HEADING), "{md}");
        let columns = md.lines().find(|l| l.starts_with("| server |")).unwrap().matches('|').count();
        for row in md.lines().filter(|l| l.starts_with("| floor") || l.starts_with("| responder")) {
            assert_eq!(row.matches('|').count(), columns, "{row}");
        }
        // Lost: 1800, 4610, 3200; medians column by column. Native XDP:
        // the socket's ring-full drops are the veth's RX drops, marked and
        // not added twice, so the median repeat leaves nothing unaccounted.
        assert!(
            md.contains(
                "| responder-xdp | xdp | 400k | 400000 | 396800 | 3200 | 2000 | 500 | 0 | 0* | 500* | 0 | 700 | 0 | 0 \
                 | 0 | 2 | 0 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| floor | xdp | 400k | 400000 | 396800 | 3200 | 2000 | 500 | 0 | – | – | – | 700 |"),
            "{md}"
        );
        assert!(!md.contains("| knot |"), "kernel-stack servers have no XDP path to attribute");
    }

    #[test]
    fn generic_xdp_adds_the_sockets_drops_and_overlap_shows_as_negative() {
        let md = rendered(&[xdp_server(ServerKind::ResponderXdpGeneric, "xdpgeneric", true)]);
        // 3200 lost − (2000 + 500 + 700 + 500 ring full): the socket's drops
        // counted twice here, as the test's veth counts them too.
        assert!(md.contains("| 0 | 500 | 0 | 700 | 0 | 0 | -500 | 2 | 0 |"), "{md}");
        assert!(!md.contains("500*"), "generic: not already in the veth's count: {md}");
    }

    #[test]
    fn nothing_without_an_xdp_ladder() {
        assert_eq!(rendered(&[measured(ServerKind::Nsd)]), "");
        let mut failed = measured(ServerKind::KnotXdp);
        failed.points.clear();
        assert_eq!(rendered(&[failed]), "");
    }

    #[test]
    fn every_step_is_a_tsv_line_with_every_counter() {
        let text = tsv(&[xdp_server(ServerKind::Floor, "xdp", false), measured(ServerKind::Nsd)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 3 + 6, "a header, the floor's three steps, NSD's six");
        let width = lines[0].split('\t').count();
        assert_eq!(width, 8 + 10 + 10 + 12);
        assert!(lines.iter().all(|l| l.split('\t').count() == width));
        assert!(
            lines[0].contains("\tclient_tx_dropped\t")
                && lines[0].ends_with("\tprogram_passed\tprogram_answered_tier0")
        );
        assert!(lines[2].starts_with("floor\txdp\t400000\t2\t400000\t395390\t4610\t10\t"), "{}", lines[2]);
        assert!(lines[2].ends_with(&"\t-".repeat(12)), "no control socket: {}", lines[2]);
        assert!(lines[4].starts_with("nsd\t-\t100000\t1\t"), "{}", lines[4]);
    }
}
