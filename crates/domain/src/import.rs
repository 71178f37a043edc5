//! Customers moved in from paper cards or another system: a CSV file, read a row at a time and
//! checked, so a file of any size is read in the same memory.
//!
//! The file is UTF-8 (a byte order mark is skipped), separated by commas or semicolons (whichever
//! the header row holds more of), with a header row naming columns among [`IMPORT_COLUMNS`] in any
//! order. Every problem is reported with the line it is on, so the owner can fix the file in one
//! go.

use std::io::{BufRead, BufReader, Read};

use serde::Serialize;

use crate::customer::{CleanDetails, CustomerDetails};
use crate::money::Country;

/// The columns an import reads; the customers export writes the same.
pub const IMPORT_COLUMNS: [&str; 6] = [
    "name",
    "phone",
    "email",
    "external_id",
    "opening_points",
    "opening_visits",
];
/// The most problems a refused import lists.
pub const MAX_PROBLEMS: usize = 1_000;
pub const MAX_OPENING_POINTS: i64 = 1_000_000_000;
pub const MAX_OPENING_VISITS: i64 = 1_000_000;

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Something wrong with a line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// The file's line the row starts on; the header is line 1.
    pub line: u64,
    /// The column the problem is in, when it is in one.
    pub column: Option<String>,
    pub code: &'static str,
    pub detail: String,
}

impl ImportProblem {
    fn new(line: u64, column: Option<&str>, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            line,
            column: column.map(str::to_owned),
            code,
            detail: detail.into(),
        }
    }
}

/// What to do with a row whose phone, email or external id an existing customer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Leave the existing customer as they are and count the row as skipped.
    Skip,
    /// Refuse the whole import.
    Fail,
}

/// A row that passed its checks: who the customer is and what they bring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    pub details: CleanDetails,
    pub opening_points: i64,
    pub opening_visits: i64,
}

/// A customer file being read.
#[derive(Debug)]
pub struct CustomerFile<R: Read> {
    records: csv::Reader<BufReader<R>>,
    columns: Vec<String>,
    country: Country,
}

impl<R: Read> CustomerFile<R> {
    /// Opens the file and reads its header row; phones without a country code are read in
    /// `country`.
    pub fn open(source: R, country: Country) -> Result<Self, Vec<ImportProblem>> {
        let mut source = BufReader::new(source);
        let header_line =
            |problem: &str| vec![ImportProblem::new(1, None, "invalid_header", problem)];
        let start = source
            .fill_buf()
            .map_err(|e| header_line(&format!("the file could not be read: {e}")))?;
        let skip = if start.starts_with(BYTE_ORDER_MARK) {
            BYTE_ORDER_MARK.len()
        } else {
            0
        };
        let first_line = start[skip..]
            .split(|b| *b == b'\n')
            .next()
            .unwrap_or_default();
        let count = |byte: u8| first_line.iter().filter(|b| **b == byte).count();
        let delimiter = if count(b';') > count(b',') {
            b';'
        } else {
            b','
        };
        source.consume(skip);
        let mut records = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(source);
        let mut header = csv::StringRecord::new();
        match records.read_record(&mut header) {
            Ok(true) => {}
            Ok(false) => return Err(header_line("the file is empty; it needs a header row")),
            Err(e) => {
                return Err(header_line(&format!(
                    "the header row is not CSV in UTF-8: {e}"
                )));
            }
        }
        let columns: Vec<String> = header.iter().map(|c| c.trim().to_lowercase()).collect();
        let mut problems = Vec::new();
        for (index, column) in columns.iter().enumerate() {
            if !IMPORT_COLUMNS.contains(&column.as_str()) {
                problems.push(ImportProblem::new(
                    1,
                    Some(column),
                    "unknown_column",
                    format!(
                        "column {} is not one of {}",
                        index + 1,
                        IMPORT_COLUMNS.join(", ")
                    ),
                ));
            } else if columns[..index].contains(column) {
                problems.push(ImportProblem::new(
                    1,
                    Some(column),
                    "duplicate_column",
                    "named twice",
                ));
            }
        }
        if !["phone", "email", "external_id"]
            .iter()
            .any(|c| columns.iter().any(|column| column == c))
        {
            problems.push(ImportProblem::new(
                1,
                None,
                "missing_identifier_column",
                "the header needs at least one of phone, email and external_id",
            ));
        }
        if problems.is_empty() {
            Ok(Self {
                records,
                columns,
                country,
            })
        } else {
            Err(problems)
        }
    }

