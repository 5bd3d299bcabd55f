//! A forgiving SQL tokenizer: enough to find operations, targets and literals in the
//! statements of PostgreSQL, SQLite and MySQL, never an error. Tokens are slices of the
//! statement, so the summary keeps names exactly as written.

/// How the three dialects differ in what the lexer must know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // four independent switches of the lexer
pub(crate) struct Dialect {
    /// `\'` escapes a quote inside `'…'` (MySQL; PostgreSQL only in `E'…'`).
    pub(crate) backslash_escapes: bool,
    /// `"…"` is a string, not an identifier (MySQL without `ANSI_QUOTES`).
    pub(crate) double_quoted_strings: bool,
    /// `[…]` quotes an identifier (SQLite).
    pub(crate) brackets: bool,
    /// `$tag$…$tag$` quotes a string (PostgreSQL).
    pub(crate) dollar_quotes: bool,
}

impl Dialect {
    pub(crate) const POSTGRES: Dialect = Dialect {
        backslash_escapes: false,
        double_quoted_strings: false,
        brackets: false,
        dollar_quotes: true,
    };
    pub(crate) const SQLITE: Dialect = Dialect {
        backslash_escapes: false,
        double_quoted_strings: false,
        brackets: true,
        dollar_quotes: false,
    };
    pub(crate) const MYSQL: Dialect = Dialect {
        backslash_escapes: true,
        double_quoted_strings: true,
        brackets: false,
        dollar_quotes: false,
    };

    /// The dialect of a `db.system.name`; PostgreSQL's for unknown systems (standard SQL).
    pub(crate) fn of(system: &str) -> Dialect {
        match system {
            "sqlite" => Dialect::SQLITE,
            "mysql" | "mariadb" => Dialect::MYSQL,
            _ => Dialect::POSTGRES,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An unquoted identifier or keyword.
    Word,
    /// A quoted identifier: `"x"`, `` `x` ``, `[x]`.
    Quoted,
    /// A string literal, with its prefix (`E'…'`, `X'…'`) or dollar quotes.
    Str,
    /// A numeric literal.
    Number,
    /// A bind parameter: `$1`, `?`, `?1`, `:name`, `@name`.
    Param,
    /// Any other character (`(`, `,`, `;`, `.`, operators), one at a time.
    Punct,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) kind: Kind,
    pub(crate) text: &'a str,
    /// Byte offset in the statement.
    pub(crate) start: usize,
    /// Whitespace or a comment came before it.
    pub(crate) spaced: bool,
}

impl Token<'_> {
    /// Whether this is the (unquoted) keyword `kw`, in any case.
    pub(crate) fn is(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    pub(crate) fn is_punct(&self, c: u8) -> bool {
        self.kind == Kind::Punct && self.text.as_bytes() == [c]
    }

    pub(crate) fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// The tokens of `sql`, comments and whitespace left out.
pub(crate) struct Lexer<'a> {
    sql: &'a str,
    pos: usize,
    dialect: Dialect,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(sql: &'a str, dialect: Dialect) -> Self {
        Lexer {
            sql,
            pos: 0,
            dialect,
        }
    }

    fn byte(&self, at: usize) -> u8 {
        self.sql.as_bytes().get(at).copied().unwrap_or(0)
    }

    /// Skips whitespace and comments; whether there were any.
    fn skip_blank(&mut self) -> bool {
        let start = self.pos;
        let bytes = self.sql.as_bytes();
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.pos += 1,
                b'-' if self.byte(self.pos + 1) == b'-' => {
                    self.pos = memchr(b'\n', bytes, self.pos).unwrap_or(bytes.len());
                }
                b'/' if self.byte(self.pos + 1) == b'*' => {
                    // PostgreSQL nests block comments; the others end at the first `*/`,
                    // which only differs for statements no database accepts.
                    let mut depth = 0usize;
                    while self.pos < bytes.len() {
                        if bytes[self.pos] == b'/' && self.byte(self.pos + 1) == b'*' {
                            depth += 1;
                            self.pos += 2;
                        } else if bytes[self.pos] == b'*' && self.byte(self.pos + 1) == b'/' {
                            depth -= 1;
                            self.pos += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                _ => break,
            }
        }
        self.pos > start
    }

    /// Ends a quoted run opened at `self.pos` (the opening quote) and closed by `close`,
    /// where a doubled `close` stands for itself.
    fn quoted(&mut self, close: u8, backslash: bool) {
        let bytes = self.sql.as_bytes();
        let mut i = self.pos + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if backslash => i += 2,
                c if c == close => {
                    if self.byte(i + 1) == close {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                }
                _ => i += 1,
            }
        }
        self.pos = i.min(bytes.len());
    }

    /// `$tag$…$tag$` starting at `self.pos`, if it is one.
    fn dollar_quoted(&mut self) -> bool {
        let bytes = self.sql.as_bytes();
        let mut i = self.pos + 1;
        while i < bytes.len() && is_word_byte(bytes[i]) && !bytes[i].is_ascii_digit() {
            i += 1;
        }
        if self.byte(i) != b'$' {
            return false;
        }
        let tag = &self.sql[self.pos..=i];
        let body = i + 1;
        self.pos = match self.sql[body..].find(tag) {
            Some(at) => body + at + tag.len(),
            None => bytes.len(),
        };
        true
    }

    fn word_end(&self, mut i: usize) -> usize {
        let bytes = self.sql.as_bytes();
        while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'$') {
            i += 1;
        }
        i
    }

