//! The primitives every frame family and the transfer stream are made of:
//! LEB128 varints, and a [`Reader`] that turns every shortfall in untrusted
//! bytes into a [`WireError`] instead of a panic.

use super::{FrameKind, WireError};

/// Appends `v` as LEB128.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 value from the front of `bytes`: (value, bytes used).
pub fn get_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && part > 1 {
            return None; // more than 64 bits
        }
        v |= part << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A cursor over a frame body; errors name the frame kind and the field.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    kind: FrameKind,
}

impl<'a> Reader<'a> {
    /// A cursor over the body of a frame of `kind`.
    pub(crate) fn new(kind: FrameKind, bytes: &'a [u8]) -> Self {
        Reader { bytes, kind }
    }

    /// The error for a bad or missing `field`.
    pub(crate) fn bad(&self, field: &'static str) -> WireError {
        WireError::Field {
            kind: self.kind,
            field,
        }
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let (head, rest) = self.bytes.split_first_chunk::<N>().ok_or(self.bad(field))?;
        self.bytes = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.take::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.take(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take(field)?))
    }

    pub(crate) fn varint(&mut self, field: &'static str) -> Result<u64, WireError> {
        let (v, used) = get_varint(self.bytes).ok_or(self.bad(field))?;
        self.bytes = &self.bytes[used..];
        Ok(v)
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(self.bad(field));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// Whether nothing is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_reject_overlong_input() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        assert_eq!(get_varint(&out), Some((u64::MAX, 10)));
        assert_eq!(get_varint(&[0xff; 11]), None);
        assert_eq!(get_varint(&[0x80]), None);
    }
}
