//! LOC RDATA (RFC 1876): a position as degrees, minutes and seconds, an
//! altitude, and three sizes in a one-octet mantissa-and-exponent form.

use super::fields::{parse_decimal, push_u32, Fields};
use super::lexer::Token;

/// 2^31: the equator and the prime meridian (RFC 1876 §2).
const EQUATOR: u32 = 1 << 31;
/// Altitudes are stored in centimetres above 100,000 m below the WGS 84 spheroid.
const ALTITUDE_BASE_CM: i64 = 10_000_000;

/// RFC 1876 §3: `d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [siz[m] [hp[m] [vp[m]]]]`.
pub fn loc(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let latitude = angle(f, "latitude", 90, (b'N', b'S'))?;
    let longitude = angle(f, "longitude", 180, (b'E', b'W'))?;
    let token = f.next("altitude")?;
    let altitude = centimetres(token.text, true)
        .map(|cm| cm + ALTITUDE_BASE_CM)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| f.fail(format!("bad altitude \"{}\" (-100000.00m to 42849672.95m)", token.show())))?;
    // Defaults: a 1 m sphere, 10 km horizontal and 10 m vertical precision.
    let mut sizes = [0x12, 0x16, 0x13];
    for (i, what) in ["size", "horizontal precision", "vertical precision"].into_iter().enumerate() {
        let Some(token) = f.peek() else { break };
        sizes[i] =
            precision(token).ok_or_else(|| f.fail(format!("bad {what} \"{}\" (0-90000000.00m)", token.show())))?;
        f.next(what)?;
    }
    out.push(0); // version
    out.extend_from_slice(&sizes);
    push_u32(out, latitude);
    push_u32(out, longitude);
    push_u32(out, altitude);
    Ok(())
}

/// Degrees, optional minutes and seconds, then the hemisphere letter;
/// returned as thousandths of a second of arc offset from 2^31.
fn angle(f: &mut Fields<'_, '_>, what: &str, max_degrees: u64, (plus, minus): (u8, u8)) -> Result<u32, String> {
    let bad = |f: &Fields<'_, '_>, token: &Token<'_>| f.fail(format!("bad {what} \"{}\"", token.show()));
    let token = f.next(what)?;
    let degrees = parse_decimal(token.text).filter(|&d| d <= max_degrees).ok_or_else(|| bad(f, token))?;
    let mut parts = [degrees, 0, 0];
    let mut filled = 1;
    let hemisphere = loop {
        let token = f.next(what)?;
        if let [letter] = token.text {
            let letter = letter.to_ascii_uppercase();
            if letter == plus || letter == minus {
                break letter;
            }
        }
        let value = match filled {
            1 => parse_decimal(token.text).filter(|&m| m < 60),
            2 => milliseconds(token.text).filter(|&ms| ms < 60_000),
            _ => None,
        };
        parts[filled] = value.ok_or_else(|| bad(f, token))?;
        filled += 1;
    };
    let seconds_ms = if filled == 3 { parts[2] } else { 0 };
    let value = (parts[0] * 60 + parts[1]) * 60_000 + seconds_ms;
    if value > max_degrees * 3_600_000 {
        return Err(f.fail(format!("{what} is more than {max_degrees} degrees")));
    }
    let value = value as u32;
    Ok(if hemisphere == plus { EQUATOR + value } else { EQUATOR - value })
}

/// Seconds with up to three decimals → milliseconds.
fn milliseconds(text: &[u8]) -> Option<u64> {
    fixed_point(text, 3)
}

/// Metres with up to two decimals and an optional `m` → centimetres.
fn centimetres(text: &[u8], signed: bool) -> Option<i64> {
    let text = text.strip_suffix(b"m").unwrap_or(text);
    let (negative, digits) = match text.strip_prefix(b"-") {
        Some(rest) if signed => (true, rest),
        _ => (false, text),
    };
    let value = i64::try_from(fixed_point(digits, 2)?).ok()?;
    Some(if negative { -value } else { value })
}

