//! Seeded randomness. Every random number in glassgrad (initialisation, dropout, shuffling, data
//! splits) comes from a [`Generator`]: an explicit one, or the process-wide default that
//! [`manual_seed`] resets, like `torch.manual_seed`. Same seed, same numbers, whatever the thread
//! count: random tensors are filled sequentially.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal, StandardUniform};
use std::sync::Mutex;

/// A seeded pseudo-random generator (xoshiro256++ from `rand`: fast, and its state is small enough to checkpoint).
#[derive(Clone, Debug)]
pub struct Generator {
    rng: rand::rngs::Xoshiro256PlusPlus,
    seed: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator { rng: rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed), seed }
    }
    /// The generator's exact internal state: xoshiro256++'s four 64-bit words and the initial seed.
    /// [`Generator::from_state`] rebuilds a generator that continues with the same numbers (what a
    /// checkpoint stores). The words are read through `rand`'s `serde` support, the only public
    /// view of them (it writes `{"s": [w0, w1, w2, w3]}`; `tests/checkpoint.rs` checks the round
    /// trip, so a change in that layout fails a test rather than a resumed run).
    pub fn state(&self) -> ([u64; 4], u64) {
        let mut words = [0u64; 4];
        if let Ok(serde_json::Value::Object(o)) = serde_json::to_value(&self.rng)
            && let Some(serde_json::Value::Array(s)) = o.get("s")
        {
            for (w, v) in words.iter_mut().zip(s) {
                *w = v.as_u64().unwrap_or(0);
            }
        }
        (words, self.seed)
    }

    /// A generator in the state `words` (from [`Generator::state`]), reporting `seed` as its
    /// initial seed. An all-zero state (never produced by a generator) is an error.
    pub fn from_state(words: [u64; 4], seed: u64) -> crate::error::Result<Self> {
        if words == [0; 4] {
            return Err(crate::error::Error::invalid(
                "Generator::from_state",
                "xoshiro256++ state is all zeros",
            ));
        }
        let mut bytes = [0u8; 32];
        for (chunk, w) in bytes.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        Ok(Generator { rng: rand::rngs::Xoshiro256PlusPlus::from_seed(bytes), seed })
    }

    /// The seed this generator started from.
    pub fn initial_seed(&self) -> u64 {
        self.seed
    }
    /// A standard normal sample.
    pub fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.rng)
    }
    /// A uniform sample in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        StandardUniform.sample(&mut self.rng)
    }
    /// A uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }
    /// A fresh random 64-bit value (to seed another generator).
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
    /// Fisher–Yates shuffle of `v`.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
    /// A random permutation of `0..n` (`torch.randperm`).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

static DEFAULT: Mutex<Option<Generator>> = Mutex::new(None);

/// Resets the default generator to `seed` (`torch.manual_seed`).
pub fn manual_seed(seed: u64) {
    *DEFAULT.lock().unwrap_or_else(|e| e.into_inner()) = Some(Generator::new(seed));
}

/// Runs `f` with the default generator (seeded 0 until [`manual_seed`] says otherwise).
pub fn with_default<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut guard = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
    let g = guard.get_or_insert_with(|| Generator::new(0));
    f(g)
}
