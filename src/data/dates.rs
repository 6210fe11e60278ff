//! A synthetic translation task with a checkable answer: dates written in words to ISO dates.
//!
//! ```text
//! "the twenty-third of march nineteen ninety-one"  →  "1991-03-23"
//! "march twenty-third two thousand and five"       →  "2005-03-23"
//! ```
//!
//! Dates run from 1900-01-01 to 2099-12-31 (leap years by the Gregorian rule). Each is rendered
//! in one of five templates (the ordinal or the cardinal day, before or after the month) with the
//! year said as people say it ("nineteen oh five", "nineteen hundred", "two thousand and five",
//! "twenty twenty-three" or "two thousand and twenty-three"). The source is tokenized into words
//! at spaces and hyphens ("ninety-one" → `ninety one`), the target into characters.
//!
//! [`DateTask::new`] draws distinct dates with a seeded [`Generator`] and splits them **by date**:
//! no date of the test split appears in training, in any wording, so held-out exact match
//! measures generalization, not recall.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::rng::Generator;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] =
    ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const ORDINAL_ONES: [&str; 20] = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const ORDINAL_TENS: [&str; 4] = ["", "", "twentieth", "thirtieth"];

/// The number of templates [`date_in_words`] knows.
pub const STYLES: usize = 5;
/// The first and last years of the task.
pub const YEARS: (u32, u32) = (1900, 2099);

/// `n` in words, `0 ≤ n < 100` ("ninety-one").
pub fn cardinal(n: u32) -> String {
    match n {
        0..=19 => ONES[n as usize].to_string(),
        _ if n.is_multiple_of(10) => TENS[(n / 10) as usize % 10].to_string(),
        _ => format!("{}-{}", TENS[(n / 10) as usize % 10], ONES[(n % 10) as usize]),
    }
}

/// `n` as an ordinal in words, `1 ≤ n ≤ 31` ("twenty-third").
pub fn ordinal(n: u32) -> String {
    match n {
        0..=19 => ORDINAL_ONES[n as usize].to_string(),
        _ if n.is_multiple_of(10) => ORDINAL_TENS[(n / 10) as usize % 4].to_string(),
        _ => format!("{}-{}", TENS[(n / 10) as usize % 10], ORDINAL_ONES[(n % 10) as usize]),
    }
}

/// A year of 1900–2099 as spoken; `alt` picks "two thousand and …" over "twenty …" for 2010–2099.
pub fn year_in_words(year: u32, alt: bool) -> String {
    let yy = year % 100;
    match (year / 100, yy) {
        (19, 0) => "nineteen hundred".into(),
        (19, 1..=9) => format!("nineteen oh {}", ONES[yy as usize]),
        (19, _) => format!("nineteen {}", cardinal(yy)),
        (_, 0) => "two thousand".into(),
        (_, 1..=9) => format!("two thousand and {}", ONES[yy as usize]),
        (_, _) if alt => format!("two thousand and {}", cardinal(yy)),
        (_, _) => format!("twenty {}", cardinal(yy)),
    }
}

/// Days in `month` (1–12) of `year`, Gregorian.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A date rendered in words in template `style` (`0..STYLES`):
/// 0 "the {ordinal} of {month} {year}", 1 "{month} {ordinal} {year}", 2 "{month} the {ordinal}
/// {year}", 3 "{ordinal} {month} {year}", 4 "{cardinal} {month} {year}".
pub fn date_in_words(year: u32, month: u32, day: u32, style: usize) -> Result<String> {
    check_date(year, month, day)?;
    let m = MONTHS[month as usize - 1];
    let y = year_in_words(year, style % 2 == 1);
    Ok(match style % STYLES {
        0 => format!("the {} of {m} {y}", ordinal(day)),
        1 => format!("{m} {} {y}", ordinal(day)),
        2 => format!("{m} the {} {y}", ordinal(day)),
        3 => format!("{} {m} {y}", ordinal(day)),
        _ => format!("{} {m} {y}", cardinal(day)),
    })
}

/// `YYYY-MM-DD`.
pub fn iso(year: u32, month: u32, day: u32) -> String {
    format!("{year:04}-{month:02}-{day:02}")
}

