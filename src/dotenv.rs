//! `.env` files, read the way python-dotenv 1.x reads them for pydantic-settings (PRODUCT.md §5).
//!
//! A port of python-dotenv's `parser.py` and `variables.py`: an optional `export ` prefix;
//! `KEY=value` with spaces allowed around `=`; unquoted values end at whitespace followed by
//! `#` and lose trailing whitespace; single quotes keep everything but `\\` and `\'`; double
//! quotes decode `\\ \' \" \a \b \f \n \r \t \v` and may span lines; a line without `=` gives
//! a key with no value; `${NAME}` and `${NAME:-default}` are replaced (in every kind of value,
//! as python-dotenv does) from the environment and from earlier lines, the file winning; `$NAME`
//! is left as it is. A line that cannot be parsed is skipped and reported, never fatal.

/// One `KEY=value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key, as written.
    pub key: String,
    /// The value after unquoting and `${...}` substitution; `None` for a bare `KEY` line.
    pub value: Option<String>,
    /// The line the entry starts on (1-based).
    pub line: usize,
}

/// What a `.env` text holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The entries in file order (a key may repeat; the last one counts).
    pub entries: Vec<Entry>,
    /// The lines (1-based) of statements that could not be parsed and were skipped.
    pub skipped_lines: Vec<usize>,
}

/// Parses `.env` text; `env` looks up process environment variables for `${NAME}`.
pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Parsed {
    // Python opens the file in text mode: a BOM is dropped and every line ending becomes \n.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut reader = Reader {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut parsed = Parsed::default();
    while reader.pos < reader.chars.len() {
        reader.skip_while(is_space);
        if reader.pos >= reader.chars.len() {
            break;
        }
        let line = reader.line;
        match binding(&mut reader) {
            Ok(Some((key, value))) => {
                let value = value.map(|v| substitute(&v, &parsed.entries, &env));
                parsed.entries.push(Entry { key, value, line });
            }
            Ok(None) => {}
            Err(Unparsable) => {
                // Skip the rest of the line, as python-dotenv does.
                reader.skip_while(|c| c != '\n');
                reader.eat('\n');
                parsed.skipped_lines.push(line);
            }
        }
    }
    parsed
}

struct Unparsable;

struct Reader {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Reader {
    fn mark(&self) -> (usize, usize) {
        (self.pos, self.line)
    }

    fn reset(&mut self, (pos, line): (usize, usize)) {
        self.pos = pos;
        self.line = line;
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn eat(&mut self, want: char) -> bool {
        let found = self.peek() == Some(want);
        if found {
            self.bump();
        }
        found
    }

    fn skip_while(&mut self, keep: impl Fn(char) -> bool) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        self.pos - start
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        self.skip_while(keep);
        self.chars[start..self.pos].iter().collect()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.pos + i) == Some(&c))
    }
}

/// Python's `\s` / `str.isspace`.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Whitespace that does not end a line (`[^\S\r\n]`).
fn is_blank(c: char) -> bool {
    is_space(c) && c != '\n'
}

/// One statement after leading whitespace: `Ok(None)` for a comment line.
fn binding(r: &mut Reader) -> Result<Option<(String, Option<String>)>, Unparsable> {
    // `export` counts only when whitespace follows it on the same line.
    if r.starts_with("export") && r.chars.get(r.pos + 6).is_some_and(|&c| is_blank(c)) {
        r.pos += 6;
        r.skip_while(is_blank);
    }
    let key = match r.peek() {
        Some('#') => None,
        Some('\'') => {
            let start = r.mark();
            r.bump();
            let key = r.take_while(|c| c != '\'');
            if key.is_empty() || !r.eat('\'') {
                r.reset(start);
                return Err(Unparsable);
            }
            Some(key)
        }
        _ => {
            let key = r.take_while(|c| c != '=' && c != '#' && !is_space(c));
            if key.is_empty() {
                return Err(Unparsable);
            }
            Some(key)
        }
    };
    r.skip_while(is_blank);
    let value = if r.eat('=') {
        let spaced = r.skip_while(is_blank) > 0;
        if spaced && r.peek() == Some('#') {
            Some(String::new())
        } else {
            Some(value(r)?)
        }
    } else {
        None
    };
    // An optional comment, then the end of the line.
    r.skip_while(is_blank);
    if r.peek() == Some('#') {
        r.skip_while(|c| c != '\n');
    }
    if !(r.eat('\n') || r.peek().is_none()) {
        return Err(Unparsable);
    }
    Ok(key.map(|k| (k, value)))
}

