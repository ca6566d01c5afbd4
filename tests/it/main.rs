//! okmesh integration tests: one binary, a module per topic.

mod cli;
mod corpus;
mod match_cli;
mod matching;
mod radio;
mod reports;
mod simulation;
mod util;
