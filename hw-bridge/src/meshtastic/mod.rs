//! Meshtastic radios over their client API (serial or TCP port 4403).
//!
//! Layers, bottom up, each usable and testable on its own:
//!
//! * [`stream`] — the `0x94 0xC3` + length framing, a sans-IO decoder that
//!   resynchronises on bad headers and never stalls;
//! * [`proto`] — the firmware's protobuf types (generated code from the
//!   `meshtastic` crate, used for its types only) and the few constants and
//!   conversions okmesh needs;
//! * [`client`] — a sans-IO client: config handshake, QueueStatus flow
//!   control, `PRIVATE_APP` packets with an explicit hop limit, Routing
//!   ACK/NAKs turned into [`node_core::SendError`]s, heartbeats;
//! * [`link`] — the tokio task that owns the serial port or TCP socket,
//!   runs the client and reconnects with backoff, exposed to the driver as a
//!   [`crate::radio::RadioLink`].
//!
//! The `meshtastic` crate's own stream reader and send helpers are not used:
//! its 0.1.9 reader drops a frame whose bytes contain `0x94 0xC3` and can
//! then stall, its writer does not loop on short writes, and its send helpers
//! leave `hop_limit` at 0.

pub mod client;
pub mod link;
pub mod proto;
pub mod stream;

pub use client::{ClientConfig, ClientEvent, MeshtasticClient};
pub use link::{MeshtasticAddr, connect};
pub use stream::{StreamDecoder, StreamError, StreamEvent, encode_frame};
