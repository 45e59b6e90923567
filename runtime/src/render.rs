//! `airtask render`: a task's template fields, rendered with Airflow's context.

use std::rc::Rc;

use airtask_core::store::LocalStore;
use airtask_template::{MemoryXcoms, Renderer, TaskContext, XcomSource};
use airtask_workflow::{Task, Workflow};
use jiff::Timestamp;

use crate::cli::RenderArgs;
use crate::clock;
use crate::commands::{EXIT_INVALID, EXIT_OK, usage};
use crate::definition::find_task;
use crate::registry::registry;

/// Parses `--logical-date`: an ISO 8601 instant, a naive date-time (UTC) or a date.
pub(crate) fn parse_logical_date(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(dt)
            .map_err(|e| e.to_string());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "--logical-date '{s}' is not a date; write ISO 8601, e.g. 2025-03-09T06:30:00Z or \
         2025-03-09"
    ))
}

/// XComs for `render`: the `--xcom` values first, then the state store.
struct RenderXcoms {
    given: MemoryXcoms,
    store: LocalStore,
    workflow_id: String,
    run_id: String,
}

impl XcomSource for RenderXcoms {
    fn pull(
        &self,
        task_id: &str,
        key: &str,
        map_index: Option<i64>,
    ) -> Result<Option<serde_json::Value>, String> {
        if let Some(v) = self.given.pull(task_id, key, map_index)? {
            return Ok(Some(v));
        }
        self.store
            .read_xcom(&self.workflow_id, &self.run_id, task_id, map_index, key)
            .map_err(|e| e.to_string())
    }
}

/// Parses `--xcom TASK_ID[:KEY]=JSON`.
fn parse_xcom(s: &str) -> Result<(String, String, serde_json::Value), String> {
    let (lhs, json) = s.split_once('=').ok_or_else(|| {
        format!("--xcom '{s}' has no '='; write TASK_ID=JSON or TASK_ID:KEY=JSON")
    })?;
    let (task, key) = lhs.split_once(':').unwrap_or((lhs, "return_value"));
    if task.is_empty() || key.is_empty() {
        return Err(format!(
            "--xcom '{s}' names no task or key; write TASK_ID=JSON or TASK_ID:KEY=JSON"
        ));
    }
    let value = serde_json::from_str(json).map_err(|e| {
        format!("--xcom '{s}': the value is not JSON ({e}); quote strings: task='\"text\"'")
    })?;
    Ok((task.to_owned(), key.to_owned(), value))
}

fn merged_params(
    wf: &Workflow,
    task: &Task,
    overrides: Option<&str>,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut params = serde_json::Map::new();
    for (k, v) in wf.params.iter().chain(task.params.iter()) {
        params.insert(k.to_owned(), v.to_json());
    }
    if let Some(o) = overrides {
        match serde_json::from_str::<serde_json::Value>(o) {
            Ok(serde_json::Value::Object(m)) => params.extend(m),
            Ok(other) => return Err(format!("--params must be a JSON object, not {other}")),
            Err(e) => return Err(format!("--params is not JSON: {e}")),
        }
    }
    Ok(params)
}

/// The short class name of the task's operator.
fn class_name(task: &Task) -> &str {
    let path = task.implementation.as_deref().unwrap_or(&task.operator);
    path.rsplit('.').next().unwrap_or(path)
}

/// Which task instance: the inputs shared by `render` and `run-task`.
pub(crate) struct Instance<'a> {
    pub(crate) logical_date: Option<&'a str>,
    pub(crate) run_id: Option<&'a str>,
    pub(crate) map_index: i64,
    pub(crate) try_number: u32,
    pub(crate) params: Option<&'a str>,
}

/// The template context of a task instance; errors are usage errors.
pub(crate) fn template_context(
    wf: &Workflow,
    task: &Task,
    inst: &Instance<'_>,
) -> Result<TaskContext, String> {
    let logical_date = inst
        .logical_date
        .map(parse_logical_date)
        .transpose()?
        .unwrap_or_else(clock::now);
    let mut ctx = TaskContext::new(&wf.workflow_id, &task.task_id, logical_date);
    if let Some(run_id) = inst.run_id {
        ctx.run_id = run_id.to_owned();
    }
    ctx.map_index = inst.map_index;
    ctx.try_number = inst.try_number;
    ctx.params = merged_params(wf, task, inst.params)?;
    ctx.operator_name = class_name(task).to_owned();
    ctx.retries = task.retries;
    ctx.now = clock::now();
    Ok(ctx)
}

