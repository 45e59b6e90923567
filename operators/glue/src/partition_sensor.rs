//! `GlueCatalogPartitionSensor`: waits until a Glue Data Catalog table has a partition that
//! matches `expression`.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::perms;

/// A configured `GlueCatalogPartitionSensor`.
#[derive(Debug)]
pub struct GlueCatalogPartitionSensor {
    aws: AwsParams,
    settings: SensorSettings,
    table_name: String,
    /// `None`: the provider's default, `ds='{{ ds }}'`, made from the task's logical date.
    expression: Option<String>,
    database_name: String,
}

impl Operator for GlueCatalogPartitionSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.glue_catalog_partition.GlueCatalogPartitionSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "database_name",
            "expression",
            "region_name",
            "table_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let settings = SensorSettings::read(p, 180.0)?;
        let table_name = p.required_str(
            "table_name",
            "the table whose partition to wait for (`table` or `database.table`)",
        )?;
        let expression = p.str("expression")?;
        let database_name = p
            .str("database_name")?
            .unwrap_or_else(|| "default".to_owned());
        p.accept("deferrable");
        Ok(GlueCatalogPartitionSensor {
            aws,
            settings,
            table_name,
            expression,
            database_name,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let (database, table) = match self.table_name.split('.').collect::<Vec<_>>()[..] {
            [table] => (self.database_name.clone(), table.to_owned()),
            [database, table] => (database.to_owned(), table.to_owned()),
            _ => {
                return Err(TaskError::fatal(format!(
                    "GlueCatalogPartitionSensor `table_name` '{}' has more than one '.': give \
                     `table` or `database.table`",
                    self.table_name
                )));
            }
        };
        let expression = match &self.expression {
            Some(e) => e.clone(),
            None => format!("ds='{}'", ds(ctx)?),
        };
        let glue = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glue))?;
        let (glue, database, table, expression) = (&glue, &database, &table, &expression);
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!(
                "Poking for table {database}. {table}, expression {expression}"
            ));
            let out = glue
                .get_partitions()
                .database_name(database)
                .table_name(table)
                .expression(expression)
                .max_results(1)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("GetPartitions of table {database}.{table} ({expression})"),
                        &e,
                    )
                })?;
            Ok(!out.partitions().is_empty())
        })
        .await
    }

    /// GetPartitions, which IAM authorizes on the catalog, the database and the table.
    fn permissions(&self) -> Vec<Permission> {
        let (database, table) = match self.table_name.split_once('.') {
            Some((database, table)) => (database, table),
            None => (self.database_name.as_str(), self.table_name.as_str()),
        };
        vec![Permission::new(
            &["glue:GetPartitions"],
            [
                perms::glue(&self.aws, "catalog"),
                perms::glue(&self.aws, &format!("database/{database}")),
                perms::glue(&self.aws, &format!("table/{database}/{table}")),
            ],
        )]
    }
}

/// Airflow's `ds` of the try: the date of its logical date (which the runtime gives every
/// task as `AIRFLOW_CTX_LOGICAL_DATE`, in UTC).
fn ds(ctx: &TaskContext) -> Result<String, TaskError> {
    ctx.process_env()
        .iter()
        .find(|(k, _)| k == "AIRFLOW_CTX_LOGICAL_DATE")
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| v.get(..10))
        .map(str::to_owned)
        .ok_or_else(|| {
            TaskError::fatal(
                "GlueCatalogPartitionSensor's default expression ds='{{ ds }}' needs the task's \
                 logical date, which this run does not have; give `expression`",
            )
        })
}
