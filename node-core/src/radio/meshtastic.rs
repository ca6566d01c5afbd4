//! Meshtastic's link-layer constants and roles, in one place for every
//! driver that plays a Meshtastic radio (firmware `RadioInterface.cpp`,
//! `FloodingRouter.cpp`, `Config.DeviceConfig.Role`).
//!
//! The contention rules are pure functions of their inputs and a caller's
//! random stream, so the simulator draws exactly what the firmware would
//! and a replay draws the same again.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::radio::LoraParams;
use crate::rng::Rng;
use crate::time::Duration;

/// Frames a Meshtastic radio's transmit queue holds (firmware `MAX_TX_QUEUE`).
pub const MAX_TX_QUEUE: u32 = 16;

/// Smallest contention window exponent (firmware `CWmin`).
pub const CW_MIN: u32 = 3;
/// Largest contention window exponent (firmware `CWmax`).
pub const CW_MAX: u32 = 8;
/// SNR mapped to [`CW_MIN`] (firmware `SNR_MIN`).
pub const SNR_MIN_DB: i64 = -20;
/// SNR mapped to [`CW_MAX`] (firmware `SNR_MAX`).
pub const SNR_MAX_DB: i64 = 10;
/// The fixed part of a contention slot, µs (firmware: 7.6 ms of
/// processing and turnaround added to 2.5 symbols).
pub const SLOT_EXTRA_US: u64 = 7_600;

/// A node's Meshtastic role: how its radio takes part in the managed flood.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Relays what it hears, and cancels its relay when it overhears
    /// another node relaying the same packet first.
    #[default]
    Client,
    /// Receives but never relays.
    ClientMute,
    /// Always relays (ahead of clients) and never cancels.
    Router,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Client, Role::ClientMute, Role::Router];

    /// The name used in files (`client`, `client_mute`, `router`).
    pub const fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::ClientMute => "client_mute",
            Role::Router => "router",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown role `{0}` (expected client, client_mute or router)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    /// Accepts the names in any case, `-` for `_`, `mute` for
    /// `client_mute`, and the empty string for the default (`client`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "" | "client" => Ok(Role::Client),
            "client_mute" | "mute" => Ok(Role::ClientMute),
            "router" => Ok(Role::Router),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

/// The contention slot of a modulation: 2.5 symbols plus
/// [`SLOT_EXTRA_US`] (firmware `slotTimeMsec`), in whole µs.
pub fn slot_time(lora: &LoraParams) -> Duration {
    Duration::from_micros(lora.symbol_ns() * 5 / 2 / 1_000 + SLOT_EXTRA_US)
}

/// The contention window exponent for an SNR: [`CW_MIN`] at −20 dB up to
/// [`CW_MAX`] at +10 dB, linearly with integer arithmetic like Arduino
/// `map()` (the SNR is truncated to whole dB first, as the firmware does).
pub fn contention_window(snr_db: f64) -> u32 {
    let snr = (snr_db as i64).clamp(SNR_MIN_DB, SNR_MAX_DB);
    ((snr - SNR_MIN_DB) * i64::from(CW_MAX - CW_MIN) / (SNR_MAX_DB - SNR_MIN_DB)) as u32 + CW_MIN
}

/// Delay before sending an original packet, or retrying after the channel
/// was busy: random(0, 2^CW) slots, CW growing with the channel
/// utilisation (percent, 0..=100) from [`CW_MIN`] to [`CW_MAX`] (firmware
/// `getTxDelayMsec`). Draws once from `rng`.
pub fn tx_delay(channel_util_pct: u64, slot: Duration, rng: &mut Rng) -> Duration {
    let util = channel_util_pct.min(100);
    let cw = (util * u64::from(CW_MAX - CW_MIN) / 100) as u32 + CW_MIN;
    slot.saturating_mul(rng.below(1 << cw))
}

/// Delay before relaying a packet heard at `snr_db` (firmware
/// `getTxDelayMsecWeighted`): the better the SNR, the longer a client waits,
/// so farther nodes relay first; a router draws from the front of the
/// window, ahead of every client. Draws once from `rng`.
pub fn relay_delay(role: Role, snr_db: f64, slot: Duration, rng: &mut Rng) -> Duration {
    let cw = contention_window(snr_db);
    if role == Role::Router {
        slot.saturating_mul(rng.below(2 * u64::from(cw)))
    } else {
        slot.saturating_mul(2 * u64::from(CW_MAX) + rng.below(1 << cw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radio::ModemPreset;

    #[test]
    fn contention_window_maps_snr_linearly() {
        assert_eq!(contention_window(-30.0), 3);
        assert_eq!(contention_window(-20.0), 3);
        assert_eq!(contention_window(-5.0), 5);
        assert_eq!(contention_window(10.0), 8);
        assert_eq!(contention_window(25.0), 8);
    }

    #[test]
    fn the_long_fast_slot_is_two_and_a_half_symbols_plus_7_6_ms() {
        // LongFast: 8.192 ms symbols.
        let slot = slot_time(&ModemPreset::LongFast.params());
        assert_eq!(slot, Duration::from_micros(20_480 + 7_600));
    }

    #[test]
    fn routers_relay_ahead_of_every_client() {
        let slot = Duration::from_millis(10);
        let mut rng = Rng::derive(1, "test", 0);
        for snr in [-25.0, -5.0, 0.0, 12.0] {
            for _ in 0..50 {
                let router = relay_delay(Role::Router, snr, slot, &mut rng);
                let client = relay_delay(Role::Client, snr, slot, &mut rng);
                assert!(router < slot.saturating_mul(2 * u64::from(CW_MAX)));
                assert!(client >= slot.saturating_mul(2 * u64::from(CW_MAX)));
                assert!(router < client, "{snr} dB");
            }
        }
    }

    #[test]
    fn a_busier_channel_widens_the_transmit_window() {
        let slot = Duration::from_millis(1);
        let max = |util| {
            let mut rng = Rng::derive(2, "test", 0);
            (0..2_000)
                .map(|_| tx_delay(util, slot, &mut rng))
                .max()
                .unwrap()
        };
        assert!(max(0) < slot.saturating_mul(1 << CW_MIN));
        assert!(max(100) >= slot.saturating_mul(1 << CW_MIN));
        assert!(max(100) < slot.saturating_mul(1 << CW_MAX));
        assert_eq!(max(250), max(100), "utilisation is capped at 100 %");
    }

    #[test]
    fn role_names_parse_and_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.name().parse(), Ok(r));
            assert_eq!(r.to_string(), r.name());
        }
        assert_eq!("Client-Mute".parse(), Ok(Role::ClientMute));
        assert_eq!("mute".parse(), Ok(Role::ClientMute));
        assert_eq!("".parse(), Ok(Role::Client));
        let e = "repeater".parse::<Role>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown role `repeater` (expected client, client_mute or router)"
        );
    }
}
