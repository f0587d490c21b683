//! Bounded gzip decompression, shared by the IDX and CSV readers.
//!
//! A gzip stream's length says little about what it decompresses to: deflate reaches about
//! 1032 : 1, and a file of concatenated members more still, so a 1 MB `.csv.gz` can hold a
//! gigabyte. Every gzip input is therefore read through a reader that stops one byte past
//! a limit ([`DEFAULT_MAX_DECOMPRESSED`] unless the caller gives another), and a stream
//! that reaches that byte is refused with [`crate::DataError::TooLarge`]: nothing is ever
//! decompressed whole first and measured afterwards.

use std::io::Read;

use flate2::read::MultiGzDecoder;

/// The most bytes a gzip input may decompress to unless the caller sets another limit:
/// 256 MiB. Every real data set read here fits with room to spare: Fashion-MNIST's and
/// MNIST's largest file (the training images) is 47,040,016 bytes decompressed, and the
/// CSV versions of their training sets are about 110 to 135 MB. The readers take the limit
/// as an argument ([`crate::csv::CsvOptions::max_decompressed`],
/// [`crate::idx::parse_idx_with_limit`], [`crate::Source::load`]); the command line sets it
/// with `--max-decompressed-mb`.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 256 << 20;

// The training images of (Fashion-)MNIST, a 16-byte header and 60,000 × 28 × 28 bytes, and
// the CSV exports of those sets must fit under the default.
const _: () = assert!(DEFAULT_MAX_DECOMPRESSED > 16 + 60_000 * 28 * 28);
const _: () = assert!(DEFAULT_MAX_DECOMPRESSED > 135_000_000);

/// Why a gzip input was not decompressed.
#[derive(Debug)]
pub(crate) enum GunzipError {
    /// The stream is not valid gzip (the decoder's message).
    Corrupt(String),
    /// The stream decompresses to more than the limit.
    TooLarge,
}

/// Decompresses `bytes` (one gzip member or several in a row) through a reader that stops
/// one byte past `limit`: more than `limit` bytes is [`GunzipError::TooLarge`], and at most
/// `limit + 1` bytes are ever held.
pub(crate) fn gunzip_bounded(bytes: &[u8], limit: u64) -> Result<Vec<u8>, GunzipError> {
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| GunzipError::Corrupt(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(GunzipError::TooLarge);
    }
    Ok(out)
}

/// A byte count as shown in errors: whole MiB as `256 MiB`, anything else in bytes.
pub(crate) fn show_bytes(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}
