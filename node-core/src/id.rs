//! Identifiers.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A node's number on the mesh (Meshtastic node numbers are 32-bit).
///
/// In the simulator nodes are numbered `0..n`; on real radios this is the
/// radio's node number.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node tables (simulator ids are dense).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl From<u32> for NodeId {
    fn from(v: u32) -> Self {
        NodeId(v)
    }
}
