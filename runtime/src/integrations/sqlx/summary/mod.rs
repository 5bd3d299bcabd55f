//! `db.query.summary` from a statement's text, as semantic conventions v1.44.0 describe
//! it (docs/db/database-spans.md, "Generating a summary of the query"): the operations
//! and their targets in query order, as written, at most 255 characters, cut between
//! parts. `SELECT * FROM orders WHERE id = 42` is `SELECT orders`; `INSERT INTO t SELECT
//! * FROM s` is `INSERT t SELECT s`.
//!
//! The summary never holds a literal, so any number of literal values folds into one
//! summary. A statement that does not start with a known operation is `_OTHER`.
//!
//! `db.operation.name` and `db.collection.name` come from the same parse: the
//! operation of a single statement, and its target when it names exactly one. The
//! conventions say SQL instrumentations SHOULD NOT parse them from the text (the parse
//! can be wrong); the project's issue asks for them as labels, so they are given, always
//! equal to the words of the summary.

use super::keywords::{MODIFIERS, OBJECTS, RESERVED, SINGLE_WORD, WITH_TARGET};
use super::lexer::{Dialect, Kind, Lexer, Token};

pub(crate) const OTHER: &str = "_OTHER";
const MAX_LEN: usize = 255;

/// What the labels of one statement are made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) text: String,
    pub(crate) operation: Option<String>,
    pub(crate) collection: Option<String>,
}

impl Summary {
    pub(crate) fn other() -> Summary {
        Summary {
            text: OTHER.to_owned(),
            operation: None,
            collection: None,
        }
    }
}

fn one_of(token: &Token<'_>, words: &[&str]) -> bool {
    token.kind == Kind::Word && words.iter().any(|w| token.text.eq_ignore_ascii_case(w))
}

enum Part<'a> {
    Op(&'a str, Option<&'a str>),
    /// A target; `true` when it is a collection (a table), not a procedure.
    Target(&'a str, bool),
}

/// A parenthesised level: whether it holds a query, whose `FROM` names tables
/// (`EXTRACT(YEAR FROM d)` does not).
#[derive(Default)]
struct Frame {
    query: bool,
}

struct Parser<'a> {
    sql: &'a str,
    toks: Vec<Token<'a>>,
    parts: Vec<Part<'a>>,
    frames: Vec<Frame>,
    statements: usize,
    unknown: bool,
    with_clause: bool,
}

/// The summary of `sql`.
pub(crate) fn summarize(sql: &str, dialect: Dialect) -> Summary {
    let mut p = Parser {
        sql,
        toks: Lexer::new(sql, dialect).collect(),
        parts: Vec::new(),
        frames: vec![Frame::default()],
        statements: 0,
        unknown: false,
        with_clause: false,
    };
    p.run();
    p.finish()
}

