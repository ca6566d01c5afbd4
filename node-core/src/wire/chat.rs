//! The chat family (kind 1): background traffic like Meshtastic chat or
//! position reports, sent by the load generator to occupy the channel.

use super::codec::Reader;
use super::{FrameKind, HEADER_LEN, WIRE_VERSION, WireError};

/// Smallest chat frame: header and sequence number.
pub const CHAT_MIN_LEN: usize = HEADER_LEN + 4;

/// A background chat message: the sender's sequence number; the rest of the
/// frame is filler that gives the message its configured size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChatFrame {
    /// Per-sender message counter.
    pub seq: u32,
}

impl ChatFrame {
    pub(super) fn parse(r: &mut Reader<'_>) -> Result<Self, WireError> {
        // The filler after the counter is ignored.
        Ok(ChatFrame { seq: r.u32("seq")? })
    }

    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.seq.to_le_bytes());
    }

    /// A whole chat frame of exactly `len` bytes (at least [`CHAT_MIN_LEN`]).
    pub fn encode_padded(&self, len: usize) -> Vec<u8> {
        let mut out = vec![WIRE_VERSION, FrameKind::Chat as u8];
        self.encode_body(&mut out);
        out.resize(len.max(CHAT_MIN_LEN), 0);
        out
    }
}
