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
    let text = "0,1,1\n5,6,0\n";
    assert_eq!(parse(text).unwrap().len(), 2);
    let opts = CsvOptions::default().header(Header::Present).num_classes(2);
    let ds = parse_csv(text.as_bytes(), "t", &opts).unwrap();
    assert_eq!((ds.len(), ds.labels()), (1, &[0i64][..]));
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
    let four = CsvOptions::default().num_classes(4);
    let ds = parse_csv(b"1,2,3.0\n", "t", &four).unwrap();
    assert_eq!(ds.labels(), &[3]);
    for label in ["-1", "0.5", "4294967296", "1e300", "NaN"] {
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
        let (line, col, p) = where_what(parse("1,4294967295\n"));
        assert_eq!(
            (line, col, p),
            (
                Some(1),
                Some(2),
                CsvProblem::LabelGap {
                    label: 4294967295,
                    missing: (0, 4294967294)
                }
            )
        );
    });
    assert!(allocs.peak_bytes < 4096, "{allocs:?}");
    // A declared class count that large is refused by the data set itself.
    let opts = CsvOptions::default().num_classes(1 << 32);
    let err = parse_csv(b"1,4294967295\n", "t", &opts).unwrap_err();
    assert!(matches!(err, DataError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("4294967296 classes"), "{err}");
}

