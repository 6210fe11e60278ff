//! The formulas transcribed literally: naive loops in f64 over plain vectors, the oracle for tests.

pub mod rnn;
