//! The models trained through the engine's autograd and optimizers (mini-batches, MSE, Adam):
//!
//! - `dot`: the plain dot-product model $\hat r_{ui} = \mu + p_u \cdot q_i$ ($\mu$ the training
//!   mean, held fixed; no biases), computed by the fused op
//!   [`Tensor::mf_predict`](crate::Tensor::mf_predict), loss
//!   $\operatorname{mean}(\hat r - r)^2 + \lambda \operatorname{mean}_n (\lVert p_{u_n}\rVert^2 +
//!   \lVert q_{i_n}\rVert^2)$.
//! - `seed-embedding`: the document's listing 1.4.4, corrected
//!   ([`SeedRecommender`]: `fc = Linear(2·n_factors, 1)` instead of the listing's
//!   `Linear(n_factors, 1)`, which cannot take the concatenated input), MSE, Adam. Note that
//!   `fc(cat(e_u, e_i)) = w_u \cdot e_u + w_i \cdot e_i + b` has no user–item interaction: the
//!   listing's model is a learned biases-only model, which its RMSE shows.
//!
//! Both run in f32 with seeded initialisation and a seeded shuffle per epoch.
//!
//! Fallback: a user (item) without training ratings gets $p_u = 0$ for `dot`; for
//! `seed-embedding` its term $w_u \cdot e_u$ is replaced by the mean over trained users (items).

use crate::error::Result;
use crate::models::recommender::SeedRecommender;
use crate::nn::Module;
use crate::ops::loss::Reduction;
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::recsys::{RatingScale, Recommender, TrainSet, clip};
use crate::rng::Generator;
use crate::tensor::{DType, Tensor};

/// Mini-batches of (user ids, item ids, ratings) as tensors, in a seeded shuffle.
fn batches(t: &TrainSet, batch: usize, g: &mut Generator) -> Result<Vec<(Tensor, Tensor, Tensor)>> {
    let order = g.permutation(t.len());
    let mut out = Vec::with_capacity(order.len().div_ceil(batch.max(1)));
    for chunk in order.chunks(batch.max(1)) {
        let u: Vec<i64> = chunk.iter().map(|&n| t.users[n] as i64).collect();
        let i: Vec<i64> = chunk.iter().map(|&n| t.items[n] as i64).collect();
        let r: Vec<f32> = chunk.iter().map(|&n| t.ratings[n] as f32).collect();
        let n = chunk.len();
        out.push((Tensor::from_vec(u, &[n])?, Tensor::from_vec(i, &[n])?, Tensor::from_vec(r, &[n])?));
    }
    Ok(out)
}

/// `dot`: $\hat r = \mu + p_u \cdot q_i$ trained by autograd + Adam.
#[derive(Clone, Debug)]
pub struct DotModel {
    pub n_factors: usize,
    pub n_epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub reg: f64,
    pub init_std: f64,
    pub seed: u64,
    /// Mean training loss per epoch.
    pub losses: Vec<f64>,
    fit: Option<(Vec<f32>, Vec<f32>, f64, RatingScale)>,
}

impl Default for DotModel {
    fn default() -> Self {
        DotModel {
            n_factors: 32,
            n_epochs: 20,
            batch_size: 1024,
            lr: 0.01,
            reg: 0.05,
            init_std: 0.1,
            seed: 0,
            losses: Vec::new(),
            fit: None,
        }
    }
}

impl DotModel {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Recommender for DotModel {
    fn name(&self) -> &'static str {
        "dot"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        let k = self.n_factors;
        let mut g = Generator::new(self.seed);
        let p = Tensor::randn(&[t.n_users, k], DType::F32, &mut g)?
            .mul_scalar(self.init_std)?
            .requires_grad_()?;
        let q = Tensor::randn(&[t.n_items, k], DType::F32, &mut g)?
            .mul_scalar(self.init_std)?
            .requires_grad_()?;
        let bu = Tensor::zeros(&[t.n_users], DType::F32)?;
        let bi = Tensor::zeros(&[t.n_items], DType::F32)?;
        let mu = Tensor::scalar(t.global_mean as f32);
        let mut opt = Adam::new(vec![p.clone(), q.clone()], AdamConfig::new(self.lr))?;
        self.losses.clear();
        for _ in 0..self.n_epochs {
            let (mut total, mut count) = (0.0, 0usize);
            for (u, i, r) in batches(t, self.batch_size, &mut g)? {
                opt.zero_grad();
                let r_hat = Tensor::mf_predict(&u, &i, &p, &q, &bu, &bi, &mu)?;
                let mse = r_hat.mse_loss(&r, Reduction::Mean)?;
                let pu = Tensor::embedding(&u, &p, None)?;
                let qi = Tensor::embedding(&i, &q, None)?;
                let l2 =
                    pu.mul(&pu)?.sum()?.add(&qi.mul(&qi)?.sum()?)?.mul_scalar(self.reg / u.numel() as f64)?;
                let loss = mse.add(&l2)?;
                loss.backward()?;
                opt.step()?;
                total += mse.item()? * u.numel() as f64;
                count += u.numel();
            }
            self.losses.push(total / count.max(1) as f64);
        }
        let mut pv = p.to_vec::<f32>()?;
        let qv = q.to_vec::<f32>()?;
        for u in (0..t.n_users).filter(|&u| !t.knows_user(u)) {
            pv[u * k..(u + 1) * k].fill(0.0);
        }
        self.fit = Some((pv, qv, t.global_mean, t.scale));
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let Some((p, q, mu, s)) = &self.fit else { return f64::NAN };
        let k = self.n_factors;
        let d = match (p.get(u * k..(u + 1) * k), q.get(i * k..(i + 1) * k)) {
            (Some(pu), Some(qi)) => pu.iter().zip(qi).map(|(&a, &b)| a as f64 * b as f64).sum(),
            _ => 0.0,
        };
        clip(s, mu + d)
    }
}

