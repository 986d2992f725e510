//! Names inside RDATA may be compressed in the types RFC 3597 §4 lists
//! (those of RFC 1035 and a few after it): those are expanded, so RDATA
//! read from a transfer matches RDATA read from a zone file byte for byte.
//! Every other type's RDATA is opaque and copied as is.

use super::message::{read_name, WireError};
use crate::wire::dns::RType;

#[derive(Clone, Copy)]
enum Part {
    Name,
    Fixed(usize),
}

use Part::{Fixed, Name};

fn layout(rtype: RType) -> Option<&'static [Part]> {
    Some(match rtype.0 {
        // NS MD MF CNAME MB MG MR PTR DNAME
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => &[Name],
        6 => &[Name, Name, Fixed(20)],          // SOA
        14 | 17 => &[Name, Name],               // MINFO RP
        15 | 18 | 21 | 36 => &[Fixed(2), Name], // MX AFSDB RT KX
        26 => &[Fixed(2), Name, Name],          // PX
        33 => &[Fixed(6), Name],                // SRV
        _ => return None,
    })
}

/// The RDATA between `start` and `stop` in `msg`, names expanded.
pub fn decompress(msg: &[u8], start: usize, stop: usize, rtype: RType) -> Result<Vec<u8>, WireError> {
    let Some(parts) = layout(rtype) else {
        return Ok(msg[start..stop].to_vec());
    };
    let mut out = Vec::with_capacity(stop - start + 16);
    let mut at = start;
    for part in parts {
        match part {
            Name => {
                if at >= stop {
                    return Err(WireError("RDATA name cut short"));
                }
                let (name, end) = read_name(&msg[..stop], at)?;
                out.extend_from_slice(name.wire());
                at = end;
            }
            Fixed(n) => {
                let bytes = msg.get(at..at + n).filter(|_| at + n <= stop).ok_or(WireError("RDATA cut short"))?;
                out.extend_from_slice(bytes);
                at += n;
            }
        }
    }
    if at != stop {
        return Err(WireError("RDATA longer than its type allows"));
    }
    Ok(out)
}
