//! Zones counted apart: each zone name gets a slot the first time it is
//! served and keeps it for the life of the process, whatever its index in
//! the tables that follow (a reload may add, drop or reorder zones). The
//! engine carries the map from its table's zone indexes to slots, so a
//! response is counted under its zone's slot with one load.
//!
//! Slots are capped at [`ZONE_SLOTS`]: zones past the cap share the
//! `OTHER_ZONES` slot, and responses from no zone (REFUSED outside every
//! zone, CHAOS, errors before the lookup) go to `NO_ZONE`.

use std::sync::Mutex;

/// Zones counted apart. Each slot costs 8 cells (one per rcode) per serving thread.
pub const ZONE_SLOTS: usize = 64;
/// Zones beyond the first `ZONE_SLOTS` served.
pub const OTHER_ZONES: u16 = ZONE_SLOTS as u16;
/// Responses not from any zone.
pub const NO_ZONE: u16 = OTHER_ZONES + 1;
/// Slots in all, the two shared ones included.
pub const SLOTS: usize = ZONE_SLOTS + 2;

/// A table's zone index → slot map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSlots(Box<[u8]>);

impl ZoneSlots {
    /// Index i in slot i, for a table whose zone names nobody registered
    /// (tests, benches, tools): counted, but not named.
    pub fn identity(zones: usize) -> ZoneSlots {
        ZoneSlots((0..zones).map(|z| z.min(OTHER_ZONES as usize) as u8).collect())
    }

    /// The slot of the table's zone `index`; `NO_ZONE` for an index the table
    /// does not have (`u32::MAX`: the response came from no zone).
    #[inline(always)]
    pub fn slot(&self, index: u32) -> u16 {
        self.0.get(index as usize).map_or(NO_ZONE, |&s| s as u16)
    }
}

/// Which zone name holds each slot; shared by the reloader (which assigns)
/// and the metrics (which name). Locked at reload and at scrape only.
#[derive(Debug, Default)]
pub struct ZoneNames {
    names: Mutex<Vec<String>>,
}

impl ZoneNames {
    /// The map for a table whose zone `i` is `names[i]` (`None`: a zone
    /// whose apex could not be found, counted with the others past the cap).
    pub fn slots_for(&self, names: &[Option<String>]) -> ZoneSlots {
        let mut held = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let slots = names.iter().map(|name| {
            let Some(name) = name else { return OTHER_ZONES as u8 };
            if let Some(slot) = held.iter().position(|n| n == name) {
                return slot as u8;
            }
            if held.len() < ZONE_SLOTS {
                held.push(name.clone());
                return (held.len() - 1) as u8;
            }
            OTHER_ZONES as u8
        });
        ZoneSlots(slots.collect())
    }

    /// Slot i's zone name is the i-th; slots past the end are unused.
    pub fn names(&self) -> Vec<String> {
        self.names.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Option<String>> {
        list.iter().map(|n| Some((*n).to_owned())).collect()
    }

    #[test]
    fn a_zone_keeps_its_slot_across_tables_that_reorder_it() {
        let registry = ZoneNames::default();
        let first = registry.slots_for(&names(&["a.", "b."]));
        assert_eq!((first.slot(0), first.slot(1)), (0, 1));
        let second = registry.slots_for(&names(&["c.", "b."]));
        assert_eq!((second.slot(0), second.slot(1)), (2, 1));
        assert_eq!(registry.names(), ["a.", "b.", "c."]);
        assert_eq!(second.slot(2), NO_ZONE);
        assert_eq!(second.slot(u32::MAX), NO_ZONE);
    }

    #[test]
    fn zones_past_the_cap_share_one_slot() {
        let registry = ZoneNames::default();
        let many: Vec<String> = (0..ZONE_SLOTS + 3).map(|i| format!("z{i}.")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut list = names(&refs);
        list.push(None);
        let slots = registry.slots_for(&list);
        assert_eq!(slots.slot(ZONE_SLOTS as u32 - 1), ZONE_SLOTS as u16 - 1);
        for z in ZONE_SLOTS..ZONE_SLOTS + 4 {
            assert_eq!(slots.slot(z as u32), OTHER_ZONES);
        }
        assert_eq!(ZoneSlots::identity(70).slot(69), OTHER_ZONES);
        assert_eq!(ZoneSlots::identity(70).slot(3), 3);
    }
}
