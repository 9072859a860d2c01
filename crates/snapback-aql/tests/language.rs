//! The language, one line per case. Expressions are evaluated over one fixture event (the
//! Azure snapshot delete by alice@x.example at 2026-11-20 11:30:00Z in `seed-events.jsonl`).

mod common;
use common::*;
use snapback_aql::{Precedence, RunOptions};

// ---- precedence ----

#[test]
fn precedence_of_and_or() {
    // a OR b AND c with a true, b true, c false: SQL → TRUE, left-to-right → FALSE.
    let expr = "IF 1 = 1 OR 2 = 2 AND 1 = 0 THEN 'kept' ELSE 'dropped'";
    assert_eq!(value_with(expr, options(Precedence::Sql)), "kept");
    assert_eq!(
        value_with(expr, options(Precedence::LeftToRight)),
        "dropped"
    );
    // NOT binds to the comparison only, under both.
    let expr = "IF NOT 1 = 0 AND 1 = 1 THEN 'kept' ELSE 'dropped'";
    assert_eq!(value_with(expr, options(Precedence::Sql)), "kept");
    assert_eq!(value_with(expr, options(Precedence::LeftToRight)), "kept");
    // Parentheses decide under both.
    let expr = "IF (1 = 1 OR 2 = 2) AND 1 = 0 THEN 'kept' ELSE 'dropped'";
    assert_eq!(value_with(expr, options(Precedence::Sql)), "dropped");
    // BETWEEN's AND is not a logical AND.
    is(
        "IF 3 BETWEEN 1 AND 5 AND 2 > 1 THEN 'kept' ELSE 'dropped'",
        "kept",
    );
}

#[test]
fn precedence_over_events() {
    // The §1.6.4 recipe on fixtures: a = Azure, b = CloudTrail, c = operation has 'Snapshot'.
    let q = "SELECT \"Operation\" FROM events WHERE LOGSOURCETYPENAME(devicetype) = 'Microsoft Azure Platform' OR devicetype = 347 AND \"Operation\" LIKE '%Snapshot%' ORDER BY starttime LAST 1 HOURS";
    gives_both(
        q,
        "seed-events.jsonl",
        &[
            "MICROSOFT.COMPUTE/SNAPSHOTS/DELETE",
            "MICROSOFT.COMPUTE/DISKS/WRITE",
            "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
            "DeleteSnapshot",
            "CreateSnapshot",
            "CreateSnapshot",
        ],
        &["DeleteSnapshot", "CreateSnapshot", "CreateSnapshot"],
    );
}

// ---- LIKE, ILIKE, MATCHES ----

#[test]
fn like_percent_matches_empty() {
    is("'abc' LIKE 'abc%'", "true")
}
#[test]
fn like_is_anchored() {
    is("'xabcx' LIKE 'abc'", "false")
}
#[test]
fn like_underscore_is_one_char() {
    is("'Joe' LIKE 'Jo_'", "true")
}
#[test]
fn like_underscore_not_zero_chars() {
    is("'Jo' LIKE 'Jo_'", "false")
}
#[test]
fn like_is_case_sensitive() {
    is("'Snapshot' LIKE '%snapshot%'", "false")
}
#[test]
fn ilike_folds_case() {
    is("'SNAPSHOT' ILIKE '%snapshot%'", "true")
}
#[test]
fn ilike_order_matters() {
    is("'RunInstances' ILIKE '%create%instance%'", "false")
}
#[test]
fn like_backslash_is_literal() {
    is("'a(b)' LIKE 'a\\(b\\)'", "false")
}
#[test]
fn like_backslash_matches_itself() {
    is("'a\\(b' LIKE 'a\\(b'", "true")
}
#[test]
fn like_percent_in_data_is_wildcard() {
    is("'50 percent' LIKE '50%'", "true")
}
#[test]
fn not_like() {
    is("'abc' NOT LIKE 'a%'", "false")
}
#[test]
fn like_on_number() {
    is("1234 LIKE '12%'", "true")
}
#[test]
fn matches_is_whole_string() {
    is("'xadminx' MATCHES 'admin'", "false")
}
#[test]
fn matches_regex() {
    is("'xadminx' MATCHES '.*admin.*'", "true")
}
#[test]
fn imatches() {
    is("'ADMIN' IMATCHES 'admin'", "true")
}
#[test]
fn quote_doubling() {
    is("'o''brien' = 'o' + 'x'", "NULL")
}
#[test]
fn quote_doubling_value() {
    is("'o''brien'", "o'brien")
}

