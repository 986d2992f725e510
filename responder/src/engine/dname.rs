//! DNAME substitution (RFC 6672 §3.2): the DNAME record, then a CNAME from
//! the query name to the substituted name. The CNAME's RDATA is the query's
//! own leading labels followed by a pointer to the DNAME target.

use super::query::Query;
use super::reply::{Failure, Reply};
use crate::table::DnameView;
use crate::wire::dns::{class, RType};
use crate::wire::dns::{rcode, HEADER_LEN, MAX_NAME};

pub fn synthesise(reply: &mut Reply<'_>, q: &Query, skip: usize, d: &DnameView<'_>) -> Result<(), Failure> {
    let owner = HEADER_LEN + q.suffix_start(skip);
    let prefix_len = q.suffix_start(skip);
    let mut rr = [0u8; 12];
    rr[..2].copy_from_slice(&(0xc000 | owner as u16).to_be_bytes());
    rr[2..4].copy_from_slice(&RType::DNAME.0.to_be_bytes());
    rr[4..6].copy_from_slice(&class::IN.to_be_bytes());
    rr[6..10].copy_from_slice(&d.ttl.to_be_bytes());
    rr[10..12].copy_from_slice(&(d.target.len() as u16).to_be_bytes());
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
    rr[..2].copy_from_slice(&[0xc0, HEADER_LEN as u8]);
    rr[2..4].copy_from_slice(&RType::CNAME.0.to_be_bytes());
    rr[10..12].copy_from_slice(&(prefix_len as u16 + 2).to_be_bytes());
    reply.push(&rr, q)?;
    // The leading labels exactly as the client wrote them.
    let mut prefix = [0u8; MAX_NAME];
    prefix[..prefix_len].copy_from_slice(&reply.buf[HEADER_LEN..HEADER_LEN + prefix_len]);
    reply.push(&prefix[..prefix_len], q)?;
    reply.push(&(0xc000 | target_at as u16).to_be_bytes(), q)?;
    reply.ancount = 2;
    Ok(())
}