/// `seed-embedding`: listing 1.4.4 corrected, trained with MSE and Adam.
#[derive(Clone, Debug)]
pub struct SeedEmbedding {
    pub n_factors: usize,
    pub n_epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    pub losses: Vec<f64>,
    /// Per-user term $w_u \cdot e_u$, per-item term $w_i \cdot e_i$, bias $b$.
    fit: Option<(Vec<f64>, Vec<f64>, f64, RatingScale)>,
}

impl Default for SeedEmbedding {
    /// The listing's sizes (50 factors) and optimizer (Adam); lr 0.01 rather than the listing's
    /// 0.001 so that 10 epochs suffice.
    fn default() -> Self {
        SeedEmbedding {
            n_factors: 50,
            n_epochs: 10,
            batch_size: 256,
            lr: 0.01,
            seed: 0,
            losses: Vec::new(),
            fit: None,
        }
    }
}

impl SeedEmbedding {
    pub fn new() -> Self {
        Self::default()
    }
}

/// The mean of `v` over the `known` entries, written into the unknown ones.
fn fill_unknown(v: &mut [f64], known: impl Fn(usize) -> bool) {
    let (s, n) =
        v.iter().enumerate().filter(|(j, _)| known(*j)).fold((0.0, 0usize), |(s, n), (_, &x)| (s + x, n + 1));
    let mean = if n > 0 { s / n as f64 } else { 0.0 };
    for (j, x) in v.iter_mut().enumerate() {
        if !known(j) {
            *x = mean;
        }
    }
}

impl Recommender for SeedEmbedding {
    fn name(&self) -> &'static str {
        "seed-embedding"
    }

    fn fit(&mut self, t: &TrainSet) -> Result<()> {
        let k = self.n_factors;
        let mut g = Generator::new(self.seed);
        let model = SeedRecommender::new(t.n_users, t.n_items, k, DType::F32, &mut g)?;
        let mut opt = Adam::new(model.parameters(), AdamConfig::new(self.lr))?;
        self.losses.clear();
        for _ in 0..self.n_epochs {
            let (mut total, mut count) = (0.0, 0usize);
            for (u, i, r) in batches(t, self.batch_size, &mut g)? {
                opt.zero_grad();
                let n = u.numel();
                let out = model.forward_pair(&u, &i)?;
                let loss = out.mse_loss(&r.reshape(&[n as isize, 1])?, Reduction::Mean)?;
                loss.backward()?;
                opt.step()?;
                total += loss.item()? * n as f64;
                count += n;
            }
            self.losses.push(total / count.max(1) as f64);
        }
        let w = model.fc.weight.to_vec::<f32>()?;
        let b = model.fc.bias.as_ref().map_or(Ok(vec![0.0]), |b| b.to_vec::<f32>())?;
        let term = |e: &Tensor, w: &[f32], n: usize| -> Result<Vec<f64>> {
            let e = e.to_vec::<f32>()?;
            Ok((0..n)
                .map(|r| e[r * k..(r + 1) * k].iter().zip(w).map(|(&a, &b)| a as f64 * b as f64).sum())
                .collect())
        };
        let mut tu = term(&model.user_embedding, &w[..k], t.n_users)?;
        let mut ti = term(&model.item_embedding, &w[k..], t.n_items)?;
        fill_unknown(&mut tu, |u| t.knows_user(u));
        fill_unknown(&mut ti, |i| t.knows_item(i));
        self.fit = Some((tu, ti, b.first().copied().unwrap_or(0.0) as f64, t.scale));
        Ok(())
    }

    fn predict(&self, u: usize, i: usize) -> f64 {
        let Some((tu, ti, b, s)) = &self.fit else { return f64::NAN };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let a = tu.get(u).copied().unwrap_or_else(|| mean(tu));
        let c = ti.get(i).copied().unwrap_or_else(|| mean(ti));
        clip(s, a + c + b)
    }
}
