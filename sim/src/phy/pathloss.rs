//! Path-loss models.
//!
//! Each model gives the median loss in dB over a distance; per-link
//! shadowing (a Gaussian offset drawn once per link from the run's seed) is
//! added by the topology, not here. Formulas and constants from
//! `docs/reference/lora.md` with their original sources cited per model.

/// Distances below this are clamped, so co-located nodes get a finite loss.
pub const MIN_DISTANCE_M: f64 = 1.0;

use serde::{Deserialize, Serialize};

/// Environment class for the empirical path-loss models.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Dense city.
    Urban,
    /// Suburbs and towns.
    #[default]
    Suburban,
    /// Open country.
    Rural,
}

/// A path-loss model. Its serde form is the one scenario files use
/// (`model: log_distance`, …; a log-distance model's missing parameters
/// are LoRaSim's).
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum PathLossModel {
    /// Log-distance: PL(d) = PL0 + 10·n·log10(d / d0).
    /// LoRaSim (Bor et al., Lancaster measurements): PL0 = 127.41 dB at
    /// d0 = 40 m, n = 2.08. Oulu (FLoRa): 128.95 dB at 1 km, n = 2.32.
    LogDistance {
        /// Loss at the reference distance, dB.
        #[serde(default = "lorasim_pl0")]
        pl0_db: f64,
        /// Reference distance, metres.
        #[serde(default = "lorasim_d0")]
        d0_m: f64,
        /// Path-loss exponent.
        #[serde(default = "lorasim_exponent")]
        exponent: f64,
    },
    /// Free-space (Friis): 20·log10(d_km) + 20·log10(f_MHz) + 32.44.
    FreeSpace,
    /// Okumura–Hata (small/medium city correction), with the COST/Hata
    /// suburban and open-area corrections. Extrapolated below 1 km.
    OkumuraHata {
        /// Which correction applies.
        #[serde(default)]
        environment: Environment,
    },
    /// "3GPP macro" as Meshtasticator uses it (its default):
    /// L = (44.9 − 6.55·log hTx)(log d − 3) + 45.5 + (35.46 − 1.1·hRx)(log f − 6)
    ///     − 13.82·log hRx + 0.7·hRx + C, d in m, f in Hz; C = 0 suburban, 3 dB urban.
    #[serde(rename = "3gpp_macro")]
    ThreeGppMacro {
        /// Urban adds 3 dB; rural is treated as suburban.
        #[serde(default)]
        environment: Environment,
    },
}

fn lorasim_pl0() -> f64 {
    127.41
}
fn lorasim_d0() -> f64 {
    40.0
}
fn lorasim_exponent() -> f64 {
    2.08
}

impl Default for PathLossModel {
    /// LoRaSim's log-distance model.
    fn default() -> Self {
        PathLossModel::LORASIM
    }
}

impl PathLossModel {
    /// LoRaSim's log-distance defaults.
    pub const LORASIM: PathLossModel = PathLossModel::LogDistance {
        pl0_db: 127.41,
        d0_m: 40.0,
        exponent: 2.08,
    };

    /// The model's name in files and reports.
    pub const fn name(&self) -> &'static str {
        match self {
            PathLossModel::LogDistance { .. } => "log_distance",
            PathLossModel::FreeSpace => "free_space",
            PathLossModel::OkumuraHata { .. } => "okumura_hata",
            PathLossModel::ThreeGppMacro { .. } => "3gpp_macro",
        }
    }

    /// The Oulu measurements' log-distance parameters.
    pub const OULU: PathLossModel = PathLossModel::LogDistance {
        pl0_db: 128.95,
        d0_m: 1_000.0,
        exponent: 2.32,
    };

    /// Median path loss in dB between antennas `distance_m` apart at heights
    /// `h_tx_m` and `h_rx_m` on `frequency_mhz`.
    pub fn loss_db(&self, distance_m: f64, frequency_mhz: f64, h_tx_m: f64, h_rx_m: f64) -> f64 {
        let d_m = distance_m.max(MIN_DISTANCE_M);
        let log10 = libm::log10;
        match *self {
            PathLossModel::LogDistance {
                pl0_db,
                d0_m,
                exponent,
            } => pl0_db + 10.0 * exponent * log10(d_m / d0_m),
            PathLossModel::FreeSpace => {
                20.0 * log10(d_m / 1_000.0) + 20.0 * log10(frequency_mhz) + 32.44
            }
            PathLossModel::OkumuraHata { environment } => {
                // Hata's base-station height is the higher antenna; using
                // max/min keeps the loss reciprocal for peer-to-peer links.
                let hb = h_tx_m.max(h_rx_m).max(1.0);
                let hm = h_tx_m.min(h_rx_m).max(1.0);
                let f = frequency_mhz;
                let a_hm = (1.1 * log10(f) - 0.7) * hm - (1.56 * log10(f) - 0.8);
                let urban = 69.55 + 26.16 * log10(f) - 13.82 * log10(hb) - a_hm
                    + (44.9 - 6.55 * log10(hb)) * log10(d_m / 1_000.0);
                match environment {
                    Environment::Urban => urban,
                    Environment::Suburban => {
                        let t = log10(f / 28.0);
                        urban - 2.0 * t * t - 5.4
                    }
                    Environment::Rural => {
                        let lf = log10(f);
                        urban - 4.78 * lf * lf + 18.33 * lf - 40.94
                    }
                }
            }
            PathLossModel::ThreeGppMacro { environment } => {
                let c = if environment == Environment::Urban {
                    3.0
                } else {
                    0.0
                };
                let f_hz = frequency_mhz * 1e6;
                let h_tx = h_tx_m.max(1.0);
                let h_rx = h_rx_m.max(1.0);
                (44.9 - 6.55 * log10(h_tx)) * (log10(d_m) - 3.0)
                    + 45.5
                    + (35.46 - 1.1 * h_rx) * (log10(f_hz) - 6.0)
                    - 13.82 * log10(h_rx)
                    + 0.7 * h_rx
                    + c
            }
        }
    }
}
