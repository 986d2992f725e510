//! Which template answers a query: the runtime half of the lookup whose
//! other half the compiler did (RFC 1034 §4.3.2 with RFC 4592 wildcards).

use super::query::Query;
use crate::table::overlay::Layers;
use crate::table::{NodeView, ResponseView, Table};
use crate::wire::dns::RType;

pub enum Plan<'t> {
    Template(ResponseView<'t>),
    /// A template whose DO=1 form needs proofs about the query name itself
    /// (RFC 4035 §3.1.3): NXDOMAIN, or an answer through a wildcard.
    Denial {
        response: ResponseView<'t>,
        encloser: Encloser,
    },
    /// The query is below a DNAME: synthesise (RFC 6672). `skip` labels of
    /// the query name sit below the DNAME owner, `node`.
    Dname {
        skip: usize,
        node: NodeView<'t>,
    },
    /// No served zone contains the name.
    Refused,
    /// The table did not hold together here.
    Corrupt,
}

/// The closest encloser of a name its zone lacks, as the plan found it.
#[derive(Clone, Copy)]
pub struct Encloser {
    /// The zone's index.
    pub zone: u32,
    /// Where the closest encloser starts in the lowered query name.
    pub start: usize,
    /// Its node's offset in the plan's table: the proofs the compiler
    /// found for it are read there without looking the name up again.
    pub node: u32,
    /// The wildcard node answering, 0 for NXDOMAIN.
    pub wildcard: u32,
}

/// Also notes in `q.zone` the index of the zone that answers, if one does.
/// Always inlined: the plain answer path keeps it in line, as it was before
/// the DNAME chase became its second caller. The table returned is the one
/// the plan's offsets (a DO=1 variant, a wildcard node, the zone's chain)
/// are read in: the base's, or an overlay's when the node came from there.
#[inline(always)]
pub fn plan<'t, L: Layers<'t>>(layers: L, q: &Query) -> (&'t Table, Plan<'t>) {
    let qtype = q.question.qtype;
    let pick = |table: &'t Table, off: Option<u32>| match off.and_then(|o| table.response(o)) {
        Some(r) => (table, Plan::Template(r)),
        None => (table, Plan::Corrupt),
    };
    if let Some((table, node)) = layers.find_hashed(q.lname(), q.hash) {
        q.zone.set(node.zone());
        let off = if qtype == RType::ANY.0 { node.any_response() } else { node.response_for(qtype) };
        return pick(table, Some(off));
    }
    // The closest encloser decides: referral, DNAME, wildcard or NXDOMAIN.
    let mut start = 0;
    for skip in 1..=q.question.labels {
        start = q.next_label(start);
        let Some((table, node)) = layers.find(&q.lower[start..q.question.name_len]) else { continue };
        q.zone.set(node.zone());
        if node.is_cut() {
            return pick(table, Some(node.default_response()));
        }
        if node.dname().is_some() {
            return (table, Plan::Dname { skip, node });
        }
        let (off, wildcard) = match node.wildcard_child() {
            Some(w) => {
                let Some(wild) = table.node_at(w) else { return (table, Plan::Corrupt) };
                (if qtype == RType::ANY.0 { wild.any_response() } else { wild.response_for(qtype) }, w)
            }
            None => match table.zone(node.zone()) {
                Some(z) => (z.nxdomain, 0),
                None => return (table, Plan::Corrupt),
            },
        };
        return match table.response(off) {
            Some(response) => {
                let encloser = Encloser { zone: node.zone(), start, node: node.offset() as u32, wildcard };
                (table, Plan::Denial { response, encloser })
            }
            None => (table, Plan::Corrupt),
        };
    }
    (layers.base(), Plan::Refused)
}
