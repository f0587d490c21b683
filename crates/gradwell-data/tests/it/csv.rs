use gradwell_data::csv::{CsvOptions, Header, LabelColumn, parse_csv, read_csv, write_csv};
use gradwell_data::{CsvProblem, DataError, Dataset};
use ndarray::array;

use crate::alloc::measure;
use crate::{gzip, scratch_dir};

fn parse(text: &str) -> gradwell_data::Result<Dataset> {
    parse_csv(text.as_bytes(), "t.csv", &CsvOptions::default())
}

/// Line, column and problem of a CSV error.
fn where_what(
    result: gradwell_data::Result<Dataset>,
) -> (Option<usize>, Option<usize>, CsvProblem) {
    match result {
        Err(DataError::Csv {
            line,
            column,
            problem,
            ..
        }) => (line, column, problem),
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

#[test]
fn plain_numeric_rows_with_the_label_last() {
    let ds = parse("0,1.5,2\n3,4,1\n-2.25,1e-3,0\n").unwrap();
    assert_eq!(ds.features(), array![[0.0, 1.5], [3.0, 4.0], [-2.25, 1e-3]]);
    assert_eq!(ds.labels(), &[2, 1, 0]);
    assert_eq!((ds.num_classes(), ds.feature_shape()), (3, &[2usize][..]));
    assert_eq!(ds.name(), "t.csv");
}

#[test]
fn headers_are_detected_or_declared() {
    let ds = parse("a,b,label\n1,2,0\n3,4,1\n").unwrap();
    assert_eq!(ds.len(), 2);
    // A header of numbers is data unless declared.
    let text = "0,1,2\n5,6,1\n";
    assert_eq!(parse(text).unwrap().len(), 2);
    let opts = CsvOptions::default().header(Header::Present);
    let ds = parse_csv(text.as_bytes(), "t", &opts).unwrap();
    assert_eq!((ds.len(), ds.labels()), (1, &[1u32][..]));
    // Declaring no header makes a word in the first line an error.
    let opts = CsvOptions::default().header(Header::Absent);
    let (line, col, p) = where_what(parse_csv(b"a,b,label\n1,2,0\n", "t", &opts));
    assert_eq!(
        (line, col, p),
        (Some(1), Some(1), CsvProblem::NotNumeric("a".into()))
    );
}

#[test]
fn the_label_column_can_be_named_or_numbered() {
    let text = "label,x,y\n1,0.5,0.25\n0,1,2\n";
    let named = CsvOptions::default().label(LabelColumn::Name("label".into()));
    let ds = parse_csv(text.as_bytes(), "t", &named).unwrap();
    assert_eq!(ds.features(), array![[0.5, 0.25], [1.0, 2.0]]);
    assert_eq!(ds.labels(), &[1, 0]);
    let numbered = CsvOptions::default().label(LabelColumn::Index(0));
    assert_eq!(parse_csv(text.as_bytes(), "t", &numbered).unwrap(), ds);

    let wrong = CsvOptions::default().label(LabelColumn::Name("class".into()));
    let (line, _, p) = where_what(parse_csv(text.as_bytes(), "t", &wrong));
    assert_eq!(line, Some(1));
    assert!(
        matches!(p, CsvProblem::NoSuchName { ref name, ref header } if name == "class" && header.len() == 3)
    );
    let far = CsvOptions::default().label(LabelColumn::Index(3));
    assert_eq!(
        where_what(parse_csv(text.as_bytes(), "t", &far)).2,
        CsvProblem::NoSuchColumn {
            index: 3,
            columns: 3
        }
    );
    let (_, _, p) = where_what(parse_csv(b"1,2,0\n", "t", &named));
    assert_eq!(p, CsvProblem::NoHeader("label".into()));
}

#[test]
fn a_non_numeric_cell_is_named_with_its_line_and_column() {
    let err = parse_csv(
        b"1,2,0\n3,abc,1\n",
        "data/train.csv",
        &CsvOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "data/train.csv: line 2, column 2: `abc` is not a finite number"
    );
    for cell in ["NaN", "inf", "-inf", "1e39", "", "1.2.3", "0x10"] {
        // After a numeric first line, so that the line is not taken for a header.
        let text = format!("1,2,0\n1,{cell},0\n");
        let (line, col, p) = where_what(parse(&text));
        assert_eq!(
            (line, col, p),
            (Some(2), Some(2), CsvProblem::NotNumeric(cell.into())),
            "{cell:?}"
        );
    }
}

#[test]
fn long_cells_are_cut_in_errors() {
    let cell = "x".repeat(10_000);
    let (_, _, p) = where_what(parse(&format!("1,2,0\n1,{cell},0\n")));
    let CsvProblem::NotNumeric(shown) = p else {
        panic!("{p:?}")
    };
    assert_eq!(shown.chars().count(), 41);
}

#[test]
fn labels_must_be_non_negative_integers() {
    assert_eq!(parse("1,2,3.0\n").unwrap().labels(), &[3]);
    for label in ["-1", "0.5", "abc", "", "4294967296", "1e300", "NaN"] {
        let (line, col, p) = where_what(parse(&format!("1,2,0\n1,2,{label}\n")));
        assert_eq!(
            (line, col, p),
            (Some(2), Some(3), CsvProblem::BadLabel(label.into())),
            "{label:?}"
        );
    }
    let opts = CsvOptions::default().num_classes(2);
    let (line, col, p) = where_what(parse_csv(b"1,0\n1,2\n", "t", &opts));
    assert_eq!(
        (line, col, p),
        (
            Some(2),
            Some(2),
            CsvProblem::LabelOutOfRange {
                label: 2,
                num_classes: 2
            }
        )
    );
}

#[test]
fn a_huge_label_does_not_imply_billions_of_classes() {
    let ((), allocs) = measure(|| {
        let err = parse("1,4294967295\n").unwrap_err();
        assert!(matches!(err, DataError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains("4294967296 classes"), "{err}");
    });
    assert!(allocs.peak_bytes < 4096, "{allocs:?}");
}

#[test]
fn ragged_rows_are_refused_with_their_line() {
    let (line, col, p) = where_what(parse("1,2,0\n\n3,4\n"));
    assert_eq!(
        (line, col, p),
        (
            Some(3),
            None,
            CsvProblem::Ragged {
                expected: 3,
                found: 2
            }
        )
    );
    let msg = parse("1,2,0\n3,4,5,6\n").unwrap_err().to_string();
    assert_eq!(msg, "t.csv: line 2: 4 columns where the first row has 3");
}

#[test]
fn empty_inputs_are_refused() {
    for text in ["", "\n\n  \n", "a,b,label\n"] {
        assert_eq!(where_what(parse(text)).2, CsvProblem::Empty, "{text:?}");
    }
    assert_eq!(parse("").unwrap_err().to_string(), "t.csv: no data rows");
    assert_eq!(where_what(parse("0\n1\n")).2, CsvProblem::NoFeatures);
}

#[test]
fn blank_lines_crlf_quotes_spaces_and_other_delimiters() {
    let ds = parse("\r\n \"x\" , \"y\" ,class\r\n\r\n 1 , \"2\" , 0 \r\n3,4,1").unwrap();
    assert_eq!(ds.features(), array![[1.0, 2.0], [3.0, 4.0]]);
    let opts = CsvOptions::default().delimiter(b';');
    assert_eq!(
        parse_csv(b"1;2,5;1\n", "t", &opts).map(|d| d.len()).ok(),
        None
    );
    let ds = parse_csv(b"1;2.5;1\n", "t", &opts).unwrap();
    assert_eq!(ds.features(), array![[1.0, 2.5]]);
    assert!(matches!(
        parse_csv(b"1\n", "t", &CsvOptions::default().delimiter(b'\n')),
        Err(DataError::Invalid { .. })
    ));
}

#[test]
fn invalid_utf8_is_refused_with_its_line() {
    let (line, _, p) = where_what(parse_csv(b"1,2,0\n\xff,1,1\n", "t", &CsvOptions::default()));
    assert_eq!((line, p), (Some(2), CsvProblem::NotUtf8));
}

#[test]
fn gzip_csv_is_read_and_corrupt_gzip_refused() {
    let text = b"0,1,1\n2,3,0\n";
    let gz = gzip(text);
    let opts = CsvOptions::default();
    assert_eq!(
        parse_csv(&gz, "t", &opts).unwrap(),
        parse_csv(text, "t", &opts).unwrap()
    );
    assert!(matches!(
        where_what(parse_csv(&gz[..gz.len() - 5], "t", &opts)).2,
        CsvProblem::Gzip(_)
    ));
}

#[test]
fn feature_shape_and_class_count_options() {
    let opts = CsvOptions::default()
        .feature_shape(vec![2, 2])
        .num_classes(5)
        .name("sq");
    let ds = parse_csv(b"1,2,3,4,0\n", "t", &opts).unwrap();
    assert_eq!(
        (ds.feature_shape(), ds.num_classes(), ds.name()),
        (&[2usize, 2][..], 5, "sq")
    );
    let bad = CsvOptions::default().feature_shape(vec![3]);
    assert_eq!(
        where_what(parse_csv(b"1,2,3,4,0\n", "t", &bad)).2,
        CsvProblem::ShapeMismatch {
            shape: vec![3],
            size: 3,
            columns: 4
        }
    );
}

#[test]
fn files_are_named_in_errors_and_by_their_stem() {
    let dir = scratch_dir("csv-files");
    let good = dir.join("iris.csv.gz");
    std::fs::write(&good, gzip(b"5.1,3.5,0\n6.2,2.9,1\n")).unwrap();
    assert_eq!(
        read_csv(&good, &CsvOptions::default()).unwrap().name(),
        "iris"
    );
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "1,2,0\n1,x,0\n").unwrap();
    let msg = read_csv(&bad, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(&format!("{}: line 2, column 2:", bad.display())),
        "{msg}"
    );
    assert!(matches!(
        read_csv(dir.join("none.csv"), &CsvOptions::default()),
        Err(DataError::Io { .. })
    ));
}

#[test]
fn written_csv_reads_back_bit_for_bit() {
    let features = array![
        [0.1f32, -3.5e-20],
        [f32::MAX, f32::MIN_POSITIVE],
        [-0.0, 1.0 / 3.0]
    ];
    let ds = Dataset::new("w", features, vec![0, 2, 1], 3).unwrap();
    for header in [true, false] {
        let mut out = Vec::new();
        write_csv(&ds, &mut out, header).unwrap();
        let back = parse_csv(&out, "w", &CsvOptions::default()).unwrap();
        let bits = |d: &Dataset| d.features().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&ds));
        assert_eq!(back.labels(), ds.labels());
    }
}
