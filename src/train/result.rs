//! The final figures of a run or an evaluation ([`FinalMetrics`]) and how they are printed: human
//! lines ending with the headline, or JSON Lines.
//!
//! A figure is a [`Figure::Count`] (epochs, folds, samples, confusion counts: an integer in JSON
//! and in human lines) or a [`Figure::Real`] (a measurement: full precision in JSON, rounded in
//! human lines by [`human_value`]).

/// One figure of a result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    /// A whole number of things (`"epochs": 30`).
    Count(u64),
    /// A measurement (`"accuracy": 0.9731`, `"fit_s": 1.3412`).
    Real(f64),
}

impl Figure {
    /// The figure as a number.
    pub fn as_f64(self) -> f64 {
        match self {
            Figure::Count(n) => n as f64,
            Figure::Real(v) => v,
        }
    }
}

impl From<f64> for Figure {
    fn from(v: f64) -> Figure {
        Figure::Real(v)
    }
}
impl From<u64> for Figure {
    fn from(n: u64) -> Figure {
        Figure::Count(n)
    }
}
impl From<usize> for Figure {
    fn from(n: usize) -> Figure {
        Figure::Count(n as u64)
    }
}

/// The final figures of a run or an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalMetrics {
    pub model: String,
    /// String-valued fields written before `model` in JSON and first in human lines
    /// (`[("algo", "mf")]` gives `{"algo":"mf","model":"recommender",...}`); usually empty.
    pub tags: Vec<(String, String)>,
    /// The headline's words and its key in `values` (`("held-out accuracy", "accuracy")`).
    pub headline: (String, String),
    /// Every figure, in print order (snake_case keys as DESIGN.md: `accuracy`, `final_loss`, `fit_s`).
    pub values: Vec<(String, Figure)>,
    /// Extra human lines printed before the figures (paths written).
    pub notes: Vec<String>,
}

