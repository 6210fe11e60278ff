//! The attributes of one case: the metadata entries that are not `op`, `device`, `atol` or `rtol`,
//! parsed as JSON and checked against the op's row in the dispatch table.
//!
//! Every attribute the op declares has a value after [`Attrs::parse`]: the case's value, or the
//! table's default when the case leaves it out or writes JSON `null`. A default of `null` means
//! "none" (an optional attribute such as `sum`'s `dim`) or "required" (read with an accessor that
//! does not take `null`, such as [`Attrs::int`], it fails naming the attribute).

use std::collections::BTreeMap;

use serde_json::Value;

use super::failure::Failure;

/// Metadata keys that belong to the file format, not to the op.
pub const RESERVED_KEYS: &[&str] = &["op", "device", "atol", "rtol"];

/// The attributes of one case, defaults filled in.
#[derive(Debug, Clone)]
pub struct Attrs {
    op: &'static str,
    values: BTreeMap<&'static str, Value>,
}

impl Attrs {
    /// Reads the attributes of `op` from a case's metadata. `declared` lists each attribute the op
    /// knows with its default as JSON text. A metadata key that is neither reserved nor declared
    /// is an [`Failure::UnknownAttribute`]; a value that is not JSON is a [`Failure::BadAttribute`].
    pub fn parse(
        op: &'static str,
        declared: &'static [(&'static str, &'static str)],
        metadata: &BTreeMap<String, String>,
    ) -> Result<Attrs, Failure> {
        for key in metadata.keys() {
            let known = RESERVED_KEYS.contains(&key.as_str()) || declared.iter().any(|(n, _)| n == key);
            if !known {
                return Err(Failure::UnknownAttribute {
                    op: op.to_string(),
                    name: key.clone(),
                    known: declared.iter().map(|(n, _)| *n).collect(),
                });
            }
        }
        let mut values = BTreeMap::new();
        for &(name, default) in declared {
            let parse = |text: &str, what: &str| {
                serde_json::from_str::<Value>(text).map_err(|e| Failure::BadAttribute {
                    name: name.to_string(),
                    msg: format!("{what} {text:?} is not JSON: {e}"),
                })
            };
            let mut value = match metadata.get(name) {
                Some(text) => parse(text, "value")?,
                None => Value::Null,
            };
            if value.is_null() {
                value = parse(default, "the op table's default")?;
            }
            values.insert(name, value);
        }
        Ok(Attrs { op, values })
    }

    /// The op these attributes belong to.
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The JSON value of `name` (`Null` when absent and defaulting to none).
    pub fn value(&self, name: &str) -> Result<&Value, Failure> {
        self.values.get(name).ok_or_else(|| Failure::BadAttribute {
            name: name.to_string(),
            msg: format!("the dispatch entry of `{}` reads an attribute it does not declare", self.op),
        })
    }

    fn bad(&self, name: &str, want: &str, got: &Value) -> Failure {
        let msg = if got.is_null() {
            format!("required ({want}) and missing")
        } else {
            format!("expected {want}, got {got}")
        };
        Failure::BadAttribute { name: name.to_string(), msg }
    }

    /// An optional integer (`None` for `null`).
    pub fn int_opt(&self, name: &str) -> Result<Option<i64>, Failure> {
        match self.value(name)? {
            Value::Null => Ok(None),
            v => v.as_i64().map(Some).ok_or_else(|| self.bad(name, "an integer", v)),
        }
    }

    /// A required integer.
    pub fn int(&self, name: &str) -> Result<i64, Failure> {
        let v = self.value(name)?;
        self.int_opt(name)?.ok_or_else(|| self.bad(name, "an integer", v))
    }

    /// A required dimension index (may be negative).
    pub fn dim(&self, name: &str) -> Result<isize, Failure> {
        Ok(self.int(name)? as isize)
    }

    /// An optional list of integers; a single integer reads as a list of one.
    pub fn int_list_opt(&self, name: &str) -> Result<Option<Vec<i64>>, Failure> {
        let v = self.value(name)?;
        match v {
            Value::Null => Ok(None),
            Value::Number(_) => Ok(Some(vec![self.int(name)?])),
            Value::Array(items) => items
                .iter()
                .map(|x| x.as_i64().ok_or_else(|| self.bad(name, "a list of integers", v)))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            _ => Err(self.bad(name, "a list of integers", v)),
        }
    }

    /// A required list of integers.
    pub fn int_list(&self, name: &str) -> Result<Vec<i64>, Failure> {
        let v = self.value(name)?;
        self.int_list_opt(name)?.ok_or_else(|| self.bad(name, "a list of integers", v))
    }

    /// An optional list of dimensions (`None`: every dimension, as `sum`'s absent `dim`).
    pub fn dims_opt(&self, name: &str) -> Result<Option<Vec<isize>>, Failure> {
        Ok(self.int_list_opt(name)?.map(|ds| ds.into_iter().map(|d| d as isize).collect()))
    }

    /// An optional pair of non-negative integers (`kernel_size`, `stride`, `padding`,
    /// `dilation`): a list of two, or one integer meaning both, as PyTorch accepts.
    pub fn pair_opt(&self, name: &str) -> Result<Option<[usize; 2]>, Failure> {
        let v = self.value(name)?;
        let Some(list) = self.int_list_opt(name)? else { return Ok(None) };
        let pair = match list[..] {
            [a] if v.is_number() => [a, a],
            [a, b] => [a, b],
            _ => return Err(self.bad(name, "an integer or a list of two", v)),
        };
        if pair.iter().any(|&x| x < 0) {
            return Err(self.bad(name, "non-negative integers", v));
        }
        Ok(Some([pair[0] as usize, pair[1] as usize]))
    }

    /// A required pair (see [`Attrs::pair_opt`]).
    pub fn pair(&self, name: &str) -> Result<[usize; 2], Failure> {
        let v = self.value(name)?;
        self.pair_opt(name)?.ok_or_else(|| self.bad(name, "an integer or a list of two", v))
    }

    /// A required boolean.
    pub fn bool(&self, name: &str) -> Result<bool, Failure> {
        let v = self.value(name)?;
        v.as_bool().ok_or_else(|| self.bad(name, "true or false", v))
    }

    /// A required number (integer or not).
    pub fn number(&self, name: &str) -> Result<f64, Failure> {
        let v = self.value(name)?;
        v.as_f64().ok_or_else(|| self.bad(name, "a number", v))
    }

    /// An optional number (`None` for `null`), such as `clamp`'s `min` and `max`.
    pub fn number_opt(&self, name: &str) -> Result<Option<f64>, Failure> {
        match self.value(name)? {
            Value::Null => Ok(None),
            v => v.as_f64().map(Some).ok_or_else(|| self.bad(name, "a number", v)),
        }
    }

    /// A required string, checked against the allowed `choices`.
    pub fn choice(&self, name: &str, choices: &[&str]) -> Result<String, Failure> {
        let v = self.value(name)?;
        match v.as_str() {
            Some(s) if choices.contains(&s) => Ok(s.to_string()),
            _ => Err(self.bad(name, &format!("one of {choices:?}"), v)),
        }
    }
}
