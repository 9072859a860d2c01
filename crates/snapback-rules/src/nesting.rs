//! A bounded pre-check of a rule file before any YAML parser sees it: its size, and how deep
//! its collections nest.
//!
//! **Why.** The YAML scanner under `rsigma-parser` (libyaml's, in Rust) keeps one "possible
//! simple key" per open flow collection and walks all of them for every token, and it scans
//! ahead until none is pending: 200 KB of `[` cost it 39 s before its own recursion limit
//! (128) was even reached, quadratic in the nesting. This scan is one pass over the text with
//! constant state per open level and stops at [`MAX_NESTING`], so a document it refuses is
//! never handed to the parser, and one it accepts makes the scanner's work linear (at most 64
//! keys per token).
//!
//! **What it counts.** Block collections by indentation (each deeper indentation of a line,
//! and each `- ` of a compact nested sequence, opens a level) plus flow collections (`[`,
//! `{`), ignoring quoted scalars (single-quoted with `''`, double-quoted with `\` escapes,
//! across lines), comments, block scalars (`|`, `>`) and the continuation lines of plain
//! scalars. In block context a bracket opens a collection only where a node starts (after the
//! indentation, `- `, `? ` or `key: `), as in YAML: `title: see [1]` opens nothing. It may
//! count a level that YAML would not (never one fewer): its answer is a bound, and the limit
//! is far above what any Sigma rule needs (a detection nests 4 to 6 levels).

/// Deepest nesting a rule document may have: block and flow levels together. Half of the YAML
/// parser's own recursion limit (128), ten times what Sigma rules use.
pub const MAX_NESTING: usize = 64;

/// Largest rule file read: 1 MiB. SigmaHQ's largest rules are tens of kilobytes; a file over
/// this is refused unread (a FIFO or `/dev/zero` named as a rule file included).
pub const MAX_RULE_FILE_BYTES: u64 = 1 << 20;

/// Why a rule file was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlLimit {
    /// Nesting deeper than [`MAX_NESTING`], first exceeded at this 1-based line and column of
    /// the document.
    #[error("YAML nesting deeper than {MAX_NESTING} levels at line {line}, column {column} (snapback's limit for a rule)")]
    TooDeep { line: usize, column: usize },
    /// A file over [`MAX_RULE_FILE_BYTES`].
    #[error("rule file of {bytes} bytes or more, over snapback's limit of {MAX_RULE_FILE_BYTES} bytes (1 MiB)")]
    TooLarge { bytes: u64 },
}

/// A quoted scalar left open at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
}

/// What the scan carries from one line to the next.
#[derive(Default)]
struct Scan {
    /// Indentations of the open block collections, outermost first.
    indents: Vec<usize>,
    /// Open flow collections.
    flow: usize,
    quote: Option<Quote>,
    /// Inside a block scalar introduced on a line of this indentation.
    block_scalar: Option<usize>,
    /// The last line held a plain scalar value at this indentation: more-indented lines
    /// continue it.
    plain: Option<usize>,
}

/// Check that `text` (one YAML document or a whole file) nests at most [`MAX_NESTING`] levels.
/// Linear in the text; stops at the first level too deep.
pub fn check_nesting(text: &str) -> Result<(), YamlLimit> {
    let mut scan = Scan::default();
    for (i, line) in text.lines().enumerate() {
        scan.line(line).map_err(|column| YamlLimit::TooDeep {
            line: i + 1,
            column,
        })?;
    }
    Ok(())
}

