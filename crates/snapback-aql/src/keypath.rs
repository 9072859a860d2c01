//! JSON keypaths: where a custom event property reads its value in the raw record.
//!
//! IBM's "JSON keypath expressions" page (QRadar DSM Editor) defines the form a QRadar JSON
//! custom property uses: `/"object"/"nestedObject"/"field"`, each name in double quotes, and
//! square brackets for arrays: `/"object"[1]/"field"` reads the second element of the array
//! `object`, and `/"object"[]` extracts the whole array. A name is looked up in an *object*
//! only: a path that meets an array without an index finds no field there, so the property is
//! NULL (`/"items"/"ebs"` on `{"items": [{"ebs": …}]}`). snapback follows that, and reports
//! such a path (lint AQL-W015 for arrays known in the cloud schemas, run-time AQL-R005 for the
//! arrays actually met), since "every element is searched" would silently match events that
//! QRadar's property never sees.
//!
//! Three spellings are read, all with the same meaning:
//!
//! - QRadar's: `/"requestParameters"/"items"[0]/"ebs"/"snapshotId"`, `/"a"[]`;
//! - dotted: `requestParameters.items[0].ebs.snapshotId`, `a[]`;
//! - JSON pointer: `/requestParameters/items/0/ebs/snapshotId` (`~1` is `/`, `~0` is `~`).
//!
//! In the dotted and pointer forms a segment that is a number (`items.0`) is an index when it
//! meets an array and a name when it meets an object, as in a JSON pointer; `[n]` is always an
//! index. `[]` (the whole array) can only end a path.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value as Json;
use snapback_model::Cloud;

