//! Reading rule files and cutting them into located YAML documents: the part of loading that
//! happens before and around the Sigma parser. Every problem names a file and, where there is
//! one, a line.
//!
//! Hostile files are refused here, before the parser, and in bounded time: a file over
//! [`MAX_RULE_FILE_BYTES`] is not read past that size; a document nested deeper than
//! [`MAX_NESTING`](crate::nesting::MAX_NESTING) is not parsed ([`crate::nesting`]); and finding the line of a problem
//! scans a document at most [`MAX_LINE_LOOKUPS`] times, so a correlation naming 20,000 unknown
//! rules costs 64 scans, not 20,000 (it took 90 s for a 500 KB file).

use std::borrow::Cow;
use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::nesting::{check_nesting, YamlLimit, MAX_RULE_FILE_BYTES};
use crate::{sigma, LoadProblem};

/// Lines looked up by text in one document; later problems of that document point at its
/// first line.
pub(crate) const MAX_LINE_LOOKUPS: usize = 64;

#[cfg(test)]
thread_local! {
    /// Documents handed to the Sigma parser on this thread (tests prove the pre-check's
    /// refusals never reach it).
    pub(crate) static PARSED_DOCUMENTS: Cell<usize> = const { Cell::new(0) };
}

/// One YAML text to load.
pub(crate) struct Source<'a> {
    /// Shown in problems: `rules/aws/x.yml` or the user's path.
    pub file: String,
    /// Recorded on rules: `builtin:rules/aws/x.yml` or the user's path.
    pub origin: String,
    pub text: Cow<'a, str>,
}

/// One parsed document with where it came from.
pub(crate) struct Located<'s> {
    pub doc: sigma::Doc,
    pub file: String,
    pub origin: String,
    /// 1-based line where the document starts in the file.
    pub start: usize,
    pub text: &'s str,
    /// Lines looked up so far (see [`MAX_LINE_LOOKUPS`]).
    lookups: Cell<usize>,
}

impl Located<'_> {
    pub fn label(&self) -> String {
        self.doc
            .id
            .clone()
            .or_else(|| self.doc.name.clone())
            .unwrap_or_else(|| self.doc.title.clone())
    }

    /// The line of the first occurrence of `needle` in this document; `None` (the document's
    /// first line, for a problem) after [`MAX_LINE_LOOKUPS`] lookups.
    pub fn line_of(&self, needle: &str) -> Option<usize> {
        let done = self.lookups.get();
        if done >= MAX_LINE_LOOKUPS {
            return None;
        }
        self.lookups.set(done + 1);
        line_of(self.text, self.start, needle)
    }

    pub fn problem(&self, line: Option<usize>, message: impl Into<String>) -> LoadProblem {
        LoadProblem {
            file: self.file.clone(),
            line: line.or(Some(self.start)),
            rule: Some(self.label()),
            message: message.into(),
        }
    }
}

fn line_of(text: &str, start: usize, needle: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            !l.starts_with('#') && l.contains(needle)
        })
        .map(|i| start + i)
}

/// The line of an unknown modifier named in a compile or parse error.
pub(crate) fn modifier_line(d: &Located<'_>, message: &str) -> Option<usize> {
    let m = quoted(message)?;
    d.line_of(&format!("|{m}"))
}

/// The first `'…'` in a message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('\'')? + 1;
    let len = message[start..].find('\'')?;
    Some(&message[start..start + len])
}

/// A rule file's text, read no further than [`MAX_RULE_FILE_BYTES`]: a bigger file (or a
/// device or FIFO that never ends) is refused, not read whole.
pub(crate) fn read_rule_file(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read rule file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_RULE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read rule file: {e}"))?;
    if bytes.len() as u64 > MAX_RULE_FILE_BYTES {
        let limit = YamlLimit::TooLarge {
            bytes: bytes.len() as u64,
        };
        return Err(format!("{limit}: not loaded"));
    }
    String::from_utf8(bytes)
        .map_err(|_| "cannot read rule file: stream did not contain valid UTF-8".to_string())
}

/// The `.yml`/`.yaml` files under `path` (or `path` itself), recursively.
pub(crate) fn yaml_files(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        if p.is_dir() {
            yaml_files(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            out.push(p);
        }
    }
    Ok(())
}

