"""The DuckDB side of the benchmark: the built-in pack's single-event question in SQL.

    duckdb_query.py KIND DIR QUESTION.json

KIND is `json` (CloudTrail `{"Records":[…]}` files, Azure and GCP JSON lines under DIR), `jsonl`
(CloudTrail JSON lines) or `gz` (CloudTrail `.json.gz` files). QUESTION.json holds the pack's
literal event names (`aws`), Azure operation names (`azure_exact`, `azure_prefix`,
`azure_suffix`) and GCP method-name suffixes (`gcp_suffix`). Explicit column types (no schema
guessing), the same eight-to-ten fields snapback reads, on DuckDB's default threads (all
cores). Prints the number of rows selected.
"""

import json
import sys
import time

import duckdb

kind, root, question = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))

AWS = (
    "STRUCT(eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR, "
    "recipientAccountId VARCHAR, sourceIPAddress VARCHAR, userAgent VARCHAR, errorCode VARCHAR, "
    "eventID VARCHAR, userIdentity STRUCT(arn VARCHAR), requestParameters JSON, "
    "responseElements JSON)"
)
AWS_COLS = (
    "r.eventTime, r.eventSource, r.eventName, r.awsRegion, r.recipientAccountId, "
    "r.sourceIPAddress, r.userAgent, r.errorCode, r.eventID, r.userIdentity.arn, "
    "r.requestParameters, r.responseElements"
)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


names = ", ".join(lit(n) for n in question["aws"])
con = duckdb.connect()
rows = 0
if kind in ("json", "gz"):
    pattern = f"{root}/AWSLogs/**/*.json" + (".gz" if kind == "gz" else "")
    sql = f"""
        SELECT {AWS_COLS} FROM (
          SELECT unnest(Records) AS r
          FROM read_json({lit(pattern)}, format='newline_delimited', columns={{'Records': '{AWS}[]'}},
                         maximum_object_size=67108864)
        ) WHERE r.eventName IN ({names})"""
    t = time.time()
    rows += len(con.execute(sql).fetchall())
    print(f'{time.time() - t:.2f}s', file=sys.stderr)
if kind == "jsonl":
    sql = f"""
        SELECT {AWS_COLS} FROM (
          SELECT * AS r FROM read_json({lit(root + '/*.jsonl')}, format='newline_delimited',
              columns={{'eventTime':'VARCHAR','eventSource':'VARCHAR','eventName':'VARCHAR',
                        'awsRegion':'VARCHAR','recipientAccountId':'VARCHAR',
                        'sourceIPAddress':'VARCHAR','userAgent':'VARCHAR','errorCode':'VARCHAR',
                        'eventID':'VARCHAR','userIdentity':'STRUCT(arn VARCHAR)',
                        'requestParameters':'JSON','responseElements':'JSON'}})
        ) WHERE r.eventName IN ({names})"""
    sql = sql.replace("SELECT * AS r FROM", "SELECT columns(*) FROM").replace("r.", "")
    t = time.time()
    rows += len(con.execute(sql).fetchall())
    print(f'{time.time() - t:.2f}s', file=sys.stderr)
if kind == "json":
    conds = [f"lower(operationName) IN ({', '.join(lit(n.lower()) for n in question['azure_exact'])})"]
    conds += [f"starts_with(lower(operationName), {lit(p.lower())})" for p in question["azure_prefix"]]
    conds += [f"ends_with(lower(operationName), {lit(p.lower())})" for p in question["azure_suffix"]]
    sql = f"""
        SELECT time, resourceId, operationName, resultType, correlationId, callerIpAddress,
               category, identity, properties
        FROM read_json({lit(root + '/insights-activity-logs/**/PT1H.json')},
             format='newline_delimited',
             columns={{'time':'VARCHAR','resourceId':'VARCHAR','operationName':'VARCHAR',
                       'resultType':'VARCHAR','correlationId':'VARCHAR',
                       'callerIpAddress':'VARCHAR','category':'VARCHAR','identity':'JSON',
                       'properties':'JSON'}})
        WHERE {' OR '.join(conds)}"""
    t = time.time()
    rows += len(con.execute(sql).fetchall())
    print(f'{time.time() - t:.2f}s', file=sys.stderr)
    conds = [f"ends_with(protoPayload.methodName, {lit(s)})" for s in question["gcp_suffix"]]
    sql = f"""
        SELECT timestamp, insertId, protoPayload.methodName, protoPayload.resourceName,
               protoPayload.authenticationInfo.principalEmail,
               protoPayload.requestMetadata.callerIp, operation.id, protoPayload.request
        FROM read_json({lit(root + '/gcp/**/*.json')}, format='newline_delimited',
             columns={{'timestamp':'VARCHAR','insertId':'VARCHAR',
                       'operation':'STRUCT(id VARCHAR)',
                       'protoPayload':'STRUCT(methodName VARCHAR, resourceName VARCHAR, authenticationInfo STRUCT(principalEmail VARCHAR), requestMetadata STRUCT(callerIp VARCHAR), request JSON)'}})
        WHERE {' OR '.join(conds)}"""
    t = time.time()
    rows += len(con.execute(sql).fetchall())
    print(f'{time.time() - t:.2f}s', file=sys.stderr)
print(rows)
