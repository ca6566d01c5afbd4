//! Radio settings and the Meshtastic link-layer rules a node runs with.
//!
//! * [`lora`] — LoRa modulation and time on air, Meshtastic modem presets;
//! * [`region`] — regulatory regions (frequency, power, duty cycle);
//! * [`meshtastic`] — Meshtastic's constants and roles (client,
//!   client_mute, router) and its contention-window rules;
//! * [`flood`] — the one managed-flood rule: duplicate? deliver? relay with
//!   which hop limit? cancel a queued relay?;
//! * [`seen`] — the flood's bounded duplicate filter;
//! * [`duty`] — the one duty-cycle budget (sliding-window airtime).
//!
//! These live in node-core (not in the simulator) because every driver
//! needs them: the simulator models the air with them, the UDP testbed and
//! the device emulator flood with them, and hw-bridge configures a real
//! radio and estimates airtime for its [`Transport`](crate::Transport).
//! Everything here is sans-IO and deterministic: no clock (callers pass
//! the time), no randomness but the caller's stream.

pub mod duty;
pub mod flood;
pub mod lora;
pub mod meshtastic;
pub mod region;
pub mod seen;

pub use duty::{DUTY_CYCLE_WINDOW, DutyCycleBudget};
pub use flood::{FloodDecision, FloodHeader, ManagedFlood};
pub use lora::{LoraParams, LoraParamsError, ModemPreset, UnknownPreset};
pub use meshtastic::{Role, UnknownRole};
pub use region::{Region, UnknownRegion};
pub use seen::{SEEN_CAPACITY, SeenPackets};

/// Bytes of the Meshtastic packet header on air (to, from, id, flags,
/// channel hash, next hop, relay node; firmware `RadioInterface.h`).
pub const MESHTASTIC_HEADER_BYTES: usize = 16;

/// Bytes on air of a Meshtastic packet carrying `payload_bytes` of
/// application payload on `PRIVATE_APP`: the 16-byte header plus the `Data`
/// protobuf (portnum 256: 3 bytes; the firmware's `bitfield`: 2; the
/// payload's tag and length: 2 or 3). The largest payload,
/// [`MESHTASTIC_MAX_PAYLOAD_BYTES`](crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES),
/// makes the 255-byte LoRa maximum.
pub const fn meshtastic_frame_bytes(payload_bytes: usize) -> usize {
    let len_varint = if payload_bytes < 128 { 1 } else { 2 };
    MESHTASTIC_HEADER_BYTES + 3 + 2 + 1 + len_varint + payload_bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES;

    #[test]
    fn the_largest_payload_fills_the_largest_lora_frame() {
        assert_eq!(meshtastic_frame_bytes(MESHTASTIC_MAX_PAYLOAD_BYTES), 255);
        assert_eq!(meshtastic_frame_bytes(40), 63);
    }
}
