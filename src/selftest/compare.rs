//! CPU–CUDA agreement of the comparison, selection and statistics ops (`kernels/compare.cu`,
//! `kernels/stats.cu`). Inputs are continuous random values, so ties only occur where a check
//! makes them on purpose (`maximum_self_tie`, `max_tied_broadcast`); bool and i64 outputs are
//! compared on their values.

use super::check::Check;
use crate::tensor::{DType, Tensor};

pub(super) fn checks() -> Vec<Check> {
    vec![
        ("cmp_lt_broadcast", vec![vec![4, 3, 5], vec![3, 1]], false, |x| x[0].lt(&x[1])),
        ("cmp_le", vec![vec![6, 5], vec![6, 5]], false, |x| x[0].le(&x[1])),
        ("cmp_gt_transposed", vec![vec![5, 4], vec![5]], false, |x| x[0].t()?.gt(&x[1])),
        ("cmp_ge_scalar_operand", vec![vec![3, 4], vec![]], false, |x| x[0].ge(&x[1])),
        ("cmp_eq_ne", vec![vec![4, 6], vec![6]], false, |x| {
            // true where x0 >= x1 (x0 equals the maximum there), then negated by `ne` on bools
            let m = x[0].eq(&x[0].maximum(&x[1])?)?;
            m.ne(&x[0].lt_scalar(0.0)?)
        }),
        ("cmp_scalar_forms", vec![vec![7, 3]], false, |x| {
            let a = x[0].gt_scalar(0.25)?.logical_and(&x[0].le_scalar(1.5)?)?;
            let b = x[0].lt_scalar(-0.5)?.logical_or(&x[0].ge_scalar(2.0)?)?;
            a.logical_or(&b)?.eq_scalar(1.0)?.ne_scalar(0.0)
        }),
        ("cmp_scalar_i64", vec![vec![5, 4]], false, |x| {
            let i = x[0].mul_scalar(3.0)?.to_dtype(DType::I64)?;
            i.lt_scalar(1.5)?.logical_and(&i.ne_scalar(-1.0)?)
        }),
        ("cmp_logical_broadcast_not", vec![vec![4, 3], vec![3]], false, |x| {
            x[0].gt_scalar(0.0)?.logical_and(&x[1].lt_scalar(0.3)?)?.logical_not()
        }),
        ("where_broadcast", vec![vec![4, 3, 5], vec![3, 1]], false, |x| {
            Tensor::where_cond(&x[0].gt(&x[1])?, &x[0], &x[1])
        }),
        ("where_cond_broadcast_transposed", vec![vec![5, 4], vec![4, 1]], false, |x| {
            Tensor::where_cond(&x[1].gt_scalar(0.0)?, &x[0].t()?, &x[1])
        }),
        ("masked_fill", vec![vec![6, 5]], false, |x| x[0].masked_fill(&x[0].gt_scalar(0.3)?, -2.0)),
        ("masked_fill_broadcast_mask", vec![vec![4, 3], vec![3]], false, |x| {
            x[0].masked_fill(&x[1].gt_scalar(0.0)?, 1.5)?.mul(&x[1])
        }),
        ("maximum_broadcast", vec![vec![4, 3, 5], vec![3, 1]], false, |x| x[0].maximum(&x[1])),
        ("minimum_transposed", vec![vec![5, 4], vec![5]], false, |x| x[0].t()?.minimum(&x[1])),
        ("maximum_self_tie", vec![vec![9]], false, |x| x[0].maximum(&x[0])),
        ("minimum_self_tie", vec![vec![9]], false, |x| x[0].minimum(&x[0].mul_scalar(1.0)?)),
        ("max_dim", vec![vec![4, 7, 5]], false, |x| Ok(x[0].max_dim(1, false)?.0)),
        ("min_dim_keep_transposed", vec![vec![6, 4]], false, |x| Ok(x[0].t()?.min_dim(0, true)?.0)),
        ("max_dim_long_rows", vec![vec![3, 700]], false, |x| Ok(x[0].max_dim(-1, false)?.0)),
        ("max_dim_indices", vec![vec![4, 7, 5]], false, |x| Ok(x[0].max_dim(-1, true)?.1)),
        ("min_dim_indices", vec![vec![3, 700]], false, |x| Ok(x[0].min_dim(1, false)?.1)),
        ("argmax_dim", vec![vec![4, 7, 5]], false, |x| x[0].argmax(Some(0), false)),
        ("argmin_all_transposed", vec![vec![30, 20]], false, |x| x[0].t()?.argmin(None, false)),
        ("argmax_all_keepdim", vec![vec![3, 4, 5]], false, |x| x[0].argmax(None, true)),
        ("max_all", vec![vec![5, 60]], false, |x| x[0].max()),
        ("min_all_transposed", vec![vec![7, 3]], false, |x| x[0].t()?.min()),
        // The maximum of x1 appears 4 times: the gradient is split in 4, then summed back.
        ("max_tied_broadcast", vec![vec![3]], false, |x| x[0].broadcast_to(&[4, 3])?.max()),
        ("var_dims_0_2", vec![vec![4, 3, 5], vec![3]], false, |x| {
            x[0].var_dims(Some(&[0, 2]), 1, false)?.mul(&x[1])
        }),
        ("var_keep_population_transposed", vec![vec![6, 4]], false, |x| {
            x[0].t()?.var_dims(Some(&[1]), 0, true)
        }),
        ("var_all_long", vec![vec![3, 400]], false, |x| x[0].var()),
        ("std_dims_keep", vec![vec![4, 9]], false, |x| x[0].std_dims(Some(&[-1]), 1, true)),
        ("std_all", vec![vec![5, 6]], false, |x| x[0].std()),
    ]
}
