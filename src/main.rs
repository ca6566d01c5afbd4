//! The `okmesh` command line (work in progress).
fn main() {}
