//! The transfer stream: how one item version travels, cut into the chunks
//! of [`SyncFrame::Data`](super::SyncFrame::Data) frames and put back
//! together by the receiver.
//!
//! | field | encoding |
//! |---|---|
//! | kind | u8: the [`ItemKind`] in bits 0–2, bit 3 set when a name follows the codec, the document [`Format`] code in the high nibble |
//! | seq | varint: the version number |
//! | length | varint: the item's bytes once decompressed |
//! | codec | u8: how the rest is compressed (`sync::compress::Codec`) |
//! | name | only with bit 3: varint length, then that many UTF-8 bytes (at most [`MAX_NAME_BYTES`]) |
//! | body | the (compressed) bytes, to the end of the stream |
//!
//! The name is sent only for an item whose document does not name it: an
//! untitled OKW facility is named after its file, and a receiver has no
//! file. It needs no signature of its own: the name is part of the content
//! the signature covers, so a wrong one fails the receiver's check.

use catalogue::entry::MAX_NAME_BYTES;
use catalogue::{Format, ItemKind};

use super::codec::{get_varint, put_varint};

/// The header at the front of a transfer stream.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransferHeader {
    /// What the item is.
    pub kind: ItemKind,
    /// The document format its bytes are in.
    pub format: Format,
    /// The version number.
    pub seq: u32,
    /// Length of the item's bytes once decompressed.
    pub len_bytes: usize,
    /// The compression codec byte (checked when decompressing).
    pub codec: u8,
    /// The name to read the document under, when the document does not
    /// name the item itself (see the module docs).
    pub name: Option<String>,
}

/// Bit 3 of the kind byte: a name follows the codec byte.
const NAMED: u8 = 0x08;

/// Why a transfer stream's header could not be read. The display texts are
/// what the node logs for a rejected transfer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum TransferError {
    /// The stream has no byte at all.
    #[error("empty stream")]
    Empty,
    /// The low nibble of the kind byte is not an item kind.
    #[error("unknown item kind {0}")]
    Kind(u8),
    /// The high nibble of the kind byte is not a document format code.
    #[error("unknown document format {0}")]
    Format(u8),
    /// The version number is not a well-formed varint.
    #[error("bad seq")]
    Seq,
    /// The length is not a well-formed varint.
    #[error("bad length")]
    Length,
    /// The version number does not fit in 32 bits.
    #[error("seq out of range")]
    SeqRange,
    /// The announced length is over the receiver's limit.
    #[error("item too large")]
    TooLarge {
        /// The announced length.
        len_bytes: u64,
        /// The receiver's limit.
        max_bytes: usize,
    },
    /// The stream ends before the codec byte.
    #[error("missing codec")]
    MissingCodec,
    /// The name's length is not a well-formed varint, is over
    /// [`MAX_NAME_BYTES`], or runs past the stream's end.
    #[error("bad name length")]
    NameLength,
    /// The name is not UTF-8.
    #[error("name is not UTF-8")]
    NameUtf8,
}

impl TransferHeader {
    /// Appends the header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let named = if self.name.is_some() { NAMED } else { 0 };
        out.push(kind_code(self.kind) | named | self.format.code() << 4);
        put_varint(out, u64::from(self.seq));
        put_varint(out, self.len_bytes as u64);
        out.push(self.codec);
        if let Some(name) = &self.name {
            put_varint(out, name.len() as u64);
            out.extend_from_slice(name.as_bytes());
        }
    }

    /// Reads the header of untrusted `stream`, refusing an item announced
    /// over `max_len_bytes` before anything is decompressed; returns it with
    /// the body after it.
    pub fn parse(stream: &[u8], max_len_bytes: usize) -> Result<(Self, &[u8]), TransferError> {
        let (&kind_byte, rest) = stream.split_first().ok_or(TransferError::Empty)?;
        let kind = match kind_byte & 0x0f & !NAMED {
            0 => ItemKind::Manifest,
            1 => ItemKind::Facility,
            k => return Err(TransferError::Kind(k)),
        };
        let format =
            Format::from_code(kind_byte >> 4).ok_or(TransferError::Format(kind_byte >> 4))?;
        let (seq, used) = get_varint(rest).ok_or(TransferError::Seq)?;
        let rest = &rest[used..];
        let (len, used) = get_varint(rest).ok_or(TransferError::Length)?;
        let rest = &rest[used..];
        let seq = u32::try_from(seq).map_err(|_| TransferError::SeqRange)?;
        let len_bytes = usize::try_from(len)
            .ok()
            .filter(|l| *l <= max_len_bytes)
            .ok_or(TransferError::TooLarge {
                len_bytes: len,
                max_bytes: max_len_bytes,
            })?;
        let (&codec, mut body) = rest.split_first().ok_or(TransferError::MissingCodec)?;
        let mut name = None;
        if kind_byte & NAMED != 0 {
            let (len, used) = get_varint(body).ok_or(TransferError::NameLength)?;
            let len = usize::try_from(len)
                .ok()
                .filter(|l| *l <= MAX_NAME_BYTES)
                .ok_or(TransferError::NameLength)?;
            let bytes = body
                .get(used..used + len)
                .ok_or(TransferError::NameLength)?;
            let text = std::str::from_utf8(bytes).map_err(|_| TransferError::NameUtf8)?;
            name = Some(text.to_owned());
            body = &body[used + len..];
        }
        let header = TransferHeader {
            kind,
            format,
            seq,
            len_bytes,
            codec,
            name,
        };
        Ok((header, body))
    }
}

