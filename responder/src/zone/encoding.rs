//! Hex, base64 (RFC 4648 §4) and base32hex (RFC 4648 §7) decoders.
//!
//! Each is fed piece by piece because zone files split keys, signatures and
//! digests across blanks and lines; the pieces decode straight into the RDATA.

/// Errors name the encoding; the caller adds which field it was.
pub type DecodeResult = Result<(), &'static str>;

/// Hexadecimal, either case, an even number of digits in total.
#[derive(Default)]
pub struct Hex {
    high: Option<u8>,
}

impl Hex {
    pub fn feed(&mut self, text: &[u8], out: &mut Vec<u8>) -> DecodeResult {
        for &c in text {
            let nibble = hex_value(c).ok_or("bad hex digit")?;
            match self.high.take() {
                Some(high) => out.push(high << 4 | nibble),
                None => self.high = Some(nibble),
            }
        }
        Ok(())
    }

    pub fn finish(self) -> DecodeResult {
        match self.high {
            Some(_) => Err("odd number of hex digits"),
            None => Ok(()),
        }
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Standard base64 with `=` padding to a multiple of four characters.
#[derive(Default)]
pub struct Base64 {
    bits: Bits,
    chars: usize,
    padding: usize,
}

impl Base64 {
    pub fn feed(&mut self, text: &[u8], out: &mut Vec<u8>) -> DecodeResult {
        let mut whole = 0;
        // Signatures and keys are most of a signed zone's text: whole
        // quartets go three octets at a time while nothing is left over from
        // an earlier piece. The first quartet with padding or a bad character
        // goes to the loop below, which says what is wrong with it.
        if self.padding == 0 && self.chars.is_multiple_of(4) {
            out.reserve(text.len() / 4 * 3);
            for quartet in text.chunks_exact(4) {
                let [a, b, c, d] = [0, 1, 2, 3].map(|k| BASE64_VALUES[usize::from(quartet[k])]);
                // Digits are below 64: a higher bit is a marker.
                if (a | b | c | d) > 63 {
                    break;
                }
                let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
                out.extend_from_slice(&n.to_be_bytes()[1..]);
                whole += 4;
            }
            self.chars += whole;
        }
        for &c in &text[whole..] {
            if c == b'=' {
                self.padding += 1;
                continue;
            }
            if self.padding > 0 {
                return Err("base64 data after '=' padding");
            }
            let value = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return Err("bad base64 character"),
            };
            self.chars += 1;
            self.bits.push(value, 6, out);
        }
        Ok(())
    }

    pub fn finish(self) -> DecodeResult {
        let complete = (self.chars + self.padding).is_multiple_of(4);
        // One character alone carries only six bits: never a whole octet.
        if !complete || self.padding > 2 || self.chars % 4 == 1 {
            return Err("base64 length is not a multiple of 4 (bad padding)");
        }
        Ok(())
    }
}

/// Not a base64 digit (`=` included): the marker in [`BASE64_VALUES`].
const NOT_BASE64: u8 = 0xff;

/// Each octet's base64 value (RFC 4648 §4, standard alphabet).
const BASE64_VALUES: [u8; 256] = {
    let mut values = [NOT_BASE64; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < alphabet.len() {
        values[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    values
};

/// Bits gathered from base-2^n digits, given out as whole octets.
#[derive(Default)]
struct Bits {
    acc: u32,
    count: u32,
}

impl Bits {
    fn push(&mut self, value: u8, width: u32, out: &mut Vec<u8>) {
        self.acc = (self.acc << width) | u32::from(value);
        self.count += width;
        if self.count >= 8 {
            self.count -= 8;
            out.push((self.acc >> self.count) as u8);
            self.acc &= (1 << self.count) - 1;
        }
    }
}

/// Base32 with the extended-hex alphabet, unpadded, as NSEC3 uses it (RFC 5155 §3.3).
#[derive(Default)]
pub struct Base32Hex {
    bits: Bits,
    chars: usize,
}

impl Base32Hex {
    pub fn feed(&mut self, text: &[u8], out: &mut Vec<u8>) -> DecodeResult {
        for &c in text {
            let value = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'v' => c - b'a' + 10,
                b'A'..=b'V' => c - b'A' + 10,
                _ => return Err("bad base32hex character"),
            };
            self.chars += 1;
            self.bits.push(value, 5, out);
        }
        Ok(())
    }

    pub fn finish(self) -> DecodeResult {
        // Lengths 1, 3 and 6 (mod 8) leave a partial octet: not an encoding.
        match self.chars % 8 {
            0 | 2 | 4 | 5 | 7 => Ok(()),
            _ => Err("base32hex length leaves a partial octet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        let mut d = Hex::default();
        for piece in text.split(' ') {
            d.feed(piece.as_bytes(), &mut out)?;
        }
        d.finish().map(|_| out)
    }

    fn b64(text: &str) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        let mut d = Base64::default();
        for piece in text.split(' ') {
            d.feed(piece.as_bytes(), &mut out)?;
        }
        d.finish().map(|_| out)
    }

    fn b32(text: &str) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        let mut d = Base32Hex::default();
        d.feed(text.as_bytes(), &mut out)?;
        d.finish().map(|_| out)
    }

    #[test]
    fn hex_decodes_across_pieces() {
        assert_eq!(hex("0A1b c2 F").unwrap_err(), "odd number of hex digits");
        assert_eq!(hex("0A1b c2Ff").unwrap(), vec![0x0a, 0x1b, 0xc2, 0xff]);
        assert_eq!(hex("0g").unwrap_err(), "bad hex digit");
        assert_eq!(hex("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // RFC 4648 §10.
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(b64(encoded).unwrap(), plain.as_bytes(), "{encoded}");
        }
        assert_eq!(b64("Zm9v YmFy").unwrap(), b"foobar");
        assert_eq!(b64("+/+/").unwrap(), vec![0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn base64_rejects_bad_padding_and_characters() {
        assert!(b64("Zg").is_err());
        assert!(b64("Zg=").is_err());
        assert!(b64("Z===").is_err());
        assert!(b64("Zg==Zg==").is_err());
        assert!(b64("Zm9v!").is_err());
        assert!(b64("Zm9vY").is_err());
    }

    /// Fed a character at a time, the decoder never takes the quartet path.
    fn b64_by_character(text: &str) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        let mut d = Base64::default();
        for c in text.as_bytes().chunks(1) {
            d.feed(c, &mut out)?;
        }
        d.finish().map(|_| out)
    }

    #[test]
    fn base64_quartets_decode_as_characters_do() {
        let signature = "4ElhS0PFnyl/CgB+AgRc/dS6E0W8QaxXiX4ULWxDfmY7K1OrtL52AqfYGfo0LvcD9HEyHlq5efy5DNYEHV7qUQ==";
        let texts = [
            signature,
            "Zm9v YmFy",
            "Zm9 vYmFy",
            "Zm9vY mFy",
            "Zm9vYg= =",
            "Zm9vYg== Zm9v",
            "Zm9v!mFy",
            "Zm9vYmF!",
            "Zm9v=mFy",
            "Zm9vYm=y",
            "Zm9vY===",
            "Zm9v Y",
            "Zg== ",
            "+/+/ AAAA ////",
        ];
        for text in texts {
            assert_eq!(b64(text), b64_by_character(&text.replace(' ', "")), "{text}");
        }
        assert_eq!(b64(signature).unwrap().len(), 64);
    }

    #[test]
    fn base32hex_matches_rfc4648_vectors() {
        // RFC 4648 §10, padding removed as NSEC3 writes it.
        let vectors = [
            ("", ""),
            ("f", "CO"),
            ("fo", "CPNG"),
            ("foo", "CPNMU"),
            ("foob", "CPNMUOG"),
            ("fooba", "CPNMUOJ1"),
            ("foobar", "CPNMUOJ1E8"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(b32(encoded).unwrap(), plain.as_bytes(), "{encoded}");
            assert_eq!(b32(&encoded.to_lowercase()).unwrap(), plain.as_bytes());
        }
        assert!(b32("C").is_err());
        assert!(b32("CPN").is_err());
        assert!(b32("CW").is_err());
        assert!(b32("CO==").is_err());
    }
}
