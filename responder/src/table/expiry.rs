//! The earliest RRSIG expiration a zone serves, so that `ctl stats` and the
//! metrics show when a zone's signatures run out whether it was loaded from
//! zone files or from a `--table`. The compiler stores it in the zone's
//! record: reading it back from the answers took a walk of every node per
//! zone, O(zones × nodes), which a start of 100,000 zones never finished.
//! That walk stays, in tests, to check the compiler against the answers.

#[cfg(test)]
use super::view::ResponseView;
use super::Table;
#[cfg(test)]
use crate::wire::dns::RType;

impl Table {
    /// The earliest RRSIG expiration (seconds since 1970, RFC 4034 §3.1.5)
    /// among the answers of zone `zone`, or `None` when it serves none.
    pub fn earliest_rrsig_expiry(&self, zone: u32) -> Option<u32> {
        self.zone(zone)?.rrsig_expiry
    }

    /// [`Table::earliest_rrsig_expiry`] read from the answers themselves
    /// (their DO=1 variants and denial proofs).
    #[cfg(test)]
    pub fn scanned_rrsig_expiry(&self, zone: u32) -> Option<u32> {
        let mut earliest: Option<u32> = None;
        let mut see = |r: Option<ResponseView<'_>>| {
            let Some(r) = r else { return };
            let signed = if r.signed != 0 { self.response(r.signed) } else { Some(r) };
            let Some(signed) = signed else { return };
            let total = signed.ancount as usize + signed.nscount as usize;
            let sections =
                std::iter::once((signed.body, total)).chain(signed.chunks().map(|c| (c.bytes, c.arcount as usize)));
            for (bytes, count) in sections {
                for e in expirations(bytes, count) {
                    earliest = Some(earliest.map_or(e, |x| if later(x, e) { e } else { x }));
                }
            }
        };
        let z = self.zone(zone)?;
        see(self.response(z.nxdomain));
        see(self.response(z.nodata));
        if let Some(chain) = self.denial_chain(zone) {
            for i in 0..chain.len() {
                see(chain.entry(i).and_then(|(_, p)| self.response(p)));
            }
        }
        for off in self.bucket_offsets() {
            let Some(node) = self.node_at(off) else { continue };
            if node.zone() != zone {
                continue;
            }
            see(self.response(node.default_response()));
            for (_, r) in node.types() {
                see(self.response(r));
            }
        }
        earliest
    }
}

/// Whether serial-arithmetic time `a` is after `b` (RFC 1982).
#[cfg(test)]
fn later(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The expiration of each RRSIG among the first `count` records of
/// template bytes (names written out or as `c0 00` placeholders).
#[cfg(test)]
fn expirations(b: &[u8], count: usize) -> impl Iterator<Item = u32> + '_ {
    let mut at = 0;
    let mut left = count;
    std::iter::from_fn(move || {
        while left > 0 {
            left -= 1;
            // Owner: labels up to the root or a pointer.
            loop {
                let len = *b.get(at)? as usize;
                if len & 0xc0 == 0xc0 {
                    at += 2;
                    break;
                }
                at += 1 + len;
                if len == 0 {
                    break;
                }
            }
            let rtype = u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]);
            let rdlen = u16::from_be_bytes([*b.get(at + 8)?, *b.get(at + 9)?]) as usize;
            let rdata = b.get(at + 10..at + 10 + rdlen)?;
            at += 10 + rdlen;
            if rtype == RType::RRSIG.0 {
                if let Some(e) = rdata.get(8..12) {
                    return Some(u32::from_be_bytes([e[0], e[1], e[2], e[3]]));
                }
            }
        }
        None
    })
}
