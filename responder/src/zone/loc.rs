//! LOC RDATA (RFC 1876): a position as degrees, minutes and seconds, an
//! altitude, and three sizes in a one-octet mantissa-and-exponent form.

use super::fields::{parse_decimal, Fields};
use super::lexer::Token;
use super::rdata::push_u32;

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
