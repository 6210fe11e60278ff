//! CPU–CUDA agreement of the index, sort and join ops: `index_select`, `gather`, `scatter_add`,
//! `one_hot`, `sort`, `topk`, `cat`, `stack`, `dropout` (forward and, for float outputs, the
//! gradients of every input). Indices are built inside each check, on the device or left on the
//! host (both are accepted with device data); ties come from concatenating an input with itself.

use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// An i64 tensor of `shape` from `values`, on the device of `like` when `dev` is true.
fn ids(values: Vec<i64>, shape: &[usize], like: &Tensor, dev: bool) -> crate::error::Result<Tensor> {
    let t = Tensor::from_vec(values, shape)?;
    if dev { t.to(&like.device()) } else { Ok(t) }
}

pub(super) fn checks() -> Vec<super::check::Check> {
    vec![
        ("index_select_dim0_repeats", vec![vec![5, 4]], false, |x| {
            x[0].index_select(0, &ids(vec![3, 0, 3, 4], &[4], &x[0], true)?)
        }),
        // A transposed (strided) input, a host index, a repeated and an untouched column.
        ("index_select_strided_host_index", vec![vec![4, 5]], false, |x| {
            x[0].t()?.index_select(1, &ids(vec![2, 2, 0], &[3], &x[0], false)?)
        }),
        ("index_select_3d_last", vec![vec![2, 3, 6]], false, |x| {
            x[0].index_select(-1, &ids(vec![5, 1, 1, 0, 5], &[5], &x[0], true)?)
        }),
        ("gather_dim1", vec![vec![3, 5]], false, |x| {
            x[0].gather(1, &ids(vec![4, 0, 0, 2, 1, 1, 3, 4, 2, 2, 2, 0], &[3, 4], &x[0], true)?)
        }),
        // Strided input (3, 4); the index larger along d (5 > 3) and repeats into one element.
        ("gather_dim0_strided_host_index", vec![vec![4, 3]], false, |x| {
            let v = vec![0, 2, 1, 0, 2, 2, 0, 1, 1, 0, 2, 2, 0, 0, 0, 1, 2, 1, 1, 0];
            x[0].t()?.gather(0, &ids(v, &[5, 4], &x[0], false)?)
        }),
        ("scatter_add_dim0", vec![vec![4, 3], vec![5, 3]], false, |x| {
            let v = vec![3, 0, 1, 3, 3, 1, 0, 2, 1, 3, 0, 0, 2, 1, 1];
            x[0].scatter_add(0, &ids(v, &[5, 3], &x[0], true)?, &x[1])
        }),
        // The index (2, 4) smaller than src (4, 6): only its corner is read (zero gradient elsewhere).
        ("scatter_add_src_corner", vec![vec![3, 5], vec![4, 6]], false, |x| {
            let v = vec![4, 0, 4, 2, 1, 1, 3, 4];
            x[0].scatter_add(1, &ids(v, &[2, 4], &x[0], false)?, &x[1])
        }),
        ("one_hot_times_x", vec![vec![6, 4]], false, |x| {
            let oh = Tensor::one_hot(&ids(vec![1, 3, 0, 3, 2, 1], &[6], &x[0], true)?, 4, x[0].dtype())?;
            oh.mul(&x[0])
        }),
        ("one_hot_bool_values", vec![vec![1]], false, |x| {
            Tensor::one_hot(&ids(vec![2, 0, 2, 1], &[2, 2], &x[0], true)?, 3, DType::Bool)
        }),
        ("sort_last_ascending", vec![vec![3, 7]], false, |x| Ok(x[0].sort(-1, false)?.0)),
        ("sort_dim0_descending", vec![vec![6, 3, 2]], false, |x| Ok(x[0].sort(0, true)?.0)),
        // Exact ties (the input twice): the stable order decides indices and where gradients go.
        ("sort_ties_values", vec![vec![3, 4]], false, |x| {
            Ok(Tensor::cat(&[x[0].clone(), x[0].clone()], 1)?.sort(1, true)?.0)
        }),
        ("sort_ties_indices", vec![vec![3, 4]], false, |x| {
            Ok(Tensor::cat(&[x[0].clone(), x[0].clone()], 1)?.sort(1, false)?.1)
        }),
        ("topk_largest_sorted", vec![vec![4, 9]], false, |x| Ok(x[0].topk(3, 1, true, true)?.0)),
        ("topk_smallest_unsorted", vec![vec![5, 6, 2]], false, |x| Ok(x[0].topk(4, 1, false, false)?.0)),
        ("topk_ties_indices", vec![vec![2, 5]], false, |x| {
            Ok(Tensor::cat(&[x[0].clone(), x[0].clone()], 0)?.topk(2, 0, true, false)?.1)
        }),
        ("cat_dim1_three", vec![vec![3, 2], vec![3, 4], vec![3, 1]], false, |x| {
            Tensor::cat(&[x[0].clone(), x[1].clone(), x[2].clone()], 1)
        }),
        // A strided input and an empty one.
        ("cat_dim0_strided_empty", vec![vec![4, 3], vec![2, 4], vec![0, 4]], false, |x| {
            Tensor::cat(&[x[0].t()?, x[1].clone(), x[2].clone()], 0)?.tanh()
        }),
        ("cat_i64_values", vec![vec![1]], false, |x| {
            let a = ids(vec![1, 2, 3, 4], &[2, 2], &x[0], true)?;
            let b = ids(vec![9, 8], &[2, 1], &x[0], true)?;
            Tensor::cat(&[a, b], 1)
        }),
        ("stack_dim1", vec![vec![3, 4], vec![3, 4]], false, |x| {
            Tensor::stack(&[x[0].clone(), x[1].clone()], 1)
        }),
        ("stack_last", vec![vec![2, 3], vec![2, 3], vec![2, 3]], false, |x| {
            Tensor::stack(&[x[0].clone(), x[1].clone(), x[2].clone()], -1)
        }),
        // The mask comes from the host generator: the same seed gives the same mask on both devices.
        ("dropout_p03", vec![vec![7, 9]], false, |x| x[0].dropout(0.3, true, &mut Generator::new(5))),
    ]
}
