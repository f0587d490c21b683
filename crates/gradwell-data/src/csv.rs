//! A CSV reader for numeric features with a class label per row.
//!
//! The format read here is the plain one data sets are shipped in: one sample per line,
//! cells separated by a delimiter (`,` unless told otherwise), every cell but the label a
//! finite number (`3`, `-0.5`, `1e-3`), the label a non-negative integer (`7`, or `7.0`
//! as some tools write it). Cells are split by `csv-core`, the `csv` crate's parser, so a
//! cell may be quoted as RFC 4180 says (`"…"`, with `""` for a quote inside it), and a
//! quoted cell may hold the delimiter or a line break: a header such as
//! `"height, cm",label` has two columns. Around each cell, spaces are ignored, and a quoted
//! cell padded with spaces (` "2" `) is unquoted too. Blank lines are skipped, `\r\n` line
//! ends are accepted, a UTF-8 byte order mark at the start is dropped, and the file may be
//! gzip-compressed (recognised by its magic bytes), in which case it may decompress to at
//! most [`CsvOptions::max_decompressed`] bytes ([`crate::DEFAULT_MAX_DECOMPRESSED`] by
//! default).
//!
//! A label column whose cells are not integers (`setosa`, `versicolor`) holds class names:
//! the classes are the names present, numbered in the order of their names sorted by byte
//! (Rust's `str` order), so the same names give the same numbers whatever the order of the
//! rows, and a file split in two or shuffled numbers its classes alike. The names are
//! kept ([`Dataset::class_names`]). Integer labels and names cannot be mixed, and a
//! declared number of classes applies only to integer labels.
//!
//! The number of classes is declared ([`CsvOptions::num_classes`]: every label must be
//! below it, and classes without a sample are allowed) or taken from the labels present,
//! which must then be exactly 0 to C − 1, each class with a sample: a gap, such as one stray
//! label 1000000 among digits, is an error naming the line and the label rather than a
//! million-class data set.
//!
//! The label column is the last one by default ([`LabelColumn::Last`]), or numbered from 0
//! ([`LabelColumn::Index`]), or named in the header ([`LabelColumn::Name`]). Whether the
//! first line is a header is said explicitly ([`Header::Present`], [`Header::Absent`]) or
//! detected ([`Header::Auto`], the default): the first line is a header when one of its
//! cells is not a number. (A header of numbers only, such as `0,1,2`, is taken for data:
//! say [`Header::Present`] for such a file.)
//!
//! Errors name the file, the 1-based line (where the row starts) and column, and the cell.
//!
//! ```
//! use gradwell_data::csv::{parse_csv, CsvOptions, LabelColumn};
//!
//! let text = "height,species,width\n1.5,0,2\n3,1,4.25\n";
//! let opts = CsvOptions::default().label(LabelColumn::Name("species".into()));
//! let ds = parse_csv(text.as_bytes(), "plants.csv", &opts)?;
//! assert_eq!(ds.features(), ndarray::array![[1.5, 2.0], [3.0, 4.25]]);
//! assert_eq!(ds.labels(), &[0, 1]);
//!
//! let bad = parse_csv(b"1,2,0\n3,x,1\n", "bad.csv", &CsvOptions::default()).unwrap_err();
//! assert_eq!(bad.to_string(), "bad.csv: line 2, column 2: `x` is not a finite number");
//! # Ok::<(), gradwell_data::DataError>(())
//! ```

use std::io::Write;
use std::path::Path;

use csv_core::{ReadFieldResult, Terminator};
use gradwell_tensor::ClassLabel;
use ndarray::Array2;

use crate::dataset::{Dataset, first_label_gap};
use crate::error::{CsvProblem, DataError, Result};
use crate::gzip::{DEFAULT_MAX_DECOMPRESSED, GunzipError, gunzip_bounded};
use crate::idx::is_gzip;

/// Which column holds the label. Written `last`, a 0-based index (`0`) or a header name
/// (`species`) by [`Display`](std::fmt::Display), [`FromStr`](std::str::FromStr) and serde
/// alike.
///
/// ```
/// use gradwell_data::csv::LabelColumn;
///
/// assert_eq!("last".parse::<LabelColumn>()?, LabelColumn::Last);
/// assert_eq!("3".parse::<LabelColumn>()?, LabelColumn::Index(3));
/// assert_eq!("species".parse::<LabelColumn>()?.to_string(), "species");
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LabelColumn {
    /// The last column (the default).
    #[default]
    Last,
    /// The column with this 0-based index.
    Index(usize),
    /// The column with this name in the header.
    Name(String),
}

