//! What [`Node::publish`](super::Node::publish) returns.

use catalogue::{ItemId, ParseError};

use crate::store::StoreError;

/// Why an item could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The bytes are not a manifest / facility.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The file holds no item (an empty facility list).
    #[error("{0}: no item in the file")]
    Empty(String),
    /// An item's bytes, read back alone in their format, would not give the
    /// same item (its id or content would change), so it is not stored.
    #[error("{file}: `{name}` would not read back from the store as the same item")]
    WouldNotReadBack {
        /// The file.
        file: String,
        /// The item's title.
        name: String,
    },
    /// The store refused it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One item a publish call stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Published {
    /// The item.
    pub item: ItemId,
    /// The version now current.
    pub seq: u32,
    /// Whether this was a new version (false: the same content was current).
    pub new_version: bool,
}
