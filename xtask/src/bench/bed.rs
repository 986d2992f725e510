//! The bench's testbed: the shared veth pair between two namespaces, with
//! each side's receive work pinned to that side's CPU.
//!
//! On veth, a frame's receive processing runs by default on the CPU that
//! sent it: the server's receive work would be billed to the generator's
//! core and kernel-stack servers would look cheaper than they are. Threaded
//! NAPI (which veth uses once GRO is on, and for every frame only once TSO
//! is off) turns each side's receive work into `napi/IFACE-N` kernel
//! threads; the bench pins the server side's to the server CPU and the
//! client side's to the generator CPU, and counts the server side's in the
//! server's CPU time.
//!
//! With more than one queue, kxdpgun still runs one thread (it counts
//! combined channels, and veth has none): it sends on the client's TX queue
//! 0 and listens only on its RX queue 0. A veth frame arrives on the peer's
//! RX queue of the sending TX queue's index, so every query reaches the
//! server's RX queue 0, and any reply the server sends on another TX queue
//! reaches a client queue kxdpgun does not read: counted lost. Kernel-stack
//! servers pick their TX queue by XPS or the flow hash, so the bench
//! steers all of the server's TX to queue 0 by XPS ([`steer_tx_to_queue0`]);
//! unpinned, RPS spreads the server's receive work over every CPU, as more
//! RX queues would with a generator that used them ([`spread_rx`]).

use std::fs;
use std::process::Command;

use crate::testbed::{run, Testbed};

/// Where the server (and its receive work) runs.
pub const SERVER_CPU: usize = 0;
/// Where the load generators (and their receive work) run.
pub const CLIENT_CPU: usize = 1;

pub struct BenchBed {
    pub bed: Testbed,
    /// Each side's NAPI threads, server and generators on their own CPU;
    /// `false` (`--unpinned`) leaves them all to the scheduler.
    pub pinned: bool,
}

impl BenchBed {
    pub fn create(queues: u32, pinned: bool) -> Result<BenchBed, String> {
        // A two-letter tag keeps `napi/IFACE-` within the 15 bytes of a
        // thread name, so the server's threads are told apart exactly.
        let bed = Testbed::create("bn", queues).map_err(|e| format!("cannot create the testbed: {e}"))?;
        let bench = BenchBed { bed, pinned };
        for (ns, iface) in [(&bench.bed.server_ns, &bench.bed.server_if), (&bench.bed.client_ns, &bench.bed.client_if)]
        {
            // GRO gives the veth a NAPI context; with TSO on, veth still
            // hands a peer's frames to the sending CPU's backlog unless an
            // XDP program is attached (`veth_skb_is_eligible_for_gro`), so
            // kernel-stack servers and generic XDP would be billed to the
            // generator. TSO off makes every frame go through NAPI.
            run(Command::new("ip").args(["netns", "exec", ns, "ethtool", "-K", iface, "gro", "on", "tso", "off"]))
                .map_err(|e| format!("cannot set GRO on, TSO off for {iface}: {e}"))?;
            // sysfs under `ip netns exec` is the namespace's own.
            let threaded = format!("echo 1 > /sys/class/net/{iface}/threaded");
            run(Command::new("ip").args(["netns", "exec", ns, "sh", "-c", &threaded]))
                .map_err(|e| format!("cannot make {iface}'s NAPI threaded: {e}"))?;
        }
        if queues > 1 {
            steer_tx_to_queue0(&bench.bed.server_ns, &bench.bed.server_if, queues)?;
            if !pinned {
                spread_rx(&bench.bed.server_ns, &bench.bed.server_if, queues)?;
            }
        }
        bench.pin_napi()?;
        Ok(bench)
    }

    /// Pins each side's NAPI threads to its CPU. Called again before every
    /// measurement: attaching XDP may re-create a veth's NAPI contexts.
    /// Unpinned, it only checks that threaded NAPI is on, as the CPU
    /// accounting needs the server side's threads.
    pub fn pin_napi(&self) -> Result<(), String> {
        for (iface, cpu) in [(&self.bed.server_if, SERVER_CPU), (&self.bed.client_if, CLIENT_CPU)] {
            let threads = napi_threads(iface);
            if threads.is_empty() {
                return Err(format!("no napi/{iface}-* threads: threaded NAPI did not take effect"));
            }
            if !self.pinned {
                continue;
            }
            for pid in threads {
                run(Command::new("taskset").args(["-pc", &cpu.to_string(), &pid.to_string()]))
                    .map_err(|e| format!("cannot pin NAPI thread {pid} of {iface}: {e}"))?;
            }
        }
        Ok(())
    }

    /// The CPUs whose irq + softirq time the server is billed: its own, or
    /// every CPU when nothing is pinned and its work may run anywhere.
    pub fn softirq_cpu(&self) -> Option<usize> {
        self.pinned.then_some(SERVER_CPU)
    }

