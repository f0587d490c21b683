use gradwell_data::idx::{
    IdxArray, MAX_DEFLATE_RATIO, idx_dataset, parse_idx, parse_idx_with_limit, read_idx,
    read_idx_dataset,
};
use gradwell_data::{DEFAULT_MAX_DECOMPRESSED, DataError, IdxProblem};

use crate::alloc::measure;
use crate::{gzip, idx_bytes, scratch_dir};

/// The problem of an IDX error, or a failure naming what came instead.
fn problem(result: gradwell_data::Result<IdxArray>) -> IdxProblem {
    match result {
        Err(DataError::Idx { problem, .. }) => problem,
        other => panic!("expected an IDX error, got {other:?}"),
    }
}

#[test]
fn raw_and_gzip_files_parse_to_the_same_array() {
    let data: Vec<u8> = (0..24).collect();
    let raw = idx_bytes(0x08, &[2, 3, 4], &data);
    let a = parse_idx(&raw, "raw").unwrap();
    assert_eq!(a.dims(), &[2, 3, 4]);
    assert_eq!(a.data(), &data[..]);
    assert_eq!(parse_idx(&gzip(&raw), "gz").unwrap(), a);
    assert_eq!(a.to_bytes(), raw);
}

#[test]
fn gzip_is_recognised_by_its_magic_not_the_file_name() {
    let dir = scratch_dir("idx-magic");
    let raw = idx_bytes(0x08, &[3], &[4, 5, 6]);
    std::fs::write(dir.join("labels.gz"), &raw).unwrap(); // raw bytes, .gz name
    std::fs::write(dir.join("labels.idx"), gzip(&raw)).unwrap(); // gzip, plain name
    let a = read_idx(dir.join("labels.gz")).unwrap();
    assert_eq!(read_idx(dir.join("labels.idx")).unwrap(), a);
    assert_eq!(a.data(), &[4, 5, 6]);
}

#[test]
fn wrong_magic_is_refused() {
    let mut bytes = idx_bytes(0x08, &[2], &[1, 2]);
    bytes[0] = 0x12;
    assert_eq!(
        problem(parse_idx(&bytes, "f")),
        IdxProblem::BadMagic([0x12, 0])
    );
}

#[test]
fn other_element_types_are_refused_by_name() {
    let bytes = idx_bytes(0x0D, &[1], &[0, 0, 0, 0]);
    let err = parse_idx(&bytes, "floats.idx").unwrap_err();
    assert!(matches!(
        &err,
        DataError::Idx {
            problem: IdxProblem::UnsupportedType { code: 0x0D, .. },
            ..
        }
    ));
    let msg = err.to_string();
    assert!(msg.starts_with("floats.idx: malformed IDX file:"), "{msg}");
    assert!(
        msg.contains("0x0D (32-bit float)") && msg.contains("0x08"),
        "{msg}"
    );
    let unknown = idx_bytes(0x42, &[1], &[0]);
    assert!(matches!(
        problem(parse_idx(&unknown, "f")),
        IdxProblem::UnsupportedType {
            code: 0x42,
            name: "unknown"
        }
    ));
}

#[test]
fn empty_and_short_headers_are_refused() {
    assert_eq!(
        problem(parse_idx(&[], "f")),
        IdxProblem::ShortHeader {
            needed: 4,
            actual: 0
        }
    );
    assert_eq!(
        problem(parse_idx(&[0, 0, 8], "f")),
        IdxProblem::ShortHeader {
            needed: 4,
            actual: 3
        }
    );
    // Rank 3 needs 16 header bytes; 9 are present.
    assert_eq!(
        problem(parse_idx(&[0, 0, 8, 3, 0, 0, 0, 1, 0], "f")),
        IdxProblem::ShortHeader {
            needed: 16,
            actual: 9
        }
    );
    assert_eq!(
        problem(parse_idx(&gzip(&[0, 0]), "f")),
        IdxProblem::ShortHeader {
            needed: 4,
            actual: 2
        }
    );
    assert_eq!(problem(parse_idx(&[0, 0, 8, 0], "f")), IdxProblem::ZeroRank);
}

#[test]
fn truncated_and_overlong_files_are_refused() {
    let short = idx_bytes(0x08, &[2, 3, 3], &[7; 17]);
    assert_eq!(
        problem(parse_idx(&short, "f")),
        IdxProblem::Truncated {
            dims: vec![2, 3, 3],
            declared: 18,
            actual: 17
        }
    );
    assert_eq!(
        problem(parse_idx(&gzip(&short), "f")),
        IdxProblem::Truncated {
            dims: vec![2, 3, 3],
            declared: 18,
            actual: 17
        }
    );
    let long = idx_bytes(0x08, &[2], &[1, 2, 3]);
    assert_eq!(
        problem(parse_idx(&long, "f")),
        IdxProblem::TrailingBytes {
            dims: vec![2],
            declared: 2
        }
    );
    assert_eq!(
        problem(parse_idx(&gzip(&long), "f")),
        IdxProblem::TrailingBytes {
            dims: vec![2],
            declared: 2
        }
    );
}

