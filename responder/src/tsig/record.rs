//! The TSIG record (RFC 8945 §4.2): finding it as a message's last record,
//! reading its fields, writing one. Names inside it are read whatever their
//! case or compression and kept lowered and uncompressed, the form the MAC
//! covers (§4.3.3); the records this server writes are never compressed.

use crate::wire::dns::{self, class, RType};

/// The longest wire name, root label included.
const NAME_MAX: usize = dns::MAX_NAME;

/// Time Signed is 48 bits of seconds.
pub const TIME_MAX: u64 = (1 << 48) - 1;

/// A domain name read out of a message, lowered and uncompressed.
#[derive(Clone, Copy)]
pub struct WireName {
    bytes: [u8; NAME_MAX],
    len: usize,
}

impl WireName {
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub fn from_slice(name: &[u8]) -> Option<WireName> {
        let mut out = WireName { bytes: [0; NAME_MAX], len: name.len() };
        out.bytes.get_mut(..name.len())?.copy_from_slice(name);
        Some(out)
    }
}

impl std::fmt::Debug for WireName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", crate::tsig::presentation(self.as_slice()))
    }
}

/// A TSIG record found at the end of a message.
#[derive(Debug, Clone, Copy)]
pub struct Record<'m> {
    /// Offset of the record (its owner name): the message the MAC covers
    /// ends here.
    pub start: usize,
    pub key_name: WireName,
    pub algorithm: WireName,
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: &'m [u8],
    pub original_id: u16,
    pub error: u16,
    pub other: &'m [u8],
}

/// Why a message's TSIG could not be read: either way a FORMERR (RFC 8945
/// §5.2: a TSIG that is not the last record, or that does not parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The TSIG record of `m`, if its last record is one. `Ok(None)`: the
/// message is not signed (or does not parse far enough to tell: the
/// caller's own parser reports that). `Err`: a TSIG that is malformed, not
/// last, or followed by trailing bytes.
pub fn locate(m: &[u8]) -> Result<Option<Record<'_>>, Malformed> {
    let Some(header) = dns::Header::new_checked(m) else { return Ok(None) };
    let mut pos = dns::HEADER_LEN;
    for _ in 0..header.qdcount() {
        let Some(after) = dns::skip_name(m, pos) else { return Ok(None) };
        pos = after + dns::question_field::LEN;
    }
    let total = header.ancount() as usize + header.nscount() as usize + header.arcount() as usize;
    if header.arcount() == 0 {
        return Ok(None);
    }
    let mut last = None;
    for i in 0..total {
        let Some(rr) = dns::parse_rr(m, pos) else { return Ok(None) };
        if rr.rtype == RType::TSIG.0 {
            if i + 1 != total {
                return Err(Malformed);
            }
            last = Some(rr);
        }
        pos = rr.end;
    }
    let Some(rr) = last else { return Ok(None) };
    if rr.end != m.len() || rr.class != class::ANY || rr.ttl != 0 {
        return Err(Malformed);
    }
    let (key_name, _) = read_name(m, rr.start).ok_or(Malformed)?;
    parse_rdata(m, rr.start, key_name, rr.rdata, rr.end)
}

/// Reads the RDATA at `m[rdata..end]`.
fn parse_rdata(
    m: &[u8],
    start: usize,
    key_name: WireName,
    rdata: usize,
    end: usize,
) -> Result<Option<Record<'_>>, Malformed> {
    let (algorithm, mut pos) = read_name(m, rdata).ok_or(Malformed)?;
    let body = m.get(..end).ok_or(Malformed)?;
    let mut take = |n: usize| -> Result<&[u8], Malformed> {
        let bytes = body.get(pos..pos + n).ok_or(Malformed)?;
        pos += n;
        Ok(bytes)
    };
    let t = take(6)?;
    let time_signed = u64::from_be_bytes([0, 0, t[0], t[1], t[2], t[3], t[4], t[5]]);
    let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let fudge = be16(take(2)?);
    let mac_len = be16(take(2)?) as usize;
    let mac = take(mac_len)?;
    let original_id = be16(take(2)?);
    let error = be16(take(2)?);
    let other_len = be16(take(2)?) as usize;
    let other = take(other_len)?;
    if pos != end {
        return Err(Malformed);
    }
    Ok(Some(Record { start, key_name, algorithm, time_signed, fudge, mac, original_id, error, other }))
}

/// Reads the possibly compressed name at `pos`, lowered; returns it and the
/// offset after it where it sits. Pointers must point backwards, so a loop
/// of them ends.
pub fn read_name(m: &[u8], mut pos: usize) -> Option<(WireName, usize)> {
    let mut out = WireName { bytes: [0; NAME_MAX], len: 0 };
    let mut after = None;
    loop {
        let len = *m.get(pos)? as usize;
        match len {
            0 => {
                *out.bytes.get_mut(out.len)? = 0;
                out.len += 1;
                return Some((out, after.unwrap_or(pos + 1)));
            }
            1..=63 => {
                let label = m.get(pos..pos + 1 + len)?;
                // Room for this label and the root after it.
                out.bytes.get_mut(out.len..out.len + 1 + len + 1)?;
                for (d, s) in out.bytes[out.len..].iter_mut().zip(label) {
                    *d = s.to_ascii_lowercase();
                }
                out.len += 1 + len;
                pos += 1 + len;
            }
            0xc0..=0xff => {
                let target = ((len & 0x3f) << 8) | *m.get(pos + 1)? as usize;
                if target >= pos {
                    return None;
                }
                after.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return None,
        }
    }
}

/// The fields of a TSIG record to write.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub key_name: &'a [u8],
    pub algorithm: &'a [u8],
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: &'a [u8],
    pub original_id: u16,
    pub error: u16,
    pub other: &'a [u8],
}

