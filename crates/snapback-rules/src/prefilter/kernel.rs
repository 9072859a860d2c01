//! The hit search's candidate kernel: one pass over the bytes that yields, in order, every
//! place a name's fingerprint may start and every backslash, so that the names and the `\u`
//! escape are found in one pass and each candidate is looked at where the pass stands.
//!
//! **Why not the library searcher.** `aho-corasick`'s Teddy finds the same fingerprints as
//! fast (about 13 GB/s a core here when nothing matches), but each match ends a call: over
//! CloudTrail, where every record holds `eventName`, the restarts cost more than the pass
//! (7.5 GB/s with a candidate a record), and `\u` took a second pass (`memmem`, 7 % of the user
//! time of a scan). Here a candidate costs a bit of a mask and a comparison, and the backslash
//! is one more comparison in the same pass.
//!
//! **How.** Teddy's idea: each distinct fingerprint (the first [`Kernel::len`] ≤ 3 bytes of
//! a tail) is given one of eight buckets; for each of its bytes, two 16-entry tables say which
//! buckets admit that byte's low and high nibble there. Over 64 bytes at once (AVX2), a place
//! is a candidate when some bucket admits all of its fingerprint's bytes. The tables admit
//! more than the fingerprints (that is what the caller's comparison is for), never fewer, so
//! no occurrence is missed. The same tables read byte by byte ([`Kernel::admits`]) finish a
//! buffer's last bytes and are what the vector form is tested against; without AVX2 the hit
//! search keeps the library's searchers (whose SSSE3 Teddy is faster than a byte at a time).
//! Where AVX-512 VBMI runs, one `vpermb` a fingerprint byte looks the byte up by its low six
//! bits in a table folded from the same two (`blocks_avx512`): it admits more places still,
//! and each place it hands back is checked with the exact tables before it is visited. The
//! AVX2 form is then still tested against the scalar one.

/// The fingerprint tables: eight buckets, fingerprints of one to three bytes.
#[derive(Debug, Clone)]
pub(super) struct Kernel {
    /// For fingerprint byte `j`: which buckets admit each low nibble.
    lo: [[u8; 16]; 3],
    /// For fingerprint byte `j`: which buckets admit each high nibble.
    hi: [[u8; 16]; 3],
    /// For fingerprint byte `j`: which buckets admit a byte by its low six bits alone, as
    /// `vpermb` reads a 64-entry table (bytes that differ only in their top two bits, such
    /// as `n` and `.`, share an entry). Built once here, not at each call of the search.
    six: [[u8; 64]; 3],
    /// The fingerprint's length (1 to 3).
    len: usize,
    /// The names to compare at a place each bucket admits: indices into the caller's list.
    buckets: [Vec<usize>; 8],
    /// Whether the vector form may run here.
    avx2: bool,
    /// Whether its 512-bit form may run here (AVX-512F, BW and VBMI).
    avx512: bool,
}