/// Why a path cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyPathError {
    #[error("empty path")]
    Empty,
    #[error("`{path}`: empty field name at byte {at}")]
    EmptyName { path: String, at: usize },
    #[error("`{path}`: unclosed `\"` at byte {at}")]
    UnclosedQuote { path: String, at: usize },
    #[error(
        "`{path}`: bad array index at byte {at}: write [n] (n = 0, 1, …) or [] for the whole array"
    )]
    BadIndex { path: String, at: usize },
    #[error("`{path}`: `[]` (the whole array) can only end a path")]
    WholeNotLast { path: String },
    #[error("`{path}`: unexpected `{found}` at byte {at}: a QRadar JSON keypath is /\"name\"/\"name\"[n]…")]
    Unexpected {
        path: String,
        found: char,
        at: usize,
    },
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// A field of an object.
    Key(Cow<'a, str>),
    /// `[n]`: an element of an array.
    Index(usize),
    /// A number in the dotted or pointer form: an index in an array, a name in an object.
    KeyOrIndex(&'a str, usize),
    /// `[]`: the whole array.
    Whole,
}

/// What a path finds in a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Found<'a> {
    /// A value (JSON null included).
    Value(&'a Json),
    /// Nothing there.
    Missing,
    /// A name met an array: no field there, NULL as in QRadar. `at` is the path to the array,
    /// in QRadar's form.
    ArrayWithoutIndex { at: String },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath<'a> {
    pub steps: Vec<Step<'a>>,
}

impl<'a> KeyPath<'a> {
    /// Read any of the three spellings.
    pub fn parse(text: &'a str) -> Result<KeyPath<'a>, KeyPathError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(KeyPathError::Empty);
        }
        let steps = if t.starts_with("/\"") {
            qradar_steps(t)?
        } else if let Some(rest) = t.strip_prefix('/') {
            pointer_steps(t, rest)?
        } else {
            dotted_steps(t)?
        };
        if let Some(i) = steps.iter().position(|s| *s == Step::Whole) {
            if i + 1 != steps.len() {
                return Err(KeyPathError::WholeNotLast { path: t.into() });
            }
        }
        Ok(KeyPath { steps })
    }

    /// QRadar's spelling: `/"a"[0]/"b"`. A number of the dotted or pointer form is written as
    /// a name (`/"0"`) when it follows a name that is not known to be an array, and `[n]`
    /// otherwise; the export writes explicit indexes, so this only matters for user paths.
    pub fn qradar(&self) -> String {
        let mut out = String::new();
        let mut prev: Option<&Step<'_>> = None;
        for s in &self.steps {
            match s {
                Step::Key(k) => {
                    let _ = write!(out, "/\"{k}\"");
                }
                Step::KeyOrIndex(k, i) => {
                    let after_array =
                        matches!(prev, Some(Step::Key(name)) if known_array(None, name).is_some());
                    if after_array {
                        let _ = write!(out, "[{i}]");
                    } else {
                        let _ = write!(out, "/\"{k}\"");
                    }
                }
                Step::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
                Step::Whole => out.push_str("[]"),
            }
            prev = Some(s);
        }
        out
    }

    /// The dotted spelling with explicit indexes: `a.items[0].b`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            match s {
                Step::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Step::KeyOrIndex(k, _) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
                Step::Whole => out.push_str("[]"),
            }
        }
        out
    }

    /// Follow the path in `root`, as QRadar's JSON parser does (see the module).
    pub fn find<'j>(&self, root: &'j Json) -> Found<'j> {
        let mut cur = root;
        for (n, step) in self.steps.iter().enumerate() {
            let next = match (step, cur) {
                (Step::Key(k), Json::Object(m)) => m.get(k.as_ref()),
                (Step::Key(_), Json::Array(_)) => {
                    return Found::ArrayWithoutIndex {
                        at: KeyPath {
                            steps: self.steps[..n].to_vec(),
                        }
                        .qradar(),
                    }
                }
                (Step::KeyOrIndex(k, _), Json::Object(m)) => m.get(*k),
                (Step::Index(i) | Step::KeyOrIndex(_, i), Json::Array(a)) => a.get(*i),
                (Step::Whole, Json::Array(_)) => Some(cur),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => return Found::Missing,
            }
        }
        Found::Value(cur)
    }

    /// The names of the path in order, with whether an index follows each: what
    /// [`crosses_known_array`] checks.
    fn names(&self) -> Vec<(&str, bool)> {
        let mut out: Vec<(&str, bool)> = Vec::new();
        for s in &self.steps {
            match s {
                Step::Key(k) => out.push((k.as_ref(), false)),
                Step::Index(_) | Step::Whole => {
                    if let Some(last) = out.last_mut() {
                        last.1 = true;
                    }
                }
                Step::KeyOrIndex(k, _) => {
                    let indexes = out.last().is_some_and(|(name, indexed)| {
                        !indexed && known_array(None, name).is_some()
                    });
                    match out.last_mut() {
                        Some(last) if indexes => last.1 = true,
                        _ => out.push((k, false)),
                    }
                }
            }
        }
        out
    }
}

fn bad_index(path: &str, at: usize) -> KeyPathError {
    KeyPathError::BadIndex {
        path: path.into(),
        at,
    }
}

/// `[n]` / `[]` suffixes starting at `at` in `t`: the steps and where they end.
fn brackets<'a>(
    t: &'a str,
    mut at: usize,
    steps: &mut Vec<Step<'a>>,
) -> Result<usize, KeyPathError> {
    while t[at..].starts_with('[') {
        let close = t[at..]
            .find(']')
            .map(|i| at + i)
            .ok_or_else(|| bad_index(t, at))?;
        let inner = t[at + 1..close].trim();
        if inner.is_empty() {
            steps.push(Step::Whole);
        } else {
            let i = inner.parse::<usize>().map_err(|_| bad_index(t, at))?;
            steps.push(Step::Index(i));
        }
        at = close + 1;
    }
    Ok(at)
}

/// `/"a"/"b"[0]…`
fn qradar_steps(t: &str) -> Result<Vec<Step<'_>>, KeyPathError> {
    let mut steps = Vec::new();
    let mut at = 0;
    while at < t.len() {
        let rest = &t[at..];
        if !rest.starts_with("/\"") {
            let found = rest.chars().next().unwrap_or('?');
            return Err(KeyPathError::Unexpected {
                path: t.into(),
                found,
                at,
            });
        }
        let open = at + 2;
        let close =
            t[open..]
                .find('"')
                .map(|i| open + i)
                .ok_or_else(|| KeyPathError::UnclosedQuote {
                    path: t.into(),
                    at: at + 1,
                })?;
        if close == open {
            return Err(KeyPathError::EmptyName {
                path: t.into(),
                at: open,
            });
        }
        steps.push(Step::Key(Cow::Borrowed(&t[open..close])));
        at = brackets(t, close + 1, &mut steps)?;
    }
    Ok(steps)
}

