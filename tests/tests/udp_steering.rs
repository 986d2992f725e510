//! Per-CPU steering of the kernel-socket UDP server on a veth testbed: one
//! UDP worker per CPU, each pinned, the reuseport group steered by the
//! receiving CPU. Clients pinned to every CPU in turn, each query from a
//! fresh source port on IPv4 and IPv6, must all be answered; and the same
//! with `--udp-flow-hash`, which must say it left the flow hash in charge.
//! Which worker answers is checked over loopback by the server's unit test
//! (`server::steering_tests`); here it is the whole daemon, flags and
//! privileges dropped to root as in deployment.
//!
//! Needs root; skipped with a message otherwise, except under `CI=true`.

use std::net::SocketAddr;
use std::time::Duration;

use responder_tests::daemon::Daemon;
use responder_tests::dns::rtype::A;
use responder_tests::dns::{self, Question, Reply, NOERROR};
use responder_tests::netns::in_netns;
use responder_tests::responder::{self, workspace_root};
use responder_tests::testbed::{privileged, Testbed};
use responder_tests::xdp_server::{server_v4, server_v6};

/// Queries per client CPU and address family, each from its own port.
const PORTS: usize = 24;

/// Logged once the reuseport program is on.
const STEERING_ON: &str = "UDP per-CPU steering on";
/// Logged when `--udp-flow-hash` keeps the kernel's flow hash.
const STEERING_OFF: &str = "per-CPU steering turned off";

#[test]
fn every_query_from_every_cpu_and_port_is_answered_with_and_without_per_cpu_steering() {
    if !privileged("every_query_from_every_cpu_and_port_is_answered_with_and_without_per_cpu_steering") {
        return;
    }
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    assert!(!cores.is_empty(), "the CPUs this test may run on");
    let bed = Testbed::create("steer", 2).expect("testbed");
    for flow_hash in [false, true] {
        let dir = tempfile::tempdir().expect("temp dir");
        let daemon = serve(&bed, cores.len(), flow_hash, &dir.path().join("responder.log"));
        for &core in &cores {
            for server in [server_v4(), server_v6()] {
                let rcodes = in_netns(&bed.client_ns, || ask_from(core, server)).expect("client namespace");
                assert_eq!(rcodes, vec![Ok(NOERROR); PORTS], "queries from CPU {} to {server}", core.id);
            }
        }
        let (status, log) = daemon.terminate(Duration::from_secs(10)).expect("responder stops");
        assert!(status.success(), "responder exited with {status}:\n{log}");
        // With one CPU there is nothing to steer, and nothing is said.
        if cores.len() > 1 {
            let wanted = if flow_hash { STEERING_OFF } else { STEERING_ON };
            assert!(log.contains(wanted), "the log does not say `{wanted}`:\n{log}");
            assert!(!log.contains("steering not enabled"), "attaching the program failed:\n{log}");
        }
    }
}

/// `responder serve` in the server namespace, one UDP worker per CPU on
/// both testbed addresses, answering.
fn serve(bed: &Testbed, workers: usize, flow_hash: bool, log: &std::path::Path) -> Daemon {
    let binary = responder::binary().expect("responder binary");
    let mut cmd = bed.server_command(&binary.display().to_string());
    cmd.args(["serve", "--user", "root", "--zone"])
        .arg(workspace_root().join("zones/example.com.zone"))
        .args(["--listen", &server_v4().to_string(), "--listen", &server_v6().to_string()])
        .args(["--udp-workers", &workers.to_string()])
        .env("NO_COLOR", "1");
    if flow_hash {
        cmd.arg("--udp-flow-hash");
    }
    let mut daemon = Daemon::spawn(cmd, "responder serve", log).expect("start");
    for server in [server_v4(), server_v6()] {
        in_netns(&bed.client_ns, || daemon.wait_until_answering(server, Duration::from_secs(20)))
            .expect("client namespace")
            .expect("responder answers");
    }
    daemon
}

/// From this thread pinned to `core`: one query from each of [`PORTS`]
/// fresh source ports, and the rcode of each answer.
fn ask_from(core: core_affinity::CoreId, server: SocketAddr) -> Vec<Result<u16, String>> {
    assert!(core_affinity::set_for_current(core), "pinning the client to CPU {}", core.id);
    let query = Question::new("www.example.com.", A).to_wire().expect("query");
    (0..PORTS)
        .map(|_| {
            let wire = dns::udp_exchange(server, &query, Duration::from_secs(2)).map_err(|e| e.to_string())?;
            let reply = Reply::decode(&wire)?;
            if reply.answer_text() != ["www.example.com. 3600 A 198.18.0.80"] {
                return Err(format!("{reply}"));
            }
            Ok(reply.rcode)
        })
        .collect()
}
