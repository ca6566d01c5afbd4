//! Log events and their binary encoding (the payload of a log frame).
//!
//! One event per frame. All integers little-endian; `id` 16 bytes, `content`
//! 32 bytes; strings are UTF-8.
//!
//! ```text
//! tag 0x01 Put            origin u8 (0 local, 1 remote), kind u8 (low nibble:
//!                         0 manifest, 1 facility; high nibble: the document
//!                         format, 1 JSON, 2 TOML, 3 YAML), id, seq u32, content,
//!                         name_len u16, name, bytes_len u32, bytes
//! tag 0x02 Touch          key
//! tag 0x03 Evict          key
//! tag 0x04 PackageCached  design id, content, bytes_len u32, bytes
//! tag 0x07 Put (signed)   as Put, then the version's authorship
//!                         (`identity::Authorship`, 121 bytes)
//! tag 0x05 SignalLogged   signal id u64, bytes_len u16, bytes (a verified
//!                         signal as it came from the air, ≤ 255 bytes)
//! tag 0x06 SignalDropped  signal id u64 (expired, superseded, cancelled
//!                         or evicted)
//! key                     0x00 id  (an item) | 0x01 content  (a package)
//! ```
//!
//! A high nibble of 0 (records written before the format was kept) reads
//! the format from the bytes themselves, as a file with no extension is
//! read ([`catalogue::document::detect_format`]).
//!
//! Decoding checks every length against the bytes at hand and the store's
//! hard limits, rejects unknown tags and trailing bytes, and never panics.

use thiserror::Error;

use super::item::{CachedPackage, EntryKey, MAX_ITEM_BYTES, MAX_NAME_BYTES, Origin, StoredItem};
use catalogue::Format;
use catalogue::document::detect_format;
use catalogue::id::{ContentId, ItemId, ItemKind};

use super::item::VersionStamp;
use crate::identity::{AUTHORSHIP_LEN, Authorship};

/// One entry of the store's append-only log. State is the replay of these.
///
/// A `Put` is a "manifest published" or "facility registered" event when it
/// brings the first version of its id, a "new version" / "facility updated"
/// when it becomes the current version of a known id, and adds to history
/// otherwise; the store reports which as a [`Change`](super::Change).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// A version of an item was stored.
    Put {
        /// Published here or received from a peer.
        origin: Origin,
        /// The version.
        item: StoredItem,
    },
    /// An entry was used (read by the user, matched, served): moves it to the
    /// most-recently-used end of its eviction class.
    Touch(EntryKey),
    /// An entry (an item with all its versions, or a package) was evicted to
    /// stay under the capacity limit.
    Evict(EntryKey),
    /// A design package was cached.
    PackageCached(CachedPackage),
    /// A supply or demand signal was taken (the signal log; the store does
    /// not read the bytes, [`crate::signals`] does).
    SignalLogged {
        /// The signal's id.
        id: u64,
        /// Its encoding.
        bytes: Vec<u8>,
    },
    /// A signal was dropped from the signal log.
    SignalDropped(u64),
}

/// The largest signal record the store takes.
pub const MAX_SIGNAL_RECORD_BYTES: usize = 255;