impl Kernel {
    /// From each name's fingerprint (its bytes from where its tail starts; at least one
    /// byte). `None` when there is none or some fingerprint is empty.
    pub(super) fn new(fingerprints: &[&[u8]]) -> Option<Kernel> {
        let len = fingerprints.iter().map(|f| f.len()).min()?.min(3);
        if len == 0 {
            return None;
        }
        let mut distinct: Vec<&[u8]> = fingerprints.iter().map(|f| &f[..len]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut k = Kernel {
            lo: [[0; 16]; 3],
            hi: [[0; 16]; 3],
            six: [[0; 64]; 3],
            len,
            buckets: Default::default(),
            avx2: has_avx2(),
            avx512: has_avx512vbmi(),
        };
        for (b, group) in buckets_of(&distinct).iter().enumerate() {
            for &i in group {
                for (j, &byte) in distinct[i].iter().enumerate() {
                    k.lo[j][(byte & 0x0f) as usize] |= 1 << b;
                    k.hi[j][(byte >> 4) as usize] |= 1 << b;
                }
                for (n, f) in fingerprints.iter().enumerate() {
                    if f[..len] == *distinct[i] {
                        k.buckets[b].push(n);
                    }
                }
            }
        }
        for j in 0..3 {
            for byte in 0..=255u8 {
                let admitted = k.lo[j][(byte & 0x0f) as usize] & k.hi[j][(byte >> 4) as usize];
                k.six[j][(byte & 0x3f) as usize] |= admitted;
            }
        }
        Some(k)
    }

    /// Whether the vector form runs here (the caller uses the kernel only then).
    pub(super) fn vectorised(&self) -> bool {
        self.avx2
    }

    /// Without the vector forms (to test the scalar one, or to compare).
    #[cfg(test)]
    pub(super) fn scalar(mut self) -> Kernel {
        self.avx2 = false;
        self.avx512 = false;
        self
    }

    /// With the 256-bit vector form only (to test it where the 512-bit one runs).
    #[cfg(test)]
    pub(super) fn avx2_only(mut self) -> Kernel {
        self.avx512 = false;
        self
    }

    /// The buckets that admit a fingerprint starting at `p` (0: none; also when fewer than
    /// [`len`](Self::len) bytes are left).
    pub(super) fn admits(&self, hay: &[u8], p: usize) -> u8 {
        let Some(bytes) = hay.get(p..p + self.len) else {
            return 0;
        };
        bytes.iter().enumerate().fold(0xff, |acc, (j, &b)| {
            acc & self.lo[j][(b & 0x0f) as usize] & self.hi[j][(b >> 4) as usize]
        })
    }

    /// The names of the buckets in `admitted` (a mask of [`admits`](Self::admits)).
    /// The set bits are taken one by one (most places admitted are in one bucket), not by
    /// testing all eight: this runs at every candidate.
    pub(super) fn names(&self, admitted: u8) -> impl Iterator<Item = usize> + '_ {
        let mut left = admitted;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let b = left.trailing_zeros() as usize;
            left &= left - 1;
            Some(&self.buckets[b])
        })
        .flatten()
        .copied()
    }

    /// Every candidate at or after `from`, in order: a place some bucket admits or a
    /// backslash. `visit` is given the place and the buckets that admit it (0 for a backslash
    /// no bucket admits), and returns whether to go on.
    ///
    /// The vector forms hand back one 64-place block with a candidate at a time and `visit` is
    /// called out here, not from inside their loop: a call in the loop made the compiler keep
    /// the lookup tables on the stack (the callee may clobber every vector register) and load
    /// them again for each 64 bytes, which halved the pass's speed (docs/decisions.md). The
    /// 512-bit form may hand back more places than the buckets admit; each is checked here
    /// with [`admits`](Self::admits) before it is visited.
    pub(super) fn candidates(
        &self,
        hay: &[u8],
        from: usize,
        mut visit: impl FnMut(usize, u8) -> bool,
    ) {
        let mut p = from;
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            loop {
                #[allow(unsafe_code)]
                let block = if self.avx512 {
                    // SAFETY: `avx512` is set only where `has_avx512vbmi` found the features.
                    unsafe { self.next_block_avx512(hay, &mut p) }
                } else {
                    // SAFETY: `avx2` is set only where `has_avx2` found the feature.
                    unsafe { self.next_block_avx2(hay, &mut p) }
                };
                let Some((at, mut mask)) = block else {
                    break;
                };
                while mask != 0 {
                    let q = at + mask.trailing_zeros() as usize;
                    mask &= mask - 1;
                    let admitted = self.admits(hay, q);
                    if (admitted != 0 || hay[q] == b'\\') && !visit(q, admitted) {
                        return;
                    }
                }
            }
        }
        while p < hay.len() {
            let admitted = self.admits(hay, p);
            if (admitted != 0 || hay[p] == b'\\') && !visit(p, admitted) {
                return;
            }
            p += 1;
        }
    }

    /// The vector form of [`candidates`](Self::candidates): the next block of 64 places from
    /// `*p` on that holds a candidate, as its first place and a mask of its candidates, with
    /// `*p` moved past it; `None` once fewer places are left than a block needs (every byte a
    /// place's fingerprint needs must be in `hay`), `*p` then at the first place not looked at.
    ///
    /// # Safety
    ///
    /// The processor must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx2")]
    unsafe fn next_block_avx2(&self, hay: &[u8], p: &mut usize) -> Option<(usize, u64)> {
        // SAFETY: the caller's: the processor has AVX2.
        unsafe {
            match self.len {
                1 => self.blocks_avx2::<1>(hay, p),
                2 => self.blocks_avx2::<2>(hay, p),
                _ => self.blocks_avx2::<3>(hay, p),
            }
        }
    }

    /// [`next_block_avx2`](Self::next_block_avx2) for fingerprints of `L` bytes.
    ///
    /// # Safety
    ///
    /// The processor must have AVX2; `L` is [`len`](Self::len).
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn blocks_avx2<const L: usize>(
        &self,
        hay: &[u8],
        p: &mut usize,
    ) -> Option<(usize, u64)> {
        use std::arch::x86_64::{
            __m128i, __m256i, _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_cmpeq_epi8,
            _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
            _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm_loadu_si128,
        };
        let zero = _mm256_setzero_si256();
        let (mut lo, mut hi) = ([zero; L], [zero; L]);
        for j in 0..L {
            // SAFETY: each table is 16 bytes; `_mm_loadu_si128` needs no alignment.
            let (l, h) = unsafe {
                (
                    _mm_loadu_si128(self.lo[j].as_ptr().cast::<__m128i>()),
                    _mm_loadu_si128(self.hi[j].as_ptr().cast::<__m128i>()),
                )
            };
            lo[j] = _mm256_broadcastsi128_si256(l);
            hi[j] = _mm256_broadcastsi128_si256(h);
        }
        let nibble = _mm256_set1_epi8(0x0f);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let ptr = hay.as_ptr();
        // Where a place's candidates are: the places of its bucket-less bytes (all bits set)
        // cleared, backslashes set. `at` is 32 places on from `*p` or not.
        let block = |at: usize| {
            let mut admitted = _mm256_set1_epi8(-1);
            let mut first = zero;
            for j in 0..L {
                // SAFETY: the loop below reads only while `*p + 64 + L - 1 <= hay.len()`,
                // and `at + j + 32 <= *p + 32 + 32 + L - 1`: in bounds.
                let v = unsafe { _mm256_loadu_si256(ptr.add(at + j).cast::<__m256i>()) };
                if j == 0 {
                    first = v;
                }
                let l = _mm256_shuffle_epi8(lo[j], _mm256_and_si256(v, nibble));
                let h =
                    _mm256_shuffle_epi8(hi[j], _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble));
                admitted = _mm256_and_si256(admitted, _mm256_and_si256(l, h));
            }
            (
                _mm256_cmpeq_epi8(admitted, zero),
                _mm256_cmpeq_epi8(first, backslash),
            )
        };
        while *p + 64 + L - 1 <= hay.len() {
            let at = *p;
            let (none0, slash0) = block(at);
            let (none1, slash1) = block(at + 32);
            *p += 64;
            // A quick test of both halves first: most blocks hold nothing.
            let none = _mm256_and_si256(none0, none1);
            let slash = _mm256_or_si256(slash0, slash1);
            if _mm256_movemask_epi8(none) as u32 != u32::MAX || _mm256_movemask_epi8(slash) != 0 {
                let lo_mask =
                    !(_mm256_movemask_epi8(none0) as u32) | _mm256_movemask_epi8(slash0) as u32;
                let hi_mask =
                    !(_mm256_movemask_epi8(none1) as u32) | _mm256_movemask_epi8(slash1) as u32;
                return Some((at, u64::from(lo_mask) | u64::from(hi_mask) << 32));
            }
        }
        None
    }

    /// [`next_block_avx2`](Self::next_block_avx2) in 512-bit registers with AVX-512 VBMI:
    /// one `vpermb` a fingerprint byte looks the byte up by its low six bits in a 64-entry
    /// table, the buckets of every byte with those six bits (the `six` tables). Bytes that
    /// differ only in their top two bits (`n` and `.`, `N` and a UTF-8 continuation byte)
    /// share an entry, so a few more places come back than the buckets admit; the caller
    /// checks each. Against a lookup of each nibble (two `vpermb` and a shift a byte) the
    /// hit search alone ran about 20 % faster (docs/decisions.md).    ///
    /// # Safety
    ///
    /// The processor must have AVX-512F, BW and VBMI.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn next_block_avx512(&self, hay: &[u8], p: &mut usize) -> Option<(usize, u64)> {
        // SAFETY: the caller's.
        unsafe {
            match self.len {
                1 => self.blocks_avx512::<1>(hay, p),
                2 => self.blocks_avx512::<2>(hay, p),
                _ => self.blocks_avx512::<3>(hay, p),
            }
        }
    }

    /// # Safety
    ///
    /// The processor must have AVX-512F, BW and VBMI; `L` is [`len`](Self::len).
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    unsafe fn blocks_avx512<const L: usize>(
        &self,
        hay: &[u8],
        p: &mut usize,
    ) -> Option<(usize, u64)> {
        use std::arch::x86_64::{
            __m512i, _mm512_and_si512, _mm512_cmpeq_epi8_mask, _mm512_loadu_si512,
            _mm512_permutexvar_epi8, _mm512_set1_epi8, _mm512_test_epi8_mask,
        };
        let mut six = [_mm512_set1_epi8(0); L];
        for (j, t) in six.iter_mut().enumerate() {
            // SAFETY: 64-byte tables; unaligned loads.
            *t = unsafe { _mm512_loadu_si512(self.six[j].as_ptr().cast::<__m512i>()) };
        }
        let backslash = _mm512_set1_epi8(b'\\' as i8);
        let ptr = hay.as_ptr();
        while *p + 64 + L - 1 <= hay.len() {
            let at = *p;
            let mut admitted = _mm512_set1_epi8(-1);
            let mut slash = 0;
            for (j, t) in six.iter().enumerate() {
                // SAFETY: `at + j + 64 <= at + 64 + L - 1 <= hay.len()`: in bounds.
                let v = unsafe { _mm512_loadu_si512(ptr.add(at + j).cast::<__m512i>()) };
                if j == 0 {
                    slash = _mm512_cmpeq_epi8_mask(v, backslash);
                }
                admitted = _mm512_and_si512(admitted, _mm512_permutexvar_epi8(v, *t));
            }
            *p += 64;
            let mask = _mm512_test_epi8_mask(admitted, admitted) | slash;
            if mask != 0 {
                return Some((at, mask));
            }
        }
        None
    }
}

