//! okmesh integration tests: one binary, a module per topic.

mod cli;
mod conformance;
mod corpus;
mod fidelity;
mod field_logs;
mod field_support;
mod http_api;
mod import_cli;
mod inference;
mod issue13;
mod issue14;
mod key_cli;
mod match_cli;
mod match_db;
mod matching;
mod meshtastic_client;
mod meshtastic_emulated;
mod radio;
mod radio_fidelity;
mod relevance;
mod reports;
mod simulation;
mod sync_scenarios;
mod udp_testbed;
mod util;
mod web;
