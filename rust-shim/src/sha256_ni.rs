//! SHA-256 with the x86 SHA extensions (SHA-NI), for the files every launch hashes (the
//! target and its interpreter). ring 0.16 ships OpenSSL's SHA-NI code path disabled, and
//! its AVX code took ~0.6 ms of each launch for a 250 KB `/bin/true` + `ld.so`; the SHA
//! instructions are ~4× faster. `digest::Hasher` uses this only when the CPU has them.

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_loadu_si128, _mm_set_epi64x,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi32,
    _mm_shuffle_epi8, _mm_storeu_si128,
};

/// The round constants (FIPS 180-4 §4.2.2).
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// The initial hash value (FIPS 180-4 §5.3.3).
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Whether this CPU has the instructions [`Sha256`] needs.
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("ssse3")
}

/// An incremental SHA-256; create it only when [`available`] says so.
#[derive(Clone)]
pub struct Sha256 {
    state: [u32; 8],
    block: [u8; 64],
    filled: usize,
    length: u64,
}

impl Sha256 {
    /// A fresh state. Callers check [`available`] first.
    pub fn new() -> Sha256 {
        Sha256 {
            state: H0,
            block: [0; 64],
            filled: 0,
            length: 0,
        }
    }

    /// Adds bytes.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.length += bytes.len() as u64;
        if self.filled > 0 {
            let take = (64 - self.filled).min(bytes.len());
            self.block[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 64 {
                return;
            }
            let block = self.block;
            self.compress(&block);
            self.filled = 0;
        }
        let whole = bytes.len() - bytes.len() % 64;
        self.compress(&bytes[..whole]);
        let rest = &bytes[whole..];
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    /// The digest of everything added (FIPS 180-4 §5.1.1 padding).
    pub fn finish(mut self) -> [u8; 32] {
        let bits = self.length.wrapping_mul(8);
        let mut tail = [0u8; 128];
        tail[..self.filled].copy_from_slice(&self.block[..self.filled]);
        tail[self.filled] = 0x80;
        let end = if self.filled < 56 { 64 } else { 128 };
        tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        self.compress(&tail[..end]);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Runs the compression function over whole 64-byte blocks.
    fn compress(&mut self, blocks: &[u8]) {
        debug_assert!(blocks.len().is_multiple_of(64));
        if !blocks.is_empty() {
            // SAFETY: a `Sha256` is only created after `available()` confirmed that the CPU
            // has the SHA, SSE4.1 and SSSE3 instructions `compress_blocks` is compiled for.
            unsafe { compress_blocks(&mut self.state, blocks) }
        }
    }
}

/// The SHA-256 compression function over whole 64-byte `blocks`, after Intel's "SHA
/// extensions" paper: the state lives as ABEF/CDGH vectors, `sha256rnds2` does two rounds,
/// `sha256msg1`/`sha256msg2` extend the message schedule four words at a time.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn compress_blocks(state: &mut [u32; 8], blocks: &[u8]) {
    // Big-endian words: byte-swap each 32-bit lane of a loaded block.
    let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
    let load = |bytes: &[u8]| -> __m128i {
        assert!(bytes.len() >= 16);
        // SAFETY: `bytes` holds at least 16 bytes (checked above); loadu has no alignment
        // requirement.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    };
    let words = |w: &[u32]| -> __m128i {
        assert!(w.len() >= 4);
        // SAFETY: `w` holds at least 4 words, 16 bytes (checked above); loadu is unaligned.
        unsafe { _mm_loadu_si128(w.as_ptr().cast()) }
    };
    let dcba = _mm_shuffle_epi32(words(&state[..4]), 0xB1);
    let hgfe = _mm_shuffle_epi32(words(&state[4..]), 0x1B);
    let mut abef = _mm_alignr_epi8(dcba, hgfe, 8);
    let mut cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);
    for block in blocks.chunks_exact(64) {
        let (abef_in, cdgh_in) = (abef, cdgh);
        let mut w = [
            _mm_shuffle_epi8(load(&block[0..]), swap),
            _mm_shuffle_epi8(load(&block[16..]), swap),
            _mm_shuffle_epi8(load(&block[32..]), swap),
            _mm_shuffle_epi8(load(&block[48..]), swap),
        ];
        for group in 0..16 {
            if group >= 4 {
                // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], four at a time.
                let (oldest, next, prev, last) = (
                    w[group % 4],
                    w[(group + 1) % 4],
                    w[(group + 2) % 4],
                    w[(group + 3) % 4],
                );
                let partial = _mm_add_epi32(
                    _mm_sha256msg1_epu32(oldest, next),
                    _mm_alignr_epi8(last, prev, 4),
                );
                w[group % 4] = _mm_sha256msg2_epu32(partial, last);
            }
            let scheduled = _mm_add_epi32(w[group % 4], words(&K[group * 4..]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, scheduled);
            // Two rounds each: `cdgh` holds ABEF after two rounds, which is CDGH after four
            // once `abef` has taken the next two.
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(scheduled, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    let feba = _mm_shuffle_epi32(abef, 0x1B);
    let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    let hgfe = _mm_alignr_epi8(dchg, feba, 8);
    let (low, high) = state.split_at_mut(4);
    // SAFETY: `low` and `high` are 4 words (16 bytes) each; storeu has no alignment
    // requirement.
    unsafe {
        _mm_storeu_si128(low.as_mut_ptr().cast(), dcba);
        _mm_storeu_si128(high.as_mut_ptr().cast(), hgfe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::digest::{digest, SHA256};

    /// Deterministic bytes without a randomness crate.
    fn bytes(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn agrees_with_ring_for_every_length_and_split() {
        if !available() {
            eprintln!("no SHA extensions on this CPU: nothing to compare");
            return;
        }
        for len in 0..=300 {
            let data = bytes(len, len as u32);
            let expected = digest(&SHA256, &data);
            for split in [0, 1.min(len), len / 3, len / 2, len.saturating_sub(1), len] {
                let mut h = Sha256::new();
                h.update(&data[..split]);
                let copy = h.clone();
                h.update(&data[split..]);
                assert_eq!(
                    h.finish().as_slice(),
                    expected.as_ref(),
                    "len {len} split {split}"
                );
                let mut again = copy;
                again.update(&data[split..]);
                assert_eq!(again.finish().as_slice(), expected.as_ref());
            }
        }
        // A file-sized input in uneven reads.
        let data = bytes(1 << 20, 7);
        let mut h = Sha256::new();
        for chunk in data.chunks(65_537) {
            h.update(chunk);
        }
        assert_eq!(h.finish().as_slice(), digest(&SHA256, &data).as_ref());
    }
}