/// The distinct fingerprints (indices) of each bucket, at most eight buckets. With more than
/// eight, the two groups whose union admits the fewest byte strings beyond theirs are merged,
/// again and again: a bucket admits every combination of its members' nibbles at each
/// byte, so `tna` and `gna` (one byte apart) share one well, `gna` and `ntN` do not (over
/// CloudTrail that pair admitted two places a record).
fn buckets_of(distinct: &[&[u8]]) -> Vec<Vec<usize>> {
    let admits = |group: &[usize]| -> u64 {
        let len = distinct[group[0]].len();
        (0..len)
            .map(|j| {
                let mut lo = 0u16;
                let mut hi = 0u16;
                for &i in group {
                    lo |= 1 << (distinct[i][j] & 0x0f);
                    hi |= 1 << (distinct[i][j] >> 4);
                }
                u64::from(lo.count_ones() * hi.count_ones())
            })
            .product()
    };
    let mut groups: Vec<Vec<usize>> = (0..distinct.len()).map(|i| vec![i]).collect();
    while groups.len() > 8 {
        let mut best = (u64::MAX, 0, 1);
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let union: Vec<usize> = groups[a].iter().chain(&groups[b]).copied().collect();
                let extra = admits(&union).saturating_sub(admits(&groups[a]) + admits(&groups[b]));
                if extra < best.0 {
                    best = (extra, a, b);
                }
            }
        }
        let merged = groups.remove(best.2);
        groups[best.1].extend(merged);
    }
    groups
}

