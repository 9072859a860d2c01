//! A compact, exact binary encoding of an [`Event`], raw record included, for the temporary
//! files of a bounded-memory sort (`snapback events`, `aql run`; issue 13 item 10).
//!
//! Not a storage format: written and read back by the same build within one run. JSON
//! numbers keep their kind (unsigned, signed, float bits), object keys their order, and the
//! event time its text, so a decoded event is the event that was encoded.

use std::sync::Arc;

use serde_json::{Map, Number, Value};

use crate::event::*;

/// A byte string that is not an event this build encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "encoded event corrupt: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

const CLOUDS: [Cloud; 3] = [Cloud::Aws, Cloud::Azure, Cloud::Gcp];
const SCHEMAS: [Schema; 7] = [
    Schema::CloudTrail,
    Schema::CloudTrailEventBridge,
    Schema::CloudTrailLookup,
    Schema::AzureResourceLog,
    Schema::AzureRest,
    Schema::AzureLogAnalytics,
    Schema::GcpAuditLog,
];
const KINDS: [ResourceKind; 12] = [
    ResourceKind::Instance,
    ResourceKind::Vm,
    ResourceKind::Volume,
    ResourceKind::Disk,
    ResourceKind::Snapshot,
    ResourceKind::Image,
    ResourceKind::MachineImage,
    ResourceKind::RestorePoint,
    ResourceKind::DbInstance,
    ResourceKind::DbSnapshot,
    ResourceKind::Trail,
    ResourceKind::Other,
];
const ROLES: [ResourceRole; 4] = [
    ResourceRole::Target,
    ResourceRole::Source,
    ResourceRole::Created,
    ResourceRole::Mentioned,
];
const PHASES: [OperationPhase; 3] = [
    OperationPhase::First,
    OperationPhase::Last,
    OperationPhase::Only,
];

fn index_of<T: PartialEq>(table: &[T], v: &T) -> u8 {
    table.iter().position(|x| x == v).unwrap_or(0) as u8
}

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// JSON values, iteratively (a record nests up to the ingest depth limit; no recursion).
fn put_value(out: &mut Vec<u8>, root: &Value) {
    let mut stack: Vec<&Value> = vec![root];
    while let Some(v) = stack.pop() {
        match v {
            Value::Null => out.push(0),
            Value::Bool(false) => out.push(1),
            Value::Bool(true) => out.push(2),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    out.push(3);
                    put_u64(out, u);
                } else if let Some(i) = n.as_i64() {
                    out.push(4);
                    out.extend_from_slice(&i.to_le_bytes());
                } else {
                    out.push(5);
                    let f = n.as_f64().unwrap_or(0.0);
                    out.extend_from_slice(&f.to_bits().to_le_bytes());
                }
            }
            Value::String(s) => {
                out.push(6);
                put_str(out, s);
            }
            Value::Array(items) => {
                out.push(7);
                put_u64(out, items.len() as u64);
                stack.extend(items.iter().rev());
            }
            Value::Object(map) => {
                out.push(8);
                put_u64(out, map.len() as u64);
                // Keys are written here, in order; values follow in the same order.
                for k in map.keys() {
                    put_str(out, k);
                }
                stack.extend(map.values().rev());
            }
        }
    }
}

