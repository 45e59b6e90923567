//! `DynamoDBValueSensor`: each poke reads one item (GetItem by its partition key, and sort key
//! when given; the key values are strings, as the provider's Table resource sends them) and is
//! met when the item's `attribute_name` is a string equal to `attribute_value` or to one of a
//! list of values. A missing item or attribute is "not yet"; a missing table fails the task.

use std::collections::HashMap;

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// A configured `DynamoDBValueSensor`.
#[derive(Debug)]
pub struct DynamoDBValueSensor {
    aws: AwsParams,
    table_name: String,
    partition_key: (String, String),
    sort_key: Option<(String, String)>,
    attribute_name: String,
    attribute_values: Vec<String>,
    settings: SensorSettings,
}

/// How an attribute value reads in the log (boto3's deserialized form, roughly).
fn shown(v: &AttributeValue) -> String {
    match v {
        AttributeValue::S(s) => format!("'{s}'"),
        AttributeValue::N(n) => format!("Decimal('{n}')"),
        AttributeValue::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        AttributeValue::Null(_) => "None".to_owned(),
        other => format!("{other:?}"),
    }
}

impl Operator for DynamoDBValueSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.dynamodb.DynamoDBValueSensor",
        aliases: &[],
        template_fields: &[
            "attribute_name",
            "attribute_value",
            "aws_conn_id",
            "partition_key_name",
            "partition_key_value",
            "region_name",
            "sort_key_name",
            "sort_key_value",
            "table_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let table_name = p.required_str("table_name", "the DynamoDB table to read")?;
        let pk_name = p.required_str("partition_key_name", "the table's partition key")?;
        let pk_value = p.required_str(
            "partition_key_value",
            "the item's partition key value (a string)",
        )?;
        let attribute_name = p.required_str(
            "attribute_name",
            "the item attribute whose value is awaited",
        )?;
        let attribute_values = p.str_or_list("attribute_value")?.ok_or_else(|| {
            ParamError::at(
                "attribute_value",
                "DynamoDBValueSensor needs `attribute_value`: the value awaited, or a list of \
                 values any of which will do",
            )
        })?;
        let sort_name = p.str("sort_key_name")?;
        // The provider adds the sort key only when sort_key_value is set (and not empty).
        let sort_key = match (
            sort_name,
            p.str("sort_key_value")?.filter(|v| !v.is_empty()),
        ) {
            (Some(n), Some(v)) => Some((n, v)),
            (None, Some(_)) => {
                return Err(ParamError::at(
                    "sort_key_name",
                    "DynamoDBValueSensor has `sort_key_value` but no `sort_key_name`: name the \
                     table's sort key too",
                ));
            }
            _ => None,
        };
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(DynamoDBValueSensor {
            aws,
            table_name,
            partition_key: (pk_name, pk_value),
            sort_key,
            attribute_name,
            attribute_values,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ddb =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_dynamodb))?;
        let this = &*self;
        let ddb = &ddb;
        sensor::run(
            &self.settings,
            ctx,
            || async move { this.poke(ctx, ddb).await },
        )
        .await
    }

    /// GetItem on the table (a table name or its ARN).
    fn permissions(&self) -> Vec<Permission> {
        let table = if self.table_name.starts_with("arn:") {
            self.table_name.clone()
        } else {
            airtask_core::permissions::arn(
                "dynamodb",
                self.aws.region(),
                &format!("table/{}", self.table_name),
            )
        };
        vec![Permission::new(&["dynamodb:GetItem"], [table])]
    }
}

impl DynamoDBValueSensor {
    async fn poke(&self, ctx: &TaskContext, ddb: &Client) -> Result<bool, TaskError> {
        let (pk, pv) = &self.partition_key;
        let mut key = HashMap::from([(pk.clone(), AttributeValue::S(pv.clone()))]);
        let mut msg = format!(
            "Checking table {} for item Partition Key: {pk}={pv}",
            self.table_name
        );
        if let Some((sk, sv)) = &self.sort_key {
            key.insert(sk.clone(), AttributeValue::S(sv.clone()));
            msg.push_str(&format!("\nSort Key: {sk}={sv}"));
        }
        let wanted = if self.attribute_values.len() == 1 {
            self.attribute_values[0].clone()
        } else {
            format!("{:?}", self.attribute_values)
        };
        msg.push_str(&format!("\nattribute: {}={wanted}", self.attribute_name));
        ctx.info(&msg);
        let out = ddb
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(key))
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("GetItem from DynamoDB table {}", self.table_name),
                    &e,
                )
            })?;
        let Some(got) = out.item().and_then(|i| i.get(&self.attribute_name)) else {
            ctx.info(&format!(
                "No item with that key, or no attribute {} on it yet",
                self.attribute_name
            ));
            return Ok(false);
        };
        ctx.info(&format!("Want: {} = {wanted}", self.attribute_name));
        ctx.info(&format!("Got: {} = {}", self.attribute_name, shown(got)));
        Ok(matches!(got, AttributeValue::S(s) if self.attribute_values.contains(s)))
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    fn build(v: serde_json::Value) -> Result<DynamoDBValueSensor, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<DynamoDBValueSensor>(&p)
    }

    #[test]
    fn values_keys_and_defaults() {
        let base = json!({
            "table_name": "t", "partition_key_name": "pk", "partition_key_value": "a",
            "attribute_name": "status", "attribute_value": ["done", "ok"],
        });
        let s = build(base.clone()).unwrap();
        assert_eq!(s.attribute_values, ["done", "ok"]);
        assert_eq!(s.sort_key, None);
        assert_eq!(s.settings.poke_interval, 60.0);
        let mut with_sort = base.clone();
        with_sort["sort_key_value"] = json!("2024");
        let e = build(with_sort.clone()).unwrap_err();
        assert_eq!(e.param(), Some("sort_key_name"));
        with_sort["sort_key_name"] = json!("sk");
        assert_eq!(
            build(with_sort).unwrap().sort_key,
            Some(("sk".to_owned(), "2024".to_owned()))
        );
        let mut missing = base;
        missing.as_object_mut().map(|m| m.remove("attribute_value"));
        let e = build(missing).unwrap_err();
        assert!(
            e.message().contains("needs `attribute_value`"),
            "{}",
            e.message()
        );
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::DynamoDBValueSensor;

    #[test]
    fn the_item_is_read_from_the_table() {
        let p: Params = json!({
            "table_name": "orders", "partition_key_name": "id", "partition_key_value": "1",
            "attribute_name": "status", "attribute_value": "done", "region_name": "eu-west-1",
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        assert_eq!(
            build_operator::<DynamoDBValueSensor>(&p)
                .expect("valid parameters")
                .permissions(),
            [Permission::new(
                &["dynamodb:GetItem"],
                ["arn:aws:dynamodb:eu-west-1:{account}:table/orders"]
            )]
        );
    }
}
