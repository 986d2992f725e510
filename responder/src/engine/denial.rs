//! The DO=1 proofs the compiler cannot write because they depend on the
//! query name (RFC 4035 §3.1.3, RFC 5155 §7.2). With NSEC: for NXDOMAIN,
//! the NSEC covering the name and the one covering the wildcard at its
//! closest encloser; for a wildcard answer, the NSEC covering the name.
//! With NSEC3, the closest encloser proof: the NSEC3 matching the closest
//! encloser, the one covering the next closer name, and for NXDOMAIN the
//! one covering the wildcard; a wildcard answer needs only the next closer
//! one. The compiler found the proofs about each possible closest encloser
//! (the entry covering its wildcard, its own NSEC3); what is left is a
//! binary search over the zone's chain for the one name it could not know
//! (with NSEC3, after one SHA-1 hash, which the batch prefetcher may have
//! taken already), no allocation; DO=0 answers never come here.

use super::prehashed::Searched;
use super::query::Query;
use super::reply::{Failure, Names, Reply};
use super::resolve::Encloser;
use crate::table::denial::{Chain, Proof};
use crate::table::{ResponseView, Table};

/// What a denial plan answers: the proofs for a DO=1 query of a signed
/// zone, else the unsigned template. Out of line so that the plain answer
/// path keeps its shape.
#[inline(never)]
pub fn answer_or_template(
    table: &Table,
    query: &Query,
    reply: &mut Reply<'_>,
    unsigned: &ResponseView<'_>,
    encloser: Encloser,
) -> Result<(), Failure> {
    answer_or_template_at(table, query, query, reply, unsigned, encloser)
}

/// [`answer_or_template`] for a name at `names` in the message (see
/// [`Names`]): the question's, or a DNAME's target (`dname`).
#[inline(always)]
pub fn answer_or_template_at<N: Names>(
    table: &Table,
    query: &Query,
    names: &N,
    reply: &mut Reply<'_>,
    unsigned: &ResponseView<'_>,
    encloser: Encloser,
) -> Result<(), Failure> {
    if unsigned.signed != 0 && query.edns.is_some_and(|e| e.dnssec_ok) {
        answer(table, query, names, reply, unsigned, encloser)
    } else {
        reply.template_at(query, names, unsigned, &[])
    }
}

/// The proofs themselves: a binary search over the zone's chain.
#[cold]
#[inline(never)]
fn answer<N: Names>(
    table: &Table,
    query: &Query,
    names: &N,
    reply: &mut Reply<'_>,
    unsigned: &ResponseView<'_>,
    at: Encloser,
) -> Result<(), Failure> {
    let Encloser { zone, start: encloser, node: encloser_node, wildcard } = at;
    let signed = table.response(unsigned.signed).ok_or(Failure::Corrupt)?;
    let Some(chain) = table.denial_chain(zone) else { return reply.template_at(query, names, &signed, &[]) };
    let end = query.question.name_len;
    let name = query.lname();
    let ce = query.lower.get(encloser..end).ok_or(Failure::Corrupt)?;
    let nodata = wildcard != 0 && signed.ancount == 0;
    // The proofs about the closest encloser, as the compiler found them
    // (FLAG_DENIAL) at the node the plan found, else searched for by name.
    // A wildcard answer needs neither.
    let node = if wildcard == 0 || nodata { table.node_at(encloser_node).filter(|n| n.zone() == zone) } else { None };
    // Both read in one place, where the node's fields are worked out once.
    let (star_at, ce_at) = node.map_or((None, None), |n| (n.denial_proof(0), n.denial_proof(1)));
    let star_proof = || match star_at {
        Some(i) => chain.proof_at(table, i),
        None => wildcard_proof(table, &chain, ce),
    };
    let ce_proof = || match ce_at {
        Some(i) => chain.proof_at(table, i),
        None => chain.proof(table, ce),
    };
    let mut c = Collected { proofs: [None; 3], n: 0, ids: [u32::MAX; 4], seen: 0 };
    if nodata {
        // A wildcard NODATA already holds the wildcard's own NSEC/NSEC3.
        if chain.is_nsec3() {
            c.add(star_proof(), false);
        } else {
            c.ids[0] = wildcard;
            c.seen = 1;
        }
    }
    if wildcard != 0 && !nodata && !chain.is_nsec3() && query.question.qtype == crate::wire::dns::RType::NSEC.0 {
        // The wildcard's own NSEC answers the question: not repeated as
        // the proof that covers the name (as Knot answers).
        c.ids[0] = wildcard;
        c.seen = 1;
    }
    if chain.is_nsec3() {
        // The next closer name: one label more than the closest encloser.
        let mut next = 0;
        while next < encloser {
            let after = next + 1 + query.lower[next] as usize;
            if after >= encloser {
                break;
            }
            next = after;
        }
        if wildcard == 0 || nodata {
            c.add(ce_proof(), true);
        }
        let next_closer = query.lower.get(next..end).ok_or(Failure::Corrupt)?;
        // Hashed by the batch prefetcher, with the entry it found, when
        // this query came in a batch.
        let to = Searched { table: table.id(), zone };
        let proof = match query.prehashed.find(next_closer, chain.salt, chain.iterations, to) {
            // Found by a search of this very chain: what a search finds again.
            // (A `match`, not `or_else`: that was a call of its own.)
            Some(h) if h.searched => match chain.proof_at(table, h.entry) {
                Some(p) => Some(p),
                None => chain.proof_of_hash(table, &h.hash),
            },
            Some(h) => chain.proof_of_hash_hinted(table, &h.hash, h.entry),
            None => chain.proof_of_hash(table, &chain.hash(next_closer)),
        };
        c.add(proof, true);
    } else {
        c.add(chain.proof(table, name), true);
    }
    if wildcard == 0 {
        c.add(star_proof(), true);
    }
    reply.template_at(query, names, &signed, &c.proofs[..c.n])
}

/// The entry covering `*.` + the closest encloser `ce`, when that fits a
/// name.
fn wildcard_proof<'t>(table: &'t Table, chain: &Chain<'t>, ce: &[u8]) -> Option<Proof<'t>> {
    let mut star = [0u8; 255];
    let star = star.get_mut(..ce.len() + 2)?;
    star[..2].copy_from_slice(b"\x01*");
    star[2..].copy_from_slice(ce);
    chain.proof(table, star)
}

/// The proofs to send, each once: one NSEC can cover two names.
struct Collected<'t> {
    /// Options, not views: filling three views up front (with the signed
    /// template, to be overwritten) cost more than the rest of the struct.
    proofs: [Option<ResponseView<'t>>; 3],
    n: usize,
    ids: [u32; 4],
    seen: usize,
}

impl<'t> Collected<'t> {
    /// In line: out of line, the proof came to it through memory.
    #[inline(always)]
    fn add(&mut self, p: Option<Proof<'t>>, send: bool) {
        let Some(p) = p else { return };
        if self.ids[..self.seen].contains(&p.id) || self.seen == self.ids.len() {
            return;
        }
        self.ids[self.seen] = p.id;
        self.seen += 1;
        if send && self.n < self.proofs.len() {
            self.proofs[self.n] = Some(p.response);
            self.n += 1;
        }
    }
}
