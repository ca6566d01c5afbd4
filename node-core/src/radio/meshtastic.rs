//! Meshtastic's link-layer constants and roles, in one place for every
//! driver that plays a Meshtastic radio (firmware `RadioInterface.cpp`,
//! `RadioLibInterface.cpp`, `FloodingRouter.cpp`, `Config.DeviceConfig.Role`).
//!
//! The contention rules are pure functions of their inputs and a caller's
//! random stream, so the simulator draws exactly what the firmware would
//! and a replay draws the same again.
//!
//! # The transmit-timer discipline (firmware `src/mesh/RadioLibInterface.cpp`)
//!
//! "We never immediately transmit after any operation (either Rx or Tx)"
//! (the comment above `RadioLibInterface::onNotify`). A radio has **one**
//! transmit timer, for the head of its queue ([`TransmitTimer`]):
//!
//! * enqueuing a packet (`RadioLibInterface::send`) calls
//!   `setTransmitDelay`, which arms the timer with the head's delay
//!   ([`transmit_delay`]) through `notifyLater(.., overwrite = false)`: a
//!   timer already pending is kept ([`TransmitTimer::arm`]);
//! * every transmission end (`ISR_TX`) and reception end (`ISR_RX`, a good
//!   or a bad CRC) is an interrupt notification posted with
//!   `overwrite = true`, which replaces a pending timer; its handler then
//!   calls `setTransmitDelay` — so the head always gets a **fresh** delay
//!   after every transmission and reception ([`TransmitTimer::reset`]);
//! * when the timer fires (`TRANSMIT_DELAY_COMPLETED`), a radio that is
//!   transmitting or actively receiving (`canSendImmediately`), or that
//!   senses a LoRa signal (`isChannelActive`, CAD), calls `setTransmitDelay`
//!   again — a relay re-draws its SNR-weighted window, an own packet the
//!   utilisation window ([`on_transmit_timer`]); otherwise the head is sent.
//!
//! Checked against the firmware's `RadioLibInterface.cpp` (`onNotify`,
//! `setTransmitDelay`, `startTransmitTimer`, `startTransmitTimerRebroadcast`),
//! `RadioInterface.cpp` (`getTxDelayMsec`, `getTxDelayMsecWeighted`) and
//! `concurrency/NotifiedWorkerThread.cpp` (`notifyLater`, `notifyCommon`)
//! as published in meshtastic/firmware. Not modelled: the late-rebroadcast
//! window (`tx_after`, `clampToLateRebroadcastWindow`) of roles okmesh does
//! not have, and the firmware's refusal to queue beyond the duty cycle
//! (okmesh holds the head instead, see the simulator's MAC).

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::radio::LoraParams;
use crate::rng::Rng;
use crate::time::{Duration, Instant};

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

/// The delay `setTransmitDelay` gives the head of the queue (firmware
/// `RadioLibInterface::setTransmitDelay`): a packet heard from the air (it
/// has a receive SNR, `rx_snr`/`rx_rssi` non-zero) waits its SNR-weighted
/// window ([`relay_delay`], via `startTransmitTimerRebroadcast`), a packet
/// made here the channel-utilisation window ([`tx_delay`], via
/// `startTransmitTimer(true)`). Draws once from `rng`.
pub fn transmit_delay(
    head_rx_snr_db: Option<f64>,
    role: Role,
    channel_util_pct: u64,
    slot: Duration,
    rng: &mut Rng,
) -> Duration {
    match head_rx_snr_db {
        Some(snr_db) => relay_delay(role, snr_db, slot, rng),
        None => tx_delay(channel_util_pct, slot, rng),
    }
}

/// A radio's one transmit timer (the firmware's pending
/// `TRANSMIT_DELAY_COMPLETED` notification of `RadioLibInterface`, a
/// `NotifiedWorkerThread`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TransmitTimer {
    due: Option<Instant>,
}

