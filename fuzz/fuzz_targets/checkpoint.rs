//! The checkpoint loader on arbitrary bytes: `cargo fuzz run checkpoint corpus/checkpoint`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gradwell_train::fuzzing::check_checkpoint_bytes(data);
});
