//! The five run operators (the provider's `AppflowBaseOperator` and its subclasses): when a
//! `source` is given, DescribeFlow checks that it is the flow's connector; all but
//! `AppflowRunOperator` then replace the flow's filter tasks (none for the full run, one on
//! `source_field` for before, after and daily) and wait 15 s for the update to propagate;
//! then the flow runs (StartFlow) and by default the operator waits for the run to end. The
//! run's id is pushed as XCom `execution_id`; there is no return value.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::WaitSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_appflow::Client;
use serde_json::json;

use crate::date::{self, DAY_MS};
use crate::flow::{self, Filter};

/// The provider's `UPDATE_PROPAGATION_TIME`.
const UPDATE_PROPAGATION: Duration = Duration::from_secs(15);

/// The template fields of every run operator.
const TEMPLATE_FIELDS: &[&str] = &[
    "aws_conn_id",
    "filter_date",
    "flow_name",
    "region_name",
    "source",
    "source_field",
    "verify",
];

/// Which operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Run,
    Full,
    Before,
    After,
    Daily,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Run => "AppflowRunOperator",
            Kind::Full => "AppflowRunFullOperator",
            Kind::Before => "AppflowRunBeforeOperator",
            Kind::After => "AppflowRunAfterOperator",
            Kind::Daily => "AppflowRunDailyOperator",
        }
    }

    /// The sources the operator accepts.
    fn sources(self) -> &'static [&'static str] {
        match self {
            Kind::Before | Kind::Daily => &["salesforce"],
            _ => &["salesforce", "zendesk"],
        }
    }
}

/// What every run operator holds.
#[derive(Debug)]
struct RunFlow {
    aws: AwsParams,
    kind: Kind,
    flow_name: String,
    source: Option<String>,
    source_field: Option<String>,
    filter_date: Option<String>,
    wait: WaitSettings,
    update_propagation: Duration,
}

impl RunFlow {
    fn read(p: &mut ParamReader<'_>, kind: Kind) -> Result<RunFlow, ParamError> {
        let aws = AwsParams::read(p)?;
        let entity = kind.name();
        let flow_name = p.required_str("flow_name", "the name of the AppFlow flow to run")?;
        let source = if kind == Kind::Run {
            p.str("source")?
        } else {
            Some(p.required_str(
                "source",
                &format!(
                    "the flow's source connector ({})",
                    kind.sources().join(" or ")
                ),
            )?)
        };
        if let Some(s) = &source
            && !p.is_templated(s)
            && !kind.sources().contains(&s.as_str())
        {
            let message = if kind == Kind::Run {
                format!(
                    "{entity} parameter `source`: {s} is not a supported source (options: \
                     salesforce, zendesk)!"
                )
            } else {
                format!(
                    "{entity} parameter `source`: Source {s} is not supported for {entity}! \
                     (it must be {})",
                    kind.sources().join(" or ")
                )
            };
            return Err(ParamError::at("source", message));
        }
        let (source_field, filter_date) = match kind {
            Kind::Run | Kind::Full => (None, None),
            _ => {
                let field = p.required_str(
                    "source_field",
                    "the name of the source's date field to filter on",
                )?;
                let date = p.required_str(
                    "filter_date",
                    "the date (ISO 8601, or a template such as {{ ds }}) to filter on",
                )?;
                if date.is_empty() {
                    return Err(ParamError::at(
                        "filter_date",
                        format!("The filter_date argument is mandatory for {entity}!"),
                    ));
                }
                (Some(field), Some(date))
            }
        };
        let poll_interval = p.seconds("poll_interval", 20.0)?;
        let max_attempts = p.u32("max_attempts", 1..=u32::MAX)?.unwrap_or(60);
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        Ok(RunFlow {
            aws,
            kind,
            flow_name,
            source,
            source_field,
            filter_date,
            wait: WaitSettings {
                wait_for_completion,
                waiter_delay: Duration::from_secs_f64(poll_interval),
                waiter_max_attempts: max_attempts,
                deferrable: false,
            },
            update_propagation: UPDATE_PROPAGATION,
        })
    }

    /// The filter tasks the operator puts in place (none for a full run).
    fn filters(&self) -> Result<Vec<Filter>, TaskError> {
        let (field, date) = match (&self.source_field, &self.filter_date) {
            (Some(f), Some(d)) => (f, d),
            _ => return Ok(Vec::new()),
        };
        let epoch = date::epoch_ms(date).map_err(|e| {
            TaskError::fatal(format!(
                "{} parameter `filter_date`: Invalid isoformat string: {e}",
                self.kind.name()
            ))
        })?;
        if field.is_empty() {
            return Err(TaskError::fatal(format!(
                "Invalid source_field argument value: '{field}'"
            )));
        }
        let (operator, properties) = match self.kind {
            Kind::Before => ("LESS_THAN", vec![("VALUE", epoch.to_string())]),
            Kind::After => ("GREATER_THAN", vec![("VALUE", epoch.to_string())]),
            Kind::Daily => (
                "BETWEEN",
                vec![
                    ("LOWER_BOUND", (epoch - 1).to_string()),
                    ("UPPER_BOUND", (epoch + DAY_MS).to_string()),
                ],
            ),
            Kind::Run | Kind::Full => return Ok(Vec::new()),
        };
        Ok(vec![Filter {
            operator,
            source_field: field.clone(),
            properties,
        }])
    }

