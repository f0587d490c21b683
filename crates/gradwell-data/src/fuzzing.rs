//! Property checks for fuzzing the readers, shared by the cargo-fuzz targets (in the
//! repository's `fuzz/` folder) and by the ordinary test that replays their seed corpus.
//!
//! Each check takes arbitrary bytes and panics only if a reader breaks one of its
//! promises: a malformed input must give the reader's own error naming the input (never a
//! panic), and a well-formed one must survive a round trip through the matching writer.
//!
//! ```
//! gradwell_data::fuzzing::check_idx_bytes(&[0, 0, 8, 1, 0, 0, 0, 2, 7, 9]); // valid
//! gradwell_data::fuzzing::check_idx_bytes(b"not an idx file"); // an error, not a panic
//! gradwell_data::fuzzing::check_csv_bytes(b"1,2,0\n3,4,1\n");
//! ```

use crate::csv::{CsvOptions, Header, LabelColumn, parse_csv, write_csv};
use crate::error::DataError;
use crate::idx::{is_gzip, parse_idx};

const NAME: &str = "fuzz-input";

/// Parses `data` as an IDX file and checks: an error is an IDX error naming the input; a
/// parsed array holds as many elements as its dimensions say, re-encodes to the same bytes
/// (for raw input), parses back to itself, and every strict prefix of a raw file is
/// refused.
pub fn check_idx_bytes(data: &[u8]) {
    match parse_idx(data, NAME) {
        Ok(array) => {
            let size: usize = array.dims().iter().product();
            assert_eq!(
                size,
                array.data().len(),
                "element count differs from the dimensions"
            );
            let bytes = array.to_bytes();
            if !is_gzip(data) {
                assert_eq!(bytes, data, "a raw file re-encodes to different bytes");
                for cut in [0, data.len() / 2, data.len() - 1] {
                    assert!(
                        parse_idx(&data[..cut], NAME).is_err(),
                        "a {cut}-byte prefix parsed"
                    );
                }
            }
            let again = parse_idx(&bytes, NAME).expect("a re-encoded array parses");
            assert_eq!(again, array, "the round trip changed the array");
        }
        Err(e) => {
            assert!(
                matches!(e, DataError::Idx { .. }),
                "not an IDX error: {e:?}"
            );
            assert!(
                e.to_string().starts_with(NAME),
                "the error does not name the input: {e}"
            );
        }
    }
}

/// Parses `data` as CSV with a few option sets (detected header, no header, label first)
/// and checks: an error names the input; a parsed data set has rows, finite features and
/// labels below its class count, and survives a round trip through
/// [`write_csv`] unchanged.
pub fn check_csv_bytes(data: &[u8]) {
    let option_sets = [
        CsvOptions::default(),
        CsvOptions::default().header(Header::Absent),
        CsvOptions::default()
            .label(LabelColumn::Index(0))
            .header(Header::Present),
    ];
    for opts in option_sets {
        match parse_csv(data, NAME, &opts) {
            Ok(ds) => {
                assert!(
                    !ds.is_empty() && ds.num_features() > 0,
                    "an empty data set parsed"
                );
                assert!(
                    ds.features().iter().all(|x| x.is_finite()),
                    "a non-finite feature"
                );
                assert!(ds.labels().iter().all(|&l| (l as usize) < ds.num_classes()));
                let mut text = Vec::new();
                write_csv(&ds, &mut text, true).expect("writing to memory");
                let back_opts = CsvOptions::default()
                    .header(Header::Present)
                    .num_classes(ds.num_classes());
                let back = parse_csv(&text, NAME, &back_opts).expect("written CSV parses");
                assert_eq!(
                    back.features(),
                    ds.features(),
                    "features changed in a round trip"
                );
                assert_eq!(back.labels(), ds.labels(), "labels changed in a round trip");
            }
            Err(e) => {
                assert!(
                    e.to_string().contains(NAME),
                    "the error does not name the input: {e}"
                );
            }
        }
    }
}
