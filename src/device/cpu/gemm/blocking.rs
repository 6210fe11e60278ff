//! Block sizes of the packed GEMM, derived from the data caches.
//!
//! The three cache blocks follow BLIS's analytical model (Low et al., *Analytical modeling is
//! enough for high-performance BLIS*, 2016), for a micro-tile of $m_r \times n_r$ elements of
//! $s$ bytes:
//!
//! * $k_c$ (the `pc` loop): the micro-panel of $\tilde B$, $k_c \times n_r$, stays in L1 while the
//!   `ir` loop streams the micro-panels of $\tilde A$ past it. It may take half of L1 (the other
//!   half holds the $\tilde A$ micro-panel in flight and the C tile):
//!   $k_c = \lfloor L_1 / (2\, n_r\, s) \rfloor$, rounded down to a multiple of 8 and kept in
//!   $[64, 512]$.
//! * $m_c$ (the `ic` loop): the packed block $\tilde A$, $m_c \times k_c$, stays in L2 while the
//!   `jr` loop walks $\tilde B$: half of L2, $m_c = \lfloor L_2 / (2\, k_c\, s) \rfloor$ rounded
//!   down to a multiple of $m_r$.
//! * $n_c$ (the `jc` loop): the packed panel $\tilde B$, $k_c \times n_c$, stays in L3, which every
//!   core shares: half of L3, $n_c = \lfloor L_3 / (2\, k_c\, s) \rfloor$ rounded down to a
//!   multiple of $n_r$ and at most 8192.
//!
//! On this crate's reference machine (AMD EPYC, Zen 5: L1d 48 KiB, L2 1 MiB, L3 32 MiB), for the
//! AVX-512 f32 kernel ($m_r = 8$, $n_r = 48$, $s = 4$): $k_c = 49152 / 384 = 128$,
//! $m_c = 1048576 / 1024 = 1024$, $n_c = \min(33554432 / 1024, 8192) = 8192 \to 8160$.
//!
//! The sizes are read once per process from Linux's `sysfs` (`/sys/devices/system/cpu/cpu0/cache`)
//! and fall back to 32 KiB / 512 KiB / 8 MiB elsewhere. $k_c$ fixes the order in which an element
//! of $C$ sums its $k$ products (one FMA chain per `pc` block), so the bits of a product depend on
//! the machine's L1 size and the kernel chosen, never on the thread count.

use std::sync::OnceLock;

/// The data cache sizes in bytes: L1d, L2, L3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caches {
    /// Level-1 data cache of one core.
    pub l1: usize,
    /// Level-2 cache of one core.
    pub l2: usize,
    /// Level-3 cache (shared).
    pub l3: usize,
}

impl Caches {
    /// Sizes assumed where they cannot be read.
    pub const FALLBACK: Caches = Caches { l1: 32 << 10, l2: 512 << 10, l3: 8 << 20 };

    /// This machine's caches (read once; [`Caches::FALLBACK`] where `sysfs` does not say).
    pub fn detect() -> Caches {
        static CACHES: OnceLock<Caches> = OnceLock::new();
        *CACHES.get_or_init(|| read_sysfs().unwrap_or(Caches::FALLBACK))
    }
}

/// Parses a `sysfs` cache size such as `48K`, `1024K` or `32M`.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, scale) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(scale).filter(|&v| v > 0)
}

fn read_sysfs() -> Option<Caches> {
    let mut found = Caches { l1: 0, l2: 0, l3: 0 };
    for index in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else {
            continue;
        };
        let Some(size) = parse_size(&size) else { continue };
        match (level.trim(), kind.trim()) {
            ("1", "Data") => found.l1 = size,
            ("2", "Unified" | "Data") => found.l2 = size,
            ("3", "Unified" | "Data") => found.l3 = size,
            _ => {}
        }
    }
    (found.l1 > 0 && found.l2 > 0).then(|| Caches {
        l3: if found.l3 > 0 { found.l3 } else { Caches::FALLBACK.l3.max(found.l2 * 4) },
        ..found
    })
}

/// The cache blocks of one kernel: `kc` (depth), `mc` (rows of A per packed block), `nc`
/// (columns of B per packed panel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks {
    /// Depth of a packed block (the `pc` loop's step).
    pub kc: usize,
    /// Rows of a packed block of A (the `ic` loop's step), a multiple of `mr`.
    pub mc: usize,
    /// Columns of a packed panel of B (the `jc` loop's step), a multiple of `nr`.
    pub nc: usize,
}

impl Blocks {
    /// The blocks of the module docs for an `mr × nr` micro-tile of `elem` bytes per element.
    pub fn derive(caches: Caches, mr: usize, nr: usize, elem: usize) -> Blocks {
        let kc = (caches.l1 / (2 * nr * elem)) / 8 * 8;
        let kc = kc.clamp(64, 512);
        let mc = (caches.l2 / (2 * kc * elem)) / mr * mr;
        let mc = mc.max(mr);
        let nc = ((caches.l3 / (2 * kc * elem)).min(8192)) / nr * nr;
        Blocks { kc, mc, nc: nc.max(nr) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("48K\n"), Some(48 << 10));
        assert_eq!(parse_size("32M"), Some(32 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("0K"), None);
        assert_eq!(parse_size("x"), None);
    }

    /// The worked example of the module docs.
    #[test]
    fn zen5_blocks_match_the_docs() {
        let zen5 = Caches { l1: 48 << 10, l2: 1 << 20, l3: 32 << 20 };
        assert_eq!(Blocks::derive(zen5, 8, 48, 4), Blocks { kc: 128, mc: 1024, nc: 8160 });
        // Tiny caches still give usable blocks.
        let tiny = Caches { l1: 1024, l2: 4096, l3: 8192 };
        let b = Blocks::derive(tiny, 6, 16, 8);
        assert!(
            b.kc >= 64 && b.mc >= 6 && b.mc.is_multiple_of(6) && b.nc >= 16 && b.nc.is_multiple_of(16),
            "{b:?}"
        );
    }
}
