//! Per-CPU steering of a listen address's UDP sockets: a classic BPF
//! program on the reuseport group picks socket `cpu % n` for a datagram
//! received on `cpu`, and the worker serving socket `j` is pinned to the
//! CPU with `cpu % n == j`. A query is then read on the CPU whose softirq
//! queued it: its cache lines stay there and no other CPU is woken, which
//! the kernel's default flow-hash spreading cannot promise (NSD and Knot
//! steer the same way).
//!
//! The program's answer is an index into the group, and a group's indices
//! are the order its sockets were bound (`bind.rs` binds them in worker
//! order), so socket `j` is worker `j`. An index past the group's end (a
//! socket gone) makes the kernel fall back to the flow hash, so a query is
//! never lost to a stale program. Attaching needs no privilege, only Linux
//! 4.5 or later; a refusal leaves the flow hash, with a warning.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr;

use tracing::{info, warn};

/// The CPU each worker of a listen address is pinned to, socket `j` on
/// `cpus[j]`, when steering applies: asked for, more than one worker, and
/// exactly one worker per CPU the process may run on. Otherwise `None`,
/// logged with the reason when steering was wanted.
pub(in crate::server) fn choose(wanted: bool, workers: usize) -> Option<Vec<usize>> {
    // One socket: every query goes to it whatever the kernel chooses.
    if workers < 2 {
        return None;
    }
    if !wanted {
        info!(workers, "UDP queries spread over the workers by flow hash (per-CPU steering turned off)");
        return None;
    }
    let allowed: Vec<usize> = core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect();
    let plan = plan(&allowed, workers);
    if plan.is_none() {
        info!(
            workers,
            cpus = ?allowed,
            "UDP queries spread over the workers by flow hash: per-CPU steering needs one worker per CPU \
             this process may run on (--udp-workers equal to the CPU count)"
        );
    }
    plan
}

/// For `workers` sockets and the CPUs the process may use: the CPU whose
/// datagrams the program sends to socket `j`, for every `j`, if each
/// socket gets exactly one of those CPUs.
fn plan(allowed: &[usize], workers: usize) -> Option<Vec<usize>> {
    if allowed.len() != workers {
        return None;
    }
    let mut cpus = vec![None; workers];
    for &cpu in allowed {
        let slot = &mut cpus[cpu % workers];
        if slot.replace(cpu).is_some() {
            return None;
        }
    }
    cpus.into_iter().collect()
}

/// Attaches the steering program for `sockets` sockets to the reuseport
/// group of `socket`; a refusal is logged, and the group keeps the flow
/// hash. Returns whether the program is on.
pub(in crate::server) fn attach(socket: &impl AsFd, sockets: usize, addr: std::net::SocketAddr) -> bool {
    match attach_program(socket, &program(sockets)) {
        Ok(()) => true,
        Err(error) => {
            warn!(
                %addr,
                %error,
                "UDP per-CPU steering not enabled (SO_ATTACH_REUSEPORT_CBPF needs Linux 4.5); \
                 the kernel spreads queries over the workers by flow hash"
            );
            false
        }
    }
}

/// `return cpu % sockets`: the CPU the datagram was received on (an
/// ancillary load), as an index into the group.
fn program(sockets: usize) -> [libc::sock_filter; 3] {
    let sockets = u32::try_from(sockets).unwrap_or(u32::MAX);
    [
        instruction(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, (libc::SKF_AD_OFF + libc::SKF_AD_CPU) as u32),
        instruction(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K, sockets),
        instruction(libc::BPF_RET | libc::BPF_A, 0),
    ]
}

fn instruction(code: u32, k: u32) -> libc::sock_filter {
    // Every opcode above fits the 16-bit field.
    libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
}

fn attach_program(socket: &impl AsFd, program: &[libc::sock_filter]) -> io::Result<()> {
    let len = u16::try_from(program.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let fprog = libc::sock_fprog { len, filter: program.as_ptr().cast_mut() };
    // SAFETY: the fd is open for the call; `fprog` and the instructions it
    // points to outlive it (the kernel copies them), and its exact size is
    // passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            ptr::from_ref(&fprog).cast(),
            mem::size_of_val(&fprog) as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pins the calling worker to `cpu`; a refusal (a CPU taken away since
/// start) only costs locality, so it is a warning.
pub(in crate::server) fn pin(cpu: usize) {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        warn!(cpu, "cannot pin a UDP worker to its CPU; its queries are read on another one");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_gives_each_socket_the_one_cpu_it_is_steered_from() {
        assert_eq!(plan(&[0, 1, 2, 3], 4), Some(vec![0, 1, 2, 3]));
        // taskset -c 2,3: CPU 2 steers to socket 0, CPU 3 to socket 1.
        assert_eq!(plan(&[2, 3], 2), Some(vec![2, 3]));
        assert_eq!(plan(&[3, 4, 8], 3), Some(vec![3, 4, 8]));
    }

    #[test]
    fn no_plan_unless_one_worker_per_cpu_and_one_cpu_per_socket() {
        assert_eq!(plan(&[0, 1, 2, 3], 2), None, "more CPUs than workers");
        assert_eq!(plan(&[0, 1], 4), None, "more workers than CPUs");
        assert_eq!(plan(&[0, 2], 2), None, "both CPUs steer to socket 0, none to socket 1");
    }

    #[test]
    fn one_worker_is_never_steered() {
        assert_eq!(choose(true, 1), None);
    }

    /// The program is the one the kernel documents for this (see
    /// tools/testing/selftests/net/reuseport_bpf_cpu.c): load the CPU,
    /// reduce it modulo the group size, return it.
    #[test]
    fn the_program_returns_the_receiving_cpu_modulo_the_sockets() {
        let words: Vec<(u16, u32)> = program(6).iter().map(|i| (i.code, i.k)).collect();
        assert_eq!(words, [(0x20, 0xffff_f000 + 36), (0x94, 6), (0x16, 0)]);
    }
}