/// Append the encoding of `e` to `out`.
pub fn encode_event(e: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(&e.time.instant.as_second().to_le_bytes());
    out.extend_from_slice(&e.time.instant.subsec_nanosecond().to_le_bytes());
    put_str(out, &e.time.text);
    out.push(index_of(&CLOUDS, &e.cloud));
    out.push(index_of(&SCHEMAS, &e.schema));
    for s in [&e.account, &e.region, &e.service, &e.operation, &e.action] {
        put_str(out, s);
    }
    let a = &e.actor;
    for s in [
        &a.principal,
        &a.name,
        &a.principal_type,
        &a.role,
        &a.invoked_by,
        &a.app_id,
        &a.account,
        &a.delegated_by,
        &e.source_ip,
        &e.user_agent,
        &e.correlation_id,
    ] {
        put_opt(out, s.as_deref());
    }
    match &e.outcome {
        Outcome::Success => out.push(0),
        Outcome::Failure { code } => {
            out.push(1);
            put_str(out, code);
        }
        Outcome::DryRun => out.push(2),
        Outcome::Accepted => out.push(3),
        Outcome::Unknown { status } => {
            out.push(4);
            put_str(out, status);
        }
    }
    out.push(match e.read_only {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    });
    put_u64(out, e.resources.len() as u64);
    for r in &e.resources {
        out.push(index_of(&KINDS, &r.kind));
        out.push(index_of(&ROLES, &r.role));
        put_str(out, &r.id);
    }
    for v in [&e.request, &e.response] {
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                put_value(out, v);
            }
        }
    }
    put_str(out, &e.event_id);
    out.push(e.operation_phase.map_or(0, |p| index_of(&PHASES, &p) + 1));
    put_str(out, &e.provenance.file);
    put_u64(out, e.provenance.record);
    put_u64(out, e.provenance.offset);
    put_value(out, &e.raw);
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.b.len() {
            return Err(DecodeError("cut short"));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?
            .try_into()
            .map_err(|_| DecodeError("cut short"))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint too long"))
    }
    fn len(&mut self) -> Result<usize, DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| DecodeError("length"))?;
        if n > self.b.len() {
            return Err(DecodeError("length past the end"));
        }
        Ok(n)
    }
    fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| DecodeError("not UTF-8"))
    }
    fn opt(&mut self) -> Result<Option<String>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.string().map(Some),
        }
    }
    fn pick<T: Copy>(&mut self, table: &[T]) -> Result<T, DecodeError> {
        table
            .get(usize::from(self.u8()?))
            .copied()
            .ok_or(DecodeError("enum tag"))
    }

    /// A JSON value, built bottom-up with an explicit stack of open containers.
    fn value(&mut self) -> Result<Value, DecodeError> {
        enum Open {
            Array(Vec<Value>, usize),
            Object(Map<String, Value>, Vec<String>),
        }
        let mut stack: Vec<Open> = Vec::new();
        loop {
            let mut v = match self.u8()? {
                0 => Value::Null,
                1 => Value::Bool(false),
                2 => Value::Bool(true),
                3 => Value::Number(self.u64()?.into()),
                4 => Value::Number(i64::from_le_bytes(self.fixed()?).into()),
                5 => Number::from_f64(f64::from_bits(u64::from_le_bytes(self.fixed()?)))
                    .map_or(Value::Null, Value::Number),
                6 => Value::String(self.string()?),
                7 => {
                    let n = self.len()?;
                    if n > 0 {
                        stack.push(Open::Array(Vec::with_capacity(n), n));
                        continue;
                    }
                    Value::Array(Vec::new())
                }
                8 => {
                    let n = self.len()?;
                    let mut keys = Vec::with_capacity(n);
                    for _ in 0..n {
                        keys.push(self.string()?);
                    }
                    if n > 0 {
                        keys.reverse();
                        stack.push(Open::Object(Map::new(), keys));
                        continue;
                    }
                    Value::Object(Map::new())
                }
                _ => return Err(DecodeError("value tag")),
            };
            // Put the finished value into its container; close containers that are full.
            loop {
                match stack.last_mut() {
                    None => return Ok(v),
                    Some(Open::Array(items, n)) => {
                        items.push(v);
                        if items.len() < *n {
                            break;
                        }
                    }
                    Some(Open::Object(map, keys)) => {
                        let k = keys.pop().ok_or(DecodeError("object"))?;
                        map.insert(k, v);
                        if !keys.is_empty() {
                            break;
                        }
                    }
                }
                v = match stack.pop() {
                    Some(Open::Array(items, _)) => Value::Array(items),
                    Some(Open::Object(map, _)) => Value::Object(map),
                    None => return Err(DecodeError("stack")),
                };
            }
        }
    }

    fn opt_value(&mut self) -> Result<Option<Value>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.value().map(Some),
        }
    }
}

