//! Which answers tier 0 holds, each one produced by the engine itself for a
//! canonical query, so that it is byte for byte the answer a worker gives.
//!
//! The engine's answer to a query depends on the query only through the ID,
//! RD and CD (copied), the question (echoed as sent, so its case; its
//! length, which places the compression pointers, is the key's), the
//! qtype, the EDNS shape (none, DO=0, DO=1) and the space the client
//! offers. The first three the program puts back per query; the rest are
//! the key, and the space is `min_udp`: an answer that fits in N bytes is
//! the same for every limit of at least N (the template writer takes each
//! section in order and each optional one only if it fits), which
//! [`entry`] checks by asking again at exactly N.

use super::layout::{Answer, CounterCells, Key, Shape, ANSWER_MAX, MAX_ENTRIES, NAME_MAX};
use crate::engine::{answer_message, Engine, Transport};
use crate::stats::breakdown::{qtype as qtype_cells, size};
use crate::wire::dns::{flags, rcode, RType, HEADER_LEN};

/// Which names get tier-0 answers (`serve --xdp-answers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// None: the program answers nothing itself.
    #[default]
    Off,
    /// Each zone's apex, every type it has.
    Apex,
    /// The apex, and each delegation's NS, DS, A and AAAA at its cut.
    ApexAndDelegations,
}

impl std::str::FromStr for Selection {
    type Err = String;
    fn from_str(s: &str) -> Result<Selection, String> {
        match s {
            "off" => Ok(Selection::Off),
            "apex" => Ok(Selection::Apex),
            "apex+delegations" => Ok(Selection::ApexAndDelegations),
            _ => Err(format!("--xdp-answers must be off, apex or apex+delegations, not {s:?}")),
        }
    }
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Selection::Off => "off",
            Selection::Apex => "apex",
            Selection::ApexAndDelegations => "apex+delegations",
        })
    }
}

/// Queries at a cut get the referral whatever their type but DS: these
/// are the ones resolvers send to the cut's own name.
const DELEGATION_TYPES: [RType; 4] = [RType::NS, RType::DS, RType::A, RType::AAAA];

/// The EDNS size of the canonical query: the most the engine will use.
const CANONICAL_UDP: u16 = u16::MAX;

/// One answer, keyed without a generation (the maps set it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    pub answer: Answer,
}

/// Everything tier 0 can hold for one engine.
#[derive(Clone, Debug, Default)]
pub struct Compiled {
    pub entries: Vec<Entry>,
    /// Keys left to the engine: truncated, too long, a name over
    /// [`NAME_MAX`], or beyond one generation's share of the map.
    pub skipped: usize,
}

/// The entries for `selection` from `engine`, in a stable order (by name,
/// qtype, shape).
pub fn compile(engine: &Engine, selection: Selection) -> Compiled {
    let mut compiled = Compiled::default();
    if selection == Selection::Off {
        return compiled;
    }
    let table = engine.table();
    let mut names: Vec<(Vec<u8>, Vec<u16>)> = Vec::new();
    for node in table.bucket_offsets().filter_map(|off| table.node_at(off)) {
        let types: Vec<u16> = node.types().map(|(t, _)| t).collect();
        let has = |t: RType| types.contains(&t.0);
        let qtypes: Vec<u16> = if !node.is_cut() && has(RType::SOA) {
            types.iter().copied().filter(|&t| !RType(t).is_meta()).collect()
        } else if selection == Selection::ApexAndDelegations
            && node.is_cut()
            && !has(RType::SOA)
            && !below_cut(table, node.name())
        {
            DELEGATION_TYPES.iter().map(|t| t.0).collect()
        } else {
            continue;
        };
        names.push((node.name().to_vec(), qtypes));
    }
    names.sort();
    let room = (MAX_ENTRIES / 2) as usize;
    for (name, mut qtypes) in names {
        qtypes.sort_unstable();
        for qtype in qtypes {
            for shape in Shape::ALL {
                match entry(engine, &name, qtype, shape) {
                    Some(e) if compiled.entries.len() < room => compiled.entries.push(e),
                    _ => compiled.skipped += 1,
                }
            }
        }
    }
    compiled
}

/// Whether the nearest ancestor of `name` the table has is itself at or
/// below a cut: `name` is then glue or occluded, not a delegation point.
fn below_cut(table: &crate::table::Table, name: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&len) = name.get(at).filter(|&&len| len != 0) {
        at += 1 + len as usize;
        if let Some(ancestor) = name.get(at..).and_then(|suffix| table.find(suffix)) {
            return ancestor.is_cut();
        }
    }
    false
}