fn check_date(year: u32, month: u32, day: u32) -> Result<()> {
    if !(YEARS.0..=YEARS.1).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
    {
        return Err(Error::invalid("dates", format!("no such date in 1900–2099: {year}-{month}-{day}")));
    }
    Ok(())
}

/// Words of a source sentence: split at spaces and hyphens.
pub fn source_tokens(text: &str) -> Vec<String> {
    text.split([' ', '-']).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// Characters of a target string.
pub fn target_tokens(text: &str) -> Vec<String> {
    text.chars().map(|c| c.to_string()).collect()
}

/// One example: the date, its wording and its ISO form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateExample {
    pub date: (u32, u32, u32),
    pub source: String,
    pub target: String,
}

/// Train and test examples over disjoint sets of dates.
#[derive(Clone, Debug)]
pub struct DateTask {
    pub train: Vec<DateExample>,
    pub test: Vec<DateExample>,
}

impl DateTask {
    /// `n_train + n_test` distinct dates drawn uniformly from 1900–2099 with `seed`; the first
    /// `n_train` are for training, the rest for testing (split by date). Each example gets a
    /// random template.
    pub fn new(n_train: usize, n_test: usize, seed: u64) -> Result<DateTask> {
        let all: Vec<(u32, u32, u32)> = (YEARS.0..=YEARS.1)
            .flat_map(|y| (1..=12).flat_map(move |m| (1..=days_in_month(y, m)).map(move |d| (y, m, d))))
            .collect();
        if n_train + n_test > all.len() {
            return Err(Error::invalid(
                "DateTask",
                format!("asked for {} dates, there are {}", n_train + n_test, all.len()),
            ));
        }
        let mut rng = Generator::new(seed);
        let order = rng.permutation(all.len());
        let mut examples = Vec::with_capacity(n_train + n_test);
        for &i in order.iter().take(n_train + n_test) {
            let (y, m, d) = all[i];
            let style = rng.below(STYLES);
            examples.push(DateExample {
                date: (y, m, d),
                source: date_in_words(y, m, d, style)?,
                target: iso(y, m, d),
            });
        }
        let test = examples.split_off(n_train);
        Ok(DateTask { train: examples, test })
    }

    /// Whether any test date also occurs in training (never, by construction).
    pub fn leaks(&self) -> bool {
        let seen: HashSet<_> = self.train.iter().map(|e| e.date).collect();
        self.test.iter().any(|e| seen.contains(&e.date))
    }
}

/// Padding, begin, end and unknown: ids 0–3 of every [`Vocab`].
pub const PAD: i64 = 0;
pub const BOS: i64 = 1;
pub const EOS: i64 = 2;
pub const UNK: i64 = 3;

/// A token ↔ id table with the four special tokens first (`<pad> <bos> <eos> <unk>`).
#[derive(Clone, Debug)]
pub struct Vocab {
    tokens: Vec<String>,
    index: HashMap<String, i64>,
}

impl Vocab {
    /// The specials, then every distinct token of `tokens` in order of first appearance.
    pub fn build<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Vocab {
        let mut v = Vocab { tokens: Vec::new(), index: HashMap::new() };
        for t in ["<pad>", "<bos>", "<eos>", "<unk>"].into_iter().chain(tokens) {
            if !v.index.contains_key(t) {
                v.index.insert(t.to_string(), v.tokens.len() as i64);
                v.tokens.push(t.to_string());
            }
        }
        v
    }
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
    /// The id of `token` ([`UNK`] when unknown).
    pub fn id(&self, token: &str) -> i64 {
        self.index.get(token).copied().unwrap_or(UNK)
    }
    /// Ids of `tokens`, then [`EOS`] when `eos`.
    pub fn encode(&self, tokens: &[String], eos: bool) -> Vec<i64> {
        let mut ids: Vec<i64> = tokens.iter().map(|t| self.id(t)).collect();
        if eos {
            ids.push(EOS);
        }
        ids
    }
    /// The tokens of `ids` up to the first [`EOS`], without specials, joined with `sep`.
    pub fn decode(&self, ids: &[i64], sep: &str) -> String {
        let words: Vec<&str> = ids
            .iter()
            .take_while(|&&i| i != EOS)
            .filter(|&&i| i > UNK && (i as usize) < self.tokens.len())
            .map(|&i| self.tokens[i as usize].as_str())
            .collect();
        words.join(sep)
    }
}
