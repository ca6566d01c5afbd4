//! Compression of catalogue items for the air: zstd with a dictionary
//! trained on the OKH/OKW corpus (`data/okmesh-v1.dict`, made by
//! `scripts/train-dictionary.py`).
//!
//! Held out from training, real manifests (median 1,108 bytes) compress to a
//! median of 606 bytes with zlib, 620 with plain zstd and 360 with zstd and
//! the dictionary — about 40 % fewer frames than zlib. An item is sent raw
//! when compression does not pay. The dictionary is part of wire version 1.

/// The dictionary (wire version 1).
pub const DICTIONARY: &[u8] = include_bytes!("../../data/okmesh-v1.dict");

/// zstd level: items are compressed once, when published, so spend effort.
const LEVEL: i32 = 19;

/// The dictionary digested for decompression, once per process: every
/// item received is decompressed, and digesting the dictionary cost more
/// than decompressing a manifest.
fn decoder_dictionary() -> &'static zstd::dict::DecoderDictionary<'static> {
    static PREPARED: std::sync::OnceLock<zstd::dict::DecoderDictionary<'static>> =
        std::sync::OnceLock::new();
    PREPARED.get_or_init(|| zstd::dict::DecoderDictionary::copy(DICTIONARY))
}

/// How an item's bytes travel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Codec {
    /// As they are.
    Raw = 0,
    /// zstd with [`DICTIONARY`].
    ZstdDict = 1,
}

/// Why a stream could not be decompressed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DecompressError {
    /// An unknown codec byte.
    #[error("unknown codec {0}")]
    Codec(u8),
    /// The bytes are not a valid zstd frame for the dictionary.
    #[error("corrupt compressed data: {0}")]
    Corrupt(String),
    /// The output is not the announced length.
    #[error("decompressed {got} bytes, expected {expected}")]
    Length {
        /// Bytes produced.
        got: usize,
        /// Bytes announced.
        expected: usize,
    },
}

/// Compresses `raw`, or keeps it raw when that is smaller.
pub fn compress(raw: &[u8]) -> (Codec, Vec<u8>) {
    let packed = zstd::bulk::Compressor::with_dictionary(LEVEL, DICTIONARY)
        .and_then(|mut c| c.compress(raw))
        .ok();
    match packed {
        Some(p) if p.len() < raw.len() => (Codec::ZstdDict, p),
        _ => (Codec::Raw, raw.to_vec()),
    }
}

/// Reverses [`compress`]; `raw_len` (announced by the sender and bounded by
/// the caller) caps the work done on hostile input.
pub fn decompress(codec: u8, bytes: &[u8], raw_len: usize) -> Result<Vec<u8>, DecompressError> {
    let out = match codec {
        0 => bytes.to_vec(),
        1 => zstd::bulk::Decompressor::with_prepared_dictionary(decoder_dictionary())
            .and_then(|mut d| d.decompress(bytes, raw_len))
            .map_err(|e| DecompressError::Corrupt(e.to_string()))?,
        other => return Err(DecompressError::Codec(other)),
    };
    if out.len() != raw_len {
        return Err(DecompressError::Length {
            got: out.len(),
            expected: raw_len,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_falls_back_to_raw() {
        let text =
            b"title: Open Flexure Microscope\nlicense: CERN-OHL-S-2.0\nfunction: a microscope\n"
                .repeat(4);
        let (codec, packed) = compress(&text);
        assert_eq!(codec, Codec::ZstdDict);
        assert!(packed.len() < text.len() / 2);
        assert_eq!(decompress(codec as u8, &packed, text.len()).unwrap(), text);
        let noise: Vec<u8> = (0..64u8)
            .map(|i| i.wrapping_mul(151).wrapping_add(7))
            .collect();
        let (codec, kept) = compress(&noise);
        assert_eq!((codec, kept.as_slice()), (Codec::Raw, noise.as_slice()));
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert!(decompress(1, b"not zstd at all", 100).is_err());
        assert!(decompress(9, b"", 0).is_err());
        let (_, packed) = compress(&b"abcabcabcabcabcabcabcabcabcabcabcabc".repeat(10));
        assert!(
            decompress(1, &packed, 10).is_err(),
            "announced length too short"
        );
    }
}
