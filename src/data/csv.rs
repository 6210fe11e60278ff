//! Reading CSV files, plain or gzip-compressed (by the `.gz` ending), with the `csv` and `flate2`
//! crates. Every error names the file and, where it has one, the line.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

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

/// Reads a whole CSV file. All records must have the same number of fields.
pub fn read_csv(path: impl AsRef<Path>, opts: CsvOptions) -> Result<CsvTable> {
    let path = path.as_ref();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(opts.has_header)
        .delimiter(opts.delimiter)
        .flexible(false)
        .from_reader(open(path)?);
    let headers = if opts.has_header {
        let h = reader.headers().map_err(|e| csv_error(path, e))?;
        Some(h.iter().map(str::to_string).collect())
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        lines.push(rec.position().map_or(0, |p| p.line()));
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok(CsvTable { headers, rows, lines })
}

/// Reads a CSV file of numbers into a row-major `Vec<f64>`; returns `(values, rows, columns)`.
/// A field that is not a number is an error naming the file, the line and the column.
pub fn read_numeric_csv(path: impl AsRef<Path>, has_header: bool) -> Result<(Vec<f64>, usize, usize)> {
    let path = path.as_ref();
    let table = read_csv(path, CsvOptions { has_header, ..Default::default() })?;
    let cols = table.rows.first().map_or(0, Vec::len);
    let mut values = Vec::with_capacity(table.rows.len() * cols);
    for (row, line) in table.rows.iter().zip(&table.lines) {
        for (c, field) in row.iter().enumerate() {
            let v: f64 = field.trim().parse().map_err(|_| {
                Error::file(path, format!("line {line}, column {}: {field:?} is not a number", c + 1))
            })?;
            values.push(v);
        }
    }
    Ok((values, table.rows.len(), cols))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    match e.position() {
        Some(p) => Error::file(path, format!("line {}: {e}", p.line())),
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
        let (v, r, c) = read_numeric_csv(&plain, true).unwrap();
        assert_eq!((v, r, c), (vec![1.0, 2.0, 3.0, 4.0], 2, 2));
        let gz = dir.join("a.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(b"5,6\n7,8\n").unwrap();
        enc.finish().unwrap();
        assert_eq!(read_numeric_csv(&gz, false).unwrap().0, vec![5.0, 6.0, 7.0, 8.0]);
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "x,y\n1,2\n3,oops\n").unwrap();
        let e = read_numeric_csv(&bad, true).unwrap_err().to_string();
        assert!(e.contains("bad.csv") && e.contains("line 3") && e.contains("oops"), "{e}");
        let ragged = dir.join("ragged.csv");
        std::fs::write(&ragged, "x,y\n1,2\n3\n").unwrap();
        assert!(read_csv(&ragged, CsvOptions::default()).unwrap_err().to_string().contains("line 3"));
        assert!(read_csv(dir.join("missing.csv"), CsvOptions::default()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
