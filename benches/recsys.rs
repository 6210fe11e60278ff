//! Criterion benches of the recommender kernels: one epoch of the fused MF SGD over 100,000
//! ratings (throughput in ratings), item–item similarities for 10,000 items (sparse, rayon;
//! throughput in items), and one training step of the corrected listing 1.4.4 model
//! (`SeedRecommender(1000, 1000, 50)`, MSE, Adam, batch 256). Run: `cargo bench --bench recsys`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glassgrad::models::recommender::SeedRecommender;
use glassgrad::nn::Module;
use glassgrad::ops::factorization::{MfParams, MfSgd, mf_sgd_epoch};
use glassgrad::ops::loss::Reduction;
use glassgrad::optim::{Adam, AdamConfig, Optimizer};
use glassgrad::recsys::TrainSet;
use glassgrad::recsys::knn::{Similarity, item_similarities};
use glassgrad::recsys::synthetic::{SyntheticConfig, generate};
use glassgrad::{DType, Generator, Tensor};

fn mf_epoch(c: &mut Criterion) {
    let Ok(syn) = generate(&SyntheticConfig::default()) else { return };
    let ds = &syn.dataset;
    let users: Vec<u32> = ds.ratings.iter().map(|r| r.user).collect();
    let items: Vec<u32> = ds.ratings.iter().map(|r| r.item).collect();
    let ratings: Vec<f64> = ds.ratings.iter().map(|r| r.value).collect();
    let k = 100;
    let mut g = Generator::new(0);
    let mut m = MfParams {
        p: (0..ds.n_users() * k).map(|_| 0.1 * g.normal()).collect(),
        q: (0..ds.n_items() * k).map(|_| 0.1 * g.normal()).collect(),
        bu: vec![0.0; ds.n_users()],
        bi: vec![0.0; ds.n_items()],
        mu: 3.5,
        k,
    };
    let order = g.permutation(ratings.len());
    let cfg = MfSgd { lr_bias: 0.005, reg_bias: 0.02, lr_factors: 0.005, reg_factors: 0.02, biased: true };
    let mut group = c.benchmark_group("mf_sgd_epoch");
    group.throughput(Throughput::Elements(ratings.len() as u64));
    group.sample_size(10);
    group.bench_function("100k_ratings_k100", |b| {
        b.iter(|| black_box(mf_sgd_epoch(&mut m, &users, &items, &ratings, &order, &cfg)))
    });
    group.finish();
}

fn item_sims(c: &mut Criterion) {
    let cfg =
        SyntheticConfig { n_users: 5000, n_items: 10_000, n_ratings: 500_000, ..SyntheticConfig::default() };
    let Ok(syn) = generate(&cfg) else { return };
    let ds = &syn.dataset;
    let Ok(t) = TrainSet::new(&ds.ratings, ds.n_users(), ds.n_items(), ds.scale) else { return };
    let mut group = c.benchmark_group("item_similarities");
    group.throughput(Throughput::Elements(t.n_items as u64));
    group.sample_size(10);
    group.bench_function("10k_items_500k_ratings_msd", |b| {
        b.iter(|| black_box(item_similarities(&t, Similarity::Msd)))
    });
    group.finish();
}

fn seed_step(c: &mut Criterion) {
    let mut g = Generator::new(0);
    let Ok(model) = SeedRecommender::new(1000, 1000, 50, DType::F32, &mut g) else { return };
    let Ok(mut opt) = Adam::new(model.parameters(), AdamConfig::new(1e-3)) else { return };
    let n = 256;
    let (Ok(u), Ok(i), Ok(r)) = (
        Tensor::randint(&[n], 0, 1000, &mut g),
        Tensor::randint(&[n], 0, 1000, &mut g),
        Tensor::uniform(&[n, 1], 1.0, 5.0, DType::F32, &mut g),
    ) else {
        return;
    };
    let mut group = c.benchmark_group("seed_recommender");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("train_step_batch256", |b| {
        b.iter(|| {
            opt.zero_grad();
            let loss = model.forward_pair(&u, &i).and_then(|y| y.mse_loss(&r, Reduction::Mean));
            if let Ok(loss) = loss {
                let _ = loss.backward();
                let _ = opt.step();
                black_box(loss);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, mf_epoch, item_sims, seed_step);
criterion_main!(benches);