/// Why a log record or snapshot does not decode.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum DecodeError {
    /// The bytes end before the field.
    #[error("truncated at byte {offset} reading {field}")]
    Truncated {
        /// Offset in the record.
        offset: usize,
        /// Field being read.
        field: &'static str,
    },
    /// A field holds a value this version does not know.
    #[error("invalid {field} at byte {offset}: {value}")]
    Invalid {
        /// Offset in the record.
        offset: usize,
        /// Field being read.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A length field exceeds the store's limit.
    #[error("{field} of {len} bytes at byte {offset} exceeds the limit of {max}")]
    TooLong {
        /// Offset in the record.
        offset: usize,
        /// Field being read.
        field: &'static str,
        /// Claimed length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A name is not UTF-8.
    #[error("name at byte {offset} is not UTF-8")]
    BadUtf8 {
        /// Offset in the record.
        offset: usize,
    },
    /// Bytes remain after the last field.
    #[error("{extra} unexpected bytes after the record")]
    Trailing {
        /// Count of extra bytes.
        extra: usize,
    },
    /// A snapshot breaks an ordering or consistency rule.
    #[error("inconsistent snapshot: {0}")]
    Inconsistent(&'static str),
}

const TAG_PUT: u8 = 0x01;
const TAG_TOUCH: u8 = 0x02;
const TAG_EVICT: u8 = 0x03;
const TAG_PACKAGE: u8 = 0x04;
const TAG_PUT_SIGNED: u8 = 0x07;
const TAG_SIGNAL: u8 = 0x05;
const TAG_SIGNAL_DROPPED: u8 = 0x06;

impl Event {
    /// Appends the encoding of this event to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Event::Put { origin, item } => {
                out.push(if item.author.is_some() {
                    TAG_PUT_SIGNED
                } else {
                    TAG_PUT
                });
                out.push(match origin {
                    Origin::Local => 0,
                    Origin::Remote => 1,
                });
                put_item(out, item);
                if let Some(a) = &item.author {
                    a.encode(out);
                }
            }
            Event::Touch(key) => {
                out.push(TAG_TOUCH);
                put_key(out, key);
            }
            Event::Evict(key) => {
                out.push(TAG_EVICT);
                put_key(out, key);
            }
            Event::PackageCached(pkg) => {
                out.push(TAG_PACKAGE);
                out.extend_from_slice(&pkg.design.0);
                out.extend_from_slice(&pkg.content.0);
                put_bytes(out, &pkg.bytes);
            }
            Event::SignalLogged { id, bytes } => {
                out.push(TAG_SIGNAL);
                put_signal(out, *id, bytes);
            }
            Event::SignalDropped(id) => {
                out.push(TAG_SIGNAL_DROPPED);
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
    }

    /// Decodes one event; the whole of `bytes` must be the event.
    pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
        let mut r = Reader::new(bytes);
        let event = match r.u8("event tag")? {
            tag @ (TAG_PUT | TAG_PUT_SIGNED) => {
                let origin = match r.u8("origin")? {
                    0 => Origin::Local,
                    1 => Origin::Remote,
                    v => return Err(r.invalid("origin", v as u64)),
                };
                let mut item = r.item()?;
                if tag == TAG_PUT_SIGNED {
                    item.author = Some(r.authorship()?);
                }
                Event::Put { origin, item }
            }
            TAG_TOUCH => Event::Touch(r.key()?),
            TAG_EVICT => Event::Evict(r.key()?),
            TAG_PACKAGE => Event::PackageCached(CachedPackage {
                design: ItemId(r.array("design id")?),
                content: ContentId(r.array("package content")?),
                bytes: r.bytes("package bytes")?,
            }),
            TAG_SIGNAL => {
                let (id, bytes) = r.signal()?;
                Event::SignalLogged { id, bytes }
            }
            TAG_SIGNAL_DROPPED => Event::SignalDropped(r.u64("signal id")?),
            v => return Err(r.invalid_at(0, "event tag", v as u64)),
        };
        r.finish()?;
        Ok(event)
    }
}

pub(crate) fn put_item(out: &mut Vec<u8>, item: &StoredItem) {
    put_kind(out, item.kind, Some(item.format));
    out.extend_from_slice(&item.id.0);
    put_stamp(out, &item.stamp);
    put_name(out, &item.name);
    put_bytes(out, &item.bytes);
}

/// The kind byte: the kind in the low nibble, and the format code in the
/// high one (none: 0).
pub(crate) fn put_kind(out: &mut Vec<u8>, kind: ItemKind, format: Option<Format>) {
    let kind = match kind {
        ItemKind::Manifest => 0,
        ItemKind::Facility => 1,
    };
    out.push(kind | format.map_or(0, |f| f.code() << 4));
}

/// The format of item bytes stored before formats were kept: what a file
/// with no extension would be read as.
pub(crate) fn legacy_format(bytes: &[u8]) -> Format {
    std::str::from_utf8(bytes).map_or(Format::Yaml, |text| detect_format("", text))
}

pub(crate) fn put_stamp(out: &mut Vec<u8>, stamp: &VersionStamp) {
    out.extend_from_slice(&stamp.seq.to_le_bytes());
    out.extend_from_slice(&stamp.content.0);
}

