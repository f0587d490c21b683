//! The IDX format, in which MNIST and Fashion-MNIST ship.
//!
//! An IDX file is a header and the elements of one array, row-major:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 0–1 | magic: `0x00 0x00` |
//! | 2 | element type: `0x08` unsigned byte (the only one read here), `0x09` signed byte, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64 |
//! | 3 | rank `r` (number of dimensions) |
//! | 4 … 4 + 4r | each dimension, a big-endian `u32` |
//! | then | the elements |
//!
//! Files may be gzip-compressed (`*-ubyte.gz`); compression is recognised by the gzip magic
//! bytes `1f 8b`, not by the file name.
//!
//! # Checks before allocating
//!
//! The header is read and checked first: magic, type, rank, and that the product of the
//! dimensions does not overflow. For a raw file the declared size must then equal the
//! file's length exactly. For a gzip file the declared size must be one that a gzip stream
//! of the file's length can decompress to at all (deflate expands at most
//! [`MAX_DEFLATE_RATIO`] to one) and must not exceed the limit on decompressed input
//! ([`crate::DEFAULT_MAX_DECOMPRESSED`] unless [`parse_idx_with_limit`] is given another;
//! more is a [`DataError::TooLarge`]), and the elements are decompressed as a stream that
//! stops one byte past the declared size, so a "gzip bomb" is never inflated further than
//! the header promised. A file declaring four billion elements in a hundred bytes is an
//! error, not an allocation.
//!
//! ```
//! use gradwell_data::idx::{IdxArray, parse_idx};
//!
//! let labels = IdxArray::new(vec![3], vec![7, 2, 1])?;
//! let bytes = labels.to_bytes();
//! assert_eq!(&bytes[..8], &[0, 0, 0x08, 1, 0, 0, 0, 3]);
//! assert_eq!(parse_idx(&bytes, "labels")?, labels);
//!
//! let err = parse_idx(&[0, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff], "huge").unwrap_err();
//! assert!(err.to_string().starts_with("huge: malformed IDX file: dimensions [4294967295]"));
//! # Ok::<(), gradwell_data::DataError>(())
//! ```

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use gradwell_tensor::ClassLabel;
use ndarray::Array2;

use crate::dataset::{Dataset, first_label_gap};
use crate::error::{DataError, IdxProblem, Result};
use crate::gzip::DEFAULT_MAX_DECOMPRESSED;

/// The two bytes a gzip stream starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The largest factor by which deflate can expand: a gzip stream of `n` bytes never
/// decompresses to more than `n × MAX_DEFLATE_RATIO` bytes (deflate's limit is about
/// 1032 : 1, reached by long runs of one byte).
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// The type code of unsigned bytes, the element type read here.
pub const TYPE_U8: u8 = 0x08;

/// Whether `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// An array read from (or to be written as) an IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    dims: Vec<usize>,
    data: Vec<u8>,
}

