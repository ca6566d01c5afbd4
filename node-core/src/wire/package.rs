//! The package family (kind 11): swarm messages carried over small frames.
//!
//! A swarm message ([`crate::packages::msg::SwarmMsg`]) is a whole unit — a
//! 4 KiB piece with its proof is about 4.3 KB, some twenty 231-byte LoRa
//! frames — so it travels cut into fragments, each one frame:
//!
//! | field | encoding |
//! |---|---|
//! | msg | u16: the message number, a digest of the message's bytes ([`crate::packages::fragment::message_number`]) |
//! | index | varint: the fragment's number, below `total` |
//! | total | varint: fragments in the message, 1 to [`MAX_MESSAGE_FRAGMENTS`] |
//! | chunk | the fragment's bytes, to the end of the frame |
//!
//! The sync layer's data frames carry a `u8` fragment count, enough for a
//! catalogue item but not for a 64 KiB piece over 231-byte frames, so the
//! package family has its own frame; reassembly lives in
//! [`crate::packages::fragment`].

use super::codec::{Reader, put_varint};
use super::{FrameKind, HEADER_LEN, WIRE_VERSION, WireError};

/// Most fragments one message may be cut into: a 64 KiB piece with its
/// proof over 231-byte frames needs about 300.
pub const MAX_MESSAGE_FRAGMENTS: u32 = 512;

/// Bytes before the chunk in the largest fragment header (frame header,
/// msg, index and total as two-byte varints).
pub const FRAGMENT_OVERHEAD: usize = HEADER_LEN + 2 + 2 + 2;

/// A decoded package frame. The chunk borrows from the input.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PackageFrame<'a> {
    /// Fragment `index` of `total` of the sender's message `msg`.
    Fragment {
        /// The sender's message number.
        msg: u16,
        /// Fragment number.
        index: u32,
        /// Fragments in the message.
        total: u32,
        /// The fragment's bytes.
        chunk: &'a [u8],
    },
}

impl<'a> PackageFrame<'a> {
    /// The kind byte this frame is sent with.
    pub fn kind(&self) -> FrameKind {
        match self {
            PackageFrame::Fragment { .. } => FrameKind::PackageFragment,
        }
    }

    /// Encodes the whole frame, header included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![WIRE_VERSION, self.kind() as u8];
        self.encode_body(&mut out);
        out
    }

    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            PackageFrame::Fragment {
                msg,
                index,
                total,
                chunk,
            } => {
                out.extend_from_slice(&msg.to_le_bytes());
                put_varint(out, u64::from(*index));
                put_varint(out, u64::from(*total));
                out.extend_from_slice(chunk);
            }
        }
    }

    pub(super) fn parse(kind: FrameKind, r: &mut Reader<'a>) -> Result<Self, WireError> {
        match kind {
            FrameKind::PackageFragment => {
                let msg = r.u16("msg")?;
                let index = r.varint("index")?;
                let total = r.varint("total")?;
                if total == 0 || total > u64::from(MAX_MESSAGE_FRAGMENTS) {
                    return Err(r.bad("total"));
                }
                if index >= total {
                    return Err(r.bad("index"));
                }
                Ok(PackageFrame::Fragment {
                    msg,
                    index: index as u32,
                    total: total as u32,
                    chunk: r.rest(),
                })
            }
            // The caller dispatches only this family's kinds here.
            _ => Err(WireError::Kind(kind as u8)),
        }
    }
}

/// Cuts `message` into fragment frames of at most `max_payload_bytes`
/// each; `None` if it needs more than [`MAX_MESSAGE_FRAGMENTS`] or the frames are
/// too small to carry a byte.
pub fn fragment(msg: u16, message: &[u8], max_payload_bytes: usize) -> Option<Vec<Vec<u8>>> {
    let room = max_payload_bytes.checked_sub(FRAGMENT_OVERHEAD)?;
    if room == 0 {
        return None;
    }
    let total = message.len().div_ceil(room).max(1);
    if total > MAX_MESSAGE_FRAGMENTS as usize {
        return None;
    }
    let chunks: Vec<&[u8]> = if message.is_empty() {
        vec![&[]]
    } else {
        message.chunks(room).collect()
    };
    Some(
        chunks
            .into_iter()
            .enumerate()
            .map(|(index, chunk)| {
                PackageFrame::Fragment {
                    msg,
                    index: index as u32,
                    total: total as u32,
                    chunk,
                }
                .encode()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FrameRepr;
    use proptest::prelude::*;

    #[test]
    fn a_piece_fits_in_twenty_lora_frames() {
        let message = vec![7u8; 4096 + 192 + 80];
        let frames = fragment(3, &message, 231).unwrap();
        assert_eq!(frames.len(), 20);
        assert!(frames.iter().all(|f| f.len() <= 231));
        let mut back = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let Ok(FrameRepr::Package(PackageFrame::Fragment {
                msg,
                index,
                total,
                chunk,
            })) = FrameRepr::decode(f)
            else {
                panic!("fragment {i} does not decode");
            };
            assert_eq!((msg, index, total), (3, i as u32, 20));
            back.extend_from_slice(chunk);
        }
        assert_eq!(back, message);
    }

    #[test]
    fn bad_counts_are_errors_and_oversized_messages_are_refused() {
        // index 2 of total 2
        assert!(FrameRepr::decode(&[1, 11, 0, 0, 2, 2]).is_err());
        // total 0
        assert!(FrameRepr::decode(&[1, 11, 0, 0, 0, 0]).is_err());
        // total 513
        assert!(FrameRepr::decode(&[1, 11, 0, 0, 0, 0x81, 0x04]).is_err());
        // truncated msg number
        assert!(FrameRepr::decode(&[1, 11, 0]).is_err());
        assert!(fragment(0, &vec![0; 600_000], 231).is_none());
        assert!(fragment(0, b"x", FRAGMENT_OVERHEAD).is_none());
        assert_eq!(fragment(0, b"", 231).map(|f| f.len()), Some(1));
    }

    proptest! {
        #[test]
        fn fragments_round_trip(msg in any::<u16>(), message in proptest::collection::vec(any::<u8>(), 0..3000), max in 20usize..300) {
            let frames = fragment(msg, &message, max).unwrap();
            let mut back = Vec::new();
            for f in &frames {
                prop_assert!(f.len() <= max);
                match FrameRepr::decode(f) {
                    Ok(FrameRepr::Package(PackageFrame::Fragment { msg: m, total, chunk, .. })) => {
                        prop_assert_eq!(m, msg);
                        prop_assert_eq!(total as usize, frames.len());
                        back.extend_from_slice(chunk);
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
            prop_assert_eq!(back, message);
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..240)) {
            let mut bytes = vec![WIRE_VERSION, FrameKind::PackageFragment as u8];
            bytes.extend_from_slice(&body);
            if let Ok(f) = FrameRepr::decode(&bytes) {
                let again = f.encode();
                prop_assert_eq!(FrameRepr::decode(&again).ok(), Some(f));
            }
        }
    }
}
