//! data::text on tests/fixtures/tweets_sample.csv: 300 synthetic messages written for these tests
//! (own phrases, the corpus's column layout `sentiment,confidence,text`, latin-1, with a quoted
//! comma, a quoted newline, `é` and `£` as single latin-1 bytes), and a short training run of the
//! listing's LSTM classifier on them.

use glassgrad::data::text::{Vocabulary, latin1_to_string, load_sentiment_csv, read_latin1_csv, tokenize};
use glassgrad::models::SeedLstm;
use glassgrad::nn::Module;
use glassgrad::ops::loss::Reduction;
use glassgrad::optim::{Adam, AdamConfig, Optimizer};
use glassgrad::{DType, Generator, Tensor};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tweets_sample.csv");

#[test]
fn reads_latin1_with_quotes_and_newlines() {
    assert_eq!(latin1_to_string(&[0x43, 0x61, 0x66, 0xE9, 0xA3]), "Café£");
    let table = read_latin1_csv(FIXTURE).unwrap();
    assert_eq!(table.headers.unwrap(), ["sentiment", "confidence", "text"]);
    assert_eq!(table.rows.len(), 300);
    assert_eq!(table.rows[3][2], "Café staff were lovely, 10/10");
    assert_eq!(table.rows[10][2], "Paid £40 for this?\nNever again");
    let data = load_sentiment_csv(FIXTURE).unwrap();
    assert_eq!(data.classes, ["negative", "neutral", "positive"]);
    let count = |c: i64| data.labels.iter().filter(|&&y| y == c).count();
    assert_eq!((count(0), count(1), count(2)), (128, 85, 87));
    let err = load_sentiment_csv("missing/tweets.csv").unwrap_err().to_string();
    assert!(err.contains("missing/tweets.csv"), "{err}");
}

#[test]
fn tokens_vocabulary_and_sequences() {
    assert_eq!(
        tokenize("Don't trust #driverless CARS_!.. 'no' thanks"),
        ["don't", "trust", "driverless", "cars", "no", "thanks"]
    );
    assert_eq!(tokenize("Café £40"), ["café", "40"]);
    let docs: Vec<Vec<String>> = ["b a c", "a b", "a d"].iter().map(|t| tokenize(t)).collect();
    // a ×3, b ×2, then c and d once each (alphabetical tie-break): size 5 keeps a, b, c.
    let v = Vocabulary::build(docs.iter(), 5).unwrap();
    assert_eq!(v.len(), 5);
    assert_eq!((v.id("a"), v.id("b"), v.id("c"), v.id("d")), (2, 3, 4, Vocabulary::UNK));
    assert_eq!(v.word(0), Some("<pad>"));
    let toks = tokenize("c d a b a");
    assert_eq!(v.encode(&toks, 7), [0, 0, 4, 1, 2, 3, 2], "left-padded");
    assert_eq!(v.encode(&toks, 3), [2, 3, 2], "truncated: the last ids kept, the last step real");
    assert_eq!(v.bag_of_words(&toks), [0.0, 1.0, 2.0, 1.0, 1.0]);
    assert!(Vocabulary::build(docs.iter(), 2).is_err());
}

#[test]
fn lstm_learns_the_fixture() {
    let data = load_sentiment_csv(FIXTURE).unwrap();
    let tokens: Vec<Vec<String>> = data.texts.iter().map(|t| tokenize(t)).collect();
    let vocab = Vocabulary::build(tokens.iter(), 60).unwrap();
    let ids: Vec<i64> = tokens.iter().flat_map(|t| vocab.encode(t, 8)).collect();
    let x = Tensor::from_vec(ids, &[300, 8]).unwrap();
    let y = Tensor::from_vec(data.labels.clone(), &[300]).unwrap();
    let mut rng = Generator::new(0);
    let model = SeedLstm::new(vocab.len(), 16, 16, 3, 2, DType::F32, &mut rng).unwrap();
    let mut opt = Adam::new(model.parameters(), AdamConfig::new(0.02)).unwrap();
    let first = model.forward(&x).unwrap().cross_entropy(&y, Reduction::Mean).unwrap().item().unwrap();
    let mut last = first;
    for _ in 0..40 {
        let loss = model.forward(&x).unwrap().cross_entropy(&y, Reduction::Mean).unwrap();
        opt.zero_grad();
        loss.backward().unwrap();
        opt.step().unwrap();
        last = loss.item().unwrap();
    }
    assert!(first > 1.0 && last < 0.3 * first, "loss {first} → {last}");
    let pred = model.forward(&x).unwrap().argmax(Some(1), false).unwrap().to_vec::<i64>().unwrap();
    let acc = pred.iter().zip(&data.labels).filter(|(a, b)| a == b).count() as f64 / 300.0;
    assert!(acc > 0.9, "training accuracy {acc}");
}
