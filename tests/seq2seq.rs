//! The seq2seq model: Luong attention (values by hand, weights sum to 1, masking, gradcheck),
//! the pad-aware encoder, a tiny copy task whose teacher-forced loss must fall, greedy decoding,
//! and the dates data set.

use glassgrad::autograd::gradcheck;
use glassgrad::data::dates::{
    DateTask, EOS, PAD, Vocab, date_in_words, days_in_month, iso, source_tokens, target_tokens,
};
use glassgrad::models::seq2seq::{Cell, Seq2Seq, Seq2SeqConfig, luong_attention, pad_batch};
use glassgrad::nn::Module;
use glassgrad::optim::{Adam, AdamConfig, Optimizer, clip_grad_norm};
use glassgrad::{DType, Generator, Tensor};

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn attention_by_hand() {
    // query [1, 0]; keys [1, 0], [0, 1], [2, 2]: scores 1, 0, 2; softmax (e, 1, e²)/(e + 1 + e²).
    let q = t(&[1.0, 0.0], &[1, 1, 2]);
    let k = t(&[1.0, 0.0, 0.0, 1.0, 2.0, 2.0], &[1, 3, 2]);
    let (ctx, w) = luong_attention(&q, &k, None).unwrap();
    let e = 1f64.exp();
    let z = e + 1.0 + e * e;
    let want = [e / z, 1.0 / z, e * e / z];
    let got = w.to_vec::<f64>().unwrap();
    assert_eq!(w.shape(), vec![1, 1, 3]);
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-15, "{got:?}");
    }
    let c = ctx.to_vec::<f64>().unwrap();
    assert!(
        (c[0] - (want[0] + 2.0 * want[2])).abs() < 1e-15 && (c[1] - (want[1] + 2.0 * want[2])).abs() < 1e-15
    );
    // With the third key masked: softmax over (1, 0) only.
    let mask = Tensor::from_vec(vec![false, false, true], &[1, 3]).unwrap();
    let (ctx, w) = luong_attention(&q, &k, Some(&mask)).unwrap();
    let got = w.to_vec::<f64>().unwrap();
    assert!(
        (got[0] - e / (e + 1.0)).abs() < 1e-15 && (got[1] - 1.0 / (e + 1.0)).abs() < 1e-15 && got[2] == 0.0
    );
    assert!((ctx.to_vec::<f64>().unwrap()[0] - e / (e + 1.0)).abs() < 1e-15);
}

#[test]
fn attention_shapes_weights_sum_to_one_and_padding_is_ignored() {
    let mut g = Generator::new(1);
    let (n, tq, s, h) = (3, 4, 5, 6);
    let q = Tensor::randn(&[n, tq, h], DType::F32, &mut g).unwrap();
    let k = Tensor::randn(&[n, s, h], DType::F32, &mut g).unwrap();
    let lens = [5, 2, 3];
    let mask: Vec<bool> = (0..n * s).map(|i| i % s >= lens[i / s]).collect();
    let mask = Tensor::from_vec(mask, &[n, s]).unwrap();
    let (ctx, w) = luong_attention(&q, &k, Some(&mask)).unwrap();
    assert_eq!(ctx.shape(), vec![n, tq, h]);
    assert_eq!(w.shape(), vec![n, tq, s]);
    let wv = w.to_vec::<f32>().unwrap();
    for r in 0..n * tq {
        let row = &wv[r * s..(r + 1) * s];
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{row:?}");
        let len = lens[r / tq];
        assert!(row[len..].iter().all(|&x| x == 0.0), "padding gets weight 0: {row:?}");
    }
    // Changing the keys at padded positions changes nothing.
    let noise = Tensor::randn(&[n, s, h], DType::F32, &mut g).unwrap();
    let keep = mask.logical_not().unwrap().unsqueeze(2).unwrap();
    let k2 = Tensor::where_cond(&keep, &k, &noise).unwrap();
    let (ctx2, _) = luong_attention(&q, &k2, Some(&mask)).unwrap();
    assert_eq!(ctx.to_vec::<f32>().unwrap(), ctx2.to_vec::<f32>().unwrap());
}

#[test]
fn attention_gradcheck() {
    let mut g = Generator::new(2);
    let q = Tensor::randn(&[2, 3, 4], DType::F64, &mut g).unwrap().requires_grad_().unwrap();
    let k = Tensor::randn(&[2, 5, 4], DType::F64, &mut g).unwrap().requires_grad_().unwrap();
    let mask =
        Tensor::from_vec((0..10).map(|i| i % 5 >= [5, 3][i / 5]).collect::<Vec<bool>>(), &[2, 5]).unwrap();
    let r = gradcheck(
        |x| {
            let (c, w) = luong_attention(&x[0], &x[1], Some(&mask))?;
            c.sum()?.add(&w.mul(&w)?.sum()?)
        },
        &[q, k],
    )
    .unwrap();
    assert!(r.passed, "{r:?}");
}

