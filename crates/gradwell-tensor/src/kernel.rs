//! Which code path runs the f32 products and [`crate::vectorized`] loops: the one place
//! that decides.
//!
//! At the first product the processor is asked what it has and the first path of
//! [`Kernel::DEFAULT_ORDER`] it runs is taken: AVX-512 ([`Kernel::Avx512`]), else AVX2 and
//! FMA ([`Kernel::Avx2`]), else [`Kernel::Portable`] (`matrixmultiply`, whose own kernels
//! use AVX-512 or AVX2 and FMA where the processor has them, and baseline loops). The
//! environment variable
//! `GRADWELL_KERNEL=avx512|avx2|portable` forces a path, so that all three can be measured
//! and tested on one AVX-512 machine. A value that names no path, or a path the processor
//! lacks, is reported once on stderr and the default path runs instead: a stale setting
//! copied to another machine then costs speed, never a crash. The choice is read once per
//! process.

use std::fmt;
use std::str::FromStr;

/// The environment variable that forces a kernel path.
pub const KERNEL_ENV: &str = "GRADWELL_KERNEL";

/// A code path for the f32 matrix products and the element-wise loops of
/// [`crate::vectorized`]. Results agree to rounding on every path (products sum in
/// another order); only the speed differs.
///
/// ```
/// use gradwell_tensor::Kernel;
///
/// let k: Kernel = "avx2".parse()?;
/// assert_eq!(k, Kernel::Avx2);
/// assert_eq!(k.to_string(), "avx2");
/// assert!("sse".parse::<Kernel>().is_err());
/// # Ok::<(), gradwell_tensor::UnknownKernel>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// gradwell's own AVX-512 kernels: 6×64 register blocks, 16-lane loops.
    Avx512,
    /// gradwell's own AVX2+FMA kernels: 6×16 register blocks, 8-lane loops.
    Avx2,
    /// `matrixmultiply`'s kernels and loops compiled for the baseline instruction set.
    Portable,
}

impl Kernel {
    /// Every path, widest first.
    pub const ALL: [Kernel; 3] = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable];

    /// The paths the default choice tries, in order: the widest the processor runs. On an
    /// AVX2+FMA processor gradwell's own kernels beat `matrixmultiply`'s AVX2 kernel, which
    /// the portable path would run there (BENCHMARKS.md).
    pub const DEFAULT_ORDER: [Kernel; 3] = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable];

    /// The name `GRADWELL_KERNEL` takes for this path.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }

    /// The instructions the path needs, as a person reads them.
    fn needs(self) -> &'static str {
        match self {
            Kernel::Avx512 => "AVX-512F",
            Kernel::Avx2 => "AVX2 and FMA",
            Kernel::Portable => "nothing",
        }
    }

    /// Whether this processor can run the path (always true for [`Kernel::Portable`];
    /// false for the x86-64 paths on other architectures).
    ///
    /// ```
    /// assert!(gradwell_tensor::Kernel::Portable.available());
    /// ```
    pub fn available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx512 | Kernel::Avx2 => false,
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `GRADWELL_KERNEL` value that names no [`Kernel`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown kernel '{0}' (expected avx512, avx2 or portable)")]
pub struct UnknownKernel(pub String);

impl FromStr for Kernel {
    type Err = UnknownKernel;

    /// The path's [`Kernel::name`], ignoring surrounding whitespace and case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Kernel::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownKernel(s.to_string()))
    }
}

/// The path to run given the `GRADWELL_KERNEL` value (if set) and which paths the
/// processor runs, with the message to print when the request cannot be honoured.
pub(crate) fn choose(
    requested: Option<&str>,
    available: impl Fn(Kernel) -> bool,
) -> (Kernel, Option<String>) {
    let best = Kernel::DEFAULT_ORDER
        .into_iter()
        .find(|&k| available(k))
        .unwrap_or(Kernel::Portable);
    let Some(value) = requested else {
        return (best, None);
    };
    match value.parse::<Kernel>() {
        Ok(k) if available(k) => (k, None),
        Ok(k) => (
            best,
            Some(format!(
                "gradwell: {KERNEL_ENV}={value}: this processor lacks {}; using the {best} kernels",
                k.needs()
            )),
        ),
        Err(e) => (
            best,
            Some(format!(
                "gradwell: {KERNEL_ENV}: {e}; using the {best} kernels"
            )),
        ),
    }
}

/// The path this process runs: chosen at the first call from the processor and
/// `GRADWELL_KERNEL` (see [`Kernel`]), the same ever after. A request that cannot be
/// honoured is reported on stderr at that first call.
///
/// ```
/// let k = gradwell_tensor::active_kernel();
/// assert!(k.available());
/// ```
pub fn active_kernel() -> Kernel {
    static ACTIVE: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let requested = std::env::var(KERNEL_ENV).ok();
        let (kernel, warning) = choose(requested.as_deref(), Kernel::available);
        if let Some(w) = warning {
            eprintln!("{w}");
        }
        kernel
    })
}

