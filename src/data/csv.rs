//! Reading CSV files, plain or gzip-compressed (by the `.gz` ending), with the `csv` and `flate2`
//! crates. Every error names the file and, where it has one, the line.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use flate2::read::GzDecoder;

use crate::error::{Error, Result};

/// A CSV file as text: the header (if the file has one) and the records.
#[derive(Debug, Clone)]
pub struct CsvTable {
    pub headers: Option<Vec<String>>,
    pub rows: Vec<Vec<String>>,
    /// The 1-based line number of each record in the file, for error messages.
    pub lines: Vec<u64>,
}

/// Options for [`read_csv`].
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    pub has_header: bool,
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { has_header: true, delimiter: b',' }
    }
}

/// Opens `path` for reading, decompressing it when its name ends in `.gz`.
pub fn open(path: &Path) -> Result<Box<dyn Read>> {
    let f = File::open(path).map_err(|e| Error::file(path, format!("cannot open: {e}")))?;
    let r = BufReader::new(f);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(GzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// Line numbers of CSV records that are right for both line endings.
///
/// The `csv` crate's `Position::line` is one short for every record after the first in a file with
/// CRLF line ends (the German credit file has them): the reader stops a record at the `\r` and
/// counts the `\n` only when it starts the next one. This counts the newlines itself, as the bytes
/// pass from the file to the parser: a record starting at byte $B$ is on line
/// $1 + \#\{\text{newlines at offsets} \le B\}$ (a newline at $B$ itself can only be the rest of
/// the previous record's `\r\n`). It keeps only the offsets the parser has read ahead, so its
/// memory stays at the size of the parser's buffer for a file of any length.
#[derive(Clone, Debug, Default)]
pub struct LineTracker(Rc<RefCell<LineState>>);

#[derive(Debug, Default)]
struct LineState {
    /// Bytes read so far.
    offset: u64,
    /// Offsets of the newlines read but not yet counted.
    pending: VecDeque<u64>,
    /// Newlines counted (all before the last record asked about).
    counted: u64,
}

/// A reader that reports its newlines to a [`LineTracker`].
pub struct Tracked<R> {
    inner: R,
    lines: LineTracker,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.lines.0.borrow_mut();
        let base = st.offset;
        st.pending
            .extend(buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| base + i as u64));
        st.offset += n as u64;
        Ok(n)
    }
}

impl LineTracker {
    /// `r`, reporting its newlines to this tracker.
    pub fn wrap<R: Read>(&self, r: R) -> Tracked<R> {
        Tracked { inner: r, lines: self.clone() }
    }
    /// The 1-based line of a record (or error) at `pos`. Positions must be asked about in file
    /// order, as a reader yields them.
    pub fn line(&self, pos: &csv::Position) -> u64 {
        let mut st = self.0.borrow_mut();
        while st.pending.front().is_some_and(|&nl| nl <= pos.byte()) {
            st.pending.pop_front();
            st.counted += 1;
        }
        st.counted + 1
    }
}

/// Reads a whole CSV file. All records must have the same number of fields.
pub fn read_csv(path: impl AsRef<Path>, opts: CsvOptions) -> Result<CsvTable> {
    let path = path.as_ref();
    read_csv_from(path, open(path)?, opts)
}

/// [`read_csv`] from a reader; `path` names the source in errors.
pub fn read_csv_from(path: &Path, source: impl Read, opts: CsvOptions) -> Result<CsvTable> {
    let tracker = LineTracker::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(opts.has_header)
        .delimiter(opts.delimiter)
        .flexible(false)
        .from_reader(tracker.wrap(source));
    let headers = if opts.has_header {
        let h = reader.headers().map_err(|e| csv_error(path, e, &tracker))?;
        Some(h.iter().map(str::to_string).collect())
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e, &tracker))?;
        lines.push(rec.position().map_or(0, |p| tracker.line(p)));
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok(CsvTable { headers, rows, lines })
}

/// A CSV file of numbers, row-major, with the line of each row for error messages.
#[derive(Debug, Clone)]
pub struct NumericCsv {
    pub values: Vec<f64>,
    pub rows: usize,
    pub cols: usize,
    /// The 1-based line of each row in the file (header counted).
    pub lines: Vec<u64>,
}

impl NumericCsv {
    /// Row `r` (0-based) as a slice.
    pub fn row(&self, r: usize) -> &[f64] {
        &self.values[r * self.cols..(r + 1) * self.cols]
    }
}

/// Reads a CSV file of numbers (see [`NumericCsv`]). A field that is not a finite number (text,
/// `nan`, `inf`, or a value like `1e400` that overflows f64) is an error naming the file, the line
/// and the column (see [`parse_finite`]).
pub fn read_numeric_csv(path: impl AsRef<Path>, has_header: bool) -> Result<NumericCsv> {
    let path = path.as_ref();
    let table = read_csv(path, CsvOptions { has_header, ..Default::default() })?;
    let cols = table.rows.first().map_or(0, Vec::len);
    let mut values = Vec::with_capacity(table.rows.len() * cols);
    for r in 0..table.rows.len() {
        for c in 0..cols {
            values.push(table.number(path, r, c)?);
        }
    }
    Ok(NumericCsv { values, rows: table.rows.len(), cols, lines: table.lines })
}

