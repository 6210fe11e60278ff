//! Which micro-kernel runs: the instruction sets of this CPU, chosen once per process, and the
//! element types the GEMM knows.

use std::ops::{Add, Mul};
use std::sync::OnceLock;

use super::kernels::Kernel;
use super::split::GemmFn;
use crate::device::cpu::scratch::ScratchElem;

/// The micro-kernel families, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F, 512-bit vectors (`f32` 8×48, `f64` 8×24 tiles).
    Avx512f,
    /// AVX2 with FMA, 256-bit vectors (`f32` 6×16, `f64` 6×8 tiles).
    Avx2Fma,
    /// Neither: `matrixmultiply`'s portable GEMM, split across threads by
    /// [`super::split::gemm_split`].
    Portable,
}

impl Isa {
    /// Every family, best first.
    pub const ALL: [Isa; 3] = [Isa::Avx512f, Isa::Avx2Fma, Isa::Portable];

    /// The name used in reports and in `GLASSGRAD_CPU_GEMM`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512f => "avx512f",
            Isa::Avx2Fma => "avx2",
            Isa::Portable => "matrixmultiply",
        }
    }

    /// Whether this CPU runs the family.
    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512f => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512f | Isa::Avx2Fma => false,
            Isa::Portable => true,
        }
    }

    /// The best family this CPU runs.
    pub fn best() -> Isa {
        Isa::ALL.into_iter().find(|i| i.available()).unwrap_or(Isa::Portable)
    }

    /// The family every GEMM uses, chosen once per process: [`Isa::best`], or the one named by the
    /// environment variable `GLASSGRAD_CPU_GEMM` (`avx512f`, `avx2`, `matrixmultiply`; `auto` or
    /// unset for the best). A name this CPU cannot run, or an unknown one, is reported on stderr
    /// once and the best family is used.
    pub fn chosen() -> Isa {
        static CHOSEN: OnceLock<Isa> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let Ok(v) = std::env::var("GLASSGRAD_CPU_GEMM") else { return Isa::best() };
            match Isa::parse(&v) {
                Ok(Some(isa)) if isa.available() => isa,
                Ok(None) => Isa::best(),
                Ok(Some(isa)) => {
                    eprintln!(
                        "glassgrad: GLASSGRAD_CPU_GEMM={v}: this CPU has no {}; using {}",
                        isa.name(),
                        Isa::best().name()
                    );
                    Isa::best()
                }
                Err(e) => {
                    eprintln!("glassgrad: {e}; using {}", Isa::best().name());
                    Isa::best()
                }
            }
        })
    }

    /// Parses a `GLASSGRAD_CPU_GEMM` value: `Ok(None)` for `auto` or an empty value.
    pub fn parse(v: &str) -> Result<Option<Isa>, String> {
        match v.trim() {
            "" | "auto" => Ok(None),
            s => Isa::ALL.into_iter().find(|i| i.name() == s).map(Some).ok_or_else(|| {
                format!("GLASSGRAD_CPU_GEMM={s} is not one of auto, avx512f, avx2, matrixmultiply")
            }),
        }
    }
}

/// The micro-kernel of family `isa` for `T`, when this CPU runs it (`None`: take the portable
/// path).
pub fn kernel_on_this_cpu<T: GemmElem>(isa: Isa) -> Option<Kernel<T>> {
    T::kernel(isa).filter(|_| isa.available())
}

/// An element type of the GEMM (`f32`, `f64`): its micro-kernels and its `matrixmultiply`
/// fallback.
pub trait GemmElem:
    Copy + Default + PartialEq + Send + Sync + ScratchElem + Add<Output = Self> + Mul<Output = Self> + 'static
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// `matrixmultiply`'s GEMM for the type (the portable fallback and the tests' oracle).
    const MATRIXMULTIPLY: GemmFn<Self>;

    /// The micro-kernel of a family (`None` for [`Isa::Portable`] or one this build lacks).
    fn kernel(isa: Isa) -> Option<Kernel<Self>>;
}

impl GemmElem for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const MATRIXMULTIPLY: GemmFn<f32> = matrixmultiply::sgemm;

    fn kernel(isa: Isa) -> Option<Kernel<f32>> {
        #[cfg(target_arch = "x86_64")]
        {
            use super::kernels::*;
            match isa {
                Isa::Avx512f => Some(Kernel {
                    mr: 8,
                    nr: 48,
                    run: f32_avx512_8x48,
                    name: "avx512f",
                    narrow: &[(16, f32_avx512_8x16), (32, f32_avx512_8x32)],
                }),
                Isa::Avx2Fma => Some(Kernel {
                    mr: 6,
                    nr: 16,
                    run: f32_avx2_6x16,
                    name: "avx2+fma",
                    narrow: &[(8, f32_avx2_6x8)],
                }),
                Isa::Portable => None,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = isa;
            None
        }
    }
}

impl GemmElem for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const MATRIXMULTIPLY: GemmFn<f64> = matrixmultiply::dgemm;

    fn kernel(isa: Isa) -> Option<Kernel<f64>> {
        #[cfg(target_arch = "x86_64")]
        {
            use super::kernels::*;
            match isa {
                Isa::Avx512f => Some(Kernel {
                    mr: 8,
                    nr: 24,
                    run: f64_avx512_8x24,
                    name: "avx512f",
                    narrow: &[(8, f64_avx512_8x8), (16, f64_avx512_8x16)],
                }),
                Isa::Avx2Fma => Some(Kernel {
                    mr: 6,
                    nr: 8,
                    run: f64_avx2_6x8,
                    name: "avx2+fma",
                    narrow: &[(4, f64_avx2_6x4)],
                }),
                Isa::Portable => None,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = isa;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::parse(isa.name()), Ok(Some(isa)));
        }
        assert_eq!(Isa::parse("auto"), Ok(None));
        assert!(Isa::parse("avx9").unwrap_err().contains("avx9"));
        assert!(Isa::Portable.available());
    }
}
