//! Transfer-time estimates for a package over LoRa or a fast link, from
//! the link's rate, its duty-cycle share and the number of holders (what
//! `okmesh package estimate` prints).

use crate::time::Duration;

/// What a link offers, for [`estimate`].
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct LinkRate {
    /// Bits per second while sending (LongFast: ~1 070).
    pub bitrate_bps: f64,
    /// Share of time a node may send (EU868 g: 0.1; a wired link: 1.0).
    pub duty_cycle: f64,
    /// Share of the bits that are payload after framing and proofs (0–1].
    pub efficiency: f64,
}

/// Bytes of each LoRa frame a fragmenting layer would spend on its own
/// header (package, piece, fragment numbers), an assumption of
/// [`LinkRate::lora`].
pub const LORA_FRAGMENT_HEADER_BYTES: usize = 10;

impl LinkRate {
    /// A LoRa link with `params` (e.g. a Meshtastic preset's) and a
    /// duty-cycle share: the bit rate is what full frames of
    /// [`MESHTASTIC_MAX_PAYLOAD_BYTES`](crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES)
    /// achieve through their time on air (preamble and header included), of
    /// which [`LORA_FRAGMENT_HEADER_BYTES`] per frame are not payload.
    pub fn lora(params: &crate::radio::LoraParams, duty_cycle: f64) -> LinkRate {
        let frame = crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES;
        LinkRate {
            bitrate_bps: frame as f64 * 8.0 / params.airtime(frame).as_secs_f64(),
            duty_cycle,
            efficiency: (frame - LORA_FRAGMENT_HEADER_BYTES) as f64 / frame as f64,
        }
    }

    /// A fast link (Wi-Fi, Ethernet, UDP) of `bitrate_bps` with no duty
    /// limit; 3 % goes to datagram and message headers.
    pub fn fast(bitrate_bps: f64) -> LinkRate {
        LinkRate {
            bitrate_bps,
            duty_cycle: 1.0,
            efficiency: 0.97,
        }
    }
}

/// A transfer estimate.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Estimate {
    /// Time to the last piece.
    pub time: Duration,
    /// Payload bytes per second the path sustains.
    pub rate_bytes_per_s: f64,
}

/// Estimates a transfer of `total_bytes` in `piece_count` pieces over
/// `hops` hops of `link`, from `holders` holders in reach of the requester.
///
/// Each node has its own duty-cycle budget, so `h` holders on one channel
/// can keep it busy `min(1, h × duty)` of the time; relays further on have
/// one sender each (`duty`). Pieces pipeline across hops, so the time is
/// the bottleneck hop's time for every piece plus one piece per further hop.
pub fn estimate(
    total_bytes: u64,
    piece_count: u32,
    hops: u32,
    holders: u32,
    link: LinkRate,
) -> Estimate {
    let hop_rate = |senders: f64| {
        link.bitrate_bps / 8.0 * link.efficiency * (senders * link.duty_cycle).min(1.0)
    };
    let first = hop_rate(f64::from(holders.max(1)));
    let bottleneck = if hops > 1 {
        first.min(hop_rate(1.0))
    } else {
        first
    };
    let piece_bytes = total_bytes as f64 / f64::from(piece_count.max(1));
    let secs = total_bytes as f64 / bottleneck
        + f64::from(hops.saturating_sub(1)) * piece_bytes / hop_rate(1.0);
    Estimate {
        time: Duration::from_micros((secs * 1e6) as u64),
        rate_bytes_per_s: total_bytes as f64 / secs,
    }
}