fn value(r: &mut Reader) -> Result<String, Unparsable> {
    match r.peek() {
        Some(quote @ ('\'' | '"')) => {
            // Unterminated: back to the quote, so only this line is skipped.
            let start = r.mark();
            r.bump();
            let mut raw = String::new();
            loop {
                match (r.bump(), r.peek()) {
                    (None, _) | (Some('\\'), None) => {
                        r.reset(start);
                        return Err(Unparsable);
                    }
                    (Some('\\'), Some(next)) => {
                        r.bump();
                        raw.push('\\');
                        raw.push(next);
                    }
                    (Some(c), _) if c == quote => break,
                    (Some(c), _) => raw.push(c),
                }
            }
            Ok(unescape(&raw, quote == '"'))
        }
        None | Some('\n') => Ok(String::new()),
        Some(_) => {
            let part = r.take_while(|c| c != '\n');
            // `re.sub(r"\s+#.*", "", part).rstrip()`
            let chars: Vec<char> = part.chars().collect();
            let cut = (1..chars.len())
                .find(|&i| chars[i] == '#' && is_space(chars[i - 1]))
                .map(|i| {
                    let mut start = i;
                    while start > 0 && is_space(chars[start - 1]) {
                        start -= 1;
                    }
                    start
                })
                .unwrap_or(chars.len());
            let kept: String = chars[..cut].iter().collect();
            Ok(kept.trim_end_matches(is_space).to_string())
        }
    }
}

/// Decodes the escapes python-dotenv decodes: `\\` and `\'` in single quotes, plus `\"` and
/// `\a \b \f \n \r \t \v` in double quotes. Any other backslash stays as written.
fn unescape(raw: &str, double: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let next = chars.next();
        let decoded = match (next, double) {
            (Some('\\'), _) => Some('\\'),
            (Some('\''), _) => Some('\''),
            (Some('"'), true) => Some('"'),
            (Some('a'), true) => Some('\u{7}'),
            (Some('b'), true) => Some('\u{8}'),
            (Some('f'), true) => Some('\u{c}'),
            (Some('n'), true) => Some('\n'),
            (Some('r'), true) => Some('\r'),
            (Some('t'), true) => Some('\t'),
            (Some('v'), true) => Some('\u{b}'),
            _ => None,
        };
        match decoded {
            Some(d) => out.push(d),
            None => {
                out.push('\\');
                out.extend(next);
            }
        }
    }
    out
}

