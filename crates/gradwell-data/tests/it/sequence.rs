//! The built-in sequence tasks, their names, and targets other than a class per sample.

use gradwell_data::sequence::{
    ADDING_BASELINE_MSE, COPY_BLANK, COPY_CLASSES, COPY_DELIMITER, COPY_SYMBOLS, adding, copy,
    copy_baseline_cross_entropy,
};
use gradwell_data::{Batcher, Dataset, LastBatch, Loaded, SequenceSize, Source, TargetKind};
use ndarray::{Array2, array};

#[test]
fn adding_marks_one_step_in_each_half_and_sums_them() {
    let steps = 30;
    let ds = adding(steps, 200, 5, 0).unwrap();
    assert_eq!(ds.target_kind(), TargetKind::Value { width: 1 });
    assert_eq!(
        (ds.feature_shape(), ds.num_outputs()),
        (&[30usize, 2][..], 1)
    );
    for (x, y) in ds.features().rows().into_iter().zip(ds.values().rows()) {
        let marked: Vec<usize> = (0..steps).filter(|&t| x[2 * t + 1] == 1.0).collect();
        assert_eq!(marked.len(), 2, "two markers");
        assert!(
            marked[0] < steps / 2 && marked[1] >= steps / 2,
            "{marked:?}"
        );
        assert!((0..steps).all(|t| (0.0..1.0).contains(&x[2 * t])));
        assert_eq!(y[0], x[2 * marked[0]] + x[2 * marked[1]]);
    }
}

#[test]
fn predicting_one_on_the_adding_problem_scores_the_baseline() {
    let ds = adding(20, 20_000, 1, 0).unwrap();
    let mse = ds
        .values()
        .iter()
        .map(|&y| (y as f64 - 1.0).powi(2))
        .sum::<f64>()
        / 20_000.0;
    // The sample mean of a variance of 1/6 over 20,000 draws: a standard error near 0.0017.
    assert!((mse - ADDING_BASELINE_MSE).abs() < 0.01, "{mse}");
}

#[test]
fn copy_recalls_the_symbols_after_the_delimiter() {
    let t = 7;
    let ds = copy(t, 50, 3, 0).unwrap();
    let len = t + 20;
    assert_eq!(
        ds.target_kind(),
        TargetKind::StepClass {
            steps: len,
            blank: Some(COPY_BLANK)
        }
    );
    assert_eq!(ds.feature_shape(), &[len, COPY_CLASSES]);
    for (n, x) in ds.features().rows().into_iter().enumerate() {
        let input: Vec<i64> = (0..len)
            .map(|s| {
                let row = &x.as_slice().unwrap()[s * COPY_CLASSES..(s + 1) * COPY_CLASSES];
                assert_eq!(row.iter().sum::<f32>(), 1.0, "one-hot");
                row.iter().position(|&v| v == 1.0).unwrap() as i64
            })
            .collect();
        let y = &ds.labels()[n * len..(n + 1) * len];
        assert!(input[..COPY_SYMBOLS].iter().all(|&c| (0..8).contains(&c)));
        assert_eq!(input[COPY_SYMBOLS + t - 1], COPY_DELIMITER);
        let blanks = (COPY_SYMBOLS..len).filter(|&s| s != COPY_SYMBOLS + t - 1);
        assert!(blanks.map(|s| input[s]).all(|c| c == COPY_BLANK));
        assert!(y[..len - COPY_SYMBOLS].iter().all(|&c| c == COPY_BLANK));
        assert_eq!(&y[len - COPY_SYMBOLS..], &input[..COPY_SYMBOLS]);
    }
    assert!((copy_baseline_cross_entropy(100) - 0.17329).abs() < 1e-5);
}

