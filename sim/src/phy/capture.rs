//! Collisions and the capture effect at one receiver.
//!
//! The rules (sources in `docs/reference/lora.md`):
//!
//! * **Timing.** A receiver locks onto a transmission once all but the last 5
//!   preamble symbols have passed (LoRaSim / Meshtasticator; FLoRa uses 6).
//!   Two same-SF signals *interact* only if the earlier is still on the air at
//!   the later one's lock point; otherwise the later simply locks after the
//!   earlier has ended.
//! * **Lock.** When they interact and the receiver was already locked on the
//!   earlier signal (it is above sensitivity), the later one is lost: "a later
//!   packet is lost unless the interferer ends before the last 5 preamble
//!   symbols of the wanted one". If the earlier signal is too weak to lock
//!   onto, the later one is judged on power alone.
//! * **Capture.** A signal survives same-SF interference only while it stays
//!   at least `capture_db` (6 dB) above the *sum* of the interfering power
//!   (Meshtasticator compares pairs only and sums nothing).
//! * **Inter-SF.** Different spreading factors are quasi-orthogonal: a
//!   signal survives an interferer of another SF if S − I is at least the
//!   Croce et al. (2018) threshold, as in FLoRa's `LoRaReceiver.h`.
//!
//! Once lost, a reception stays lost.

use node_core::Instant;

/// Same-SF capture threshold in dB (LoRaSim, Meshtasticator).
pub const DEFAULT_CAPTURE_DB: f64 = 6.0;

/// Inter-SF rejection (Croce et al. 2018, FLoRa `LoRaReceiver.h`): wanted SF7..12
/// rows, interferer SF7..12 columns; the wanted signal survives if S − I ≥ value.
pub const SIR_THRESHOLD_DB: [[f64; 6]; 6] = [
    [1.0, -8.0, -9.0, -9.0, -9.0, -9.0],
    [-11.0, 1.0, -11.0, -12.0, -13.0, -13.0],
    [-15.0, -13.0, 1.0, -13.0, -14.0, -15.0],
    [-19.0, -18.0, -17.0, 1.0, -17.0, -18.0],
    [-22.0, -22.0, -21.0, -20.0, 1.0, -20.0],
    [-25.0, -25.0, -25.0, -24.0, -23.0, 1.0],
];

/// The inter-SF threshold for a wanted SF against an interferer SF
/// (SF6 uses the SF7 row and column).
pub fn inter_sf_threshold_db(wanted_sf: u8, interferer_sf: u8) -> f64 {
    let w = usize::from(wanted_sf.clamp(7, 12) - 7);
    let i = usize::from(interferer_sf.clamp(7, 12) - 7);
    SIR_THRESHOLD_DB[w][i]
}

/// Converts dBm to milliwatts.
pub fn dbm_to_mw(dbm: f64) -> f64 {
    libm::pow(10.0, dbm / 10.0)
}

/// Converts milliwatts to dBm.
pub fn mw_to_dbm(mw: f64) -> f64 {
    10.0 * libm::log10(mw)
}

/// One signal as heard by one receiver.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Heard {
    /// When it starts arriving.
    pub start: Instant,
    /// When it ends.
    pub end: Instant,
    /// When the receiver would lock onto it.
    pub lock_at: Instant,
    /// Received power in dBm.
    pub rssi_dbm: f64,
    /// Received power in mW (cached: the interference sum uses it).
    pub rssi_mw: f64,
    /// Spreading factor.
    pub sf: u8,
    /// Whether it is strong enough to demodulate (and so to lock onto).
    pub demodulable: bool,
    /// Sum of same-SF interfering power so far, mW.
    pub interference_mw: f64,
    /// Whether interference has destroyed it.
    pub collided: bool,
}

impl Heard {
    /// A fresh, undisturbed signal.
    pub fn new(
        start: Instant,
        end: Instant,
        lock_at: Instant,
        rssi_dbm: f64,
        rssi_mw: f64,
        sf: u8,
        demodulable: bool,
    ) -> Self {
        Heard {
            start,
            end,
            lock_at,
            rssi_dbm,
            rssi_mw,
            sf,
            demodulable,
            interference_mw: 0.0,
            collided: false,
        }
    }
}

/// The capture model's parameters.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct CaptureModel {
    /// Same-SF capture threshold in dB.
    pub capture_db: f64,
    /// The same threshold as a power ratio, so the hot path compares
    /// milliwatts instead of taking logarithms.
    capture_ratio: f64,
}

impl Default for CaptureModel {
    fn default() -> Self {
        CaptureModel::new(DEFAULT_CAPTURE_DB)
    }
}

impl CaptureModel {
    /// A model with the given same-SF capture threshold.
    pub fn new(capture_db: f64) -> Self {
        CaptureModel {
            capture_db,
            capture_ratio: libm::pow(10.0, capture_db / 10.0),
        }
    }

