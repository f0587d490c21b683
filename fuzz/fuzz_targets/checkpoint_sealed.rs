//! The checkpoint loader behind its checksum: every input gets a valid CRC-32 before it is
//! decoded, so mutations reach the metadata, weights and optimizer state.
//! `cargo fuzz run checkpoint_sealed corpus/checkpoint`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gradwell_train::fuzzing::check_sealed_checkpoint_bytes(data);
});