impl IdxArray {
    /// An array from its dimensions and its elements in row-major order. Errors unless
    /// there are 1 to 255 dimensions, each fits in a `u32`, and their product is the
    /// number of elements.
    pub fn new(dims: Vec<usize>, data: Vec<u8>) -> Result<Self> {
        const CTX: &str = "IdxArray::new";
        if dims.is_empty() || dims.len() > 255 {
            return Err(DataError::invalid(
                CTX,
                format!("rank {} is not in 1..=255", dims.len()),
            ));
        }
        if dims.iter().any(|&d| u32::try_from(d).is_err()) {
            return Err(DataError::invalid(
                CTX,
                format!("a dimension of {dims:?} exceeds u32"),
            ));
        }
        let size = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if size != Some(data.len()) {
            return Err(DataError::invalid(
                CTX,
                format!("dimensions {dims:?} do not hold {} elements", data.len()),
            ));
        }
        Ok(IdxArray { dims, data })
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Consumes the array, giving its dimensions and elements.
    pub fn into_parts(self) -> (Vec<usize>, Vec<u8>) {
        (self.dims, self.data)
    }

    /// The array as an (uncompressed) IDX file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.dims.len() + self.data.len());
        // `new` guarantees rank <= 255 and dimensions that fit in u32.
        out.extend_from_slice(&[0, 0, TYPE_U8, self.dims.len() as u8]);
        for &d in &self.dims {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// A checked header: dimensions and sizes.
struct Header {
    dims: Vec<usize>,
    header_len: u64,
    data_len: u64,
}

fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "16-bit integer",
        0x0C => "32-bit integer",
        0x0D => "32-bit float",
        0x0E => "64-bit float",
        _ => "unknown",
    }
}

/// Reads as many bytes as `buf` holds, or fewer at the end of the stream; returns how many.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads and checks the header from a stream, consuming exactly the header's bytes.
fn read_header(r: &mut impl Read) -> Result<Header, IdxProblem> {
    let gz = |e: std::io::Error| IdxProblem::Gzip(e.to_string());
    let mut fixed = [0u8; 4];
    let n = read_full(r, &mut fixed).map_err(gz)?;
    if n < 4 {
        return Err(IdxProblem::ShortHeader {
            needed: 4,
            actual: n as u64,
        });
    }
    if fixed[0] != 0 || fixed[1] != 0 {
        return Err(IdxProblem::BadMagic([fixed[0], fixed[1]]));
    }
    if fixed[2] != TYPE_U8 {
        return Err(IdxProblem::UnsupportedType {
            code: fixed[2],
            name: type_name(fixed[2]),
        });
    }
    let rank = usize::from(fixed[3]);
    if rank == 0 {
        return Err(IdxProblem::ZeroRank);
    }
    let header_len = 4 + 4 * rank as u64;
    let mut dim_bytes = [0u8; 4 * 255];
    let dim_bytes = &mut dim_bytes[..4 * rank];
    let n = read_full(r, dim_bytes).map_err(gz)?;
    if n < dim_bytes.len() {
        return Err(IdxProblem::ShortHeader {
            needed: header_len,
            actual: 4 + n as u64,
        });
    }
    let raw: Vec<u64> = dim_bytes
        .chunks_exact(4)
        .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let data_len = raw
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .filter(|&len| len.checked_add(header_len).is_some() && usize::try_from(len).is_ok());
    let Some(data_len) = data_len else {
        return Err(IdxProblem::Overflow { dims: raw });
    };
    // Each dimension is a u32 and their product fits in usize, so each fits in usize.
    let dims = raw.iter().map(|&d| d as usize).collect();
    Ok(Header {
        dims,
        header_len,
        data_len,
    })
}

/// Parses the bytes of an IDX file, raw or gzip-compressed, with the default limit on
/// decompressed input ([`crate::DEFAULT_MAX_DECOMPRESSED`]). `source_name` names the bytes
/// in errors (a file name, usually).
pub fn parse_idx(bytes: &[u8], source_name: &str) -> Result<IdxArray> {
    parse_idx_with_limit(bytes, source_name, DEFAULT_MAX_DECOMPRESSED)
}

/// [`parse_idx`] with a limit on decompressed input: a gzip file whose header declares
/// more than `max_decompressed` bytes (header and elements) is a [`DataError::TooLarge`],
/// refused before its elements are decompressed. Raw input is not limited (its length is
/// checked against the header instead).
pub fn parse_idx_with_limit(
    bytes: &[u8],
    source_name: &str,
    max_decompressed: u64,
) -> Result<IdxArray> {
    let name = || source_name.to_string();
    match parse_inner(bytes, max_decompressed) {
        Ok(array) => Ok(array),
        Err(Refusal::Problem(problem)) => Err(DataError::Idx {
            source_name: name(),
            problem,
        }),
        Err(Refusal::TooLarge { declared }) => Err(DataError::TooLarge {
            source_name: name(),
            limit: max_decompressed,
            declared: Some(declared),
        }),
    }
}

/// Why a file was not parsed: malformed, or larger than the caller allows.
enum Refusal {
    Problem(IdxProblem),
    TooLarge { declared: u64 },
}

impl From<IdxProblem> for Refusal {
    fn from(p: IdxProblem) -> Self {
        Refusal::Problem(p)
    }
}

fn parse_inner(bytes: &[u8], max_decompressed: u64) -> Result<IdxArray, Refusal> {
    if is_gzip(bytes) {
        return parse_gzip(bytes, max_decompressed);
    }
    let mut reader = bytes;
    let h = read_header(&mut reader)?;
    let actual = reader.len() as u64;
    if actual < h.data_len {
        return Err(IdxProblem::Truncated {
            dims: h.dims,
            declared: h.data_len,
            actual,
        }
        .into());
    }
    if actual > h.data_len {
        return Err(IdxProblem::TrailingBytes {
            dims: h.dims,
            declared: h.data_len,
        }
        .into());
    }
    Ok(IdxArray {
        dims: h.dims,
        data: reader.to_vec(),
    })
}

fn parse_gzip(bytes: &[u8], max_decompressed: u64) -> Result<IdxArray, Refusal> {
    let compressed = bytes.len() as u64;
    let mut decoder = MultiGzDecoder::new(bytes);
    let h = read_header(&mut decoder)?;
    let declared = h.header_len + h.data_len; // no overflow: checked in read_header
    if declared > compressed.saturating_mul(MAX_DEFLATE_RATIO) {
        return Err(IdxProblem::ImpossibleSize {
            dims: h.dims,
            declared,
            compressed,
        }
        .into());
    }
    if declared > max_decompressed {
        return Err(Refusal::TooLarge { declared });
    }
    // Start from a modest buffer and let it grow with what actually decompresses; never read
    // more than one byte past the declared size.
    let start = h
        .data_len
        .min(compressed.saturating_mul(16))
        .saturating_add(1);
    let mut data = Vec::with_capacity(start as usize);
    (&mut decoder)
        .take(h.data_len + 1)
        .read_to_end(&mut data)
        .map_err(|e| IdxProblem::Gzip(e.to_string()))?;
    let actual = data.len() as u64;
    if actual < h.data_len {
        return Err(IdxProblem::Truncated {
            dims: h.dims,
            declared: h.data_len,
            actual,
        }
        .into());
    }
    if actual > h.data_len {
        return Err(IdxProblem::TrailingBytes {
            dims: h.dims,
            declared: h.data_len,
        }
        .into());
    }
    Ok(IdxArray { dims: h.dims, data })
}

/// Reads an IDX file, raw or gzip-compressed, with the default limit on decompressed input.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    read_idx_with_limit(path, DEFAULT_MAX_DECOMPRESSED)
}