    /// Applies the rules to a pair: `later` starts while `earlier` is still
    /// on the air at the same receiver (callers guarantee
    /// `earlier.start <= later.start < earlier.end`).
    pub fn overlap(&self, earlier: &mut Heard, later: &mut Heard) {
        if earlier.sf != later.sf {
            if earlier.rssi_dbm - later.rssi_dbm < inter_sf_threshold_db(earlier.sf, later.sf) {
                earlier.collided = true;
            }
            if later.rssi_dbm - earlier.rssi_dbm < inter_sf_threshold_db(later.sf, earlier.sf) {
                later.collided = true;
            }
            return;
        }
        if earlier.end <= later.lock_at {
            return; // the later signal locks after the earlier has gone
        }
        earlier.interference_mw += later.rssi_mw;
        later.interference_mw += earlier.rssi_mw;
        if earlier.demodulable && earlier.start < later.start {
            later.collided = true; // the receiver is busy with the earlier one
        }
        self.check(earlier);
        self.check(later);
    }

    /// Lost once the signal is less than `capture_db` above the sum of its
    /// interferers (S/I < ratio, in the linear domain).
    fn check(&self, s: &mut Heard) {
        if s.rssi_mw < self.capture_ratio * s.interference_mw {
            s.collided = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_core::Duration;

    const SYM_US: u64 = 8_192; // LongFast symbol
    const SENS: f64 = -131.5;

    /// A LongFast-like signal starting at `start_ms` lasting 600 ms.
    fn sig(start_ms: u64, rssi_dbm: f64) -> Heard {
        let start = Instant::from_micros(start_ms * 1_000);
        Heard::new(
            start,
            start + Duration::from_millis(600),
            start + Duration::from_micros(11 * SYM_US),
            rssi_dbm,
            dbm_to_mw(rssi_dbm),
            11,
            rssi_dbm >= SENS,
        )
    }

    #[test]
    fn earlier_strong_signal_captures_and_later_is_lost() {
        let (mut a, mut b) = (sig(0, -90.0), sig(100, -100.0));
        CaptureModel::default().overlap(&mut a, &mut b);
        assert!(!a.collided, "10 dB above: captured");
        assert!(b.collided, "receiver was locked on the earlier one");
    }

    #[test]
    fn within_six_db_both_are_lost() {
        let (mut a, mut b) = (sig(0, -100.0), sig(100, -104.0));
        CaptureModel::default().overlap(&mut a, &mut b);
        assert!(a.collided && b.collided);
    }

    #[test]
    fn interferer_ending_before_the_lock_point_does_no_harm() {
        // a ends at 600 ms; b's lock point is 11 symbols after its start.
        let (mut a, mut b) = (sig(0, -100.0), sig(550, -100.0));
        CaptureModel::default().overlap(&mut a, &mut b);
        assert!(!a.collided && !b.collided);
    }

    #[test]
    fn a_later_signal_survives_an_earlier_one_too_weak_to_lock_on() {
        let (mut a, mut b) = (sig(0, -140.0), sig(100, -110.0));
        CaptureModel::default().overlap(&mut a, &mut b);
        assert!(!b.collided);
        assert!(a.collided);
    }

    #[test]
    fn simultaneous_starts_are_decided_by_power_alone() {
        let (mut a, mut b) = (sig(0, -90.0), sig(0, -100.0));
        CaptureModel::default().overlap(&mut a, &mut b);
        assert!(!a.collided && b.collided);
    }

    #[test]
    fn interference_adds_up() {
        // Each interferer alone is 7 dB down (captured); together ~4 dB down.
        let mut a = sig(0, -100.0);
        let (mut b, mut c) = (sig(100, -107.0), sig(200, -107.0));
        let m = CaptureModel::default();
        m.overlap(&mut a, &mut b);
        assert!(!a.collided);
        m.overlap(&mut a, &mut c);
        assert!(a.collided);
    }

    #[test]
    fn other_spreading_factors_need_only_the_rejection_margin() {
        let mut a = sig(0, -110.0);
        let mut b = Heard {
            sf: 9,
            ..sig(100, -95.0)
        };
        // Wanted SF11 vs interferer SF9: survives down to −21 dB.
        CaptureModel::default().overlap(&mut a, &mut b);
        assert!(!a.collided, "−15 dB ≥ −21 dB threshold");
        assert!(!b.collided, "SF9 wanted, SF11 interferer: +15 ≥ −14");
        let mut c = sig(0, -120.0);
        let mut d = Heard {
            sf: 9,
            ..sig(100, -95.0)
        };
        CaptureModel::default().overlap(&mut c, &mut d);
        assert!(c.collided, "−25 dB < −21 dB threshold");
    }

    #[test]
    fn matrix_diagonal_and_corners() {
        assert_eq!(inter_sf_threshold_db(7, 7), 1.0);
        assert_eq!(inter_sf_threshold_db(7, 12), -9.0);
        assert_eq!(inter_sf_threshold_db(12, 7), -25.0);
        assert_eq!(inter_sf_threshold_db(6, 6), 1.0);
    }
}
