//! Simulator benchmarks (work in progress).
fn main() {}
