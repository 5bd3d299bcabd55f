//! `db.query.text` as semantic conventions v1.44.0 ask for it when collected
//! (docs/db/database-spans.md, "Sanitization of `db.query.text`"): every literal
//! (string, number, boolean, hexadecimal, dollar-quoted) replaced by `?`, `IN (?, ?, …)`
//! collapsed to `IN (?)`, bind parameters (`$1`, `?`) kept as written. Comments go too
//! (they may carry anything), whitespace runs become one space, and the text stops at
//! [`MAX_TEXT`] bytes, between tokens.

use super::lexer::{Dialect, Kind, Lexer, Token};

/// Longest sanitised text kept, in bytes.
pub(crate) const MAX_TEXT: usize = 2048;

fn is_literal(t: &Token<'_>) -> bool {
    matches!(t.kind, Kind::Str | Kind::Number) || t.is("TRUE") || t.is("FALSE")
}

/// The sanitised text of `sql`.
pub(crate) fn sanitize(sql: &str, dialect: Dialect) -> String {
    let toks: Vec<Token<'_>> = Lexer::new(sql, dialect).collect();
    let mut out = String::with_capacity(sql.len().min(MAX_TEXT));
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let (piece, next) = if t.is("IN") {
            match literal_list(&toks, i + 1) {
                Some(end) => ("IN (?)", end),
                None => (t.text, i + 1),
            }
        } else if is_literal(&t) {
            ("?", i + 1)
        } else {
            (t.text, i + 1)
        };
        let space = t.spaced && !out.is_empty();
        if out.len() + usize::from(space) + piece.len() > MAX_TEXT {
            break;
        }
        if space {
            out.push(' ');
        }
        out.push_str(piece);
        i = next;
    }
    out
}

/// `(lit, lit, …)` starting at `i`: the index after its `)`.
fn literal_list(toks: &[Token<'_>], i: usize) -> Option<usize> {
    if !toks.get(i)?.is_punct(b'(') {
        return None;
    }
    let mut j = i + 1;
    loop {
        let t = toks.get(j)?;
        // A leading sign belongs to the number.
        let t = if t.is_punct(b'-') || t.is_punct(b'+') {
            j += 1;
            toks.get(j)?
        } else {
            t
        };
        if !is_literal(t) {
            return None;
        }
        let sep = toks.get(j + 1)?;
        if sep.is_punct(b')') {
            return Some(j + 2);
        }
        if !sep.is_punct(b',') {
            return None;
        }
        j += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> String {
        sanitize(sql, Dialect::POSTGRES)
    }

    #[test]
    fn literals_become_placeholders_and_parameters_stay() {
        assert_eq!(
            pg("SELECT * FROM users WHERE email = 'a@b.c' AND age > 42 AND ok = TRUE"),
            "SELECT * FROM users WHERE email = ? AND age > ? AND ok = ?"
        );
        assert_eq!(
            pg("UPDATE t SET v = E'it\\'s', h = X'0A', n = -1.5e3, d = $x$secret$x$ WHERE id = $1"),
            "UPDATE t SET v = ?, h = ?, n = -?, d = ? WHERE id = $1"
        );
        assert_eq!(
            sanitize(
                "SELECT * FROM t WHERE a = \"secret\" AND b = ?",
                Dialect::MYSQL
            ),
            "SELECT * FROM t WHERE a = ? AND b = ?"
        );
        assert_eq!(
            pg("SELECT \"password\" FROM \"t\" WHERE id = $1"),
            "SELECT \"password\" FROM \"t\" WHERE id = $1"
        );
    }

    #[test]
    fn in_lists_collapse_comments_and_blanks_go() {
        assert_eq!(
            pg("SELECT * FROM t WHERE id IN (1, 2, -3, 4) /* token=abc */ AND s IN ('a','b')"),
            "SELECT * FROM t WHERE id IN (?) AND s IN (?)"
        );
        assert_eq!(
            pg("SELECT *\n  FROM t -- who\n WHERE id IN ($1, $2) AND x IN (SELECT 1)"),
            "SELECT * FROM t WHERE id IN ($1, $2) AND x IN (SELECT ?)"
        );
        // Every literal value gives the same text.
        let a = pg("SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x'");
        let b = pg("SELECT * FROM t WHERE id IN (7) AND name = 'a much longer name'");
        assert_eq!(a, b);
    }

    #[test]
    fn long_text_is_cut_between_tokens() {
        let sql = format!("SELECT {} FROM t", vec!["column_name"; 500].join(", "));
        let text = pg(&sql);
        assert!(text.len() <= MAX_TEXT);
        assert!(
            text.ends_with("column_name") || text.ends_with(','),
            "{text}"
        );
        assert_eq!(pg(""), "");
    }
}
