//! Where a run writes and what it says: every file is written atomically (the weights
//! first), and a non-finite value is placed in its layer at the first step of a run or of
//! a resumed run.

use std::path::Path;

use gradwell_nn::io::TEMP_PREFIX;

use crate::{gradwell, temp_dir, text};

/// The names in `dir` that are temporary files of interrupted writes.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for d in [dir.to_path_buf(), dir.join("monitor")] {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with(TEMP_PREFIX) {
                found.push(name);
            }
        }
    }
    found
}

/// Runs `args`, expects exit code 1 and returns standard error.
fn fails(args: &[&str]) -> String {
    let o = gradwell(args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

#[test]
fn a_non_finite_value_at_step_1_is_placed_in_its_layer() {
    // Pixels in [0, 1] times first-layer weights of 3e38 overflow in layer 0's product.
    let err = fails(&[
        "train",
        "--init",
        "constant:3e38",
        "--epochs",
        "1",
        "--quiet",
    ]);
    assert!(
        err.contains("step 1: first non-finite value: output of op `matmul`")
            && err.contains("in layer 0 (Linear)"),
        "{err}"
    );
    assert!(!err.contains("outside the layers"), "{err}");
}

#[test]
fn a_non_finite_value_right_after_a_resume_is_placed_in_its_layer() {
    let dir = temp_dir("non-finite-resume");
    let ck = dir.join("ck");
    let ck = ck.to_str().unwrap();
    // SGD at a rate of 90 overflows after a few steps; a checkpoint after every step
    // leaves the last one before the overflow, so the resumed run overflows at its first
    // step (resuming is bit-exact).
    let args = [
        "train",
        "--optimizer",
        "sgd",
        "--lr",
        "90",
        "--hidden",
        "64,64,64",
        "--epochs",
        "3",
        "--checkpoint-dir",
        ck,
        "--checkpoint-every",
        "1",
    ];
    let first = fails(&args);
    let newest = gradwell_train::checkpoint::list(Path::new(ck)).unwrap()[0].0;
    assert!(newest >= 1, "the run diverged at step 1: {first}");
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let err = fails(&resumed);
    assert!(
        err.contains("resumed from") && err.contains(&format!("at step {newest}")),
        "{err}"
    );
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("step {}: first non-finite", newest + 1)))
        .unwrap_or_else(|| panic!("no provenance of step {}: {err}", newest + 1));
    assert!(line.contains(" in layer "), "{line}");
    assert!(!line.contains("outside the layers"), "{line}");
}

#[test]
fn a_failed_write_names_the_file_and_keeps_the_weights_written_before_it() {
    let dir = temp_dir("failed-write");
    let out = dir.join("run");
    // `monitor.json` is a non-empty directory: writing it fails at the rename.
    std::fs::create_dir_all(out.join("monitor.json").join("inside")).unwrap();
    let err = fails(&["train", "--epochs", "2", "--out", out.to_str().unwrap()]);
    assert!(
        err.lines().last().unwrap().starts_with("error: ")
            && err.lines().last().unwrap().contains("monitor.json"),
        "{err}"
    );
    // The weights came first and are whole.
    let spec = gradwell_nn::MlpSpec::new(&[64, 256, 10], "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let mut net = gradwell_nn::Network::<f32>::build(&spec, 1).unwrap();
    net.load_safetensors(&out.join("model.safetensors"))
        .expect("the weights load");
    assert!(out.join("monitor.json").join("inside").is_dir());
    assert_eq!(temp_files(&out), Vec::<String>::new());
}
