//! Durations in attributes (`"250ms"`, `"2s"`, `"1m30s"`): the grammar of
//! `flext_observability_naming::duration`, the one the runtime applies to environment
//! variables, with a unit required (a bare `"30"` could mean seconds or milliseconds).

use flext_observability_naming::duration::{self, BareNumber};

/// Parses a duration attribute into seconds; the error is the message to show.
pub(crate) fn parse_seconds(text: &str) -> Result<f64, String> {
    duration::parse_seconds(text, BareNumber::Rejected).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;

    #[test]
    fn durations() {
        assert!((parse_seconds("250ms").unwrap() - 0.25).abs() < 1e-12);
        assert!((parse_seconds("1 s 500 ms").unwrap() - 1.5).abs() < 1e-12);
        assert!(parse_seconds("10").unwrap_err().contains("no unit"));
        assert!(
            parse_seconds("10 parsecs")
                .unwrap_err()
                .contains("unknown unit `parsecs`")
        );
    }
}
