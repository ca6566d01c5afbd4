//! The radio setup of a run, derived from its [`RadioConfig`]: modulation,
//! power, link budget and the thresholds the engine compares against.

use node_core::Duration;
use node_core::radio::{LoraParams, Region, meshtastic};
use node_core::rng::mix64;

use crate::config::RadioConfig;

use crate::phy::capture::CaptureModel;
use crate::phy::pathloss::PathLossModel;
use crate::phy::receiver;
use crate::topology::Site;

/// Shadowing draws are truncated at this many standard deviations, so the
/// longest possible link is bounded and the link search can use a grid.
pub const SHADOWING_TRUNCATION_SIGMAS: f64 = 4.0;

/// Everything about the radios that the topology and engine need.
#[derive(Clone, Debug)]
pub struct RadioSetup {
    /// Modulation.
    pub lora: LoraParams,
    /// Region (duty cycle and power limit).
    pub region: Region,
    /// Centre frequency, MHz.
    pub frequency_mhz: f64,
    /// Transmit power, dBm.
    pub tx_power_dbm: f64,
    /// Antenna gain at each end, dBi.
    pub antenna_gain_dbi: f64,
    /// Path-loss model.
    pub path_loss: PathLossModel,
    /// Shadowing standard deviation, dB.
    pub shadowing_sigma_db: f64,
    /// One shadowing draw per node pair (true) or per direction.
    pub shadowing_reciprocal: bool,
    /// Receiver noise floor, dBm.
    pub noise_floor_dbm: f64,
    /// Receiver sensitivity, dBm.
    pub sensitivity_dbm: f64,
    /// Weakest signal kept as an interferer: sensitivity plus
    /// [`CaptureRules::interference_floor_db`](crate::phy::capture::CaptureRules)
    /// (by default one capture threshold below sensitivity, the weakest that
    /// can on its own destroy a decodable frame).
    pub interference_floor_dbm: f64,
    /// Collision rules.
    pub capture: CaptureModel,
    /// Whether radios listen before talking.
    pub listen_before_talk: bool,
    /// Transmit duty-cycle limit, percent.
    pub duty_cycle_pct: f64,
    /// Longest distance a decodable link can span (with maximal shadowing).
    pub max_decodable_range_m: f64,
    /// Longest distance an interfering link can span.
    pub max_interference_range_m: f64,
    /// Meshtastic contention slot ([`meshtastic::slot_time`]).
    pub slot_time: Duration,
    shadow_key: u64,
}

impl RadioSetup {
    /// The setup of radios configured as `r` in a run seeded `seed`;
    /// `max_height_m` is the tallest antenna.
    pub fn new(r: &RadioConfig, seed: u64, max_height_m: f64) -> Self {
        let lora = r.modem.params();
        let path_loss = r.path_loss;
        let noise_floor_dbm = receiver::noise_floor_dbm(lora.bw_hz, r.noise_figure_db);
        let sensitivity_dbm = receiver::sensitivity_dbm(lora.sf, lora.bw_hz, r.noise_figure_db);
        let capture = CaptureModel::with_rules(r.capture_db, r.capture);
        let interference_floor_dbm = sensitivity_dbm + r.capture.interference_floor_db.min(0.0);
        let mut setup = RadioSetup {
            lora,
            region: r.region,
            frequency_mhz: r.frequency_mhz,
            tx_power_dbm: r.tx_power_dbm,
            antenna_gain_dbi: r.antenna_gain_dbi,
            path_loss,
            shadowing_sigma_db: r.shadowing.sigma_db,
            shadowing_reciprocal: r.shadowing.reciprocal,
            noise_floor_dbm,
            sensitivity_dbm,
            interference_floor_dbm,
            capture,
            listen_before_talk: r.listen_before_talk,
            duty_cycle_pct: r.duty_cycle_pct,
            max_decodable_range_m: 0.0,
            max_interference_range_m: 0.0,
            slot_time: meshtastic::slot_time(&lora),
            shadow_key: u64::from_le_bytes(
                node_core::rng::derive_seed(seed, "shadowing", 0)[..8]
                    .try_into()
                    .expect("8 bytes"),
            ),
        };
        setup.max_decodable_range_m = setup.range_for(sensitivity_dbm, max_height_m);
        setup.max_interference_range_m = setup.range_for(interference_floor_dbm, max_height_m);
        setup
    }

    /// Received power in dBm at `rx` from `tx` (node ids `a` → `b`).
    pub fn rssi_dbm(&self, tx: &Site, rx: &Site, a: u32, b: u32) -> f64 {
        let d = ((tx.x_m - rx.x_m).powi(2) + (tx.y_m - rx.y_m).powi(2)).sqrt();
        let loss = self
            .path_loss
            .loss_db(d, self.frequency_mhz, tx.z_m, rx.z_m);
        self.tx_power_dbm + 2.0 * self.antenna_gain_dbi - loss - self.shadowing_db(a, b)
    }

    /// The shadowing offset of link `a` → `b`, drawn once from the seed: a
    /// normal variate truncated at ±4σ, from a stateless hash of the link so
    /// that it does not depend on the order links are looked at.
    pub fn shadowing_db(&self, a: u32, b: u32) -> f64 {
        if self.shadowing_sigma_db == 0.0 {
            return 0.0;
        }
        let (x, y) = if self.shadowing_reciprocal {
            (a.min(b), a.max(b))
        } else {
            (a, b)
        };
        let h1 = mix64(self.shadow_key ^ ((u64::from(x) << 32) | u64::from(y)));
        let h2 = mix64(h1);
        let u1 = ((h1 >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
        let u2 = (h2 >> 11) as f64 / (1u64 << 53) as f64;
        let z = libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2);
        z.clamp(-SHADOWING_TRUNCATION_SIGMAS, SHADOWING_TRUNCATION_SIGMAS) * self.shadowing_sigma_db
    }

    /// Airtime of a Meshtastic frame carrying `payload_bytes`.
    pub fn airtime(&self, payload_bytes: usize) -> Duration {
        self.lora
            .airtime(node_core::radio::meshtastic_frame_bytes(payload_bytes))
    }

    /// SNR of a signal received at `rssi_dbm`.
    pub fn snr_db(&self, rssi_dbm: f64) -> f64 {
        rssi_dbm - self.noise_floor_dbm
    }

    /// The longest distance at which the received power can still reach
    /// `threshold_dbm` with the most favourable shadowing.
    fn range_for(&self, threshold_dbm: f64, height_m: f64) -> f64 {
        let budget = self.tx_power_dbm + 2.0 * self.antenna_gain_dbi - threshold_dbm
            + SHADOWING_TRUNCATION_SIGMAS * self.shadowing_sigma_db;
        let loss = |d: f64| {
            self.path_loss
                .loss_db(d, self.frequency_mhz, height_m, height_m)
        };
        let (mut lo, mut hi) = (1.0_f64, 1.0e7_f64);
        if loss(hi) <= budget {
            return hi;
        }
        for _ in 0..100 {
            let mid = (lo * hi).sqrt();
            if loss(mid) <= budget {
                lo = mid
            } else {
                hi = mid
            }
        }
        hi
    }
}
