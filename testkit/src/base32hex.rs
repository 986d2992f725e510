//! Base32 with the extended hex alphabet (RFC 4648 §7), unpadded and in
//! lower case, as NSEC3 owner names spell a hash (RFC 5155 §3.3): for
//! tests, benches and fuzz targets that write NSEC3 zones themselves.

pub fn encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0);
    for &b in bytes {
        acc = acc << 8 | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[(acc >> bits) as usize & 31] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[(acc << (5 - bits)) as usize & 31] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_rfc4648_vectors() {
        // RFC 4648 §10, padding removed and lowered as NSEC3 writes it.
        for (plain, encoded) in [
            ("", ""),
            ("f", "co"),
            ("fo", "cpng"),
            ("foo", "cpnmu"),
            ("foob", "cpnmuog"),
            ("fooba", "cpnmuoj1"),
            ("foobar", "cpnmuoj1e8"),
        ] {
            assert_eq!(super::encode(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
