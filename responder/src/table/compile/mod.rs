//! Zones → table. Every answer a name can get is worked out here, once:
//! CNAME chains, wildcard synthesis, referrals with glue, negative answers
//! with the SOA, additional addresses. The runtime only looks up and copies.
//!
//! In the order a compile runs: `build` turns records into the nodes of
//! `nodes` (with `nsec3` taking NSEC3 records out of the name space);
//! `answers` works out what each query type gets at a node, `deny` the
//! proofs a negative answer carries; `emit` writes the table.

use std::borrow::Borrow;

use super::buf::TableBuf;
use super::fasthash::FastMap;
use super::format::*;
use super::header::{seal, Header};
use super::name_index::NameIndex;
use super::nsec3_hash::{decode_base32hex, nsec3_hash, HASH_LEN};
use super::one_or_many::OneOrMany;
use super::phases;
use super::prepare::{prepare, Placer, Prepared};
use super::rdatas::Rdatas;
use super::template::{Owner, Place, QueryContext, RrsetRef, Sections};
use crate::table::denial::{CHAIN_NSEC, CHAIN_NSEC3};
use crate::wire::dns::rcode;
use crate::zone::{FileName, Location, Name, RType, Record, Zone};

mod answers;
mod build;
mod deny;
mod emit;
mod nodes;
mod nsec3;
mod signatures;

use nodes::*;
use nsec3::*;
pub use signatures::rrsig_time;
use signatures::signatures_out_of_date;

/// Longest CNAME chain followed inside served zones (Knot and BIND use
/// similar small limits); a longer chain or a loop ends the answer there.
const MAX_CHAIN: usize = 8;
/// Never present at any node: asks for the "no such type" answer.
const TYPE_NONE: RType = RType(0);

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("zone {0} is given twice")]
    DuplicateZone(String),
    #[error("zone {0} has no SOA record")]
    NoSoa(String),
    #[error("the table would exceed 4 GiB")]
    TooLarge,
    /// `file:line: the answer for OWNER TYPE`, naming its largest RRset.
    #[error("{0} is too large for the table layout")]
    ResponseTooLarge(String),
    /// The mapping the table is written into could not be made.
    #[error("no memory for the table: {0}")]
    Mapping(std::io::Error),
}

struct Compiler<'z> {
    /// Some zone has signatures: answers get a DO=1 variant.
    signed: bool,
    /// Per zone, its NSEC owners in canonical order (RFC 4034 §6.1), as
    /// (canonical sort key, node): the proofs that a name does not exist.
    nsec_chain: Vec<Vec<(Vec<u8>, usize)>>,
    /// Per zone, its NSEC3 records in hash order, kept out of the name
    /// space (their owners are no names of the zone), and the zone's salt
    /// and iterations.
    nsec3: Vec<Nsec3Chain<'z>>,
    zones: Vec<ZoneInfo<'z>>,
    nodes: Vec<Node<'z>>,
    index: NameIndex,
    /// Addresses a served parent holds below a served child's apex (its
    /// glue, occluded by the child), by lowercase owner: the glue of
    /// [`Compiler::parent_referral`], as the parent gives it.
    parent_glue: FastMap<Vec<u8>, Vec<Rrset<'z>>>,
    /// Per node of a zone with an NSEC3 chain, the NSEC3 hash of its name,
    /// hashed once (on all cores) rather than for each proof that names
    /// it; empty when no zone has a chain.
    nsec3_hashes: Vec<[u8; HASH_LEN]>,
    /// The zone files, by the number an RRset's `Loc` gives.
    files: Vec<FileName>,
}

/// Compiles zones into table bytes (see `format` for the layout). Answers
/// that no DNS message can carry are compiled to be truncated, and each
/// RRset that makes one so gets a warning in `warnings`, `file:line:` first.
/// Zones are taken by anything that lends one (`Zone`, `Arc<Zone>`): a
/// reload compiles the zones it keeps without copying them.
pub fn compile<Z: Borrow<Zone>>(zones: &[Z], warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    let zones: Vec<Lent> = zones.iter().map(|z| Lent::whole(z.borrow())).collect();
    compile_lent(&zones, warnings)
}

