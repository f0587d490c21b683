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
