//! The GPU cases of `glassgrad bench --device cuda` (crate feature `cuda`; empty without it).

use super::case::Case;

/// The GPU cases of `glassgrad bench --device cuda` (inputs made on the CPU from the seeded generator,
/// then copied to `cuda:0`; each timed iteration ends with a stream synchronisation, so the time is
/// the kernels' and not the launch's): `sgemm_1024`, `sgemm_4096` (the own tiled GEMM) and
/// `sgemm_1024_cublas`, `sgemm_4096_cublas` (the same product through cuBLAS, see
/// `cuda::cublas`), `softmax_4096x1000`, `mlp_train_step` (Linear 784→512→10, batch 256: matmuls,
/// ReLU, cross-entropy, backward, SGD written as tensor ops), then the CNN cases of
/// [`super::cnn::cases_on`] and the sequence cases of [`super::sequence::sequence_cases_on`] on the GPU.
pub fn cuda_cases() -> Vec<Case> {
    #[cfg(feature = "cuda")]
    {
        use super::case::{RunFn, Work, keep};
        use super::cnn;
        use super::sequence::sequence_cases_on;
        use crate::device::Device;
        use crate::device::cuda::cublas::{GemmBackend, gemm_backend, set_gemm_backend};
        use crate::error::{Error, Result};
        use crate::tensor::{DType, Tensor};
        let dev = Device::Cuda(0);
        let sync = || -> Result<()> { crate::device::cuda::gpu(0)?.synchronize() };
        let gemm = move |n: usize, backend: GemmBackend| {
            let (id, who) = match backend {
                GemmBackend::Own => (format!("sgemm_{n}"), "own tiled kernel"),
                GemmBackend::Cublas => (format!("sgemm_{n}_cublas"), "cuBLAS (cublasSgemmStridedBatched)"),
            };
            Case::new(
                id,
                Work::new(2.0 * (n * n * n) as f64, 3.0 * 4.0 * (n * n) as f64),
                format!("C = A B, {n}×{n} f32, {who}"),
                move |rng| {
                    let a = Tensor::randn(&[n, n], DType::F32, rng)?.to(&dev)?;
                    let b = Tensor::randn(&[n, n], DType::F32, rng)?.to(&dev)?;
                    Ok(Box::new(move || {
                        // The backend is process-wide: chosen for this product, then restored.
                        let before = gemm_backend()?;
                        set_gemm_backend(backend)?;
                        let y = a.matmul(&b);
                        set_gemm_backend(before)?;
                        keep(y?)?;
                        sync()
                    }) as RunFn)
                },
            )
        };
        let softmax = Case::new(
            "softmax_4096x1000",
            Work::new(
                super::kernels::SOFTMAX_FLOPS_PER_ELEMENT * 4096.0 * 1000.0,
                2.0 * 4.0 * 4096.0 * 1000.0,
            ),
            "softmax over rows, 4096×1000 f32",
            move |rng| {
                let x = Tensor::randn(&[4096, 1000], DType::F32, rng)?.to(&dev)?;
                Ok(Box::new(move || {
                    keep(x.softmax(-1)?)?;
                    sync()
                }) as RunFn)
            },
        );
        let mlp = Case::new(
            "mlp_train_step",
            // Bytes: x (f32) and t (i64) read, the weights read and their updated copies written.
            Work::new(
                3.0 * 2.0 * 256.0 * (784.0 * 512.0 + 512.0 * 10.0),
                4.0 * 256.0 * 784.0 + 8.0 * 256.0 + 2.0 * 4.0 * (784.0 * 512.0 + 512.0 * 10.0),
            ),
            "Linear 784→512→10 + cross-entropy, batch 256: forward, backward, SGD",
            move |rng| {
                let w1 = Tensor::randn(&[512, 784], DType::F32, rng)?.mul_scalar(0.03)?.to(&dev)?.detach();
                let w2 = Tensor::randn(&[10, 512], DType::F32, rng)?.mul_scalar(0.04)?.to(&dev)?.detach();
                let x = Tensor::randn(&[256, 784], DType::F32, rng)?.to(&dev)?;
                let t = Tensor::randint(&[256], 0, 10, rng)?;
                Ok(Box::new(move || {
                    let (p1, p2) = (w1.detach().requires_grad_()?, w2.detach().requires_grad_()?);
                    let h = x.matmul(&p1.t()?)?.relu()?;
                    let loss = h.matmul(&p2.t()?)?.cross_entropy(&t, crate::ops::loss::Reduction::Mean)?;
                    loss.backward()?;
                    for p in [&p1, &p2] {
                        let g = p.grad().ok_or_else(|| Error::invalid("bench", "no gradient"))?;
                        keep(p.detach().sub(&g.mul_scalar(0.01)?)?)?;
                    }
                    sync()
                }) as RunFn)
            },
        );
        let mut v = vec![
            gemm(1024, GemmBackend::Own),
            gemm(1024, GemmBackend::Cublas),
            gemm(4096, GemmBackend::Own),
            gemm(4096, GemmBackend::Cublas),
            softmax,
            mlp,
        ];
        v.extend(cnn::cases_on(&dev));
        v.extend(sequence_cases_on(&dev));
        v
    }
    #[cfg(not(feature = "cuda"))]
    {
        Vec::new()
    }
}
