//! Regulatory regions as Meshtastic configures them (firmware
//! `RadioInterface.cpp` region table; EU limits from ERC 70-03).

use core::fmt;
use core::str::FromStr;

use crate::radio::duty::DUTY_CYCLE_WINDOW;
use crate::time::Duration;

/// A Meshtastic region.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Region {
    /// United States, 902–928 MHz: 30 dBm, no duty-cycle limit.
    US915,
    /// Europe, 869.4–869.65 MHz sub-band: 27 dBm, 10 % duty cycle.
    EU868,
    /// Europe, 433 MHz: 12 dBm, 10 % duty cycle.
    EU433,
    /// Australia / New Zealand, 915–928 MHz: 30 dBm, no duty-cycle limit.
    ANZ,
    /// India, 865–867 MHz: 30 dBm, no duty-cycle limit.
    IN865,
}

impl Region {
    /// Every supported region.
    pub const ALL: [Region; 5] = [
        Region::US915,
        Region::EU868,
        Region::EU433,
        Region::ANZ,
        Region::IN865,
    ];

    /// Default centre frequency in MHz (Meshtastic's default slot for
    /// LongFast; US uses Meshtasticator's 908.75 MHz).
    pub const fn frequency_mhz(self) -> f64 {
        match self {
            Region::US915 => 908.75,
            Region::EU868 => 869.525,
            Region::EU433 => 433.875,
            Region::ANZ => 919.875,
            Region::IN865 => 865.4625,
        }
    }

    /// Maximum transmit power in dBm.
    pub const fn max_power_dbm(self) -> f64 {
        match self {
            Region::US915 | Region::ANZ | Region::IN865 => 30.0,
            Region::EU868 => 27.0,
            Region::EU433 => 12.0,
        }
    }

    /// Largest share of time a node may transmit, in percent.
    pub const fn duty_cycle_pct(self) -> f64 {
        match self {
            Region::EU868 | Region::EU433 => 10.0,
            Region::US915 | Region::ANZ | Region::IN865 => 100.0,
        }
    }

    /// The window over which the duty cycle is measured (Meshtastic: one
    /// hour in every region, [`DUTY_CYCLE_WINDOW`]).
    pub const fn duty_cycle_window(self) -> Duration {
        DUTY_CYCLE_WINDOW
    }

    /// The name used in scenarios.
    pub const fn name(self) -> &'static str {
        match self {
            Region::US915 => "US915",
            Region::EU868 => "EU868",
            Region::EU433 => "EU433",
            Region::ANZ => "ANZ",
            Region::IN865 => "IN865",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A region name that is not one of [`Region::ALL`].
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown region `{0}` (expected one of US915, EU868, EU433, ANZ, IN865)")]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;
    /// Accepts `EU868`, `EU_868`, `eu868`; `US` for US915.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_uppercase)
            .collect();
        let key = if key == "US" {
            "US915".to_string()
        } else {
            key
        };
        Region::ALL
            .into_iter()
            .find(|r| r.name() == key)
            .ok_or_else(|| UnknownRegion(s.to_string()))
    }
}
