//! okmesh integration tests: one binary, a module per topic.

mod cli;
mod corpus;
mod import_cli;
mod match_cli;
mod matching;
mod radio;
mod simulation;
mod util;
