//! Parameters shared by the losses on every device: how per-element losses are combined.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How per-element losses are combined (PyTorch's `reduction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// One loss per element (row).
    None,
    /// The (weighted) mean.
    #[default]
    Mean,
    /// The sum.
    Sum,
}

impl FromStr for Reduction {
    type Err = Error;
    /// `"none"`, `"mean"` or `"sum"`, as PyTorch spells them.
    fn from_str(s: &str) -> Result<Reduction> {
        match s {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            other => Err(Error::invalid(
                "reduction",
                format!("unknown reduction {other:?}; use none, mean or sum"),
            )),
        }
    }
}

impl fmt::Display for Reduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        })
    }
}
