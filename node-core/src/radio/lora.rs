//! LoRa modulation parameters, Meshtastic modem presets and time on air.
//!
//! Time on air follows Semtech AN1200.13 (the same formula as ns-3 lorawan
//! `lora-phy.cc` and LoRaSim `airtime()`):
//!
//! ```text
//! Tsym      = 2^SF / BW
//! Tpreamble = (Npreamble + 4.25) · Tsym
//! Npayload  = 8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)
//! ToA       = Tpreamble + Npayload · Tsym
//! ```
//!
//! It is evaluated in integer nanoseconds, so results are exact for the
//! standard bandwidths and identical on every machine. Note that CR here is
//! 1..4 (for 4/5..4/8); Meshtasticator uses the denominator 5..8 and so
//! overestimates airtime by 1.4–1.6×.

use core::fmt;
use core::str::FromStr;

use crate::time::Duration;

/// Preamble length Meshtastic uses, in symbols (firmware `RadioInterface`).
pub const MESHTASTIC_PREAMBLE_SYMBOLS: u16 = 16;

/// Symbols of the preamble a receiver needs to lock (LoRaSim / Meshtasticator
/// use the last 5 of the preamble as the critical section).
pub const LOCK_SYMBOLS_BEFORE_END: u16 = 5;

/// LoRa physical-layer settings of one transmission.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LoraParams {
    /// Spreading factor, 6..=12.
    pub sf: u8,
    /// Bandwidth in Hz.
    pub bw_hz: u32,
    /// Coding rate index 1..=4, meaning 4/5..4/8.
    pub cr: u8,
    /// Preamble length in symbols.
    pub preamble_symbols: u16,
    /// Explicit header (Meshtastic: yes).
    pub explicit_header: bool,
    /// Payload CRC (Meshtastic: yes).
    pub crc: bool,
    /// Low-data-rate optimisation; `None` applies the rule "on when a symbol
    /// lasts more than 16 ms".
    pub low_data_rate: Option<bool>,
}

/// Why LoRa parameters are unusable.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum LoraParamsError {
    /// Spreading factor outside 6..=12.
    #[error("spreading factor {0} is outside 6..=12")]
    SpreadingFactor(u8),
    /// Bandwidth outside what LoRa chips support.
    #[error("bandwidth {0} Hz is outside 7,800..=500,000 Hz")]
    Bandwidth(u32),
    /// Coding rate index outside 1..=4.
    #[error("coding rate index {0} is outside 1..=4 (4/5..4/8)")]
    CodingRate(u8),
    /// Preamble outside 6..=65,535 symbols.
    #[error("preamble of {0} symbols is shorter than the minimum of 6")]
    Preamble(u16),
}