impl std::fmt::Display for LabelColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelColumn::Last => f.write_str("last"),
            LabelColumn::Index(i) => write!(f, "{i}"),
            LabelColumn::Name(n) => f.write_str(n),
        }
    }
}

impl std::str::FromStr for LabelColumn {
    type Err = DataError;

    /// `last`, a whole number, or else a header name; surrounding blanks are ignored. An
    /// empty text is refused.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DataError::invalid(
                "LabelColumn",
                "name the label column: last, a 0-based index or a header name",
            ));
        }
        Ok(if s == "last" {
            LabelColumn::Last
        } else if let Ok(i) = s.parse::<usize>() {
            LabelColumn::Index(i)
        } else {
            LabelColumn::Name(s.to_string())
        })
    }
}

impl TryFrom<String> for LabelColumn {
    type Error = DataError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<LabelColumn> for String {
    fn from(l: LabelColumn) -> String {
        l.to_string()
    }
}

/// Whether the first line is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// A header when one of its cells is not a number (the default).
    #[default]
    Auto,
    /// The first line is a header.
    Present,
    /// Every line is data.
    Absent,
}

/// How to read a CSV file; [`CsvOptions::default`] reads comma-separated values with the
/// label last and a detected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Which column holds the label.
    pub label: LabelColumn,
    /// Whether the first line is a header.
    pub header: Header,
    /// The cell separator, an ASCII byte (`b','` by default).
    pub delimiter: u8,
    /// The number of classes: every label must be below it. By default the classes are the
    /// labels present, which must then be 0 to C − 1 with each class present.
    pub num_classes: Option<usize>,
    /// The shape of one sample (e.g. `[8, 8]`); by default `[features]`.
    pub feature_shape: Option<Vec<usize>>,
    /// The data set's name; by default the file's stem (or the name given to the bytes).
    pub name: Option<String>,
    /// The most bytes gzip input may decompress to ([`DEFAULT_MAX_DECOMPRESSED`] by
    /// default); more is a [`DataError::TooLarge`]. Raw input is not limited.
    pub max_decompressed: u64,
    /// Whether a column holds the label (`true` by default). Without one every column is a
    /// feature and every sample gets label 0, of [`CsvOptions::num_classes`] classes (1
    /// if not declared): data to predict.
    pub labelled: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            label: LabelColumn::Last,
            header: Header::Auto,
            delimiter: b',',
            num_classes: None,
            feature_shape: None,
            name: None,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            labelled: true,
        }
    }
}

impl CsvOptions {
    /// Sets the label column.
    pub fn label(mut self, label: LabelColumn) -> Self {
        self.label = label;
        self
    }

    /// Sets whether the first line is a header.
    pub fn header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }

    /// Sets the delimiter.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets the number of classes.
    pub fn num_classes(mut self, num_classes: usize) -> Self {
        self.num_classes = Some(num_classes);
        self
    }

    /// Sets the shape of one sample.
    pub fn feature_shape(mut self, shape: Vec<usize>) -> Self {
        self.feature_shape = Some(shape);
        self
    }

    /// Sets the data set's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Reads every column as a feature: no label column.
    pub fn unlabelled(mut self) -> Self {
        self.labelled = false;
        self
    }

    /// Sets the most bytes gzip input may decompress to.
    pub fn max_decompressed(mut self, bytes: u64) -> Self {
        self.max_decompressed = bytes;
        self
    }
}

/// Reads a CSV file (raw or gzip) into a data set.
pub fn read_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut opts = opts.clone();
    if opts.name.is_none() {
        opts.name = path.file_stem().map(|s| {
            let s = s.to_string_lossy();
            s.strip_suffix(".csv").unwrap_or(&s).to_string()
        });
    }
    parse_csv(&bytes, &path.display().to_string(), &opts)
}