#[test]
fn a_huge_declared_size_is_an_error_not_an_allocation() {
    // 4,294,836,225 elements declared in a 100-byte file.
    let bytes = idx_bytes(0x08, &[65535, 65535], &[0; 88]);
    assert_eq!(bytes.len(), 100);
    let (result, allocs) = measure(|| parse_idx(&bytes, "huge.idx"));
    let msg = result.as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("declare 4294836225 data bytes but the file holds 88"),
        "{msg}"
    );
    assert!(
        allocs.peak_bytes < 4096,
        "parsing a 100-byte file took {} bytes",
        allocs.peak_bytes
    );

    // The same header, gzip-compressed: no gzip stream of this length can hold it.
    let gz = gzip(&bytes);
    let (result, allocs) = measure(|| parse_idx(&gz, "huge.idx.gz"));
    assert!(matches!(
        problem(result),
        IdxProblem::ImpossibleSize {
            declared: 4_294_836_237,
            ..
        }
    ));
    // Only the decoder's own state (its window and tables), far below the declared 4 GB.
    assert!(
        allocs.peak_bytes < 1 << 20,
        "took {} bytes",
        allocs.peak_bytes
    );
}

#[test]
fn dimensions_whose_product_overflows_are_refused() {
    let bytes = idx_bytes(0x08, &[u32::MAX, u32::MAX, u32::MAX], &[]);
    assert!(matches!(
        problem(parse_idx(&bytes, "f")),
        IdxProblem::Overflow { .. }
    ));
}

#[test]
fn a_gzip_bomb_is_inflated_no_further_than_the_header_promises() {
    // The header declares 1 MB of elements; the stream inflates to 16 MB of zeros from
    // about 16 KB, which deflate's ratio allows, so only the streaming limit stops it.
    let declared: usize = 1 << 20;
    let mut raw = idx_bytes(0x08, &[declared as u32], &[]);
    raw.resize(raw.len() + 16 * declared, 0);
    let gz = gzip(&raw);
    assert!((gz.len() as u64) * MAX_DEFLATE_RATIO > declared as u64);
    let (result, allocs) = measure(|| parse_idx(&gz, "bomb.gz"));
    assert_eq!(
        problem(result),
        IdxProblem::TrailingBytes {
            dims: vec![declared],
            declared: declared as u64
        }
    );
    assert!(
        allocs.peak_bytes < 3 * declared,
        "inflating a bomb took {} bytes (declared {declared}, bomb {})",
        allocs.peak_bytes,
        16 * declared
    );
}

#[test]
fn corrupt_gzip_streams_are_refused() {
    let gz = gzip(&idx_bytes(0x08, &[4], &[1, 2, 3, 4]));
    let cut = &gz[..gz.len() - 6]; // the CRC and length are gone
    assert!(matches!(
        problem(parse_idx(cut, "f")),
        IdxProblem::Gzip(_) | IdxProblem::Truncated { .. }
    ));
    let mut flipped = gz.clone();
    let n = flipped.len();
    flipped[n - 8] ^= 0xff; // a byte of the CRC
    assert!(matches!(
        problem(parse_idx(&flipped, "f")),
        IdxProblem::Gzip(_)
    ));
    let mut garbage = gz.clone();
    garbage.extend_from_slice(b"garbage after the stream");
    assert!(matches!(
        problem(parse_idx(&garbage, "f")),
        IdxProblem::Gzip(_)
    ));
}

#[test]
fn read_errors_name_the_file() {
    let dir = scratch_dir("idx-names");
    let path = dir.join("t10k-labels-idx1-ubyte");
    std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 5, 1]).unwrap();
    let msg = read_idx(&path).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}: malformed IDX file: ", path.display())),
        "{msg}"
    );
    let missing = dir.join("missing");
    assert!(matches!(read_idx(&missing), Err(DataError::Io { path, .. }) if path == missing));
}

#[test]
fn images_and_labels_make_a_dataset() {
    let images = IdxArray::new(vec![3, 2, 2], (0..12).map(|x| x * 20).collect()).unwrap();
    let labels = IdxArray::new(vec![3], vec![2, 0, 1]).unwrap();
    let ds = idx_dataset("toy", images, "images", labels, "labels", Some(4)).unwrap();
    assert_eq!((ds.len(), ds.num_features(), ds.num_classes()), (3, 4, 4));
    assert_eq!(ds.feature_shape(), &[2, 2]);
    assert_eq!(ds.labels(), &[2, 0, 1]);
    assert_eq!(
        ds.features().row(1).to_vec(),
        vec![80.0, 100.0, 120.0, 140.0]
    );
    assert_eq!(ds.value_range(), Some((0.0, 255.0)));

    let dir = scratch_dir("idx-dataset");
    std::fs::write(
        dir.join("x"),
        gzip(&idx_bytes(8, &[2, 1, 3], &[1, 2, 3, 4, 5, 6])),
    )
    .unwrap();
    std::fs::write(dir.join("y"), idx_bytes(8, &[2], &[1, 0])).unwrap();
    let ds = read_idx_dataset(
        "files",
        dir.join("x"),
        dir.join("y"),
        None,
        DEFAULT_MAX_DECOMPRESSED,
    )
    .unwrap();
    assert_eq!(
        (ds.num_classes(), ds.feature_shape()),
        (2, &[1usize, 3][..])
    );
}

