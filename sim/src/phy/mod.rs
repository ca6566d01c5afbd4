//! The LoRa physical layer: modulation and time on air, regions, path loss,
//! receiver sensitivity, collisions and capture. Pure functions and small
//! value types; the simulation engine applies them.

pub mod capture;
pub mod lora;
pub mod pathloss;
pub mod receiver;
pub mod region;

pub use capture::{CaptureModel, Heard};
pub use lora::{LoraParams, ModemPreset};
pub use pathloss::{Environment, PathLossModel};
pub use region::Region;
