//! The CSV reader on arbitrary bytes: `cargo fuzz run csv corpus/csv`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gradwell_data::fuzzing::check_csv_bytes(data);
});
