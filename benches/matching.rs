//! Matching benchmarks (in progress).
fn main() {}