    /// DescribeFlow (checking `source`), UpdateFlow (the filter, for all but
    /// AppflowRunOperator) with `appflow:UseConnectorProfile` on its connector profile (any:
    /// not a parameter), StartFlow, and DescribeFlowExecutionRecords with
    /// `wait_for_completion`, on the flow.
    fn permissions(&self) -> Vec<Permission> {
        let mut actions = Vec::new();
        if self.source.is_some() || self.kind != Kind::Run {
            actions.push("appflow:DescribeFlow");
        }
        if self.kind != Kind::Run {
            actions.push("appflow:UpdateFlow");
        }
        actions.push("appflow:StartFlow");
        if self.wait.wait_for_completion {
            actions.push("appflow:DescribeFlowExecutionRecords");
        }
        let arn = |r: &str| airtask_core::permissions::arn("appflow", self.aws.region(), r);
        let mut out = vec![Permission::new(
            &actions,
            [arn(&format!("flow/{}", self.flow_name))],
        )];
        if self.kind != Kind::Run {
            out.push(Permission::new(
                &["appflow:UseConnectorProfile"],
                [arn("connectorprofile/*")],
            ));
        }
        out
    }

    async fn execute(&self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let af =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_appflow))?;
        self.run_with(ctx, &af).await
    }

    async fn run_with(&self, ctx: &TaskContext, af: &Client) -> Result<Outcome, TaskError> {
        let filters = self.filters()?;
        if let Some(source) = &self.source {
            let connector = flow::connector_type(af, &self.flow_name).await?;
            if *source != connector.to_lowercase() {
                return Err(TaskError::fatal(format!(
                    "Incompatible source ({source} and connector type ({connector})!"
                )));
            }
        }
        if self.kind != Kind::Run {
            flow::update_flow_filter(ctx, af, &self.flow_name, &filters).await?;
            ctx.info(&format!(
                "Updated the filters of flow {}; waiting {} s for the update to propagate",
                self.flow_name,
                self.update_propagation.as_secs()
            ));
            tokio::time::sleep(self.update_propagation).await;
        }
        let id = flow::run_flow(ctx, af, &self.flow_name, &self.wait).await?;
        ctx.xcom_push("execution_id", json!(id));
        Ok(Outcome::Success(None))
    }
}

macro_rules! run_operator {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(RunFlow);

        impl Operator for $name {
            const SPEC: OperatorSpec = OperatorSpec {
                class_path: concat!(
                    "airflow.providers.amazon.aws.operators.appflow.",
                    stringify!($name)
                ),
                aliases: &[],
                template_fields: TEMPLATE_FIELDS,
                calls_aws: true,
            };

            fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
                RunFlow::read(p, $kind).map(Self)
            }

            async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
                self.0.execute(ctx).await
            }

            fn permissions(&self) -> Vec<Permission> {
                self.0.permissions()
            }
        }
    };
}

