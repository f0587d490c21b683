//! Property checks for fuzzing the checkpoint loader, shared by the cargo-fuzz target (in
//! the repository's `fuzz/` folder) and by the ordinary test that replays its seed corpus.
//!
//! ```
//! gradwell_train::fuzzing::check_checkpoint_bytes(b"not a checkpoint"); // an error, not a panic
//! ```

use crate::{Checkpoint, TrainError};

const NAME: &str = "fuzz-input";

/// Decodes `data` as a checkpoint and checks: an error is a checkpoint error naming the
/// input; a decoded checkpoint encodes to bytes that decode to the same checkpoint, and
/// every strict prefix of the input is refused.
pub fn check_checkpoint_bytes(data: &[u8]) {
    match Checkpoint::decode(data, NAME) {
        Ok(ck) => {
            let bytes = ck.encode();
            let again = Checkpoint::decode(&bytes, NAME).expect("a re-encoded checkpoint decodes");
            assert_eq!(again, ck, "the round trip changed the checkpoint");
            for cut in [0, data.len() / 2, data.len() - 1] {
                assert!(
                    Checkpoint::decode(&data[..cut], NAME).is_err(),
                    "a {cut}-byte prefix decoded"
                );
            }
        }
        Err(e) => {
            assert!(
                matches!(e, TrainError::Checkpoint { .. }),
                "not a checkpoint error: {e:?}"
            );
            assert!(
                e.to_string().starts_with(NAME),
                "the error does not name the input: {e}"
            );
        }
    }
}

/// `data` with its checksum field set to the checksum of its bytes (unchanged when it is
/// shorter than a header): random bytes almost never carry a valid CRC-32, so sealing
/// them is how a crafted or mutated file reaches the decoders behind the checksum.
///
/// ```
/// use gradwell_train::fuzzing::sealed;
/// assert_eq!(sealed(b"short"), b"short"); // no whole header: unchanged
/// assert_ne!(sealed(&[0; 64])[36..40], [0; 4]); // the CRC-32 of the zeros
/// ```
pub fn sealed(data: &[u8]) -> Vec<u8> {
    let mut bytes = data.to_vec();
    crate::checkpoint::seal(&mut bytes);
    bytes
}

/// [`check_checkpoint_bytes`] on [`sealed`] `data`: the check that reaches the metadata,
/// weights and optimizer decoders.
///
/// ```
/// gradwell_train::fuzzing::check_sealed_checkpoint_bytes(&[0; 64]); // an error, not a panic
/// ```
pub fn check_sealed_checkpoint_bytes(data: &[u8]) {
    check_checkpoint_bytes(&sealed(data));
}