/// Parses CSV bytes (raw or gzip) into a data set; `source_name` names them in errors.
pub fn parse_csv(bytes: &[u8], source_name: &str, opts: &CsvOptions) -> Result<Dataset> {
    let err = |line: Option<usize>, column: Option<usize>, problem: CsvProblem| DataError::Csv {
        source_name: source_name.to_string(),
        line,
        column,
        problem,
    };
    if !opts.delimiter.is_ascii() || matches!(opts.delimiter, b'\n' | b'\r' | b'"') {
        return Err(DataError::invalid(
            "parse_csv",
            format!(
                "delimiter byte 0x{:02X} is not a usable ASCII separator",
                opts.delimiter
            ),
        ));
    }
    let decompressed;
    let bytes = if is_gzip(bytes) {
        decompressed = gunzip_bounded(bytes, opts.max_decompressed).map_err(|e| match e {
            GunzipError::Corrupt(why) => err(None, None, CsvProblem::Gzip(why)),
            GunzipError::TooLarge => DataError::TooLarge {
                source_name: source_name.to_string(),
                limit: opts.max_decompressed,
                declared: None,
            },
        })?;
        &decompressed[..]
    } else {
        bytes
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        err(Some(line), None, CsvProblem::NotUtf8)
    })?;
    // A byte order mark (which some spreadsheets write) is no part of the first cell.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);

    // The first row: its number of columns, and whether it is a header.
    let mut first = Cells::new(text, opts.delimiter);
    let Some(first_no) = first.next_record() else {
        return Err(err(None, None, CsvProblem::Empty));
    };
    let mut first_cells: Vec<bool> = Vec::new();
    while let Some(cell) = first.next_cell() {
        first_cells.push(unquote(cell).parse::<f64>().is_ok());
    }
    let columns = first_cells.len();
    let has_header = match opts.header {
        Header::Present => true,
        Header::Absent => false,
        Header::Auto => {
            // A text label alone does not make a header (it may be a class name): then the
            // first line is a header when the second line's label is a number.
            let label_at = match &opts.label {
                _ if !opts.labelled => None,
                LabelColumn::Last => Some(columns.saturating_sub(1)),
                &LabelColumn::Index(i) => Some(i),
                LabelColumn::Name(_) => None,
            };
            let features_numeric = first_cells
                .iter()
                .enumerate()
                .all(|(c, &n)| n || Some(c) == label_at);
            match label_at {
                Some(l) if features_numeric && first_cells.get(l) == Some(&false) => {
                    first.next_record().is_some_and(|_| {
                        let mut second_label = None;
                        let mut c = 0;
                        while let Some(cell) = first.next_cell() {
                            if c == l {
                                second_label = Some(unquote(cell).parse::<f64>().is_ok());
                            }
                            c += 1;
                        }
                        second_label == Some(true)
                    })
                }
                _ => !first_cells.iter().all(|&n| n),
            }
        }
    };
    let mut cells = Cells::new(text, opts.delimiter);
    let header: Option<Vec<String>> = if has_header {
        cells.next_record();
        let mut names = Vec::new();
        while let Some(cell) = cells.next_cell() {
            names.push(unquote(cell).to_string());
        }
        Some(names)
    } else {
        None
    };
    let label_col = match &opts.label {
        LabelColumn::Last => columns - 1,
        &LabelColumn::Index(index) => {
            if index >= columns {
                return Err(err(
                    Some(first_no),
                    None,
                    CsvProblem::NoSuchColumn { index, columns },
                ));
            }
            index
        }
        LabelColumn::Name(name) => {
            let Some(header) = &header else {
                return Err(err(
                    Some(first_no),
                    None,
                    CsvProblem::NoHeader(name.clone()),
                ));
            };
            match header.iter().position(|h| h == name) {
                Some(i) => i,
                None => {
                    return Err(err(
                        Some(first_no),
                        None,
                        CsvProblem::NoSuchName {
                            name: name.clone(),
                            header: header.clone(),
                        },
                    ));
                }
            }
        }
    };
    let label_col = opts.labelled.then_some(label_col);
    if columns < 1 + usize::from(opts.labelled) {
        return Err(err(Some(first_no), None, CsvProblem::NoFeatures));
    }
    let width = columns - usize::from(opts.labelled);
    if let Some(shape) = &opts.feature_shape {
        let size = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if size != Some(width) {
            return Err(err(
                None,
                None,
                CsvProblem::ShapeMismatch {
                    shape: shape.clone(),
                    size: size.unwrap_or(usize::MAX),
                    columns: width,
                },
            ));
        }
    }

    let mut features: Vec<f32> = Vec::new();
    let mut labels: Vec<ClassLabel> = Vec::new();
    // With class names, each row's name (numbered once all are known); `names_at` is the
    // line of the first label and whether it is a name.
    let mut row_names: Vec<String> = Vec::new();
    let mut names_at: Option<(usize, bool)> = None;
    let mut rows = 0;
    while let Some(no) = cells.next_record() {
        rows += 1;
        // A row of the wrong width is refused as such before any of its cells is judged;
        // otherwise its first bad cell (0-based column) is.
        let mut found = 0;
        let mut bad: Option<(usize, CsvProblem)> = None;
        while let Some(cell) = cells.next_cell() {
            found += 1;
            if found > columns || bad.is_some() {
                continue;
            }
            let c = found - 1;
            let cell = unquote(cell);
            if Some(c) == label_col {
                let parsed = parse_label(cell);
                let is_name = parsed.is_none() && cell.parse::<f64>().is_err();
                let &mut (first_line, names) = names_at.get_or_insert((no, is_name));
                if cell.is_empty() {
                    bad = Some((c, CsvProblem::EmptyLabel));
                    continue;
                }
                if is_name != names {
                    bad = Some((
                        c,
                        CsvProblem::MixedLabels {
                            label: shown(cell),
                            is_name,
                            first_line,
                        },
                    ));
                    continue;
                }
                if is_name {
                    row_names.push(cell.to_string());
                    continue;
                }
                match parsed {
                    None => bad = Some((c, CsvProblem::BadLabel(shown(cell)))),
                    Some(label) => match opts.num_classes {
                        Some(num_classes) if label as usize >= num_classes => {
                            bad = Some((c, CsvProblem::LabelOutOfRange { label, num_classes }));
                        }
                        _ => labels.push(label),
                    },
                }
            } else {
                match cell.parse::<f32>() {
                    Ok(v) if v.is_finite() => features.push(v),
                    _ => bad = Some((c, CsvProblem::NotNumeric(shown(cell)))),
                }
            }
        }
        if found != columns {
            return Err(err(
                Some(no),
                None,
                CsvProblem::Ragged {
                    expected: columns,
                    found,
                },
            ));
        }
        if let Some((c, problem)) = bad {
            return Err(err(Some(no), Some(c + 1), problem));
        }
    }
    let Some(label_col) = label_col else {
        if rows == 0 {
            return Err(err(None, None, CsvProblem::Empty));
        }
        let features = Array2::from_shape_vec((rows, width), features)
            .map_err(|e| DataError::invalid("parse_csv", e.to_string()))?;
        let name = opts.name.clone().unwrap_or_else(|| source_name.to_string());
        let ds = Dataset::new(name, features, vec![0; rows], opts.num_classes.unwrap_or(1))?;
        return match &opts.feature_shape {
            Some(shape) => ds.with_feature_shape(shape.clone()),
            None => Ok(ds),
        };
    };
    let mut class_names = None;
    if !row_names.is_empty() {
        let mut names: Vec<&str> = row_names.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        if let Some(num_classes) = opts.num_classes {
            let mut shown_names = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
            if names.len() > 3 {
                shown_names.push_str(", …");
            }
            return Err(err(
                None,
                Some(label_col + 1),
                CsvProblem::NamesWithNumClasses {
                    names: shown_names,
                    num_classes,
                },
            ));
        }
        labels = row_names
            .iter()
            .map(|n| {
                let i = names.binary_search(&n.as_str()).unwrap_or_default();
                ClassLabel::try_from(i).map_err(|e| DataError::invalid("parse_csv", e.to_string()))
            })
            .collect::<Result<_>>()?;
        class_names = Some(names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    }
    if labels.is_empty() {
        return Err(err(None, None, CsvProblem::Empty));
    }
    let num_classes = match opts.num_classes {
        Some(n) => n,
        None => {
            if let Some(gap) = first_label_gap(&labels) {
                // The gap's row is found again by walking the rows: only on this error.
                let mut rows = Cells::new(text, opts.delimiter);
                let line = std::iter::from_fn(|| rows.next_record())
                    .nth(gap.index + usize::from(has_header));
                return Err(err(
                    line,
                    Some(label_col + 1),
                    CsvProblem::LabelGap {
                        label: gap.label,
                        missing: gap.missing,
                    },
                ));
            }
            labels.iter().max().map_or(1, |&m| m as usize + 1)
        }
    };
    let features = Array2::from_shape_vec((labels.len(), width), features)
        .map_err(|e| DataError::invalid("parse_csv", e.to_string()))?;
    let name = opts.name.clone().unwrap_or_else(|| source_name.to_string());
    let mut ds = Dataset::new(name, features, labels, num_classes)?;
    if let Some(names) = class_names {
        ds = ds.with_class_names(names)?;
    }
    match &opts.feature_shape {
        Some(shape) => ds.with_feature_shape(shape.clone()),
        None => Ok(ds),
    }
}

