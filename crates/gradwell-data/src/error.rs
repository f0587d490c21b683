use std::path::PathBuf;

use gradwell_tensor::ClassLabel;
use thiserror::Error;

/// Everything that can go wrong while reading, building or batching a data set.
///
/// Each variant names what was wrong and where: the file (or, for bytes in memory, the name
/// the caller gave them), the line and column of a CSV cell, the offending values.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A malformed IDX file.
    #[error("{source_name}: malformed IDX file: {problem}")]
    Idx {
        /// The file (or the name given to bytes in memory).
        source_name: String,
        /// What is wrong with it.
        problem: IdxProblem,
    },
    /// A malformed CSV file.
    #[error("{source_name}: {}{problem}", location(.line, .column))]
    Csv {
        /// The file (or the name given to bytes in memory).
        source_name: String,
        /// The 1-based line, when the problem has one.
        line: Option<usize>,
        /// The 1-based column, when the problem has one.
        column: Option<usize>,
        /// What is wrong.
        problem: CsvProblem,
    },
    /// A named data set whose files are not where they were looked for.
    #[error("{dataset}: {missing} not found in {dir}; {hint}")]
    NotFound {
        /// The data set, e.g. `"Fashion-MNIST"`.
        dataset: &'static str,
        /// The directory searched.
        dir: PathBuf,
        /// The file that is missing.
        missing: String,
        /// How to get the data.
        hint: &'static str,
    },
    /// A data set name that is not known.
    #[error("unknown data set `{name}`; known: {known}")]
    UnknownDataset {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A name of a choice (such as [`crate::LastBatch`]) that is not known.
    #[error("unknown {what} `{name}`; valid: {valid}")]
    UnknownName {
        /// What was named, e.g. `"last batch"`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A gzip input that decompresses to more than the limit the caller set
    /// ([`crate::DEFAULT_MAX_DECOMPRESSED`] by default). Nothing past the limit was
    /// decompressed.
    #[error("{source_name}: {}", too_large(.declared, .limit))]
    TooLarge {
        /// The file (or the name given to bytes in memory).
        source_name: String,
        /// The limit on decompressed bytes.
        limit: u64,
        /// The decompressed size the file declares, when its format declares one (IDX).
        declared: Option<u64>,
    },
    /// Arguments that do not fit together or are out of range (a batch size of 0, a split
    /// fraction outside (0, 1), labels whose count differs from the rows, ...).
    #[error("{context}: {why}")]
    Invalid {
        /// The function or type that refused, e.g. `"Batcher::new"`.
        context: &'static str,
        /// What was wrong.
        why: String,
    },
}

fn location(line: &Option<usize>, column: &Option<usize>) -> String {
    match (*line, *column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        (None, Some(c)) => format!("column {c}: "),
        (None, None) => String::new(),
    }
}

fn too_large(declared: &Option<u64>, limit: &u64) -> String {
    let limit = crate::gzip::show_bytes(*limit);
    match declared {
        Some(d) => format!(
            "the IDX header declares {d} bytes once decompressed, more than the limit of \
             {limit} on decompressed gzip input"
        ),
        None => format!("decompresses to more than {limit}, the limit on decompressed gzip input"),
    }
}

/// The classes `lo` to `hi` as words: `class 3` or `classes 3 to 9`.
fn classes(missing: &(ClassLabel, ClassLabel)) -> String {
    if missing.0 == missing.1 {
        format!("class {}", missing.0)
    } else {
        format!("classes {} to {}", missing.0, missing.1)
    }
}

impl DataError {
    /// A [`DataError::Invalid`].
    pub fn invalid(context: &'static str, why: impl Into<String>) -> Self {
        DataError::Invalid {
            context,
            why: why.into(),
        }
    }
}

/// What is wrong with an IDX file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdxProblem {
    /// Fewer bytes than the fixed part of the header (magic number and dimensions).
    #[error("the header needs {needed} bytes but the file has only {actual}")]
    ShortHeader {
        /// Bytes the header needs.
        needed: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The first two bytes are not zero.
    #[error("bad magic number {0:02x?}: an IDX file starts with two zero bytes")]
    BadMagic([u8; 2]),
    /// A type code other than `0x08` (unsigned byte).
    #[error(
        "element type code 0x{code:02X} ({name}) is not supported; only 0x08 (unsigned byte) is"
    )]
    UnsupportedType {
        /// The type code in the file.
        code: u8,
        /// Its meaning in the IDX format, or `"unknown"`.
        name: &'static str,
    },
    /// A rank of zero.
    #[error("rank 0: an IDX array needs at least one dimension")]
    ZeroRank,
    /// Dimensions whose product does not fit in memory addresses.
    #[error("dimensions {dims:?} overflow the element count")]
    Overflow {
        /// The declared dimensions.
        dims: Vec<u64>,
    },
    /// The data are shorter than the header declares.
    #[error("dimensions {dims:?} declare {declared} data bytes but the file holds {actual}")]
    Truncated {
        /// The declared dimensions.
        dims: Vec<usize>,
        /// Data bytes declared.
        declared: u64,
        /// Data bytes present.
        actual: u64,
    },
    /// Bytes after the declared data.
    #[error("dimensions {dims:?} declare {declared} data bytes but the file holds more")]
    TrailingBytes {
        /// The declared dimensions.
        dims: Vec<usize>,
        /// Data bytes declared.
        declared: u64,
    },
    /// A gzip file whose declared size no gzip stream of its length could hold.
    #[error(
        "dimensions {dims:?} declare {declared} bytes, more than a {compressed}-byte gzip \
         stream can decompress to"
    )]
    ImpossibleSize {
        /// The declared dimensions.
        dims: Vec<usize>,
        /// Bytes declared (header and data).
        declared: u64,
        /// The compressed length.
        compressed: u64,
    },
    /// A gzip stream that cannot be decompressed.
    #[error("corrupt gzip stream: {0}")]
    Gzip(String),
    /// Labels that skip a class, read without a declared number of classes (the classes
    /// are then those present, and must be 0 to C − 1).
    #[error(
        "label {label} (item {index} of the labels, counting from 0) leaves {} with no \
         sample: without a declared number of classes the labels must be 0 to C-1 with every \
         class present; renumber the labels from 0, or declare the number of classes",
        classes(.missing)
    )]
    LabelGap {
        /// The first label above the gap.
        label: ClassLabel,
        /// Its first position in the label array.
        index: usize,
        /// The first and last class with no sample.
        missing: (ClassLabel, ClassLabel),
    },
    /// Images and labels that do not belong together.
    #[error("{0}")]
    Mismatch(String),
}

