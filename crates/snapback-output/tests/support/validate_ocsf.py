"""Validate OCSF Detection Findings (one JSON object per line on stdin) with py-ocsf-models.

Strict: the published pydantic model must accept each finding in strict JSON mode, and every
attribute the model drops must be one of the OCSF attributes the model does not implement yet
(listed below with the OCSF object they belong to); those are checked against the model's own
sub-objects where it has them. Exit 1 with one line per problem.
"""
import json
import sys

from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from py_ocsf_models.objects.user import User

# OCSF 1.5 attributes that py-ocsf-models 0.10 does not model (it marks some "TODO").
NOT_MODELED = {
    "actor",  # host profile: Actor object
    "evidences[].actor",  # Evidence Artifacts: Actor object
    "evidences[].src_endpoint",  # Evidence Artifacts: Network Endpoint object
}


def walk(given, dumped, path, problems):
    if isinstance(given, dict):
        if not isinstance(dumped, dict):
            problems.append(f"{path}: model turned an object into {type(dumped).__name__}")
            return
        for k, v in given.items():
            p = f"{path}.{k}" if path else k
            if k not in dumped:
                generic = p
                # normalise list indexes for the allow-list
                import re
                generic = re.sub(r"\[\d+\]", "[]", p)
                if generic not in NOT_MODELED:
                    problems.append(f"{p}: not an attribute of the model (dropped)")
                continue
            walk(v, dumped[k], p, problems)
    elif isinstance(given, list):
        if not isinstance(dumped, list) or len(given) != len(dumped):
            problems.append(f"{path}: list changed by the model")
            return
        for i, (g, d) in enumerate(zip(given, dumped)):
            walk(g, d, f"{path}[{i}]", problems)
    else:
        if given != dumped:
            problems.append(f"{path}: {given!r} became {dumped!r}")


def check_user(obj, path, problems):
    try:
        User.model_validate_json(json.dumps(obj), strict=True)
    except Exception as e:  # pydantic.ValidationError
        problems.append(f"{path}: {e}")


def main():
    problems = []
    n = 0
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        n += 1
        where = f"finding {lineno}"
        try:
            model = DetectionFinding.model_validate_json(line, strict=True)
        except Exception as e:
            problems.append(f"{where}: {e}")
            continue
        given = json.loads(line)
        dumped = json.loads(model.model_dump_json(exclude_unset=True))
        p = []
        walk(given, dumped, "", p)
        problems += [f"{where}: {x}" for x in p]
        if given.get("class_uid") != 2004 or given.get("category_uid") != 2:
            problems.append(f"{where}: not a Detection Finding (class 2004, category 2)")
        actor = given.get("actor", {})
        if "user" not in actor:
            problems.append(f"{where}: actor.user missing")
        else:
            check_user(actor["user"], f"{where}: actor.user", problems)
        for i, ev in enumerate(given.get("evidences", [])):
            if "user" in ev.get("actor", {}):
                check_user(ev["actor"]["user"], f"{where}: evidences[{i}].actor.user", problems)
            ip = ev.get("src_endpoint", {}).get("ip")
            if "src_endpoint" in ev and not isinstance(ip, str):
                problems.append(f"{where}: evidences[{i}].src_endpoint.ip is not a string")
    for p in problems:
        print(p)
    print(f"validated {n} finding(s) with py-ocsf-models DetectionFinding: {len(problems)} problem(s)")
    sys.exit(1 if problems or n == 0 else 0)


main()
