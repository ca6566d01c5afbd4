//! okmesh integration tests: one binary, a module per topic.

mod cli;
mod radio;
mod simulation;
mod util;
