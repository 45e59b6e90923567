//! The validated workflow model: what the rest of airtask works from.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::cron::Schedule;
use crate::diag::Pos;
use crate::value::{Map, Value};

/// A loaded, validated workflow (an Airflow DAG).
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// The workflow id: the top-level key of the definition (dag-factory ignores an inner
    /// `dag_id`).
    pub workflow_id: String,
    /// The schedule; `None` means the workflow only runs when started by hand.
    pub schedule: Option<Schedule>,
    /// The first logical date, in UTC.
    pub start_date: Option<Timestamp>,
    /// The last logical date, in UTC.
    pub end_date: Option<Timestamp>,
    /// The workflow's time zone, in which a five-field cron schedule is read: the time zone
    /// its start date was given in (`timezone`, or `default_args.timezone` for a start date in
    /// `default_args`), UTC by default.
    pub timezone: TimeZone,
    /// The most runs of this workflow at once (MWAA Serverless allows at most 20).
    pub max_active_runs: u32,
    /// The workflow's params (`{{ params.x }}`), values only.
    pub params: Map,
    /// The tasks, in a topological order: every task comes after all its upstream tasks.
    pub tasks: Vec<Task>,
}

impl Workflow {
    /// Up to `count` times the workflow's schedule fires after `now` (see
    /// [`Schedule::next_runs`]); empty when it has no schedule.
    pub fn next_runs(&self, now: Timestamp, count: usize) -> Vec<Timestamp> {
        self.schedule.as_ref().map_or_else(Vec::new, |s| {
            s.next_runs(now, self.start_date, self.end_date, &self.timezone, count)
        })
    }

    /// The task with this id.
    pub fn task(&self, task_id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task_id == task_id)
    }
}

/// One task of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The task id (dotted for tasks in task groups: `group.sub.task`).
    pub task_id: String,
    /// The operator class path as written in the definition.
    pub operator: String,
    /// The canonical class path of the implementation (aliases resolved), when this runtime
    /// implements the operator.
    pub implementation: Option<String>,
    /// The operator's parameters: every key of the task that is not one of Airflow's task
    /// settings, plus `default_args` entries (marked) and `partial` entries of a mapped task.
    pub parameters: Vec<Parameter>,
    /// The ids of the upstream tasks, in definition order.
    pub upstream: Vec<String>,
    /// When the task runs, given its upstream tasks' outcomes.
    pub trigger_rule: TriggerRule,
    /// How many times a failed try is retried (0 to 3).
    pub retries: u32,
    /// The wait between tries (0 to 300 s; 300 s when absent).
    pub retry_delay: SignedDuration,
    /// The limit on one try (at most 3600 s, which is also the default).
    pub execution_timeout: SignedDuration,
    /// Task-level params (`params:` of the task), to be laid over the workflow's params.
    pub params: Map,
    /// The IAM role the task's operator runs as (`role_arn` or `task_iam_role_arn`).
    pub role_arn: Option<String>,
    /// Whether the operator's return value is pushed to XCom (`do_xcom_push`, default true).
    pub do_xcom_push: bool,
    /// Dynamic task mapping (`expand`), if the task is mapped.
    pub mapping: Option<Mapping>,
    /// The assets the task updates when it succeeds (`outlets`). Only a real Airflow scheduler
    /// acts on them (airtask reports them when it is Airflow's task runner).
    pub outlets: Vec<Asset>,
    /// Where the task is defined.
    pub pos: Pos,
}

impl Task {
    /// The parameter named `name`.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

/// An Airflow asset a task updates (`{__type__: airflow.sdk.Asset, name: ..., uri: ...}`): as in
/// Airflow, a missing name is the URI and a missing URI the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// The asset's name.
    pub name: String,
    /// The asset's URI.
    pub uri: String,
}

/// One operator parameter of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The parameter name (an operator constructor argument).
    pub name: String,
    /// Its value.
    pub value: Value,
    /// Where it is written.
    pub pos: Pos,
    /// Where the value comes from.
    pub origin: Origin,
}

/// Where a task parameter's value comes from. Airflow applies `default_args` only to operators
/// that take the argument, so an operator ignores unknown parameters that came from defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Written on the task itself.
    Task,
    /// From `partial:` of a mapped task.
    Partial,
    /// From the `default_args` of the task's group or of the workflow.
    DefaultArgs,
}

/// Dynamic task mapping: one task instance per element (`expand`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The expanded arguments, in order; instances are the cross product of all of them.
    pub expand: Vec<(String, MapSource)>,
}

/// Where a mapped argument's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum MapSource {
    /// A literal list in the definition.
    Values(Vec<Value>),
    /// The XCom `return_value` of an upstream task (`task.output`, `XcomArg(task)`, `+task`).
    Xcom {
        /// The upstream task.
        task_id: String,
    },
}

/// Airflow 3's trigger rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum TriggerRule {
    AllSuccess,
    AllFailed,
    AllDone,
    AllDoneSetupSuccess,
    OneSuccess,
    OneFailed,
    OneDone,
    NoneFailed,
    NoneFailedMinOneSuccess,
    NoneSkipped,
    AllSkipped,
    Always,
}

impl TriggerRule {
    /// Every rule, in Airflow's documentation order.
    pub const ALL: [TriggerRule; 12] = [
        TriggerRule::AllSuccess,
        TriggerRule::AllFailed,
        TriggerRule::AllDone,
        TriggerRule::AllDoneSetupSuccess,
        TriggerRule::OneSuccess,
        TriggerRule::OneFailed,
        TriggerRule::OneDone,
        TriggerRule::NoneFailed,
        TriggerRule::NoneFailedMinOneSuccess,
        TriggerRule::NoneSkipped,
        TriggerRule::AllSkipped,
        TriggerRule::Always,
    ];

    /// The name Airflow uses (`all_success`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerRule::AllSuccess => "all_success",
            TriggerRule::AllFailed => "all_failed",
            TriggerRule::AllDone => "all_done",
            TriggerRule::AllDoneSetupSuccess => "all_done_setup_success",
            TriggerRule::OneSuccess => "one_success",
            TriggerRule::OneFailed => "one_failed",
            TriggerRule::OneDone => "one_done",
            TriggerRule::NoneFailed => "none_failed",
            TriggerRule::NoneFailedMinOneSuccess => "none_failed_min_one_success",
            TriggerRule::NoneSkipped => "none_skipped",
            TriggerRule::AllSkipped => "all_skipped",
            TriggerRule::Always => "always",
        }
    }

    /// Parses Airflow's name of a rule.
    pub fn parse(s: &str) -> Option<TriggerRule> {
        TriggerRule::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Looks up operator class paths: which ones this runtime implements, under which canonical
/// name. Implemented by the operator registry of `airtask-core`; the loader stays free of it.
pub trait OperatorCatalog {
    /// The canonical class path of the implementation of `class_path` (an alias or the
    /// canonical path itself), or `None` when it is not implemented.
    fn resolve(&self, class_path: &str) -> Option<&str>;
    /// The canonical class paths of every implemented operator, for error messages.
    fn implemented(&self) -> Vec<&str>;
}