impl Fields<'_> {
    /// The record's length on the wire.
    pub fn wire_len(&self) -> usize {
        self.key_name.len() + dns::rr_field::LEN + self.rdata_len()
    }

    fn rdata_len(&self) -> usize {
        self.algorithm.len() + 6 + 2 + 2 + self.mac.len() + 2 + 2 + 2 + self.other.len()
    }

    /// Writes the record at `out[at..]`; returns its end, `None` if it does
    /// not fit.
    pub fn write(&self, out: &mut [u8], at: usize) -> Option<usize> {
        // Names read back uncompressed can make RDATA longer than it came.
        let rdlength = u16::try_from(self.rdata_len()).ok()?;
        let end = at.checked_add(self.wire_len())?;
        let dst = out.get_mut(at..end)?;
        let mut w = Writer { dst, pos: 0 };
        w.put(self.key_name);
        let mut fixed = [0u8; dns::rr_field::LEN];
        dns::write_rr_fixed(&mut fixed, RType::TSIG, class::ANY, 0, rdlength);
        w.put(&fixed);
        w.put(self.algorithm);
        w.put(&self.time_signed.to_be_bytes()[2..]);
        w.put(&self.fudge.to_be_bytes());
        w.put(&(self.mac.len() as u16).to_be_bytes());
        w.put(self.mac);
        w.put(&self.original_id.to_be_bytes());
        w.put(&self.error.to_be_bytes());
        w.put(&(self.other.len() as u16).to_be_bytes());
        w.put(self.other);
        Some(end)
    }
}

struct Writer<'a> {
    dst: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    /// The caller sized `dst` to the record exactly.
    fn put(&mut self, bytes: &[u8]) {
        self.dst[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_with(records: &[&[u8]], ar: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&ar.to_be_bytes());
        m.extend_from_slice(b"\x07example\x00\x00\x06\x00\x01");
        for r in records {
            m.extend_from_slice(r);
        }
        m
    }

    fn tsig(mac: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 512];
        let f = Fields {
            key_name: b"\x03Key\x00",
            algorithm: b"\x0bHMAC-SHA256\x00",
            time_signed: 0x0102_0304_0506,
            fudge: 300,
            mac,
            original_id: 0x1234,
            error: 0,
            other: b"",
        };
        let end = f.write(&mut out, 0).unwrap();
        assert_eq!(end, f.wire_len());
        out.truncate(end);
        out
    }

    #[test]
    fn a_written_record_reads_back_lowered() {
        let m = message_with(&[&tsig(&[7; 32])], 1);
        let r = locate(&m).unwrap().unwrap();
        assert_eq!(r.start, 12 + 9 + 4);
        assert_eq!(r.key_name.as_slice(), b"\x03key\x00");
        assert_eq!(r.algorithm.as_slice(), b"\x0bhmac-sha256\x00");
        assert_eq!((r.time_signed, r.fudge, r.original_id, r.error), (0x0102_0304_0506, 300, 0x1234, 0));
        assert_eq!(r.mac, &[7; 32]);
    }

    #[test]
    fn unsigned_messages_are_none() {
        assert!(locate(&message_with(&[], 0)).unwrap().is_none());
        let opt = dns::opt_alone(1232, 0);
        assert!(locate(&message_with(&[&opt], 1)).unwrap().is_none());
        assert!(locate(b"short").unwrap().is_none());
    }

    #[test]
    fn a_tsig_not_last_or_with_trailing_bytes_is_malformed() {
        let t = tsig(&[1; 20]);
        let opt = dns::opt_alone(1232, 0);
        assert_eq!(locate(&message_with(&[&t, &opt], 2)).unwrap_err(), Malformed);
        let mut trailing = message_with(&[&t], 1);
        trailing.push(0);
        assert_eq!(locate(&trailing).unwrap_err(), Malformed);
        let mut bad_len = t.clone();
        let rdlen_at = 5 + 8;
        bad_len[rdlen_at + 1] -= 1; // RDLENGTH one short of the fields
        assert!(locate(&message_with(&[&bad_len[..bad_len.len() - 1]], 1)).is_err());
    }

    #[test]
    fn compressed_names_read_and_pointer_loops_end() {
        // The key name as a pointer to the question's name.
        let mut t = tsig(&[1; 20]);
        t.splice(0..5, [0xc0, 12]);
        let m = message_with(&[&t], 1);
        assert_eq!(locate(&m).unwrap().unwrap().key_name.as_slice(), b"\x07example\x00");
        assert!(read_name(&[0xc0, 0], 0).is_none());
        assert!(read_name(&[0x01, b'a', 0xc0, 2], 0).is_none());
    }
}
