//! `serve --xdp-answers`: fill the XDP program's tier-0 maps from the engine
//! at start, and again at every reload (`xdp::tier0`); with top=N, also
//! from what the workers answer most (`tier0_learn`).
//!
//! Tier-0 answers never reach a worker, so whatever a worker does beside
//! answering would not happen for them. The program rate limits them
//! itself with the workers' settings (`xdp::tier0::rrl`) and counts them
//! (`path="xdp-kernel"`) and samples them for capture
//! (`xdp::tier0::capture`); until it does the rest, tier 0 stays off, with
//! a warning saying why, when one of them is configured: query logging,
//! UDP checksum verification. So it does when the answers could
//! not be replaced at a reload (a privilege drop on a kernel before 6.5),
//! and when the kernel refuses the tier-0 code, rate limiting included.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::reload::Follower;
use super::runtime::Runtime;
use super::tier0_learn::{self, Set};
use crate::control::cli::ServeArgs;
use crate::engine::live::SharedEngine;
use crate::engine::Engine;
use crate::xdp::tier0::learn::Board;
use crate::xdp::tier0::{self, Entry, Selection, Tier0Maps};

/// Why tier 0 cannot be on with `args`, if it cannot.
fn conflict(args: &ServeArgs) -> Option<&'static str> {
    if args.ops.log_queries {
        Some("query logging is on, and tier-0 answers are not logged")
    } else if args.xdp.verify_udp_checksum {
        Some("--verify-udp-checksum is on, and tier 0 does not verify it")
    } else if drops_privileges(args) && !maps_writable_unprivileged() {
        // The answers could no longer be replaced (or turned off) at a
        // reload: stale answers are worse than none.
        Some("--user drops privileges and this kernel (before 6.5) refuses map updates to an unprivileged process")
    } else {
        None
    }
}

fn drops_privileges(args: &ServeArgs) -> bool {
    args.ops.user.as_deref().is_some_and(|user| user.split(':').next() != Some("root"))
}

/// From Linux 6.5, `bpf()` on a map descriptor already held works without
/// capabilities even with `kernel.unprivileged_bpf_disabled` (DESIGN.md,
/// "Answering only for our own addresses").
fn maps_writable_unprivileged() -> bool {
    use aya::util::KernelVersion;
    KernelVersion::current().is_ok_and(|v| v >= KernelVersion::new(6, 5, 0))
}

/// Whether to load the tier-0 code: asked for, and nothing in the way.
pub fn wanted(args: &ServeArgs) -> bool {
    !args.xdp.xdp_answers.is_off() && conflict(args).is_none()
}

/// The workers' mailboxes for learned keys, when top=N is asked for and
/// tier 0 can be on; each worker's handler takes a sampler from it.
pub fn board(args: &ServeArgs) -> Option<Arc<Board>> {
    (args.xdp.xdp_answers.top > 0 && wanted(args)).then(Arc::default)
}

/// Publishes the first answers and follows reloads, and with `board`
/// starts learning; returns the start line's tier-0 part.
pub fn start(args: &ServeArgs, runtime: &Runtime, board: Option<Arc<Board>>) -> String {
    let answers = args.xdp.xdp_answers;
    let selection = answers.selection;
    if answers.is_off() {
        return "XDP answers off".into();
    }
    if let Some(why) = conflict(args) {
        tracing::warn!("XDP answers (tier 0) are off: {why}");
        return "XDP answers off".into();
    }
    let plane = runtime.plane.lock().unwrap_or_else(|e| e.into_inner());
    let Some(program) = plane.as_ref().map(|p| p.program()) else { return "XDP answers off".into() };
    let Some(maps) = program.tier0() else {
        // Loaded without: the loader has logged the verifier's reason.
        return format!("XDP answers off ({})", program.tier0_refused().unwrap_or("not loaded"));
    };
    drop(plane);
    // The same limits as the workers', applied by the program.
    let limited = if args.rrl.rrl_rate > 0 { ", rate-limited in the program" } else { "" };
    let gauge = runtime.tier0_learned.get_or_init(|| Arc::new(AtomicU64::new(0)));
    let set = Arc::new(Mutex::new(Set::new(maps, answers.top, Arc::clone(gauge))));
    let engine = runtime.reloader.engine().load();
    let line = set
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .replace(tier0::compile(&engine, selection), &engine)
        .map(|n| format!("XDP answers {answers}: {n}{limited}"))
        .unwrap_or_else(|e| format!("XDP answers off ({e})"));
    if let Some(board) = board {
        let interval = Duration::from_secs(args.xdp.xdp_learn_interval);
        tier0_learn::start(Arc::downgrade(&set), board, runtime.reloader.engine().clone(), interval);
    }
    runtime.reloader.follow(follower(set, selection, runtime.reloader.engine().clone()));
    line
}