/// `C ← α·A·B + β·C` for f32 on the active path.
///
/// # Safety
/// As [`crate::Float::gemm_raw`].
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    // SAFETY: the caller's contract; `active_kernel` only returns a path the processor
    // runs.
    unsafe {
        match active_kernel() {
            Kernel::Avx512 => {
                crate::avx512::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
            }
            Kernel::Avx2 => {
                crate::avx2::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
            }
            Kernel::Portable => {
                matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
            }
        }
    }
}

/// What the instructions a [`crate::vectorized_with`] closure is compiled for can do, as
/// constants the closure's code is specialized on.
///
/// ```
/// let fused = gradwell_tensor::vectorized_with(|isa| isa.fma());
/// // The AVX-512 and AVX2 paths have fused multiply-add; the portable path on x86-64 has
/// // it only when the program is built for a processor that does.
/// if gradwell_tensor::active_kernel() != gradwell_tensor::Kernel::Portable {
///     assert!(fused);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isa {
    fma: bool,
}

impl Isa {
    /// The AVX-512 and AVX2 paths: fused multiply-add is one instruction.
    #[cfg(target_arch = "x86_64")]
    const FUSED: Isa = Isa { fma: true };

    /// The portable path: fused multiply-add where the build's target has it (always on
    /// aarch64; on x86-64 only when built with the `fma` target feature). Elsewhere
    /// `mul_add` would be a library call per element.
    pub const PORTABLE: Isa = Isa {
        fma: cfg!(any(not(target_arch = "x86_64"), target_feature = "fma")),
    };

    /// An `Isa` with fused multiply-add or without: for tests that compare both.
    pub const fn with_fma(fma: bool) -> Isa {
        Isa { fma }
    }

    /// Whether `a.mul_add(b, c)` compiles to one instruction: where it does, it is faster
    /// than `a * b + c` and rounds once.
    pub const fn fma(self) -> bool {
        self.fma
    }

    /// `a·b + c`: fused (one rounding) when [`Isa::fma`], else a multiply and an add.
    #[inline(always)]
    pub fn mul_add<F: crate::Float>(self, a: F, b: F, c: F) -> F {
        if self.fma { a.mul_add(b, c) } else { a * b + c }
    }
}

/// Runs `f` compiled for the active path's instructions (see [`crate::vectorized_with`]).
#[inline(always)]
pub(crate) fn vectorized_with<R>(f: impl FnOnce(Isa) -> R) -> R {
    match active_kernel() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active_kernel` returns Avx512 only when the processor has AVX-512F.
        #[allow(unsafe_code)]
        Kernel::Avx512 => unsafe {
            crate::avx512::in_avx512(
                #[inline(always)]
                || f(Isa::FUSED),
            )
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active_kernel` returns Avx2 only when the processor has AVX2 and FMA.
        #[allow(unsafe_code)]
        Kernel::Avx2 => unsafe {
            crate::avx2::in_avx2(
                #[inline(always)]
                || f(Isa::FUSED),
            )
        },
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Avx512 | Kernel::Avx2 => f(Isa::PORTABLE),
        Kernel::Portable => f(Isa::PORTABLE),
    }
}

#[cfg(test)]
mod tests {
    use super::{Kernel, choose};

    /// Every path parses from the name it prints.
    #[test]
    fn names_round_trip() {
        for k in Kernel::ALL {
            assert_eq!(k.name().parse::<Kernel>(), Ok(k));
            assert_eq!(format!(" {} ", k.to_string().to_uppercase()).parse(), Ok(k));
        }
    }

    /// Unset: the first available path of the default order (AVX2 where AVX-512 is missing).
    /// Forced: that path when the processor runs it; else, and for an unknown value, the
    /// default path and a message naming the value and what is missing.
    #[test]
    fn choice_follows_the_request_and_the_processor() {
        let only = |set: &'static [Kernel]| move |k: Kernel| set.contains(&k);
        let all = only(&[Kernel::Avx512, Kernel::Avx2, Kernel::Portable]);
        let avx2 = only(&[Kernel::Avx2, Kernel::Portable]);
        let none = only(&[Kernel::Portable]);
        assert_eq!(choose(None, all), (Kernel::Avx512, None));
        assert_eq!(choose(None, avx2), (Kernel::Avx2, None));
        assert_eq!(choose(Some("avx2"), avx2), (Kernel::Avx2, None));
        assert_eq!(choose(None, none), (Kernel::Portable, None));
        for k in Kernel::ALL {
            assert_eq!(choose(Some(k.name()), all), (k, None));
        }
        assert_eq!(choose(Some("portable"), avx2), (Kernel::Portable, None));
        let (k, msg) = choose(Some("avx512"), avx2);
        assert_eq!(k, Kernel::Avx2);
        let msg = msg.unwrap();
        assert!(
            msg.contains("GRADWELL_KERNEL=avx512") && msg.contains("AVX-512F"),
            "{msg}"
        );
        let (k, msg) = choose(Some("avx2"), none);
        assert_eq!(k, Kernel::Portable);
        assert!(msg.unwrap().contains("AVX2 and FMA"));
        let (k, msg) = choose(Some("neon"), avx2);
        assert_eq!(k, Kernel::Avx2);
        let msg = msg.unwrap();
        assert!(
            msg.contains("'neon'") && msg.contains("using the avx2 kernels"),
            "{msg}"
        );
    }
}
