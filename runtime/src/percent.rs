//! The one percent decoder and encoder: settings (`OTEL_RESOURCE_ATTRIBUTES` values,
//! `OTEL_EXPORTER_OTLP_HEADERS`), URL paths and queries (health routes), and URL
//! credentials and grouping keys (Pushgateway) all go through here.

/// Decodes `%XX` escapes: every `%` must be followed by exactly two hex digits, and the
/// result must be UTF-8.
pub(crate) fn decode(value: &str) -> Result<String, &'static str> {
    if !value.contains('%') {
        return Ok(value.to_owned());
    }
    let bytes = decode_bytes(value, true).ok_or("a `%` is not followed by two hex digits")?;
    String::from_utf8(bytes).map_err(|_| "percent-decoding gives invalid UTF-8")
}

/// Decodes `%XX` escapes where there are two hex digits and keeps everything else as
/// written (credentials in a URL, which are sent as the user wrote them).
#[cfg_attr(not(feature = "push"), allow(dead_code))]
pub(crate) fn decode_lossy(value: &str) -> String {
    let bytes = decode_bytes(value, false).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The decoder: `None` on a malformed escape when `strict`, else keeps it.
fn decode_bytes(value: &str, strict: bool) -> Option<Vec<u8>> {
    // Digit by digit: `u8::from_str_radix` would also take a sign (`%+f`).
    fn hex(digit: u8) -> Option<u8> {
        char::from(digit)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = match bytes.get(i + 1..i + 3) {
                Some(&[high, low]) => hex(high).zip(hex(low)).map(|(h, l)| h << 4 | l),
                _ => None,
            };
            match byte {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                None if strict => return None,
                None => {}
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(out)
}

/// Appends `value` with everything but RFC 3986 unreserved characters escaped.
#[cfg_attr(not(feature = "push"), allow(dead_code))]
pub(crate) fn encode_into(out: &mut String, value: &str) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_strictly() {
        assert_eq!(decode("a%20b%2Cc%3a%C3%A9").unwrap(), "a b,c:\u{e9}");
        assert_eq!(decode("plain+text").unwrap(), "plain+text");
        for bad in ["%+f", "%-1", "%+1", "a%2", "%", "%zz", "%%41", "%1 "] {
            assert_eq!(
                decode(bad),
                Err("a `%` is not followed by two hex digits"),
                "{bad}"
            );
        }
        assert_eq!(decode("%FF"), Err("percent-decoding gives invalid UTF-8"));
        assert_eq!(decode_lossy("a%2Fb%zz%4"), "a/b%zz%4");
    }

    #[test]
    fn encoding_round_trips() {
        for value in ["a b/c?d=é", "", "~-._", "%41", "\u{0}\n"] {
            let mut out = String::new();
            encode_into(&mut out, value);
            assert!(out.bytes().all(|b| b.is_ascii_graphic()), "{out}");
            assert_eq!(decode(&out).unwrap(), value);
        }
    }
}
