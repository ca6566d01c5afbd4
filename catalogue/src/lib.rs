//! # catalogue — open-hardware knowledge, with no mesh, no time and no I/O
//!
//! What okmesh knows about designs and facilities, independent of how that
//! knowledge travels: reading Open Know-How (OKH) manifests and Open
//! Know-Where (OKW) facility profiles of every dialect into one model, the
//! ids that name them, what a design needs and what a facility has, and
//! matching the two.
//!
//! Layers, bottom up:
//!
//! * [`document`] — JSON/TOML/YAML bytes into one tree, with errors that
//!   name file, line and field;
//! * [`id`] — [`ItemKind`], [`ItemId`] and [`ContentId`], and [`identify`]:
//!   which items a file holds;
//! * [`okh`] — Open Know-How manifests of every dialect, one model;
//! * [`okw`] — Open Know-Where facilities and informal capability profiles;
//! * [`taxonomy`] — the matching vocabulary (processes, tools, materials,
//!   substitutions), loaded from `data/taxonomy.toml`;
//! * [`requirements`] — what a design needs and what a facility has, with
//!   [`infer`] reading needs from prose;
//! * [`matching`] — scores, ranking, reverse matching and multi-facility
//!   plans over pre-compiled tables;
//! * [`entry`] — the one way a file becomes catalogue entries (a facility
//!   list gives one entry per facility) and an entry is read back;
//! * [`ranked`] — what people see of a match: ranked results, gaps in
//!   words, and "what I have" text turned into capabilities.
//!
//! This crate depends on no other okmesh crate. It reads no clock, draws no
//! randomness and touches no file: callers hand it bytes. `node-core` builds
//! the mesh protocol on top of it; the command line and the field node's
//! HTTP API share its read-back and ranking code, so a match over the API
//! ranks exactly as `okmesh match --json` does.

pub mod document;
pub mod entry;
mod fields;
pub mod id;
pub mod infer;
pub mod matching;
pub mod okh;
pub mod okw;
pub mod ranked;
pub mod requirements;
pub mod taxonomy;

pub use document::{Format, ParseError};
pub use entry::{Entry, entries};
pub use id::{ContentId, ItemId, ItemKind, identify};