// ---- NULL: three-valued logic ----

#[test]
fn null_unmapped_property() {
    is("\"NoSuchProperty\"", "NULL")
}
#[test]
fn null_like_is_unknown() {
    is("\"NoSuchProperty\" ILIKE '%x%'", "NULL")
}
#[test]
fn null_not_like_is_unknown() {
    is("\"NoSuchProperty\" NOT ILIKE '%x%'", "NULL")
}
#[test]
fn null_not_not_like_is_unknown() {
    is("NOT (\"NoSuchProperty\" ILIKE '%x%')", "NULL")
}
#[test]
fn null_equals_is_unknown() {
    is("\"NoSuchProperty\" = 'Success'", "NULL")
}
#[test]
fn null_is_null() {
    is("\"NoSuchProperty\" IS NULL", "true")
}
#[test]
fn null_and_false_is_false() {
    is("\"NoSuchProperty\" = 'x' AND 1 = 0", "false")
}
#[test]
fn null_or_true_is_true() {
    is("\"NoSuchProperty\" = 'x' OR 1 = 1", "true")
}
#[test]
fn null_in_list() {
    is("'a' IN ('b', NULL)", "NULL")
}
#[test]
fn null_not_in_list() {
    is("'a' NOT IN ('b', NULL)", "NULL")
}
#[test]
fn in_list_hit_despite_null() {
    is("'a' IN (NULL, 'a')", "true")
}
#[test]
fn null_case_when_skips() {
    is("CASE WHEN \"NoSuchProperty\" = 'x' THEN 1 ELSE 2 END", "2")
}
#[test]
fn null_case_without_else() {
    is("CASE WHEN 1 = 0 THEN 1 END", "NULL")
}
#[test]
fn null_if_takes_else() {
    is(
        "IF \"NoSuchProperty\" NOT ILIKE 'x' THEN 'kept' ELSE 'dropped'",
        "dropped",
    )
}
#[test]
fn null_concat_is_empty() {
    is("CONCAT('a', \"NoSuchProperty\", 'b')", "ab")
}
#[test]
fn null_arithmetic() {
    is("1 + \"NoSuchProperty\"", "NULL")
}

#[test]
fn null_rows_dropped_by_not_ilike() {
    // az-9 has no caller: username NOT ILIKE drops it; IS NULL OR keeps it.
    gives("SELECT \"Operation\" FROM events WHERE devicetype = 413 AND username NOT ILIKE '%automation%' LAST 1 HOURS", "seed-events.jsonl", &["MICROSOFT.COMPUTE/SNAPSHOTS/DELETE"]);
    gives("SELECT \"Operation\" FROM events WHERE devicetype = 413 AND (username IS NULL OR username NOT ILIKE '%automation%') LAST 1 HOURS", "seed-events.jsonl", &["MICROSOFT.COMPUTE/SNAPSHOTS/DELETE", "MICROSOFT.COMPUTE/DISKS/WRITE"]);
}

// ---- comparisons, arithmetic, functions ----

