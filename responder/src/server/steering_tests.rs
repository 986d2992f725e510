//! Per-CPU steering end to end over loopback, where the kernel receives a
//! datagram on the CPU that sent it: a client pinned to a CPU must be
//! answered by the worker of that CPU's socket, running on that CPU,
//! whatever its source port. (The CPU alone proves nothing: the scheduler
//! tends to wake an unpinned worker on its waker's CPU.)

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::*;

/// Source ports per client CPU: enough that flow hashing would send some
/// of them to another worker.
const PORTS: usize = 16;

/// Answers with the index of the answering worker (its thread is
/// `dns-udp-INDEX`, counted over all listen addresses) and the CPU it runs
/// on, appended as 4 bytes each.
struct WhereAnswered;

impl Answerer for WhereAnswered {
    fn session(&self, _: Transport) -> Box<dyn Session> {
        Box::new(WhereAnswered)
    }
}

impl Session for WhereAnswered {
    fn answer(&mut self, buf: &mut [u8], len: usize, _: Transport, _: &[u8]) -> Option<usize> {
        let name = thread::current().name().map(str::to_owned).unwrap_or_default();
        let worker: i32 = name.strip_prefix("dns-udp-").and_then(|i| i.parse().ok()).unwrap_or(-1);
        // SAFETY: no arguments; returns the calling thread's CPU or -1.
        let cpu = unsafe { libc::sched_getcpu() };
        buf[len..len + 4].copy_from_slice(&worker.to_be_bytes());
        buf[len + 4..len + 8].copy_from_slice(&cpu.to_be_bytes());
        Some(len + 8)
    }
}

#[test]
fn every_udp_query_is_answered_on_the_cpu_that_sent_it_over_loopback() {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() < 2 {
        eprintln!("skipped: per-CPU steering needs at least 2 CPUs, this process may use {}", cores.len());
        return;
    }
    let mut config = ServerConfig::new(vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()]);
    config.udp_workers = cores.len();
    assert!(config.cpu_steering, "on by default");
    let server = Server::start(config, Arc::new(WhereAnswered)).expect("server starts");
    let workers = cores.len() as i32;
    for &addr in server.local_addrs() {
        for &core in &cores {
            let answered_by = thread::scope(|s| s.spawn(move || ask_from(core, addr)).join().unwrap());
            // Socket (and worker) N of each address gets the CPUs with
            // `cpu % workers == N`.
            let by_socket: Vec<(i32, i32)> = answered_by.iter().map(|&(w, cpu)| (w % workers, cpu)).collect();
            let want = (core.id as i32 % workers, core.id as i32);
            assert_eq!(by_socket, vec![want; PORTS], "(worker, CPU) for queries sent on CPU {} to {addr}", core.id);
        }
    }
}

/// From a thread pinned to `core`, one query from each of [`PORTS`] fresh
/// source ports; the worker and CPU each answer names.
fn ask_from(core: core_affinity::CoreId, server: SocketAddr) -> Vec<(i32, i32)> {
    assert!(core_affinity::set_for_current(core), "pinning the client to CPU {}", core.id);
    let local: SocketAddr = if server.is_ipv6() { "[::1]:0" } else { "127.0.0.1:0" }.parse().unwrap();
    let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x00\x00\x01\x00\x01";
    (0..PORTS)
        .map(|_| {
            let client = UdpSocket::bind(local).unwrap();
            client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            client.send_to(query, server).unwrap();
            let mut buf = [0u8; 512];
            let len = client.recv(&mut buf).expect("answered within 5 s");
            assert_eq!(len, query.len() + 8, "the query, the worker and the CPU");
            let word = |at: usize| i32::from_be_bytes(buf[at..at + 4].try_into().unwrap());
            (word(len - 8), word(len - 4))
        })
        .collect()
}
