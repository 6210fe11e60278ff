//! Neural-network building blocks, as `torch.nn`: the [`Module`] trait (named parameters with
//! PyTorch's `state_dict` names, train/eval mode), layers, activations, [`Sequential`], and
//! [`init`] (the initialisation formulas).
//!
//! | module | formula | file |
//! |---|---|---|
//! | [`Linear`] | $y = x W^\top + b$ | `nn/linear.rs` |
//! | [`ReLU`], [`Tanh`], [`Sigmoid`] | $\max(x,0)$, $\tanh x$, $1/(1+e^{-x})$ | `nn/activation.rs` |
//! | [`Identity`], [`Flatten`] | $x$; reshape $(N, \dots) \to (N, \prod \dots)$ | `nn/activation.rs` |
//! | [`GELU`], [`LeakyReLU`], [`ELU`], [`Softplus`], [`SiLU`], [`Softmax`], [`LogSoftmax`] | see `ops/activation.rs`, `ops/softmax.rs` | `nn/activation_ext.rs` |
//! | [`CrossEntropyLoss`], [`NLLLoss`], [`MSELoss`], [`BCEWithLogitsLoss`] | see `ops/loss.rs`, `ops/bce.rs` | `nn/loss.rs` |
//! | [`Sequential`] | $f_n \circ \dots \circ f_1$ | `nn/sequential.rs` |
//! | [`Embedding`] | $y = W_{\text{idx}, :}$ | `nn/embedding.rs` |
//! | [`Rnn`], [`Lstm`], [`Gru`] | $h_t = \tanh(W h_{t-1} + U x_t + b)$, LSTM and GRU gates; stacked, bidirectional | `nn/recurrent.rs` |
//! | [`RnnOutput`] | $y_t = \operatorname{softmax}(V h_t + c)$ at every step | `nn/rnn_output.rs` |
//! | [`Dropout`] | $m \odot x / (1-p)$ in training | `nn/dropout.rs` |
//! | [`LayerNorm`] | $\gamma \odot (x - \mu)/\sqrt{\sigma^2 + \varepsilon} + \beta$ | `nn/layer_norm.rs` |
//! | [`Conv2d`], [`Conv1d`] | $y = b + w \star x$ (cross-correlation) | `nn/conv.rs` |
//! | [`MaxPool2d`], [`AvgPool2d`], [`AdaptiveAvgPool2d`] | max / mean over each window | `nn/conv.rs` |
//! | [`BatchNorm2d`] | $\gamma (x - \mu)/\sqrt{\sigma^2 + \varepsilon} + \beta$ per channel | `nn/batch_norm.rs` |

mod activation;
mod activation_ext;
mod batch_norm;
mod conv;
mod dropout;
mod embedding;
pub mod init;
mod layer_norm;
mod linear;
pub mod loss;
mod module;
mod recurrent;
mod rnn_output;
mod sequential;

pub use activation::{Flatten, Identity, ReLU, Sigmoid, Tanh};
pub use activation_ext::{ELU, GELU, LeakyReLU, LogSoftmax, SiLU, Softmax, Softplus};
pub use batch_norm::BatchNorm2d;
pub use conv::{AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use loss::{BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss, NLLLoss};
pub use module::{Mode, Module, named_modules};
pub use recurrent::{CellKind, Gru, Lstm, RecurrentConfig, Rnn};
pub use rnn_output::RnnOutput;
pub use sequential::Sequential;
