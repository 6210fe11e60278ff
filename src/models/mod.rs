//! The source document's listings as Rust modules (corrected where the listings have bugs), shared
//! by the examples, `glassgrad train` and the conformance cases (`seed_*` ops).

pub mod lstm;
pub mod rnn;

pub use lstm::SeedLstm;
pub use rnn::SeedRnn;
pub mod digits;
pub mod recommender;
pub mod seq2seq;
pub mod word2vec;
