//! SVCB and HTTPS RDATA (RFC 9460): priority, target name, then SvcParams
//! written `key=value`, stored on the wire sorted by key.

use super::encoding::Base64;
use super::fields::{decode_text, ipv4, ipv6, parse_decimal, push_u16, Fields};
use super::lexer::Token;

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
/// RFC 9460 §14.3.2: reserved as "invalid key".
const INVALID_KEY: u16 = 65535;

const KEY_NAMES: [(&str, u16); 7] = [
    ("mandatory", MANDATORY),
    ("alpn", ALPN),
    ("no-default-alpn", NO_DEFAULT_ALPN),
    ("port", PORT),
    ("ipv4hint", IPV4HINT),
    ("ech", ECH),
    ("ipv6hint", IPV6HINT),
];

pub fn svcb(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), String> {
    let priority = f.u16("priority")?;
    push_u16(out, priority);
    f.name("target name", out)?;
    let tokens = f.rest();
    // RFC 9460 §2.4.2 says AliasMode records SHOULD NOT carry SvcParams and
    // clients ignore them: in a zone file they are nearly always a priority typo.
    if priority == 0 && !tokens.is_empty() {
        return Err(f.fail("AliasMode (priority 0) takes no SvcParams; use priority 1 or more for ServiceMode"));
    }
    let mut params: Vec<(u16, Vec<u8>)> = Vec::with_capacity(tokens.len());
    for token in tokens {
        params.push(param(f, token)?);
    }
    params.sort_by_key(|&(key, _)| key);
    if let Some(pair) = params.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(f.fail(format!("SvcParam {} appears twice", key_name(pair[0].0))));
    }
    check_consistency(f, &params)?;
    for (key, value) in &params {
        push_u16(out, *key);
        let len = u16::try_from(value.len()).map_err(|_| f.fail(format!("{} value is too long", key_name(*key))))?;
        push_u16(out, len);
        out.extend_from_slice(value);
    }
    Ok(())
}

/// RFC 9460 §8: every key listed in `mandatory` must be present, and
/// `no-default-alpn` only makes sense beside `alpn` (§7.1.1).
fn check_consistency(f: &Fields<'_, '_>, params: &[(u16, Vec<u8>)]) -> Result<(), String> {
    let present = |key: u16| params.binary_search_by_key(&key, |&(k, _)| k).is_ok();
    if let Some((_, mandatory)) = params.iter().find(|&&(key, _)| key == MANDATORY) {
        for listed in mandatory.chunks_exact(2) {
            let listed = u16::from_be_bytes([listed[0], listed[1]]);
            if !present(listed) {
                return Err(f.fail(format!("mandatory lists {} but the record has no such SvcParam", key_name(listed))));
            }
        }
    }
    if present(NO_DEFAULT_ALPN) && !present(ALPN) {
        return Err(f.fail("no-default-alpn requires alpn"));
    }
    Ok(())
}

