//! How a message arrived: the one fact about its transport that the message
//! step (size limit, truncation) and the policy (TCP is never rate limited)
//! both need. Its own file so neither has to import the other for it.

/// How the message arrived; decides the size limit and truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}
