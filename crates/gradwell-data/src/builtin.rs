use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::csv::{CsvOptions, Header, parse_csv};
use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};
use crate::gzip::DEFAULT_MAX_DECOMPRESSED;
use crate::idx::read_idx_dataset;
use crate::sequence::{
    DEFAULT_SEQUENCE_SEED, DEFAULT_SEQUENCES, TEST_SEQUENCES_RATIO, TEST_STREAM, TRAIN_STREAM,
    adding, copy,
};

/// The digits set, gzip-compressed CSV, as shipped (see the crate docs for its origin).
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Samples in the embedded digits set.
pub const DIGITS_LEN: usize = 1797;

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST's class names, by label (from the data set's documentation).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The file names MNIST and Fashion-MNIST ship under: training images, training labels,
/// test images, test labels. Each is looked for as is, then without `.gz`.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// The embedded digits set: 1,797 handwritten digits, 8×8 images of pixel counts 0 to 16
/// (feature shape `[8, 8]`, value range `(0, 16)`), 10 classes named `"0"` to `"9"`.
/// This is the default data set of the project. It has no separate test set; make one
/// with [`Dataset::split`].
///
/// ```
/// let ds = gradwell_data::digits()?;
/// assert_eq!((ds.len(), ds.num_features(), ds.num_classes()), (1797, 64, 10));
/// assert_eq!(ds.feature_shape(), &[8, 8]);
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
pub fn digits() -> Result<Dataset> {
    let opts = CsvOptions::default()
        .header(Header::Absent)
        .num_classes(10)
        .feature_shape(vec![8, 8])
        .name("digits");
    parse_csv(DIGITS_CSV_GZ, "digits.csv.gz (embedded)", &opts)?
        .with_class_names((0..10).map(|d| d.to_string()))?
        .with_value_range(0.0, 16.0)
}

/// Fashion-MNIST (60,000 training and 10,000 test images of 28×28 grey levels 0 to 255,
/// 10 classes named by [`FASHION_MNIST_CLASSES`]) from `dir`, or from
/// [`FASHION_MNIST_DIR`] when `dir` is `None`, with the default limit on decompressed
/// input ([`crate::DEFAULT_MAX_DECOMPRESSED`], which the real files fit); see
/// [`Source::load`] to set another.
pub fn fashion_mnist(dir: Option<&Path>) -> Result<Split> {
    fashion_mnist_with_limit(dir, DEFAULT_MAX_DECOMPRESSED)
}

fn fashion_mnist_with_limit(dir: Option<&Path>, max_decompressed: u64) -> Result<Split> {
    let dir = dir.unwrap_or(Path::new(FASHION_MNIST_DIR));
    let mut split = read_mnist_layout(
        "Fashion-MNIST",
        "fashion-mnist",
        dir,
        max_decompressed,
        "install Debian's `dataset-fashion-mnist` package (apt-get install \
         dataset-fashion-mnist), or put the four IDX files of Fashion-MNIST in a directory \
         and name it",
    )?;
    split.train = split.train.with_class_names(FASHION_MNIST_CLASSES)?;
    split.test = split.test.with_class_names(FASHION_MNIST_CLASSES)?;
    Ok(split)
}

/// MNIST (60,000 training and 10,000 test images of 28×28 grey levels, 10 classes named
/// `"0"` to `"9"`) from `dir`, which holds its four IDX files ([`MNIST_FILES`]), with the
/// default limit on decompressed input; see [`Source::load`] to set another.
pub fn mnist(dir: &Path) -> Result<Split> {
    mnist_with_limit(dir, DEFAULT_MAX_DECOMPRESSED)
}

fn mnist_with_limit(dir: &Path, max_decompressed: u64) -> Result<Split> {
    let mut split = read_mnist_layout(
        "MNIST",
        "mnist",
        dir,
        max_decompressed,
        "put the four IDX files of MNIST (train-images-idx3-ubyte.gz, \
         train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) \
         in a directory and name it",
    )?;
    let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    split.train = split.train.with_class_names(names.clone())?;
    split.test = split.test.with_class_names(names)?;
    Ok(split)
}

fn read_mnist_layout(
    dataset: &'static str,
    name: &str,
    dir: &Path,
    max_decompressed: u64,
    hint: &'static str,
) -> Result<Split> {
    let find = |file: &str| -> Result<PathBuf> {
        let gz = dir.join(file);
        if gz.is_file() {
            return Ok(gz);
        }
        let raw = dir.join(file.trim_end_matches(".gz"));
        if raw.is_file() {
            return Ok(raw);
        }
        Err(DataError::NotFound {
            dataset,
            dir: dir.to_path_buf(),
            missing: file.to_string(),
            hint,
        })
    };
    let [train_x, train_y, test_x, test_y] = MNIST_FILES;
    let (train_x, train_y, test_x, test_y) =
        (find(train_x)?, find(train_y)?, find(test_x)?, find(test_y)?);
    Ok(Split {
        train: read_idx_dataset(
            format!("{name}/train"),
            train_x,
            train_y,
            Some(10),
            max_decompressed,
        )?,
        test: read_idx_dataset(
            format!("{name}/test"),
            test_x,
            test_y,
            Some(10),
            max_decompressed,
        )?,
    })
}

