//! The functions AQL knows, with their arity and what snapback does with them offline.
//!
//! A name outside this table is an error (QRadar rejects unknown functions), except
//! `NAMESPACE::NAME`, which QRadar apps use for their own functions: those parse and evaluate
//! to NULL, with a lint warning.

/// What a function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FnKind {
    /// Evaluated per event.
    Scalar,
    /// Returns TRUE/FALSE; may stand alone as a WHERE condition.
    Condition,
    /// Aggregates over the events of a group.
    Aggregate,
    /// Valid AQL that needs QRadar state (assets, offences, reference data): NULL offline.
    Offline,
    /// A condition that needs QRadar state: NULL (UNKNOWN) offline.
    OfflineCondition,
    /// Used by third-party generators, not documented by IBM.
    Nonstandard,
}

#[derive(Debug, Clone, Copy)]
pub struct FnSpec {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub kind: FnKind,
}

const ANY: usize = usize::MAX;

const fn f(name: &'static str, min: usize, max: usize, kind: FnKind) -> FnSpec {
    FnSpec {
        name,
        min,
        max,
        kind,
    }
}

use FnKind::*;

pub static FUNCTIONS: &[FnSpec] = &[
    // aggregates
    f("COUNT", 1, 1, Aggregate),
    f("UNIQUECOUNT", 1, 1, Aggregate),
    f("DISTINCTCOUNT", 1, 1, Aggregate),
    f("MIN", 1, 1, Aggregate),
    f("MAX", 1, 1, Aggregate),
    f("SUM", 1, 1, Aggregate),
    f("AVG", 1, 1, Aggregate),
    f("FIRST", 1, 1, Aggregate),
    f("LAST", 1, 1, Aggregate),
    f("STDEV", 1, 1, Aggregate),
    f("STDEVP", 1, 1, Aggregate),
    // evaluated offline
    f("DATEFORMAT", 2, 2, Scalar),
    f("LOGSOURCETYPENAME", 1, 1, Scalar),
    f("LOGSOURCENAME", 1, 1, Scalar),
    f("QIDNAME", 1, 1, Scalar),
    f("QIDDESCRIPTION", 1, 1, Scalar),
    f("QIDESCRIPTION", 1, 1, Scalar),
    f("CATEGORYNAME", 1, 1, Scalar),
    f("LOWER", 1, 1, Scalar),
    f("UPPER", 1, 1, Scalar),
    f("STR", 1, 1, Scalar),
    f("CONCAT", 1, ANY, Scalar),
    f("LONG", 1, 1, Scalar),
    f("DOUBLE", 1, 1, Scalar),
    f("NOW", 0, 0, Scalar),
    f("UTF8", 1, 1, Scalar),
    f("BASE64", 1, 1, Scalar),
    f("REPLACEALL", 3, 3, Scalar),
    f("REPLACEFIRST", 3, 3, Scalar),
    f("STRLEN", 1, 1, Scalar),
    f("STRPOS", 2, 3, Scalar),
    f("SUBSTRING", 2, 3, Scalar),
    f("PARSEDATETIME", 1, 1, Scalar),
    f("INCIDR", 2, 2, Condition),
    // need QRadar state
    f("PARSETIMESTAMP", 1, ANY, Offline),
    f("INOFFENSE", 1, 1, OfflineCondition),
    f("REFERENCESETCONTAINS", 2, 2, OfflineCondition),
    f("REFERENCEMAPSETCONTAINS", 3, 3, OfflineCondition),
    f("MATCHESASSETSEARCH", 1, ANY, OfflineCondition),
    f("REFERENCEMAP", 2, ANY, Offline),
    f("REFERENCETABLE", 3, ANY, Offline),
    f("RULENAME", 1, 1, Offline),
    f("DOMAINNAME", 1, 1, Offline),
    f("APPLICATIONNAME", 1, 1, Offline),
    f("PROTOCOLNAME", 1, 1, Offline),
    f("ASSETHOSTNAME", 1, ANY, Offline),
    f("ASSETPROPERTY", 2, ANY, Offline),
    f("ASSETUSER", 1, ANY, Offline),
    f("COMPONENTID", 1, ANY, Offline),
    f("GLOBALVIEW", 0, ANY, Offline),
    f("HOSTNAME", 1, ANY, Offline),
    f("LOGSOURCEGROUPNAME", 1, 1, Offline),
    f("NETWORKNAME", 1, ANY, Offline),
    f("FULLNETWORKNAME", 1, ANY, Offline),
    f("OFFENSE_TIME", 1, ANY, Offline),
    f("PROCESSORNAME", 1, ANY, Offline),
    f("ARIELSERVERS4EPID", 1, ANY, Offline),
    f("ARIELSERVERS4EPNAME", 1, ANY, Offline),
    // third-party generators
    f("ENUMERATION", 1, ANY, Nonstandard),
];

/// Look up a function by name (case-insensitive). Namespaced names (`GEO::LOOKUP`) are
/// accepted as [`FnKind::Offline`] with any arity.
pub fn lookup(name: &str) -> Option<FnSpec> {
    let upper = name.to_ascii_uppercase();
    if let Some(spec) = FUNCTIONS.iter().find(|s| s.name == upper) {
        return Some(*spec);
    }
    if upper.contains("::") {
        return Some(f("namespaced", 0, ANY, Offline));
    }
    None
}

pub fn is_aggregate(name: &str) -> bool {
    lookup(name).is_some_and(|s| s.kind == Aggregate)
}

/// A hint for names people reach for that are not AQL.
pub fn hint_for_unknown(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_uppercase().as_str() {
        "HOUR" | "MINUTE" | "DAY" | "MONTH" | "YEAR" | "DATE" | "TIMESTAMP" => {
            "AQL has no date-part functions; use DATEFORMAT(starttime, 'HH') and friends"
        }
        "DATE_FORMAT" | "FORMAT" | "TO_CHAR" => "use DATEFORMAT(time, 'pattern')",
        "LEN" | "LENGTH" | "CHAR_LENGTH" => "use STRLEN(x)",
        "SUBSTR" => "use SUBSTRING(x, start, length)",
        "COALESCE" | "IFNULL" | "NVL" => "use IF x IS NULL THEN y ELSE x",
        "REGEXP_REPLACE" | "REPLACE" => "use REPLACEALL(regex, text, replacement)",
        "CAST" | "CONVERT" => "use STR(x), LONG(x) or DOUBLE(x)",
        "CURRENT_TIMESTAMP" | "GETDATE" | "SYSDATE" => "use NOW()",
        _ => return None,
    })
}
