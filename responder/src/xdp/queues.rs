//! Which NIC queues to serve and which CPUs to serve them from: the
//! interface's RX queue count, `--queues` and `--cpus` parsing, and the
//! NIC's NUMA node with its CPUs (a worker close to its NIC's memory avoids
//! cross-socket traffic for every frame).

use std::fmt;
use std::fs;
use std::io;
use std::str::FromStr;

/// `--queues`: every RX queue of the interface, or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueSelection {
    All,
    List(Vec<u32>),
}

impl FromStr for QueueSelection {
    type Err = String;
    fn from_str(s: &str) -> Result<QueueSelection, String> {
        if s.trim() == "all" {
            return Ok(QueueSelection::All);
        }
        let list = parse_id_list(s).map_err(|e| format!("--queues: {e} (expected all or a list like 0,1,4-7)"))?;
        let list = list.into_iter().map(u32::try_from).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
        Ok(QueueSelection::List(list))
    }
}

impl fmt::Display for QueueSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueSelection::All => f.write_str("all"),
            QueueSelection::List(list) => write_list(f, list),
        }
    }
}

impl QueueSelection {
    /// The queue ids to serve on an interface with `available` RX queues.
    pub fn resolve(&self, available: u32) -> Result<Vec<u32>, String> {
        match self {
            QueueSelection::All => Ok((0..available).collect()),
            QueueSelection::List(list) => {
                if let Some(q) = list.iter().find(|&&q| q >= available) {
                    return Err(format!("queue {q} does not exist: the interface has {available} RX queues"));
                }
                Ok(list.clone())
            }
        }
    }
}

/// `--cpus`: pick CPUs near the NIC automatically, or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuSelection {
    Auto,
    List(Vec<usize>),
}

impl FromStr for CpuSelection {
    type Err = String;
    fn from_str(s: &str) -> Result<CpuSelection, String> {
        if s.trim() == "auto" {
            return Ok(CpuSelection::Auto);
        }
        parse_id_list(s)
            .map(CpuSelection::List)
            .map_err(|e| format!("--cpus: {e} (expected auto or a list like 0,2-3)"))
    }
}

impl fmt::Display for CpuSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuSelection::Auto => f.write_str("auto"),
            CpuSelection::List(list) => write_list(f, list),
        }
    }
}

impl CpuSelection {
    /// One CPU per queue, in queue order. `Auto` takes the NIC's NUMA-local
    /// CPUs (`local`, or `online` when the node is unknown); CPUs are reused
    /// round-robin when there are more queues than CPUs. Every CPU must be
    /// one of `online`.
    pub fn assign(&self, queues: usize, local: Option<&[usize]>, online: &[usize]) -> Result<Vec<usize>, String> {
        let pool: Vec<usize> = match self {
            CpuSelection::List(list) => {
                if let Some(cpu) = list.iter().find(|cpu| !online.contains(cpu)) {
                    return Err(format!("CPU {cpu} is not online (online: {})", ListDisplay(online)));
                }
                list.clone()
            }
            CpuSelection::Auto => {
                let local: Vec<usize> =
                    local.unwrap_or(online).iter().copied().filter(|c| online.contains(c)).collect();
                if local.is_empty() {
                    online.to_vec()
                } else {
                    local
                }
            }
        };
        if pool.is_empty() {
            return Err("no CPU to run workers on".into());
        }
        Ok((0..queues).map(|i| pool[i % pool.len()]).collect())
    }
}

/// Parses `0,2,4-7` into ids in the given order, rejecting duplicates.
fn parse_id_list(s: &str) -> Result<Vec<usize>, String> {
    let mut ids = Vec::new();
    for part in s.split(',').map(str::trim) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (part, part),
        };
        let parse = |t: &str| t.parse::<usize>().map_err(|_| format!("{part:?} is not a number or range"));
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(format!("range {part:?} is reversed"));
        }
        if hi - lo >= 4096 {
            return Err(format!("range {part:?} is implausibly large"));
        }
        for id in lo..=hi {
            if ids.contains(&id) {
                return Err(format!("{id} is listed twice"));
            }
            ids.push(id);
        }
    }
    Ok(ids)
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, list: &[T]) -> fmt::Result {
    for (i, id) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{id}")?;
    }
    Ok(())
}