impl Scan {
    /// One line; `Err(column)` where a level beyond the limit opens.
    fn line(&mut self, line: &str) -> Result<(), usize> {
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        };
        if marker("---") || marker("...") {
            // a new document: nothing stays open across it
            *self = Scan::default();
            return Ok(());
        }
        let chars: Vec<char> = line.chars().collect();
        let indent = chars.iter().take_while(|c| **c == ' ').count();
        let blank = chars[indent..].iter().all(|c| c.is_whitespace());
        if self.quote.is_none() && self.flow == 0 {
            if let Some(parent) = self.block_scalar {
                if blank || indent > parent {
                    return Ok(());
                }
                self.block_scalar = None;
            }
            if blank || chars.get(indent) == Some(&'#') {
                return Ok(());
            }
            if let Some(parent) = self.plain.take() {
                if indent > parent {
                    self.plain = Some(parent);
                    return Ok(());
                }
            }
            while self.indents.last().is_some_and(|&top| top >= indent) {
                self.indents.pop();
            }
            self.open_block(indent)?;
            return self.block(&chars, indent, indent);
        }
        self.flow_from(&chars, 0, indent)
    }

    fn depth(&self) -> usize {
        self.indents.len() + self.flow
    }

    fn open_block(&mut self, column: usize) -> Result<(), usize> {
        self.indents.push(column);
        if self.depth() > MAX_NESTING {
            return Err(column + 1);
        }
        Ok(())
    }

    fn open_flow(&mut self, column: usize) -> Result<(), usize> {
        self.flow += 1;
        if self.depth() > MAX_NESTING {
            return Err(column + 1);
        }
        Ok(())
    }

    /// Block context from `i`, where a node starts; `indent` is the line's.
    fn block(&mut self, chars: &[char], mut i: usize, indent: usize) -> Result<(), usize> {
        loop {
            while chars.get(i) == Some(&' ') {
                i += 1;
            }
            let next_is_space = chars.get(i + 1).is_none_or(|c| c.is_whitespace());
            match chars.get(i) {
                None | Some('#') => return Ok(()),
                Some('-' | '?') if next_is_space => {
                    // a sequence entry (or complex key): its content is one level deeper
                    self.open_block(i + 2)?;
                    i += 1;
                }
                Some('[' | '{') => {
                    self.open_flow(i)?;
                    return self.flow_from(chars, i + 1, indent);
                }
                Some('\'') => return self.quoted(chars, i + 1, Quote::Single, indent),
                Some('"') => return self.quoted(chars, i + 1, Quote::Double, indent),
                Some('|' | '>') => {
                    self.block_scalar = Some(indent);
                    return Ok(());
                }
                Some('!' | '&') => {
                    // a tag or an anchor before the node
                    while chars.get(i).is_some_and(|c| !c.is_whitespace()) {
                        i += 1;
                    }
                }
                Some(_) => return self.plain_scalar(chars, i, indent),
            }
        }
    }

    /// A plain scalar (a key or a value) from `i`, in block context.
    fn plain_scalar(&mut self, chars: &[char], mut i: usize, indent: usize) -> Result<(), usize> {
        while let Some(&c) = chars.get(i) {
            let next_is_space = chars.get(i + 1).is_none_or(|c| c.is_whitespace());
            if c == ':' && next_is_space {
                return self.block(chars, i + 1, indent);
            }
            if c == '#' && i > 0 && chars[i - 1].is_whitespace() {
                break;
            }
            i += 1;
        }
        self.plain = Some(indent);
        Ok(())
    }

    /// A quoted scalar from `i` (after its opening quote), in block or flow context.
    fn quoted(
        &mut self,
        chars: &[char],
        mut i: usize,
        q: Quote,
        indent: usize,
    ) -> Result<(), usize> {
        while let Some(&c) = chars.get(i) {
            match (q, c) {
                (Quote::Double, '\\') => i += 2,
                (Quote::Single, '\'') if chars.get(i + 1) == Some(&'\'') => i += 2,
                (Quote::Single, '\'') | (Quote::Double, '"') => {
                    self.quote = None;
                    return if self.flow > 0 {
                        self.flow_from(chars, i + 1, indent)
                    } else {
                        self.after_scalar(chars, i + 1, indent)
                    };
                }
                _ => i += 1,
            }
        }
        self.quote = Some(q);
        Ok(())
    }

    /// After a quoted key or value in block context: `: value`, a comment, or nothing.
    fn after_scalar(&mut self, chars: &[char], mut i: usize, indent: usize) -> Result<(), usize> {
        while let Some(&c) = chars.get(i) {
            if c == ':' && chars.get(i + 1).is_none_or(|c| c.is_whitespace()) {
                return self.block(chars, i + 1, indent);
            }
            if c == '#' {
                break;
            }
            i += 1;
        }
        Ok(())
    }

    /// Flow context from `i` (also a line that starts inside a flow collection or a quote).
    fn flow_from(&mut self, chars: &[char], mut i: usize, indent: usize) -> Result<(), usize> {
        if let Some(q) = self.quote {
            return self.quoted(chars, i, q, indent);
        }
        while let Some(&c) = chars.get(i) {
            match c {
                '[' | '{' => self.open_flow(i)?,
                ']' | '}' => {
                    self.flow = self.flow.saturating_sub(1);
                    if self.flow == 0 {
                        return self.after_scalar(chars, i + 1, indent);
                    }
                }
                '\'' => return self.quoted(chars, i + 1, Quote::Single, indent),
                '"' => return self.quoted(chars, i + 1, Quote::Double, indent),
                '#' if i == 0 || chars[i - 1].is_whitespace() => return Ok(()),
                _ => {}
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(text: &str) -> Option<(usize, usize)> {
        match check_nesting(text) {
            Ok(()) => None,
            Err(YamlLimit::TooDeep { line, column }) => Some((line, column)),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn flow_nesting_is_counted_and_located() {
        let ok = format!("a: {}{}\n", "[".repeat(63), "]".repeat(63));
        assert_eq!(deep(&ok), None, "the key's mapping and 63 sequences: 64");
        let bad = format!("title: x\ndetection:\n  sel: {}\n", "[".repeat(200_000));
        // `detection` and `sel` are two block levels: the 63rd `[` is the 65th level.
        assert_eq!(deep(&bad), Some((3, 8 + 62)));
    }

    #[test]
    fn block_nesting_is_counted_by_indentation() {
        let mut text = String::new();
        for i in 0..70 {
            text.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert_eq!(deep(&text), Some((65, 65)));
        assert_eq!(
            deep(&format!("{}x\n", "- ".repeat(70))),
            Some((1, 2 * 64 + 1))
        );
    }

    #[test]
    fn brackets_in_text_are_not_collections() {
        let text = format!(
            "title: see [1] and {{x}}\ndescription: |\n  {}\nquoted: '{}'\ndq: \"{}\\\"\"\n# {}\nplain: a long\n  {} text\nafter: [a, [b]]\n",
            "[".repeat(100),
            "[".repeat(100),
            "[".repeat(100),
            "[".repeat(100),
            "[".repeat(100)
        );
        assert_eq!(deep(&text), None);
        // a quoted scalar that spans lines, inside a flow sequence
        let spanning = format!("a: ['x\n  {}', 'y']\nb: 1\n", "[".repeat(100));
        assert_eq!(deep(&spanning), None);
    }

    #[test]
    fn documents_reset_the_scan() {
        // Left open, these would be 2 + 60 + 10 levels.
        let text = format!("a: {}\n---\nb: {}\n", "[".repeat(60), "[".repeat(10));
        assert_eq!(deep(&text), None);
        let text = format!("a: {}\nb: {}\n", "[".repeat(60), "[".repeat(10));
        assert!(deep(&text).is_some());
    }
}