/// Publishes `entries` (`skipped` more left to the workers, `learned` of
/// them learned); the number of answers published.
pub(super) fn commit(
    maps: &Mutex<Tier0Maps>,
    entries: &[Entry],
    skipped: usize,
    learned: usize,
) -> Result<usize, String> {
    let mut maps = maps.lock().unwrap_or_else(|e| e.into_inner());
    match maps.publish(entries) {
        Ok(published) => {
            tracing::info!(
                generation = published.generation,
                answers = published.entries,
                learned,
                // A hash collision's later entries are the workers' too.
                left_to_workers = skipped + published.collisions,
                "XDP answers (tier 0) published"
            );
            Ok(published.entries)
        }
        Err(e) => {
            tracing::error!(
                "XDP answers (tier 0): {e}; the previous answers stay, which may now be stale: turning tier 0 off"
            );
            // Stale answers are worse than none: the workers answer everything.
            if let Err(e) = maps.clear() {
                tracing::error!("XDP answers (tier 0): cannot turn off either: {e}");
            }
            Err(e.to_string())
        }
    }
}

/// Compiles from each new engine before it is served (off the hot path),
/// publishes right after it is, with the learned keys' answers from it.
fn follower(set: Arc<Mutex<Set>>, selection: Selection, served: SharedEngine) -> Follower {
    Box::new(move |engine: &Engine| {
        let compiled = tier0::compile(engine, selection);
        let (set, served) = (Arc::clone(&set), served.clone());
        Box::new(move || {
            let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
            // Committed once the new engine is served: this is it.
            let _ = set.replace(compiled, &served.load());
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Cli, Command};
    use clap::Parser;

    fn serve(args: &[&str]) -> ServeArgs {
        let argv = ["responder", "serve", "--iface", "eth0"].into_iter().chain(args.iter().copied());
        match Cli::try_parse_from(argv).expect("valid flags").command {
            Command::Serve(s) => s,
            _ => unreachable!("parsed as serve"),
        }
    }

    #[test]
    fn tier0_is_off_by_default_and_when_workers_must_see_every_query() {
        assert!(!wanted(&serve(&[])));
        assert!(wanted(&serve(&["--xdp-answers", "apex"])));
        assert!(wanted(&serve(&["--xdp-answers", "apex+delegations"])));
        assert!(wanted(&serve(&["--xdp-answers", "top=8"])));
        assert!(board(&serve(&["--xdp-answers", "apex"])).is_none(), "no learning without top=N");
        assert!(board(&serve(&["--xdp-answers", "apex+top=8"])).is_some());
        assert!(board(&serve(&["--xdp-answers", "top=8", "--log-queries"])).is_none(), "nor when tier 0 cannot be on");
        assert_eq!(serve(&["--xdp-answers", "top=8"]).xdp.xdp_learn_interval, 5);
        assert!(Cli::try_parse_from(["responder", "serve", "--iface", "e", "--xdp-learn-interval", "0"]).is_err());
        assert!(board(&serve(&["--xdp-answers", "top=8", "--rrl-rate", "100"])).is_some(), "the program rate limits");
        // Capture takes tier 0's answers from the program (xdp::tier0::capture).
        for capturing in [["--pcap", "/tmp/x.pcap"], ["--dnstap", "/tmp/x.sock"]] {
            let mut args = vec!["--xdp-answers", "apex"];
            args.extend(capturing);
            let s = serve(&args);
            assert!(wanted(&s) && conflict(&s).is_none(), "{capturing:?}");
        }
        let s = serve(&["--xdp-answers", "apex", "--log-queries"]);
        assert!(!wanted(&s) && conflict(&s).is_some());
        assert!(Cli::try_parse_from(["responder", "serve", "--iface", "e", "--xdp-answers", "all"]).is_err());
        // The program limits its own answers with the workers' settings.
        assert!(wanted(&serve(&["--xdp-answers", "apex", "--rrl-rate", "100"])));
    }

    /// What tier 0 relies on from the reloader: each follower prepares from
    /// the new engine before it is served and commits once it is.
    #[test]
    fn followers_prepare_before_the_swap_and_commit_after() {
        use super::super::reload::{Reloader, ZoneSource};
        use super::super::served;
        use crate::engine::Options;

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("example.com.zone");
        let zone = |serial: u32| {
            format!("$ORIGIN example.com.\n@ 300 IN SOA ns h {serial} 1 1 1 60\n@ NS ns\nns A 198.18.0.1\n")
        };
        std::fs::write(&file, zone(1)).unwrap();
        let (reloader, _) =
            Reloader::start(ZoneSource::Zones(vec![file.display().to_string()]), Options::default()).unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let (log, shared) = (Arc::clone(&events), reloader.engine().clone());
        reloader.follow(Box::new(move |engine: &Engine| {
            let serving = served::zones(&shared.load())[0].serial;
            log.lock()
                .unwrap()
                .push(format!("prepare {:?} while serving {serving:?}", served::zones(engine)[0].serial));
            let (log, shared) = (Arc::clone(&log), shared.clone());
            Box::new(move || {
                let serving = served::zones(&shared.load())[0].serial;
                log.lock().unwrap().push(format!("commit while serving {serving:?}"));
            })
        }));
        std::fs::write(&file, zone(2)).unwrap();
        reloader.reload().unwrap();
        assert_eq!(*events.lock().unwrap(), ["prepare Some(2) while serving Some(1)", "commit while serving Some(2)"]);
        std::fs::write(&file, "broken\n").unwrap();
        assert!(reloader.reload().is_err());
        assert_eq!(events.lock().unwrap().len(), 2, "a failed reload prepares nothing");
    }
}