impl TransmitTimer {
    /// When it fires, if it is armed.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Whether it is armed.
    pub fn is_armed(&self) -> bool {
        self.due.is_some()
    }

    /// Arms it for `at` unless it is already armed (firmware
    /// `NotifiedWorkerThread::notifyLater(delay, TRANSMIT_DELAY_COMPLETED,
    /// false)`: `notifyCommon` sets a notification only when none is
    /// pending). Returns whether it was armed now.
    pub fn arm(&mut self, at: Instant) -> bool {
        if self.due.is_some() {
            return false;
        }
        self.due = Some(at);
        true
    }

    /// A transmission or reception ended: its interrupt notification
    /// (`isrLevel0Common` → `notifyFromISR(.., true)`) replaced the pending
    /// timer, so the timer is disarmed and the caller re-arms it through
    /// [`transmit_delay`] — a fresh delay after every operation.
    pub fn reset(&mut self) {
        self.due = None;
    }

    /// It fired (`NotifiedWorkerThread::checkNotification` clears the
    /// notification before `onNotify` runs).
    pub fn fire(&mut self) {
        self.due = None;
    }
}

/// What a radio does when its transmit timer fires.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimerExpiry {
    /// The queue is empty: nothing.
    Idle,
    /// Transmitting, actively receiving or sensing a LoRa signal: arm the
    /// timer again with a fresh [`transmit_delay`] for the head.
    Redraw,
    /// Send the head now.
    Send,
}

/// The firmware's `TRANSMIT_DELAY_COMPLETED` branch of
/// `RadioLibInterface::onNotify`: with a non-empty queue, a radio that
/// cannot send immediately (`canSendImmediately`: busy transmitting, or
/// actively receiving a frame) or whose channel activity detection sees a
/// signal (`isChannelActive`) calls `setTransmitDelay`; otherwise it
/// dequeues the head and sends it.
pub fn on_transmit_timer(
    queue_empty: bool,
    transmitting: bool,
    receiving_or_channel_active: bool,
) -> TimerExpiry {
    if queue_empty {
        TimerExpiry::Idle
    } else if transmitting || receiving_or_channel_active {
        TimerExpiry::Redraw
    } else {
        TimerExpiry::Send
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
    fn one_timer_keeps_a_pending_delay_until_an_operation_resets_it() {
        let t = |us| Instant::from_micros(us);
        let mut timer = TransmitTimer::default();
        assert!(timer.arm(t(100)), "idle: armed");
        assert!(!timer.arm(t(50)), "pending: notifyLater does not overwrite");
        assert_eq!(timer.due(), Some(t(100)));
        timer.reset();
        assert!(!timer.is_armed(), "an interrupt replaced it");
        assert!(timer.arm(t(300)));
        timer.fire();
        assert_eq!(timer.due(), None);
    }

    #[test]
    fn the_head_decides_the_window_and_a_busy_radio_redraws() {
        let slot = Duration::from_millis(10);
        let (mut a, mut b) = (Rng::derive(3, "t", 0), Rng::derive(3, "t", 0));
        for _ in 0..100 {
            assert_eq!(
                transmit_delay(Some(5.0), Role::Client, 0, slot, &mut a),
                relay_delay(Role::Client, 5.0, slot, &mut b),
                "a heard packet waits its SNR-weighted window"
            );
            assert_eq!(
                transmit_delay(None, Role::Client, 40, slot, &mut a),
                tx_delay(40, slot, &mut b),
                "an own packet the utilisation window"
            );
        }
        assert_eq!(on_transmit_timer(true, true, true), TimerExpiry::Idle);
        assert_eq!(on_transmit_timer(false, true, false), TimerExpiry::Redraw);
        assert_eq!(on_transmit_timer(false, false, true), TimerExpiry::Redraw);
        assert_eq!(on_transmit_timer(false, false, false), TimerExpiry::Send);
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