/// The canonical query: ID 0, no flags, `name` (lowercase) `qtype` IN, and
/// for an EDNS shape a plain OPT offering `udp`.
pub fn canonical_query(name: &[u8], qtype: u16, shape: Shape, udp: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(HEADER_LEN + name.len() + 4 + 11);
    q.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, (shape != Shape::NoEdns) as u8]);
    q.extend_from_slice(name);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    if shape != Shape::NoEdns {
        let dnssec_ok = if shape == Shape::EdnsDo { 0x80 } else { 0 };
        q.extend_from_slice(&[0, 0, 41]);
        q.extend_from_slice(&udp.to_be_bytes());
        q.extend_from_slice(&[0, 0, dnssec_ok, 0, 0, 0]);
    }
    q
}

fn ask(engine: &Engine, query: &[u8]) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; u16::MAX as usize];
    buf.get_mut(..query.len())?.copy_from_slice(query);
    let n = answer_message(engine, &mut buf, query.len(), Transport::Udp)?;
    buf.truncate(n);
    Some(buf)
}

/// The entry for one key, or `None` when the engine's answer is not one
/// tier 0 gives (truncated, a server failure, too long, an odd name).
pub fn entry(engine: &Engine, name: &[u8], qtype: u16, shape: Shape) -> Option<Entry> {
    if name.is_empty() || name.len() > NAME_MAX || RType(qtype).is_meta() {
        return None;
    }
    let answer = ask(engine, &canonical_query(name, qtype, shape, CANONICAL_UDP))?;
    let question_end = HEADER_LEN + name.len() + 4;
    if answer.len() <= question_end || answer.get(HEADER_LEN..HEADER_LEN + name.len())? != name {
        return None;
    }
    let f = u16::from_be_bytes([answer[2], answer[3]]);
    if f & flags::TC != 0 || f & flags::RCODE_MASK == rcode::SERVFAIL as u16 || f & (flags::RD | flags::CD) != 0 {
        return None;
    }
    let rest = &answer[question_end..];
    if rest.len() > ANSWER_MAX {
        return None;
    }
    let min_udp = match shape {
        Shape::NoEdns => 0,
        _ if answer.len() <= 512 => 0,
        _ => {
            // The claim above, checked: the same answer at the least room it needs.
            let at_least = u16::try_from(answer.len()).ok()?;
            if ask(engine, &canonical_query(name, qtype, shape, at_least))? != answer {
                return None;
            }
            at_least
        }
    };
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&answer[..HEADER_LEN]);
    header[..2].fill(0);
    let sum = fold(
        be_sum(&header, 0)
            + be_sum(&answer[HEADER_LEN + name.len()..question_end], HEADER_LEN + name.len())
            + be_sum(rest, question_end),
    );
    let mut key = Key { generation: 0, shape: shape as u8, qtype, name: [0; NAME_MAX] };
    key.name[..name.len()].copy_from_slice(name);
    let query_len = HEADER_LEN + name.len() + 4 + if shape == Shape::NoEdns { 0 } else { 11 };
    let cells = counter_cells(qtype, f & flags::RCODE_MASK, query_len, answer.len());
    let mut value =
        Answer { name: key.name, header, min_udp, rest_len: rest.len() as u16, sum, cells, rest: [0; ANSWER_MAX] };
    value.rest[..rest.len()].copy_from_slice(rest);
    Some(Entry { key, answer: value })
}

/// The cells `tier0_count_sent` adds one to, as `tier0_count` in
/// `ebpf/tier0_stats.h` works them out: the breakdown's qtype, the rcode (0
/// to 5 as themselves, anything else `other`, the last), the query's and the
/// answer's size buckets. Both lengths are fixed by the key: the query is
/// the header, the name, qtype and class and, with EDNS, a plain OPT.
fn counter_cells(qtype: u16, rcode: u16, query_len: usize, response_len: usize) -> CounterCells {
    CounterCells {
        qtype: qtype_cells::index(qtype) as u8,
        rcode: if rcode <= 5 { rcode as u8 } else { 7 },
        query_size: size::bucket(query_len) as u8,
        response_size: size::bucket(response_len) as u8,
    }
}

/// The sum of `bytes` as big-endian 16-bit words, `bytes` starting at
/// `offset` of the message (an odd offset makes its first byte a low one).
pub fn be_sum(bytes: &[u8], offset: usize) -> u64 {
    bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| if (offset + i).is_multiple_of(2) { u64::from(b) << 8 } else { u64::from(b) })
        .sum()
}

pub fn fold(mut sum: u64) -> u32 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u32
}

#[cfg(test)]
mod tests;