#[test]
fn numeric_string_compares_as_number() {
    is("devicetype = '413'", "true")
}
#[test]
fn double_equals() {
    is("7 == 7", "true")
}
#[test]
fn not_equals_both_spellings() {
    is("IF 1 <> 2 AND 1 != 2 THEN 'y' ELSE 'n'", "y")
}
#[test]
fn strings_compare_case_sensitively() {
    is("'Success' = 'success'", "false")
}
#[test]
fn modulo() {
    is("15 % 8", "7")
}
#[test]
fn power() {
    is("2 ^ 10", "1024")
}
#[test]
fn bitand() {
    is("255 & 15", "15")
}
#[test]
fn precedence_of_arithmetic() {
    is("1 + 2 * 3", "7")
}
#[test]
fn division_by_zero_is_null() {
    is("1 / 0", "NULL")
}
#[test]
fn between_inclusive() {
    is("5 BETWEEN 1 AND 5", "true")
}
#[test]
fn in_numbers_and_strings() {
    is("devicetype IN ('347', 413)", "true")
}
#[test]
fn incidr_v4() {
    is("INCIDR('198.51.100.0/24', sourceip)", "true")
}
#[test]
fn incidr_miss() {
    is("INCIDR('10.0.0.0/8', sourceip)", "false")
}
#[test]
fn logsourcetypename() {
    is("LOGSOURCETYPENAME(devicetype)", "Microsoft Azure Platform")
}
#[test]
fn logsourcename() {
    is(
        "LOGSOURCENAME(logsourceid)",
        "Microsoft Azure Platform @ sub1",
    )
}
#[test]
fn qidname_is_operation() {
    is("QIDNAME(qid)", "MICROSOFT.COMPUTE/SNAPSHOTS/DELETE")
}
#[test]
fn categoryname_is_service() {
    is("CATEGORYNAME(category)", "microsoft.compute")
}
#[test]
fn lower_upper() {
    is("CONCAT(LOWER('AbC'), UPPER('dEf'))", "abcDEF")
}
#[test]
fn str_of_number() {
    is("STR(42)", "42")
}
#[test]
fn long_of_ip() {
    is("LONG('10.0.0.1')", "167772161")
}
#[test]
fn long_of_string() {
    is("LONG('42') + 1", "43")
}
#[test]
fn strlen() {
    is("STRLEN('héllo')", "5")
}
#[test]
fn replaceall_pattern_first() {
    is("REPLACEALL('[0-9]', 'a1b22', '#')", "a#b##")
}
#[test]
fn replacefirst() {
    is("REPLACEFIRST('[0-9]', 'a1b22', '#')", "a#b22")
}
#[test]
fn substring_zero_based() {
    is("SUBSTRING('abcdef', 1, 3)", "bcd")
}
#[test]
fn strpos() {
    is("STRPOS('abcdef', 'cd')", "2")
}
#[test]
fn utf8_payload_is_record_json() {
    is(
        "UTF8(payload) LIKE '%\"operationName\":\"MICROSOFT.COMPUTE/SNAPSHOTS/DELETE\"%'",
        "true",
    )
}
#[test]
fn now_is_newest_event() {
    is("NOW()", "1795176000000")
}
#[test]
fn parsedatetime_relative() {
    is("PARSEDATETIME('1 hour ago')", "1795172400000")
}
#[test]
fn simple_case() {
    is(
        "CASE devicetype WHEN 347 THEN 'aws' WHEN 413 THEN 'azure' ELSE 'other' END",
        "azure",
    )
}
#[test]
fn if_then_else() {
    is(
        "IF username = 'alice@x.example' THEN 'ADMIN' ELSE username",
        "ADMIN",
    )
}
#[test]
fn offline_function_is_null() {
    is("ASSETHOSTNAME(sourceip)", "NULL")
}
#[test]
fn system_field_not_filled_is_null() {
    is("destinationip", "NULL")
}
#[test]
fn custom_property_case_insensitive() {
    is("\"resulttype\"", "Success")
}

// ---- DATEFORMAT (Java SimpleDateFormat) ----

#[test]
fn df_basic() {
    is(
        "DATEFORMAT(devicetime, 'yyyy-MM-dd HH:mm:ss')",
        "2026-11-20 11:30:00",
    )
}
#[test]
fn df_millis_zone() {
    is(
        "DATEFORMAT(devicetime, 'yyyy-MM-dd HH:mm:ss.SSS Z')",
        "2026-11-20 11:30:00.000 +0000",
    )
}
#[test]
fn df_names_12h() {
    is(
        "DATEFORMAT(devicetime, 'EEE, d MMM yyyy hh:mm a')",
        "Fri, 20 Nov 2026 11:30 AM",
    )
}
#[test]
fn df_long_names() {
    is("DATEFORMAT(devicetime, 'EEEE MMMM')", "Friday November")
}
#[test]
fn df_quoted_text() {
    is(
        "DATEFORMAT(devicetime, '''at'' HH ''o''''clock''')",
        "at 11 o'clock",
    )
}
#[test]
fn df_mm_is_minutes() {
    is("DATEFORMAT(devicetime, 'yyyy-mm-DD')", "2026-30-324")
}
#[test]
fn df_zone_name() {
    is("DATEFORMAT(devicetime, 'z')", "UTC")
}
#[test]
fn df_bad_letter_is_null() {
    is("DATEFORMAT(devicetime, 'yyyy T')", "NULL")
}

#[test]
fn df_time_zone_option() {
    let opts = RunOptions {
        tz: jiff::tz::TimeZone::get("America/New_York").expect("tz"),
        ..RunOptions::default()
    };
    assert_eq!(
        value_with("DATEFORMAT(devicetime, 'yyyy-MM-dd HH:mm z Z')", opts),
        "2026-11-20 06:30 EST -0500"
    );
}