#[test]
fn idx_labels_without_a_class_count_must_be_zero_to_c_minus_one() {
    let images = || IdxArray::new(vec![3, 2], vec![0; 6]).unwrap();
    let gappy = IdxArray::new(vec![3], vec![0, 200, 1]).unwrap();
    let err = idx_dataset("t", images(), "img", gappy.clone(), "lab", None).unwrap_err();
    match &err {
        DataError::Idx {
            source_name,
            problem:
                IdxProblem::LabelGap {
                    label,
                    index,
                    missing,
                },
        } => assert_eq!(
            (source_name.as_str(), *label, *index, *missing),
            ("lab", 200, 1, (2, 199))
        ),
        other => panic!("expected a label gap, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("lab: malformed IDX file: label 200 (item 1 of the labels"),
        "{err}"
    );
    // A declared class count accepts the same labels.
    let ds = idx_dataset("t", images(), "img", gappy, "lab", Some(201)).unwrap();
    assert_eq!(ds.num_classes(), 201);
}

#[test]
fn a_gzip_file_declaring_more_than_the_limit_is_refused_before_inflating() {
    // 2 MiB of elements declared and present (zeros compress about a thousandfold); with a
    // limit of 1 MiB the header alone is enough to refuse.
    let declared: u32 = 2 << 20;
    let raw = idx_bytes(0x08, &[declared], &vec![0; declared as usize]);
    let gz = gzip(&raw);
    let limit = 1 << 20;
    let (result, allocs) = measure(|| parse_idx_with_limit(&gz, "big.gz", limit));
    let err = result.unwrap_err();
    match &err {
        DataError::TooLarge {
            source_name,
            limit: l,
            declared: Some(d),
        } => assert_eq!(
            (source_name.as_str(), *l, *d),
            ("big.gz", limit, u64::from(declared) + 8)
        ),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "big.gz: the IDX header declares 2097160 bytes once decompressed, more than the \
         limit of 1 MiB on decompressed gzip input"
    );
    // Only the decoder's state: nothing of the declared elements.
    assert!(allocs.peak_bytes < 1 << 20, "{allocs:?}");
    // The default limit reads it, and raw input is not limited.
    assert_eq!(
        parse_idx(&gz, "big.gz").unwrap().data().len(),
        declared as usize
    );
    assert!(parse_idx_with_limit(&raw, "big", limit).is_ok());
    // The limit reaches the files of a data set too.
    let dir = scratch_dir("idx-limit");
    std::fs::write(dir.join("x.gz"), &gz).unwrap();
    std::fs::write(
        dir.join("y"),
        idx_bytes(8, &[declared], &vec![0; declared as usize]),
    )
    .unwrap();
    let err = read_idx_dataset("t", dir.join("x.gz"), dir.join("y"), None, limit).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("x.gz"), "{err}");
}

#[test]
fn mismatched_images_and_labels_are_refused() {
    let images = || IdxArray::new(vec![2, 2], vec![0; 4]).unwrap();
    let mismatch = |r: gradwell_data::Result<gradwell_data::Dataset>| match r {
        Err(DataError::Idx {
            source_name,
            problem: IdxProblem::Mismatch(why),
        }) => (source_name, why),
        other => panic!("expected a mismatch, got {other:?}"),
    };
    let three = IdxArray::new(vec![3], vec![0; 3]).unwrap();
    let (name, why) = mismatch(idx_dataset("t", images(), "img", three, "lab", None));
    assert_eq!(
        (name.as_str(), why.as_str()),
        ("lab", "3 labels for the 2 images of img")
    );
    let square = IdxArray::new(vec![2, 1], vec![0; 2]).unwrap();
    assert_eq!(
        mismatch(idx_dataset("t", images(), "img", square, "lab", None)).0,
        "lab"
    );
    let flat = IdxArray::new(vec![2], vec![0; 2]).unwrap();
    let labels = IdxArray::new(vec![2], vec![0; 2]).unwrap();
    assert_eq!(
        mismatch(idx_dataset("t", flat, "img", labels, "lab", None)).0,
        "img"
    );
    let big = IdxArray::new(vec![2], vec![0, 10]).unwrap();
    let (_, why) = mismatch(idx_dataset("t", images(), "img", big, "lab", Some(10)));
    assert!(why.contains("label 10"), "{why}");
}

#[test]
fn idx_array_new_checks_its_arguments() {
    assert!(IdxArray::new(vec![], vec![]).is_err());
    assert!(IdxArray::new(vec![2, 2], vec![0; 3]).is_err());
    assert!(IdxArray::new(vec![1; 256], vec![0]).is_err());
    assert!(IdxArray::new(vec![1; 255], vec![0]).is_ok());
}