    fn number_end(&self, mut i: usize) -> usize {
        let bytes = self.sql.as_bytes();
        if self.byte(i) == b'0' && matches!(self.byte(i + 1), b'x' | b'X') {
            i += 2;
            while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                i += 1;
            }
            return i;
        }
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_')
        {
            i += 1;
        }
        if matches!(self.byte(i), b'e' | b'E')
            && (self.byte(i + 1).is_ascii_digit()
                || (matches!(self.byte(i + 1), b'+' | b'-') && self.byte(i + 2).is_ascii_digit()))
        {
            i += 2;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
        i
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let spaced = self.skip_blank();
        let bytes = self.sql.as_bytes();
        let start = self.pos;
        let first = *bytes.get(start)?;
        let next = self.byte(start + 1);
        let d = self.dialect;
        let kind = match first {
            b'\'' => {
                self.quoted(b'\'', d.backslash_escapes);
                Kind::Str
            }
            b'"' => {
                self.quoted(b'"', d.backslash_escapes && d.double_quoted_strings);
                if d.double_quoted_strings {
                    Kind::Str
                } else {
                    Kind::Quoted
                }
            }
            b'`' => {
                self.quoted(b'`', false);
                Kind::Quoted
            }
            b'[' if d.brackets => {
                self.quoted(b']', false);
                Kind::Quoted
            }
            // Prefixed strings: E'…' (escapes), X'…', B'…', N'…'.
            b'e' | b'E' | b'x' | b'X' | b'b' | b'B' | b'n' | b'N' if next == b'\'' => {
                self.pos += 1;
                self.quoted(b'\'', matches!(first, b'e' | b'E') || d.backslash_escapes);
                Kind::Str
            }
            b'$' if next.is_ascii_digit() => {
                self.pos = self.number_end(start + 1);
                Kind::Param
            }
            b'$' if d.dollar_quotes && self.dollar_quoted() => Kind::Str,
            b'?' => {
                self.pos = self.number_end(start + 1).max(start + 1);
                Kind::Param
            }
            // PostgreSQL's cast, not a parameter.
            b':' if next == b':' => {
                self.pos += 2;
                Kind::Punct
            }
            b':' | b'@' | b'$' if is_word_byte(next) && !next.is_ascii_digit() => {
                self.pos = self.word_end(start + 1);
                Kind::Param
            }
            b'0'..=b'9' => {
                self.pos = self.number_end(start);
                Kind::Number
            }
            b'.' if next.is_ascii_digit() => {
                self.pos = self.number_end(start);
                Kind::Number
            }
            c if is_word_byte(c) => {
                self.pos = self.word_end(start);
                Kind::Word
            }
            _ => {
                // One character; step over a whole UTF-8 sequence.
                let len = self.sql[start..].chars().next().map_or(1, char::len_utf8);
                self.pos = start + len;
                Kind::Punct
            }
        };
        Some(Token {
            kind,
            text: &self.sql[start..self.pos],
            start,
            spaced,
        })
    }
}

/// Letters, digits, `_` and every byte of a non-ASCII character: identifiers in all
/// three dialects (bytes ≥ 0x80 keep token boundaries on ASCII, hence on char boundaries).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn memchr(needle: u8, haystack: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str, dialect: Dialect) -> Vec<(Kind, &str)> {
        Lexer::new(sql, dialect).map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn literals_identifiers_parameters_and_comments() {
        use Kind::{Number, Param, Punct, Quoted, Str, Word};
        assert_eq!(
            kinds(
                "SELECT \"a b\", 'it''s', E'x\\'y', 1.5e3, .5, 0x1F, $1, $$ a'b $$ -- c\n/* d /* e */ */ FROM t",
                Dialect::POSTGRES
            ),
            [
                (Word, "SELECT"),
                (Quoted, "\"a b\""),
                (Punct, ","),
                (Str, "'it''s'"),
                (Punct, ","),
                (Str, "E'x\\'y'"),
                (Punct, ","),
                (Number, "1.5e3"),
                (Punct, ","),
                (Number, ".5"),
                (Punct, ","),
                (Number, "0x1F"),
                (Punct, ","),
                (Param, "$1"),
                (Punct, ","),
                (Str, "$$ a'b $$"),
                (Word, "FROM"),
                (Word, "t"),
            ]
        );
        assert_eq!(
            kinds("x = 'C:\\' AND y::int = ?2", Dialect::POSTGRES),
            [
                (Word, "x"),
                (Punct, "="),
                (Str, "'C:\\'"),
                (Word, "AND"),
                (Word, "y"),
                (Punct, "::"),
                (Word, "int"),
                (Punct, "="),
                (Param, "?2"),
            ]
        );
        assert_eq!(
            kinds("[my t] \"s\" `q` 'a\\''b' :id ?", Dialect::SQLITE)
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>(),
            [Quoted, Quoted, Quoted, Str, Param, Param]
        );
        assert_eq!(
            kinds("\"a\\\"b\" 'c\\'d'", Dialect::MYSQL),
            [(Str, "\"a\\\"b\""), (Str, "'c\\'d'")]
        );
    }

    #[test]
    fn unterminated_runs_end_at_the_end_and_unicode_is_kept_whole() {
        assert_eq!(
            kinds("SELECT 'open", Dialect::POSTGRES),
            [(Kind::Word, "SELECT"), (Kind::Str, "'open")]
        );
        assert_eq!(
            kinds("SELECT * FROM café → x /* open", Dialect::POSTGRES)
                .iter()
                .map(|(_, t)| *t)
                .collect::<Vec<_>>(),
            ["SELECT", "*", "FROM", "café", "→", "x"]
        );
        assert_eq!(kinds("", Dialect::POSTGRES), []);
    }
}
