//! One `[[remote]]`: a peer's addresses and the key to sign with, as
//! Knot's `remote:` section (`IP` or `IP@PORT`, port 53 by default).

use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub id: String,
    pub addresses: Vec<SocketAddr>,
    /// A key id, checked to exist when the config is read.
    pub key: Option<String>,
}

/// `IP`, `IP@PORT`, or a socket address as Rust writes it (`[::1]:53`).
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    let (ip, port) = match text.split_once('@') {
        Some((ip, port)) => (ip, port.parse::<u16>().map_err(|_| format!("{text:?}: bad port {port:?}"))?),
        None => (text, 53),
    };
    let ip: IpAddr = ip.parse().map_err(|_| format!("{text:?} is not IP or IP@PORT"))?;
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knot_and_rust_address_forms() {
        assert_eq!(parse_address("198.18.0.2").unwrap(), "198.18.0.2:53".parse().unwrap());
        assert_eq!(parse_address("198.18.0.2@5300").unwrap(), "198.18.0.2:5300".parse().unwrap());
        assert_eq!(parse_address("fd00::2@53").unwrap(), "[fd00::2]:53".parse().unwrap());
        assert_eq!(parse_address("[fd00::2]:54").unwrap(), "[fd00::2]:54".parse().unwrap());
        assert!(parse_address("host@53").is_err());
        assert!(parse_address("198.18.0.2@x").is_err());
    }
}
