//! okmesh integration tests: one binary, a module per topic.

mod cli;
mod conformance;
mod corpus;
mod field_support;
mod import_cli;
mod match_cli;
mod matching;
mod meshtastic_client;
mod meshtastic_emulated;
mod radio;
mod radio_fidelity;
mod reports;
mod simulation;
mod sync_scenarios;
mod udp_testbed;
mod util;