impl<'a> Parser<'a> {
    fn tok(&self, i: usize) -> Option<&Token<'a>> {
        self.toks.get(i)
    }

    fn is(&self, i: usize, kw: &str) -> bool {
        self.tok(i).is_some_and(|t| t.is(kw))
    }

    fn punct(&self, i: usize, c: u8) -> bool {
        self.tok(i).is_some_and(|t| t.is_punct(c))
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames
            .last_mut()
            .unwrap_or_else(|| unreachable!("never empty"))
    }

    fn op(&mut self, i: usize) {
        self.parts.push(Part::Op(self.toks[i].text, None));
    }

    fn run(&mut self) {
        let mut i = 0;
        let mut at_start = true;
        while let Some(&t) = self.tok(i) {
            if t.is_punct(b';') {
                at_start = true;
                self.with_clause = false;
                self.frames.truncate(1);
                self.frames[0] = Frame::default();
                i += 1;
                continue;
            }
            if t.is_punct(b'(') {
                self.frames.push(Frame::default());
                i += 1;
                continue;
            }
            if t.is_punct(b')') {
                if self.frames.len() > 1 {
                    self.frames.pop();
                }
                i += 1;
                continue;
            }
            if at_start {
                at_start = false;
                self.statements += 1;
                i = self.statement(i);
                continue;
            }
            i = self.inside(i);
        }
    }

    /// The first keyword of a statement at `i`; returns where to go on.
    fn statement(&mut self, i: usize) -> usize {
        let t = self.toks[i];
        if t.is("SELECT") || t.is("VALUES") {
            self.op(i);
            self.frame().query = true;
            return i + 1;
        }
        if t.is("WITH") {
            self.with_clause = true;
            return i + 1;
        }
        if let Some(next) = self.dml(i) {
            return next;
        }
        if t.is("EXPLAIN") {
            self.op(i);
            let mut j = i + 1;
            while self
                .tok(j)
                .is_some_and(|n| one_of(n, &["ANALYZE", "VERBOSE", "QUERY", "PLAN"]))
            {
                j += 1;
            }
            if self.punct(j, b'(') {
                // PostgreSQL's option list: `EXPLAIN (ANALYZE, BUFFERS) SELECT …`.
                while self.tok(j).is_some_and(|n| !n.is_punct(b')')) {
                    j += 1;
                }
                j += 1;
            }
            return match self.tok(j) {
                Some(n) if n.kind == Kind::Word => self.statement(j),
                _ => j,
            };
        }
        if one_of(&t, &["CREATE", "DROP", "ALTER"]) {
            return self.ddl(i);
        }
        if one_of(&t, &["TRUNCATE", "LOCK"]) {
            self.op(i);
            let mut j = i + 1;
            while self.is(j, "TABLE") || self.is(j, "ONLY") {
                j += 1;
            }
            return self.table_list(j);
        }
        if one_of(&t, WITH_TARGET) {
            self.op(i);
            return match self.name(i + 1) {
                Some((name, next)) => {
                    let table = !t.is("CALL") && !t.is("EXEC") && !t.is("EXECUTE");
                    self.parts.push(Part::Target(name, table));
                    next
                }
                None => i + 1,
            };
        }
        if one_of(&t, SINGLE_WORD) {
            self.op(i);
            return self.skip_statement(i + 1);
        }
        self.unknown = true;
        self.skip_statement(i + 1)
    }

    /// `INSERT`, `REPLACE`, `UPSERT`, `UPDATE`, `DELETE`, `MERGE` at `i` (a statement's
    /// start, inside parentheses, or after a `WITH` clause), with their target.
    fn dml(&mut self, i: usize) -> Option<usize> {
        let t = self.toks[i];
        let skip = |p: &Self, mut j: usize| {
            loop {
                if p.is(j, "OR") {
                    // SQLite: INSERT OR REPLACE, UPDATE OR IGNORE.
                    j += 2;
                } else if p.tok(j).is_some_and(|n| one_of(n, MODIFIERS)) {
                    j += 1;
                } else {
                    return j;
                }
            }
        };
        let next = if one_of(&t, &["INSERT", "REPLACE", "UPSERT", "MERGE"]) {
            self.op(i);
            let mut j = skip(self, i + 1);
            if self.is(j, "INTO") {
                j += 1;
            }
            self.one_table(j, true)
        } else if t.is("UPDATE") {
            self.op(i);
            let j = skip(self, i + 1);
            self.one_table(j, false)
        } else if t.is("DELETE") {
            self.op(i);
            let j = skip(self, i + 1);
            if self.is(j, "FROM") {
                self.table_list(j + 1)
            } else {
                j
            }
        } else {
            return None;
        };
        self.frame().query = true;
        Some(next)
    }

    /// `CREATE [OR REPLACE] [modifiers] KIND [IF NOT EXISTS] name`, likewise `DROP`,
    /// `ALTER`: the operation is the verb and the kind (`CREATE TABLE`).
    fn ddl(&mut self, i: usize) -> usize {
        let mut j = i + 1;
        while let Some(t) = self.tok(j) {
            if one_of(t, OBJECTS) {
                break;
            }
            if t.kind != Kind::Word || j > i + 4 {
                self.op(i);
                return self.skip_statement(j);
            }
            j += 1;
        }
        let Some(&kind) = self.tok(j) else {
            self.op(i);
            return j;
        };
        self.parts
            .push(Part::Op(self.toks[i].text, Some(kind.text)));
        j += 1;
        while self.tok(j).is_some_and(|t| {
            one_of(
                t,
                &["IF", "NOT", "EXISTS", "CONCURRENTLY", "ONLY", "UNIQUE"],
            )
        }) {
            j += 1;
        }
        match self.name(j) {
            Some((name, next)) => {
                self.parts.push(Part::Target(name, kind.is("TABLE")));
                next
            }
            None => j,
        }
    }

    /// A token inside a statement.
    fn inside(&mut self, i: usize) -> usize {
        let t = self.toks[i];
        if t.kind != Kind::Word {
            return i + 1;
        }
        if t.is("SELECT") {
            self.op(i);
            self.frame().query = true;
            return i + 1;
        }
        let after_paren = i > 0 && self.punct(i - 1, b'(');
        let after_cte =
            self.with_clause && self.frames.len() == 1 && i > 0 && self.punct(i - 1, b')');
        if (after_paren || after_cte)
            && let Some(next) = self.dml(i)
        {
            return next;
        }
        if !self.frames.last().is_some_and(|f| f.query) {
            return i + 1;
        }
        let prev_distinct = i > 0 && self.is(i - 1, "DISTINCT");
        if (t.is("FROM") && !prev_distinct) || t.is("USING") {
            return self.table_list(i + 1);
        }
        if t.is("JOIN") {
            return self.one_table(i + 1, false);
        }
        i + 1
    }

    /// A possibly qualified name at `i` (`t`, `s.t`, `"my t"`, SQLite's `'t'`): its text
    /// as written, and the index after it.
    fn name(&self, i: usize) -> Option<(&'a str, usize)> {
        let first = self.tok(i)?;
        let usable = |t: &Token<'_>| match t.kind {
            Kind::Word => !one_of(t, RESERVED),
            Kind::Quoted | Kind::Str => true,
            _ => false,
        };
        if !usable(first) {
            return None;
        }
        let mut end = i;
        while self.punct(end + 1, b'.')
            && self
                .tok(end + 2)
                .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
        {
            end += 2;
        }
        Some((&self.sql[first.start..self.toks[end].end()], end + 1))
    }

    /// One table reference at `i`, with its alias; a function call or a subquery is
    /// not a target (the subquery's own operations are found when it is read). With
    /// `columns`, a name followed by `(` is a table and its column list (`INSERT INTO
    /// t (a, b)`), not a function.
    fn one_table(&mut self, mut i: usize, columns: bool) -> usize {
        while self.is(i, "ONLY") || self.is(i, "LATERAL") {
            i += 1;
        }
        let Some((name, next)) = self.name(i) else {
            return i;
        };
        if !columns && self.punct(next, b'(') {
            return i;
        }
        self.parts.push(Part::Target(name, true));
        let mut j = next;
        if self.punct(j, b'*') {
            j += 1;
        }
        if self.is(j, "AS") {
            j += 1;
        }
        match self.tok(j) {
            Some(t) if t.kind == Kind::Quoted || (t.kind == Kind::Word && !one_of(t, RESERVED)) => {
                j + 1
            }
            _ => j,
        }
    }

    fn table_list(&mut self, mut i: usize) -> usize {
        loop {
            let next = self.one_table(i, false);
            if next == i || !self.punct(next, b',') {
                return next;
            }
            i = next + 1;
        }
    }

    fn skip_statement(&self, mut i: usize) -> usize {
        while self.tok(i).is_some_and(|t| !t.is_punct(b';')) {
            i += 1;
        }
        i
    }

    fn finish(self) -> Summary {
        if self.unknown || self.parts.is_empty() {
            return Summary::other();
        }
        let mut text = String::new();
        let mut ops = Vec::new();
        let mut tables = Vec::new();
        for part in &self.parts {
            let (word, extra) = match *part {
                Part::Op(verb, kind) => {
                    ops.push((verb, kind));
                    (verb, kind)
                }
                Part::Target(name, table) => {
                    if table {
                        tables.push(name);
                    }
                    (name, None)
                }
            };
            let len = word.len() + extra.map_or(0, |k| k.len() + 1);
            if text.len() + usize::from(!text.is_empty()) + len > MAX_LEN {
                break;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(word);
            if let Some(kind) = extra {
                text.push(' ');
                text.push_str(kind);
            }
        }
        if text.is_empty() {
            return Summary::other();
        }
        let single = self.statements == 1;
        let operation = ops
            .first()
            .filter(|_| single)
            .map(|&(verb, kind)| match kind {
                Some(kind) => format!("{verb} {kind}"),
                None => verb.to_owned(),
            });
        let collection = match tables.as_slice() {
            [one] if single => Some((*one).to_owned()),
            _ => None,
        };
        Summary {
            text,
            operation,
            collection,
        }
    }
}

#[cfg(test)]
mod tests;
