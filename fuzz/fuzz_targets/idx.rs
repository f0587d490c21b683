//! The IDX reader on arbitrary bytes: `cargo fuzz run idx corpus/idx`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gradwell_data::fuzzing::check_idx_bytes(data);
});