impl LoraParams {
    /// Parameters with Meshtastic's framing (16-symbol preamble, explicit
    /// header, CRC, automatic low-data-rate optimisation).
    pub const fn meshtastic(sf: u8, bw_hz: u32, cr: u8) -> Self {
        LoraParams {
            sf,
            bw_hz,
            cr,
            preamble_symbols: MESHTASTIC_PREAMBLE_SYMBOLS,
            explicit_header: true,
            crc: true,
            low_data_rate: None,
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), LoraParamsError> {
        if !(6..=12).contains(&self.sf) {
            return Err(LoraParamsError::SpreadingFactor(self.sf));
        }
        if !(7_800..=500_000).contains(&self.bw_hz) {
            return Err(LoraParamsError::Bandwidth(self.bw_hz));
        }
        if !(1..=4).contains(&self.cr) {
            return Err(LoraParamsError::CodingRate(self.cr));
        }
        if self.preamble_symbols < 6 {
            return Err(LoraParamsError::Preamble(self.preamble_symbols));
        }
        Ok(())
    }

    /// Symbol time in nanoseconds.
    pub fn symbol_ns(&self) -> u64 {
        (1u64 << self.sf) * 1_000_000_000 / u64::from(self.bw_hz)
    }

    /// Symbol time.
    pub fn symbol_time(&self) -> Duration {
        Duration::from_micros(self.symbol_ns().div_ceil(1_000))
    }

    /// Whether low-data-rate optimisation is on.
    pub fn low_data_rate_on(&self) -> bool {
        self.low_data_rate.unwrap_or(self.symbol_ns() > 16_000_000)
    }

    /// Number of payload symbols (including the 8 fixed ones) for
    /// `payload_bytes` bytes of LoRa payload.
    pub fn payload_symbols(&self, payload_bytes: usize) -> u64 {
        let sf = i64::from(self.sf);
        let de = i64::from(self.low_data_rate_on());
        let numerator = 8 * payload_bytes as i64 - 4 * sf + 28 + 16 * i64::from(self.crc)
            - 20 * i64::from(!self.explicit_header);
        let denominator = 4 * (sf - 2 * de);
        let blocks = if numerator > 0 {
            (numerator + denominator - 1) / denominator
        } else {
            0
        };
        8 + (blocks * (i64::from(self.cr) + 4)) as u64
    }

    /// Time on air of `payload_bytes` bytes of LoRa payload, in nanoseconds.
    pub fn airtime_ns(&self, payload_bytes: usize) -> u64 {
        let tsym = self.symbol_ns();
        // (Npreamble + 4.25) · Tsym, kept integral as (4·Npreamble + 17) · Tsym / 4.
        let preamble = (4 * u64::from(self.preamble_symbols) + 17) * tsym / 4;
        preamble + self.payload_symbols(payload_bytes) * tsym
    }

    /// Time on air of `payload_bytes` bytes of LoRa payload, rounded to the
    /// nearest microsecond.
    pub fn airtime(&self, payload_bytes: usize) -> Duration {
        Duration::from_micros((self.airtime_ns(payload_bytes) + 500) / 1_000)
    }

    /// From the start of a transmission to the point where a receiver has
    /// locked onto it (all but the last [`LOCK_SYMBOLS_BEFORE_END`] preamble
    /// symbols have passed).
    pub fn lock_offset(&self) -> Duration {
        let symbols = u64::from(
            self.preamble_symbols
                .saturating_sub(LOCK_SYMBOLS_BEFORE_END),
        );
        Duration::from_micros(symbols * self.symbol_ns() / 1_000)
    }

    /// Equivalent bit rate in bits per second: SF · BW / 2^SF · 4/(4+CR).
    pub fn bitrate_bps(&self) -> f64 {
        f64::from(self.sf) * f64::from(self.bw_hz) / f64::from(1u32 << self.sf) * 4.0
            / (4.0 + f64::from(self.cr))
    }
}

/// Meshtastic modem presets (firmware `src/mesh/MeshRadio.h`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ModemPreset {
    /// SF7, 500 kHz, 4/5.
    ShortTurbo,
    /// SF7, 250 kHz, 4/5.
    ShortFast,
    /// SF8, 250 kHz, 4/5.
    ShortSlow,
    /// SF9, 250 kHz, 4/5.
    MediumFast,
    /// SF10, 250 kHz, 4/5.
    MediumSlow,
    /// SF11, 500 kHz, 4/8.
    LongTurbo,
    /// SF11, 250 kHz, 4/5 — Meshtastic's default.
    LongFast,
    /// SF11, 125 kHz, 4/8.
    LongModerate,
    /// SF12, 125 kHz, 4/8.
    LongSlow,
}

impl ModemPreset {
    /// Every preset, fastest first.
    pub const ALL: [ModemPreset; 9] = [
        ModemPreset::ShortTurbo,
        ModemPreset::ShortFast,
        ModemPreset::ShortSlow,
        ModemPreset::MediumFast,
        ModemPreset::MediumSlow,
        ModemPreset::LongTurbo,
        ModemPreset::LongFast,
        ModemPreset::LongModerate,
        ModemPreset::LongSlow,
    ];