// ---- GROUP BY, HAVING, aggregates, ORDER BY, LIMIT ----

const FX: &str = "seed-events.jsonl";

#[test]
fn group_count_order() {
    gives("SELECT LOGSOURCETYPENAME(devicetype) AS t, COUNT(*) AS n FROM events GROUP BY t ORDER BY n DESC LAST 1 DAYS", FX,
        &["Amazon AWS CloudTrail | 6", "Microsoft Azure Platform | 3", "Google Cloud Audit Logs | 1"]);
}

#[test]
fn group_having_alias() {
    gives("SELECT devicetype, COUNT(*) AS n FROM events GROUP BY devicetype HAVING n > 2 ORDER BY devicetype LAST 1 DAYS", FX,
        &["347 | 6", "413 | 3"]);
}

#[test]
fn group_having_aggregate() {
    gives(
        "SELECT devicetype FROM events GROUP BY devicetype HAVING COUNT(*) = 1 LAST 1 DAYS",
        FX,
        &["449"],
    );
}

#[test]
fn aggregates_all() {
    gives("SELECT devicetype, UNIQUECOUNT(username), COUNT(username), MIN(devicetime), MAX(devicetime), FIRST(\"Operation\"), LAST(\"Operation\") FROM events WHERE devicetype = 413 GROUP BY devicetype LAST 1 DAYS", FX,
        &["413 | 2 | 2 | 1795174200000 | 1795174800000 | MICROSOFT.COMPUTE/SNAPSHOTS/DELETE | MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"]);
}

#[test]
fn sum_avg() {
    gives("SELECT SUM(eventcount) AS s, AVG(devicetype) AS a FROM events WHERE devicetype = 413 OR devicetype = 449 LAST 1 DAYS", FX, &["4 | 422.0"]);
}

#[test]
fn aggregate_without_group_over_nothing() {
    gives(
        "SELECT COUNT(*) AS n FROM events WHERE devicetype = 1 LAST 1 DAYS",
        FX,
        &["0"],
    );
}

#[test]
fn ungrouped_column_is_first() {
    let q = snapback_aql::parse(
        "SELECT devicetype, username, COUNT(username) FROM events GROUP BY devicetype LAST 1 DAYS",
    )
    .expect("parses");
    assert_eq!(
        snapback_aql::column_names(&q),
        ["devicetype", "FIRST_username", "COUNT_username"]
    );
    gives("SELECT devicetype, username FROM events WHERE devicetype = 413 GROUP BY devicetype LAST 1 DAYS", FX, &["413 | alice@x.example"]);
}

#[test]
fn column_names_follow_qradar() {
    let q = snapback_aql::parse("SELECT QIDNAME(qid), LOGSOURCETYPENAME(devicetype), \"ResourceGroup\", username AS 'User name', COUNT(*) FROM events GROUP BY qid LAST 1 DAYS").expect("parses");
    assert_eq!(
        snapback_aql::column_names(&q),
        [
            "qidname_qid",
            "FIRST_logsourcetypename_devicetype",
            "FIRST_ResourceGroup",
            "User name",
            "COUNT"
        ]
    );
}

#[test]
fn order_by_multiple_keys_and_limit() {
    gives("SELECT devicetype, username FROM events WHERE devicetype <> 449 ORDER BY devicetype DESC, username ASC LIMIT 4 LAST 1 DAYS", FX,
        &["413 | NULL", "413 | AzureAutomationAcct", "413 | alice@x.example", "347 | backup-service-x"]);
}

#[test]
fn order_by_desc_puts_nulls_last() {
    gives(
        "SELECT username FROM events WHERE devicetype = 413 ORDER BY username DESC LAST 1 DAYS",
        FX,
        &["alice@x.example", "AzureAutomationAcct", "NULL"],
    );
}

#[test]
fn where_references_select_alias() {
    gives(
        "SELECT QIDNAME(qid) AS op FROM events WHERE op ILIKE '%createsnapshot%' LAST 1 DAYS",
        FX,
        &["CreateSnapshot", "CreateSnapshot"],
    );
}

