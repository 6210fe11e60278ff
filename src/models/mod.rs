//! The source document's listings as Rust modules (corrected where the listings have bugs), shared
//! by the examples, `glassgrad train` and the conformance cases (`seed_*` ops), and the other models
//! the examples train.

pub mod cnn;
pub mod cnn_market;
pub mod credit;
pub mod digits;
pub mod lstm;
pub mod recommender;
pub mod rnn;
pub mod seq2seq;
pub mod word2vec;

pub use lstm::SeedLstm;
pub use rnn::SeedRnn;