/// Whether the 512-bit vector form may run here (AVX-512F, BW and VBMI).
fn has_avx512vbmi() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the vector form may run here.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(k: &Kernel, hay: &[u8], from: usize) -> Vec<usize> {
        let mut out = Vec::new();
        k.candidates(hay, from, |p, _| {
            out.push(p);
            true
        });
        out
    }

    /// A small deterministic generator (xorshift), so the test needs no crate.
    fn bytes(seed: &mut u64, n: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                alphabet[(*seed % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn vector_and_scalar_forms_find_the_same_places() {
        let fps: [&[u8]; 11] = [
            b"ntName",
            b"onName",
            b"onNameValue",
            b"odName",
            b"tname\"",
            b"tsource\"",
            b"ttime\"",
            b"opayload\"",
            b"gname\"",
            b"rtid\"",
            b"\xffz",
        ];
        let k = Kernel::new(&fps).unwrap();
        assert_eq!(k.len, 2);
        if !k.vectorised() {
            eprintln!("NOT RUN: this processor has no AVX2, so the vector form was not compared");
        }
        if !k.avx512 {
            eprintln!("NOT RUN: this processor has no AVX-512 VBMI, so that form was not compared");
        }
        let s = k.clone().scalar();
        let v2 = k.clone().avx2_only();
        let mut seed = 0x2545_f491_4f6c_dd1d;
        let alphabet = b"ntNameodgrsuvipyl\"\\:{}, \xff\x80z";
        for n in [0, 1, 2, 31, 32, 33, 63, 64, 65, 100, 1000, 4099] {
            let hay = bytes(&mut seed, n, alphabet);
            for from in [0, 1, 5, n / 2] {
                assert_eq!(
                    all(&k, &hay, from),
                    all(&s, &hay, from),
                    "n {n} from {from}"
                );
                assert_eq!(
                    all(&v2, &hay, from),
                    all(&s, &hay, from),
                    "AVX2, n {n} from {from}"
                );
            }
        }
    }

    #[test]
    fn every_fingerprint_and_backslash_is_a_candidate() {
        let fps: [&[u8]; 3] = [b"ntName", b"onName", b"gname\""];
        let k = Kernel::new(&fps).unwrap();
        for pad in 0..70 {
            let mut hay = vec![b'x'; pad];
            hay.extend_from_slice(b"eventName\":1,\\u0041 operationName logname\"");
            hay.extend(std::iter::repeat_n(b'x', 40));
            let got = all(&k, &hay, 0);
            for (at, names) in [(pad + 3, vec![0]), (pad + 27, vec![1]), (pad + 36, vec![2])] {
                assert!(got.contains(&at), "pad {pad}: {got:?}");
                assert!(names
                    .iter()
                    .all(|n| k.names(k.admits(&hay, at)).any(|m| m == *n)));
            }
            assert!(got.contains(&(pad + 13)), "the backslash, pad {pad}");
            assert_eq!(all(&k, &hay, 0), all(&k.clone().scalar(), &hay, 0));
        }
    }

    #[test]
    fn more_than_eight_fingerprints_share_buckets() {
        let names: Vec<Vec<u8>> = (0..20u8).map(|i| vec![b'a' + i, b'k', b'"']).collect();
        let fps: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
        let k = Kernel::new(&fps).unwrap();
        for (i, n) in names.iter().enumerate() {
            assert!(k.names(k.admits(n, 0)).any(|m| m == i));
        }
        assert!(Kernel::new(&[]).is_none());
        assert!(Kernel::new(&[b"" as &[u8]]).is_none());
    }
}
