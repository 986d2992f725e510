//! Frame Streams (github.com/farsightsec/fstrm, `fstrm/control.h`), the
//! transport dnstap readers speak: data frames are a big-endian 32-bit
//! length and the payload; a length of 0 escapes a control frame (its own
//! length, a type, then content-type fields).
//!
//! Over a socket the writer and reader shake hands, READY → ACCEPT → START,
//! and part with STOP → FINISH; a file is START, frames, STOP. No Rust crate
//! for this is kept up (the ones published are unmaintained, for async
//! runtimes only, or write files only), so this is the small part of
//! fstrm a writer needs, tested against the byte layout of the C library's
//! control frames and against `fstrm_capture` in `tests/tests/dnstap.rs`.

use std::io::{self, Read, Write};

/// The dnstap content type every dnstap reader asks for.
pub const DNSTAP_CONTENT_TYPE: &[u8] = b"protobuf:dnstap.Dnstap";

/// fstrm's limit on a control frame; a longer one is an error, not data.
const MAX_CONTROL_LEN: u32 = 512;

/// Control frame types (`fstrm_control_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Accept = 1,
    Start = 2,
    Stop = 3,
    Ready = 4,
    Finish = 5,
}

impl Control {
    fn from_u32(v: u32) -> Option<Control> {
        [Control::Accept, Control::Start, Control::Stop, Control::Ready, Control::Finish]
            .into_iter()
            .find(|c| *c as u32 == v)
    }
}

/// `FSTRM_CONTROL_FIELD_CONTENT_TYPE`.
const FIELD_CONTENT_TYPE: u32 = 1;

/// A control frame with its escape, as it goes on the wire. STOP and
/// FINISH carry no content type; the others carry `content_type`.
pub fn control_frame(kind: Control, content_type: &[u8]) -> Vec<u8> {
    let mut body = (kind as u32).to_be_bytes().to_vec();
    if !matches!(kind, Control::Stop | Control::Finish) {
        body.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
        body.extend_from_slice(&(content_type.len() as u32).to_be_bytes());
        body.extend_from_slice(content_type);
    }
    let mut frame = Vec::with_capacity(8 + body.len());
    frame.extend_from_slice(&0u32.to_be_bytes());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// Appends one data frame. An empty payload would read as a control
/// escape, so it is refused (a dnstap message is never empty).
pub fn data_frame(out: &mut Vec<u8>, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a data frame must be 1 byte to 4 GiB"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// A control frame read from a peer: its type and content types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedControl {
    pub kind: Control,
    pub content_types: Vec<Vec<u8>>,
}

/// Reads one control frame, refusing a data frame, an oversized frame or
/// an unknown type or field with `InvalidData`.
pub fn read_control(stream: &mut impl Read) -> io::Result<ReceivedControl> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, format!("Frame Streams: {what}"));
    let mut word = [0u8; 4];
    stream.read_exact(&mut word)?;
    if word != [0; 4] {
        return Err(bad("expected a control frame, got data".into()));
    }
    stream.read_exact(&mut word)?;
    let len = u32::from_be_bytes(word);
    if !(4..=MAX_CONTROL_LEN).contains(&len) {
        return Err(bad(format!("control frame of {len} bytes")));
    }
    let mut body = vec![0u8; len as usize];
    stream.read_exact(&mut body)?;
    let kind = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    let kind = Control::from_u32(kind).ok_or_else(|| bad(format!("unknown control type {kind}")))?;
    let mut content_types = Vec::new();
    let mut rest = &body[4..];
    while !rest.is_empty() {
        let (Some(field), Some(field_len)) = (rest.get(..4), rest.get(4..8)) else {
            return Err(bad("truncated control field".into()));
        };
        let field = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
        let field_len = u32::from_be_bytes([field_len[0], field_len[1], field_len[2], field_len[3]]) as usize;
        let Some(value) = rest.get(8..8 + field_len) else {
            return Err(bad("control field longer than its frame".into()));
        };
        if field != FIELD_CONTENT_TYPE {
            return Err(bad(format!("unknown control field {field}")));
        }
        content_types.push(value.to_vec());
        rest = &rest[8 + field_len..];
    }
    Ok(ReceivedControl { kind, content_types })
}

/// The writer's side of the bidirectional handshake: READY, wait for an
/// ACCEPT that lists `content_type` (or lists none: any), then START.
pub fn handshake(stream: &mut (impl Read + Write), content_type: &[u8]) -> io::Result<()> {
    stream.write_all(&control_frame(Control::Ready, content_type))?;
    stream.flush()?;
    let reply = read_control(stream)?;
    if reply.kind != Control::Accept {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Frame Streams: the reader answered READY with {:?}, not ACCEPT", reply.kind),
        ));
    }
    if !reply.content_types.is_empty() && !reply.content_types.iter().any(|c| c == content_type) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Frame Streams: the reader does not accept {}", String::from_utf8_lossy(content_type)),
        ));
    }
    stream.write_all(&control_frame(Control::Start, content_type))?;
    stream.flush()
}

