//! The LoRa physical layer of the simulated air: path loss, receiver
//! sensitivity, collisions and capture (modulation, time on air and regions
//! come from [`node_core::radio`], which real drivers share). Pure functions and small
//! value types; the simulation engine applies them.

pub mod capture;
pub mod pathloss;
pub mod receiver;

pub use capture::{CaptureModel, Heard};
pub use node_core::radio::{LoraParams, ModemPreset, Region};
pub use pathloss::{Environment, PathLossModel};
