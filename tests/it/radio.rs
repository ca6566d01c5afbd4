//! The radio model against published figures (docs/reference/lora.md).

use node_core::radio::{LoraParams, ModemPreset};
use sim::phy::pathloss::{Environment, PathLossModel};
use sim::phy::receiver;

/// Meshtastic preset table (firmware `MeshRadio.h`): time on air in ms for
/// 16, 66 and 255 bytes with a 16-symbol preamble, rounded to the ms.
const PRESET_TABLE: [(ModemPreset, [u64; 3]); 9] = [
    (ModemPreset::ShortTurbo, [15, 33, 102]),
    (ModemPreset::ShortFast, [30, 66, 204]),
    (ModemPreset::ShortSlow, [55, 116, 362]),
    // The table gives 212 ms for 66 bytes; the formula gives 211.456 ms,
    // which rounds to 211. Every other entry is the formula rounded to the
    // nearest ms (rounding up instead would break MediumSlow's 402), so the
    // table's 212 is taken as a slip and checked exactly below.
    (ModemPreset::MediumFast, [99, 211, 642]),
    (ModemPreset::MediumSlow, [198, 402, 1181]),
    (ModemPreset::LongTurbo, [214, 509, 1656]),
    (ModemPreset::LongFast, [354, 723, 2157]),
    (ModemPreset::LongModerate, [987, 2429, 7934]),
    (ModemPreset::LongSlow, [1974, 4596, 14295]),
];

#[test]
fn airtime_matches_the_preset_table() {
    for (preset, expected) in PRESET_TABLE {
        for (bytes, ms) in [16, 66, 255].into_iter().zip(expected) {
            let got = preset.params().airtime_ns(bytes) as f64 / 1e6;
            // The table is rounded to the millisecond.
            assert!(
                (got - ms as f64).abs() <= 0.5,
                "{preset} {bytes} B: {got:.3} ms, table {ms} ms"
            );
        }
    }
}

#[test]
fn medium_fast_66_bytes_is_the_formula_value() {
    // SF9/250 kHz: Tsym 2.048 ms; preamble 20.25 symbols; payload
    // 8 + ceil(536/36)·5 = 83 symbols → 103.25 · 2.048 ms.
    assert_eq!(ModemPreset::MediumFast.params().airtime_ns(66), 211_456_000);
}

#[test]
fn airtime_matches_the_semtech_check_value() {
    let p = LoraParams {
        preamble_symbols: 8,
        ..LoraParams::meshtastic(9, 125_000, 1)
    };
    let ms = p.airtime_ns(13) as f64 / 1e6;
    assert!((ms - 164.864).abs() < 0.01, "{ms} ms");
}

#[test]
fn bit_rates_match_the_preset_table() {
    let expected = [
        21875.0, 10938.0, 6250.0, 3516.0, 1953.0, 1343.0, 1074.0, 336.0, 183.0,
    ];
    for (preset, bps) in ModemPreset::ALL.into_iter().zip(expected) {
        let got = preset.params().bitrate_bps();
        assert!(
            (got - bps).abs() / bps < 0.005,
            "{preset}: {got} bps, table {bps}"
        );
    }
}

#[test]
fn path_loss_models_give_their_reference_values() {
    let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol;
    // LoRaSim log-distance: 127.41 dB at 40 m, exponent 2.08.
    let l = PathLossModel::LORASIM;
    assert!(close(l.loss_db(40.0, 868.0, 1.0, 1.0), 127.41, 1e-9));
    assert!(close(
        l.loss_db(400.0, 868.0, 1.0, 1.0),
        127.41 + 20.8,
        1e-9
    ));
    // Oulu: 128.95 dB at 1 km.
    assert!(close(
        PathLossModel::OULU.loss_db(1000.0, 868.0, 1.0, 1.0),
        128.95,
        1e-9
    ));
    // Free space: 91.2 dB at 1 km on 868 MHz.
    assert!(close(
        PathLossModel::FreeSpace.loss_db(1000.0, 868.0, 1.0, 1.0),
        91.2,
        0.05
    ));
    // Okumura–Hata urban, 900 MHz, 30 m base, 1.5 m mobile, 1 km: 126.4 dB.
    let hata = PathLossModel::OkumuraHata {
        environment: Environment::Urban,
    };
    assert!(close(hata.loss_db(1000.0, 900.0, 30.0, 1.5), 126.4, 0.1));
    // Suburban and rural corrections lower it.
    let sub = PathLossModel::OkumuraHata {
        environment: Environment::Suburban,
    }
    .loss_db(1000.0, 900.0, 30.0, 1.5);
    let rural = PathLossModel::OkumuraHata {
        environment: Environment::Rural,
    }
    .loss_db(1000.0, 900.0, 30.0, 1.5);
    assert!(close(126.4 - sub, 9.9, 0.1), "suburban {sub}");
    assert!(close(126.4 - rural, 28.5, 0.2), "rural {rural}");
    // Meshtasticator's "3GPP macro": 147.9 dB at 1 km, 1 m antennas, 908.75 MHz.
    let m = PathLossModel::ThreeGppMacro {
        environment: Environment::Suburban,
    };
    assert!(close(m.loss_db(1000.0, 908.75, 1.0, 1.0), 147.9, 0.05));
    let urban = PathLossModel::ThreeGppMacro {
        environment: Environment::Urban,
    };
    assert!(close(urban.loss_db(1000.0, 908.75, 1.0, 1.0), 150.9, 0.05));
}

#[test]
fn sensitivity_is_within_one_and_a_half_db_of_the_sx1272_datasheet() {
    // The formula with NF = 6 dB is within 1 dB everywhere but SF9 at 250 kHz (1.5 dB).
    let datasheet_125k = [-124.0, -127.0, -130.0, -133.0, -135.0, -137.0];
    let datasheet_250k = [-122.0, -125.0, -128.0, -130.0, -132.0, -135.0];
    for (i, sf) in (7..=12).enumerate() {
        let s125 = receiver::sensitivity_dbm(sf, 125_000, receiver::DEFAULT_NOISE_FIGURE_DB);
        let s250 = receiver::sensitivity_dbm(sf, 250_000, receiver::DEFAULT_NOISE_FIGURE_DB);
        assert!(
            (s125 - datasheet_125k[i]).abs() <= 1.5,
            "SF{sf} 125 kHz: {s125}"
        );
        assert!(
            (s250 - datasheet_250k[i]).abs() <= 1.5,
            "SF{sf} 250 kHz: {s250}"
        );
    }
    // LongFast: −174 + 54 + 6 − 17.5.
    assert!((receiver::sensitivity_dbm(11, 250_000, 6.0) + 131.52).abs() < 0.01);
}