/// `int[.frac]` with at most `decimals` fraction digits, scaled by 10^decimals.
fn fixed_point(text: &[u8], decimals: u32) -> Option<u64> {
    let (int, frac) = match text.iter().position(|&c| c == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &b""[..]),
    };
    if frac.len() > decimals as usize || (frac.is_empty() && text.ends_with(b".")) {
        return None;
    }
    let int = parse_decimal(int)?;
    let frac_value = if frac.is_empty() { 0 } else { parse_decimal(frac)? };
    let scale = 10u64.pow(decimals - frac.len() as u32);
    int.checked_mul(10u64.pow(decimals))?.checked_add(frac_value * scale)
}

/// RFC 1876 §2: centimetres as mantissa (high nibble) × 10^exponent (low),
/// the mantissa rounded down as the RFC's reference code does.
fn precision(token: &Token<'_>) -> Option<u8> {
    let cm = u64::try_from(centimetres(token.text, false)?).ok()?;
    if cm > 9_000_000_000 {
        return None;
    }
    let mut exponent = 0;
    while exponent < 9 && cm >= 10u64.pow(exponent + 1) {
        exponent += 1;
    }
    let mantissa = (cm / 10u64.pow(exponent)).min(9) as u8;
    Some(mantissa << 4 | exponent as u8)
}

#[cfg(test)]
mod tests {
    use crate::zone::rdata::tests::{ok, unhex, wire};
    use crate::zone::rtype::RType;

    #[test]
    fn equator_prime_meridian_and_defaults() {
        // 2^31 for both angles, 0 m above 100 km below the spheroid, and the
        // RFC 1876 §3 defaults 1 m, 10 km and 10 m.
        assert_eq!(ok(RType::LOC, "0 N 0 E 0"), unhex("00 12 16 13 80000000 80000000 00989680"));
        assert_eq!(ok(RType::LOC, "0 0 0.000 s 0 0 0 w 0.00m"), ok(RType::LOC, "0 N 0 E 0"));
    }

    #[test]
    fn rfc1876_style_positions_match_knot() {
        // Checked against Knot's zone parser (zones/tests/all-types.zone).
        let got = ok(RType::LOC, "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m");
        assert_eq!(got, unhex("00 00 16 13 8B3CF018 810CBCE0 009895B8"));
        // 42°21'43.528" N = 152,503,528 ms above the equator.
        assert_eq!(
            ok(RType::LOC, "42 21 43.528 N 71 5 6.284 W 12m")[4..8],
            (0x8000_0000u32 + 152_503_528).to_be_bytes()
        );
        // The highest altitude and the largest size the format holds.
        assert_eq!(
            ok(RType::LOC, "1 S 2 30 W 42849672.95m 90000000m 5m 1m"),
            unhex("00 99 52 12 7FC91180 7F76ABC0 FFFFFFFF")
        );
    }

    #[test]
    fn out_of_range_or_incomplete_positions_are_refused() {
        let err = |text: &str| wire(RType::LOC, text).unwrap_err();
        assert_eq!(err("91 N 0 E 0"), "LOC: bad latitude \"91\"");
        assert_eq!(err("90 1 N 0 E 0"), "LOC: latitude is more than 90 degrees");
        assert_eq!(err("52 60 N 0 E 0"), "LOC: bad latitude \"60\"");
        assert_eq!(err("52 1 60.000 N 0 E 0"), "LOC: bad latitude \"60.000\"");
        assert_eq!(err("52 1 1.2345 N 0 E 0"), "LOC: bad latitude \"1.2345\"");
        assert_eq!(err("52 N 181 E 0"), "LOC: bad longitude \"181\"");
        assert_eq!(err("52 N 4 E"), "LOC: missing altitude");
        assert_eq!(err("52 1 2 3 N 4 E 0"), "LOC: bad latitude \"3\"");
        assert_eq!(err("52 N 4 E -100000.01m"), "LOC: bad altitude \"-100000.01m\" (-100000.00m to 42849672.95m)");
        assert_eq!(err("52 N 4 E 0 1.234m"), "LOC: bad size \"1.234m\" (0-90000000.00m)");
        assert_eq!(err("52 N 4 E 0 1 1 90000000.01"), "LOC: bad vertical precision \"90000000.01\" (0-90000000.00m)");
        assert_eq!(err("52 N 4 E 0 1 1 1 1"), "LOC: unexpected extra field \"1\"");
    }
}
