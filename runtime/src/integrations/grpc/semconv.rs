//! The bounded vocabularies of the RPC semantic conventions for gRPC (v1.44.0, release
//! candidate): status codes by name, which of them are errors on either side, deadlines
//! (`grpc-timeout`), the status a plain HTTP response stands for, and the opt-in to the
//! names used before v1.39.

/// gRPC status codes by number, named as `rpc.status_code` names them.
pub(crate) const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The same codes as numbers (`rpc.grpc.status_code` of the pre-1.39 conventions).
pub(crate) const NUMBERS: [&str; 17] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
];

pub(crate) const OK: u8 = 0;
pub(crate) const CANCELLED: u8 = 1;
pub(crate) const UNKNOWN: u8 = 2;
pub(crate) const DEADLINE_EXCEEDED: u8 = 4;
pub(crate) const UNIMPLEMENTED: u8 = 12;
pub(crate) const INTERNAL: u8 = 13;
pub(crate) const UNAVAILABLE: u8 = 14;

/// The name of a code (`UNKNOWN` for anything past the table).
pub(crate) fn code_name(code: u8) -> &'static str {
    CODES.get(usize::from(code)).copied().unwrap_or("UNKNOWN")
}

/// A `grpc-status` value: a decimal code. Codes gRPC does not define, and values that
/// are not numbers, are `UNKNOWN`, as gRPC's status-code rules ask of a receiver.
#[inline]
pub(crate) fn parse_status(value: &[u8]) -> u8 {
    match value {
        [d @ b'0'..=b'9'] => d - b'0',
        [b'1', d @ b'0'..=b'6'] => 10 + (d - b'0'),
        _ => UNKNOWN,
    }
}

/// Whether a server records `code` as an error: the conventions list `UNKNOWN`,
/// `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS`;
/// the others are the caller's business (`NOT_FOUND`, `INVALID_ARGUMENT`, …).
#[inline]
pub(crate) fn server_error(code: u8) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// Whether a client records `code` as an error: every code but `OK`.
#[inline]
pub(crate) fn client_error(code: u8) -> bool {
    code != OK
}

/// The status a response without `grpc-status` stands for, from its HTTP status
/// (gRPC's "HTTP to gRPC status code mapping"); `None` for 200, whose status comes in
/// the trailers.
#[inline]
pub(crate) fn from_http_status(status: u16) -> Option<u8> {
    Some(match status {
        200 => return None,
        400 => INTERNAL,
        401 => 16,
        403 => 7,
        404 => UNIMPLEMENTED,
        429 | 502..=504 => UNAVAILABLE,
        _ => UNKNOWN,
    })
}

/// A `grpc-timeout` value (`1..=8` digits and a unit, `H`, `M`, `S`, `m`, `u`, `n`) in
/// nanoseconds; `None` when it is not one.
#[inline]
pub(crate) fn parse_timeout(value: &[u8]) -> Option<u64> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let mut n: u64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(d - b'0');
    }
    let scale: u64 = match unit {
        b'H' => 3_600_000_000_000,
        b'M' => 60_000_000_000,
        b'S' => 1_000_000_000,
        b'm' => 1_000_000,
        b'u' => 1_000,
        b'n' => 1,
        _ => return None,
    };
    Some(n.saturating_mul(scale))
}

/// The environment variable of the conventions' migration plan.
pub const STABILITY_OPT_IN_ENV: &str = "OTEL_SEMCONV_STABILITY_OPT_IN";

/// Whether `OTEL_SEMCONV_STABILITY_OPT_IN` (a comma-separated list) asks for `rpc/dup`:
/// the pre-1.39 names beside the current ones.
pub(crate) fn dup_from_env(env: crate::settings::EnvLookup<'_>) -> bool {
    env(STABILITY_OPT_IN_ENV).is_some_and(|v| v.split(',').any(|s| s.trim() == "rpc/dup"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_as_grpc_asks() {
        assert_eq!(parse_status(b"0"), OK);
        assert_eq!(parse_status(b"5"), 5);
        assert_eq!(parse_status(b"16"), 16);
        for bad in [&b"17"[..], b"", b"x", b"01", b"100", b"-1"] {
            assert_eq!(parse_status(bad), UNKNOWN, "{bad:?}");
        }
        assert_eq!(code_name(5), "NOT_FOUND");
        assert_eq!(code_name(40), "UNKNOWN");
        assert_eq!(NUMBERS[16], "16");
        let errors: Vec<_> = (0..17)
            .filter(|c| server_error(*c))
            .map(code_name)
            .collect();
        assert_eq!(
            errors,
            [
                "UNKNOWN",
                "DEADLINE_EXCEEDED",
                "UNIMPLEMENTED",
                "INTERNAL",
                "UNAVAILABLE",
                "DATA_LOSS"
            ]
        );
        assert!((1..17).all(client_error) && !client_error(OK));
    }

    #[test]
    fn timeouts_and_http_statuses() {
        assert_eq!(parse_timeout(b"100m"), Some(100_000_000));
        assert_eq!(parse_timeout(b"1S"), Some(1_000_000_000));
        assert_eq!(parse_timeout(b"2H"), Some(7_200_000_000_000));
        assert_eq!(parse_timeout(b"99999999n"), Some(99_999_999));
        for bad in [&b"m"[..], b"123456789m", b"10x", b"1.5S", b""] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
        assert_eq!(from_http_status(200), None);
        assert_eq!(from_http_status(404), Some(UNIMPLEMENTED));
        assert_eq!(from_http_status(503), Some(UNAVAILABLE));
        assert_eq!(from_http_status(500), Some(UNKNOWN));
    }

    #[test]
    fn the_opt_in_is_a_list() {
        let env = |v: &'static str| move |_: &str| Some(v.to_owned());
        assert!(dup_from_env(&env("http, rpc/dup")));
        assert!(!dup_from_env(&env("rpc")));
        assert!(!dup_from_env(&|_: &str| None));
    }
}