/// Writes a data set as CSV: the features, then the label, one sample per line; with
/// `header`, a first line `f0,f1,…,label`. Values are written in Rust's shortest form that
/// reads back to the same `f32`, so [`parse_csv`] gives back the same data set.
pub fn write_csv(ds: &Dataset, out: &mut impl Write, header: bool) -> std::io::Result<()> {
    if header {
        for i in 0..ds.num_features() {
            write!(out, "f{i},")?;
        }
        writeln!(out, "label")?;
    }
    for (row, label) in ds.features().rows().into_iter().zip(ds.labels()) {
        for v in row {
            write!(out, "{v},")?;
        }
        writeln!(out, "{label}")?;
    }
    Ok(())
}

/// The rows of a CSV text, split into cells by csv-core one cell at a time, so that
/// nothing is held but the current cell: rows end at `\n` (a `\r` before it is trimmed
/// with the last cell), blank rows (one cell of spaces) are skipped, and each row's
/// 1-based line is where it starts.
struct Cells<'a> {
    parser: csv_core::Reader,
    input: &'a [u8],
    /// The next byte to parse.
    pos: usize,
    /// The 1-based line of `input[pos]`.
    line: usize,
    /// The current cell, unescaped, in `cell[..cell_len]` (`cell` is only ever grown).
    cell: Vec<u8>,
    cell_len: usize,
    /// The current cell has not been handed out yet (a row's first cell is read ahead, to
    /// see whether the row is blank).
    pending: bool,
    /// The last cell read ended its row.
    row_done: bool,
    /// Whether the parser has been called yet.
    started: bool,
}