/// A zone as the compiler reads it: its origin, and records lent from
/// wherever they are kept. A whole [`Zone`] lends its slice; the overlay's
/// partial zones lend the records of the names a change reaches, one by
/// one, from its index (cloning them per apply cost more than compiling).
pub struct Lent<'z> {
    pub origin: &'z Name,
    pub expired: bool,
    /// Records kept together (a zone's, or a few made for the compile)...
    pub slice: &'z [Record],
    /// ...and records picked one by one, after them.
    pub picked: Vec<&'z Record>,
}

impl<'z> Lent<'z> {
    pub fn whole(z: &'z Zone) -> Lent<'z> {
        Lent { origin: &z.origin, expired: z.expired, slice: &z.records, picked: Vec::new() }
    }

    /// The records, the slice's then the picked ones: the order the
    /// compiler sees them in (RRset TTLs and RDATA order come from it).
    fn records(&self) -> impl Iterator<Item = &'z Record> + '_ {
        self.slice.iter().chain(self.picked.iter().copied())
    }
}

/// [`compile`] of lent zones.
pub fn compile_lent(zones: &[Lent], warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    phases::start();
    for z in zones {
        signatures_out_of_date(z, now(), warnings);
    }
    phases::mark("signatures out of date");
    let c = Compiler::build(zones, |zi| zones[zi].records().map(|r| (r, r.rdata.as_slice())))?;
    finish(c, warnings)
}

/// [`compile`] of zones the caller is done with (`responder compile`):
/// their records go while the compiler turns them into nodes, a run at a
/// time, so that the records and the nodes are never all held at once;
/// nor are the records and the table being written. The compiler keeps
/// their RDATA, copied into one block (`RdataCopy`, a seventh of the
/// records' memory at a million names), and its own nodes' names. The
/// same bytes as [`compile`].
pub fn compile_owned(zones: Vec<Zone>, warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    compile_owned_in_runs(zones, RUN, warnings)
}

/// [`compile_owned`], the records handed over `run` at a time (tests
/// cut them finer than [`RUN`]).
pub(crate) fn compile_owned_in_runs(
    mut zones: Vec<Zone>,
    run: usize,
    warnings: &mut Vec<String>,
) -> Result<TableBuf, CompileError> {
    phases::start();
    let copy;
    let mut b = {
        let lent: Vec<Lent> = zones.iter().map(Lent::whole).collect();
        for z in &lent {
            signatures_out_of_date(z, now(), warnings);
        }
        copy = RdataCopy::of(&lent);
        phases::mark("signatures out of date, rdata copied");
        build::Build::start(&lent, |zi| copy.records(zi, &lent[zi]))?
    };
    for (zi_sorted, zi) in b.order().into_iter().enumerate() {
        let mut at = copy.starts[zi];
        in_runs(std::mem::take(&mut zones[zi].records), run, |part| {
            let mut records = WithCopy { records: part.iter(), bytes: &copy.bytes, at };
            b.add(zi_sorted, &mut records);
            at = records.at;
        });
    }
    let c = b.finish();
    drop(zones);
    phases::mark("compile: drop the zones");
    let table = finish(c, warnings)?;
    give_back_free_heap();
    phases::mark("compile: free heap given back");
    Ok(table)
}

/// Gives the system the pages of heap that glibc keeps free once the
/// compiler is gone (its nodes' boxes, the templates' and the name index's
/// blocks): glibc gives back a free block only when it borders the top of
/// the heap, and whether a small live block sits above them is up to how
/// the frees fell. At 1M names the process held 130 or 200 MB after the
/// compile, run to run, and 111 after this; at 4M 526, then 392. Some ms
/// (18 at 4M), walking glibc's free lists: not in [`compile_lent`], which
/// an overlay's small applies in the server run.
fn give_back_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases pages of free heap blocks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Records in a run (4.7 MB of them): how many [`in_runs`] hands over at
/// a time in `responder compile`.
const RUN: usize = 1 << 16;

/// Hands `records` to `add` `run` at a time (the last run fewer), in
/// order, each run dropped once added and the whole pages it filled given
/// back to the system (`MADV_DONTNEED`): what was read of a zone's
/// records is free memory while the rest are read. The pages are given
/// back in the records' own block, not copied out run by run: a run cut
/// into a block of its own (`split_off`, the records' block shrinking
/// behind it) stayed glibc's once freed, below its mapping threshold
/// (which the zone file's text, 31 MB at a million names, had raised
/// when the parse freed it), and the build's peak fell by 11 MB, not 90.
pub(crate) fn in_runs(mut records: Vec<Record>, run: usize, mut add: impl FnMut(&[Record])) {
    assert!(run > 0);
    let (base, len) = (records.as_mut_ptr(), records.len());
    // The vector keeps its block, to free at the end, and no records: a
    // panic in `add` leaks those not dropped yet, and drops none twice.
    // SAFETY: 0 is no more than the capacity, and no element is lost
    // track of: each is dropped below, once.
    unsafe { records.set_len(0) };
    let page = page_size();
    let start = (base as usize).next_multiple_of(page);
    let mut released = start;
    let mut done = 0;
    while done < len {
        let n = run.min(len - done);
        // SAFETY: records `done..done + n` are in the block, initialized
        // (the vector's first `len`) and not dropped yet; nothing else
        // refers to them.
        let records = unsafe { std::slice::from_raw_parts_mut(base.add(done), n) };
        add(records);
        // SAFETY: these records are dropped once and never read again.
        unsafe { std::ptr::drop_in_place(records) };
        done += n;
        // Whole pages of dropped records only.
        let end = (base.wrapping_add(done) as usize) / page * page;
        if end > released {
            // SAFETY: the pages lie inside the block the vector owns, and
            // hold only dropped records, never read again: on a private
            // anonymous mapping (the heap's) they read as zeros next time,
            // and the block's own bookkeeping lies outside them. It only
            // gives memory back: if it fails, nothing is lost.
            unsafe { libc::madvise(released as *mut libc::c_void, end - released, libc::MADV_DONTNEED) };
            released = end;
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf reads a constant of the system.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

/// Writes the table and seals it. What is left of the compiler (its
/// heap blocks) is freed on another core while the checksum is taken
/// here: both are serial, neither needs the other.
fn finish(mut c: Compiler<'_>, warnings: &mut Vec<String>) -> Result<TableBuf, CompileError> {
    let mut table = c.emit(warnings)?;
    phases::mark("emit: tail");
    std::thread::scope(|s| {
        s.spawn(move || drop(c));
        seal(&mut table);
        phases::mark("compile: seal (checksum)");
    });
    phases::mark("compile: drop the compiler");
    Ok(table)
}

fn now() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as u32
}

/// Every record's RDATA, zone after zone in the order of [`Lent::records`],
/// in one block: what the compiler borrows when the records go first.
struct RdataCopy {
    bytes: Vec<u8>,
    /// Where each zone's begins.
    starts: Vec<usize>,
}

impl RdataCopy {
    fn of(zones: &[Lent]) -> RdataCopy {
        let total = zones.iter().flat_map(|z| z.records()).map(|r| r.rdata.len()).sum();
        let mut bytes = Vec::with_capacity(total);
        let mut starts = Vec::with_capacity(zones.len());
        for z in zones {
            starts.push(bytes.len());
            for r in z.records() {
                bytes.extend_from_slice(&r.rdata);
            }
        }
        RdataCopy { bytes, starts }
    }

    /// Zone `zi`'s records (`z`, the zone it was made from), each with its
    /// RDATA as copied.
    fn records<'y, 'a>(&'a self, zi: usize, z: &'y Lent<'y>) -> WithCopy<'a, impl Iterator<Item = &'y Record> + 'y> {
        WithCopy { records: z.records(), bytes: &self.bytes, at: self.starts[zi] }
    }
}

struct WithCopy<'a, I> {
    records: I,
    bytes: &'a [u8],
    at: usize,
}

impl<'a, 'y, I: Iterator<Item = &'y Record>> Iterator for WithCopy<'a, I> {
    type Item = (&'y Record, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.records.next()?;
        let rdata = &self.bytes[self.at..self.at + r.rdata.len()];
        self.at += r.rdata.len();
        Some((r, rdata))
    }
}