/// `/a/b/0` (RFC 6901).
fn pointer_steps<'a>(t: &'a str, rest: &'a str) -> Result<Vec<Step<'a>>, KeyPathError> {
    let mut steps = Vec::new();
    let mut at = 1;
    for seg in rest.split('/') {
        if seg.is_empty() {
            return Err(KeyPathError::EmptyName { path: t.into(), at });
        }
        steps.push(number_or_key(seg, true));
        at += seg.len() + 1;
    }
    Ok(steps)
}

/// `a.b[0].c`, `a.0.c`
fn dotted_steps(t: &str) -> Result<Vec<Step<'_>>, KeyPathError> {
    let mut steps = Vec::new();
    let mut at = 0;
    for seg in t.split('.') {
        let name_end = seg.find('[').unwrap_or(seg.len());
        let name = &seg[..name_end];
        if name.is_empty() {
            return Err(KeyPathError::EmptyName { path: t.into(), at });
        }
        steps.push(number_or_key(name, false));
        let end = brackets(t, at + name_end, &mut steps)?;
        if end != at + seg.len() {
            let found = t[end..].chars().next().unwrap_or('?');
            return Err(KeyPathError::Unexpected {
                path: t.into(),
                found,
                at: end,
            });
        }
        at += seg.len() + 1;
    }
    Ok(steps)
}

fn number_or_key(seg: &str, pointer: bool) -> Step<'_> {
    if seg.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = seg.parse::<usize>() {
            return Step::KeyOrIndex(seg, i);
        }
    }
    if pointer && seg.contains('~') {
        return Step::Key(Cow::Owned(seg.replace("~1", "/").replace("~0", "~")));
    }
    Step::Key(Cow::Borrowed(seg))
}

/// Fields that hold arrays in the cloud audit records snapback reads, per cloud (`None`: any
/// cloud). CloudTrail wraps its lists in `{"items": [...]}`; the others are named lists. Used
/// where no record is at hand (lint, export); at run time the record itself says.
const KNOWN_ARRAYS: &[(Option<Cloud>, &str)] = &[
    (Some(Cloud::Aws), "items"),
    (Some(Cloud::Aws), "resources"),
    (Some(Cloud::Aws), "eventSelectors"),
    (Some(Cloud::Aws), "advancedEventSelectors"),
    (Some(Cloud::Aws), "fieldSelectors"),
    (Some(Cloud::Aws), "dataResources"),
    (Some(Cloud::Aws), "equals"),
    (Some(Cloud::Aws), "values"),
    (Some(Cloud::Aws), "excludeManagementEventSources"),
    (Some(Cloud::Gcp), "items"),
    (Some(Cloud::Gcp), "authorizationInfo"),
    (Some(Cloud::Gcp), "exclusions"),
    (Some(Cloud::Gcp), "addedMetadataKeys"),
    (Some(Cloud::Gcp), "modifiedMetadataKeys"),
    (Some(Cloud::Gcp), "deletedMetadataKeys"),
    (Some(Cloud::Gcp), "disks"),
    (Some(Cloud::Gcp), "networkInterfaces"),
    (Some(Cloud::Gcp), "accessConfigs"),
    (Some(Cloud::Gcp), "serviceAccounts"),
    (Some(Cloud::Azure), "evidence"),
];

/// Whether `name` is known to hold an array in records of `cloud` (`None`: of any cloud), and
/// for which cloud.
pub fn known_array(cloud: Option<Cloud>, name: &str) -> Option<Option<Cloud>> {
    KNOWN_ARRAYS
        .iter()
        .find(|(c, n)| *n == name && (cloud.is_none() || c.is_none() || *c == cloud))
        .map(|(c, _)| *c)
}

