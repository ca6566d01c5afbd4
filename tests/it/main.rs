//! Integration tests.

mod corpus;
mod matching;
