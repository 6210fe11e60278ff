//! Text for listing 1.4.3's LSTM classifier: a latin-1 CSV reader, a word tokenizer, a vocabulary
//! of the most frequent words, fixed-length id sequences, and bags of words.
//!
//! - **Tokens**: the text is lower-cased and split into maximal runs of letters, digits and
//!   apostrophes (`"Don't trust #driverless cars!"` → `don't`, `trust`, `driverless`, `cars`).
//! - **Vocabulary** of size $V$: id $0$ is padding, id $1$ unknown, ids $2 \dots V-1$ the $V - 2$
//!   most frequent words of the training texts (ties broken alphabetically, so the ids are
//!   deterministic).
//! - **Sequences** of length $T$: a message of $n$ ids becomes its last $\min(n, T)$ ids,
//!   left-padded with $0$: the last step always holds a real token (unless the message is empty),
//!   which is the step the classifier reads.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::csv::{CsvOptions, CsvTable, open, read_csv_from};
use crate::error::{Error, Result};

/// Decodes latin-1 (ISO 8859-1) bytes: each byte is the code point of the same value.
pub fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Reads a latin-1 CSV file (plain or `.gz`) with a header: the whole file is decoded first, then
/// parsed by the `csv` crate. Errors name the file and line.
pub fn read_latin1_csv(path: impl AsRef<Path>) -> Result<CsvTable> {
    let path = path.as_ref();
    let mut bytes = Vec::new();
    open(path)?.read_to_end(&mut bytes).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let text = latin1_to_string(&bytes);
    read_csv_from(path, text.as_bytes(), CsvOptions::default())
}

/// Labelled messages: the text, the class index, and the class names (sorted).
#[derive(Debug, Clone)]
pub struct LabelledTexts {
    pub texts: Vec<String>,
    pub labels: Vec<i64>,
    pub classes: Vec<String>,
}

/// Reads the sentiment corpus layout `sentiment,confidence,text` (latin-1): classes are the sorted
/// distinct values of `sentiment`. A `confidence` column, when there is one, must hold finite
/// numbers in $[0, 1]$.
pub fn load_sentiment_csv(path: impl AsRef<Path>) -> Result<LabelledTexts> {
    load_sentiment(path.as_ref(), None)
}

/// [`load_sentiment_csv`] for a corpus whose classes are known: a `sentiment` value outside
/// `classes` (a typo such as `"postive"`) is an error naming the file, line and column instead of
/// a new class. The classes are `classes`, sorted, whether or not each occurs.
pub fn load_sentiment_csv_classes(path: impl AsRef<Path>, classes: &[&str]) -> Result<LabelledTexts> {
    load_sentiment(path.as_ref(), Some(classes))
}

fn load_sentiment(path: &Path, known: Option<&[&str]>) -> Result<LabelledTexts> {
    let table = read_latin1_csv(path)?;
    let headers = table.headers.clone().unwrap_or_default();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::file(path, format!("no column {name:?} in the header {headers:?}")))
    };
    let (c_label, c_text) = (col("sentiment")?, col("text")?);
    let c_confidence = headers.iter().position(|h| h == "confidence");
    let mut classes: Vec<String> = match known {
        Some(k) => k.iter().map(|c| c.to_string()).collect(),
        None => table.rows.iter().filter_map(|r| r.get(c_label).cloned()).collect(),
    };
    classes.sort();
    classes.dedup();
    let mut texts = Vec::with_capacity(table.rows.len());
    let mut labels = Vec::with_capacity(table.rows.len());
    for (r, (row, line)) in table.rows.iter().zip(&table.lines).enumerate() {
        let (Some(label), Some(text)) = (row.get(c_label), row.get(c_text)) else {
            return Err(Error::file(path, format!("line {line}: missing sentiment or text")));
        };
        let Some(class) = classes.iter().position(|c| c == label) else {
            return Err(Error::file(
                path,
                format!("{}: {label:?} is not one of the classes {classes:?}", table.place(r, c_label)),
            ));
        };
        if let Some(c) = c_confidence {
            let v = table.number(path, r, c)?;
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::file(
                    path,
                    format!("{}: confidence {v} is outside [0, 1]", table.place(r, c)),
                ));
            }
        }
        labels.push(class as i64);
        texts.push(text.clone());
    }
    Ok(LabelledTexts { texts, labels, classes })
}

/// Lower-cased words: maximal runs of alphanumeric characters and apostrophes.
pub fn tokenize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Word ids: padding 0, unknown 1, then the most frequent words.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    words: Vec<String>,
    index: HashMap<String, i64>,
}

impl Vocabulary {
    pub const PAD: i64 = 0;
    pub const UNK: i64 = 1;

    /// The `size - 2` most frequent words of `docs` (ties alphabetical) plus padding and unknown.
    pub fn build<'a>(docs: impl IntoIterator<Item = &'a Vec<String>>, size: usize) -> Result<Vocabulary> {
        if size < 3 {
            return Err(Error::invalid("Vocabulary", format!("size must be at least 3, got {size}")));
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for doc in docs {
            for w in doc {
                *counts.entry(w.as_str()).or_default() += 1;
            }
        }
        let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut words = vec!["<pad>".to_string(), "<unk>".to_string()];
        words.extend(by_count.into_iter().take(size - 2).map(|(w, _)| w.to_string()));
        let index = words.iter().enumerate().skip(2).map(|(i, w)| (w.clone(), i as i64)).collect();
        Ok(Vocabulary { words, index })
    }

    /// The number of ids (padding and unknown included).
    pub fn len(&self) -> usize {
        self.words.len()
    }
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    /// The id of `word` (unknown when it is not in the vocabulary).
    pub fn id(&self, word: &str) -> i64 {
        self.index.get(word).copied().unwrap_or(Self::UNK)
    }
    /// The word of `id`.
    pub fn word(&self, id: i64) -> Option<&str> {
        usize::try_from(id).ok().and_then(|i| self.words.get(i)).map(String::as_str)
    }
    /// The last `len` ids of `tokens`, left-padded with [`Vocabulary::PAD`] to exactly `len`.
    pub fn encode(&self, tokens: &[String], len: usize) -> Vec<i64> {
        let ids: Vec<i64> = tokens.iter().map(|w| self.id(w)).collect();
        let keep = &ids[ids.len().saturating_sub(len)..];
        let mut out = vec![Self::PAD; len - keep.len()];
        out.extend_from_slice(keep);
        out
    }
    /// Word counts over the vocabulary (length [`Vocabulary::len`]; padding never counted).
    pub fn bag_of_words(&self, tokens: &[String]) -> Vec<f32> {
        let mut v = vec![0f32; self.len()];
        for w in tokens {
            v[self.id(w) as usize] += 1.0;
        }
        v
    }
}
