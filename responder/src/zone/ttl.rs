//! Durations as zone files write them: `3600`, `1h30m`, `2d`, `1W` (BIND syntax).

/// The largest TTL RFC 2181 §8 allows; larger ones are a typo, not a wish.
pub const MAX_TTL: u32 = 0x7fff_ffff;

/// Parses seconds, optionally as number-unit pairs (`s m h d w`, any case).
/// A trailing bare number counts as seconds (`1h30` is 5400), as in BIND.
/// `None` for anything else, including overflow past `u32`.
pub fn parse_duration(text: &[u8]) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    let mut total: u32 = 0;
    let mut value: Option<u32> = None;
    for &c in text {
        if c.is_ascii_digit() {
            let digit = u32::from(c - b'0');
            value = Some(value.unwrap_or(0).checked_mul(10)?.checked_add(digit)?);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return None,
        };
        // A unit must follow a number: "h" or "1hm" mean nothing.
        total = total.checked_add(value.take()?.checked_mul(unit)?)?;
    }
    total.checked_add(value.unwrap_or(0))
}

/// A record TTL: a duration no larger than [`MAX_TTL`], or an explanation.
pub fn parse_ttl(text: &[u8]) -> Result<u32, String> {
    let shown = String::from_utf8_lossy(text);
    let ttl = parse_duration(text).ok_or_else(|| format!("TTL \"{shown}\" is not a number"))?;
    if ttl > MAX_TTL {
        return Err(format!("TTL \"{shown}\" exceeds {MAX_TTL} (RFC 2181 §8)"));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_and_units() {
        assert_eq!(parse_duration(b"0"), Some(0));
        assert_eq!(parse_duration(b"3600"), Some(3600));
        assert_eq!(parse_duration(b"1h30m"), Some(5400));
        assert_eq!(parse_duration(b"2d"), Some(172_800));
        assert_eq!(parse_duration(b"1W"), Some(604_800));
        assert_eq!(parse_duration(b"1w2D3h4M5s"), Some(604_800 + 172_800 + 10_800 + 240 + 5));
        assert_eq!(parse_duration(b"1h30"), Some(3630));
        assert_eq!(parse_duration(b"4294967295"), Some(u32::MAX));
    }

    #[test]
    fn rejects_garbage_and_overflow() {
        for bad in [&b""[..], b"1x", b"h", b"1hm", b"-1", b"4294967296", b"7102w", b"1.5h"] {
            assert_eq!(parse_duration(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ttl_errors_say_what_is_wrong() {
        assert_eq!(parse_ttl(b"1x").unwrap_err(), "TTL \"1x\" is not a number");
        assert!(parse_ttl(b"2147483648").unwrap_err().contains("exceeds 2147483647"));
        assert_eq!(parse_ttl(b"2147483647"), Ok(MAX_TTL));
    }
}
