//! The document's formulas transcribed literally: plain loops in f64 over the document's own
//! (1-based) indices. Slow on purpose; they are the oracle for tests and `glassgrad trace`.

pub mod conv;