/// The fraction of a data set held out for testing when it ships without a test set
/// ([`Loaded::into_split`]), unless the caller says otherwise.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// The size of a built-in sequence task: its length (the knob), its training sequences
/// and its seed. Written `T`, `T,N` or `T,N,SEED` after the task's name (`adding:100`,
/// `copy:20,2000,3`); what is left out takes [`DEFAULT_SEQUENCES`] and
/// [`DEFAULT_SEQUENCE_SEED`]. The test part has one sequence for every
/// [`TEST_SEQUENCES_RATIO`] training ones, from another stream of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceSize {
    /// The sequence length (for the copy task, the delay between the symbols and the
    /// delimiter: sequences are 20 steps longer).
    pub steps: usize,
    /// Training sequences.
    pub sequences: usize,
    /// The seed of the sequences.
    pub seed: u64,
}

impl SequenceSize {
    /// A length with the default count and seed.
    pub fn new(steps: usize) -> Self {
        SequenceSize {
            steps,
            sequences: DEFAULT_SEQUENCES,
            seed: DEFAULT_SEQUENCE_SEED,
        }
    }

    /// Test sequences: a [`TEST_SEQUENCES_RATIO`]th of the training ones, at least 1.
    pub fn test_sequences(&self) -> usize {
        (self.sequences / TEST_SEQUENCES_RATIO).max(1)
    }

    /// Parses `T`, `T,N` or `T,N,SEED`; `task` names the task in errors.
    fn parse(task: &str, text: &str) -> Result<Self> {
        let bad = |why: String| DataError::UnknownDataset {
            name: format!("{task}:{text}"),
            known: format!("{why}; write {task}:T, {task}:T,N or {task}:T,N,SEED"),
        };
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() > 3 {
            return Err(bad(format!("{} numbers after `{task}:`", parts.len())));
        }
        let number = |i: usize, what: &str| -> Result<Option<u64>> {
            parts
                .get(i)
                .map(|p| {
                    p.parse::<u64>()
                        .map_err(|_| bad(format!("{what} `{p}` is not a whole number")))
                })
                .transpose()
        };
        let steps = number(0, "the length")?.unwrap_or(0);
        let mut size = SequenceSize::new(usize::try_from(steps).unwrap_or(usize::MAX));
        if let Some(n) = number(1, "the number of sequences")? {
            size.sequences = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(seed) = number(2, "the seed")? {
            size.seed = seed;
        }
        Ok(size)
    }
}

impl fmt::Display for SequenceSize {
    /// `T`, with `,N` and `,SEED` where they are not the defaults (the seed needs N).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.steps)?;
        if self.seed != DEFAULT_SEQUENCE_SEED {
            write!(f, ",{},{}", self.sequences, self.seed)
        } else if self.sequences != DEFAULT_SEQUENCES {
            write!(f, ",{}", self.sequences)
        } else {
            Ok(())
        }
    }
}

/// A data set known by name: what a command line or a config file names. Written
/// `digits`, `fashion-mnist`, `mnist`, `adding:T[,N[,SEED]]`, `copy:T[,N[,SEED]]` by
/// [`Display`](fmt::Display), [`FromStr`] and serde alike (serde goes through the other
/// two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Source {
    /// The embedded digits set (`"digits"`), the default.
    #[default]
    Digits,
    /// Fashion-MNIST (`"fashion-mnist"`).
    FashionMnist,
    /// MNIST (`"mnist"`).
    Mnist,
    /// The adding problem (`"adding:T"`, [`crate::sequence::adding`]).
    Adding(SequenceSize),
    /// The copy task (`"copy:T"`, [`crate::sequence::copy`]).
    CopyTask(SequenceSize),
}

impl Source {
    /// Every source named without a size, in the order names are listed in errors.
    pub const ALL: [Source; 3] = [Source::Digits, Source::FashionMnist, Source::Mnist];

    /// The sequence tasks, as their names are written with a size (`adding:T`), listed in
    /// errors after [`Source::ALL`].
    pub const SEQUENCE_TASKS: [&'static str; 2] = ["adding", "copy"];

    /// The name it is known by (without a sequence task's size).
    pub fn name(self) -> &'static str {
        match self {
            Source::Digits => "digits",
            Source::FashionMnist => "fashion-mnist",
            Source::Mnist => "mnist",
            Source::Adding(_) => Self::SEQUENCE_TASKS[0],
            Source::CopyTask(_) => Self::SEQUENCE_TASKS[1],
        }
    }