    /// The preset's LoRa parameters with Meshtastic framing.
    pub const fn params(self) -> LoraParams {
        let (sf, bw_hz, cr) = match self {
            ModemPreset::ShortTurbo => (7, 500_000, 1),
            ModemPreset::ShortFast => (7, 250_000, 1),
            ModemPreset::ShortSlow => (8, 250_000, 1),
            ModemPreset::MediumFast => (9, 250_000, 1),
            ModemPreset::MediumSlow => (10, 250_000, 1),
            ModemPreset::LongTurbo => (11, 500_000, 4),
            ModemPreset::LongFast => (11, 250_000, 1),
            ModemPreset::LongModerate => (11, 125_000, 4),
            ModemPreset::LongSlow => (12, 125_000, 4),
        };
        LoraParams::meshtastic(sf, bw_hz, cr)
    }

    /// The name used in scenarios and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            ModemPreset::ShortTurbo => "ShortTurbo",
            ModemPreset::ShortFast => "ShortFast",
            ModemPreset::ShortSlow => "ShortSlow",
            ModemPreset::MediumFast => "MediumFast",
            ModemPreset::MediumSlow => "MediumSlow",
            ModemPreset::LongTurbo => "LongTurbo",
            ModemPreset::LongFast => "LongFast",
            ModemPreset::LongModerate => "LongModerate",
            ModemPreset::LongSlow => "LongSlow",
        }
    }
}

impl fmt::Display for ModemPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A preset name that is not one of [`ModemPreset::ALL`].
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error(
    "unknown modem preset `{0}` (expected one of ShortTurbo, ShortFast, ShortSlow, MediumFast, MediumSlow, LongTurbo, LongFast, LongModerate, LongSlow)"
)]
pub struct UnknownPreset(pub String);

impl FromStr for ModemPreset {
    type Err = UnknownPreset;
    /// Accepts the CamelCase names and the firmware's `LONG_FAST` spelling,
    /// case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        ModemPreset::ALL
            .into_iter()
            .find(|p| p.name().to_lowercase() == key)
            .ok_or_else(|| UnknownPreset(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semtech_check_value() {
        // AN1200.13: SF9, 125 kHz, CR 4/5, 13 bytes, 8-symbol preamble, explicit header, CRC.
        let p = LoraParams {
            preamble_symbols: 8,
            ..LoraParams::meshtastic(9, 125_000, 1)
        };
        assert_eq!(p.airtime_ns(13), 164_864_000);
        assert_eq!(p.airtime(13), Duration::from_micros(164_864));
    }

    #[test]
    fn low_data_rate_optimisation_follows_the_16_ms_rule() {
        assert!(!ModemPreset::LongFast.params().low_data_rate_on()); // 8.192 ms
        assert!(ModemPreset::LongModerate.params().low_data_rate_on()); // 16.384 ms
        assert!(ModemPreset::LongSlow.params().low_data_rate_on()); // 32.768 ms
    }

    #[test]
    fn preset_names_parse_in_both_spellings() {
        assert_eq!("LongFast".parse(), Ok(ModemPreset::LongFast));
        assert_eq!("LONG_FAST".parse(), Ok(ModemPreset::LongFast));
        assert_eq!("medium-slow".parse(), Ok(ModemPreset::MediumSlow));
        assert!("LongFst".parse::<ModemPreset>().is_err());
    }

    #[test]
    fn validation_rejects_out_of_range_values() {
        assert!(LoraParams::meshtastic(13, 125_000, 1).validate().is_err());
        assert!(LoraParams::meshtastic(7, 1_000, 1).validate().is_err());
        assert!(LoraParams::meshtastic(7, 125_000, 5).validate().is_err());
        assert!(ModemPreset::LongSlow.params().validate().is_ok());
    }
}
