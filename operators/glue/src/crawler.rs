//! `GlueCrawlerOperator` (create or update a crawler, start it, by default wait for the crawl;
//! XCom is the crawler's name) and `GlueCrawlerSensor` (waits until a crawler is READY after
//! a successful crawl).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_glue::Client;
use aws_sdk_glue::types::Crawler;
use serde_json::json;

use crate::crawler_config::CrawlerConfig;
use crate::perms;
use airtask_core::kwargs;

/// The logger of the crawler hook's lines.
const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.glue_crawler.GlueCrawlerHook";

/// The provider's `crawler_ready` waiter polls at most this many times.
const WAITER_MAX_ATTEMPTS: u32 = 1000;

/// A configured `GlueCrawlerOperator`.
#[derive(Debug)]
pub struct GlueCrawlerOperator {
    aws: AwsParams,
    config: CrawlerConfig,
    /// Whether `config` is a template only a try renders (`airtask validate` and `policy`):
    /// the crawler's name is unknown then.
    templated: bool,
    wait: WaitSettings,
    fail_on_already_running: bool,
}

/// GetCrawler of `name`; `None` when there is no such crawler.
async fn get_crawler(glue: &Client, name: &str) -> Result<Option<Crawler>, TaskError> {
    match glue.get_crawler().name(name).send().await {
        Ok(out) => Ok(out.crawler),
        Err(e) if airtask_aws::error::code(&e) == Some("EntityNotFoundException") => Ok(None),
        Err(e) => Err(airtask_aws::error::task_error(
            &format!("GetCrawler {name}"),
            &e,
        )),
    }
}

fn crawler_state(c: &Crawler) -> String {
    c.state().map_or("UNKNOWN", |s| s.as_str()).to_owned()
}

/// The last crawl's status and error message.
fn last_crawl(c: &Crawler) -> Option<(String, Option<String>)> {
    let last = c.last_crawl()?;
    Some((
        last.status().map_or("UNKNOWN", |s| s.as_str()).to_owned(),
        last.error_message().map(str::to_owned),
    ))
}

impl Operator for GlueCrawlerOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glue_crawler.GlueCrawlerOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "config", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let rendered = p.rendered();
        let templated =
            matches!(p.value("config"), Some(serde_json::Value::String(s)) if p.is_templated(s));
        let config = match kwargs::mapping(p, "config") {
            Some(v) => {
                CrawlerConfig::read(v, rendered).map_err(|e| kwargs::param_error(p, "config", e))?
            }
            // Unrendered (validate): only a try knows the crawler's definition.
            None if templated => CrawlerConfig::read(&json!({"Name": "(templated)"}), rendered)
                .map_err(|e| kwargs::param_error(p, "config", e))?,
            None => {
                return Err(ParamError::at(
                    "config",
                    "GlueCrawlerOperator needs `config`: the crawler's definition (boto3's \
                     CreateCrawler arguments, with its `Name`)",
                ));
            }
        };
        let poll_interval = p.seconds("poll_interval", 5.0)?;
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let deferrable = p.bool("deferrable", false)?;
        let fail_on_already_running = p.bool("fail_on_already_running", true)?;
        let wait = WaitSettings {
            wait_for_completion: wait_for_completion || deferrable,
            waiter_delay: Duration::from_secs_f64(poll_interval),
            waiter_max_attempts: WAITER_MAX_ATTEMPTS,
            deferrable,
        };
        Ok(GlueCrawlerOperator {
            aws,
            config,
            templated,
            wait,
            fail_on_already_running,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glue))?;
        let name = self.config.name.clone();
        if get_crawler(&glue, &name).await?.is_some() {
            ctx.hook_info(HOOK_LOGGER, &format!("Updating crawler: {name}"));
            if let Err(e) = self.config.update(glue.update_crawler()).send().await {
                let err = airtask_aws::error::task_error(&format!("UpdateCrawler {name}"), &e);
                self.tolerate_running(ctx, &name, airtask_aws::error::code(&e), err)?;
            }
        } else {
            ctx.hook_info(HOOK_LOGGER, &format!("Creating crawler: {name}"));
            self.config
                .create(glue.create_crawler())
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("Creating Glue crawler {name}"), &e)
                })?;
        }
        ctx.info("Triggering AWS Glue Crawler");
        ctx.hook_info(HOOK_LOGGER, &format!("Starting crawler {name}"));
        if let Err(e) = glue.start_crawler().name(&name).send().await {
            let err = airtask_aws::error::task_error(&format!("StartCrawler {name}"), &e);
            self.tolerate_running(ctx, &name, airtask_aws::error::code(&e), err)?;
        }
        if !self.wait.wait_for_completion {
            return Ok(Outcome::Success(Some(json!(name))));
        }
        ctx.info("Waiting for AWS Glue Crawler");
        let (glue_ref, name_ref) = (&glue, name.as_str());
        wait::until_terminal(ctx, &self.wait, &format!("Glue crawler {name}"), || {
            crawl_poll(glue_ref, name_ref)
        })
        .await?;
        self.report(ctx, &glue, &name).await?;
        Ok(Outcome::Success(Some(json!(name))))
    }

    /// GetCrawler, UpdateCrawler (an existing crawler) or CreateCrawler (which IAM does not
    /// scope to a crawler), StartCrawler; with `wait_for_completion` GetCrawler polls and
    /// GetCrawlerMetrics (not scoped either). `iam:PassRole` on the config's `Role`.
    fn permissions(&self) -> Vec<Permission> {
        let name = if self.templated {
            "*"
        } else {
            self.config.name.as_str()
        };
        let mut out = vec![
            Permission::new(
                &["glue:GetCrawler", "glue:UpdateCrawler", "glue:StartCrawler"],
                [perms::glue(&self.aws, &format!("crawler/{name}"))],
            ),
            Permission::on_any(&["glue:CreateCrawler"]),
        ];
        if self.wait.wait_for_completion {
            out.push(Permission::on_any(&["glue:GetCrawlerMetrics"]));
        }
        if let Some(role) = &self.config.role {
            out.push(perms::pass_role(role));
        } else if self.templated {
            out.push(perms::pass_role("*"));
        }
        out
    }
}