/// [`read_idx`] with a limit on decompressed input (see [`parse_idx_with_limit`]).
pub fn read_idx_with_limit(path: impl AsRef<Path>, max_decompressed: u64) -> Result<IdxArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_idx_with_limit(&bytes, &path.display().to_string(), max_decompressed)
}

/// A data set from an IDX image array (`samples × d1 × d2 …`, rank at least 2) and an IDX
/// label array (`samples`). Pixel values stay as they are (0 to 255, recorded as the
/// [`Dataset::value_range`]). `num_classes` is given (every label must be below it), or the
/// classes are the labels present, which must then be 0 to C − 1 with each class present
/// ([`IdxProblem::LabelGap`] otherwise).
///
/// `images_name` and `labels_name` name the two arrays in errors.
pub fn idx_dataset(
    name: impl Into<String>,
    images: IdxArray,
    images_name: &str,
    labels: IdxArray,
    labels_name: &str,
    num_classes: Option<usize>,
) -> Result<Dataset> {
    let mismatch = |source_name: &str, why: String| DataError::Idx {
        source_name: source_name.to_string(),
        problem: IdxProblem::Mismatch(why),
    };
    if images.dims.len() < 2 {
        return Err(mismatch(
            images_name,
            format!(
                "images need rank 2 or more (samples × shape), found dimensions {:?}",
                images.dims
            ),
        ));
    }
    if labels.dims.len() != 1 {
        return Err(mismatch(
            labels_name,
            format!("labels need rank 1, found dimensions {:?}", labels.dims),
        ));
    }
    let n = images.dims[0];
    if labels.dims[0] != n {
        return Err(mismatch(
            labels_name,
            format!(
                "{} labels for the {n} images of {images_name}",
                labels.dims[0]
            ),
        ));
    }
    let max = labels.data.iter().copied().max().map_or(0, usize::from);
    let num_classes = match num_classes {
        Some(n) => n,
        None => {
            let as_labels: Vec<ClassLabel> =
                labels.data.iter().map(|&b| ClassLabel::from(b)).collect();
            if let Some(gap) = first_label_gap(&as_labels) {
                return Err(DataError::Idx {
                    source_name: labels_name.to_string(),
                    problem: IdxProblem::LabelGap {
                        label: gap.label,
                        index: gap.index,
                        missing: gap.missing,
                    },
                });
            }
            max + 1
        }
    };
    if max >= num_classes {
        return Err(mismatch(
            labels_name,
            format!("label {max} is not below the {num_classes} classes"),
        ));
    }
    let feature_shape = images.dims[1..].to_vec();
    let Some(width) = feature_shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
    else {
        return Err(mismatch(
            images_name,
            format!("sample shape {feature_shape:?} overflows"),
        ));
    };
    let values = images.data.iter().map(|&b| f32::from(b)).collect();
    let features = Array2::from_shape_vec((n, width), values)
        .map_err(|e| mismatch(images_name, e.to_string()))?;
    let labels = labels.data.iter().map(|&b| ClassLabel::from(b)).collect();
    Dataset::new(name, features, labels, num_classes)?
        .with_feature_shape(feature_shape)?
        .with_value_range(0.0, 255.0)
}

/// Reads an image file and a label file (each raw or gzip, each decompressing to at most
/// `max_decompressed` bytes) into one data set; see [`idx_dataset`].
pub fn read_idx_dataset(
    name: impl Into<String>,
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    num_classes: Option<usize>,
    max_decompressed: u64,
) -> Result<Dataset> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    idx_dataset(
        name,
        read_idx_with_limit(images, max_decompressed)?,
        &images.display().to_string(),
        read_idx_with_limit(labels, max_decompressed)?,
        &labels.display().to_string(),
        num_classes,
    )
}
