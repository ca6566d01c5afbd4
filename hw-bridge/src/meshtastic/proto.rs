//! The firmware's protobuf types and the constants okmesh relies on.
//!
//! The types are the `meshtastic` crate's generated code (`prost`), re-exported
//! as [`pb`]; nothing else of that crate is used.

use node_core::transport::MAX_HOP_LIMIT;
use node_core::{Capabilities, Destination, NodeId, SendError};
use prost::Message;

use node_core::radio::{LoraParams, MESHTASTIC_HEADER_BYTES, ModemPreset};

pub use meshtastic::protobufs as pb;

/// The port okmesh frames travel on (`PortNum.PRIVATE_APP`).
pub const PRIVATE_APP: i32 = pb::PortNum::PrivateApp as i32;
/// The port of Routing ACK/NAKs (`PortNum.ROUTING_APP`).
pub const ROUTING_APP: i32 = pb::PortNum::RoutingApp as i32;
/// The port of telemetry (`PortNum.TELEMETRY_APP`): the device sends its own
/// DeviceMetrics (channel utilisation, transmit duty cycle) to its client.
pub const TELEMETRY_APP: i32 = pb::PortNum::TelemetryApp as i32;
/// The node number that means "everybody".
pub const BROADCAST_NUM: u32 = 0xFFFF_FFFF;
/// The `want_config_id` the official clients use to skip the node database.
pub const NODELESS_WANT_CONFIG_ID: u32 = 69_420;

/// Largest encoded `Data` message one LoRa frame carries: 255 bytes minus the
/// 16-byte radio header (firmware `Router::perhapsEncode` refuses more with
/// `TOO_LARGE`).
pub const MAX_DATA_ENCODED_BYTES: usize = 255 - MESHTASTIC_HEADER_BYTES;

/// Largest okmesh payload per packet (node-core's constant; the unit test
/// below re-derives it from the protobuf encoding).
pub const MAX_PAYLOAD_BYTES: usize = node_core::transport::MESHTASTIC_MAX_PAYLOAD_BYTES;

/// The firmware's transmit queue length (`MAX_TX_QUEUE`), used until the
/// radio reports its own.
pub const DEFAULT_TX_QUEUE_LEN: u32 = 16;

/// The modem settings okmesh assumes for airtime estimates: Meshtastic's
/// default preset, LongFast.
pub const DEFAULT_PRESET: ModemPreset = ModemPreset::LongFast;

/// What a Meshtastic transport offers a node (LongFast preset).
pub fn capabilities() -> Capabilities {
    Capabilities {
        max_payload_bytes: MAX_PAYLOAD_BYTES,
        broadcast: true,
        bitrate_bps: DEFAULT_PRESET.params().bitrate_bps().round() as u32,
        max_hop_limit: MAX_HOP_LIMIT,
    }
}

/// Encoded size of the `Data` message carrying `payload_bytes` on
/// `PRIVATE_APP`, with the firmware's bitfield.
pub fn data_encoded_len(payload_bytes: usize) -> usize {
    let data = pb::Data {
        portnum: PRIVATE_APP,
        payload: vec![0; payload_bytes],
        bitfield: Some(0),
        ..Default::default()
    };
    data.encoded_len()
}

/// Time on air of one `PRIVATE_APP` packet carrying `payload_bytes`.
pub fn packet_airtime(lora: &LoraParams, payload_bytes: usize) -> node_core::Duration {
    lora.airtime(MESHTASTIC_HEADER_BYTES + data_encoded_len(payload_bytes))
}

/// Maps a node-core destination to a Meshtastic node number.
pub fn to_node_num(dest: Destination) -> u32 {
    match dest {
        Destination::Broadcast => BROADCAST_NUM,
        Destination::Node(NodeId(n)) => n,
    }
}

/// Maps a Meshtastic node number to a node-core destination.
pub fn from_node_num(num: u32) -> Destination {
    if num == BROADCAST_NUM {
        Destination::Broadcast
    } else {
        Destination::Node(NodeId(num))
    }
}

/// Maps node-core's priority to the firmware's queue priority.
pub fn priority(p: node_core::Priority) -> pb::mesh_packet::Priority {
    match p {
        node_core::Priority::Background => pb::mesh_packet::Priority::Background,
        // The firmware has no class between these two: okmesh's own queue
        // already sends chat before signals, so on the radio they share one.
        node_core::Priority::Signal | node_core::Priority::Normal => {
            pb::mesh_packet::Priority::Default
        }
        node_core::Priority::High => pb::mesh_packet::Priority::High,
    }
}

/// The `Data` of the Routing reply a radio sends about packet `request_id`:
/// an ACK for [`pb::routing::Error::None`], else a NAK.
pub fn routing_reply(request_id: u32, error: pb::routing::Error) -> pb::Data {
    pb::Data {
        portnum: ROUTING_APP,
        request_id,
        payload: pb::Routing {
            variant: Some(pb::routing::Variant::ErrorReason(error as i32)),
        }
        .encode_to_vec(),
        ..Default::default()
    }
}

/// Encodes a `ToRadio` message.
pub fn encode_to_radio(msg: &pb::ToRadio) -> Vec<u8> {
    msg.encode_to_vec()
}

/// Encodes a `FromRadio` message.
pub fn encode_from_radio(msg: &pb::FromRadio) -> Vec<u8> {
    msg.encode_to_vec()
}

/// Turns a Routing error the radio reported for a packet of `payload_bytes`
/// into the transport error a node understands; `None` for an ACK.
pub fn routing_error(code: i32, payload_bytes: usize) -> Option<SendError> {
    use pb::routing::Error as E;
    let err = E::try_from(code).ok();
    match err {
        Some(E::None) => None,
        Some(E::TooLarge) => Some(SendError::TooLarge {
            len: payload_bytes,
            max: MAX_PAYLOAD_BYTES,
        }),
        Some(E::DutyCycleLimit) => Some(SendError::DutyCycle),
        Some(e) => Some(SendError::Unavailable(format!(
            "radio reported {}",
            e.as_str_name()
        ))),
        None => Some(SendError::Unavailable(format!(
            "radio reported unknown error code {code}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_limit_is_what_fits_a_lora_frame() {
        assert_eq!(data_encoded_len(MAX_PAYLOAD_BYTES), MAX_DATA_ENCODED_BYTES);
        assert!(data_encoded_len(MAX_PAYLOAD_BYTES + 1) > MAX_DATA_ENCODED_BYTES);
        assert_eq!(PRIVATE_APP, 256);
    }

    #[test]
    fn routing_errors_map_to_send_errors() {
        assert_eq!(routing_error(0, 10), None);
        assert_eq!(
            routing_error(pb::routing::Error::TooLarge as i32, 240),
            Some(SendError::TooLarge { len: 240, max: 231 })
        );
        assert_eq!(
            routing_error(pb::routing::Error::DutyCycleLimit as i32, 1),
            Some(SendError::DutyCycle)
        );
        assert!(matches!(
            routing_error(pb::routing::Error::MaxRetransmit as i32, 1),
            Some(SendError::Unavailable(s)) if s.contains("MAX_RETRANSMIT")
        ));
        assert!(matches!(
            routing_error(9999, 1),
            Some(SendError::Unavailable(_))
        ));
    }
}
