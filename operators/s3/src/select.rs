//! S3 Select for `S3FileTransformOperator`'s `select_expression`: the records of
//! SelectObjectContent, with the serialization settings in boto3's shape
//! (`{"input_serialization": {"CSV": {...}, "CompressionType": ...}, "output_serialization":
//! {"CSV": {...}}}`, CSV both ways by default, as the provider's `select_key`).

use airtask_core::TaskError;
use aws_sdk_s3::types::{
    CompressionType, CsvInput, CsvOutput, ExpressionType, FileHeaderInfo, InputSerialization,
    JsonInput, JsonOutput, JsonType, OutputSerialization, ParquetInput, QuoteFields,
    SelectObjectContentEventStream,
};
use serde_json::{Map, Value};

use airtask_aws::error::task_error;

/// The serialization settings of a select, checked at build time.
#[derive(Debug, Clone)]
pub(crate) struct Serialization {
    input: InputSerialization,
    output: OutputSerialization,
}

fn text(m: &Map<String, Value>, key: &str, what: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{what}.{key} must be a string, not {other}")),
    }
}

fn only(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{what} has no setting {k}; it takes {}",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

fn section<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(other) => Err(format!("{what}.{key} must be a mapping, not {other}")),
    }
}

fn input(m: Option<&Map<String, Value>>) -> Result<InputSerialization, String> {
    const WHAT: &str = "select_expr_serialization_config.input_serialization";
    let empty = Map::new();
    let m = m.unwrap_or(&empty);
    only(m, &["CSV", "JSON", "Parquet", "CompressionType"], WHAT)?;
    let mut b = InputSerialization::builder();
    let (csv, json, parquet) = (
        section(m, "CSV", WHAT)?,
        section(m, "JSON", WHAT)?,
        section(m, "Parquet", WHAT)?,
    );
    match (csv, json, parquet) {
        (Some(c), None, None) => {
            let what = format!("{WHAT}.CSV");
            only(
                c,
                &[
                    "FileHeaderInfo",
                    "Comments",
                    "QuoteEscapeCharacter",
                    "RecordDelimiter",
                    "FieldDelimiter",
                    "QuoteCharacter",
                    "AllowQuotedRecordDelimiter",
                ],
                &what,
            )?;
            let header = text(c, "FileHeaderInfo", &what)?
                .map(|h| match h.as_str() {
                    "USE" | "IGNORE" | "NONE" => Ok(FileHeaderInfo::from(h.as_str())),
                    _ => Err(format!(
                        "{what}.FileHeaderInfo must be USE, IGNORE or NONE, not {h}"
                    )),
                })
                .transpose()?;
            b = b.csv(
                CsvInput::builder()
                    .set_file_header_info(header)
                    .set_comments(text(c, "Comments", &what)?)
                    .set_quote_escape_character(text(c, "QuoteEscapeCharacter", &what)?)
                    .set_record_delimiter(text(c, "RecordDelimiter", &what)?)
                    .set_field_delimiter(text(c, "FieldDelimiter", &what)?)
                    .set_quote_character(text(c, "QuoteCharacter", &what)?)
                    .set_allow_quoted_record_delimiter(
                        c.get("AllowQuotedRecordDelimiter").and_then(Value::as_bool),
                    )
                    .build(),
            );
        }
        (None, Some(j), None) => {
            let what = format!("{WHAT}.JSON");
            only(j, &["Type"], &what)?;
            let t = text(j, "Type", &what)?
                .map(|t| match t.as_str() {
                    "DOCUMENT" | "LINES" => Ok(JsonType::from(t.as_str())),
                    _ => Err(format!("{what}.Type must be DOCUMENT or LINES, not {t}")),
                })
                .transpose()?;
            b = b.json(JsonInput::builder().set_type(t).build());
        }
        (None, None, Some(_)) => b = b.parquet(ParquetInput::builder().build()),
        (None, None, None) => b = b.csv(CsvInput::builder().build()),
        _ => return Err(format!("{WHAT} takes one of CSV, JSON and Parquet")),
    }
    if let Some(c) = text(m, "CompressionType", WHAT)? {
        match c.as_str() {
            "NONE" | "GZIP" | "BZIP2" => b = b.compression_type(CompressionType::from(c.as_str())),
            _ => {
                return Err(format!(
                    "{WHAT}.CompressionType must be NONE, GZIP or BZIP2, not {c}"
                ));
            }
        }
    }
    Ok(b.build())
}