/// One `key[=value]` field → (key, wire value).
fn param(f: &Fields<'_, '_>, token: &Token<'_>) -> Result<(u16, Vec<u8>), String> {
    if token.quoted {
        return Err(f.fail(format!("SvcParam \"{}\" must be written key=value", token.show())));
    }
    let (key_text, raw_value) = match token.text.iter().position(|&c| c == b'=') {
        Some(eq) => (&token.text[..eq], Some(&token.text[eq + 1..])),
        None => (token.text, None),
    };
    let key = key_from_text(key_text)
        .ok_or_else(|| f.fail(format!("unknown SvcParam key \"{}\"", String::from_utf8_lossy(key_text))))?;
    let name = key_name(key);
    let mut value = Vec::new();
    if let Some(raw) = raw_value {
        let raw = match raw {
            [b'"', inner @ .., b'"'] => inner,
            _ => raw,
        };
        decode_text(raw, &mut value).map_err(|e| f.fail(format!("{name}: {e}")))?;
    }
    let bad = |message: &str| f.fail(format!("{name}: {message}"));
    // An empty value counts as none, so `key=""` and `key` agree.
    let required = || {
        if value.is_empty() {
            Err(bad("missing value"))
        } else {
            Ok(())
        }
    };
    let wire = match key {
        MANDATORY => {
            required()?;
            let mut keys = Vec::new();
            for item in value_list(&value).map_err(bad)? {
                let listed = key_from_text(&item)
                    .ok_or_else(|| bad(&format!("unknown key \"{}\"", String::from_utf8_lossy(&item))))?;
                if listed == MANDATORY {
                    return Err(bad("must not list itself"));
                }
                keys.push(listed);
            }
            keys.sort_unstable();
            if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(bad(&format!("lists {} twice", key_name(pair[0]))));
            }
            keys.iter().flat_map(|k| k.to_be_bytes()).collect()
        }
        ALPN => {
            required()?;
            let mut wire = Vec::new();
            for id in value_list(&value).map_err(bad)? {
                let len = u8::try_from(id.len()).map_err(|_| bad("protocol id longer than 255 octets"))?;
                wire.push(len);
                wire.extend_from_slice(&id);
            }
            wire
        }
        NO_DEFAULT_ALPN => {
            if !value.is_empty() {
                return Err(bad("takes no value"));
            }
            value
        }
        PORT => {
            required()?;
            let port = parse_decimal(&value)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| bad(&format!("bad port \"{}\"", String::from_utf8_lossy(&value))))?;
            port.to_be_bytes().to_vec()
        }
        IPV4HINT | IPV6HINT => {
            required()?;
            let mut wire = Vec::new();
            for item in value_list(&value).map_err(bad)? {
                let shown = String::from_utf8_lossy(&item);
                if key == IPV4HINT {
                    let addr = ipv4(&item).ok_or_else(|| bad(&format!("bad IPv4 address \"{shown}\"")))?;
                    wire.extend_from_slice(&addr.octets());
                } else {
                    let addr = ipv6(&item).ok_or_else(|| bad(&format!("bad IPv6 address \"{shown}\"")))?;
                    wire.extend_from_slice(&addr.octets());
                }
            }
            wire
        }
        ECH => {
            required()?;
            let mut wire = Vec::new();
            let mut decoder = Base64::default();
            decoder.feed(&value, &mut wire).and_then(|_| decoder.finish()).map_err(bad)?;
            wire
        }
        _ => value,
    };
    Ok((key, wire))
}

/// RFC 9460 Appendix A.1: a comma-separated list in which `\,` is a comma
/// inside an item and `\\` a backslash. Items may not be empty.
fn value_list(value: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut items = vec![Vec::new()];
    let mut bytes = value.iter();
    while let Some(&c) = bytes.next() {
        match c {
            b'\\' => {
                let &escaped = bytes.next().ok_or("list ends with a lone backslash")?;
                items.last_mut().expect("items is never empty").push(escaped);
            }
            b',' => items.push(Vec::new()),
            _ => items.last_mut().expect("items is never empty").push(c),
        }
    }
    if items.iter().any(Vec::is_empty) {
        return Err("empty item in list");
    }
    Ok(items)
}

fn key_from_text(text: &[u8]) -> Option<u16> {
    if let Some(&(_, key)) = KEY_NAMES.iter().find(|(name, _)| text.eq_ignore_ascii_case(name.as_bytes())) {
        return Some(key);
    }
    let digits = text.strip_prefix(b"key")?;
    parse_decimal(digits).and_then(|v| u16::try_from(v).ok()).filter(|&key| key != INVALID_KEY)
}

