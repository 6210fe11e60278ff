//! The tensors of the recurrent ops: one layer's parameters ([`RnnWeights`], public) and the
//! gradients of the operands as the backward pass of either device returns them
//! ([`InputGrads`]).

use crate::tensor::Tensor;

/// The parameters of one layer of [`Tensor::rnn_tanh`], [`Tensor::lstm`] or [`Tensor::gru`], named
/// and laid out as PyTorch's `weight_ih_l{k}` $(G H, I_k)$, `weight_hh_l{k}` $(G H, H)$,
/// `bias_ih_l{k}` and `bias_hh_l{k}` $(G H)$, with $G = 1$ (RNN), $4$ (LSTM: gates i, f, g, o) or
/// $3$ (GRU: gates r, z, n) blocks of $H$ rows. $I_0$ is the input size, $I_k = H$ above.
#[derive(Clone, Debug)]
pub struct RnnWeights {
    pub weight_ih: Tensor,
    pub weight_hh: Tensor,
    pub bias_ih: Option<Tensor>,
    pub bias_hh: Option<Tensor>,
}

impl RnnWeights {
    /// A layer with both biases.
    pub fn new(weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor) -> Self {
        RnnWeights { weight_ih, weight_hh, bias_ih: Some(bias_ih), bias_hh: Some(bias_hh) }
    }

    /// A layer without biases (PyTorch's `bias=False`).
    pub fn without_bias(weight_ih: Tensor, weight_hh: Tensor) -> Self {
        RnnWeights { weight_ih, weight_hh, bias_ih: None, bias_hh: None }
    }

    /// The tensors of the layer in PyTorch's `state_dict` order: weight_ih, weight_hh, then the
    /// biases that exist.
    pub fn tensors(&self) -> Vec<&Tensor> {
        let mut v = vec![&self.weight_ih, &self.weight_hh];
        v.extend(self.bias_ih.iter());
        v.extend(self.bias_hh.iter());
        v
    }
}

/// The gradients of one layer's parameters (a bias gradient where the layer has that bias).
pub(crate) struct LayerInputGrads {
    pub(crate) dw_ih: Tensor,
    pub(crate) dw_hh: Tensor,
    pub(crate) db_ih: Option<Tensor>,
    pub(crate) db_hh: Option<Tensor>,
}

/// The gradients of a recurrent op's operands: $\bar x$ (when asked for), $\bar h_0$, $\bar c_0$
/// (LSTM) and each layer's.
pub(crate) struct InputGrads {
    pub(crate) dx: Option<Tensor>,
    pub(crate) dh0: Tensor,
    pub(crate) dc0: Option<Tensor>,
    pub(crate) layers: Vec<LayerInputGrads>,
}