/// Read back an event [`encode_event`] wrote.
pub fn decode_event(bytes: &[u8]) -> Result<Event, DecodeError> {
    let mut r = Reader { b: bytes };
    let secs = i64::from_le_bytes(r.fixed()?);
    let nanos = i32::from_le_bytes(r.fixed()?);
    let instant = jiff::Timestamp::new(secs, nanos).map_err(|_| DecodeError("time"))?;
    let time = EventTime {
        instant,
        text: r.string()?,
    };
    let cloud = r.pick(&CLOUDS)?;
    let schema = r.pick(&SCHEMAS)?;
    let (account, region, service, operation, action) = (
        r.string()?,
        r.string()?,
        r.string()?,
        r.string()?,
        r.string()?,
    );
    let actor = Actor {
        principal: r.opt()?,
        name: r.opt()?,
        principal_type: r.opt()?,
        role: r.opt()?,
        invoked_by: r.opt()?,
        app_id: r.opt()?,
        account: r.opt()?,
        delegated_by: r.opt()?,
    };
    let (source_ip, user_agent, correlation_id) = (r.opt()?, r.opt()?, r.opt()?);
    let outcome = match r.u8()? {
        0 => Outcome::Success,
        1 => Outcome::Failure { code: r.string()? },
        2 => Outcome::DryRun,
        3 => Outcome::Accepted,
        4 => Outcome::Unknown {
            status: r.string()?,
        },
        _ => return Err(DecodeError("outcome")),
    };
    let read_only = match r.u8()? {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let n = r.len()?;
    let mut resources = Vec::with_capacity(n);
    for _ in 0..n {
        resources.push(Resource {
            kind: r.pick(&KINDS)?,
            role: r.pick(&ROLES)?,
            id: r.string()?,
        });
    }
    let request = r.opt_value()?;
    let response = r.opt_value()?;
    let event_id = r.string()?;
    let operation_phase = match r.u8()? {
        0 => None,
        p => Some(*PHASES.get(usize::from(p) - 1).ok_or(DecodeError("phase"))?),
    };
    let provenance = Provenance {
        file: Arc::from(r.string()?),
        record: r.u64()?,
        offset: r.u64()?,
    };
    let raw = Arc::new(r.value()?);
    if !r.b.is_empty() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok(Event {
        time,
        cloud,
        schema,
        account,
        region,
        service,
        operation,
        action,
        actor,
        source_ip,
        user_agent,
        outcome,
        read_only,
        resources,
        request,
        response,
        event_id,
        correlation_id,
        operation_phase,
        provenance,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Event {
        let raw = json!({"z": 1, "a": [1, -2, 2.5, 1e300, null, true, {"k": []}], "m": {},
                         "u": 18446744073709551615u64, "s": "é\u{0}"});
        Event {
            time: EventTime {
                instant: "2026-01-02T03:04:05.123456789Z".parse().unwrap(),
                text: "2026-01-02T03:04:05.123456789Z".into(),
            },
            cloud: Cloud::Azure,
            schema: Schema::AzureRest,
            account: "sub".into(),
            region: "westeurope".into(),
            service: "microsoft.compute".into(),
            operation: "MICROSOFT.COMPUTE/DISKS/WRITE".into(),
            action: "microsoft.compute/disks/write".into(),
            actor: Actor {
                principal: Some("eve@x".into()),
                app_id: Some("app".into()),
                ..Actor::default()
            },
            source_ip: Some("10.0.0.1".into()),
            user_agent: None,
            outcome: Outcome::Failure { code: "E".into() },
            read_only: Some(false),
            resources: vec![Resource {
                kind: ResourceKind::Disk,
                role: ResourceRole::Target,
                id: "d".into(),
            }],
            request: Some(json!({"b": 1, "a": 2})),
            response: None,
            event_id: "id-1".into(),
            correlation_id: Some("c".into()),
            operation_phase: Some(OperationPhase::Last),
            provenance: Provenance {
                file: Arc::from("a.zip!b.json"),
                record: 7,
                offset: 1234,
            },
            raw: Arc::new(raw),
        }
    }

    #[test]
    fn round_trip_is_exact() {
        let e = sample();
        let mut bytes = Vec::new();
        encode_event(&e, &mut bytes);
        let d = decode_event(&bytes).unwrap();
        assert_eq!(format!("{e:?}"), format!("{d:?}"));
        assert_eq!(e.raw_json(), d.raw_json());
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            serde_json::to_string(&d).unwrap()
        );
    }

    #[test]
    fn every_cut_is_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        encode_event(&sample(), &mut bytes);
        for n in 0..bytes.len() {
            assert!(decode_event(&bytes[..n]).is_err());
        }
    }
}
