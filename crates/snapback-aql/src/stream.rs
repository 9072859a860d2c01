//! The records a run holds while it streams (issue 13, item 10): events waiting for "now"
//! and the time order, rows waiting for ORDER BY. Each is held in a bounded
//! [`snapback_spill::Sorter`]; beyond its budget it goes to temporary files.

use std::cmp::Ordering;

use snapback_model::codec::{decode_event, encode_event};
use snapback_model::Event;
use snapback_spill::{Record, SpillError};

use crate::ast::OrderKey;
use crate::value::{sort_cmp, Value};

/// An event that passed what could be decided while reading, encoded (so memory is counted
/// exactly), with its place in event order: start time, event id, arrival.
pub(crate) struct HeldEvent {
    pub starttime: i64,
    pub event_id: String,
    pub seq: u64,
    pub bytes: Vec<u8>,
}

impl HeldEvent {
    pub fn new(event: &Event, starttime: i64, seq: u64) -> HeldEvent {
        let mut bytes = Vec::new();
        encode_event(event, &mut bytes);
        HeldEvent {
            starttime,
            event_id: event.event_id.clone(),
            seq,
            bytes,
        }
    }

    pub fn event(&self) -> Result<Event, SpillError> {
        decode_event(&self.bytes).map_err(|e| SpillError::Corrupt(e.to_string()))
    }

    /// The order the whole-input run sorted events in (a stable sort: ties by arrival).
    pub fn order(a: &HeldEvent, b: &HeldEvent) -> Ordering {
        a.starttime
            .cmp(&b.starttime)
            .then_with(|| a.event_id.cmp(&b.event_id))
            .then(a.seq.cmp(&b.seq))
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SpillError> {
        if n > self.0.len() {
            return Err(SpillError::Corrupt("record cut short".into()));
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }
    fn u64(&mut self) -> Result<u64, SpillError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn bytes(&mut self) -> Result<&'a [u8], SpillError> {
        let n = usize::try_from(self.u64()?).map_err(|_| SpillError::Corrupt("length".into()))?;
        self.take(n)
    }
}

impl Record for HeldEvent {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.starttime.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        put_bytes(out, self.event_id.as_bytes());
        put_bytes(out, &self.bytes);
    }

    fn decode(b: &[u8]) -> Result<Self, SpillError> {
        let mut c = Cursor(b);
        let starttime = c.u64()? as i64;
        let seq = c.u64()?;
        let event_id = String::from_utf8(c.bytes()?.to_vec())
            .map_err(|_| SpillError::Corrupt("event id".into()))?;
        let bytes = c.bytes()?.to_vec();
        Ok(HeldEvent {
            starttime,
            event_id,
            seq,
            bytes,
        })
    }

    fn encoded_len(&self) -> usize {
        self.bytes.len() + self.event_id.len() + 64
    }
}

/// A result row waiting for ORDER BY: its cells and its order keys.
pub(crate) struct HeldRow {
    pub cells: Vec<Value>,
    pub keys: Vec<Value>,
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.push(if *b { 2 } else { 1 }),
        Value::Int(i) => {
            out.push(3);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(4);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(5);
            put_bytes(out, s.as_bytes());
        }
    }
}

fn values(c: &mut Cursor<'_>) -> Result<Vec<Value>, SpillError> {
    let n = c.u64()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let tag = c.take(1)?[0];
        out.push(match tag {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Int(c.u64()? as i64),
            4 => Value::Float(f64::from_bits(c.u64()?)),
            5 => Value::Str(
                String::from_utf8(c.bytes()?.to_vec())
                    .map_err(|_| SpillError::Corrupt("string".into()))?,
            ),
            _ => return Err(SpillError::Corrupt("value tag".into())),
        });
    }
    Ok(out)
}

fn value_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len() + 40,
        _ => 24,
    }
}

impl Record for HeldRow {
    fn encode(&self, out: &mut Vec<u8>) {
        for list in [&self.cells, &self.keys] {
            out.extend_from_slice(&(list.len() as u64).to_le_bytes());
            for v in list {
                put_value(out, v);
            }
        }
    }

    fn decode(b: &[u8]) -> Result<Self, SpillError> {
        let mut c = Cursor(b);
        let cells = values(&mut c)?;
        let keys = values(&mut c)?;
        Ok(HeldRow { cells, keys })
    }

    fn encoded_len(&self) -> usize {
        self.cells
            .iter()
            .chain(&self.keys)
            .map(value_len)
            .sum::<usize>()
            + 48
    }
}

/// ORDER BY over order keys, as the whole-result sort compared them.
pub(crate) fn order_keys(order_by: &[OrderKey], a: &[Value], b: &[Value]) -> Ordering {
    for (i, key) in order_by.iter().enumerate() {
        let (Some(x), Some(y)) = (a.get(i), b.get(i)) else {
            break;
        };
        let o = sort_cmp(x, y);
        let o = if key.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// ORDER BY … LIMIT k without holding every row: the best k rows so far, in arrival order
/// among equals (at most 2k held; sorted and cut back to k when full).
pub(crate) struct TopK<'q> {
    order_by: &'q [OrderKey],
    k: usize,
    rows: Vec<(u64, HeldRow)>,
    seq: u64,
    pub peak: usize,
}

impl<'q> TopK<'q> {
    pub fn new(order_by: &'q [OrderKey], k: usize) -> TopK<'q> {
        TopK {
            order_by,
            k,
            rows: Vec::new(),
            seq: 0,
            peak: 0,
        }
    }

    pub fn push(&mut self, row: HeldRow) {
        if self.k == 0 {
            return;
        }
        self.rows.push((self.seq, row));
        self.seq += 1;
        self.peak = self.peak.max(self.rows.len());
        if self.rows.len() >= self.k.saturating_mul(2) {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let order_by = self.order_by;
        self.rows
            .sort_by(|(sa, a), (sb, b)| order_keys(order_by, &a.keys, &b.keys).then(sa.cmp(sb)));
        self.rows.truncate(self.k);
    }

    pub fn finish(mut self) -> Vec<HeldRow> {
        self.cut();
        self.rows.into_iter().map(|(_, r)| r).collect()
    }
}
