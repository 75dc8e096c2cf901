//! Label bytes to bit words, eight pixels per step without SIMD intrinsics: an exact
//! zero-byte test on `bytes ^ label` (SWAR) and one multiplication that gathers the eight byte
//! flags into a byte. This is how `bits` builds its masks from label frames.

/// Bit `i` set where byte `i` of `x` equals `k`: an exact zero-byte test on `x ^ k…k`, then one
/// multiplication gathers the eight byte flags (their products land on distinct bits).
fn byte_matches(x: u64, k: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let y = x ^ (u64::from(k) * 0x0101_0101_0101_0101);
    let nonzero = ((y & LOW7) + LOW7) | y;
    let hits = !nonzero & !LOW7;
    (hits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// One word per label for up to 64 pixels: bit `i` set where `chunk[i]` equals the label.
pub(super) fn pack_equal<const N: usize>(chunk: &[u8], labels: [u8; N]) -> [u64; N] {
    let mut out = [0u64; N];
    let bytes = chunk.chunks_exact(8);
    let tail = bytes.remainder();
    for (b, eight) in bytes.enumerate() {
        let x = u64::from_le_bytes(eight.try_into().unwrap_or([0; 8]));
        for (o, &k) in out.iter_mut().zip(&labels) {
            *o |= byte_matches(x, k) << (8 * b);
        }
    }
    let base = chunk.len() - tail.len();
    for (i, &v) in tail.iter().enumerate() {
        for (o, &k) in out.iter_mut().zip(&labels) {
            *o |= u64::from(v == k) << (base + i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn packing_matches_byte_by_byte_comparison(
            bytes in proptest::collection::vec(prop_oneof![0u8..4, any::<u8>()], 0..=64),
            labels in proptest::array::uniform3(prop_oneof![0u8..4, any::<u8>()]),
        ) {
            let got = pack_equal(&bytes, labels);
            for (word, &k) in got.iter().zip(&labels) {
                let expected = bytes
                    .iter()
                    .enumerate()
                    .fold(0u64, |x, (i, &v)| x | (u64::from(v == k) << i));
                prop_assert_eq!(*word, expected);
            }
        }
    }
}
