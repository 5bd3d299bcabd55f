//! The page's Content-Security-Policy: nothing loads, nothing runs; the one inline
//! stylesheet is allowed by its SHA-256 hash, computed at compile time here (a hash
//! that did not match would leave the page unstyled and the browser test would see the
//! violation).

/// The page's stylesheet, inlined in its `<style>` element.
pub(super) const STYLE: &str = include_str!("style.css");

/// `Content-Security-Policy` of the page: no script, no frame, no form, no request to
/// anywhere; the stylesheet by hash; `data:` images only (the empty favicon).
pub(super) const POLICY: &str = match std::str::from_utf8(&POLICY_BYTES) {
    Ok(s) => s,
    Err(_) => panic!("the policy is ASCII"),
};

const PREFIX: &[u8] = b"default-src 'none'; style-src 'sha256-";
const SUFFIX: &[u8] =
    b"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const HASH: [u8; 44] = base64(&sha256(STYLE.as_bytes()));
const POLICY_LEN: usize = PREFIX.len() + HASH.len() + SUFFIX.len();
const POLICY_BYTES: [u8; POLICY_LEN] = {
    let mut out = [0u8; POLICY_LEN];
    let mut i = 0;
    while i < PREFIX.len() {
        out[i] = PREFIX[i];
        i += 1;
    }
    let mut j = 0;
    while j < HASH.len() {
        out[i + j] = HASH[j];
        j += 1;
    }
    let mut k = 0;
    while k < SUFFIX.len() {
        out[i + j + k] = SUFFIX[k];
        k += 1;
    }
    out
};

const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// SHA-256 (FIPS 180-4), at compile time.
#[allow(clippy::many_single_char_names)] // the standard's names: a…h, w, t
const fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    let bits = (data.len() as u64).wrapping_mul(8);
    // Message, 0x80, zeros, then the length: a whole number of 64-byte blocks.
    let blocks = (data.len() + 9).div_ceil(64);
    let mut b = 0;
    while b < blocks {
        let mut w = [0u32; 64];
        let mut t = 0;
        while t < 16 {
            let mut word = 0u32;
            let mut k = 0;
            while k < 4 {
                let i = b * 64 + t * 4 + k;
                let byte = if i < data.len() {
                    data[i]
                } else if i == data.len() {
                    0x80
                } else if i >= blocks * 64 - 8 {
                    // One byte of the big-endian length.
                    #[allow(clippy::cast_possible_truncation)]
                    let byte = (bits >> (8 * (blocks * 64 - 1 - i))) as u8;
                    byte
                } else {
                    0
                };
                word = (word << 8) | byte as u32;
                k += 1;
            }
            w[t] = word;
            t += 1;
        }
        while t < 64 {
            let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
            let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16]
                .wrapping_add(s0)
                .wrapping_add(w[t - 7])
                .wrapping_add(s1);
            t += 1;
        }
        let [mut a, mut bb, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        let mut t = 0;
        while t < 64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[t])
                .wrapping_add(w[t]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & bb) ^ (a & c) ^ (bb & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = bb;
            bb = a;
            a = t1.wrapping_add(t2);
            t += 1;
        }
        let add = [a, bb, c, d, e, f, g, hh];
        let mut i = 0;
        while i < 8 {
            h[i] = h[i].wrapping_add(add[i]);
            i += 1;
        }
        b += 1;
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 8 {
        let bytes = h[i].to_be_bytes();
        out[i * 4] = bytes[0];
        out[i * 4 + 1] = bytes[1];
        out[i * 4 + 2] = bytes[2];
        out[i * 4 + 3] = bytes[3];
        i += 1;
    }
    out
}

/// Standard base64 with padding, of 32 bytes.
const fn base64(bytes: &[u8; 32]) -> [u8; 44] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = [b'='; 44];
    let mut i = 0;
    let mut o = 0;
    while i < 32 {
        let b0 = bytes[i] as u32;
        let b1 = if i + 1 < 32 { bytes[i + 1] as u32 } else { 0 };
        let b2 = if i + 2 < 32 { bytes[i + 2] as u32 } else { 0 };
        let n = (b0 << 16) | (b1 << 8) | b2;
        out[o] = ALPHABET[(n >> 18) as usize & 63];
        out[o + 1] = ALPHABET[(n >> 12) as usize & 63];
        if i + 1 < 32 {
            out[o + 2] = ALPHABET[(n >> 6) as usize & 63];
        }
        if i + 2 < 32 {
            out[o + 3] = ALPHABET[n as usize & 63];
        }
        i += 3;
        o += 4;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        crate::span_ids::hex(bytes)
    }

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Two blocks.
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // 55 bytes fill one block with padding; 56 need a second.
        assert_eq!(
            hex(&sha256(&[b'a'; 55])),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"
        );
        assert_eq!(
            hex(&sha256(&[b'a'; 56])),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"
        );
        assert_eq!(
            hex(&sha256(&[b'a'; 1000])),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    #[test]
    fn base64_and_the_policy() {
        // base64 of the SHA-256 of "abc", as `openssl dgst -sha256 -binary | base64`.
        assert_eq!(
            std::str::from_utf8(&base64(&sha256(b"abc"))).unwrap(),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert!(POLICY.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(POLICY.contains("img-src data:"));
        assert!(
            !POLICY.contains("script-src"),
            "default-src 'none' covers scripts"
        );
    }
}