fn key_name(key: u16) -> String {
    match KEY_NAMES.iter().find(|&&(_, k)| k == key) {
        Some((name, _)) => (*name).to_string(),
        None => format!("key{key}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::zone::rdata::tests::{ok, wire};
    use crate::zone::rtype::RType;

    fn unhex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
    }

    const FOO_EXAMPLE_COM: &str = "03666f6f 076578616d706c65 03636f6d 00";
    const FOO_EXAMPLE_ORG: &str = "03666f6f 076578616d706c65 036f7267 00";

    #[test]
    fn rfc9460_appendix_d_alias_and_port() {
        // AliasMode.
        assert_eq!(ok(RType::SVCB, "0 foo.example.com."), unhex(&format!("0000 {FOO_EXAMPLE_COM}")));
        // ServiceMode with the owner as target.
        assert_eq!(ok(RType::SVCB, "1 ."), unhex("0001 00"));
        // Port.
        assert_eq!(
            ok(RType::SVCB, "16 foo.example.com. port=53"),
            unhex(&format!("0010 {FOO_EXAMPLE_COM} 0003 0002 0035"))
        );
    }

    #[test]
    fn rfc9460_appendix_d_generic_key_and_hints() {
        // A generic key with an unquoted value.
        assert_eq!(
            ok(RType::SVCB, "1 foo.example.com. key667=hello"),
            unhex(&format!("0001 {FOO_EXAMPLE_COM} 029b 0005 68656c6c6f"))
        );
        // A quoted value with a decimal escape.
        assert_eq!(
            ok(RType::SVCB, r#"1 foo.example.com. key667="hello\210qoo""#),
            unhex(&format!("0001 {FOO_EXAMPLE_COM} 029b 0009 68656c6c6fd271 6f6f"))
        );
        // Two IPv6 hints.
        assert_eq!(
            ok(RType::SVCB, r#"1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1""#),
            unhex(&format!(
                "0001 {FOO_EXAMPLE_COM} 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001"
            ))
        );
    }

    #[test]
    fn rfc9460_appendix_d_params_are_sorted_by_key() {
        // Keys out of order, mandatory listing two of them.
        let text = "16 foo.example.org. ( alpn=h2,h3-19 mandatory=ipv4hint,alpn\n ipv4hint=192.0.2.1 )";
        let want = unhex(&format!(
            "0010 {FOO_EXAMPLE_ORG} 0000 0004 0001 0004 0001 0009 02 6832 05 68332d3139 0004 0004 c0000201"
        ));
        assert_eq!(ok(RType::SVCB, text), want);
    }

    #[test]
    fn rfc9460_appendix_d_alpn_escapes() {
        // "f\\oo,bar" and "h2" after both levels of escaping.
        let want = unhex(&format!("0010 {FOO_EXAMPLE_ORG} 0001 000c 08 665c6f6f2c626172 02 6832"));
        assert_eq!(ok(RType::SVCB, r#"16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#), want);
        assert_eq!(ok(RType::SVCB, r#"16 foo.example.org. alpn=f\\\092oo\092,bar,h2"#), want);
    }

    #[test]
    fn https_ech_no_default_alpn_and_generic_keys() {
        let got = ok(RType::HTTPS, "1 . alpn=h3 no-default-alpn ech=AQID key65280");
        assert_eq!(got, unhex("0001 00 0001 0003 026833 0002 0000 0005 0003 010203 ff00 0000"));
        // key1 is alpn by number, parsed the same way.
        assert_eq!(ok(RType::HTTPS, "1 . key1=h2"), ok(RType::HTTPS, "1 . alpn=h2"));
    }

    #[test]
    fn rfc9460_appendix_d_3_failure_cases() {
        let err = |text: &str| wire(RType::SVCB, text).unwrap_err();
        assert_eq!(err("1 foo.example.com. key123=abc key123=def"), "SVCB: SvcParam key123 appears twice");
        assert_eq!(err("1 foo.example.com. mandatory"), "SVCB: mandatory: missing value");
        assert_eq!(err("1 foo.example.com. alpn"), "SVCB: alpn: missing value");
        assert_eq!(err("1 foo.example.com. port"), "SVCB: port: missing value");
        assert_eq!(err("1 foo.example.com. ipv4hint"), "SVCB: ipv4hint: missing value");
        assert_eq!(err("1 foo.example.com. ipv6hint"), "SVCB: ipv6hint: missing value");
        assert_eq!(err("1 foo.example.com. no-default-alpn=abc"), "SVCB: no-default-alpn: takes no value");
        assert_eq!(
            err("1 foo.example.com. mandatory=key123"),
            "SVCB: mandatory lists key123 but the record has no such SvcParam"
        );
        assert_eq!(err("1 foo.example.com. mandatory=mandatory"), "SVCB: mandatory: must not list itself");
        assert_eq!(
            err("1 foo.example.com. ( mandatory=key123,key123 key123=abc )"),
            "SVCB: mandatory: lists key123 twice"
        );
    }

    #[test]
    fn other_malformed_params() {
        let err = |text: &str| wire(RType::HTTPS, text).unwrap_err();
        assert!(err("0 foo.example.com. alpn=h2").starts_with("HTTPS: AliasMode (priority 0) takes no SvcParams"));
        assert_eq!(err("1 . no-default-alpn"), "HTTPS: no-default-alpn requires alpn");
        assert_eq!(err("1 . port=65536"), "HTTPS: port: bad port \"65536\"");
        assert_eq!(err("1 . ipv4hint=198.18.0.1,1.2.3"), "HTTPS: ipv4hint: bad IPv4 address \"1.2.3\"");
        assert_eq!(err("1 . alpn=h2,,h3"), "HTTPS: alpn: empty item in list");
        assert_eq!(err("1 . bogus=1"), "HTTPS: unknown SvcParam key \"bogus\"");
        assert_eq!(err("1 . key65535"), "HTTPS: unknown SvcParam key \"key65535\"");
        assert!(err("1 . ech=AQI").starts_with("HTTPS: ech: base64"));
    }
}
