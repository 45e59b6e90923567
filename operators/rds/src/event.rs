//! Event notification subscriptions: `RdsCreateEventSubscriptionOperator` (by default waits
//! for `active`) and `RdsDeleteEventSubscriptionOperator`. The XCom value is the answer as a
//! JSON string.

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_rds::types::{EventSubscription, Tag};
use serde_json::Value;

use crate::common::{self, Obj, Resource, non_empty};
use crate::snapshot::aws_fields;

/// The subscription as the answers carry it.
fn subscription_json(s: Option<&EventSubscription>) -> Value {
    let mut o = Obj::default();
    if let Some(s) = s {
        let sub = Obj::default()
            .s("CustomerAwsId", s.customer_aws_id())
            .s("CustSubscriptionId", s.cust_subscription_id())
            .s("SnsTopicArn", s.sns_topic_arn())
            .s("Status", s.status())
            .s("SubscriptionCreationTime", s.subscription_creation_time())
            .s("SourceType", s.source_type())
            .list("SourceIdsList", s.source_ids_list())
            .list("EventCategoriesList", s.event_categories_list())
            .b("Enabled", s.enabled())
            .s("EventSubscriptionArn", s.event_subscription_arn())
            .value();
        o = o.v("EventSubscription", sub);
    }
    o.value()
}

/// A configured `RdsCreateEventSubscriptionOperator`.
#[derive(Debug)]
pub struct RdsCreateEventSubscriptionOperator {
    aws: AwsParams,
    subscription_name: String,
    sns_topic_arn: String,
    source_type: Option<String>,
    event_categories: Vec<String>,
    source_ids: Vec<String>,
    enabled: bool,
    tags: Vec<Tag>,
    wait_for_completion: bool,
}

impl Operator for RdsCreateEventSubscriptionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsCreateEventSubscriptionOperator",
        aliases: &[],
        template_fields: aws_fields!(
            "subscription_name",
            "sns_topic_arn",
            "source_type",
            "event_categories",
            "source_ids",
            "tags",
        ),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsCreateEventSubscriptionOperator {
            aws: AwsParams::read(p)?,
            subscription_name: p.required_str(
                "subscription_name",
                "the name of the subscription (under 255 characters)",
            )?,
            sns_topic_arn: p.required_str(
                "sns_topic_arn",
                "the ARN of the SNS topic that receives the events",
            )?,
            source_type: non_empty(p.str("source_type")?),
            event_categories: common::str_list(p, "event_categories")?.unwrap_or_default(),
            source_ids: common::str_list(p, "source_ids")?.unwrap_or_default(),
            enabled: p.bool("enabled", true)?,
            tags: common::tags(p)?,
            wait_for_completion: p.bool("wait_for_completion", true)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let name = &self.subscription_name;
        ctx.info(&format!(
            "Creating event subscription '{name}' to '{}'",
            self.sns_topic_arn
        ));
        let out = rds
            .create_event_subscription()
            .subscription_name(name)
            .sns_topic_arn(&self.sns_topic_arn)
            .set_source_type(self.source_type.clone())
            .set_event_categories(Some(self.event_categories.clone()).filter(|l| !l.is_empty()))
            .set_source_ids(Some(self.source_ids.clone()).filter(|l| !l.is_empty()))
            .enabled(self.enabled)
            .set_tags(Some(self.tags.clone()))
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("CreateEventSubscription {name}"), &e)
            })?;
        let answer = subscription_json(out.event_subscription());
        if self.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::EventSubscription,
                name,
                common::until("active", &[]),
                &common::hook_wait(),
                "Event subscription creation failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// CreateEventSubscription on the subscription (`rds:AddTagsToResource` with `tags`);
    /// DescribeEventSubscriptions with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["rds:CreateEventSubscription"];
        if !self.tags.is_empty() {
            actions.push("rds:AddTagsToResource");
        }
        if self.wait_for_completion {
            actions.push("rds:DescribeEventSubscriptions");
        }
        vec![Resource::EventSubscription.permission(&self.aws, &self.subscription_name, &actions)]
    }
}

/// A configured `RdsDeleteEventSubscriptionOperator`.
#[derive(Debug)]
pub struct RdsDeleteEventSubscriptionOperator {
    aws: AwsParams,
    subscription_name: String,
}

impl Operator for RdsDeleteEventSubscriptionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsDeleteEventSubscriptionOperator",
        aliases: &[],
        template_fields: aws_fields!("subscription_name"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsDeleteEventSubscriptionOperator {
            aws: AwsParams::read(p)?,
            subscription_name: p.required_str(
                "subscription_name",
                "the name of the event subscription to delete",
            )?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let name = &self.subscription_name;
        ctx.info(&format!("Deleting event subscription {name}"));
        let out = rds
            .delete_event_subscription()
            .subscription_name(name)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("DeleteEventSubscription {name}"), &e)
            })?;
        Ok(Outcome::Success(Some(common::xcom(&subscription_json(
            out.event_subscription(),
        )))))
    }

    /// DeleteEventSubscription on the subscription.
    fn permissions(&self) -> Vec<Permission> {
        vec![Resource::EventSubscription.permission(
            &self.aws,
            &self.subscription_name,
            &["rds:DeleteEventSubscription"],
        )]
    }
}
