//! # sim — a deterministic discrete-event simulator of LoRa mesh networks
//!
//! (crate docs are completed below as layers land)

pub mod phy;
