//! Pins the definition of every CPU case of `glassgrad bench` (issue #13, item 8): the ids in
//! report order, each case's spec (sizes, layers, steps, batch, optimizer), its flop count and its
//! compulsory bytes, and that the PyTorch twin runs the same sizes. A change to a case must change
//! this file with it, on purpose: figures from before and after would not be comparable.

use glassgrad::bench::{self, torch::TWIN_SCRIPT};

const CNN: &str = "model=SeedCnn layers=conv3x3(3->32,pad1),relu,maxpool2x2,conv3x3(32->64,pad1),relu,maxpool2x2,linear(3136->128),relu,linear(128->10) params=422218 dtype=f32 batch=64 input=3x28x28";
const RNNLM: &str = "model=Embedding(1000,128)+RNN(tanh,128->128)+Linear(128->1000) params=290024 loss=cross_entropy(mean,every_token) dtype=f32 batch=64 steps=50 tokens=randint(0,1000)";
const LSTM: &str = "model=LSTM(64->128,layers=2)+Linear(128->10,last_step) params=232714 dtype=f32 batch=64 steps=50 x=randn";
const SGD: &str = "optimizer=sgd lr=0.01 momentum=0 weight_decay=0";

fn conv(c: usize, o: usize, hw: usize, pass: &str) -> String {
    format!(
        "op=conv2d dtype=f32 batch=64 in_channels={c} out_channels={o} hw={hw}x{hw} kernel=3x3 padding=1 stride=1 bias=true mode=cross_correlation pass={pass}"
    )
}

/// (id, spec, flops, compulsory bytes) of every CPU case, in report order.
fn pinned() -> Vec<(&'static str, String, f64, f64)> {
    // Flops of the listing's CNN forward: the two convs, fc1 and fc2.
    let cnn_fwd = 86_704_128.0 + 462_422_016.0 + 2.0 * 64.0 * (3136.0 * 128.0 + 1280.0);
    vec![
        // 2·1024³; A, B read and C written: 3·1024²·4.
        ("sgemm_1024", "op=matmul dtype=f32 m=1024 k=1024 n=1024 inputs=randn".into(), 2147483648.0, 12582912.0),
        ("sgemm_256", "op=matmul dtype=f32 m=256 k=256 n=256 inputs=randn".into(), 33554432.0, 786432.0),
        // 5 flops per element; one read and one write of 4096·1000 f32.
        (
            "softmax_4096x1000",
            "op=softmax dtype=f32 rows=4096 cols=1000 dim=-1 inputs=randn".into(),
            20480000.0,
            32768000.0,
        ),
        // 2·64·32·28²·3·9; 4·(x 150528 + w 864 + b 32 + y 1605632).
        ("conv1_fwd", conv(3, 32, 28, "fwd grad=off"), 86704128.0, 7028224.0),
        ("conv1_fwd_bwd", conv(3, 32, 28, "fwd+bwd grads=x,w,b"), 3.0 * 86704128.0, 2.0 * 7028224.0),
        ("conv2_fwd", conv(32, 64, 14, "fwd grad=off"), 462422016.0, 4890880.0),
        ("conv2_fwd_bwd", conv(32, 64, 14, "fwd+bwd grads=x,w,b"), 3.0 * 462422016.0, 2.0 * 4890880.0),
        // 3 comparisons per 2×2 window; x and dx (64·32·28² f32), y and dy (a quarter each).
        (
            "maxpool_fwd_bwd",
            "op=max_pool2d dtype=f32 batch=64 channels=32 hw=28x28 kernel=2x2 stride=2 pass=fwd+bwd".into(),
            3.0 * 64.0 * 32.0 * 196.0,
            2.5 * 4.0 * 64.0 * 32.0 * 784.0,
        ),
        // x + 422218 parameters + logits (64·10).
        ("cnn_fwd", format!("{CNN} grad=off"), cnn_fwd, 4.0 * (150528.0 + 422218.0 + 640.0)),
        (
            "cnn_train_step",
            format!("{CNN} labels=randint(0,10) loss=cross_entropy(mean) {SGD}"),
            3.0 * cnn_fwd,
            4.0 * 150528.0 + 8.0 * 64.0 + 2.0 * 4.0 * 422218.0,
        ),
        // 2·64·50·128·256; x + 33024 parameters + the output sequence.
        (
            "rnn_fwd",
            "op=rnn(tanh) dtype=f32 batch=64 steps=50 input_size=128 hidden=128 layers=1 bias=true params=33024 x=randn grad=off".into(),
            209715200.0,
            4.0 * (409600.0 + 33024.0 + 409600.0),
        ),
        // The RNN and the 128→1000 projection of all 3200 tokens; tokens and targets (i64) + parameters.
        ("rnnlm_fwd", format!("{RNNLM} grad=off"), 1028915200.0, 8.0 * 6400.0 + 4.0 * 290024.0),
        ("rnnlm_train_step", format!("{RNNLM} {SGD}"), 3.0 * 1028915200.0, 8.0 * 6400.0 + 8.0 * 290024.0),
        // Two LSTM layers (4 gates) and the last-step Linear(128, 10).
        ("lstm_fwd", format!("{LSTM} grad=off"), 1468170240.0, 4.0 * (204800.0 + 232714.0 + 640.0)),
        (
            "lstm_train_step",
            format!("{LSTM} labels=randint(0,10) loss=cross_entropy(mean,last_step) {SGD}"),
            3.0 * 1468170240.0,
            4.0 * 204800.0 + 8.0 * 64.0 + 8.0 * 232714.0,
        ),
        // 6·4096·50; Adam reads and writes 2·1000·50 parameters and their two moments.
        (
            "mf_train_step",
            "model=dot_product(mf_predict,zero_biases) users=1000 items=1000 factors=50 batch=4096 ratings=uniform(1,5) loss=mse(mean) optimizer=adam lr=0.001 betas=0.9,0.999 eps=1e-8 weight_decay=0 amsgrad=false dtype=f32".into(),
            1228800.0,
            24.0 * 100000.0 + 20.0 * 4096.0 + 8000.0,
        ),
    ]
}