/// `line L, column C` or `line L, column C (NAME)`: where a field is, as the file shows it
/// (1-based, the header counted as line 1 and named where there is one).
pub fn place(line: u64, col: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("line {line}, column {} ({n})", col + 1),
        None => format!("line {line}, column {}", col + 1),
    }
}

/// Parses `field` as a finite f64. The error says which of the three ways it failed: not a
/// number at all, NaN or an infinity written out, or a number too large for f64 (`1e400`,
/// which Rust's parser turns into infinity). Data with such a value would train to a NaN loss.
pub fn parse_finite(field: &str) -> std::result::Result<f64, String> {
    let t = field.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => {
            Err(format!("{field:?} is NaN (a missing or invalid value); numbers must be finite"))
        }
        Ok(_) if t.to_ascii_lowercase().contains("inf") => {
            Err(format!("{field:?} is infinite; numbers must be finite"))
        }
        Ok(_) => Err(format!("{field:?} overflows f64 (largest finite value {:e})", f64::MAX)),
        Err(_) => Err(format!("{field:?} is not a number")),
    }
}

impl CsvTable {
    /// The name of column `c` when the table has a header.
    pub fn column_name(&self, c: usize) -> Option<&str> {
        self.headers.as_ref().and_then(|h| h.get(c)).map(String::as_str)
    }

    /// Where field (`r`, `c`) is, as [`place`] writes it.
    pub fn place(&self, r: usize, c: usize) -> String {
        place(self.lines.get(r).copied().unwrap_or(0), c, self.column_name(c))
    }

    /// Field (`r`, `c`) (0-based record and column) as a finite number, or an error naming the
    /// file `path`, the line, the column and its name.
    pub fn number(&self, path: &Path, r: usize, c: usize) -> Result<f64> {
        let field = self.rows.get(r).and_then(|row| row.get(c)).map_or("", String::as_str);
        parse_finite(field).map_err(|why| Error::file(path, format!("{}: {why}", self.place(r, c))))
    }
}

/// A `csv` error as an error naming the file and the line (counted by `tracker`).
pub fn csv_error(path: &Path, e: csv::Error, tracker: &LineTracker) -> Error {
    match e.position() {
        Some(p) => {
            let line = tracker.line(p);
            match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => Error::file(
                    path,
                    format!("line {line}: {len} fields where the earlier lines have {expected_len}"),
                ),
                _ => Error::file(path, format!("line {line}: {e}")),
            }
        }
        None => Error::file(path, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_plain_and_gzip_and_reports_lines() {
        let dir = std::env::temp_dir().join(format!("glassgrad-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("a.csv");
        std::fs::write(&plain, "x,y\n1,2\n3,4\n").unwrap();
        let t = read_numeric_csv(&plain, true).unwrap();
        assert_eq!((t.values, t.rows, t.cols, t.lines), (vec![1.0, 2.0, 3.0, 4.0], 2, 2, vec![2, 3]));
        let gz = dir.join("a.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(b"5,6\n7,8\n").unwrap();
        enc.finish().unwrap();
        assert_eq!(read_numeric_csv(&gz, false).unwrap().values, vec![5.0, 6.0, 7.0, 8.0]);
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "x,y\n1,2\n3,oops\n").unwrap();
        let e = read_numeric_csv(&bad, true).unwrap_err().to_string();
        assert!(e.contains("bad.csv") && e.contains("line 3, column 2 (y)") && e.contains("oops"), "{e}");
        for (field, why) in [
            ("nan", "is NaN"),
            ("-inf", "is infinite"),
            ("Infinity", "is infinite"),
            ("1e400", "overflows f64"),
        ] {
            let f = dir.join("nonfinite.csv");
            std::fs::write(&f, format!("1,2\n3,4\n5,{field}\n")).unwrap();
            let e = read_numeric_csv(&f, false).unwrap_err().to_string();
            assert!(e.contains("nonfinite.csv: line 3, column 2:") && e.contains(why), "{field}: {e}");
        }
        assert_eq!(parse_finite(" -1.5e300 "), Ok(-1.5e300));
        // CRLF line ends (the csv crate alone says line 2 for the record on line 3), a quoted
        // field spanning two lines, and a ragged row after it.
        let crlf = dir.join("crlf.csv");
        std::fs::write(&crlf, "a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n5,6\r\n7\r\n").unwrap();
        let e = read_csv(&crlf, CsvOptions::default()).unwrap_err().to_string();
        assert!(e.contains("line 6: 1 fields where the earlier lines have 2"), "{e}");
        std::fs::write(&crlf, "a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n5,6\r\n").unwrap();
        assert_eq!(read_csv(&crlf, CsvOptions::default()).unwrap().lines, vec![2, 3, 5]);
        let ragged = dir.join("ragged.csv");
        std::fs::write(&ragged, "x,y\n1,2\n3\n").unwrap();
        assert!(read_csv(&ragged, CsvOptions::default()).unwrap_err().to_string().contains("line 3"));
        assert!(read_csv(dir.join("missing.csv"), CsvOptions::default()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
