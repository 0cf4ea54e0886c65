//! Standard base64 (RFC 4648 §4): padded for DSSE fields, unpadded for key ids. Decoding
//! is strict: only the one canonical padded spelling of some bytes is accepted, except
//! where DSSE asks verifiers to accept the URL-safe alphabet and missing padding too
//! ([`decode_any_alphabet`]).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes`; `pad` appends `=` to a multiple of four characters.
pub fn encode(bytes: &[u8], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|v| v as u32)
}

/// Decodes canonical padded standard base64; `None` for anything else (bad characters,
/// missing or misplaced padding, non-zero unused bits, whitespace).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.len() / 4;
    for (q, quad) in bytes.chunks(4).enumerate() {
        let pads = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pads > 2 || (pads > 0 && q + 1 != quads) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &quad[..4 - pads] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pads as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - pads]);
    }
    (encode(&out, true) == text).then_some(out)
}

/// Decodes base64 as DSSE verifiers must accept it: the standard or the URL-safe alphabet
/// (one per text), padded or not. Unused bits must still be zero, and padding, when
/// present, complete; `None` for anything else.
pub fn decode_any_alphabet(text: &str) -> Option<Vec<u8>> {
    let url_safe = text.contains(['-', '_']);
    if url_safe && text.contains(['+', '/']) {
        return None;
    }
    if text.contains('=') && !text.len().is_multiple_of(4) {
        return None;
    }
    let mut standard: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    decode(&standard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ];
        for (plain, coded) in cases {
            assert_eq!(encode(plain.as_bytes(), true), coded);
            assert_eq!(encode(plain.as_bytes(), false), coded.trim_end_matches('='));
            assert_eq!(decode(coded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(encode(&[0xfb, 0xff], true), "+/8=");
    }

    #[test]
    fn dsse_decoding_accepts_both_alphabets_padded_or_not() {
        for text in ["+/8=", "+/8", "-_8=", "-_8"] {
            assert_eq!(
                decode_any_alphabet(text).as_deref(),
                Some(&[0xfb, 0xff][..])
            );
        }
        for bad in [
            "+_8=", "-/8", "Zg=", "Zh==", "Zh", "Zm9v\n", "Z===", "Zg==Zg==",
        ] {
            assert_eq!(decode_any_alphabet(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn decode_is_strict() {
        for bad in [
            "Zg", "Zg=", "Zh==", "Zm9v\n", "Zg==Zg==", "Z===", "Zm9-", " Zm9v", "====",
        ] {
            assert_eq!(decode(bad), None, "{bad:?} must be refused");
        }
    }
}
