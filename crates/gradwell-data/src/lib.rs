//! Data sets for gradwell: readers for the IDX format ([`idx`], in which MNIST and
//! Fashion-MNIST ship) and for CSV ([`csv`]), the embedded [`digits`] set (the project's
//! default data), Fashion-MNIST and MNIST by name ([`Source`]), synthetic sets
//! ([`synthetic`]), sequence tasks for recurrent networks, the adding problem and the copy
//! task ([`sequence`], also by name: `adding:T`, `copy:T`), scaling and standardization ([`Transform`]), reproducible splits
//! ([`Dataset::split`]) and seeded, allocation-free mini-batches ([`Batcher`]).
//!
//! The crate is a leaf: it depends on no other gradwell crate and knows nothing of
//! networks or training. A data set is a [`Dataset`]: an `f32` feature matrix
//! (`samples × features`), its targets ([`TargetKind`]: a class index per sample, a class
//! index per step of a sequence, or real values), the number of classes, the shape of one
//! sample (`[8, 8]`, `[28, 28]`, `[T, F]` for a sequence) and, where the source has them,
//! class names.
//!
//! ```
//! use gradwell_data::{digits, Batcher, LastBatch, Transform, DEFAULT_STD_FLOOR};
//! use ndarray::Array2;
//!
//! // Hold out a stratified fifth of the digits, standardize with statistics of the rest.
//! let mut split = digits()?.split(0.2, 42, true)?;
//! let t = Transform::fit_standardize(split.train.features(), DEFAULT_STD_FLOOR)?;
//! split.apply(&t)?;
//!
//! // Shuffled batches of 64 into reused buffers.
//! let mut batches = Batcher::new(split.train.len(), 64, LastBatch::Drop, 42)?;
//! let (mut x, mut y) = (Array2::zeros((64, 64)), Vec::with_capacity(64));
//! while let Some(rows) = batches.fill_batch(&split.train, &mut x, &mut y)? {
//!     assert_eq!(rows, 64); // the partial last batch is dropped
//! }
//! # Ok::<(), gradwell_data::DataError>(())
//! ```
//!
//! # Formats
//!
//! - **IDX** ([`idx`]): a two-zero-byte magic number, an element-type byte (`0x08`,
//!   unsigned byte, is the type read here), a rank byte, the dimensions as big-endian
//!   `u32`, then the elements; raw or gzip-compressed, told apart by the gzip magic bytes.
//!   Everything the header declares is checked against the file's length before anything
//!   is allocated for the elements, and gzip input is decompressed as a bounded stream.
//! - **CSV** ([`csv`]): one sample per line, numeric feature cells, an integer label in the
//!   last column or one named or numbered; an optional header, detected or declared; a
//!   UTF-8 byte order mark is dropped. The classes are declared or are the labels present,
//!   which must then be 0 to C − 1 with each class present.
//!
//! # Limits on sizes read from the bytes
//!
//! A size written in a file never drives an allocation unchecked. Gzip input (IDX or CSV)
//! is decompressed through a reader that stops one byte past a limit,
//! [`DEFAULT_MAX_DECOMPRESSED`] (256 MiB) unless the caller passes another
//! ([`csv::CsvOptions::max_decompressed`], [`idx::parse_idx_with_limit`],
//! [`Source::load`]); more is a [`DataError::TooLarge`] naming the file and the limit. An
//! IDX header's dimensions are checked against the file's length (raw) or the limit and
//! deflate's ratio (gzip) before the elements are read. Labels read without a declared
//! number of classes must be 0 to C − 1 (a stray large label is an error, not a class
//! count), and no data set has more than [`MAX_CLASSES`] classes.
//!
//! Malformed input gives a [`DataError`] naming the file and the problem (for CSV, the
//! line and column); no reader panics on input bytes. The [`fuzzing`] module holds the
//! properties the fuzz targets check.
//!
//! # The embedded digits set
//!
//! [`digits`] returns 1,797 handwritten digits, 8×8 images of pixel counts 0 to 16, in 10
//! classes, embedded in the crate (about 57 KB, gzip-compressed CSV). They are the test
//! part of the UCI "Optical Recognition of Handwritten Digits" data set by E. Alpaydin
//! and C. Kaynak (1998), as redistributed inside scikit-learn
//! (`sklearn/datasets/data/digits.csv.gz`), published under the Creative Commons
//! Attribution 4.0 licence (CC BY 4.0); the crate's `data/PROVENANCE.md` keeps the
//! attribution. Software that embeds this crate redistributes the data set and must carry
//! the same attribution.
//!
//! # Fashion-MNIST and MNIST
//!
//! [`fashion_mnist`] reads the four IDX files from a directory, by default where Debian's
//! `dataset-fashion-mnist` package installs them ([`FASHION_MNIST_DIR`]); [`mnist`] reads
//! MNIST's four files from a directory the user names. A missing file is a
//! [`DataError::NotFound`] that says how to get the data.
//!
//! # Reproducibility
//!
//! Every random choice (splits, shuffles, synthetic sets) comes from a ChaCha8 RNG seeded
//! by the caller, through draws written out in this crate rather than `rand`'s
//! version-dependent helpers, so a seed gives the same result across dependency updates.
//! A [`Batcher`]'s [`BatcherState`] can be saved and restored mid-epoch.
#![doc(test(attr(deny(warnings))))]

mod batch;
mod builtin;
pub mod csv;
mod dataset;
mod error;
pub mod fuzzing;
mod gzip;
pub mod idx;
mod rng;
pub mod sequence;
pub mod synthetic;
mod transform;

pub use batch::{Batcher, BatcherState, LastBatch};
pub use builtin::{
    DEFAULT_TEST_FRACTION, DIGITS_LEN, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, Loaded,
    MNIST_FILES, SequenceSize, Source, digits, fashion_mnist, mnist,
};
pub use dataset::{Dataset, MAX_CLASSES, Split, TargetKind};
pub use error::{CsvProblem, DataError, IdxProblem, Result};
pub use gzip::DEFAULT_MAX_DECOMPRESSED;
pub use transform::{DEFAULT_STD_FLOOR, Transform};

/// Re-export of the array crate the data are held in, so that users name one version.
pub use ndarray;