#[test]
fn one_stray_label_is_an_error_naming_its_line_not_a_million_classes() {
    // The file: digits-like rows with one label of 1000000 (which made a
    // 1,000,001-class model). The classes come from the labels present.
    let mut text = String::from("pixel0,pixel1,label\n");
    for i in 0..30 {
        text.push_str(&format!("{i},{},{}\n", i + 1, i % 10));
    }
    text.push_str("7,8,1000000\n");
    text.push_str("9,9,3\n");
    let ((line, col, p), allocs) = measure(|| where_what(parse(&text)));
    assert_eq!(
        (line, col, p.clone()),
        (
            Some(32),
            Some(3),
            CsvProblem::LabelGap {
                label: 1_000_000,
                missing: (10, 999_999)
            }
        )
    );
    assert!(allocs.peak_bytes < 64 << 10, "{allocs:?}");
    let msg = parse(&text).unwrap_err().to_string();
    assert!(
        msg.starts_with("t.csv: line 32, column 3: label 1000000 leaves classes 10 to 999999"),
        "{msg}"
    );
    assert!(msg.contains("declare the number of classes"), "{msg}");

    // Labels from 1 (a common numbering) leave class 0 empty; the first row with the
    // lowest label is named.
    let (line, _, p) = where_what(parse("a,b,y\n0,0,2\n0,0,1\n0,0,1\n"));
    assert_eq!(
        (line, p),
        (
            Some(3),
            CsvProblem::LabelGap {
                label: 1,
                missing: (0, 0)
            }
        )
    );
    // A gap in the middle.
    let (line, _, p) = where_what(parse("0,0\n0,1\n0,3\n0,4\n"));
    assert_eq!(
        (line, p),
        (
            Some(3),
            CsvProblem::LabelGap {
                label: 3,
                missing: (2, 2)
            }
        )
    );

    // Declaring the number of classes accepts classes without samples.
    let ds = parse_csv(
        b"0,0\n0,1\n0,3\n",
        "t",
        &CsvOptions::default().num_classes(5),
    )
    .unwrap();
    assert_eq!(
        (ds.num_classes(), ds.class_counts()),
        (5, vec![1, 1, 0, 1, 0])
    );
    // Labels exactly 0..C-1, in any order, make C classes.
    assert_eq!(parse("0,2\n0,0\n0,1\n").unwrap().num_classes(), 3);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_cell() {
    // Without stripping, `\u{FEFF}1` is not a number, so the first data row would be taken
    // for a header and lost.
    let text = "\u{FEFF}1,2,0\n3,4,1\n";
    let ds = parse(text).unwrap();
    assert_eq!(ds.features(), array![[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(ds.labels(), &[0, 1]);
    // Gzipped, the same.
    let ds = parse_csv(&gzip(text.as_bytes()), "t.csv.gz", &CsvOptions::default()).unwrap();
    assert_eq!(ds.len(), 2);
    // A header after the mark is still a header, and its first name is found.
    let text = "\u{FEFF}label,x\n1,0.5\n0,2\n";
    let opts = CsvOptions::default().label(LabelColumn::Name("label".into()));
    let ds = parse_csv(text.as_bytes(), "t", &opts).unwrap();
    assert_eq!((ds.len(), ds.labels()), (2, &[1i64, 0][..]));
    // Only one mark, only at the start: one inside a cell is still an error.
    let (line, col, p) = where_what(parse("1,2,0\n\u{FEFF}3,4,1\n"));
    assert_eq!(
        (line, col, p),
        (Some(2), Some(1), CsvProblem::NotNumeric("\u{FEFF}3".into()))
    );
}

/// A gzip "bomb" of CSV text: `members` copies of one gzip member holding 1 MiB of
/// `0,0,0\n` rows (a file of several members is valid gzip and decompresses to their
/// concatenation), so the file is about a thousandth of what it decompresses to.
fn csv_bomb(members: usize) -> Vec<u8> {
    let row = b"0,0,0\n";
    let block: Vec<u8> = row.iter().copied().cycle().take(1 << 20).collect();
    let member = gzip(&block);
    member.repeat(members)
}

#[test]
fn a_gzip_bomb_stops_at_the_limit_without_inflating_further() {
    let bomb = csv_bomb(64); // 64 MiB from about 64 KiB
    assert!(bomb.len() < 256 << 10, "{}", bomb.len());
    let limit = 1 << 20;
    let opts = CsvOptions::default().max_decompressed(limit);
    let (result, allocs) = measure(|| parse_csv(&bomb, "bomb.csv.gz", &opts));
    let err = result.unwrap_err();
    match &err {
        DataError::TooLarge {
            source_name,
            limit: l,
            declared: None,
        } => assert_eq!((source_name.as_str(), *l), ("bomb.csv.gz", limit)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "bomb.csv.gz: decompresses to more than 1 MiB, the limit on decompressed gzip input"
    );
    // At most the limit (and the buffer's growth) is held, never the 64 MiB.
    assert!(allocs.peak_bytes < 3 * limit as usize, "{allocs:?}");

    // Exactly at the limit is accepted; one byte less is refused.
    let text: Vec<u8> = b"1,2,0\n3,4,1\n".to_vec();
    let gz = gzip(&text);
    let at = CsvOptions::default().max_decompressed(text.len() as u64);
    assert_eq!(parse_csv(&gz, "t", &at).unwrap().len(), 2);
    let below = CsvOptions::default().max_decompressed(text.len() as u64 - 1);
    assert!(matches!(
        parse_csv(&gz, "t", &below),
        Err(DataError::TooLarge { .. })
    ));
    // Raw input is not limited by it.
    assert_eq!(parse_csv(&text, "t", &below).unwrap().len(), 2);
}

#[test]
fn a_wide_first_row_allocates_in_proportion_to_its_text() {
    // The column count comes from the file; nothing is sized from it ahead of the cells
    // actually read, so a wide row costs about what its values take, and a ragged second
    // row is refused without a table sized for the first.
    let columns = 100_000;
    let mut text = "1,".repeat(columns - 1);
    text.push_str("0\n");
    let (ds, allocs) = measure(|| parse(&text).unwrap());
    assert_eq!(ds.num_features(), columns - 1);
    // The features (4 bytes per 2-byte cell) and the growth of their buffer.
    assert!(allocs.peak_bytes < 6 * text.len(), "{allocs:?}");
    text.push_str("1,0\n");
    let (result, allocs) = measure(|| parse(&text));
    assert!(matches!(
        result,
        Err(DataError::Csv {
            problem: CsvProblem::Ragged { .. },
            ..
        })
    ));
    assert!(allocs.peak_bytes < 6 * text.len(), "{allocs:?}");
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
    let ds = parse_csv(b"1;2.5;0\n", "t", &opts).unwrap();
    assert_eq!(ds.features(), array![[1.0, 2.5]]);
    assert!(matches!(
        parse_csv(b"1\n", "t", &CsvOptions::default().delimiter(b'\n')),
        Err(DataError::Invalid { .. })
    ));
}

#[test]
fn a_quoted_cell_may_hold_the_delimiter_a_quote_or_a_line_break() {
    // Header names holding commas (units, as spreadsheets write them) and an escaped
    // quote; the label column found by its name, quoted numbers read as numbers.
    let text =
        "\"weight, kg\",\"height, cm\",\"class \"\"A\"\" or B\"\n70.5,\"180\",0\n\"62\",165,1\n";
    let named = CsvOptions::default().label(LabelColumn::Name("class \"A\" or B".into()));
    let ds = parse_csv(text.as_bytes(), "t", &named).unwrap();
    assert_eq!(ds.features(), array![[70.5, 180.0], [62.0, 165.0]]);
    assert_eq!(ds.labels(), &[0, 1]);
    assert_eq!(
        parse(text).unwrap(),
        parse_csv(text.as_bytes(), "t.csv", &named).unwrap()
    );
    // In a data row, a quoted cell holding the delimiter is one cell (so the row is not
    // ragged), refused as a number with its line and column.
    let (line, col, p) = where_what(parse("a,b,label\n1,\"2,5\",0\n"));
    assert_eq!(
        (line, col, p),
        (Some(2), Some(2), CsvProblem::NotNumeric("2,5".into()))
    );
    // A line break inside a quoted name: the rows after it keep their own line numbers.
    let (line, col, p) = where_what(parse("\"a\nb\",c,label\n1,2,0\n1,x,1\n"));
    assert_eq!(
        (line, col, p),
        (Some(4), Some(2), CsvProblem::NotNumeric("x".into()))
    );
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

/// The label column's text form (flags, config files) reads and prints back; a number is
/// an index, anything else but `last` a header name.
#[test]
fn label_columns_read_and_print_as_text() {
    for (text, column) in [
        ("last", LabelColumn::Last),
        (" 2 ", LabelColumn::Index(2)),
        ("species", LabelColumn::Name("species".into())),
        ("Last", LabelColumn::Name("Last".into())),
    ] {
        let parsed: LabelColumn = text.parse().unwrap();
        assert_eq!(parsed, column, "{text}");
        assert_eq!(parsed.to_string().parse::<LabelColumn>().unwrap(), column);
        let json = serde_json::to_string(&column).unwrap();
        assert_eq!(serde_json::from_str::<LabelColumn>(&json).unwrap(), column);
    }
    assert!("  ".parse::<LabelColumn>().is_err());
}

#[test]
fn text_labels_are_class_names_numbered_in_sorted_order() {
    // Rows in any order number the classes alike: by the names sorted.
    let text = "sepal,petal,species\n5.1,1.4,setosa\n6.3,6.0,virginica\n5.9,4.2,versicolor\n4.9,1.3,setosa\n";
    let ds = parse_csv(text.as_bytes(), "iris.csv", &CsvOptions::default()).unwrap();
    assert_eq!(
        ds.features(),
        array![[5.1, 1.4], [6.3, 6.0], [5.9, 4.2], [4.9, 1.3]]
    );
    assert_eq!(ds.labels(), &[0, 2, 1, 0]);
    assert_eq!(ds.num_classes(), 3);
    let names = ["setosa", "versicolor", "virginica"].map(String::from);
    assert_eq!(ds.class_names(), Some(&names[..]));
    // Without a header the first line's name is a label, not a header.
    let ds = parse("1,b\n2,a\n").unwrap();
    assert_eq!((ds.len(), ds.labels()), (2, &[1, 0][..]));
    // A header over integer labels is still a header.
    let ds = parse("0,1,label\n1,2,0\n3,4,1\n").unwrap();
    assert_eq!((ds.len(), ds.class_names()), (2, None));
}

#[test]
fn mixed_empty_and_counted_class_names_are_refused() {
    let (line, col, p) = where_what(parse("1,2,0\n1,2,abc\n"));
    assert_eq!(
        (line, col, p),
        (
            Some(2),
            Some(3),
            CsvProblem::MixedLabels {
                label: "abc".into(),
                is_name: true,
                first_line: 1
            }
        )
    );
    let e = parse("1,cat\n2,dog\n3,7\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv: line 3, column 2: label `7` is an integer but the first label (line 1) is a class name: integer labels and class names cannot be mixed"
    );
    let (line, col, p) = where_what(parse("1,cat\n2,\n"));
    assert_eq!((line, col, p), (Some(2), Some(2), CsvProblem::EmptyLabel));
    let opts = CsvOptions::default().num_classes(3);
    let e = parse_csv(b"1,cat\n2,dog\n", "t.csv", &opts).unwrap_err();
    assert!(
        e.to_string().contains("class names (cat, dog)") && e.to_string().contains("(3)"),
        "{e}"
    );
}

#[test]
fn an_unlabelled_file_reads_every_column_as_a_feature() {
    let opts = CsvOptions::default().unlabelled();
    let ds = parse_csv(b"a,b\n1,2\n3,4.5\n", "t.csv", &opts).unwrap();
    assert_eq!(ds.features(), array![[1.0, 2.0], [3.0, 4.5]]);
    assert_eq!((ds.labels(), ds.num_classes()), (&[0, 0][..], 1));
    let (line, col, p) = where_what(parse_csv(b"1,2\n3,x\n", "t.csv", &opts));
    assert_eq!(
        (line, col, p),
        (Some(2), Some(2), CsvProblem::NotNumeric("x".into()))
    );
}
