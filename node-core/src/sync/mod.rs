//! Catalogue sync over the mesh.

pub mod gf64;
pub mod sketch;