/// The kind's code in the low nibble (the inverse of the match in `parse`).
fn kind_code(kind: ItemKind) -> u8 {
    match kind {
        ItemKind::Manifest => 0,
        ItemKind::Facility => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> TransferHeader {
        TransferHeader {
            kind: ItemKind::Facility,
            format: Format::Json,
            seq: 300,
            len_bytes: 1_000,
            codec: 1,
            name: None,
        }
    }

    #[test]
    fn round_trips_with_the_body_after_it() {
        let mut s = Vec::new();
        header().encode(&mut s);
        // Facility 1 | JSON 1 << 4, seq 300 (2 bytes), length 1000 (2 bytes), codec.
        assert_eq!(s, [0x11, 0xac, 0x02, 0xe8, 0x07, 1]);
        s.extend_from_slice(b"body");
        assert_eq!(
            TransferHeader::parse(&s, 1_000),
            Ok((header(), &b"body"[..]))
        );
    }

    #[test]
    fn a_name_follows_the_codec_when_bit_3_says_so() {
        let named = TransferHeader {
            name: Some("RobsArduinoShop".into()),
            ..header()
        };
        let mut s = Vec::new();
        named.encode(&mut s);
        assert_eq!(&s[..7], [0x19, 0xac, 0x02, 0xe8, 0x07, 1, 15]);
        assert_eq!(&s[7..], b"RobsArduinoShop");
        s.extend_from_slice(b"body");
        assert_eq!(TransferHeader::parse(&s, 1_000), Ok((named, &b"body"[..])));
    }

    #[test]
    fn the_kind_byte_keeps_the_item_kind_and_format_nibbles() {
        for kind in [ItemKind::Manifest, ItemKind::Facility] {
            for format in Format::ALL {
                let mut s = Vec::new();
                TransferHeader {
                    kind,
                    format,
                    ..header()
                }
                .encode(&mut s);
                assert_eq!(s[0], kind as u8 | format.code() << 4);
                let (h, _) = TransferHeader::parse(&s, usize::MAX).unwrap();
                assert_eq!((h.kind, h.format), (kind, format));
            }
        }
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        let parse = |s: &[u8]| TransferHeader::parse(s, 1_000).map(|(h, _)| h);
        assert_eq!(parse(&[]), Err(TransferError::Empty));
        assert_eq!(parse(&[0x12]), Err(TransferError::Kind(2)));
        assert_eq!(parse(&[0xf0]), Err(TransferError::Format(15)));
        assert_eq!(parse(&[0x10, 0x80]), Err(TransferError::Seq));
        assert_eq!(parse(&[0x10, 1]), Err(TransferError::Length));
        assert_eq!(
            parse(&[0x10, 0x80, 0x80, 0x80, 0x80, 0x10, 1]),
            Err(TransferError::SeqRange)
        );
        assert_eq!(
            parse(&[0x10, 1, 0xe9, 0x07, 0]),
            Err(TransferError::TooLarge {
                len_bytes: 1_001,
                max_bytes: 1_000
            })
        );
        assert_eq!(parse(&[0x10, 1, 5]), Err(TransferError::MissingCodec));
        assert_eq!(parse(&[0x18, 1, 5, 0]), Err(TransferError::NameLength));
        assert_eq!(
            parse(&[0x18, 1, 5, 0, 3, b'a']),
            Err(TransferError::NameLength)
        );
        assert_eq!(
            parse(&[0x18, 1, 5, 0, 0x81, 0x08]),
            Err(TransferError::NameLength),
            "1,025 bytes is over MAX_NAME_BYTES"
        );
        assert_eq!(
            parse(&[0x18, 1, 5, 0, 1, 0xff]),
            Err(TransferError::NameUtf8)
        );
        assert_eq!(TransferError::Kind(2).to_string(), "unknown item kind 2");
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in 0usize..100_000) {
            if let Ok((h, body)) = TransferHeader::parse(&bytes, max) {
                prop_assert!(h.len_bytes <= max);
                // What parses re-encodes to a header that parses the same.
                let mut again = Vec::new();
                h.encode(&mut again);
                again.extend_from_slice(body);
                prop_assert_eq!(TransferHeader::parse(&again, max), Ok((h, body)));
            }
        }
    }
}