    /// Whether its samples are sequences (a built-in sequence task).
    pub fn is_sequence(self) -> bool {
        match self {
            Source::Digits | Source::FashionMnist | Source::Mnist => false,
            Source::Adding(_) | Source::CopyTask(_) => true,
        }
    }

    /// Loads it. `dir` is where MNIST or Fashion-MNIST lie (Fashion-MNIST defaults to
    /// [`FASHION_MNIST_DIR`]; MNIST has no default and errors without one); the digits are
    /// embedded and ignore it. A gzip file may decompress to at most `max_decompressed`
    /// bytes ([`crate::DEFAULT_MAX_DECOMPRESSED`] unless the caller has reason to change it).
    pub fn load(self, dir: Option<&Path>, max_decompressed: u64) -> Result<Loaded> {
        match self {
            Source::Digits => digits().map(Loaded::Whole),
            Source::FashionMnist => {
                fashion_mnist_with_limit(dir, max_decompressed).map(Loaded::TrainTest)
            }
            Source::Mnist => match dir {
                Some(dir) => mnist_with_limit(dir, max_decompressed).map(Loaded::TrainTest),
                None => Err(DataError::invalid(
                    "Source::load",
                    "MNIST has no default directory: name the directory holding its IDX files",
                )),
            },
            Source::Adding(n) => Ok(Loaded::TrainTest(Split {
                train: adding(n.steps, n.sequences, n.seed, TRAIN_STREAM)?,
                test: adding(n.steps, n.test_sequences(), n.seed, TEST_STREAM)?,
            })),
            Source::CopyTask(n) => Ok(Loaded::TrainTest(Split {
                train: copy(n.steps, n.sequences, n.seed, TRAIN_STREAM)?,
                test: copy(n.steps, n.test_sequences(), n.seed, TEST_STREAM)?,
            })),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Digits | Source::FashionMnist | Source::Mnist => f.write_str(self.name()),
            Source::Adding(n) | Source::CopyTask(n) => write!(f, "{}:{n}", self.name()),
        }
    }
}

impl FromStr for Source {
    type Err = DataError;

    /// Parses a name, ignoring case, `-` and `_` (`"Fashion_MNIST"` is Fashion-MNIST), or
    /// a sequence task with its size (`"adding:100"`, `"copy:20,2000,3"`).
    fn from_str(s: &str) -> Result<Self> {
        if let Some((task, size)) = s.split_once(':') {
            let task = task.trim().to_ascii_lowercase();
            let [adding_name, copy_name] = Source::SEQUENCE_TASKS;
            if task == adding_name {
                return Ok(Source::Adding(SequenceSize::parse(adding_name, size)?));
            }
            if task == copy_name {
                return Ok(Source::CopyTask(SequenceSize::parse(copy_name, size)?));
            }
        }
        parse_choice(s, &Source::ALL, Source::name).ok_or_else(|| DataError::UnknownDataset {
            name: s.to_string(),
            known: known_sources(),
        })
    }
}

/// The names of the sources, for errors: the fixed ones, then the sequence tasks with
/// their size.
fn known_sources() -> String {
    let fixed = Source::ALL.map(Source::name).join(", ");
    let tasks = Source::SEQUENCE_TASKS.map(|t| format!("{t}:T[,N[,SEED]]"));
    format!("{fixed}, {}", tasks.join(", "))
}

impl TryFrom<String> for Source {
    type Error = DataError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Source> for String {
    fn from(s: Source) -> String {
        s.name().to_string()
    }
}

/// The choice among `all` whose name is `text`, ignoring surrounding blanks, case, `-` and
/// `_`: the one rule of this crate's names.
pub(crate) fn parse_choice<T: Copy>(
    text: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Option<T> {
    let norm = |x: &str| x.trim().to_ascii_lowercase().replace(['-', '_'], "");
    let wanted = norm(text);
    all.iter().copied().find(|&c| norm(name(c)) == wanted)
}

/// What a [`Source`] gives: one set, or the training and test sets it ships.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // made once per run and unpacked at once: no boxing
pub enum Loaded {
    /// A single set (the digits).
    Whole(Dataset),
    /// Separate training and test sets.
    TrainTest(Split),
}

impl Loaded {
    /// Training and test sets: as shipped, or held out from a single set by
    /// [`Dataset::split`] (stratified, `test_fraction`, `seed`).
    pub fn into_split(self, test_fraction: f64, seed: u64) -> Result<Split> {
        match self {
            Loaded::Whole(ds) => ds.split(test_fraction, seed, true),
            Loaded::TrainTest(split) => Ok(split),
        }
    }
}
