//! `okmesh run`: simulate a scenario and write its results.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant as WallClock;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use okmesh::{Prepared, RunFolder};
use reports::Summary;
use sim::trace::TraceSink;

use super::out::outln;
use super::{CliError, load_scenario};

/// Arguments of `okmesh run`.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// A scenario file, or the name of a library scenario (see `okmesh scenarios`).
    scenario: String,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override a scenario field, e.g. `--set topology.nodes=400` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Output directory [default: out/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the whole trace as JSON Lines (`trace.jsonl`; large).
    #[arg(long)]
    trace: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Print `summary.json` to stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Write only the summary and the CSV tables: no plots, `report.html` or `summary.md`.
    #[arg(long)]
    no_report: bool,
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    let mut sets = args.set.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let scenario = load_scenario(&args.scenario, &sets)?;
    let chatty = !args.quiet && !args.json;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&scenario.name));
    let folder = RunFolder::create(&out_dir)?;
    folder.write_scenario(&scenario)?;

    let prepared = Prepared::new(&scenario)?.with_baseline()?;
    let info = prepared.info();
    folder.write_topology(info)?;
    if chatty {
        let t = &info.topology;
        outln!(
            "okmesh run {} · seed {} · {} nodes · {} simulated · {} {} ({} {} kHz 4/{}), {} dBm",
            scenario.name,
            scenario.seed,
            t.nodes,
            scenarios::duration::format(scenario.duration),
            info.radio.region,
            info.radio.preset,
            format_args!("SF{}", info.radio.sf),
            info.radio.bandwidth_khz,
            info.radio.coding_rate.trim_start_matches("4/"),
            info.radio.tx_power_dbm,
        );
        outln!(
            "topology: {} links, degree {}/{:.1}/{} (min/mean/max), {} component{}, diameter {}{} hops",
            t.links,
            t.degree_min,
            t.degree_mean,
            t.degree_max,
            t.components,
            if t.components == 1 { "" } else { "s" },
            if t.diameter_exact { "" } else { "≥" },
            t.diameter_hops,
        );
        outln!(
            "resolved scenario: {}",
            out_dir.join("scenario.resolved.yaml").display()
        );
    }

    let mut trace_file = if args.trace {
        Some(folder.trace_file()?)
    } else {
        None
    };

    let bar = ProgressBar::with_draw_target(
        Some(scenario.duration.as_micros()),
        ProgressDrawTarget::hidden(),
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} simulated {msg} [{bar:30}] {percent}% · {elapsed} elapsed, ~{eta} left",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let show_bar = !args.quiet && std::io::stderr().is_terminal();
    let started = WallClock::now();
    let mut progress = |p: sim::Progress| {
        // Only runs that take more than a second get a bar.
        if show_bar && bar.is_hidden() && started.elapsed().as_secs_f64() > 1.0 {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_position((p.now - node_core::Instant::ZERO).as_micros());
        bar.set_message((p.now - node_core::Instant::ZERO).to_string());
    };
    let result = prepared.run(
        trace_file.as_mut().map(|w| w as &mut dyn TraceSink),
        &mut progress,
    );
    bar.finish_and_clear();
    let output = result?;
    if let Some(t) = trace_file {
        t.finish()?;
    }
    let summary = &output.summary;
    folder.write_summary(summary)?;
    let report_path = if args.no_report {
        folder.write_tables(&output)?;
        None
    } else {
        let made = WallClock::now();
        let path = folder.write_report(&output)?;
        Some((path, made.elapsed().as_secs_f64()))
    };

    if args.json {
        outln!("{}", summary.to_json());
    } else if chatty {
        print_summary(summary, &output.overlay.item_noun, &out_dir);
        if let Some((path, secs)) = report_path {
            outln!("report: {} (made in {secs:.2} s)", path.display());
        }
    }
    Ok(if summary.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_summary(s: &Summary, noun: &str, out_dir: &Path) {
    use reports::report::duration_text as human;
    let v = reports::report::verdict(s, noun);
    outln!();
    outln!("  {}", v.answer);
    for w in &v.warnings {
        outln!("  warning: {w}");
    }
    outln!();
    outln!(
        "  events            {:>12}   ({:.0} events/s, {:.2} s wall)",
        s.events,
        s.events_per_s,
        s.wall_time_s
    );
    outln!(
        "  messages          {:>12}   reach {:.1} % of all nodes, {:.1} % of those within the hop limit; max {} hops away",
        s.messages_originated,
        s.reach_pct,
        s.reach_within_hop_limit_pct,
        s.max_hops_away
    );
    if let Some(l) = s.message_latency {
        outln!(
            "  delivery latency  {:>10.2} s   median; p90 {:.2} s, p99 {:.2} s, max {:.2} s",
            l.p50_s,
            l.p90_s,
            l.p99_s,
            l.max_s
        );
    }
    if s.items > 0 {
        outln!(
            "  items             {:>12}   {}",
            s.items,
            s.items_complete_s.map_or_else(
                || format!(
                    "not all held by every live node ({} of {} never held everything)",
                    s.nodes_never_converged.unwrap_or(0),
                    s.nodes_up_at_end
                ),
                |t| format!("all held by every live node after {}", human(t))
            )
        );
    }
    for (label, data_label, sync) in [
        ("sync", "sync data", &s.sync),
        ("flood baseline", "baseline data", &s.baseline),
    ] {
        if let Some(y) = sync {
            outln!(
                "  {:<17} {:>12}   efficiency {} ({:.1} data frames per version, CDS {}); {} of {} items complete",
                label,
                y.converged_at_s.map_or("never".into(), human),
                y.efficiency_ratio.map_or("-".into(), |e| format!("{e:.2}")),
                y.data_tx_per_version,
                y.cds_size,
                y.items_complete,
                y.items,
            );
            let r = &y.data_reach;
            if let (Some(unhelpful), Some(lost)) = (r.unhelpful_pct(), r.lacking_lost_pct()) {
                outln!(
                    "  {:<17} {:>12}   of data frames helped no node that lacked the version; {:.1} % of receptions at such nodes lost to collisions",
                    data_label,
                    format!("{unhelpful:.1} %"),
                    lost,
                );
            }
        }
    }
    outln!(
        "  frames sent       {:>12}   of which relays {}",
        s.frames_sent,
        s.relays
    );
    outln!(
        "  frames received   {:>12}   usefulness {:.1} %",
        s.frames_received,
        s.usefulness_pct
    );
    outln!(
        "  collisions        {:>12}   half-duplex misses {}",
        s.collisions,
        s.half_duplex_misses
    );
    outln!(
        "  drops             {:>12}   {}",
        s.drops,
        s.drops_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!(
        "  air utilisation   {:>11.2} %   busiest node {:.2} % of any hour (limit {} %)",
        s.air_utilisation_pct,
        s.duty_cycle_max_pct,
        s.radio.duty_cycle_limit_pct
    );
    outln!(
        "  channel busy      {:>11.2} %   busiest {} bucket {:.2} %",
        s.channel_busy_mean_pct,
        reports::report::duration_text(s.bucket_s),
        s.channel_busy_max_pct
    );
    outln!(
        "  trace             {:>12}   records, hash {}",
        s.trace_records,
        &s.trace_hash[..16]
    );
    outln!();
    for c in &s.checks {
        outln!("  {} check {:<12} {}", mark(c.passed), c.name, c.detail);
    }
    for a in &s.assertions {
        let value = reports::report::value_text(a.metric, a.value);
        outln!(
            "  {} assert {} {} (got {})",
            mark(a.passed),
            a.metric,
            reports::report::bounds_text(a),
            value
        );
    }
    outln!();
    outln!("results: {}", out_dir.display());
    outln!("{}", if s.passed { "PASSED" } else { "FAILED" });
}

fn mark(ok: bool) -> &'static str {
    if ok { "ok  " } else { "FAIL" }
}
