//! The last word on a response the engine has built: send it, send it
//! truncated (RRL's "slip"), or drop it; and a place to count it.
//!
//! The engine calls the policy once per response, after the answer is
//! complete and before the frame's checksums are sealed, so a decision to
//! truncate costs no second lookup. Policies are generic parameters, not
//! trait objects: [`SendAll`] compiles away entirely.

use super::transport::Transport;

/// How rate limiting groups responses (RFC-less, as Knot, NSD and BIND do):
/// a flood of NXDOMAINs or errors is limited apart from real answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseClass {
    /// NOERROR: an answer, a referral, or NODATA.
    Answer,
    /// NXDOMAIN.
    NxDomain,
    /// Every other rcode (REFUSED, FORMERR, SERVFAIL, NOTIMP, BADVERS).
    Error,
}

/// A response as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The client's address: 4 bytes (IPv4), 16 (IPv6), or empty when the
    /// transport does not say.
    pub client: &'a [u8],
    pub transport: Transport,
    /// The full rcode (BADVERS is 16).
    pub rcode: u16,
    pub class: ResponseClass,
    /// TC is already set: the answer did not fit.
    pub truncated: bool,
    pub about: About,
}

/// What a response answers, for counting (`stats::breakdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// The question's type; 0 when the question could not be read.
    pub qtype: u16,
    /// The stats slot of the zone the answer came from (see
    /// `stats::breakdown::zones`), `NO_ZONE` when none did.
    pub zone: u16,
    /// The query's OPT record set DO.
    pub dnssec_ok: bool,
}

impl About {
    /// A response to a query whose question could not be read.
    pub const UNKNOWN: About = About { qtype: 0, zone: crate::stats::breakdown::zones::NO_ZONE, dnssec_ok: false };
}

/// What to do with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// Send it with TC set and only the question, so a real client retries
    /// over TCP while a spoofed victim receives no more than it sent.
    Slip,
    Drop,
}

pub trait Policy {
    /// Called by the serving thread before each batch of queries (for a
    /// kernel socket, each query): the moment to read a clock once.
    #[inline(always)]
    fn begin_batch(&mut self) {}

    fn decide(&mut self, response: &Response<'_>) -> Decision;

    /// Called by the serving thread's [`super::Session`] once per query the
    /// engine read (not for frames passed to the kernel), after its fate:
    /// `decided` says whether its response reached [`Policy::decide`]
    /// (false: the engine dropped it by itself, a response or unreadable).
    #[inline(always)]
    fn end_query(&mut self, _decided: bool) {}

    /// Called once per DNS message the message step read (`query_len`
    /// bytes), by the outermost step only, with the answer as it leaves
    /// (signed, NSID added; `None`: nothing is sent).
    #[inline(always)]
    fn finished(&mut self, _query_len: usize, _answer: Option<&[u8]>) {}
}

/// Every response is sent; nothing is counted.
pub struct SendAll;

impl Policy for SendAll {
    #[inline(always)]
    fn decide(&mut self, _: &Response<'_>) -> Decision {
        Decision::Send
    }
}

impl ResponseClass {
    pub fn of(rcode: u16) -> ResponseClass {
        match rcode {
            0 => ResponseClass::Answer,
            3 => ResponseClass::NxDomain,
            _ => ResponseClass::Error,
        }
    }
}
