//! Numbers and booleans as Python prints them, for PyTorch's `repr` of a module: used by
//! [`crate::ActivationInfo::torch_args`] and by the layers of `gradwell-nn`.

/// A float as Python's `repr` prints it: `1e-05`, `0.1`, `1.0`, `20.0`, `inf`, `nan`
/// (scientific below 1e-4 and from 1e16 on, as Python does).
///
/// ```
/// use gradwell_activations::pyfmt::py_float;
/// assert_eq!(py_float(0.2), "0.2");
/// assert_eq!(py_float(20.0), "20.0");
/// assert_eq!(py_float(1e-5), "1e-05");
/// ```
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e16) {
        // Rust prints 1e-5 and 1e16; Python prints 1e-05 and 1e+16.
        let s = format!("{x:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        format!("{m}e{sign}{digits:0>2}")
    } else if x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// `True` or `False`.
pub fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn floats_print_as_python_does() {
        for (x, python) in [
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-2.0, "-2.0"),
            (0.0, "0.0"),
            (1e-3, "0.001"),
            (1e-4, "0.0001"),
            (20.0, "20.0"),
            (1e16, "1e+16"),
            (0.01, "0.01"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(py_float(x), python, "{x}");
        }
    }
}
