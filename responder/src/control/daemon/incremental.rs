//! A reload whose zone files changed a little, or a secondary zone's new
//! copy (an IXFR, or an AXFR that differs a little), served as change sets
//! applied over the engine serving now (`table::overlay`) instead of a
//! full compile: the difference of each changed zone from the version the
//! table holds becomes an overlay over the table. The policy falls back to the full
//! compile when the zone set itself changed, when an apply refuses
//! (`overlay::Fallback`: a signed zone, a delegation, the SOA's names...),
//! or when more than 1/[`MAX_SHARE`] of the records changed since the last
//! full compile (the overlay would be a second table, probed first).

use std::sync::Arc;

use crate::engine::Engine;
use crate::table::overlay::{apply, Change, ZoneIndex};
use crate::zone::Zone;

/// A zone file as loaded: its `--zone` argument and its zone.
pub(super) type FileZone = (String, Arc<Zone>);

/// A zone as the table compiles it, in table order: where it comes from
/// (a file's `--zone` argument, or [`SECONDARY`]) and the zone.
pub(super) type Served<'a> = (&'a str, &'a Arc<Zone>);

/// Where a secondary zone comes from, for [`Served`].
pub(super) const SECONDARY: &str = "secondary";

/// Changed records since the last full compile, at most this fraction of all.
pub const MAX_SHARE: usize = 8;

/// The zones as the serving engine has them, kept between reloads for the
/// next change set; built at the first reload that can use it (a walk of
/// every record, off the serving path) and dropped at every full compile.
pub(super) struct Incremental {
    index: ZoneIndex,
    /// Records in the zones at the last full compile.
    base: usize,
    /// Records deleted or added since.
    changed: usize,
}

/// What an overlay reload did.
pub(super) struct Applied {
    pub engine: Engine,
    /// Zones that changed.
    pub zones: usize,
    /// Records deleted and added.
    pub records: usize,
    /// Names compiled anew.
    pub compiled: usize,
}

/// `new` (the zones as they are now: files as read now, secondaries as
/// their threads left them) applied over `current`, served from `old`:
/// `Ok(None)` when the zone set is not the same (a full compile is the
/// only way), `Err` with the reason the policy or an apply fell back.
/// `state` is the index for `old` (built here when `None`), left `None`
/// on a fallback.
pub(super) fn apply_zones(
    state: &mut Option<Incremental>,
    current: &Engine,
    old: &[Served<'_>],
    new: &[Served<'_>],
) -> Result<Option<Applied>, String> {
    // An expired secondary answers SERVFAIL from templates of its own,
    // which only a full compile writes: expiring or coming back is a new set.
    let same = |a: &Served<'_>, b: &Served<'_>| a.0 == b.0 && a.1.origin == b.1.origin && a.1.expired == b.1.expired;
    let same_set = old.len() == new.len() && old.iter().zip(new).all(|(a, b)| same(a, b));
    if !same_set {
        return Ok(None);
    }
    let changes: Vec<Change> = old
        .iter()
        .zip(new)
        .enumerate()
        .filter(|(_, (o, n))| !Arc::ptr_eq(o.1, n.1))
        .map(|(at, (o, n))| Change::diff(at, o.1, n.1))
        .filter(|c| !c.deletes.is_empty() || !c.adds.is_empty())
        .collect();
    let records: usize = changes.iter().map(|c| c.deletes.len() + c.adds.len()).sum();
    if records == 0 {
        // Nothing changed: the engine serving now, as it is.
        return Ok(Some(Applied {
            engine: current.with_overlay(current.overlay_shared()),
            zones: 0,
            records,
            compiled: 0,
        }));
    }
    // The policy first: the index is not built for a change it refuses.
    let (base, changed) = match state {
        Some(st) => (st.base, st.changed),
        None => (old.iter().map(|(_, z)| z.records.len()).sum(), 0),
    };
    if (changed + records) * MAX_SHARE > base {
        *state = None;
        return Err(format!(
            "{} records changed since the last full compile, more than 1/{MAX_SHARE} of {base}",
            changed + records
        ));
    }
    let st = state.get_or_insert_with(|| {
        let zones: Vec<&Zone> = old.iter().map(|(_, z)| &***z).collect();
        Incremental { index: ZoneIndex::build(&zones), base, changed: 0 }
    });
    let mut overlay = current.overlay_shared();
    let mut compiled = 0;
    for change in &changes {
        match apply(&mut st.index, current.table(), overlay.as_deref(), change) {
            Ok((next, applied)) => {
                overlay = Some(Arc::new(next));
                compiled += applied.compiled;
            }
            Err(why) => {
                // The index holds this change and the ones before: it no
                // longer matches what serves. The full compile starts afresh.
                *state = None;
                return Err(why.to_string());
            }
        }
    }
    st.changed += records;
    Ok(Some(Applied { engine: current.with_overlay(overlay), zones: changes.len(), records, compiled }))
}