/// Renders the operator's template fields of `task`: field -> rendered value.
pub(crate) fn render_template_fields(
    task: &Task,
    renderer: &Renderer,
) -> Result<serde_json::Map<String, serde_json::Value>, airtask_template::FieldError> {
    let reg = registry();
    let fields = task
        .implementation
        .as_deref()
        .and_then(|p| reg.lookup(p))
        .map_or(&[][..], |o| o.spec().template_fields);
    let mut out = serde_json::Map::new();
    for field in fields {
        if let Some(p) = task.parameter(field) {
            out.insert(
                (*field).to_owned(),
                renderer.render_field(field, &p.value.to_json())?,
            );
        }
    }
    Ok(out)
}

/// XComs for a task instance: values given on the command line, then the state store.
pub(crate) fn xcom_source(
    given: Vec<(String, String, serde_json::Value)>,
    state_dir: &std::path::Path,
    wf: &Workflow,
    run_id: &str,
) -> Rc<dyn XcomSource> {
    Rc::new(RenderXcoms {
        given: MemoryXcoms(given),
        store: LocalStore::new(state_dir),
        workflow_id: wf.workflow_id.clone(),
        run_id: run_id.to_owned(),
    })
}

/// `airtask render`.
pub(crate) fn render(args: &RenderArgs) -> u8 {
    let rt = match crate::commands::async_runtime() {
        Ok(rt) => rt,
        Err(e) => return usage(&e),
    };
    // An s3:// definition and an S3 store are read as the execution role when
    // AIRTASK_EXECUTION_ROLE_ARN is set.
    let identity = match crate::identity::Roles::resolve(&crate::cli::RoleArgs::default()) {
        Ok(r) => crate::identity::Identity::new(r),
        Err(e) => return usage(&e),
    };
    let session = airtask_aws::identity::session_name(
        &crate::definition::stem(&args.instance.file),
        &args.instance.task_id,
        args.try_number,
    );
    let (source, wf) = match rt.block_on(crate::definition::load_valid_as(
        &args.instance.file,
        args.instance.source.version_id.as_deref(),
        EXIT_INVALID,
        &identity,
        &session,
        EXIT_INVALID,
    )) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let task = match find_task(&wf, &args.instance.task_id) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let mut xcoms = Vec::new();
    for x in &args.xcoms {
        match parse_xcom(x) {
            Ok(v) => xcoms.push(v),
            Err(e) => return usage(&e),
        }
    }
    let inst = Instance {
        logical_date: args.instance.logical_date.as_deref(),
        run_id: args.instance.run_id.as_deref(),
        map_index: args.instance.map_index,
        try_number: args.try_number,
        params: args.instance.params.as_deref(),
    };
    let ctx = match template_context(&wf, task, &inst) {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    // With an S3 store, the run's XComs are brought into a private working directory first.
    let session =
        airtask_aws::identity::session_name(&wf.workflow_id, &task.task_id, inst.try_number);
    let state = match rt.block_on(async {
        let state = crate::state::State::open(
            &args.instance.state_dir,
            args.instance.store.as_deref(),
            &identity,
            &session,
        )
        .await?;
        state.pull_run(&wf.workflow_id, &ctx.run_id).await?;
        Ok::<_, String>(state)
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{source}: error: cannot read the XCom store: {e}");
            return EXIT_INVALID;
        }
    };
    let renderer = match Renderer::new(
        &ctx,
        xcom_source(xcoms, state.local().root(), &wf, &ctx.run_id),
    ) {
        Ok(r) => r,
        Err(e) => return usage(&format!("--logical-date is out of range: {e}")),
    };
    match render_template_fields(task, &renderer) {
        Ok(out) => {
            outln!("{}", serde_json::Value::Object(out));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{source}: error: task '{}': {e}", task.task_id);
            EXIT_INVALID
        }
    }
}
