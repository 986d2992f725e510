//! The in-kernel floor for `cargo xtask bench` (`ebpf/xdp_reflect.c`): an
//! XDP program that turns every DNS query to the server's address around in
//! the XDP hook (XDP_TX) with no DNS work, the upper bound for tier 0 on the
//! same path. Loaded and attached like the steering program
//! ([`super::program`]), through a bpf_link that detaches when this process
//! exits. Not a serving mode: run by `examples/xdp_floor.rs --floor xdp-tx`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use aya::maps::PerCpuArray;
use aya::programs::xdp::XdpLink;
use aya::programs::Xdp;
use aya::{Ebpf, EbpfLoader};

use super::program::{
    attach_error, interface_index, privilege_error, raise_memlock_limit, require_bpf_link_kernel, test_run_with_output,
    AttachedMode, Result, XdpAction, XdpMode, XdpProgramError,
};

/// Built from `ebpf/xdp_reflect.c` by `build.rs`.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/xdp_reflect.o"));

const PROGRAM_NAME: &str = "xdp_reflect";
/// Entries of the `reflected` map: `REFLECT_MAX_QUEUES` in the C source.
pub const MAX_QUEUES: u32 = 256;

/// The loaded reflector and its attachment, if any.
pub struct XdpReflector {
    ebpf: Ebpf,
    /// Dropping the link detaches the program.
    link: Option<XdpLink>,
}

impl XdpReflector {
    /// Loads the program for queries to `v4` and `v6` (a family given as
    /// `None` is passed to the kernel untouched).
    pub fn load(v4: Option<Ipv4Addr>, v6: Option<Ipv6Addr>) -> Result<XdpReflector> {
        raise_memlock_limit();
        // Network byte order, as the addresses sit in the headers: the
        // program compares the words without swapping.
        let addr4 = u32::from_ne_bytes(v4.map_or([0; 4], |a| a.octets()));
        let octets6 = v6.map_or([0; 16], |a| a.octets());
        let mut addr6 = [0u32; 4];
        for (word, chunk) in addr6.iter_mut().zip(octets6.chunks_exact(4)) {
            *word = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        let mut ebpf = EbpfLoader::new()
            .override_global("reflect_addr4", &addr4, true)
            .override_global("reflect_addr6", &addr6, true)
            .load(OBJECT)
            .map_err(|source| {
                privilege_error("creating the XDP maps", &source).unwrap_or(XdpProgramError::Load { source })
            })?;
        xdp_mut(&mut ebpf)?.load().map_err(|source| {
            privilege_error("loading the XDP program", &source).unwrap_or(XdpProgramError::ProgramLoad { source })
        })?;
        Ok(XdpReflector { ebpf, link: None })
    }

    /// Attaches to `interface` in the calling thread's network namespace;
    /// `Auto` tries native, then generic.
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<AttachedMode> {
        if self.link.is_some() {
            return Err(XdpProgramError::AlreadyAttachedHere { interface: interface.to_owned() });
        }
        require_bpf_link_kernel()?;
        let ifindex = interface_index(interface)?;
        let modes: &[AttachedMode] = match mode {
            XdpMode::Native => &[AttachedMode::Native],
            XdpMode::Generic => &[AttachedMode::Generic],
            XdpMode::Auto => &[AttachedMode::Native, AttachedMode::Generic],
        };
        let mut last = None;
        for &attached in modes {
            let program = xdp_mut(&mut self.ebpf)?;
            match program.attach_to_if_index(ifindex, attached.aya_mode()).and_then(|id| program.take_link(id)) {
                Ok(link) => {
                    self.link = Some(link);
                    return Ok(attached);
                }
                Err(source) => last = Some(attach_error(source, interface, attached)),
            }
        }
        Err(last.unwrap_or(XdpProgramError::XdpUnsupported { interface: interface.to_owned() }))
    }

    /// Frames reflected on each RX queue so far (summed over CPUs), for the
    /// queues that reflected any: shows which queues did the work.
    pub fn reflected(&self) -> Result<Vec<(u32, u64)>> {
        let map = self.ebpf.map("reflected").ok_or_else(|| mismatch("no map `reflected`"))?;
        let counts: PerCpuArray<_, u64> =
            PerCpuArray::try_from(map).map_err(|e| mismatch(&format!("map `reflected`: {e}")))?;
        let mut out = Vec::new();
        for queue in 0..MAX_QUEUES {
            let per_cpu = counts
                .get(&queue, 0)
                .map_err(|source| XdpProgramError::Map { action: "reading the reflected counters", source })?;
            let total = per_cpu.iter().fold(0u64, |sum, n| sum.wrapping_add(*n));
            if total > 0 {
                out.push((queue, total));
            }
        }
        Ok(out)
    }

    /// Runs the program once over `frame` (BPF_PROG_TEST_RUN, as if
    /// received on queue 0): its verdict, the frame it left, and the
    /// kernel's time for the run.
    pub fn test_run(&self, frame: &[u8]) -> Result<(XdpAction, Vec<u8>, Duration)> {
        test_run_with_output(xdp(&self.ebpf)?, frame)
    }
}

fn xdp(ebpf: &Ebpf) -> Result<&Xdp> {
    ebpf.program(PROGRAM_NAME)
        .ok_or_else(|| mismatch(&format!("no program `{PROGRAM_NAME}`")))?
        .try_into()
        .map_err(|_| mismatch(&format!("`{PROGRAM_NAME}` is not an XDP program")))
}

fn xdp_mut(ebpf: &mut Ebpf) -> Result<&mut Xdp> {
    ebpf.program_mut(PROGRAM_NAME)
        .ok_or_else(|| mismatch(&format!("no program `{PROGRAM_NAME}`")))?
        .try_into()
        .map_err(|_| mismatch(&format!("`{PROGRAM_NAME}` is not an XDP program")))
}

fn mismatch(detail: &str) -> XdpProgramError {
    XdpProgramError::ObjectMismatch { detail: detail.to_owned() }
}

#[cfg(test)]
mod tests;
