//! The one percent decoder and encoder: settings (`OTEL_RESOURCE_ATTRIBUTES` values,
//! `OTEL_EXPORTER_OTLP_HEADERS`), URL paths and queries (health routes), and URL
//! credentials and grouping keys (Pushgateway) all go through here; so does the
//! redaction of URLs shown to people ([`redact_urls`]), and base64, the other encoding
//! URLs and their credentials use (Pushgateway grouping values, HTTP Basic
//! authentication).

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

/// `text` with every URL in it (`scheme://…`, up to white space, `` ` ``, `"`, `<` or
/// `>`, which a URL cannot hold unencoded) made safe to show: the user information (`user:password@`) becomes `***@` and query
/// values become `***` (`?token=***&a=***`); scheme, host, port and path stay. A
/// password containing `/`, `?`, `#` or `@` unencoded is hidden too: everything up to the
/// last `@` of the URL goes.
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, url) = rest.split_at(at + 3);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || "\"`<>".contains(c))
            .unwrap_or(url.len());
        redact_one(&mut out, &url[..end]);
        rest = &url[end..];
    }
    out.push_str(rest);
    out
}

/// One URL after its `scheme://`.
fn redact_one(out: &mut String, url: &str) {
    let url = match url.rfind('@') {
        Some(at) => {
            out.push_str("***@");
            &url[at + 1..]
        }
        None => url,
    };
    let Some(q) = url.find('?') else {
        out.push_str(url);
        return;
    };
    out.push_str(&url[..=q]);
    let (query, fragment) = url[q + 1..]
        .split_once('#')
        .map_or((&url[q + 1..], None), |(a, b)| (a, Some(b)));
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) => {
                out.push_str(key);
                out.push_str("=***");
            }
            None => out.push_str(pair),
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
}

/// RFC 4648 base64, for HTTP Basic authentication.
#[cfg_attr(not(any(feature = "push", feature = "remote-write")), allow(dead_code))]
pub(crate) const STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// RFC 4648 base64url, for grouping values (the Pushgateway accepts it with padding).
#[cfg_attr(not(feature = "push"), allow(dead_code))]
pub(crate) const URL_SAFE: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 base64 in `alphabet`, with padding.
#[cfg_attr(not(any(feature = "push", feature = "remote-write")), allow(dead_code))]
pub(crate) fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        let sextet = |shift: u32| char::from(alphabet[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// The `Authorization` header value of HTTP Basic authentication for `user:password`.
#[cfg_attr(not(any(feature = "push", feature = "remote-write")), allow(dead_code))]
pub(crate) fn basic_authorization(user_password: &str) -> String {
    format!("Basic {}", base64(user_password.as_bytes(), STANDARD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc4648() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("/var/tmp", "L3Zhci90bXA="),
            ("\u{ff}\u{fe}", "w7_Dvg=="),
        ] {
            assert_eq!(base64(raw.as_bytes(), URL_SAFE), encoded, "{raw:?}");
        }
    }

    #[test]
    fn basic_authorization_is_base64() {
        assert_eq!(basic_authorization("user:s@cret"), "Basic dXNlcjpzQGNyZXQ=");
    }

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

    #[test]
    fn urls_are_redacted_wherever_they_are() {
        for (text, shown) in [
            ("http://u:p@host:1/x", "http://***@host:1/x"),
            ("http://host:1/x", "http://host:1/x"),
            ("http://user:pa/ss@gw:9091/p", "http://***@gw:9091/p"),
            ("http://u:a@b?c#d@gw:9091", "http://***@gw:9091"),
            (
                "https://h/v1?token=SECRET&x=1#frag",
                "https://h/v1?token=***&x=***#frag",
            ),
            (
                "push to `http://u:s@h/m` failed: http://h:1?k=v (retrying)",
                "push to `http://***@h/m` failed: http://h:1?k=*** (retrying)",
            ),
            ("no url at all", "no url at all"),
            ("ends with ://", "ends with ://"),
        ] {
            assert_eq!(redact_urls(text), shown, "{text}");
        }
    }
}