/// A figure for people: counts as integers; seconds (`*_s`) to 2 decimals (3 significant digits
/// below 0.1 s, `<0.001` below a millisecond); rates (`*_per_s`) and values of 1000 or more
/// without decimals; other values to 4 decimals (3 significant digits in scientific notation
/// below 0.001).
pub fn human_value(key: &str, v: Figure) -> String {
    let v = match v {
        Figure::Count(n) => return n.to_string(),
        Figure::Real(v) => v,
    };
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if key.ends_with("per_s") || a >= 1000.0 {
        format!("{v:.0}")
    } else if key.ends_with("_s") {
        if a >= 0.1 || a == 0.0 {
            format!("{v:.2}")
        } else if a >= 1e-3 {
            significant(v, 3)
        } else {
            "<0.001".to_string()
        }
    } else if a >= 1e-3 || a == 0.0 {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

/// `v` (finite, not zero, below 1 in magnitude) with `digits` significant digits, in positional
/// notation (`0.00412`).
fn significant(v: f64, digits: i32) -> String {
    let decimals = (digits - 1 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

impl FinalMetrics {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_f64())
    }

    /// The name of this result in human lines: the tags' values (`mf`), else the model.
    pub fn label(&self) -> String {
        if self.tags.is_empty() {
            self.model.clone()
        } else {
            self.tags.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" ")
        }
    }

    /// One JSON object: `{<tags>, "model": ..., <values>}` in that order (counts as integers,
    /// other floats round-trip exactly; a non-finite value is `null`).
    pub fn json_line(&self) -> String {
        let mut s = String::from("{");
        for (k, v) in &self.tags {
            s.push_str(&format!(
                "{}:{},",
                serde_json::Value::from(k.clone()),
                serde_json::Value::from(v.clone())
            ));
        }
        s.push_str(&format!("\"model\":{}", serde_json::Value::from(self.model.clone())));
        for (k, v) in &self.values {
            let v = match v {
                Figure::Count(n) => n.to_string(),
                Figure::Real(v) => {
                    serde_json::Number::from_f64(*v).map_or("null".to_string(), |n| n.to_string())
                }
            };
            s.push_str(&format!(",{}:{v}", serde_json::Value::from(k.clone())));
        }
        s.push('}');
        s
    }

    /// The headline line, `<words>: <value>` (4 decimals).
    pub fn headline_line(&self) -> String {
        let (words, key) = &self.headline;
        format!("{words}: {:.4}", self.get(key).unwrap_or(f64::NAN))
    }

    /// The human lines: notes, each figure but the headline's ([`human_value`]), then the
    /// headline.
    pub fn human_lines(&self) -> Vec<String> {
        let mut out = self.notes.clone();
        for (k, v) in &self.values {
            if *k != self.headline.1 {
                out.push(format!("{}: {}", k.replace('_', " "), human_value(k, *v)));
            }
        }
        out.push(self.headline_line());
        out
    }

    /// One compact line: the label, then each figure ([`human_value`]).
    pub fn summary_line(&self) -> String {
        let cells: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{} {}", k.replace('_', " "), human_value(k, *v)))
            .collect();
        format!("{}: {}", self.label(), cells.join("  "))
    }

    /// Prints the result: JSON on stdout and human lines on stderr with `json`, else human lines
    /// on stdout.
    pub fn print(&self, json: bool) {
        print_all(std::slice::from_ref(self), json)
    }
}

/// The human lines of several results (the headline result first in `results`). One result: its
/// [`FinalMetrics::human_lines`]. Several: the first's notes, then one named
/// [`FinalMetrics::summary_line`] per result in order, then the first's headline with its label
/// (`test rmse (baseline): 0.9930`), so that every line says whose figures it holds and the last
/// line is the headline.
pub fn human_lines_all(results: &[FinalMetrics]) -> Vec<String> {
    match results {
        [] => Vec::new(),
        [one] => one.human_lines(),
        [first, ..] => {
            let mut out = first.notes.clone();
            out.extend(results.iter().map(FinalMetrics::summary_line));
            let (words, key) = &first.headline;
            out.push(format!("{words} ({}): {:.4}", first.label(), first.get(key).unwrap_or(f64::NAN)));
            out
        }
    }
}

/// Prints results: with `json`, one JSON line per result on stdout (in order) and the human lines
/// on stderr; else the human lines ([`human_lines_all`]) on stdout.
pub fn print_all(results: &[FinalMetrics], json: bool) {
    if json {
        for l in human_lines_all(results) {
            eprintln!("{l}");
        }
        for r in results {
            println!("{}", r.json_line());
        }
    } else {
        for l in human_lines_all(results) {
            println!("{l}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_values_round_by_kind() {
        let r = |k: &str, v: f64| human_value(k, Figure::Real(v));
        assert_eq!(r("samples_per_s", 543875.6), "543876");
        assert_eq!(r("fit_s", 1.3412), "1.34");
        assert_eq!(r("predict_s", 0.004123), "0.00412");
        assert_eq!(r("predict_s", 0.0000329), "<0.001");
        assert_eq!(r("accuracy", 0.97312), "0.9731");
        assert_eq!(r("final_loss", 0.000123456), "1.23e-4");
        assert_eq!(r("cost", 1234.4), "1234");
        assert_eq!(r("accuracy", f64::NAN), "NaN");
        assert_eq!(human_value("epochs", Figure::Count(30)), "30");
    }

    fn result(model: &str, acc: f64) -> FinalMetrics {
        FinalMetrics {
            model: model.into(),
            tags: Vec::new(),
            headline: ("held-out accuracy".into(), "accuracy".into()),
            values: vec![
                ("accuracy".into(), acc.into()),
                ("epochs".into(), 30u64.into()),
                ("fit_s".into(), 1.3412.into()),
            ],
            notes: vec!["metrics: m.csv".into()],
        }
    }

    #[test]
    fn one_result_prints_its_headline_once_and_counts_as_integers() {
        let m = result("digits", 0.97312);
        assert_eq!(
            m.human_lines(),
            ["metrics: m.csv", "epochs: 30", "fit s: 1.34", "held-out accuracy: 0.9731"]
        );
        assert_eq!(m.json_line(), r#"{"model":"digits","accuracy":0.97312,"epochs":30,"fit_s":1.3412}"#);
    }

    #[test]
    fn several_results_each_name_their_lines() {
        let lines = human_lines_all(&[result("a", 0.5), result("b", 0.25)]);
        assert_eq!(
            lines,
            [
                "metrics: m.csv",
                "a: accuracy 0.5000  epochs 30  fit s 1.34",
                "b: accuracy 0.2500  epochs 30  fit s 1.34",
                "held-out accuracy (a): 0.5000",
            ]
        );
    }
}