    /// The next row, checked; None at the end of the file. A row that cannot be read as CSV
    /// ends the file with its problem.
    pub fn next_row(&mut self) -> Option<Result<ImportRow, Vec<ImportProblem>>> {
        let mut record = csv::StringRecord::new();
        loop {
            match self.records.read_record(&mut record) {
                Ok(false) => return None,
                // Rows of empty fields (a spreadsheet's trailing `;;;`) are no customers.
                Ok(true) if record.iter().all(|field| field.trim().is_empty()) => {}
                Ok(true) => {
                    let line = record.position().map_or(0, csv::Position::line);
                    return Some(self.check(line, &record));
                }
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    let problem = ImportProblem::new(
                        line,
                        None,
                        "unreadable_row",
                        format!("not CSV in UTF-8: {e}"),
                    );
                    // Nothing after a row the reader cannot get past can be trusted.
                    while self.records.read_record(&mut record).unwrap_or(false) {}
                    return Some(Err(vec![problem]));
                }
            }
        }
    }

    fn check(
        &self,
        line: u64,
        record: &csv::StringRecord,
    ) -> Result<ImportRow, Vec<ImportProblem>> {
        let mut problems = Vec::new();
        if record.len() > self.columns.len() {
            problems.push(ImportProblem::new(
                line,
                None,
                "too_many_fields",
                format!(
                    "{} fields; the header names {}",
                    record.len(),
                    self.columns.len()
                ),
            ));
        }
        let field = |name: &str| {
            self.columns
                .iter()
                .position(|c| c == name)
                .and_then(|index| record.get(index))
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let mut count = |name: &'static str, max: i64| match field(name) {
            None => 0,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (0..=max).contains(&n) => n,
                _ => {
                    problems.push(ImportProblem::new(
                        line,
                        Some(name),
                        "invalid_number",
                        format!("must be a whole number from 0 to {max}"),
                    ));
                    0
                }
            },
        };
        let opening_points = count("opening_points", MAX_OPENING_POINTS);
        let opening_visits = count("opening_visits", MAX_OPENING_VISITS);
        let details = CustomerDetails {
            name: field("name"),
            phone: field("phone"),
            email: field("email"),
            external_id: field("external_id"),
        };
        let details = match details.clean(self.country) {
            Ok(clean) if !clean.has_identifier() => {
                problems.push(ImportProblem::new(
                    line,
                    None,
                    "missing_identifier",
                    "at least one of phone, email or external_id is required",
                ));
                None
            }
            Ok(clean) => Some(clean),
            Err(errors) => {
                for error in errors.fields() {
                    problems.push(ImportProblem::new(
                        line,
                        Some(&error.field),
                        "invalid_value",
                        error.message.clone(),
                    ));
                }
                None
            }
        };
        match details {
            Some(details) if problems.is_empty() => Ok(ImportRow {
                line,
                details,
                opening_points,
                opening_visits,
            }),
            _ => Err(problems),
        }
    }
}

impl<R: Read> Iterator for CustomerFile<R> {
    type Item = Result<ImportRow, Vec<ImportProblem>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<Result<ImportRow, Vec<ImportProblem>>>, Vec<ImportProblem>> {
        CustomerFile::open(text.as_bytes(), Country::parse("DE").expect("country"))
            .map(Iterator::collect)
    }

    #[test]
    fn reads_semicolons_a_bom_and_quoted_lines() {
        let read =
            rows("\u{feff}Name;Phone;opening_points\n\"Müller; Zoë\";0151 23456789;40\n;;\n")
                .expect("header");
        assert_eq!(read.len(), 1, "the blank row is skipped");
        let row = read[0].clone().expect("valid");
        assert_eq!(row.line, 2);
        assert_eq!(row.details.name.as_deref(), Some("Müller; Zoë"));
        assert_eq!(row.details.phone.as_deref(), Some("+4915123456789"));
        assert_eq!(row.opening_points, 40);
    }

    #[test]
    fn reports_every_problem_with_its_line_and_column() {
        let read = rows("email,opening_visits\nnot-an-email,-1\n,3\nzoe@example.com,2,extra\n")
            .expect("header");
        let problems: Vec<(u64, Option<String>, &str)> = read
            .into_iter()
            .filter_map(Result::err)
            .flatten()
            .map(|p| (p.line, p.column, p.code))
            .collect();
        assert_eq!(
            problems,
            [
                (2, Some("opening_visits".to_owned()), "invalid_number"),
                (2, Some("email".to_owned()), "invalid_value"),
                (3, None, "missing_identifier"),
                (4, None, "too_many_fields"),
            ]
        );
    }

    #[test]
    fn many_blank_rows_are_skipped_without_recursion() {
        let text = format!("external_id\n{}A-1\n", ",\n".repeat(200_000));
        let read = rows(&text).expect("header");
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].clone().expect("valid").line, 200_002);
    }

    #[test]
    fn refuses_headers_it_cannot_use() {
        let problems = rows("name,shoe_size,name\n").expect_err("refused");
        let codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                "unknown_column",
                "duplicate_column",
                "missing_identifier_column"
            ]
        );
        assert_eq!(rows("").expect_err("empty")[0].code, "invalid_header");
    }
}