impl<'a> Cells<'a> {
    /// `delimiter` must be ASCII and not `\n`, `\r` or `"`; `text` must not start with a
    /// byte order mark (the caller removes it).
    fn new(text: &'a str, delimiter: u8) -> Self {
        Cells {
            parser: csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .terminator(Terminator::Any(b'\n'))
                .build(),
            input: text.as_bytes(),
            pos: 0,
            line: 1,
            cell: Vec::new(),
            cell_len: 0,
            pending: false,
            row_done: true,
            started: false,
        }
    }

    /// Moves to the next row that is not blank, skipping what is left of the current one;
    /// returns the row's line, or `None` after the last row.
    fn next_record(&mut self) -> Option<usize> {
        while self.next_cell().is_some() {}
        loop {
            while self.input.get(self.pos) == Some(&b'\n') {
                self.pos += 1;
                self.line += 1;
            }
            if self.pos == self.input.len() {
                return None;
            }
            let line = self.line;
            self.row_done = self.read_cell();
            if !(self.row_done && self.current().trim().is_empty()) {
                self.pending = true;
                return Some(line);
            }
        }
    }

    /// The current row's next cell, or `None` after its last.
    fn next_cell(&mut self) -> Option<&str> {
        if self.pending {
            self.pending = false;
        } else if self.row_done {
            return None;
        } else {
            self.row_done = self.read_cell();
        }
        Some(self.current())
    }

    fn current(&self) -> &str {
        // The input is UTF-8 and csv-core splits and unescapes it only at ASCII bytes, so
        // every cell is UTF-8 too.
        std::str::from_utf8(&self.cell[..self.cell_len]).unwrap_or_default()
    }

    /// Reads one cell into `cell`; returns whether it ended its row.
    fn read_cell(&mut self) -> bool {
        self.cell_len = 0;
        loop {
            if self.cell_len == self.cell.len() {
                self.cell.resize((2 * self.cell.len()).max(64), 0);
            }
            // The first call sees one byte, so that csv-core does not take a second byte
            // order mark (after the one removed) for one: a mark is dropped only at the start.
            let end = if self.started {
                self.input.len()
            } else {
                (self.pos + 1).min(self.input.len())
            };
            self.started = true;
            let (result, read, written) = self
                .parser
                .read_field(&self.input[self.pos..end], &mut self.cell[self.cell_len..]);
            let consumed = &self.input[self.pos..self.pos + read];
            self.line += consumed.iter().filter(|&&b| b == b'\n').count();
            self.pos += read;
            self.cell_len += written;
            match result {
                // More input (an empty slice tells csv-core the text has ended) or more room.
                ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
                ReadFieldResult::Field { record_end } => return record_end,
                ReadFieldResult::End => return true,
            }
        }
    }
}

fn unquote(cell: &str) -> &str {
    let cell = cell.trim();
    cell.strip_prefix('"')
        .and_then(|c| c.strip_suffix('"'))
        .map_or(cell, str::trim)
}

/// A cell as shown in an error: long cells are cut.
fn shown(cell: &str) -> String {
    const MAX: usize = 40;
    match cell.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &cell[..i]),
        None => cell.to_string(),
    }
}

/// A non-negative integer label up to `u32::MAX`, written as an integer or as a float with
/// no fraction (a negative one is refused here, with its line and column).
fn parse_label(cell: &str) -> Option<ClassLabel> {
    let l = match cell.parse::<u32>() {
        Ok(l) => l,
        Err(_) => {
            let v = cell.parse::<f64>().ok()?;
            if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX)) {
                return None;
            }
            v as u32
        }
    };
    Some(ClassLabel::from(l))
}