/// The first name of `path` that is known to hold an array in records of `cloud` and is not
/// followed by an index: where QRadar's property finds no field. In QRadar's spelling, up to
/// and including that name.
pub fn crosses_known_array(path: &KeyPath<'_>, cloud: Cloud) -> Option<String> {
    let names = path.names();
    let last = names.len().saturating_sub(1);
    let mut prefix = String::new();
    for (i, (name, indexed)) in names.iter().enumerate() {
        let _ = write!(prefix, "/\"{name}\"");
        if *indexed {
            prefix.push_str("[…]");
        }
        if !indexed && i < last && known_array(Some(cloud), name).is_some() {
            return Some(prefix);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, v: &Json) -> Found<'static> {
        let v: &'static Json = Box::leak(Box::new(v.clone()));
        KeyPath::parse(path).unwrap().find(v)
    }

    #[test]
    fn spellings_agree() {
        let a = KeyPath::parse("/\"r\"/\"items\"[0]/\"id\"").unwrap();
        let b = KeyPath::parse("r.items[0].id").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.qradar(), "/\"r\"/\"items\"[0]/\"id\"");
        assert_eq!(b.dotted(), "r.items[0].id");
        let c = KeyPath::parse("/r/items/0/id").unwrap();
        assert_eq!(c.dotted(), "r.items.0.id");
        assert_eq!(c.qradar(), "/\"r\"/\"items\"[0]/\"id\"");
        assert_eq!(KeyPath::parse("a.0").unwrap().qradar(), "/\"a\"/\"0\"");
        assert_eq!(KeyPath::parse("/a~1b/c~0").unwrap().dotted(), "a/b.c~");
    }

    #[test]
    fn indexes_and_names() {
        let v = json!({"r": {"items": [{"id": "a"}, {"id": "b", "x": 1}], "o": {"0": "zero"}}});
        assert_eq!(find("r.items[1].id", &v), Found::Value(&json!("b")));
        assert_eq!(find("r.items.1.id", &v), Found::Value(&json!("b")));
        assert_eq!(find("r.o.0", &v), Found::Value(&json!("zero")));
        assert_eq!(find("r.o[0]", &v), Found::Missing);
        assert_eq!(find("r.items[2].id", &v), Found::Missing);
        assert_eq!(
            find("r.items.id", &v),
            Found::ArrayWithoutIndex {
                at: "/\"r\"/\"items\"".into()
            }
        );
        assert!(matches!(
            find("r.items[]", &v),
            Found::Value(Json::Array(_))
        ));
    }

    #[test]
    fn bad_paths() {
        assert!(KeyPath::parse("").is_err());
        assert!(KeyPath::parse("a..b").is_err());
        assert!(KeyPath::parse("a[x]").is_err());
        assert!(KeyPath::parse("a[].b").is_err());
        assert!(KeyPath::parse("/\"a").is_err());
        assert!(KeyPath::parse("/\"a\"x").is_err());
        assert!(KeyPath::parse("a[0]x.b").is_err());
    }

    #[test]
    fn known_arrays_by_cloud() {
        let p =
            KeyPath::parse("requestParameters.blockDeviceMapping.items.ebs.snapshotId").unwrap();
        assert_eq!(
            crosses_known_array(&p, Cloud::Aws).as_deref(),
            Some("/\"requestParameters\"/\"blockDeviceMapping\"/\"items\"")
        );
        assert_eq!(crosses_known_array(&p, Cloud::Azure), None);
        let p =
            KeyPath::parse("requestParameters.blockDeviceMapping.items[0].ebs.snapshotId").unwrap();
        assert_eq!(crosses_known_array(&p, Cloud::Aws), None);
        let p = KeyPath::parse("requestParameters.eventSelectors.0.readWriteType").unwrap();
        assert_eq!(crosses_known_array(&p, Cloud::Aws), None);
        // A path that ends at an array is not crossing it.
        let p = KeyPath::parse("resources").unwrap();
        assert_eq!(crosses_known_array(&p, Cloud::Aws), None);
    }
}
