//! A table file served before its full check (issue 14, fast restart).
//!
//! At start, `serve --table` reads the file and checks only its structure
//! (`Table::open_unchecked`: header, length, the bucket and zone arrays in
//! bounds). Every later read of a table is bounds-checked safe code, so
//! answering from it is sound whatever its bytes: corrupt ones give wrong
//! answers or SERVFAIL, never a panic (`table/unchecked_tests.rs`, the
//! `table_loader` fuzz target's mode bit 1). The full check (the checksum,
//! then every zone, node and response: `table/validate.rs`), seconds for
//! tens of millions of names, runs here on a thread of its own once the
//! server has answered its first query, or [`GRACE`] after the start for a
//! server nobody asks, so that it does not hold up that first answer.
//!
//! A table that fails it is withdrawn: its zones answer SERVFAIL (AA clear),
//! as Knot 3.2 answers a configured zone whose file it could not load (a name
//! in no zone stays REFUSED): the server is still the one named for these
//! zones, it only has no data it can trust, and SERVFAIL is what tells a
//! resolver to ask another of the zone's servers now. The error is logged
//! and counted as a failed reload (`reloads.failed`, `reloads.last_error`).
//! Reloads check a table whole before its swap, as before, so only the
//! table served at start is ever withdrawn.

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::runtime::Runtime;
use super::served::ServedZone;
use crate::engine::Engine;
use crate::table::{Table, TableError};
use crate::zone::{class, Location, Name, RType, Record, Zone};

/// The longest a check waits for a first query before it starts anyway.
pub const GRACE: Duration = Duration::from_secs(5);
/// How often the answer counters are read while waiting.
const POLL: Duration = Duration::from_millis(10);

/// The start's open of a table file: read, with its structure checked.
pub(super) fn open_for_start(path: &Path) -> Result<Table, TableError> {
    let started = Instant::now();
    let table = Table::open_unchecked(path)?;
    tracing::info!(
        "{}: {} bytes read in {:.2?}, served before its full check (checksum and every node), which runs once it answers",
        path.display(),
        table.as_bytes().len(),
        started.elapsed()
    );
    Ok(table)
}

/// Starts the check of the table served at start, if it was a table file.
pub fn start(runtime: &Arc<Runtime>) -> Result<(), String> {
    let Some((path, engine)) = runtime.reloader.take_unchecked() else { return Ok(()) };
    let runtime = Arc::downgrade(runtime);
    std::thread::Builder::new()
        .name("table-check".into())
        .spawn(move || run(&runtime, &path, &engine))
        .map(drop)
        .map_err(|e| format!("cannot start the table check thread: {e}"))
}

fn run(runtime: &Weak<Runtime>, path: &Path, engine: &Weak<Engine>) {
    if !wait_for_first_answer(runtime) {
        return;
    }
    let Some(engine) = engine.upgrade() else {
        tracing::info!("{}: replaced by a reload before its check (that one was checked whole)", path.display());
        return;
    };
    let started = Instant::now();
    let Err(e) = engine.table().check() else {
        tracing::info!("{}: checked in {:.2?} while serving", path.display(), started.elapsed());
        return;
    };
    let error = format!("{}: {e} (found while serving it)", path.display());
    let Some(runtime) = runtime.upgrade() else { return };
    match runtime.reloader.withdraw(&engine, &error) {
        Ok(true) => {
            tracing::error!("{error}: its zones are withdrawn and answer SERVFAIL until a reload serves a table")
        }
        Ok(false) => tracing::warn!("{error}: a reload has replaced it already"),
        Err(why) => tracing::error!("{error}: could not be withdrawn: {why}"),
    }
}

/// Waits until the server has answered a query, or [`GRACE`]; `false`
/// when the server stopped meanwhile.
fn wait_for_first_answer(runtime: &Weak<Runtime>) -> bool {
    let started = Instant::now();
    loop {
        let Some(runtime) = runtime.upgrade() else { return false };
        if runtime.snapshot().total().queries > 0 || started.elapsed() >= GRACE {
            return true;
        }
        drop(runtime);
        std::thread::sleep(POLL);
    }
}

/// The zones of a withdrawn table, each as an expired secondary's (its SOA
/// alone, `Zone::expired`): they compile to SERVFAIL for every name in
/// them. The SOA is a placeholder (MNAME and RNAME the root) with the
/// serial the zone was served with: SERVFAIL answers carry no records.
pub(super) fn withdrawn_zones(served: &[ServedZone]) -> Vec<Zone> {
    let location = Location { file: "(withdrawn table)".into(), line: 0 };
    served
        .iter()
        .filter_map(|z| {
            let origin = Name::parse(&z.name, None).ok()??;
            let mut rdata = vec![0, 0];
            rdata.extend(z.serial.unwrap_or(0).to_be_bytes());
            rdata.extend([0; 16]);
            let soa = Record {
                owner: origin.clone(),
                rtype: RType::SOA,
                class: class::IN,
                ttl: 0,
                rdata: rdata.into(),
                location: location.clone(),
            };
            Some(Zone { origin, records: vec![soa], warnings: Vec::new(), expired: true, derived: None })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{answer_message, Options, Transport};
    use crate::wire::dns::rcode;

    fn rcode_of(engine: &Engine, name: &str) -> u8 {
        let q = crate::engine::tests::query_bytes(name, hickory_proto::rr::RecordType::A, None);
        let mut buf = vec![0u8; 4096];
        buf[..q.len()].copy_from_slice(&q);
        let n = answer_message(engine, &mut buf, q.len(), Transport::Udp).expect("an answer");
        assert!(n >= 12);
        buf[3] & 0x0f
    }

    #[test]
    fn withdrawn_zones_answer_servfail_and_other_names_refused() {
        let served = [
            ServedZone { name: "example.com.".into(), serial: Some(7), rrsig_expires: None },
            ServedZone { name: "child.example.com.".into(), serial: None, rrsig_expires: None },
        ];
        let zones = withdrawn_zones(&served);
        assert_eq!(zones.len(), 2);
        let engine = Engine::new(Table::compile(&zones).unwrap(), Options::default());
        for name in ["example.com.", "www.example.com.", "child.example.com.", "a.b.child.example.com."] {
            assert_eq!(rcode_of(&engine, name), rcode::SERVFAIL, "{name}");
        }
        assert_eq!(rcode_of(&engine, "example.net."), rcode::REFUSED);
        let zones = super::super::served::zones(&engine);
        assert_eq!(zones.iter().map(|z| z.name.as_str()).collect::<Vec<_>>(), ["child.example.com.", "example.com."]);
    }
}