/// Split a file into its YAML documents (with their first line) and parse each on its own,
/// so that every problem can name a line. Files that use Sigma collection actions
/// (`action: global`) need their documents together and are parsed whole.
pub(crate) fn parse_source<'s>(
    s: &'s Source<'_>,
    docs: &mut Vec<Located<'s>>,
    problems: &mut Vec<LoadProblem>,
) {
    let text: &str = &s.text;
    let chunks: Vec<(usize, &str)> = if text.lines().any(|l| l.starts_with("action:")) {
        vec![(1, text)]
    } else {
        split_documents(text)
    };
    for (start, chunk) in chunks {
        if chunk.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
        }) {
            continue;
        }
        if let Err(limit) = check_nesting(chunk) {
            problems.push(nesting_problem(s, start, chunk, &limit));
            continue;
        }
        #[cfg(test)]
        PARSED_DOCUMENTS.with(|n| n.set(n.get() + 1));
        let parsed = sigma::parse(chunk);
        let produced = !parsed.docs.is_empty();
        for e in parsed.errors {
            let line = yaml_error_line(&e)
                .map(|l| start + l - 1)
                .or_else(|| quoted(&e).and_then(|m| line_of(chunk, start, &format!("|{m}"))))
                .or_else(|| missing_field_line(&e, chunk, start))
                .or(Some(start));
            let label = doc_label(chunk);
            let message = if produced {
                e
            } else {
                format!("{e}: the rule is not loaded")
            };
            problems.push(LoadProblem {
                file: s.file.clone(),
                line,
                rule: label,
                message,
            });
        }
        for doc in parsed.docs {
            docs.push(Located {
                doc,
                file: s.file.clone(),
                origin: s.origin.clone(),
                start,
                text: chunk,
                lookups: Cell::new(0),
            });
        }
    }
}

/// A document refused by the pre-check: at its line in the file.
fn nesting_problem(s: &Source<'_>, start: usize, chunk: &str, limit: &YamlLimit) -> LoadProblem {
    let line = match limit {
        YamlLimit::TooDeep { line, .. } => Some(start + line - 1),
        YamlLimit::TooLarge { .. } => Some(start),
    };
    LoadProblem {
        file: s.file.clone(),
        line,
        rule: doc_label(chunk),
        message: format!("{limit}: the rule is not loaded"),
    }
}

fn missing_field_line(message: &str, chunk: &str, start: usize) -> Option<usize> {
    // "Missing required field 'detection'" etc.: point at the document start.
    message.contains("Missing").then(|| {
        chunk
            .lines()
            .position(|l| !l.trim().is_empty() && !l.starts_with('#') && l.trim() != "---")
            .map(|i| start + i)
            .unwrap_or(start)
    })
}

/// `id:`, else `title:` of a document, for problems about documents that did not parse.
fn doc_label(chunk: &str) -> Option<String> {
    for key in ["id:", "name:", "title:"] {
        if let Some(l) = chunk.lines().find(|l| l.starts_with(key)) {
            let v = l[key.len()..].trim().trim_matches(['\'', '"']);
            if !v.is_empty() {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// The 1-based line number in a YAML parser message (`… at line 5 column 3`).
fn yaml_error_line(message: &str) -> Option<usize> {
    let i = message.find("line ")?;
    let digits: String = message[i + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Documents of a multi-document YAML text, each with its 1-based first line.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            if offset > start_byte {
                out.push((start_line, &text[start_byte..offset]));
            }
            start_byte = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    if start_byte < text.len() {
        out.push((start_line, &text[start_byte..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parser_never_sees_a_document_the_pre_check_refuses() {
        let deep = format!(
            "title: deep\nid: deep-1\ndetection:\n  sel: {}\n",
            "[".repeat(200_000)
        );
        let good = "title: fine\nid: fine-1\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName: x\n  condition: sel\n";
        let source = Source {
            file: "rule.yml".into(),
            origin: "rule.yml".into(),
            text: Cow::Owned(format!("{good}---\n{deep}")),
        };
        let mut docs = Vec::new();
        let mut problems = Vec::new();
        let before = PARSED_DOCUMENTS.with(Cell::get);
        parse_source(&source, &mut docs, &mut problems);
        let parsed = PARSED_DOCUMENTS.with(Cell::get) - before;
        assert_eq!(parsed, 1, "only the good document is parsed");
        assert_eq!(docs.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(13));
    }

    #[test]
    fn documents_split_with_their_lines() {
        let t = "a: 1\n---\nb: 2\nc: 3\n---\nd: 4\n";
        let docs = split_documents(t);
        assert_eq!(docs, [(1, "a: 1\n"), (3, "b: 2\nc: 3\n"), (6, "d: 4\n")]);
    }

    #[test]
    fn yaml_lines_are_read_from_messages() {
        assert_eq!(
            yaml_error_line("YAML parse error: mapping values are not allowed at line 7 column 9"),
            Some(7)
        );
        assert_eq!(yaml_error_line("nothing"), None);
    }
}
