//! DNAME substitution (RFC 6672 §3.2): the DNAME record, then a CNAME from
//! the query name to the substituted name. The CNAME's RDATA is the query's
//! own leading labels followed by a pointer to the DNAME target.

use super::query::Query;
use super::reply::{Failure, Reply};
use crate::table::DnameView;
use crate::wire::dns::{class, rr_field, write_rr_fixed, RType};
use crate::wire::dns::{rcode, HEADER_LEN, MAX_NAME};

pub fn synthesise(reply: &mut Reply<'_>, q: &Query, skip: usize, d: &DnameView<'_>) -> Result<(), Failure> {
    let owner = HEADER_LEN + q.suffix_start(skip);
    let prefix_len = q.suffix_start(skip);
    // Owned by the query name's suffix: a pointer into the question.
    let mut rr = [0u8; 2 + rr_field::LEN];
    let [p0, p1, fixed @ ..] = &mut rr;
    [*p0, *p1] = (0xc000 | owner as u16).to_be_bytes();
    write_rr_fixed(fixed, RType::DNAME, class::IN, d.ttl, d.target.len() as u16);
    reply.push(&rr, q)?;
    let target_at = reply.pos;
    reply.push(d.target, q)?;
    reply.ancount = 1;
    reply.flags |= crate::wire::dns::flags::AA;
    if prefix_len + d.target.len() > MAX_NAME {
        // The substituted name would be too long (RFC 6672 §2.2).
        reply.set_rcode(rcode::YXDOMAIN);
        return Ok(());
    }
    if target_at > 0x3fff {
        return Err(Failure::Truncated);
    }
    // The CNAME, owned by the query name (a pointer to the question).
    let [p0, p1, fixed @ ..] = &mut rr;
    [*p0, *p1] = [0xc0, HEADER_LEN as u8];
    write_rr_fixed(fixed, RType::CNAME, class::IN, d.ttl, prefix_len as u16 + 2);
    reply.push(&rr, q)?;
    // The leading labels exactly as the client wrote them.
    let mut prefix = [0u8; MAX_NAME];
    prefix[..prefix_len].copy_from_slice(&reply.buf[HEADER_LEN..HEADER_LEN + prefix_len]);
    reply.push(&prefix[..prefix_len], q)?;
    reply.push(&(0xc000 | target_at as u16).to_be_bytes(), q)?;
    reply.ancount = 2;
    Ok(())
}
