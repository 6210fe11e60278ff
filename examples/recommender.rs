//! Listing 1.4.4 of the document, the embedding recommender, as a Rust twin — corrected.
//!
//! ```python
//! class Recommender(nn.Module):
//!     def __init__(self, n_users, n_items, n_factors=50):
//!         super(Recommender, self).__init__()
//!         self.user_embedding = nn.Embedding(n_users, n_factors)
//!         self.item_embedding = nn.Embedding(n_items, n_factors)
//!         self.fc = nn.Linear(n_factors, 1)   # BUG: the input is cat(user, item), 2*n_factors wide
//!     def forward(self, user, item):
//!         x = torch.cat([self.user_embedding(user), self.item_embedding(item)], dim=1)
//!         return self.fc(x)
//! model = Recommender(1000, 1000); criterion = nn.MSELoss(); optimizer = optim.Adam(model.parameters(), lr=0.001)
//! ```
//!
//! The fix: `fc = Linear(2·n_factors, 1)` ([`SeedRecommender`]). The model is trained on
//! synthetic ratings of 1000 users × 1000 items with planted factors, then compared with biased
//! MF on the same split. Run: `cargo run --release --example recommender`.

use glassgrad::models::recommender::SeedRecommender;
use glassgrad::nn::Module;
use glassgrad::ops::loss::Reduction;
use glassgrad::optim::{Adam, AdamConfig, Optimizer};
use glassgrad::recsys::eval::train_test_split;
use glassgrad::recsys::metrics::rmse;
use glassgrad::recsys::mf::BiasedMf;
use glassgrad::recsys::synthetic::{SyntheticConfig, generate};
use glassgrad::recsys::{Recommender, TrainSet};
use glassgrad::{DType, Generator, Tensor};

fn main() -> glassgrad::Result<()> {
    let syn = generate(&SyntheticConfig {
        n_users: 1000,
        n_items: 1000,
        n_ratings: 100_000,
        ..Default::default()
    })?;
    let ds = &syn.dataset;
    let (train, test) = train_test_split(&ds.ratings, 0.2, 0)?;
    let t = TrainSet::new(&train, ds.n_users(), ds.n_items(), ds.scale)?;

    // model = Recommender(1000, 1000)   (with the fc fix)
    let mut g = Generator::new(0);
    let model = SeedRecommender::new(1000, 1000, 50, DType::F32, &mut g)?;
    // criterion = nn.MSELoss(); optimizer = optim.Adam(model.parameters(), lr=0.001)
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::new(0.001))?;
    let batch = 256;
    for epoch in 0..10 {
        let order = g.permutation(t.len());
        let mut total = 0.0;
        for chunk in order.chunks(batch) {
            let n = chunk.len();
            let user = Tensor::from_vec(chunk.iter().map(|&k| t.users[k] as i64).collect::<Vec<_>>(), &[n])?;
            let item = Tensor::from_vec(chunk.iter().map(|&k| t.items[k] as i64).collect::<Vec<_>>(), &[n])?;
            let rating =
                Tensor::from_vec(chunk.iter().map(|&k| t.ratings[k] as f32).collect::<Vec<_>>(), &[n, 1])?;
            optimizer.zero_grad();
            let loss = model.forward_pair(&user, &item)?.mse_loss(&rating, Reduction::Mean)?;
            loss.backward()?;
            optimizer.step()?;
            total += loss.item()? * n as f64;
        }
        println!("epoch {epoch}: train mse {:.4}", total / t.len() as f64);
    }
    let user = Tensor::from_vec(test.iter().map(|r| r.user as i64).collect::<Vec<_>>(), &[test.len()])?;
    let item = Tensor::from_vec(test.iter().map(|r| r.item as i64).collect::<Vec<_>>(), &[test.len()])?;
    let pred: Vec<f64> =
        model.forward_pair(&user, &item)?.to_f64_vec().iter().map(|&p| ds.scale.clip(p)).collect();
    let truth: Vec<f64> = test.iter().map(|r| r.value).collect();
    let seed_rmse = rmse(&pred, &truth);

    let mut mf = BiasedMf::new();
    mf.fit(&t)?;
    let mf_pred: Vec<f64> = test.iter().map(|r| mf.predict(r.user as usize, r.item as usize)).collect();
    println!("biased MF test rmse: {:.4}", rmse(&mf_pred, &truth));
    println!("listing 1.4.4 (corrected) test rmse: {seed_rmse:.4}");
    Ok(())
}