run_operator!(
    /// A configured `AppflowRunOperator`: runs the flow as it is.
    AppflowRunOperator,
    Kind::Run
);
run_operator!(
    /// A configured `AppflowRunFullOperator`: removes the flow's filters, then runs it.
    AppflowRunFullOperator,
    Kind::Full
);
run_operator!(
    /// A configured `AppflowRunBeforeOperator`: filters `source_field` before `filter_date`.
    AppflowRunBeforeOperator,
    Kind::Before
);
run_operator!(
    /// A configured `AppflowRunAfterOperator`: filters `source_field` after `filter_date`.
    AppflowRunAfterOperator,
    Kind::After
);
run_operator!(
    /// A configured `AppflowRunDailyOperator`: filters `source_field` on the day of
    /// `filter_date`.
    AppflowRunDailyOperator,
    Kind::Daily
);

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_appflow::operation::describe_flow::DescribeFlowOutput;
    use aws_sdk_appflow::operation::describe_flow_execution_records::DescribeFlowExecutionRecordsOutput;
    use aws_sdk_appflow::operation::start_flow::StartFlowOutput;
    use aws_sdk_appflow::operation::update_flow::UpdateFlowOutput;
    use aws_sdk_appflow::types::{
        ConnectorOperator, ConnectorType, ExecutionRecord, ExecutionStatus, S3ConnectorOperator,
        SalesforceConnectorOperator, ScheduledTriggerProperties, SourceFlowConfig, Task, TaskType,
        TriggerConfig, TriggerProperties, TriggerType,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::Value;

    use super::*;

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().unwrap().push(message.to_owned());
        }
    }

    fn ctx() -> TaskContext {
        TaskContext::new(
            &AppflowRunOperator::SPEC,
            "run_flow",
            1,
            Arc::new(Lines(Mutex::new(Vec::new()))),
        )
    }

    fn build<T: Operator>(v: Value) -> Result<T, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<T>(&p)
    }

    fn flow(connector: ConnectorType) -> DescribeFlowOutput {
        let keep = Task::builder()
            .task_type(TaskType::Map)
            .source_fields("Id")
            .connector_operator(
                ConnectorOperator::builder()
                    .salesforce(SalesforceConnectorOperator::NoOp)
                    .build(),
            )
            .build()
            .unwrap();
        let old_filter = Task::builder()
            .task_type(TaskType::Filter)
            .source_fields("CreatedDate")
            .connector_operator(
                ConnectorOperator::builder()
                    .salesforce(SalesforceConnectorOperator::GreaterThan)
                    .s3(S3ConnectorOperator::NoOp)
                    .build(),
            )
            .build()
            .unwrap();
        DescribeFlowOutput::builder()
            .flow_name("f")
            .source_flow_config(
                SourceFlowConfig::builder()
                    .connector_type(connector)
                    .build()
                    .unwrap(),
            )
            .trigger_config(
                TriggerConfig::builder()
                    .trigger_type(TriggerType::Scheduled)
                    .trigger_properties(
                        TriggerProperties::builder()
                            .scheduled(
                                ScheduledTriggerProperties::builder()
                                    .schedule_expression("rate(1days)")
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .tasks(keep)
            .tasks(old_filter)
            .build()
    }

    fn records(status: ExecutionStatus) -> DescribeFlowExecutionRecordsOutput {
        DescribeFlowExecutionRecordsOutput::builder()
            .flow_executions(
                ExecutionRecord::builder()
                    .execution_id("ex1")
                    .execution_status(status)
                    .build(),
            )
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_pushes_its_execution_id_and_a_failed_run_fails() {
        let start = mock!(Client::start_flow)
            .then_output(|| StartFlowOutput::builder().execution_id("ex1").build());
        let running = mock!(Client::describe_flow_execution_records)
            .then_output(|| records(ExecutionStatus::Inprogress));
        let done = mock!(Client::describe_flow_execution_records)
            .then_output(|| records(ExecutionStatus::Successful));
        let described = mock!(Client::describe_flow_execution_records)
            .then_output(|| records(ExecutionStatus::Successful));
        let af = mock_client!(
            aws_sdk_appflow,
            RuleMode::Sequential,
            [&start, &running, &done, &described]
        );
        let op: AppflowRunOperator = build(json!({"flow_name": "f", "poll_interval": 1})).unwrap();
        let c = ctx();
        assert_eq!(
            op.0.run_with(&c, &af).await.unwrap(),
            Outcome::Success(None)
        );
        assert_eq!(c.pushed(), vec![("execution_id".to_owned(), json!("ex1"))]);

        let failed = mock!(Client::describe_flow_execution_records)
            .then_output(|| records(ExecutionStatus::Error));
        let start_again = mock!(Client::start_flow)
            .then_output(|| StartFlowOutput::builder().execution_id("ex1").build());
        let af = mock_client!(
            aws_sdk_appflow,
            RuleMode::Sequential,
            [&start_again, &failed]
        );
        let e = op.0.run_with(&ctx(), &af).await.unwrap_err();
        assert!(
            e.message
                .starts_with("error while waiting for flow to complete"),
            "{e}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn filtered_runs_replace_the_filters_and_trigger_on_demand() {
        let describe = mock!(Client::describe_flow).then_output(|| flow(ConnectorType::Salesforce));
        let update = mock!(Client::update_flow)
            .match_requests(|r| {
                let tasks = r.tasks();
                let filter = tasks.iter().find(|t| *t.task_type() == TaskType::Filter);
                tasks.len() == 2
                    && r.trigger_config()
                        .is_some_and(|t| t.trigger_properties().is_none())
                    && filter.is_some_and(|f| {
                        f.connector_operator().and_then(|c| c.salesforce())
                            == Some(&SalesforceConnectorOperator::Between)
                            && f.task_properties().is_some_and(|p| {
                                p.values().any(|v| v == "1653523199999")
                                    && p.values().any(|v| v == "1653609600000")
                            })
                    })
            })
            .then_output(|| UpdateFlowOutput::builder().build());
        let start = mock!(Client::start_flow)
            .then_output(|| StartFlowOutput::builder().execution_id("ex1").build());
        let af = mock_client!(
            aws_sdk_appflow,
            RuleMode::MatchAny,
            [&describe, &update, &start]
        );
        let op: AppflowRunDailyOperator = build(json!({
            "flow_name": "f", "source": "salesforce", "source_field": "LastModifiedDate",
            "filter_date": "2022-05-26", "wait_for_completion": false,
        }))
        .unwrap();
        let c = ctx();
        assert_eq!(
            op.0.run_with(&c, &af).await.unwrap(),
            Outcome::Success(None)
        );
        assert_eq!(update.num_calls(), 1);
        assert_eq!(c.pushed(), vec![("execution_id".to_owned(), json!("ex1"))]);

        // A zendesk flow is not a salesforce one.
        let zendesk = mock!(Client::describe_flow).then_output(|| flow(ConnectorType::Zendesk));
        let af = mock_client!(aws_sdk_appflow, RuleMode::MatchAny, [&zendesk]);
        let full: AppflowRunFullOperator =
            build(json!({"flow_name": "f", "source": "salesforce"})).unwrap();
        let e = full.0.run_with(&ctx(), &af).await.unwrap_err();
        assert_eq!(
            e.message,
            "Incompatible source (salesforce and connector type (Zendesk)!"
        );
    }

    #[test]
    fn parameters_are_checked_as_the_provider_checks_them() {
        let e = build::<AppflowRunBeforeOperator>(json!({
            "flow_name": "f", "source": "zendesk", "source_field": "d", "filter_date": "2022-01-01",
        }))
        .unwrap_err();
        assert!(
            e.message()
                .contains("Source zendesk is not supported for AppflowRunBeforeOperator!"),
            "{}",
            e.message()
        );
        let e = build::<AppflowRunAfterOperator>(json!({
            "flow_name": "f", "source": "zendesk", "source_field": "d", "filter_date": "",
        }))
        .unwrap_err();
        assert!(
            e.message()
                .contains("mandatory for AppflowRunAfterOperator")
        );
        let e = build::<AppflowRunOperator>(json!({"flow_name": "f", "source": "s3"})).unwrap_err();
        assert!(
            e.message().contains("not a supported source"),
            "{}",
            e.message()
        );
        let e =
            build::<AppflowRunOperator>(json!({"flow_name": "f", "filter_date": "x"})).unwrap_err();
        assert!(e.is_unknown_parameter(), "{}", e.message());
        let op: AppflowRunOperator = build(json!({"flow_name": "f"})).unwrap();
        assert_eq!(op.0.wait.waiter_delay, Duration::from_secs(20));
        assert_eq!(op.0.wait.waiter_max_attempts, 60);
        let op: AppflowRunAfterOperator = build(json!({
            "flow_name": "f", "source": "zendesk", "source_field": "d", "filter_date": "2022-05-26",
        }))
        .unwrap();
        let f = op.0.filters().unwrap();
        assert_eq!(f[0].operator, "GREATER_THAN");
        assert_eq!(f[0].properties, vec![("VALUE", "1653523200000".to_owned())]);
        let bad: AppflowRunBeforeOperator = build(json!({
            "flow_name": "f", "source": "salesforce", "source_field": "d", "filter_date": "soon",
        }))
        .unwrap();
        assert!(
            bad.0
                .filters()
                .unwrap_err()
                .message
                .contains("Invalid isoformat string")
        );
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::{AppflowRunAfterOperator, AppflowRunOperator};

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_plain_run_starts_the_flow_and_a_filtered_one_updates_it_first() {
        let flow = ["arn:aws:appflow:{region}:{account}:flow/f"];
        let run = build_operator::<AppflowRunOperator>(&params(
            json!({"flow_name": "f", "wait_for_completion": false}),
        ))
        .expect("valid parameters");
        assert_eq!(
            run.permissions(),
            [Permission::new(&["appflow:StartFlow"], flow)]
        );
        let after = build_operator::<AppflowRunAfterOperator>(&params(json!({
            "flow_name": "f", "source": "salesforce", "source_field": "CreatedDate",
            "filter_date": "2024-01-01",
        })))
        .expect("valid parameters");
        assert_eq!(
            after.permissions(),
            [
                Permission::new(
                    &[
                        "appflow:DescribeFlow",
                        "appflow:UpdateFlow",
                        "appflow:StartFlow",
                        "appflow:DescribeFlowExecutionRecords",
                    ],
                    flow
                ),
                Permission::new(
                    &["appflow:UseConnectorProfile"],
                    ["arn:aws:appflow:{region}:{account}:connectorprofile/*"]
                ),
            ]
        );
    }
}