/// One poll of the provider's `crawler_ready` waiter: READY ends the wait, with a failure when
/// the last crawl is FAILED or CANCELLED.
async fn crawl_poll(glue: &Client, name: &str) -> Result<Poll<()>, TaskError> {
    let crawler = get_crawler(glue, name).await?.ok_or_else(|| {
        TaskError::fatal(format!("Glue crawler {name} was deleted during its crawl"))
    })?;
    let state = crawler_state(&crawler);
    if state != "READY" {
        return Ok(Poll::Pending { state });
    }
    match last_crawl(&crawler) {
        Some((status, message)) if status == "FAILED" || status == "CANCELLED" => {
            let mut text = format!("Glue crawler {name}: the crawl ended {status}");
            if let Some(m) = message.filter(|m| !m.is_empty()) {
                text.push_str(&format!(": {m}"));
            }
            Err(TaskError::retryable(text))
        }
        _ => Ok(Poll::Done(())),
    }
}

impl GlueCrawlerOperator {
    /// A CrawlerRunningException with `fail_on_already_running: false` is a warning; any
    /// other error fails the task.
    fn tolerate_running(
        &self,
        ctx: &TaskContext,
        name: &str,
        code: Option<&str>,
        err: TaskError,
    ) -> Result<(), TaskError> {
        if code == Some("CrawlerRunningException") && !self.fail_on_already_running {
            ctx.warning(&format!(
                "Crawler '{name}' is already running. Waiting for the existing run to complete \
                 instead of failing."
            ));
            return Ok(());
        }
        Err(err)
    }

    /// The provider's closing lines: the crawl's status and the crawler's metrics.
    async fn report(&self, ctx: &TaskContext, glue: &Client, name: &str) -> Result<(), TaskError> {
        if let Some((status, _)) = get_crawler(glue, name).await?.as_ref().and_then(last_crawl) {
            ctx.hook_info(HOOK_LOGGER, &format!("Status: {status}"));
        }
        let metrics = glue
            .get_crawler_metrics()
            .crawler_name_list(name)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("GetCrawlerMetrics {name}"), &e)
            })?;
        if let Some(m) = metrics.crawler_metrics_list().first() {
            for line in [
                format!(
                    "Last Runtime Duration (seconds): {}",
                    m.last_runtime_seconds()
                ),
                format!(
                    "Median Runtime Duration (seconds): {}",
                    m.median_runtime_seconds()
                ),
                format!("Tables Created: {}", m.tables_created()),
                format!("Tables Updated: {}", m.tables_updated()),
                format!("Tables Deleted: {}", m.tables_deleted()),
            ] {
                ctx.hook_info(HOOK_LOGGER, &line);
            }
        }
        Ok(())
    }
}

