//! What can go wrong with a signed message, and the TSIG error code each
//! failure is answered with (RFC 8945 §5.2, IANA "TSIG/TKEY RR Error").

use std::fmt;

/// TSIG error codes carried in the record's Error field.
pub mod code {
    pub const NOERROR: u16 = 0;
    pub const BADSIG: u16 = 16;
    pub const BADKEY: u16 = 17;
    pub const BADTIME: u16 = 18;
    pub const BADTRUNC: u16 = 22;
}

/// Why a signed message was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The TSIG record is malformed or not the last record, or its MAC is
    /// longer than the algorithm makes: answered FORMERR, unsigned.
    FormErr,
    /// Unknown key name, or a known key with another algorithm.
    BadKey,
    /// The MAC does not match.
    BadSig,
    /// The MAC matches but Time Signed is outside the fudge window.
    BadTime,
    /// The MAC is truncated below what the algorithm allows.
    BadTrunc,
    /// A signed message was expected and none came (or a stream went too
    /// many messages without one).
    Unsigned,
    /// The peer's TSIG says it rejected our signature (its Error field).
    Peer(u16),
}

impl Failure {
    /// The TSIG Error field of the answer that reports this failure.
    pub fn code(self) -> u16 {
        match self {
            Failure::FormErr | Failure::Unsigned => code::NOERROR,
            Failure::BadKey => code::BADKEY,
            Failure::BadSig => code::BADSIG,
            Failure::BadTime => code::BADTIME,
            Failure::BadTrunc => code::BADTRUNC,
            Failure::Peer(c) => c,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::FormErr => f.write_str("malformed TSIG record"),
            Failure::BadKey => f.write_str("BADKEY: unknown key or algorithm"),
            Failure::BadSig => f.write_str("BADSIG: the MAC does not match"),
            Failure::BadTime => f.write_str("BADTIME: signed outside the allowed time window"),
            Failure::BadTrunc => f.write_str("BADTRUNC: the MAC is truncated too far"),
            Failure::Unsigned => f.write_str("the message is not signed"),
            Failure::Peer(c) => write!(f, "the peer rejected our signature: TSIG error {}", name(*c)),
        }
    }
}

impl std::error::Error for Failure {}

/// A TSIG error code's mnemonic, for logs.
pub fn name(c: u16) -> String {
    match c {
        code::NOERROR => "NOERROR".into(),
        code::BADSIG => "BADSIG".into(),
        code::BADKEY => "BADKEY".into(),
        code::BADTIME => "BADTIME".into(),
        code::BADTRUNC => "BADTRUNC".into(),
        other => other.to_string(),
    }
}
