//! Receiver model: thermal noise, demodulation floor and sensitivity.
//!
//! Sensitivity ≈ −174 dBm/Hz + 10·log10(BW) + NF + SNRmin, with the SX1276
//! datasheet's SNR demodulation floor per spreading factor. With NF = 6 dB the
//! formula is within 1 dB of the SX1272 datasheet's measured sensitivities.

/// Default receiver noise figure in dB.
pub const DEFAULT_NOISE_FIGURE_DB: f64 = 6.0;

/// Thermal noise density at room temperature, dBm/Hz.
const THERMAL_NOISE_DBM_PER_HZ: f64 = -174.0;

/// Noise floor in dBm for a bandwidth and noise figure.
pub fn noise_floor_dbm(bw_hz: u32, noise_figure_db: f64) -> f64 {
    THERMAL_NOISE_DBM_PER_HZ + 10.0 * libm::log10(f64::from(bw_hz)) + noise_figure_db
}

/// Lowest SNR at which a spreading factor still demodulates (SX1276
/// datasheet, SF6..SF12: −5 … −20 dB). Spreading factors outside 6..=12 are
/// clamped.
pub fn snr_floor_db(sf: u8) -> f64 {
    -5.0 - 2.5 * f64::from(sf.clamp(6, 12) - 6)
}

/// Receiver sensitivity in dBm.
pub fn sensitivity_dbm(sf: u8, bw_hz: u32, noise_figure_db: f64) -> f64 {
    noise_floor_dbm(bw_hz, noise_figure_db) + snr_floor_db(sf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_floor_matches_the_datasheet() {
        let floors: Vec<f64> = (6..=12).map(snr_floor_db).collect();
        assert_eq!(floors, [-5.0, -7.5, -10.0, -12.5, -15.0, -17.5, -20.0]);
    }
}
