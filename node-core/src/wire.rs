//! The over-the-air frame format.
//!
//! Every okmesh frame starts with a one-byte version and a one-byte kind.
//! Decoding follows smoltcp's pattern: [`Frame::new_checked`] validates the
//! header of untrusted bytes, then [`FrameRepr::parse`] turns the body into a
//! typed representation; neither ever panics, whatever the input.

/// Version of the wire format this build speaks.
pub const WIRE_VERSION: u8 = 1;

/// Bytes taken by the frame header (version, kind).
pub const HEADER_LEN: usize = 2;

/// Frame kinds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum FrameKind {
    /// Background chat-like traffic (the load generator).
    Chat = 1,
}

impl FrameKind {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(FrameKind::Chat),
            _ => None,
        }
    }
}

/// What a frame is for, as drivers and reports see it (without decoding
/// the body): the simulator tags every transmission with it so reports can
/// split airtime and bytes by purpose.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameClass {
    /// Background chat traffic.
    Chat,
    /// A sync summary (Trickle advertisement).
    Summary,
    /// A sync request (for a set sketch, or for missing items).
    Request,
    /// Item data (fragments of manifests or facilities).
    Data,
    /// Anything else, including undecodable bytes.
    #[default]
    Other,
}

impl FrameClass {
    /// Every class, in a fixed order (for tables).
    pub const ALL: [FrameClass; 5] = [
        FrameClass::Chat,
        FrameClass::Summary,
        FrameClass::Request,
        FrameClass::Data,
        FrameClass::Other,
    ];

    /// The name used in CSV files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            FrameClass::Chat => "chat",
            FrameClass::Summary => "summary",
            FrameClass::Request => "request",
            FrameClass::Data => "data",
            FrameClass::Other => "other",
        }
    }
}

/// Classifies a frame from its header, with the 64-bit subject it concerns
/// (the sync element id of the item a data frame carries; 0 when none).
pub fn classify(bytes: &[u8]) -> (FrameClass, u64) {
    match Frame::new_checked(bytes).map(|f| f.kind()) {
        Ok(FrameKind::Chat) => (FrameClass::Chat, 0),
        Err(_) => (FrameClass::Other, 0),
    }
}

/// Why bytes could not be decoded as a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than the header or body needs.
    #[error("frame truncated: {len} bytes, need at least {needed}")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes required.
        needed: usize,
    },
    /// A version this build does not speak.
    #[error("unsupported wire version {0}")]
    Version(u8),
    /// A kind byte this build does not know.
    #[error("unknown frame kind {0}")]
    Kind(u8),
}

/// A view of a frame's bytes with a validated header.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    kind: FrameKind,
    body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Validates the header of `bytes`.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, WireError> {
        let [version, kind, body @ ..] = bytes else {
            return Err(WireError::Truncated {
                len: bytes.len(),
                needed: HEADER_LEN,
            });
        };
        if *version != WIRE_VERSION {
            return Err(WireError::Version(*version));
        }
        let kind = FrameKind::from_u8(*kind).ok_or(WireError::Kind(*kind))?;
        Ok(Frame { kind, body })
    }

    /// The frame's kind.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The bytes after the header.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// A decoded frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FrameRepr {
    /// A background chat message: the sender's sequence number; the rest of
    /// the frame is filler that gives the message its configured size.
    Chat {
        /// Per-sender message counter.
        seq: u32,
    },
}

/// Smallest chat frame: header and sequence number.
pub const CHAT_MIN_LEN: usize = HEADER_LEN + 4;

impl FrameRepr {
    /// Parses a checked frame's body.
    pub fn parse(frame: &Frame<'_>) -> Result<Self, WireError> {
        match frame.kind() {
            FrameKind::Chat => {
                let Some(seq) = frame.body().first_chunk::<4>() else {
                    return Err(WireError::Truncated {
                        len: HEADER_LEN + frame.body().len(),
                        needed: CHAT_MIN_LEN,
                    });
                };
                Ok(FrameRepr::Chat {
                    seq: u32::from_le_bytes(*seq),
                })
            }
        }
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        Self::parse(&Frame::new_checked(bytes)?)
    }

    /// Encodes a chat frame of exactly `len` bytes (at least [`CHAT_MIN_LEN`]).
    pub fn encode_chat(seq: u32, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len.max(CHAT_MIN_LEN));
        out.push(WIRE_VERSION);
        out.push(FrameKind::Chat as u8);
        out.extend_from_slice(&seq.to_le_bytes());
        out.resize(len.max(CHAT_MIN_LEN), 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chat_round_trips_at_the_requested_size() {
        let bytes = FrameRepr::encode_chat(77, 40);
        assert_eq!(bytes.len(), 40);
        assert_eq!(FrameRepr::decode(&bytes), Ok(FrameRepr::Chat { seq: 77 }));
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(
            FrameRepr::decode(&[]),
            Err(WireError::Truncated { len: 0, needed: 2 })
        );
        assert_eq!(FrameRepr::decode(&[9, 1]), Err(WireError::Version(9)));
        assert_eq!(FrameRepr::decode(&[1, 200]), Err(WireError::Kind(200)));
        assert_eq!(
            FrameRepr::decode(&[1, 1, 0]),
            Err(WireError::Truncated { len: 3, needed: 6 })
        );
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = FrameRepr::decode(&bytes);
        }
    }
}
