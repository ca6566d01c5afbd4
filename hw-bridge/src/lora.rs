//! LoRa time on air, for the transports' `airtime` estimates and the device
//! emulator's duty-cycle accounting.
//!
//! Semtech AN1200.13 (see `shared/reference/lora.md`):
//!
//! ```text
//! Tsym      = 2^SF / BW
//! Tpreamble = (Npreamble + 4.25) · Tsym
//! Npayload  = 8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)
//! ```
//!
//! Meshtastic uses an explicit header, CRC on and a 16-symbol preamble.

use node_core::Duration;

/// Bytes of the Meshtastic radio header in front of every encrypted payload
/// (to, from, id, flags, channel hash, next hop, relay node).
pub const MESHTASTIC_HEADER_BYTES: usize = 16;

/// The modem settings that decide time on air.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LoraParams {
    /// Spreading factor, 7..=12.
    pub spreading_factor: u8,
    /// Bandwidth in Hz.
    pub bandwidth_hz: u32,
    /// Coding rate 4/(4+cr), cr in 1..=4.
    pub coding_rate: u8,
    /// Preamble length in symbols.
    pub preamble_symbols: u16,
}

/// Meshtastic's default preset, LongFast (firmware `MeshRadio.h`).
pub const LONG_FAST: LoraParams = LoraParams {
    spreading_factor: 11,
    bandwidth_hz: 250_000,
    coding_rate: 1,
    preamble_symbols: 16,
};

impl LoraParams {
    /// Raw bit rate in bits per second: SF · BW / 2^SF · 4/(4+CR).
    pub fn bitrate_bps(&self) -> u32 {
        let sf = f64::from(self.spreading_factor);
        let bps = sf * f64::from(self.bandwidth_hz) / 2f64.powi(i32::from(self.spreading_factor))
            * 4.0
            / (4.0 + f64::from(self.coding_rate));
        bps.round() as u32
    }

    /// Time on air of a LoRa frame carrying `phy_payload_bytes`.
    pub fn airtime(&self, phy_payload_bytes: usize) -> Duration {
        let sf = f64::from(self.spreading_factor);
        let t_sym_us =
            2f64.powi(i32::from(self.spreading_factor)) * 1e6 / f64::from(self.bandwidth_hz);
        let de = if t_sym_us > 16_000.0 { 1.0 } else { 0.0 };
        let (crc, ih) = (1.0, 0.0);
        let t_preamble_us = (f64::from(self.preamble_symbols) + 4.25) * t_sym_us;
        let num = 8.0 * phy_payload_bytes as f64 - 4.0 * sf + 28.0 + 16.0 * crc - 20.0 * ih;
        let den = 4.0 * (sf - 2.0 * de);
        let n_payload = 8.0 + ((num / den).ceil() * (f64::from(self.coding_rate) + 4.0)).max(0.0);
        Duration::from_micros((t_preamble_us + n_payload * t_sym_us).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_check_values() {
        // AN1200.13 check value: SF9, 125 kHz, CR 4/5, 8-symbol preamble, 13 B.
        let p = LoraParams {
            spreading_factor: 9,
            bandwidth_hz: 125_000,
            coding_rate: 1,
            preamble_symbols: 8,
        };
        assert_eq!(p.airtime(13).as_micros(), 164_864);
        // LongFast row of the preset table: 16 B / 66 B / 255 B → 354 / 723 / 2157 ms.
        for (bytes, ms) in [(16, 354), (66, 723), (255, 2157)] {
            let got = (LONG_FAST.airtime(bytes).as_micros() + 500) / 1_000;
            assert_eq!(got, ms, "{bytes} B");
        }
        assert_eq!(LONG_FAST.bitrate_bps(), 1074);
    }
}