struct ListDisplay<'a>(&'a [usize]);

impl fmt::Display for ListDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, self.0)
    }
}

/// RX queues an AF_XDP socket can bind to on `iface`: the ethtool channel
/// count (combined + RX-only), or, for drivers without `get_channels`, the
/// `rx-*` entries in sysfs.
pub fn rx_queue_count(iface: &str) -> io::Result<u32> {
    match ethtool_rx_channels(iface) {
        Ok(n) if n > 0 => Ok(n),
        _ => sysfs_rx_queues(iface),
    }
}

fn ethtool_rx_channels(iface: &str) -> io::Result<u32> {
    Ok(super::ethtool::Ethtool::new(iface)?.channels()?.rx_queues())
}

fn sysfs_rx_queues(iface: &str) -> io::Result<u32> {
    let dir = fs::read_dir(format!("/sys/class/net/{iface}/queues")).map_err(|e| {
        io::Error::new(e.kind(), format!("interface {iface}: cannot read /sys/class/net/{iface}/queues: {e}"))
    })?;
    let count = dir.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with("rx-")).count();
    Ok(count as u32)
}

/// The NUMA node the NIC is attached to; `None` when unknown (virtual
/// devices, single-node machines report -1 or have no file).
pub fn nic_numa_node(iface: &str) -> Option<u32> {
    let text = fs::read_to_string(format!("/sys/class/net/{iface}/device/numa_node")).ok()?;
    text.trim().parse::<i64>().ok().and_then(|n| u32::try_from(n).ok())
}

/// CPUs of NUMA node `node`.
pub fn node_cpus(node: u32) -> io::Result<Vec<usize>> {
    let text = fs::read_to_string(format!("/sys/devices/system/node/node{node}/cpulist"))?;
    parse_cpu_list(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// CPUs this process may run on.
pub fn online_cpus() -> Vec<usize> {
    core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect()
}

/// Parses the kernel's cpulist format (`0-3,8-11`, possibly empty).
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    parse_id_list(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_parse_and_resolve() {
        assert_eq!("all".parse::<QueueSelection>().unwrap().resolve(3).unwrap(), vec![0, 1, 2]);
        let list: QueueSelection = "0, 2-3".parse().unwrap();
        assert_eq!(list, QueueSelection::List(vec![0, 2, 3]));
        assert_eq!(list.to_string(), "0,2,3");
        assert_eq!(list.resolve(4).unwrap(), vec![0, 2, 3]);
        assert!(list.resolve(3).unwrap_err().contains("queue 3 does not exist"));
    }

    #[test]
    fn bad_queue_lists_are_refused() {
        for bad in ["", "x", "1,1", "3-1", "-1", "0-99999", "1,,2"] {
            assert!(bad.parse::<QueueSelection>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cpus_parse_and_assign() {
        let online = [0, 1, 2, 3];
        assert_eq!("auto".parse::<CpuSelection>(), Ok(CpuSelection::Auto));
        let list: CpuSelection = "3,1".parse().unwrap();
        assert_eq!(list.assign(3, None, &online).unwrap(), vec![3, 1, 3], "round-robin in the given order");
        assert!("9".parse::<CpuSelection>().unwrap().assign(1, None, &online).unwrap_err().contains("not online"));
        let auto = CpuSelection::Auto;
        assert_eq!(auto.assign(2, Some(&[2, 3]), &online).unwrap(), vec![2, 3], "NUMA-local CPUs first");
        assert_eq!(auto.assign(3, None, &online).unwrap(), vec![0, 1, 2]);
        assert_eq!(auto.assign(1, Some(&[7]), &online).unwrap(), vec![0], "offline local CPUs ignored");
        assert!("1-0".parse::<CpuSelection>().is_err());
    }

    #[test]
    fn kernel_cpu_lists_parse() {
        assert_eq!(parse_cpu_list("0-3,8-9\n").unwrap(), vec![0, 1, 2, 3, 8, 9]);
        assert_eq!(parse_cpu_list("\n").unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn loopback_has_queues() {
        // `lo` exists everywhere; it has one RX queue in sysfs and no ethtool channels.
        assert!(rx_queue_count("lo").unwrap() >= 1);
        assert!(rx_queue_count("no-such-if0").is_err());
    }
}