/// What is wrong with a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CsvProblem {
    /// No data rows (an empty file, or a header alone).
    #[error("no data rows")]
    Empty,
    /// Bytes that are not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A feature cell that is not a finite number.
    #[error("`{0}` is not a finite number")]
    NotNumeric(String),
    /// A label cell that is not a non-negative integer.
    #[error("label `{0}` is not a non-negative integer")]
    BadLabel(String),
    /// A label not below the declared number of classes.
    #[error("label {label} is not below the number of classes {num_classes}")]
    LabelOutOfRange {
        /// The label.
        label: ClassLabel,
        /// The declared number of classes.
        num_classes: usize,
    },
    /// A label that skips a class, read without a declared number of classes (the classes
    /// are then those present, and must be 0 to C − 1). The error's line is where the
    /// label first appears.
    #[error(
        "label {label} leaves {} with no sample: without a declared number of classes the \
         labels must be 0 to C-1 with every class present; renumber the labels from 0, or \
         declare the number of classes",
        classes(.missing)
    )]
    LabelGap {
        /// The first label above the gap.
        label: ClassLabel,
        /// The first and last class with no sample.
        missing: (ClassLabel, ClassLabel),
    },
    /// A row whose number of cells differs from the first row's.
    #[error("{found} columns where the first row has {expected}")]
    Ragged {
        /// Columns in the first row.
        expected: usize,
        /// Columns in this row.
        found: usize,
    },
    /// A label column beyond the last column.
    #[error("label column {index} (0-based) does not exist in a row of {columns} columns")]
    NoSuchColumn {
        /// The 0-based column asked for.
        index: usize,
        /// Columns in the file.
        columns: usize,
    },
    /// A label column named by a header that does not have it.
    #[error("no column named `{name}` in the header {header:?}")]
    NoSuchName {
        /// The name asked for.
        name: String,
        /// The header's names.
        header: Vec<String>,
    },
    /// A label column named where the file has no header.
    #[error("the label column is named `{0}` but the file has no header")]
    NoHeader(String),
    /// Rows with a label and nothing else.
    #[error("no feature columns: every row holds only the label")]
    NoFeatures,
    /// A declared feature shape whose size is not the number of feature columns.
    #[error("feature shape {shape:?} holds {size} values but rows have {columns} features")]
    ShapeMismatch {
        /// The declared shape.
        shape: Vec<usize>,
        /// Its product.
        size: usize,
        /// Feature columns per row.
        columns: usize,
    },
    /// A gzip stream that cannot be decompressed.
    #[error("corrupt gzip stream: {0}")]
    Gzip(String),
    /// An empty label cell.
    #[error("empty label")]
    EmptyLabel,
    /// A label of the other kind than the file's first label: integer labels and class
    /// names cannot be mixed.
    #[error(
        "label `{label}` is {} but the first label (line {first_line}) is {}: integer labels and class names cannot be mixed",
        if *.is_name { "a class name" } else { "an integer" },
        if *.is_name { "an integer" } else { "a class name" }
    )]
    MixedLabels {
        /// The label.
        label: String,
        /// Whether this label is a class name (and the first an integer).
        is_name: bool,
        /// The line of the file's first label.
        first_line: usize,
    },
    /// Class names read with a declared number of classes.
    #[error(
        "the labels are class names ({names}), so the classes are those named; a number of classes ({num_classes}) applies only to integer labels"
    )]
    NamesWithNumClasses {
        /// The first few names.
        names: String,
        /// The declared number of classes.
        num_classes: usize,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