/// The writer's side of the goodbye: STOP, then wait for FINISH (a reader
/// that just closes is accepted too: there is nothing left to tell it).
pub fn finish(stream: &mut (impl Read + Write)) -> io::Result<()> {
    stream.write_all(&control_frame(Control::Stop, &[]))?;
    stream.flush()?;
    match read_control(stream) {
        Ok(c) if c.kind == Control::Finish => Ok(()),
        Ok(c) => Err(io::Error::new(io::ErrorKind::InvalidData, format!("expected FINISH, got {:?}", c.kind))),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;
    use std::thread;

    #[test]
    fn control_frames_have_fstrm_layout() {
        let ready = control_frame(Control::Ready, b"ab");
        // escape, length 14, READY, CONTENT_TYPE, 2, "ab"
        let want = [0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b'];
        assert_eq!(ready, want);
        assert_eq!(control_frame(Control::Stop, b"ignored"), [0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 3]);
        let mut read = &ready[..];
        let parsed = read_control(&mut read).unwrap();
        assert_eq!(parsed, ReceivedControl { kind: Control::Ready, content_types: vec![b"ab".to_vec()] });
    }

    #[test]
    fn data_frames_are_length_prefixed_and_never_empty() {
        let mut out = Vec::new();
        data_frame(&mut out, b"xyz").unwrap();
        assert_eq!(out, [0, 0, 0, 3, b'x', b'y', b'z']);
        assert!(data_frame(&mut out, b"").is_err());
        assert_eq!(out.len(), 7, "a refused frame writes nothing");
    }

    #[test]
    fn bad_control_frames_are_errors() {
        let cases: [&[u8]; 5] = [
            &[0, 0, 0, 5, 1, 2, 3, 4, 5],                                   // data where control was due
            &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0],                                // shorter than its type
            &[0, 0, 0, 0, 0, 0, 16, 0],                                     // beyond fstrm's 512 bytes
            &[0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 9],                          // unknown type
            &[0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9], // field overruns
        ];
        for case in cases {
            let mut read = case;
            let e = read_control(&mut read).expect_err("refused");
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{case:?}: {e}");
        }
        let mut cut: &[u8] = &[0, 0, 0, 0, 0, 0];
        assert_eq!(read_control(&mut cut).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    /// A reader as fstrm_capture behaves: ACCEPT, then frames until STOP,
    /// then FINISH. Returns the payloads it got.
    fn reader(mut s: UnixStream, accept: &'static [u8]) -> Vec<Vec<u8>> {
        let ready = read_control(&mut s).unwrap();
        assert_eq!(ready.kind, Control::Ready);
        s.write_all(&control_frame(Control::Accept, accept)).unwrap();
        if accept != DNSTAP_CONTENT_TYPE {
            return Vec::new();
        }
        assert_eq!(read_control(&mut s).unwrap().kind, Control::Start);
        let mut payloads = Vec::new();
        loop {
            let mut len = [0u8; 4];
            s.read_exact(&mut len).unwrap();
            let len = u32::from_be_bytes(len);
            if len == 0 {
                let mut rest = [0u8; 8];
                s.read_exact(&mut rest).unwrap();
                assert_eq!(rest, [0, 0, 0, 4, 0, 0, 0, 3], "STOP");
                s.write_all(&control_frame(Control::Finish, &[])).unwrap();
                return payloads;
            }
            let mut payload = vec![0u8; len as usize];
            s.read_exact(&mut payload).unwrap();
            payloads.push(payload);
        }
    }

    #[test]
    fn handshake_frames_and_finish_over_a_socket() {
        let (mut writer, peer) = UnixStream::pair().unwrap();
        let reading = thread::spawn(move || reader(peer, DNSTAP_CONTENT_TYPE));
        handshake(&mut writer, DNSTAP_CONTENT_TYPE).unwrap();
        let mut out = Vec::new();
        data_frame(&mut out, b"one").unwrap();
        data_frame(&mut out, b"two").unwrap();
        writer.write_all(&out).unwrap();
        finish(&mut writer).unwrap();
        assert_eq!(reading.join().unwrap(), [b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn a_reader_of_another_content_type_is_refused() {
        let (mut writer, peer) = UnixStream::pair().unwrap();
        let reading = thread::spawn(move || reader(peer, b"protobuf:other"));
        let e = handshake(&mut writer, DNSTAP_CONTENT_TYPE).unwrap_err();
        assert!(e.to_string().contains("does not accept"), "{e}");
        reading.join().unwrap();
    }
}
