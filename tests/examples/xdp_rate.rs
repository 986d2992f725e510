//! Answered rate through XDP/AF_XDP on the veth testbed, for
//! docs/BENCHMARKS.md: kxdpgun in the client namespace offers a ladder of
//! rates to `responder serve --iface` (1 and 2 queues, native and generic
//! XDP) and the table shows what came back.
//!
//! The responder's workers are pinned to CPU 0 (`--cpus 0`) and kxdpgun to
//! CPU 1 (`-F 1`). Each point gets a freshly started responder, so its stop
//! counters belong to that point alone. Needs root and kxdpgun.
//!
//! ```text
//! cargo build --release -p responder
//! RESPONDER_BIN=target/release/responder \
//!     cargo run -p responder-tests --example xdp_rate -- [--seconds 3] [--rates 50000,100000,200000,400000]
//! ```

use std::net::IpAddr;
use std::process::ExitCode;

use responder_tests::kxdpgun::{self, Load, EXAMPLE_ZONE_MIX};
use responder_tests::responder::workspace_root;
use responder_tests::testbed::{Testbed, SERVER_V4};
use responder_tests::xdp_server::XdpServer;

/// Upper bounds that keep every run short and the load sane on a shared box.
const MAX_SECONDS: u32 = 30;
const MAX_RATE: u32 = 5_000_000;

struct Options {
    seconds: u32,
    rates: Vec<u32>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options { seconds: 3, rates: vec![50_000, 100_000, 200_000, 400_000] };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => {
                options.seconds = value.parse().map_err(|_| format!("--seconds: {value:?} is not a number"))?;
                if !(1..=MAX_SECONDS).contains(&options.seconds) {
                    return Err(format!("--seconds must be 1 to {MAX_SECONDS}"));
                }
            }
            "--rates" => {
                options.rates = value
                    .split(',')
                    .map(|r| r.trim().parse::<u32>().map_err(|_| format!("--rates: {r:?} is not a number")))
                    .collect::<Result<_, _>>()?;
                if options.rates.iter().any(|r| !(1..=MAX_RATE).contains(r)) {
                    return Err(format!("--rates: each rate must be 1 to {MAX_RATE} q/s"));
                }
            }
            other => return Err(format!("unknown option {other} (expected --seconds N, --rates R1,R2,...)")),
        }
    }
    Ok(options)
}

/// One row of the table.
struct Point {
    queues: u32,
    mode: &'static str,
    offered: u32,
    sent: u64,
    answered: u64,
    answered_pps: u64,
    /// Queries the responder's workers received, per queue.
    worker_rx: Vec<u64>,
    /// Steered to a socket whose RX ring had no room, all queues.
    socket_dropped: u64,
}

fn measure(
    queues: u32,
    mode: &'static str,
    offered: u32,
    seconds: u32,
    queries: &std::path::Path,
) -> Result<Point, String> {
    let bed = Testbed::create(&format!("rate{queues}{}", &mode[..1]), queues).map_err(|e| format!("testbed: {e}"))?;
    let zone = workspace_root().join("zones/example.com.zone");
    let server = XdpServer::start(&bed, &zone, &["--queues", "all", "--cpus", "0", "--xdp-mode", mode])?;
    let load = Load { qps: offered, seconds, cpu: Some(1) };
    let summary = kxdpgun::run(&bed, IpAddr::V4(SERVER_V4), queries, load)?;
    let report = server.stop()?;
    Ok(Point {
        queues,
        mode,
        offered,
        sent: summary.sent,
        answered: summary.replies,
        answered_pps: summary.reply_pps,
        worker_rx: report.queues.iter().map(|q| q.rx).collect(),
        socket_dropped: report.queues.iter().filter_map(|q| q.kernel_dropped).sum(),
    })
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xdp_rate: {e}");
            return ExitCode::from(2);
        }
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 || !kxdpgun::available() {
        eprintln!("xdp_rate: needs root (namespaces, XDP) and {}", kxdpgun::KXDPGUN);
        return ExitCode::from(2);
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("xdp_rate: temp dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let queries = dir.path().join("queries.txt");
    if let Err(e) = kxdpgun::write_queries(&queries, EXAMPLE_ZONE_MIX) {
        eprintln!("xdp_rate: {e}");
        return ExitCode::FAILURE;
    }

    println!("| queues | XDP mode | offered q/s | sent | answered | answered q/s | loss | worker rx per queue | dropped at socket |");
    println!("|---:|---|---:|---:|---:|---:|---:|---|---:|");
    let mut failed = false;
    for (queues, mode) in [(1, "native"), (2, "native"), (1, "generic"), (2, "generic")] {
        for &offered in &options.rates {
            match measure(queues, mode, offered, options.seconds, &queries) {
                Ok(p) => {
                    let loss = if p.sent == 0 { 1.0 } else { 1.0 - p.answered as f64 / p.sent as f64 };
                    let rx: Vec<String> = p.worker_rx.iter().map(u64::to_string).collect();
                    println!(
                        "| {} | {} | {} | {} | {} | {} | {:.2}% | {} | {} |",
                        p.queues,
                        p.mode,
                        p.offered,
                        p.sent,
                        p.answered,
                        p.answered_pps,
                        loss * 100.0,
                        rx.join(" / "),
                        p.socket_dropped
                    );
                }
                Err(e) => {
                    eprintln!("xdp_rate: {queues} queue(s), {mode}, {offered} q/s: {e}");
                    failed = true;
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
