//! Skip-gram with negative sampling: on a synthetic corpus where two words share every context,
//! their vectors end up closer than unrelated words'; plus the loss by hand, the sparse
//! gradients, subsampling, the negative table, tokenizing and the text format.

use glassgrad::models::word2vec::{
    NegativeTable, SkipGram, WordVocab, cosine, keep_probability, save_text, skipgram_pairs, tokenize,
};
use glassgrad::optim::{SparseAdam, SparseAdamConfig};
use glassgrad::{DType, Generator, Tensor};

#[test]
fn words_sharing_contexts_end_up_close() {
    // "cat"/"dog" appear in the same sentences, "car"/"bus" in others.
    let mut g = Generator::new(3);
    let animal = ["the {} ate the food", "i fed my {} today", "my {} sleeps all day", "a {} chased the ball"];
    let vehicle = [
        "the {} drove down the road",
        "we parked the {} outside",
        "a {} needs fuel",
        "the {} has four wheels",
    ];
    let mut text = Vec::new();
    for _ in 0..1500 {
        let (tpl, fill) = if g.below(2) == 0 { (animal, ["cat", "dog"]) } else { (vehicle, ["car", "bus"]) };
        text.push(tpl[g.below(4)].replace("{}", fill[g.below(2)]));
    }
    let sentences: Vec<Vec<String>> = text.iter().map(|s| tokenize(s)).collect();
    let vocab = WordVocab::build(&sentences, 1);
    let ids = vocab.encode(&sentences);
    let mut rng = Generator::new(0);
    let model = SkipGram::new(vocab.len(), 16, DType::F32, &mut rng).unwrap();
    let mut opt =
        SparseAdam::new(vec![model.w_in.clone(), model.w_out.clone()], SparseAdamConfig::new(0.02)).unwrap();
    let table = NegativeTable::new(&vocab.counts, 10_000, 0.75).unwrap();
    let mut losses = Vec::new();
    for _ in 0..4 {
        let mut pairs = skipgram_pairs(&ids, &vocab.counts, 2, 0.0, &mut rng);
        losses.push(model.train_epoch(&mut pairs, &table, 3, 256, &mut opt, &mut rng).unwrap());
    }
    assert!(losses[3] < 0.7 * losses[0], "{losses:?}");
    let v = model.vectors();
    let id = |w: &str| vocab.id(w).unwrap();
    let cos = |a: &str, b: &str| cosine(&v[id(a)], &v[id(b)]);
    let (cat_dog, car_bus) = (cos("cat", "dog"), cos("car", "bus"));
    for (a, b) in [("cat", "car"), ("cat", "bus"), ("dog", "car"), ("dog", "bus")] {
        assert!(cat_dog > cos(a, b) + 0.2, "cos(cat, dog) {cat_dog} vs cos({a}, {b}) {}", cos(a, b));
        assert!(car_bus > cos(a, b) + 0.2, "cos(car, bus) {car_bus} vs cos({a}, {b}) {}", cos(a, b));
    }
    assert_eq!(model.nearest(id("cat"), 1)[0].0, id("dog"));
}

#[test]
fn loss_and_sparse_gradients_by_hand() {
    // v_c = [1, 0], u_o = [2, 0], u_n = [0, 3]: z = (2, -0) → ℓ = softplus(-2) + softplus(0).
    let model = SkipGram::new(3, 2, DType::F64, &mut Generator::new(0)).unwrap();
    model
        .w_in
        .set_data(Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[3, 2]).unwrap().data())
        .unwrap();
    model
        .w_out
        .set_data(Tensor::from_vec(vec![0.0, 0.0, 2.0, 0.0, 0.0, 3.0], &[3, 2]).unwrap().data())
        .unwrap();
    let c = Tensor::from_vec(vec![0i64], &[1]).unwrap();
    let t = Tensor::from_vec(vec![1i64, 2], &[1, 2]).unwrap();
    let loss = model.loss(&c, &t).unwrap();
    let sp = |x: f64| (1.0 + x.exp()).ln();
    assert!((loss.item().unwrap() - (sp(-2.0) + sp(0.0))).abs() < 1e-14);
    loss.backward().unwrap();
    assert!(model.w_in.grad().is_none() && model.w_out.grad().is_none());
    let gin = model.w_in.sparse_grad().unwrap();
    assert_eq!(gin.rows, vec![0]);
    // ∂ℓ/∂v_c = -σ(-2) u_o + σ(0) u_n
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let want = [-s(-2.0) * 2.0, 0.5 * 3.0];
    for (g, w) in gin.values.to_vec::<f64>().unwrap().iter().zip(want) {
        assert!((g - w).abs() < 1e-14);
    }
    let gout = model.w_out.sparse_grad().unwrap();
    assert_eq!(gout.rows, vec![1, 2]);
    // ∂ℓ/∂u_o = -σ(-2) v_c, ∂ℓ/∂u_n = σ(0) v_c
    let got = gout.values.to_vec::<f64>().unwrap();
    assert!(
        (got[0] + s(-2.0)).abs() < 1e-14 && got[1] == 0.0 && (got[2] - 0.5).abs() < 1e-14 && got[3] == 0.0
    );
    assert!(model.loss(&c, &Tensor::from_vec(vec![1i64], &[1]).unwrap()).is_err());
}

#[test]
fn subsampling_negative_table_and_tokenizing() {
    // f = 0.01, t = 1e-3: √0.1 + 0.1
    assert!((keep_probability(0.01, 1e-3) - (0.1f64.sqrt() + 0.1)).abs() < 1e-15);
    assert_eq!(keep_probability(1e-5, 1e-3), 1.0);
    assert_eq!(keep_probability(0.5, 0.0), 1.0);
    // counts 16 and 1: shares 16^0.75 : 1 = 8 : 1
    let table = NegativeTable::new(&[16, 1], 9000, 0.75).unwrap();
    assert!((table.share(0) - 8.0 / 9.0).abs() < 1e-3, "{}", table.share(0));
    assert!(NegativeTable::new(&[], 10, 0.75).is_err());
    assert_eq!(
        tokenize("Don't trust #Google's cars_.no, THANKS!"),
        ["don't", "trust", "google's", "cars", "no", "thanks"]
    );
    let sentences = vec![tokenize("a b a c"), tokenize("a b")];
    let vocab = WordVocab::build(&sentences, 2);
    assert_eq!(vocab.words, ["a", "b"]);
    assert_eq!(vocab.counts, [3, 2]);
    // Window 1, no subsampling: every neighbour pair, both ways.
    let ids = vocab.encode(&sentences);
    assert_eq!(ids, vec![vec![0, 1, 0], vec![0, 1]]);
    let pairs = skipgram_pairs(&ids, &vocab.counts, 1, 0.0, &mut Generator::new(0));
    assert_eq!(pairs, vec![(0, 1), (1, 0), (1, 0), (0, 1), (0, 1), (1, 0)]);
}

#[test]
fn text_format() {
    let dir = std::env::temp_dir().join(format!("glassgrad_w2v_{}", std::process::id()));
    let path = dir.join("v.txt");
    save_text(&path, &["a".into(), "b".into()], &[vec![1.0, -0.5], vec![0.25, 2.0]]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "2 2\na 1.000000 -0.500000\nb 0.250000 2.000000\n");
    std::fs::remove_dir_all(dir).unwrap();
}