#[test]
fn wildcard_with_columns() {
    let q = snapback_aql::parse("SELECT QIDNAME(qid) AS EventName, * FROM events LAST 1 DAYS")
        .expect("parses");
    let names = snapback_aql::column_names(&q);
    assert_eq!(names[0], "EventName");
    assert_eq!(
        names[1..],
        [
            "starttime",
            "devicetime",
            "devicetype",
            "logsourceid",
            "qid",
            "category",
            "username",
            "sourceip",
            "eventcount"
        ]
    );
}

// ---- time clauses ----

#[test]
fn last_minutes_inclusive() {
    // now = 12:00; LAST 10 MINUTES = 11:50..12:00 inclusive.
    gives(
        "SELECT \"Operation\" FROM events ORDER BY starttime LAST 10 MINUTES",
        FX,
        &[
            "RunInstances",
            "CreateSnapshot",
            "CreateSnapshot",
            "v1.compute.instances.stop",
            "GetCallerIdentity",
        ],
    );
}

#[test]
fn start_stop_minute_granularity() {
    // STOP '11:45' excludes 11:45:00; STOP '11:45:30' includes the whole 11:45 minute.
    gives(
        "SELECT \"Operation\" FROM events START '2026-11-20 11:40' STOP '2026-11-20 11:45'",
        FX,
        &["MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"],
    );
    gives(
        "SELECT \"Operation\" FROM events START '2026-11-20 11:40:59' STOP '2026-11-20 11:45:30'",
        FX,
        &[
            "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
            "DeleteSnapshot",
        ],
    );
}

#[test]
fn start_stop_epoch_millis() {
    gives(
        "SELECT \"Operation\" FROM events START 1795174800000 STOP 1795174800000",
        FX,
        &["MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"],
    );
}

#[test]
fn start_in_console_time_zone() {
    let opts = RunOptions {
        tz: jiff::tz::TimeZone::get("Europe/Berlin").expect("tz"),
        ..RunOptions::default()
    };
    // 12:40 Berlin = 11:40Z.
    let rows = rows_with(
        "SELECT \"Operation\" FROM events START '2026-11-20 12:40' STOP '2026-11-20 12:41'",
        FX,
        opts,
    );
    assert_eq!(rows, ["MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"]);
}

#[test]
fn no_time_clause_means_last_five_minutes() {
    gives(
        "SELECT \"Operation\" FROM events ORDER BY starttime",
        FX,
        &[
            "CreateSnapshot",
            "v1.compute.instances.stop",
            "GetCallerIdentity",
        ],
    );
}

#[test]
fn text_search_payload() {
    gives("SELECT \"Operation\" FROM events WHERE TEXT SEARCH 'backup-service' AND devicetype = 347 LAST 1 DAYS", FX, &["RunInstances"]);
}

// ---- properties file ----

#[test]
fn properties_file_maps_paths() {
    let mut props = snapback_aql::PropertyMap::default();
    props
        .merge_file_text("[properties]\n\"Error Code\" = \"errorCode\"\nRegion = { aws = \"awsRegion\", gcp = '/\"resource\"/\"labels\"/\"zone\"' }\n")
        .expect("valid file");
    let opts = RunOptions {
        properties: props,
        ..RunOptions::default()
    };
    let rows = rows_with("SELECT \"Operation\", \"Error Code\", Region FROM events WHERE \"Region\" IS NOT NULL ORDER BY starttime DESC LIMIT 3 LAST 1 DAYS", FX, opts);
    assert_eq!(
        rows,
        [
            "GetCallerIdentity | NULL | us-east-1",
            "v1.compute.instances.stop | NULL | us-central1-a",
            "CreateSnapshot | NULL | us-east-1"
        ]
    );
}

#[test]
fn properties_file_errors_are_reported() {
    let mut props = snapback_aql::PropertyMap::default();
    assert!(props.merge_file_text("[properties]\nX = 3\n").is_err());
    assert!(props.merge_file_text("[props]\nX = 'a'\n").is_err());
    assert!(props
        .merge_file_text("{\"properties\": {\"X\": {\"aws\": \"a.b\"}}}")
        .is_ok());
}

#[test]
fn result_type_defaults() {
    gives("SELECT \"Operation\", \"ResultType\" FROM events WHERE devicetype <> 449 AND \"Operation\" ILIKE '%snapshot%' ORDER BY starttime LAST 1 DAYS", FX,
        &["MICROSOFT.COMPUTE/SNAPSHOTS/DELETE | Success", "DeleteSnapshot | Success", "CreateSnapshot | Failure", "CreateSnapshot | Success"]);
}
