//! `okmesh airtime`: LoRa time on air for a preset or explicit settings.

use std::process::ExitCode;

use clap::Args;
use node_core::radio::{LoraParams, ModemPreset};

use super::CliError;
use super::out::outln;

/// Arguments of `okmesh airtime`.
#[derive(Args, Debug)]
pub(crate) struct AirtimeArgs {
    /// LoRa payload bytes (a Meshtastic packet: 16-byte header + Data protobuf + payload).
    #[arg(long)]
    bytes: usize,
    /// Meshtastic modem preset [default: LongFast unless --sf/--bw/--cr are given].
    #[arg(long)]
    preset: Option<String>,
    /// Spreading factor 6..=12 (overrides the preset's).
    #[arg(long)]
    sf: Option<u8>,
    /// Bandwidth in kHz (overrides the preset's).
    #[arg(long)]
    bw: Option<f64>,
    /// Coding rate 4/5..4/8, written `4/5` (as okmesh prints it) or just
    /// the denominator `5` (overrides the preset's).
    #[arg(long, value_parser = parse_cr)]
    cr: Option<u8>,
    /// Preamble symbols [default: 16, as Meshtastic].
    #[arg(long)]
    preamble: Option<u16>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `4/5` or `5` → 5; the range is checked in [`run`].
fn parse_cr(text: &str) -> Result<u8, String> {
    let t = text.trim();
    let denominator = match t.split_once('/') {
        Some((num, den)) if num.trim() == "4" => den.trim(),
        Some(_) => return Err(format!("{t:?}: a LoRa coding rate is 4/5, 4/6, 4/7 or 4/8")),
        None => t,
    };
    denominator
        .parse()
        .map_err(|_| format!("{t:?}: expected 4/5..4/8 or 5..8"))
}

pub(crate) fn run(a: AirtimeArgs) -> Result<ExitCode, CliError> {
    let preset: ModemPreset = a.preset.as_deref().unwrap_or("LongFast").parse().map_err(
        |e: node_core::radio::UnknownPreset| CliError::BadInput(format!("--preset: {e}")),
    )?;
    let base = preset.params();
    if let Some(cr) = a.cr
        && !(5..=8).contains(&cr)
    {
        return Err(CliError::BadInput(format!(
            "--cr: {cr} must be 5..=8 (for 4/5..4/8)"
        )));
    }
    if a.bw.is_some_and(|bw| !(bw.is_finite() && bw > 0.0)) {
        return Err(CliError::BadInput(
            "--bw: must be a positive number of kHz".into(),
        ));
    }
    if a.bytes > 255 {
        return Err(CliError::BadInput(format!(
            "--bytes: {} exceeds the LoRa maximum of 255",
            a.bytes
        )));
    }
    let params = LoraParams {
        sf: a.sf.unwrap_or(base.sf),
        bw_hz: a.bw.map_or(base.bw_hz, |bw| (bw * 1000.0).round() as u32),
        cr: a.cr.map_or(base.cr, |cr| cr - 4),
        preamble_symbols: a.preamble.unwrap_or(base.preamble_symbols),
        ..base
    };
    params
        .validate()
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let custom = a.sf.is_some() || a.bw.is_some() || a.cr.is_some() || a.preamble.is_some();
    let name = if custom {
        "custom".to_string()
    } else {
        preset.name().to_string()
    };
    let airtime_ms = params.airtime_ns(a.bytes) as f64 / 1e6;
    let symbol_ms = params.symbol_ns() as f64 / 1e6;
    if a.json {
        let v = serde_json::json!({
            "preset": name,
            "sf": params.sf,
            "bandwidth_khz": f64::from(params.bw_hz) / 1000.0,
            "coding_rate": format!("4/{}", params.cr + 4),
            "preamble_symbols": params.preamble_symbols,
            "low_data_rate_optimisation": params.low_data_rate_on(),
            "bytes": a.bytes,
            "symbol_ms": symbol_ms,
            "payload_symbols": params.payload_symbols(a.bytes),
            "airtime_ms": airtime_ms,
            "bitrate_bps": params.bitrate_bps(),
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).expect("serialisable")
        );
    } else {
        outln!(
            "{name}: SF{} {} kHz 4/{} preamble {} · {} bytes → {:.3} ms on air ({} payload symbols of {:.3} ms, {:.0} bps{})",
            params.sf,
            f64::from(params.bw_hz) / 1000.0,
            params.cr + 4,
            params.preamble_symbols,
            a.bytes,
            airtime_ms,
            params.payload_symbols(a.bytes),
            symbol_ms,
            params.bitrate_bps(),
            if params.low_data_rate_on() {
                ", low-data-rate optimisation"
            } else {
                ""
            },
        );
    }
    Ok(ExitCode::SUCCESS)
}