pub(crate) fn put_name(out: &mut Vec<u8>, name: &str) {
    assert!(name.len() <= MAX_NAME_BYTES, "name length checked on entry");
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    assert!(
        bytes.len() <= MAX_ITEM_BYTES,
        "body length checked on entry"
    );
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A signal record: id u64, length u16, bytes.
pub(crate) fn put_signal(out: &mut Vec<u8>, id: u64, bytes: &[u8]) {
    assert!(
        bytes.len() <= MAX_SIGNAL_RECORD_BYTES,
        "signal length checked on entry"
    );
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

pub(crate) fn put_key(out: &mut Vec<u8>, key: &EntryKey) {
    match key {
        EntryKey::Item(id) => {
            out.push(0);
            out.extend_from_slice(&id.0);
        }
        EntryKey::Package(content) => {
            out.push(1);
            out.extend_from_slice(&content.0);
        }
    }
}

/// A bounds-checked cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                field,
            });
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The `len` bytes of `field` next, unless `len` (read at `len_at`) is
    /// over `max`: a length field is checked before anything is taken.
    fn take_at_most(
        &mut self,
        len_at: usize,
        len: usize,
        max: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        if len > max {
            return Err(DecodeError::TooLong {
                offset: len_at,
                field,
                len: len as u64,
                max: max as u64,
            });
        }
        self.take(len, field)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// An error for the value just read by a one-byte field.
    pub(crate) fn invalid(&self, field: &'static str, value: u64) -> DecodeError {
        self.invalid_at(self.pos.saturating_sub(1), field, value)
    }

    pub(crate) fn invalid_at(&self, offset: usize, field: &'static str, value: u64) -> DecodeError {
        DecodeError::Invalid {
            offset,
            field,
            value,
        }
    }

    /// A kind byte (see [`put_kind`]): the kind, and the format if the
    /// byte names one.
    pub(crate) fn kind(&mut self) -> Result<(ItemKind, Option<Format>), DecodeError> {
        let v = self.u8("kind")?;
        let kind = match v & 0x0f {
            0 => ItemKind::Manifest,
            1 => ItemKind::Facility,
            _ => return Err(self.invalid("kind", v as u64)),
        };
        let format = match v >> 4 {
            0 => None,
            code => Some(Format::from_code(code).ok_or_else(|| self.invalid("format", v as u64))?),
        };
        Ok((kind, format))
    }

    pub(crate) fn stamp(&mut self) -> Result<VersionStamp, DecodeError> {
        Ok(VersionStamp {
            seq: self.u32("seq")?,
            content: ContentId(self.array("content id")?),
        })
    }

    pub(crate) fn name(&mut self) -> Result<String, DecodeError> {
        let len_at = self.pos;
        let len = self.u16("name length")?.into();
        let at = self.pos;
        let raw = self.take_at_most(len_at, len, MAX_NAME_BYTES, "name")?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::BadUtf8 { offset: at })
    }

    pub(crate) fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        let at = self.pos;
        let len = self.u32(field)? as usize;
        Ok(self.take_at_most(at, len, MAX_ITEM_BYTES, field)?.to_vec())
    }

    pub(crate) fn item(&mut self) -> Result<StoredItem, DecodeError> {
        let (kind, format) = self.kind()?;
        let id = ItemId(self.array("item id")?);
        let stamp = self.stamp()?;
        self.version_body(kind, id, stamp, format)
    }

    /// The rest of a stored version after its stamp (and, in a snapshot,
    /// its format byte): name and bytes. With no `format`, the version was
    /// written before formats were kept, and its bytes tell it.
    pub(crate) fn version_body(
        &mut self,
        kind: ItemKind,
        id: ItemId,
        stamp: VersionStamp,
        format: Option<Format>,
    ) -> Result<StoredItem, DecodeError> {
        let name = self.name()?;
        let bytes = self.bytes("item bytes")?;
        Ok(StoredItem {
            kind,
            id,
            stamp,
            name,
            format: format.unwrap_or_else(|| legacy_format(&bytes)),
            bytes,
            author: None,
        })
    }

    /// A version's [`Authorship`] (its fixed-size encoding).
    pub(crate) fn authorship(&mut self) -> Result<Authorship, DecodeError> {
        let at = self.pos;
        let raw = self.take(AUTHORSHIP_LEN, "authorship")?;
        match Authorship::parse(raw) {
            Ok((a, _)) => Ok(a),
            Err(_) => Err(self.invalid_at(at, "authorship flags", u64::from(raw[0]))),
        }
    }

    /// A format byte (see [`Format::code`]).
    pub(crate) fn format(&mut self) -> Result<Format, DecodeError> {
        let code = self.u8("format")?;
        Format::from_code(code).ok_or_else(|| self.invalid("format", code as u64))
    }

    /// A signal record (see [`put_signal`]).
    pub(crate) fn signal(&mut self) -> Result<(u64, Vec<u8>), DecodeError> {
        let id = self.u64("signal id")?;
        let at = self.pos;
        let len = self.u16("signal length")?.into();
        let bytes = self.take_at_most(at, len, MAX_SIGNAL_RECORD_BYTES, "signal")?;
        Ok((id, bytes.to_vec()))
    }

    pub(crate) fn key(&mut self) -> Result<EntryKey, DecodeError> {
        match self.u8("key tag")? {
            0 => Ok(EntryKey::Item(ItemId(self.array("item id")?))),
            1 => Ok(EntryKey::Package(ContentId(self.array("package content")?))),
            v => Err(self.invalid("key tag", v as u64)),
        }
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            extra => Err(DecodeError::Trailing { extra }),
        }
    }
}