fn tiny(cell: Cell, dtype: DType, seed: u64) -> Seq2Seq {
    let mut c = Seq2SeqConfig::new(9, 9, 8, 16);
    c.cell = cell;
    c.dtype = dtype;
    c.max_len = 7;
    Seq2Seq::new(c, &mut Generator::new(seed)).unwrap()
}

#[test]
fn encoder_handles_padding_like_unpadded_rows() {
    for cell in [Cell::Gru, Cell::Lstm] {
        let m = tiny(cell, DType::F64, 3);
        let rows = vec![vec![4i64, 5, 6, 7], vec![8, 4], vec![5, 6, 7]];
        let src = pad_batch(&rows, PAD).unwrap();
        assert_eq!(src.to_vec::<i64>().unwrap(), vec![4, 5, 6, 7, 8, 4, 0, 0, 5, 6, 7, 0]);
        let (out, state, mask) = m.encoder.encode(&src, Some(PAD)).unwrap();
        assert_eq!(out.shape(), vec![3, 4, 16]);
        assert_eq!(mask.to_vec::<bool>().unwrap()[4..8], [false, false, true, true]);
        let (o, h) = (out.to_vec::<f64>().unwrap(), state.h.to_vec::<f64>().unwrap());
        for (r, row) in rows.iter().enumerate() {
            let alone = pad_batch(std::slice::from_ref(row), PAD).unwrap();
            let (o1, s1, _) = m.encoder.encode(&alone, Some(PAD)).unwrap();
            let o1 = o1.to_vec::<f64>().unwrap();
            let l = row.len();
            assert_eq!(o[r * 64..r * 64 + l * 16], o1[..], "{cell:?} row {r} outputs");
            assert!(o[r * 64 + l * 16..(r + 1) * 64].iter().all(|&v| v == 0.0));
            assert_eq!(h[r * 16..(r + 1) * 16], s1.h.to_vec::<f64>().unwrap()[..], "{cell:?} row {r} state");
        }
        assert_eq!(state.c.is_some(), cell == Cell::Lstm);
    }
}

#[test]
fn teacher_forced_loss_falls_on_a_copy_task_and_greedy_decode_runs() {
    // Copy sequences of 2–4 symbols from 4..9; targets end in eos.
    let mut g = Generator::new(5);
    let mut batch = |n: usize| {
        let src: Vec<Vec<i64>> =
            (0..n).map(|_| (0..2 + g.below(3)).map(|_| 4 + g.below(5) as i64).collect()).collect();
        let tgt: Vec<Vec<i64>> = src.iter().map(|s| s.iter().copied().chain([EOS]).collect()).collect();
        (pad_batch(&src, PAD).unwrap(), pad_batch(&tgt, PAD).unwrap())
    };
    let m = tiny(Cell::Gru, DType::F32, 7);
    let params = m.parameters();
    let mut opt = Adam::new(params.clone(), AdamConfig::new(0.02)).unwrap();
    let (src0, tgt0) = batch(64);
    let first = m.loss(&src0, &tgt0).unwrap().item().unwrap();
    let (logits, w) = m.teacher_forced(&src0, &tgt0).unwrap();
    assert_eq!(logits.shape()[..2], tgt0.shape()[..]);
    assert_eq!(w.shape(), vec![64, tgt0.shape()[1], src0.shape()[1]]);
    for _ in 0..150 {
        let (src, tgt) = batch(32);
        opt.zero_grad();
        let loss = m.loss(&src, &tgt).unwrap();
        loss.backward().unwrap();
        clip_grad_norm(&params, 1.0, 2.0).unwrap();
        opt.step().unwrap();
    }
    let last = m.loss(&src0, &tgt0).unwrap().item().unwrap();
    assert!(last < 0.3 * first, "loss {first} -> {last}");
    // Greedy decoding: rows stop at eos, at most max_len; most copies come out right.
    let out = m.greedy_decode(&src0, 7).unwrap();
    assert_eq!(out.len(), 64);
    let want = tgt0.to_vec::<i64>().unwrap();
    let tl = tgt0.shape()[1];
    let mut right = 0;
    for (r, row) in out.iter().enumerate() {
        assert!(!row.is_empty() && row.len() <= 7);
        assert!(row[..row.len() - 1].iter().all(|&v| v != EOS));
        let w: Vec<i64> = want[r * tl..(r + 1) * tl].iter().copied().take_while(|&v| v != PAD).collect();
        right += (row == &w) as usize;
    }
    assert!(right >= 32, "{right}/64 copied exactly");
    let ids = m.forward(&src0).unwrap();
    assert_eq!(ids.dtype(), DType::I64);
    assert_eq!(ids.shape()[0], 64);
}