    /// The server side's NAPI threads, whose CPU time the server is billed.
    pub fn server_napi_threads(&self) -> Vec<u32> {
        napi_threads(&self.bed.server_if)
    }

    /// Removes whatever XDP program is attached to the server interface: a
    /// previous server's (knotd leaves its own behind), in any mode.
    pub fn detach_server_xdp(&self) -> Result<(), String> {
        for mode in ["xdp", "xdpgeneric"] {
            run(Command::new("ip").args([
                "-n",
                &self.bed.server_ns,
                "link",
                "set",
                "dev",
                &self.bed.server_if,
                mode,
                "off",
            ]))
            .map_err(|e| format!("cannot detach XDP ({mode}) from {}: {e}", self.bed.server_if))?;
        }
        Ok(())
    }

    /// The XDP attach mode on the server interface as `ip link` shows it
    /// (`xdp` native, `xdpgeneric`), or `None` when nothing is attached.
    pub fn server_xdp_mode(&self) -> Option<String> {
        xdp_mode_of(&self.server_link())
    }

    /// `ip link show` of the server interface (empty if `ip` fails).
    pub fn server_link(&self) -> String {
        Command::new("ip")
            .args(["-n", &self.bed.server_ns, "link", "show", "dev", &self.bed.server_if])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }
}

/// Every CPU as a sysfs CPU mask (hex, CPUs 0..n).
fn all_cpus_mask() -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()).min(63);
    format!("{:x}", (1u64 << cpus) - 1)
}

/// Writes `value` to `/sys/class/net/IFACE/queues/QUEUE/FILE` in `ns`.
fn write_queue_file(ns: &str, iface: &str, queue: &str, file: &str, value: &str) -> Result<(), String> {
    let path = format!("/sys/class/net/{iface}/queues/{queue}/{file}");
    run(Command::new("ip").args(["netns", "exec", ns, "sh", "-c", &format!("echo {value} > {path}")]))
        .map(drop)
        .map_err(|e| format!("cannot write {value} to {path}: {e}"))
}

/// XPS: every CPU sends on TX queue 0 and none on the others, so a
/// kernel-stack server's replies all arrive on the client's RX queue 0,
/// the one kxdpgun reads (see the module comment). AF_XDP servers send on
/// their socket's queue, which is 0 for every query kxdpgun sends.
fn steer_tx_to_queue0(ns: &str, iface: &str, queues: u32) -> Result<(), String> {
    write_queue_file(ns, iface, "tx-0", "xps_cpus", &all_cpus_mask())?;
    for q in 1..queues {
        write_queue_file(ns, iface, &format!("tx-{q}"), "xps_cpus", "0")?;
    }
    Ok(())
}

/// RPS: the server's stack work for frames from RX queue 0 (all of them)
/// spread over every CPU, for unpinned runs that give a kernel-stack
/// server several workers.
fn spread_rx(ns: &str, iface: &str, queues: u32) -> Result<(), String> {
    let all = all_cpus_mask();
    for q in 0..queues {
        write_queue_file(ns, iface, &format!("rx-{q}"), "rps_cpus", &all)?;
    }
    Ok(())
}

/// Kernel threads named `napi/IFACE-ID`. `comm` holds 15 bytes, so long
/// interface names arrive cut: match on the prefix that fits.
fn napi_threads(iface: &str) -> Vec<u32> {
    let wanted = comm_prefix(&format!("napi/{iface}-"));
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end().starts_with(&wanted))
        })
        .collect()
}

/// What of `name` survives in a task's 15-byte `comm`.
fn comm_prefix(name: &str) -> String {
    name.chars().take(15).collect()
}

/// Reads `xdp`/`xdpgeneric`/`xdpdrv` off an `ip link show` line.
pub fn xdp_mode_of(ip_link: &str) -> Option<String> {
    ip_link
        .split_whitespace()
        .find(|word| matches!(*word, "xdp" | "xdpgeneric" | "xdpdrv" | "xdpoffload"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn napi_thread_names_are_cut_like_the_kernel_cuts_them() {
        assert_eq!(comm_prefix("napi/rsbench12345-"), "napi/rsbench123");
        assert_eq!(comm_prefix("napi/rs1-"), "napi/rs1-");
    }

    #[test]
    fn xdp_mode_from_ip_link() {
        let native = "7: rs1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 xdp qdisc noqueue state UP mode DEFAULT \
                      group default qlen 1000\n    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netns c\n    \
                      prog/xdp id 42 tag 0123456789abcdef jited";
        assert_eq!(xdp_mode_of(native).as_deref(), Some("xdp"));
        let generic = "7: rs1@if6: <BROADCAST> mtu 1500 xdpgeneric qdisc noqueue state UP";
        assert_eq!(xdp_mode_of(generic).as_deref(), Some("xdpgeneric"));
        assert_eq!(xdp_mode_of("7: rs1@if6: <BROADCAST> mtu 1500 qdisc noqueue state UP"), None);
    }
}
