//! The `okmesh` command line: parses arguments, calls the `okmesh` library
//! (the run pipeline shared with the tests and benchmarks) or the other
//! crates, and prints. One module per subcommand in `commands`.
//!
//! Exit codes: 0 success; 1 the run finished but an assertion or check failed;
//! 2 bad input (a scenario, a file, an argument).

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Open-hardware knowledge over LoRa mesh networks, with no internet.
#[derive(Parser, Debug)]
#[command(name = "okmesh", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the run finished but an assertion or invariant check failed
  2  bad input: scenario, file or argument (the message says where and why)";

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a scenario and write its results (summary, CSV) to a folder.
    Run(commands::run::RunArgs),
    /// Run a scenario over a grid of --set values and seeds, in parallel; aggregate and plot.
    Sweep(commands::sweep::SweepArgs),
    /// Join the folders of a sharded sweep into the whole sweep's aggregate.
    Merge(commands::merge::MergeArgs),
    /// Check a scenario file and print it fully resolved.
    Validate(commands::validate::ValidateArgs),
    /// LoRa time on air for a Meshtastic preset or explicit settings.
    Airtime(commands::airtime::AirtimeArgs),
    /// List the library of ready scenarios.
    Scenarios,
    /// Rank the designs you can build with what you have (--have) or a facility has.
    Match(commands::matches::MatchArgs),
    /// Reverse matching: the designs a facility can produce outright.
    ///
    /// With --db (a node's store) holding live demand signals, the designs in demand that the
    /// facility can make come first, ranked by combined score = match score (0..1) × open
    /// quantity (wanted and not yet taken by a confirmation) × 2 if any of its demands is
    /// urgent, with the open quantity and the earliest deadline. Without demand the output is the
    /// plain ranking.
    Produce(commands::produce::ProduceArgs),
    /// Make one design across several facilities, naming the gaps.
    Plan(commands::plan::PlanArgs),
    /// Store OKH manifests and OKW facilities from files or folders in a --db store.
    Import(commands::import::ImportArgs),
    /// Run a field node on a Meshtastic radio (serial or TCP) or the UDP testbed.
    Node(commands::node::NodeArgs),
    /// A field node's key pairs and API token: new, show, export (backup), import.
    Key(commands::key::KeyArgs),
    /// Design packages: build one from a folder, verify it, extract it.
    Package(commands::package::PackageArgs),
    /// Demand for designs on a node's store: new, list, cancel (signed with its publisher key).
    Demand(commands::signals::DemandArgs),
    /// Take on a demand: confirm that this facility makes N of it.
    Offer(commands::signals::OfferArgs),
    /// Which facilities the node has heard of can meet a need ("3d printing, PLA").
    Ask(commands::signals::AskArgs),
    /// Emulate Meshtastic devices on TCP sharing one simulated air (test support).
    #[command(hide = true)]
    Emulate(commands::emulate::EmulateArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout with success; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