/// A configured `GlueCrawlerSensor`.
#[derive(Debug)]
pub struct GlueCrawlerSensor {
    aws: AwsParams,
    settings: SensorSettings,
    crawler_name: String,
}

impl Operator for GlueCrawlerSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.glue_crawler.GlueCrawlerSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "crawler_name", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let settings = SensorSettings::read(p, 60.0)?;
        let crawler_name = p.required_str("crawler_name", "the Glue crawler to wait for")?;
        p.accept("deferrable");
        Ok(GlueCrawlerSensor {
            aws,
            settings,
            crawler_name,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glue))?;
        let (glue, name) = (&glue, self.crawler_name.as_str());
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!("Poking for AWS Glue crawler: {name}"));
            let crawler = get_crawler(glue, name)
                .await?
                .ok_or_else(|| TaskError::fatal(format!("There is no Glue crawler {name}")))?;
            let state = crawler_state(&crawler);
            if state != "READY" {
                return Ok(false);
            }
            ctx.info(&format!("State: {state}"));
            match last_crawl(&crawler) {
                Some((status, _)) if status == "SUCCEEDED" => {
                    ctx.info(&format!("Status: {status}"));
                    Ok(true)
                }
                Some((status, message)) => {
                    let mut text = format!("Status: {status}");
                    if let Some(m) = message.filter(|m| !m.is_empty()) {
                        text.push_str(&format!(" (Glue crawler {name}: {m})"));
                    }
                    Err(TaskError::retryable(text))
                }
                None => Err(TaskError::retryable(format!(
                    "Glue crawler {name} is READY but has never crawled, so there is no crawl \
                     to wait for"
                ))),
            }
        })
        .await
    }

    /// GetCrawler on the crawler.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["glue:GetCrawler"],
            [perms::glue(
                &self.aws,
                &format!("crawler/{}", self.crawler_name),
            )],
        )]
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_glue::operation::get_crawler::GetCrawlerOutput;
    use aws_sdk_glue::types::{CrawlerState, LastCrawlInfo, LastCrawlStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn answer(
        state: CrawlerState,
        last: Option<(LastCrawlStatus, &'static str)>,
    ) -> GetCrawlerOutput {
        let mut c = Crawler::builder().name("c").state(state);
        if let Some((status, message)) = last {
            c = c.last_crawl(
                LastCrawlInfo::builder()
                    .status(status)
                    .error_message(message)
                    .build(),
            );
        }
        GetCrawlerOutput::builder().crawler(c.build()).build()
    }

    #[tokio::test]
    async fn the_crawl_wait_ends_on_ready_and_fails_on_a_cancelled_or_failed_crawl() {
        let running =
            mock!(Client::get_crawler).then_output(|| answer(CrawlerState::Running, None));
        let stopping =
            mock!(Client::get_crawler).then_output(|| answer(CrawlerState::Stopping, None));
        let cancelled = mock!(Client::get_crawler).then_output(|| {
            answer(
                CrawlerState::Ready,
                Some((LastCrawlStatus::Cancelled, "stopped by a user")),
            )
        });
        let failed = mock!(Client::get_crawler).then_output(|| {
            answer(
                CrawlerState::Ready,
                Some((LastCrawlStatus::Failed, "Internal Service Exception")),
            )
        });
        let succeeded = mock!(Client::get_crawler)
            .then_output(|| answer(CrawlerState::Ready, Some((LastCrawlStatus::Succeeded, ""))));
        let glue = mock_client!(
            aws_sdk_glue,
            RuleMode::Sequential,
            [&running, &stopping, &cancelled, &failed, &succeeded]
        );
        assert_eq!(
            crawl_poll(&glue, "c").await.expect("running"),
            Poll::Pending {
                state: "RUNNING".into()
            }
        );
        assert_eq!(
            crawl_poll(&glue, "c").await.expect("stopping"),
            Poll::Pending {
                state: "STOPPING".into()
            }
        );
        let e = crawl_poll(&glue, "c").await.expect_err("cancelled");
        assert_eq!(
            e.message,
            "Glue crawler c: the crawl ended CANCELLED: stopped by a user"
        );
        let e = crawl_poll(&glue, "c").await.expect_err("failed");
        assert!(
            e.message
                .contains("ended FAILED: Internal Service Exception"),
            "{}",
            e.message
        );
        assert!(e.retryable);
        assert_eq!(crawl_poll(&glue, "c").await.expect("done"), Poll::Done(()));
    }
}
