//! The DO=1 proofs the compiler cannot write because they depend on the
//! query name (RFC 4035 §3.1.3): for NXDOMAIN, the NSEC covering the name
//! and the one covering the wildcard at its closest encloser; for an
//! answer synthesised from a wildcard, the NSEC covering the name (no
//! closer match exists). Two binary searches over the zone's NSEC chain,
//! no allocation; DO=0 answers never come here.

use super::query::Query;
use super::reply::{Failure, Reply};
use crate::table::{ResponseView, Table};

#[cold]
#[inline(never)]
pub fn answer(
    table: &Table,
    query: &Query,
    reply: &mut Reply<'_>,
    unsigned: &ResponseView<'_>,
    zone: u16,
    encloser: usize,
    wildcard: u32,
) -> Result<(), Failure> {
    let signed = table.response(unsigned.signed).ok_or(Failure::Corrupt)?;
    let name = query.lname();
    let mut proofs = [signed; 2];
    let mut n = 0;
    let covering = table.nsec_proof(zone, name);
    if let Some(p) = covering {
        // A wildcard NODATA already holds the wildcard's own NSEC.
        if !(wildcard != 0 && p.node == wildcard && signed.ancount == 0) {
            proofs[n] = p.response;
            n += 1;
        }
    }
    if wildcard == 0 {
        // No wildcard at the closest encloser either: `*.` + encloser.
        let enc = query.lower.get(encloser..query.question.name_len).ok_or(Failure::Corrupt)?;
        let mut star = [0u8; 255];
        if let Some(w) = star.get_mut(..enc.len() + 2) {
            w[..2].copy_from_slice(b"\x01*");
            w[2..].copy_from_slice(enc);
            if let Some(p) = table.nsec_proof(zone, w) {
                if covering.is_none_or(|c| c.node != p.node) {
                    proofs[n] = p.response;
                    n += 1;
                }
            }
        }
    }
    reply.template_with(query, &signed, &proofs[..n])
}
