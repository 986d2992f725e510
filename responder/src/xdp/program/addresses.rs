//! The steering program's view of its interface: the address maps
//! (`addrs4`, `addrs6`) and the interface MAC (`iface`), kept in step with
//! the interface by whoever holds an [`AddressFilter`] (the data plane's
//! address watcher, see `xdp::address_watch`).
//!
//! Updates add before they remove: an address that stays is never missing
//! from the map, not even for the time between two map updates.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use aya::maps::{Array, HashMap, MapData};

use super::error::XdpProgramError;
use super::{mismatch, take_map, Result, MAX_ADDRS};
use crate::xdp::own_addresses::{map_entries, InterfaceState};

const ACTION: &str = "updating the steered addresses";

struct Maps {
    v4: HashMap<MapData, [u8; 4], u8>,
    v6: HashMap<MapData, [u8; 16], u8>,
    /// `struct iface_mac`: six address bytes, `known`, padding.
    mac: Array<MapData, [u8; 8]>,
    listen: Vec<IpAddr>,
    /// What the maps hold now.
    current: BTreeMap<IpAddr, u8>,
    current_mac: Option<[u8; 6]>,
}

/// A handle on the program's address maps; clones share them.
#[derive(Clone)]
pub struct AddressFilter(Arc<Mutex<Maps>>);

/// What [`AddressFilter::apply`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AddressChanges {
    pub added: Vec<IpAddr>,
    pub removed: Vec<IpAddr>,
    pub mac_changed: bool,
    /// Addresses left out because a family's map was full.
    pub left_out: usize,
}

impl AddressChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && !self.mac_changed && self.left_out == 0
    }
}

impl AddressFilter {
    /// Takes the maps out of the loaded object; `listen` as in
    /// [`super::SteeringConfig::addrs`].
    pub(super) fn take(ebpf: &mut aya::Ebpf, listen: &[IpAddr]) -> Result<AddressFilter> {
        let mac: Array<MapData, [u8; 8]> = take_map(ebpf, "iface")?;
        if mac.len() != 1 {
            return Err(mismatch(format!("map `iface` has {} entries, the loader expects 1", mac.len())));
        }
        Ok(AddressFilter(Arc::new(Mutex::new(Maps {
            v4: take_map(ebpf, "addrs4")?,
            v6: take_map(ebpf, "addrs6")?,
            mac,
            listen: listen.to_vec(),
            current: BTreeMap::new(),
            current_mac: None,
        }))))
    }

    /// Brings the maps in line with `iface`.
    pub fn apply(&self, iface: &InterfaceState) -> Result<AddressChanges> {
        // A panic elsewhere while holding the lock left the maps as valid as
        // any single update does: carry on.
        let mut maps = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        maps.apply(iface)
    }

    /// The listen addresses the filter was loaded with.
    pub fn listen(&self) -> Vec<IpAddr> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).listen.clone()
    }

    /// The addresses the program steers to now.
    pub fn steered(&self) -> Vec<IpAddr> {
        let maps = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        maps.current.iter().filter(|(_, f)| **f & crate::xdp::own_addresses::ADDR_STEER != 0).map(|(a, _)| *a).collect()
    }
}

impl Maps {
    fn apply(&mut self, iface: &InterfaceState) -> Result<AddressChanges> {
        let mut wanted = map_entries(&self.listen, iface);
        let mut changes = AddressChanges::default();
        for v4 in [true, false] {
            let family: Vec<IpAddr> = wanted.keys().filter(|a| a.is_ipv4() == v4).copied().collect();
            for extra in family.iter().skip(MAX_ADDRS as usize) {
                wanted.remove(extra);
                changes.left_out += 1;
            }
        }
        let map_error = |source| XdpProgramError::Map { action: ACTION, source };
        for (addr, flags) in &wanted {
            if self.current.get(addr) == Some(flags) {
                continue;
            }
            match addr {
                IpAddr::V4(a) => self.v4.insert(a.octets(), flags, 0),
                IpAddr::V6(a) => self.v6.insert(a.octets(), flags, 0),
            }
            .map_err(map_error)?;
            if !self.current.contains_key(addr) {
                changes.added.push(*addr);
            }
            self.current.insert(*addr, *flags);
        }
        let stale: Vec<IpAddr> = self.current.keys().filter(|a| !wanted.contains_key(a)).copied().collect();
        for addr in stale {
            match addr {
                IpAddr::V4(a) => self.v4.remove(&a.octets()),
                IpAddr::V6(a) => self.v6.remove(&a.octets()),
            }
            .map_err(map_error)?;
            self.current.remove(&addr);
            changes.removed.push(addr);
        }
        if iface.mac != self.current_mac {
            let mut value = [0u8; 8];
            if let Some(mac) = iface.mac {
                value[..6].copy_from_slice(&mac);
                value[6] = 1; // known
            }
            self.mac.set(0, value, 0).map_err(map_error)?;
            self.current_mac = iface.mac;
            changes.mac_changed = true;
        }
        Ok(changes)
    }
}
