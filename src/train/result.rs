//! The final figures of a run or an evaluation ([`FinalMetrics`]) and how they are printed: human
//! lines ending with the headline, or JSON Lines.

/// The final figures of a run or an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalMetrics {
    pub model: String,
    /// String-valued fields written before `model` in JSON and first in human lines
    /// (`[("algo", "mf")]` gives `{"algo":"mf","model":"recommender",...}`); usually empty.
    pub tags: Vec<(String, String)>,
    /// The headline's words and its key in `values` (`("held-out accuracy", "accuracy")`).
    pub headline: (&'static str, &'static str),
    /// Every figure, in print order (snake_case keys as DESIGN.md: `accuracy`, `final_loss`, `fit_s`).
    pub values: Vec<(String, f64)>,
    /// Extra human lines printed before the figures (paths written).
    pub notes: Vec<String>,
}

impl FinalMetrics {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The name of this result in human lines: the tags' values (`mf`), else the model.
    pub fn label(&self) -> String {
        if self.tags.is_empty() {
            self.model.clone()
        } else {
            self.tags.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" ")
        }
    }

    /// One JSON object: `{<tags>, "model": ..., <values>}` in that order (floats round-trip
    /// exactly; a non-finite value is `null`).
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
            let v = serde_json::Number::from_f64(*v).map_or("null".to_string(), |n| n.to_string());
            s.push_str(&format!(",{}:{v}", serde_json::Value::from(k.clone())));
        }
        s.push('}');
        s
    }

    /// The human lines: notes, each figure (full precision), then the headline (4 decimals).
    pub fn human_lines(&self) -> Vec<String> {
        let mut out = self.notes.clone();
        for (k, v) in &self.values {
            out.push(format!("{}: {v}", k.replace('_', " ")));
        }
        let (words, key) = self.headline;
        out.push(format!("{words}: {:.4}", self.get(key).unwrap_or(f64::NAN)));
        out
    }

    /// One compact line: the label, then each figure to 4 decimals.
    pub fn summary_line(&self) -> String {
        let cells: Vec<String> = self.values.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        format!("{}: {}", self.label(), cells.join("  "))
    }

    /// Prints the result: JSON on stdout and human lines on stderr with `json`, else human lines
    /// on stdout.
    pub fn print(&self, json: bool) {
        print_all(std::slice::from_ref(self), json)
    }
}

/// The human lines of several results (the headline result first in `results`): a summary line
/// for each other result, then the headline result's own lines, so that the last line is its
/// headline.
pub fn human_lines_all(results: &[FinalMetrics]) -> Vec<String> {
    let Some((first, rest)) = results.split_first() else { return Vec::new() };
    let mut out: Vec<String> = rest.iter().map(FinalMetrics::summary_line).collect();
    out.extend(first.human_lines());
    out
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