fn output(m: Option<&Map<String, Value>>) -> Result<OutputSerialization, String> {
    const WHAT: &str = "select_expr_serialization_config.output_serialization";
    let empty = Map::new();
    let m = m.unwrap_or(&empty);
    only(m, &["CSV", "JSON"], WHAT)?;
    let b = OutputSerialization::builder();
    Ok(
        match (section(m, "CSV", WHAT)?, section(m, "JSON", WHAT)?) {
            (Some(c), None) => {
                let what = format!("{WHAT}.CSV");
                only(
                    c,
                    &[
                        "QuoteFields",
                        "QuoteEscapeCharacter",
                        "RecordDelimiter",
                        "FieldDelimiter",
                        "QuoteCharacter",
                    ],
                    &what,
                )?;
                let quote = text(c, "QuoteFields", &what)?
                    .map(|q| match q.as_str() {
                        "ALWAYS" | "ASNEEDED" => Ok(QuoteFields::from(q.as_str())),
                        _ => Err(format!(
                            "{what}.QuoteFields must be ALWAYS or ASNEEDED, not {q}"
                        )),
                    })
                    .transpose()?;
                b.csv(
                    CsvOutput::builder()
                        .set_quote_fields(quote)
                        .set_quote_escape_character(text(c, "QuoteEscapeCharacter", &what)?)
                        .set_record_delimiter(text(c, "RecordDelimiter", &what)?)
                        .set_field_delimiter(text(c, "FieldDelimiter", &what)?)
                        .set_quote_character(text(c, "QuoteCharacter", &what)?)
                        .build(),
                )
            }
            (None, Some(j)) => {
                let what = format!("{WHAT}.JSON");
                only(j, &["RecordDelimiter"], &what)?;
                b.json(
                    JsonOutput::builder()
                        .set_record_delimiter(text(j, "RecordDelimiter", &what)?)
                        .build(),
                )
            }
            (None, None) => b.csv(CsvOutput::builder().build()),
            _ => return Err(format!("{WHAT} takes one of CSV and JSON")),
        }
        .build(),
    )
}

impl Serialization {
    /// Reads `select_expr_serialization_config` (absent: CSV in, CSV out).
    pub(crate) fn read(config: Option<&Value>) -> Result<Serialization, String> {
        const WHAT: &str = "select_expr_serialization_config";
        let empty = Map::new();
        let m = match config {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(other) => return Err(format!("{WHAT} must be a mapping, not {other}")),
        };
        only(m, &["input_serialization", "output_serialization"], WHAT)?;
        Ok(Serialization {
            input: input(section(m, "input_serialization", WHAT)?)?,
            output: output(section(m, "output_serialization", WHAT)?)?,
        })
    }
}

/// Runs `expression` on `s3://bucket/key` and returns the records it selected.
pub(crate) async fn select(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    expression: &str,
    serialization: &Serialization,
) -> Result<Vec<u8>, TaskError> {
    let what = format!("SelectObjectContent s3://{bucket}/{key}");
    let mut out = s3
        .select_object_content()
        .bucket(bucket)
        .key(key)
        .expression(expression)
        .expression_type(ExpressionType::Sql)
        .input_serialization(serialization.input.clone())
        .output_serialization(serialization.output.clone())
        .send()
        .await
        .map_err(|e| task_error(&what, &e))?;
    let mut records = Vec::new();
    loop {
        match out.payload.recv().await {
            Ok(Some(SelectObjectContentEventStream::Records(r))) => {
                if let Some(p) = r.payload() {
                    records.extend_from_slice(p.as_ref());
                }
            }
            Ok(Some(SelectObjectContentEventStream::End(_))) | Ok(None) => return Ok(records),
            Ok(Some(_)) => {}
            Err(e) => {
                return Err(TaskError::retryable(format!(
                    "{what} failed: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_in_boto3_shape_are_checked() {
        assert!(Serialization::read(None).is_ok());
        let ok = serde_json::json!({
            "input_serialization": {"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": "GZIP"},
            "output_serialization": {"JSON": {"RecordDelimiter": "\n"}}
        });
        let s = Serialization::read(Some(&ok)).unwrap();
        assert_eq!(s.input.compression_type(), Some(&CompressionType::Gzip));
        assert!(s.output.json().is_some());
        let bad = serde_json::json!({"input_serialization": {"CSV": {"FileHeader": "USE"}}});
        assert!(
            Serialization::read(Some(&bad))
                .unwrap_err()
                .contains("has no setting FileHeader")
        );
        let bad = serde_json::json!({"input_serialization": {"CSV": {"FileHeaderInfo": "YES"}}});
        assert!(
            Serialization::read(Some(&bad))
                .unwrap_err()
                .contains("USE, IGNORE or NONE")
        );
    }
}
