//! The simulator (work in progress).
