//! The `--comm` channel of Airflow 3.3's coordinator protocol: the Task SDK supervisor and the
//! task process exchange frames of a 4-byte big-endian length and a msgpack payload
//! (`airflow.sdk.execution_time.comms`). The task sends `[id, body]`; the supervisor answers
//! every request with `[id, body, error]` (`body` and `error` may be nil), and sends one frame
//! unasked: `StartupDetails`, id 0, first. Bodies are maps with a `type`; datetimes come as
//! msgpack Timestamps (extension -1, as msgspec writes an aware `datetime`), which are turned
//! into RFC 3339 strings here, and datetimes sent are RFC 3339 strings (pydantic reads them).

use std::io::Write as _;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Number, Value};

/// The largest frame accepted (Airflow refuses frames of 4 GiB; a task's frames are small).
const MAX_FRAME: usize = 256 * 1024 * 1024;

/// A msgpack value as JSON: maps keep their order, keys become strings, Timestamps (extension
/// -1) become RFC 3339 strings, other extensions become null, binary becomes text.
pub(crate) fn to_json(v: rmpv::Value) -> Value {
    use rmpv::Value as M;
    match v {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(i) => i
            .as_i64()
            .map(Value::from)
            .or_else(|| i.as_u64().map(Value::from))
            .unwrap_or(Value::Null),
        M::F32(f) => Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number),
        M::F64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        M::String(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        M::Binary(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        M::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        M::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    M::String(s) => s.into_str().unwrap_or_default(),
                    other => to_json(other).to_string(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        M::Ext(-1, data) => timestamp(&data).map_or(Value::Null, Value::String),
        M::Ext(..) => Value::Null,
    }
}

/// A msgpack Timestamp (32, 64 or 96 bit) as an RFC 3339 string.
fn timestamp(data: &[u8]) -> Option<String> {
    let (secs, nanos) = match data.len() {
        4 => (i64::from(u32::from_be_bytes(data.try_into().ok()?)), 0),
        8 => {
            let v = u64::from_be_bytes(data.try_into().ok()?);
            let nanos = i32::try_from(v >> 34).ok()?;
            (i64::try_from(v & 0x3_ffff_ffff).ok()?, nanos)
        }
        12 => {
            let nanos = i32::try_from(u32::from_be_bytes(data[..4].try_into().ok()?)).ok()?;
            (i64::from_be_bytes(data[4..].try_into().ok()?), nanos)
        }
        _ => return None,
    };
    jiff::Timestamp::new(secs, nanos)
        .ok()
        .map(|t| t.to_string())
}

/// JSON as a msgpack value.
pub(crate) fn to_msgpack(v: &Value) -> rmpv::Value {
    use rmpv::Value as M;
    match v {
        Value::Null => M::Nil,
        Value::Bool(b) => M::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                M::from(i)
            } else if let Some(u) = n.as_u64() {
                M::from(u)
            } else {
                M::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => M::from(s.as_str()),
        Value::Array(a) => M::Array(a.iter().map(to_msgpack).collect()),
        Value::Object(m) => M::Map(
            m.iter()
                .map(|(k, v)| (M::from(k.as_str()), to_msgpack(v)))
                .collect(),
        ),
    }
}

/// One frame: the length prefix and the msgpack encoding of `value`.
pub(crate) fn frame(value: &rmpv::Value) -> Vec<u8> {
    let mut payload = Vec::with_capacity(256);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut payload, value);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Reads one frame's payload.
pub(crate) fn read_frame(r: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {MAX_FRAME} are accepted)"),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(payload)
}

/// A frame from the supervisor: `[id, body, error]`.
#[derive(Debug)]
pub(crate) struct Response {
    /// The id of the request it answers (0 for `StartupDetails`).
    pub(crate) id: i64,
    /// The body (a map with `type`, or nothing).
    pub(crate) body: Option<Value>,
    /// The error (`ErrorResponse`), when the request failed.
    pub(crate) error: Option<Value>,
}

/// Decodes a supervisor frame's payload.
pub(crate) fn decode_response(payload: &[u8]) -> Result<Response, String> {
    let v = rmpv::decode::read_value(&mut &payload[..])
        .map_err(|e| format!("a frame that is not msgpack: {e}"))?;
    let rmpv::Value::Array(items) = v else {
        return Err(format!(
            "a frame that is not [id, body, error]: {}",
            to_json(v)
        ));
    };
    let mut items = items.into_iter().map(to_json);
    let id = items
        .next()
        .and_then(|i| i.as_i64())
        .ok_or("a frame without an id")?;
    let some = |v: Option<Value>| v.filter(|v| !v.is_null());
    Ok(Response {
        id,
        body: some(items.next()),
        error: some(items.next()),
    })
}

/// The task's end of `--comm`: one request at a time, each answered before the next.
#[derive(Clone)]
pub(crate) struct Comm {
    conn: Arc<Mutex<Conn>>,
}

struct Conn {
    stream: TcpStream,
    next_id: i64,
}

/// `detail` of an error body, shortened.
fn describe(error: &Value) -> String {
    let kind = error
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("GENERIC_ERROR");
    let detail = error
        .get("detail")
        .filter(|d| !d.is_null())
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    let mut s = format!("{kind}{detail}");
    if s.len() > 500 {
        let mut cut = 500;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

impl Comm {
    /// The channel over `stream`; an answer must come within `timeout` (the supervisor's own
    /// API calls, with their retries, fit in it).
    pub(crate) fn new(stream: TcpStream, timeout: Duration) -> std::io::Result<Comm> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Comm {
            conn: Arc::new(Mutex::new(Conn { stream, next_id: 1 })),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Conn> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The first frame: `StartupDetails` (blocking).
    pub(crate) fn startup(&self) -> Result<Value, String> {
        let mut conn = self.conn();
        let payload = read_frame(&mut conn.stream).map_err(|e| {
            format!(
                "the supervisor sent no StartupDetails on --comm: {}",
                io(&e)
            )
        })?;
        let r = decode_response(&payload)?;
        match (r.body, r.error) {
            (Some(body), None)
                if body.get("type").and_then(Value::as_str) == Some("StartupDetails") =>
            {
                Ok(body)
            }
            (body, error) => Err(format!(
                "the supervisor's first frame is not StartupDetails: body {}, error {}",
                body.unwrap_or(Value::Null),
                error.unwrap_or(Value::Null)
            )),
        }
    }

    /// Sends `body` and waits for its answer (blocking): the answer's body (none for requests
    /// answered with nothing), or the error it carries.
    pub(crate) fn request_blocking(&self, body: &Value) -> Result<Option<Value>, String> {
        let kind = body.get("type").and_then(Value::as_str).unwrap_or("?");
        let mut conn = self.conn();
        let id = conn.next_id;
        conn.next_id += 1;
        let bytes = frame(&rmpv::Value::Array(vec![
            rmpv::Value::from(id),
            to_msgpack(body),
        ]));
        conn.stream
            .write_all(&bytes)
            .and_then(|()| conn.stream.flush())
            .map_err(|e| format!("cannot send {kind} to the supervisor: {}", io(&e)))?;
        loop {
            let payload = read_frame(&mut conn.stream)
                .map_err(|e| format!("no answer to {kind} from the supervisor: {}", io(&e)))?;
            let r = decode_response(&payload)?;
            // Answers come in order; one to an earlier, abandoned request is skipped.
            if r.id < id {
                continue;
            }
            if r.id != id {
                return Err(format!(
                    "the supervisor answered request {} while {kind} (request {id}) waited",
                    r.id
                ));
            }
            if let Some(e) = r.error {
                return Err(format!(
                    "the supervisor answered {kind} with {}",
                    describe(&e)
                ));
            }
            return Ok(r.body);
        }
    }

    /// [`Comm::request_blocking`] off the async runtime's thread.
    pub(crate) async fn request(&self, body: Value) -> Result<Option<Value>, String> {
        let comm = self.clone();
        tokio::task::spawn_blocking(move || comm.request_blocking(&body))
            .await
            .map_err(|e| format!("the request to the supervisor did not finish: {e}"))?
    }

    /// `SetRenderedFields`: the supervisor puts them to the API (`PUT .../rtif`).
    pub(crate) async fn set_rendered_fields(&self, fields: &Value) -> Result<(), String> {
        self.request(serde_json::json!({
            "type": "SetRenderedFields", "rendered_fields": fields,
        }))
        .await
        .map(|_| ())
    }

    /// `GetXCom`: the value, `None` when there is none.
    pub(crate) async fn get_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
    ) -> Result<Option<Value>, String> {
        let body = self
            .request(serde_json::json!({
                "type": "GetXCom", "key": key, "dag_id": dag_id, "run_id": run_id,
                "task_id": task_id, "map_index": map_index, "include_prior_dates": false,
            }))
            .await?;
        match body {
            Some(b) if is_error(&b) => {
                if b.get("error").and_then(Value::as_str) == Some("XCOM_NOT_FOUND") {
                    Ok(None)
                } else {
                    Err(format!(
                        "the supervisor answered GetXCom with {}",
                        describe(&b)
                    ))
                }
            }
            // A missing XCom is answered with a null value, as Airflow 2 read it.
            Some(b) => Ok(b.get("value").cloned().filter(|v| !v.is_null())),
            None => Ok(None),
        }
    }

    /// `SetXCom`.
    pub(crate) async fn set_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
        value: &Value,
    ) -> Result<(), String> {
        self.request(serde_json::json!({
            "type": "SetXCom", "key": key, "value": value, "dag_id": dag_id, "run_id": run_id,
            "task_id": task_id, "map_index": map_index,
        }))
        .await
        .map(|_| ())
    }

    /// `DeleteXCom`.
    pub(crate) async fn delete_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
    ) -> Result<(), String> {
        self.request(serde_json::json!({
            "type": "DeleteXCom", "key": key, "dag_id": dag_id, "run_id": run_id,
            "task_id": task_id, "map_index": map_index,
        }))
        .await
        .map(|_| ())
    }

    /// `GetVariable`: the value, `None` when there is no such Variable.
    pub(crate) async fn get_variable(&self, key: &str) -> Result<Option<String>, String> {
        let body = self
            .request(serde_json::json!({"type": "GetVariable", "key": key}))
            .await?;
        match body {
            Some(b) if is_error(&b) => {
                if b.get("error").and_then(Value::as_str) == Some("VARIABLE_NOT_FOUND") {
                    Ok(None)
                } else {
                    Err(format!(
                        "the supervisor answered GetVariable with {}",
                        describe(&b)
                    ))
                }
            }
            Some(b) => Ok(b.get("value").and_then(Value::as_str).map(str::to_owned)),
            None => Ok(None),
        }
    }

    /// `GetConnection`: the connection's fields (`conn_id`, `conn_type`, `host`, `schema`,
    /// `login`, `password`, `port`, `extra`), `None` when there is no such connection.
    pub(crate) async fn get_connection(&self, conn_id: &str) -> Result<Option<Value>, String> {
        let body = self
            .request(serde_json::json!({"type": "GetConnection", "conn_id": conn_id}))
            .await?;
        match body {
            Some(b) if is_error(&b) => {
                if b.get("error").and_then(Value::as_str) == Some("CONNECTION_NOT_FOUND") {
                    Ok(None)
                } else {
                    Err(format!(
                        "the supervisor answered GetConnection with {}",
                        describe(&b)
                    ))
                }
            }
            Some(mut b) => {
                if let Some(m) = b.as_object_mut() {
                    m.remove("type");
                }
                Ok(Some(b))
            }
            None => Ok(None),
        }
    }
}

/// Whether an answer's body is an `ErrorResponse` (a missing Variable or connection comes
/// back that way, as a body).
fn is_error(body: &Value) -> bool {
    body.get("type").and_then(Value::as_str) == Some("ErrorResponse")
}

fn io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "the supervisor closed the connection".to_owned(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            "no answer in time".to_owned()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn msgspec_timestamps_become_rfc3339() {
        // 2025-03-09T06:30:00Z as msgspec writes it (fixext 4, type -1).
        let secs: u32 = 1_741_501_800;
        let v = rmpv::Value::Ext(-1, secs.to_be_bytes().to_vec());
        assert_eq!(to_json(v), json!("2025-03-09T06:30:00Z"));
        // 64-bit: nanoseconds in the upper 30 bits.
        let packed: u64 = (500_000_000u64 << 34) | u64::from(secs);
        let v = rmpv::Value::Ext(-1, packed.to_be_bytes().to_vec());
        assert_eq!(to_json(v), json!("2025-03-09T06:30:00.5Z"));
        // 96-bit: nanoseconds, then signed seconds.
        let mut data = 1_000u32.to_be_bytes().to_vec();
        data.extend_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(
            to_json(rmpv::Value::Ext(-1, data)),
            json!("1969-12-31T23:59:59.000001Z")
        );
    }

    #[test]
    fn a_frame_round_trips() {
        let body = json!({"type": "SetXCom", "value": {"a": [1, -2, 2.5, null, true]}, "k": "é"});
        let bytes = frame(&rmpv::Value::Array(vec![
            rmpv::Value::from(7),
            to_msgpack(&body),
            rmpv::Value::Nil,
        ]));
        assert_eq!(
            u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize,
            bytes.len() - 4
        );
        let payload = read_frame(&mut &bytes[..]).unwrap();
        let r = decode_response(&payload).unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(r.body, Some(body));
        assert_eq!(r.error, None);
    }

    #[test]
    fn a_frame_airflow_wrote_decodes() {
        // `_ResponseFrame(id=3, error=ErrorResponse(...))` as the Task SDK 1.3.2 encodes it.
        let hex = "9303c083a56572726f72b04150495f5345525645525f4552524f52a664657461696c81a17801\
                   a474797065ad4572726f72526573706f6e7365";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let r = decode_response(&bytes).unwrap();
        assert_eq!(r.id, 3);
        assert_eq!(r.body, None);
        let e = r.error.unwrap();
        assert_eq!(e["error"], "API_SERVER_ERROR");
        assert_eq!(describe(&e), r#"API_SERVER_ERROR: {"x":1}"#);
    }
}
