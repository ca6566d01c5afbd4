//! Radio settings a node runs with: LoRa modulation, Meshtastic modem
//! presets and regulatory regions, plus the Meshtastic framing overhead.
//!
//! These live in node-core (not in the simulator) because both drivers need
//! them: the simulator models the air with them, and hw-bridge configures a
//! real radio and estimates airtime for its [`Transport`](crate::Transport).

pub mod lora;
pub mod region;
pub mod seen;

pub use lora::{LoraParams, LoraParamsError, ModemPreset, UnknownPreset};
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