/// Replaces `${NAME}` and `${NAME:-default}`: earlier entries of the file first, then `env`,
/// else the default (or nothing).
fn substitute(value: &str, earlier: &[Entry], env: &impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some((name, default, len)) = variable(after) else {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..start]);
        let found = match earlier.iter().rev().find(|e| e.key == name) {
            Some(entry) => Some(entry.value.clone().unwrap_or_default()),
            None => env(name),
        };
        out.push_str(&found.unwrap_or_else(|| default.unwrap_or("").to_string()));
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// After `${`: `NAME}` or `NAME:-DEFAULT}` → the name, the default and the length read.
fn variable(s: &str) -> Option<(&str, Option<&str>, usize)> {
    let name_end = s.find(['}', ':'])?;
    let name = &s[..name_end];
    let tail = &s[name_end..];
    if tail.starts_with('}') {
        return Some((name, None, name_end + 1));
    }
    let default_and_close = tail.strip_prefix(":-")?;
    let close = default_and_close.find('}')?;
    Some((
        name,
        Some(&default_and_close[..close]),
        name_end + 2 + close + 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses with `OUTER=outer` in the environment; `(key, value)` pairs, skipped lines.
    fn pairs(text: &str) -> (Vec<(String, Option<String>)>, Vec<usize>) {
        let parsed = parse(text, |name| (name == "OUTER").then(|| "outer".to_string()));
        (
            parsed
                .entries
                .into_iter()
                .map(|e| (e.key, e.value))
                .collect(),
            parsed.skipped_lines,
        )
    }

    fn one(text: &str) -> Option<String> {
        let (entries, skipped) = pairs(text);
        assert!(skipped.is_empty(), "{text:?} skipped {skipped:?}");
        assert_eq!(entries.len(), 1, "{text:?}: {entries:?}");
        entries.into_iter().next().unwrap().1
    }

    // Each row was run through python-dotenv 1.2.4's `dotenv_values` (what pydantic-settings
    // calls) with OUTER=outer in the environment; the right column is what it returned.
    #[test]
    fn values_as_python_dotenv_reads_them() {
        let table: &[(&str, Option<&str>)] = &[
            ("A=value\n", Some("value")),
            ("export A=value\n", Some("value")),
            ("export   A=value\n", Some("value")),
            ("A = value\n", Some("value")),
            ("   A=1\n", Some("1")),
            ("A=two words\n", Some("two words")),
            ("A=value   \n", Some("value")),
            ("A=value # comment\n", Some("value")),
            ("A=value\t# comment\n", Some("value")),
            ("A=val#ue\n", Some("val#ue")),
            ("A= # only a comment\n", Some("")),
            ("A=#novalue\n", Some("#novalue")),
            ("A=\n", Some("")),
            ("A", None),
            ("export A\n", None),
            ("A=1", Some("1")),
            ("A='a\\nb $OUTER ${OUTER}'\n", Some("a\\nb $OUTER outer")),
            ("A='it\\'s'\n", Some("it's")),
            ("A='v' # c\n", Some("v")),
            ("A=\"a\\nb\\tc\\\"d\\\\e\"\n", Some("a\nb\tc\"d\\e")),
            ("A=\"x ${OUTER} $OUTER\"\n", Some("x outer $OUTER")),
            ("A=\"v\" # c\n", Some("v")),
            ("A=\"a # b\"\n", Some("a # b")),
            ("A=\"pa$$word\"\n", Some("pa$$word")),
            ("A=\"\\x\\$\"\n", Some("\\x\\$")),
            ("A=pa$$word\n", Some("pa$$word")),
            ("A=C:\\path\\x\n", Some("C:\\path\\x")),
            ("A=${OUTER}\n", Some("outer")),
            ("A=$OUTER\n", Some("$OUTER")),
            ("A=${NOPE:-dflt}\n", Some("dflt")),
            ("A=${OUTER:-dflt}\n", Some("outer")),
            ("A=x${NOPE}y\n", Some("xy")),
            ("A=${OUTER:x}\n", Some("${OUTER:x}")),
            ("A=${OUTER\n", Some("${OUTER")),
            ("A={\"X-A\": \"1\"}\n", Some("{\"X-A\": \"1\"}")),
            ("A='{\"X-A\": \"1\"}'\n", Some("{\"X-A\": \"1\"}")),
            ("\u{feff}A=1\n", Some("1")),
            ("'A'=1\n", Some("1")),
        ];
        for (text, want) in table {
            assert_eq!(one(text).as_deref(), *want, "{text:?}");
        }
    }

    // Comments and blank lines give nothing; keys keep their case and may repeat.
    #[test]
    fn lines_and_keys() {
        let (entries, skipped) = pairs("\n# comment\n   \nA=1\n  # indented\nb_c=2\nA=3\n");
        assert!(skipped.is_empty());
        let keys: Vec<_> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        assert_eq!(
            keys,
            [("A", Some("1")), ("b_c", Some("2")), ("A", Some("3"))]
        );
    }

    // Double-quoted values span lines; CRLF and CR line endings read as LF.
    #[test]
    fn line_endings() {
        let (entries, _) = pairs("A=\"line1\nline2\"\nB=2\n");
        assert_eq!(entries[0].1.as_deref(), Some("line1\nline2"));
        assert_eq!(entries[1].1.as_deref(), Some("2"));
        let (entries, _) = pairs("A=1\r\nB=\"x\r\ny\"\rC=3");
        let values: Vec<_> = entries.iter().map(|(_, v)| v.as_deref()).collect();
        assert_eq!(values, [Some("1"), Some("x\ny"), Some("3")]);
    }

    // A statement python-dotenv cannot parse is skipped (and reported); the rest is kept.
    #[test]
    fn unparsable_lines_are_skipped() {
        let (entries, skipped) = pairs("A=1\nthis is not valid\nB=2\n");
        assert_eq!(entries.len(), 2);
        assert_eq!(skipped, [2]);
        let (entries, skipped) = pairs("A=\"unterminated\nB=2\n");
        assert_eq!(entries, [("B".to_string(), Some("2".to_string()))]);
        assert_eq!(skipped, [1]);
        let (entries, skipped) = pairs("\n\nA=\"x\"y\n=v\n");
        assert!(entries.is_empty());
        assert_eq!(skipped, [3, 4]);
    }

    // `${NAME}` sees earlier lines of the file before the environment, never later ones.
    #[test]
    fn substitution_order() {
        let (entries, _) = pairs("OUTER=mine\nA=${OUTER}-${B}\nB=later\n");
        assert_eq!(entries[1].1.as_deref(), Some("mine-"));
        let (entries, _) = pairs("A\nB=x${A}y\n");
        assert_eq!(entries[1].1.as_deref(), Some("xy"));
    }
}