#[test]
fn sequence_tasks_are_named_as_sources_with_their_size() {
    let a: Source = "adding:100".parse().unwrap();
    assert_eq!(a, Source::Adding(SequenceSize::new(100)));
    assert_eq!(a.to_string(), "adding:100");
    let c: Source = "Copy:20,300,9".parse().unwrap();
    let size = SequenceSize {
        steps: 20,
        sequences: 300,
        seed: 9,
    };
    assert_eq!(c, Source::CopyTask(size));
    assert_eq!(c.to_string(), "copy:20,300,9");
    assert_eq!(
        "copy:20,300".parse::<Source>().unwrap().to_string(),
        "copy:20,300"
    );
    let Loaded::TrainTest(split) = c.load(None, 1).unwrap() else {
        panic!("a sequence task ships its test part")
    };
    assert_eq!((split.train.len(), split.test.len()), (300, 75));
    assert_ne!(split.train.features().row(0), split.test.features().row(0));
    // Same name, same sequences.
    let Loaded::TrainTest(again) = c.load(None, 1).unwrap() else {
        unreachable!()
    };
    assert_eq!(again, split);
    for (bad, says) in [
        ("adding:x", "the length `x` is not a whole number"),
        ("copy:5,1,2,3", "4 numbers"),
        ("adding", "adding:T[,N[,SEED]], copy:T[,N[,SEED]]"),
    ] {
        let e = bad.parse::<Source>().unwrap_err().to_string();
        assert!(e.contains(says) && e.contains(bad), "{bad}: {e}");
    }
    let e = "adding:1"
        .parse::<Source>()
        .unwrap()
        .load(None, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a length of 1 steps is not in 2..="), "{e}");
    let e = "copy:3,0"
        .parse::<Source>()
        .unwrap()
        .load(None, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("0 sequences"), "{e}");
}

#[test]
fn per_step_and_real_targets_follow_their_samples_through_subsets_splits_and_batches() {
    let x = Array2::from_shape_fn((6, 2), |(i, j)| (i * 2 + j) as f32);
    let steps = Array2::from_shape_fn((6, 3), |(i, t)| ((i + t) % 4) as i64);
    let ds = Dataset::per_step("s", x.clone(), steps.clone(), 4, None).unwrap();
    let sub = ds.subset(&[4, 1], "sub").unwrap();
    assert_eq!(sub.labels(), &[0, 1, 2, 1, 2, 3]);
    let split = ds.split(0.5, 1, true).unwrap(); // no class per sample: split as a whole
    assert_eq!(split.train.len() + split.test.len(), 6);

    let values = Array2::from_shape_fn((6, 2), |(i, j)| (10 * i + j) as f32);
    let reg = Dataset::regression("r", x, values).unwrap();
    assert_eq!((reg.num_classes(), reg.labels().len()), (0, 0));
    let mut b = Batcher::new(6, 4, LastBatch::Keep, 0).unwrap();
    let (mut bx, mut by, mut bv) = (Array2::zeros((0, 0)), Vec::new(), Vec::new());
    let rows = b
        .fill_batch_values(&reg, &mut bx, &mut by, &mut bv)
        .unwrap()
        .unwrap();
    assert_eq!((rows, by.len(), bv.len()), (4, 0, 8));
    for (r, xr) in bx.rows().into_iter().enumerate() {
        let i = (xr[0] / 2.0) as usize;
        assert_eq!(
            &bv[2 * r..2 * r + 2],
            &[(10 * i) as f32, (10 * i + 1) as f32]
        );
    }
    let mut b = Batcher::new(6, 4, LastBatch::Keep, 0).unwrap();
    b.fill_batch(&ds, &mut bx, &mut by).unwrap();
    assert_eq!(by.len(), 12);
    for (r, xr) in bx.rows().into_iter().enumerate() {
        let i = (xr[0] / 2.0) as usize;
        assert_eq!(&by[3 * r..3 * r + 3], steps.row(i).as_slice().unwrap());
    }
}

#[test]
fn bad_targets_are_refused_naming_the_sample() {
    let x = array![[0.0f32], [1.0]];
    let e = Dataset::per_step("s", x.clone(), array![[0, 1], [1, 5]], 3, None).unwrap_err();
    assert!(e.to_string().contains("label 5 of sample 1, step 1"), "{e}");
    let e = Dataset::per_step("s", x.clone(), array![[0, 1], [1, 1]], 3, Some(3)).unwrap_err();
    assert!(e.to_string().contains("blank label 3"), "{e}");
    let e = Dataset::regression("r", x.clone(), array![[0.0f32], [f32::NAN]]).unwrap_err();
    assert!(e.to_string().contains("of sample 1 is not finite"), "{e}");
    let e = Dataset::regression("r", x, array![[0.0f32]]).unwrap_err();
    assert!(
        e.to_string().contains("1 samples × 1 values for 2 rows"),
        "{e}"
    );
}

#[test]
fn features_become_sequences_only_when_the_steps_divide_them() {
    let ds = Dataset::new("d", Array2::zeros((2, 6)), vec![0, 1], 2).unwrap();
    assert!(!ds.is_sequence());
    let seq = ds.clone().into_sequences(3).unwrap();
    assert_eq!(
        (seq.is_sequence(), seq.feature_shape()),
        (true, &[3usize, 2][..])
    );
    for steps in [0, 4, 7] {
        let e = ds.clone().into_sequences(steps).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "6 features per sample do not make sequences of {steps} steps"
            )),
            "{e}"
        );
    }
}
