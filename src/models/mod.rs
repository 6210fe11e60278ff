//! The source document's listings as Rust modules (corrected where the listings have bugs), shared
//! by the examples, `glassgrad train` and the conformance cases (`seed_*` ops).
pub mod cnn;