#[test]
fn every_cpu_case_keeps_its_definition() {
    let cases = bench::cases();
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let want = pinned();
    assert_eq!(ids, want.iter().map(|w| w.0).collect::<Vec<_>>(), "the case list or its order changed");
    assert_eq!(ids.len(), 16);
    for (case, (id, spec, flops, bytes)) in cases.iter().zip(&want) {
        assert_eq!(&case.spec, spec, "{id}: spec");
        assert_eq!(case.work.flops, Some(*flops), "{id}: flops");
        assert_eq!(case.work.bytes, Some(*bytes), "{id}: bytes");
    }
}

#[test]
fn specs_are_key_value_pairs_without_repeats() {
    for c in bench::cases() {
        let keys: Vec<&str> = c.spec.split(' ').map(|kv| kv.split_once('=').map_or("", |(k, _)| k)).collect();
        assert!(keys.iter().all(|k| !k.is_empty()), "{}: {}", c.id, c.spec);
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "{}: a key repeats in {}", c.id, c.spec);
    }
}

/// Text the twin must contain for each case: its entry in `CASES` and the sizes it runs.
fn twin_snippets(id: &str) -> Vec<&'static str> {
    let cnn = vec![
        "nn.Conv2d(3, 32, kernel_size=3, padding=1)",
        "nn.Conv2d(32, 64, kernel_size=3, padding=1)",
        "self.pool = nn.MaxPool2d(kernel_size=2, stride=2)",
        "nn.Linear(64 * 7 * 7, 128)",
        "nn.Linear(128, 10)",
        "x = torch.randn(64, 3, 28, 28, generator=g)",
    ];
    match id {
        "sgemm_1024" => vec!["\"sgemm_1024\": sgemm(1024)", "torch.randn(n, n, generator=g)"],
        "sgemm_256" => vec!["\"sgemm_256\": sgemm(256)"],
        "softmax_4096x1000" => vec!["\"softmax_4096x1000\": softmax(4096, 1000)", "torch.softmax(x, dim=-1)"],
        "conv1_fwd" => vec!["\"conv1_fwd\": conv(3, 32, 28, False)", "F.conv2d(x, w, b, padding=1)"],
        "conv1_fwd_bwd" => vec!["\"conv1_fwd_bwd\": conv(3, 32, 28, True)", "torch.randn(64, c, hw, hw"],
        "conv2_fwd" => vec!["\"conv2_fwd\": conv(32, 64, 14, False)", "torch.randn(o, c, 3, 3"],
        "conv2_fwd_bwd" => vec!["\"conv2_fwd_bwd\": conv(32, 64, 14, True)", "torch.randn(64, o, hw, hw"],
        "maxpool_fwd_bwd" => vec![
            "\"maxpool_fwd_bwd\": maxpool_fwd_bwd",
            "torch.randn(64, 32, 28, 28, generator=g)",
            "F.max_pool2d(x, 2, 2)",
        ],
        "cnn_fwd" => [cnn, vec!["\"cnn_fwd\": cnn_fwd"]].concat(),
        "cnn_train_step" => {
            [cnn, vec!["\"cnn_train_step\": cnn_train_step", "torch.optim.SGD(model.parameters(), lr=0.01)"]]
                .concat()
        }
        "rnn_fwd" => vec![
            "\"rnn_fwd\": rnn_fwd()",
            "torch.nn.RNN(128, 128, batch_first=True)",
            "torch.randn(64, 50, 128, generator=g)",
        ],
        "rnnlm_fwd" | "rnnlm_train_step" => vec![
            if id == "rnnlm_fwd" {
                "\"rnnlm_fwd\": rnnlm(False)"
            } else {
                "\"rnnlm_train_step\": rnnlm(True)"
            },
            "torch.nn.Embedding(1000, 128)",
            "torch.nn.RNN(128, 128, batch_first=True)",
            "torch.nn.Linear(128, 1000)",
            "torch.randint(0, 1000, (64, 50), generator=g)",
            "torch.optim.SGD(model.parameters(), lr=0.01)",
        ],
        "lstm_fwd" | "lstm_train_step" => vec![
            if id == "lstm_fwd" { "\"lstm_fwd\": lstm(False)" } else { "\"lstm_train_step\": lstm(True)" },
            "torch.nn.LSTM(64, 128, num_layers=2, batch_first=True)",
            "torch.nn.Linear(128, 10)",
            "torch.randn(64, 50, 64, generator=g)",
            "torch.randint(0, 10, (64,), generator=g)",
        ],
        "mf_train_step" => vec![
            "\"mf_train_step\": mf_train_step()",
            "def mf_train_step(n=4096, v=1000, k=50)",
            "torch.optim.Adam(params, lr=1e-3)",
            "torch.rand(n, generator=g) * 4 + 1",
        ],
        other => panic!("no twin snippets for `{other}`: add them here"),
    }
}

#[test]
fn the_torch_twin_runs_the_same_cases_and_sizes() {
    for c in bench::cases() {
        for s in twin_snippets(&c.id) {
            assert!(TWIN_SCRIPT.contains(s), "{}: torch_twin.py lacks `{s}`", c.id);
        }
    }
}
