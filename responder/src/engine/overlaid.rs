//! The answer path of an engine with an overlay (`table::overlay`): the
//! plain path compiled over both tables, then the SOA numbers of zones
//! whose SOA changed since the base was compiled written over the SOA
//! records the answer copied from base templates (negative answers carry
//! the SOA in every node's templates, so a serial bump would otherwise
//! need every node recompiled). Out of line: an engine without an overlay
//! never comes here.

use super::message::answer_in;
use super::query::Query;
use super::reply::{Failure, Reply};
use super::transport::Transport;
use crate::table::overlay::{Overlaid, SoaPatch, SOA_FIXED_LEN};
use crate::wire::dns::{rcode, rr_field, RType};

/// Most compression pointers followed in one owner name.
const MAX_HOPS: usize = 127;

#[inline(never)]
pub(super) fn answer(
    layers: Overlaid<'_>,
    query: &Query,
    reply: &mut Reply<'_>,
    transport: Transport,
) -> Result<(), u8> {
    answer_in(layers, query, reply, transport)?;
    let patches = layers.overlay.soa_patches();
    if !patches.is_empty() && patch_soas(reply, query, patches).is_err() {
        return Err(rcode::SERVFAIL);
    }
    Ok(())
}

/// Rewrites each SOA record of the answer and authority sections owned by
/// a patched zone's apex: its fixed fields, and in the authority section
/// (a negative answer) its TTL, which follows MINIMUM.
fn patch_soas(reply: &mut Reply<'_>, query: &Query, patches: &[SoaPatch]) -> Result<(), Failure> {
    let mut pos = query.question.end;
    let records = reply.ancount as usize + reply.nscount as usize;
    for i in 0..records {
        let owner = pos;
        let fixed_at = skip_name(reply.buf, pos).ok_or(Failure::Corrupt)?;
        let fixed = reply.buf.get(fixed_at..fixed_at + rr_field::LEN).ok_or(Failure::Corrupt)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlength = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let end = fixed_at + rr_field::LEN + rdlength;
        if end > reply.pos {
            return Err(Failure::Corrupt);
        }
        if rtype == RType::SOA.0 && rdlength >= SOA_FIXED_LEN {
            if let Some(p) = patches.iter().find(|p| name_is(reply.buf, owner, &p.apex)) {
                reply.overwrite(end - SOA_FIXED_LEN, &p.fixed)?;
                if i >= reply.ancount as usize {
                    reply.overwrite(fixed_at + 4, &p.negative_ttl.to_be_bytes())?;
                }
            }
        }
        pos = end;
    }
    Ok(())
}

/// Where the record whose owner name starts at `at` goes on.
fn skip_name(buf: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *buf.get(at)? as usize;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l if l < 64 => at += 1 + l,
            _ => return None,
        }
    }
}

/// Whether the (possibly compressed) name at `at` is `lower`, a lowercase
/// wire name, in any case. Pointers must point back, so the walk ends.
fn name_is(buf: &[u8], mut at: usize, lower: &[u8]) -> bool {
    let mut matched = 0;
    let mut hops = 0;
    loop {
        let Some(&len) = buf.get(at) else { return false };
        if len & 0xc0 == 0xc0 {
            let Some(&low) = buf.get(at + 1) else { return false };
            let target = ((len & 0x3f) as usize) << 8 | low as usize;
            hops += 1;
            if target >= at || hops > MAX_HOPS {
                return false;
            }
            at = target;
            continue;
        }
        let n = 1 + len as usize;
        match (buf.get(at..at + n), lower.get(matched..matched + n)) {
            (Some(label), Some(want)) if label.eq_ignore_ascii_case(want) => {}
            _ => return false,
        }
        if len == 0 {
            return matched + n == lower.len();
        }
        matched += n;
        at += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_followed_through_pointers_in_any_case() {
        // 12: "Example.COM", 25: "www" then a pointer to 12.
        let mut buf = vec![0u8; 12];
        buf.extend_from_slice(b"\x07Example\x03COM\x00\x03www\xc0\x0c\xc0\x19");
        assert!(name_is(&buf, 12, b"\x07example\x03com\x00"));
        assert!(name_is(&buf, 25, b"\x03www\x07example\x03com\x00"));
        assert!(name_is(&buf, 31, b"\x03www\x07example\x03com\x00"));
        assert!(!name_is(&buf, 25, b"\x07example\x03com\x00"));
        assert!(!name_is(&buf, 12, b"\x03com\x00"));
        // A pointer to itself or forward ends the walk, false.
        let looped = [0xc0u8, 0x00];
        assert!(!name_is(&looped, 0, b"\x00"));
        assert_eq!(skip_name(&buf, 25), Some(31));
        assert_eq!(skip_name(&buf, 12), Some(25));
        assert_eq!(skip_name(&[0x40], 0), None);
    }
}