#[test]
fn parameter_names_follow_pytorch() {
    let m = tiny(Cell::Lstm, DType::F32, 0);
    let names: Vec<String> = m.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names[..6],
        [
            "encoder.embedding.weight",
            "encoder.rnn.weight_ih_l0",
            "encoder.rnn.weight_hh_l0",
            "encoder.rnn.bias_ih_l0",
            "encoder.rnn.bias_hh_l0",
            "decoder.embedding.weight"
        ]
    );
    assert_eq!(names.last().unwrap(), "decoder.out.bias");
    let ih = &m.named_parameters()[1].1;
    assert_eq!(ih.shape(), vec![4 * 16, 8], "LSTM: four gates");
}

#[test]
fn errors() {
    let m = tiny(Cell::Gru, DType::F32, 0);
    let src = Tensor::from_vec(vec![4i64, 0, 0, 0], &[2, 2]).unwrap();
    let e = m.encoder.encode(&src, Some(PAD)).unwrap_err().to_string();
    assert!(e.contains("all padding"), "{e}");
    assert!(m.encoder.encode(&Tensor::from_vec(vec![4i64], &[1]).unwrap(), None).is_err());
    let q = Tensor::zeros(&[1, 2, 3], DType::F32).unwrap();
    let k = Tensor::zeros(&[1, 4, 5], DType::F32).unwrap();
    let e = luong_attention(&q, &k, None).unwrap_err().to_string();
    assert!(e.contains("[1, 2, 3]") && e.contains("[1, 4, 5]"), "{e}");
    let src = Tensor::from_vec(vec![4i64, 5], &[1, 2]).unwrap();
    assert!(m.teacher_forced(&src, &Tensor::from_vec(vec![4i64, 5], &[2, 1]).unwrap()).is_err());
    let mut c = Seq2SeqConfig::new(9, 9, 8, 16);
    c.eos = 9;
    assert!(Seq2Seq::new(c, &mut Generator::new(0)).is_err());
}

#[test]
fn dates_in_words() {
    assert_eq!(date_in_words(1991, 3, 23, 0).unwrap(), "the twenty-third of march nineteen ninety-one");
    assert_eq!(date_in_words(2005, 3, 23, 1).unwrap(), "march twenty-third two thousand and five");
    assert_eq!(date_in_words(1900, 12, 1, 2).unwrap(), "december the first nineteen hundred");
    assert_eq!(date_in_words(1907, 1, 30, 3).unwrap(), "thirtieth january nineteen oh seven");
    assert_eq!(date_in_words(2023, 7, 4, 4).unwrap(), "four july twenty twenty-three");
    assert_eq!(date_in_words(2023, 7, 4, 1).unwrap(), "july fourth two thousand and twenty-three");
    assert_eq!(date_in_words(2000, 2, 29, 0).unwrap(), "the twenty-ninth of february two thousand");
    assert!(date_in_words(1900, 2, 29, 0).is_err(), "1900 is not a leap year");
    assert!(date_in_words(2100, 1, 1, 0).is_err());
    assert_eq!(iso(1991, 3, 23), "1991-03-23");
    assert_eq!((days_in_month(2024, 2), days_in_month(2023, 2), days_in_month(2023, 9)), (29, 28, 30));
    assert_eq!(source_tokens("the twenty-third of"), ["the", "twenty", "third", "of"]);
    let task = DateTask::new(500, 100, 9).unwrap();
    assert_eq!((task.train.len(), task.test.len()), (500, 100));
    assert!(!task.leaks());
    assert_eq!(DateTask::new(500, 100, 9).unwrap().test, task.test, "seeded");
    let v = Vocab::build(
        task.train
            .iter()
            .flat_map(|e| target_tokens(&e.target))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    assert_eq!(v.len(), 4 + 11);
    let ids = v.encode(&target_tokens("1991-03-23"), true);
    assert_eq!(*ids.last().unwrap(), EOS);
    assert_eq!(v.decode(&ids, ""), "1991-03-23");
    assert!(DateTask::new(80_000, 0, 0).is_err());
}
