//! Rendering the template fields and building the operator of one try, on a thread of its own
//! so that the try's timeout and signals can interrupt a template that loops for long.

use std::rc::Rc;
use std::sync::Arc;

use airtask_core::store::LocalStore;
use airtask_workflow::Task;
use tokio::sync::watch;

use super::xcom::WatchedXcoms;
use crate::render::{render_template_fields, xcom_source};
use crate::tasklog::TaskLog;
use airtask_template::Renderer;

/// The operator built for one try, with what it declares about itself.
pub(super) type Prepared = (
    airtask_core::BuiltOperator,
    &'static airtask_core::OperatorSpec,
);

/// What rendering and building the operator of one try needs, owned: it runs on a thread of
/// its own, so that a template that loops for long can be interrupted.
pub(super) struct PrepJob {
    pub(super) map_index: i64,
    pub(super) workflow_id: String,
    pub(super) store: LocalStore,
    pub(super) task: Task,
    pub(super) tctx: airtask_template::TaskContext,
    pub(super) info: Option<&'static airtask_core::Entry>,
    pub(super) log: Arc<TaskLog>,
}

/// Renders and builds the operator on a thread of its own, interrupting the rendering when
/// `deadline` passes or `stop` is set.
pub(super) async fn prepare_cancellable(
    job: PrepJob,
    deadline: tokio::time::Instant,
    stop: &mut watch::Receiver<bool>,
) -> Result<Prepared, Prep> {
    let interrupt = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupt.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("render".into())
        // Deeply nested templates are refused well before this stack runs out.
        .stack_size(32 * 1024 * 1024)
        .spawn(move || {
            let r = prepare(
                job.map_index,
                &job.workflow_id,
                &job.store,
                &job.task,
                &job.tctx,
                job.info,
                &job.log,
                flag,
            );
            let _ = tx.send(r);
        })
        .map_err(|e| {
            Prep::Infra(format!(
                "cannot start a thread to render the templates: {e}"
            ))
        })?;
    let cancel = |why: Prep| {
        interrupt.store(true, std::sync::atomic::Ordering::Relaxed);
        Err(why)
    };
    tokio::select! {
        r = rx => r.unwrap_or_else(|_| Err(Prep::Infra("the rendering thread ended".into()))),
        () = tokio::time::sleep_until(deadline) => cancel(Prep::TimedOut),
        _ = stop.wait_for(|s| *s) => cancel(Prep::Stopped),
    }
}

/// Renders the template fields and builds the operator for one try.
#[allow(clippy::too_many_arguments)]
fn prepare(
    map_index: i64,
    wid: &str,
    store: &LocalStore,
    task: &Task,
    tctx: &airtask_template::TaskContext,
    info: Option<&'static airtask_core::Entry>,
    log: &TaskLog,
    interrupt: Arc<std::sync::atomic::AtomicBool>,
) -> Result<Prepared, Prep> {
    let store_error = Rc::new(std::cell::RefCell::new(None));
    let xcoms = Rc::new(WatchedXcoms {
        inner: xcom_source(Vec::new(), store.root(), wid, &tctx.run_id),
        failed: store_error.clone(),
    });
    let renderer = Renderer::new(tctx, xcoms)
        .map_err(|e| Prep::Invalid(format!("--logical-date is out of range: {e}")))?
        .with_interrupt(interrupt);
    let rendered = render_template_fields(task, &renderer).map_err(|e| {
        // An XCom that cannot be read is the state's failure, not the template's; a template
        // that runs out of its bounds (RecursionError, MemoryError) fails the try as the
        // Python exception fails Airflow's.
        match store_error.borrow_mut().take() {
            Some(store) => Prep::Infra(format!("{e} (the state cannot be read: {store})")),
            None if matches!(e.error.class, "RecursionError" | "MemoryError") => {
                Prep::Failed(e.to_string())
            }
            None => Prep::Invalid(e.to_string()),
        }
    })?;
    let mut params = airtask_core::Params::new();
    // default_args entries apply only to operators that take them, as in Airflow: the
    // operator reads them as defaults and does not refuse the others.
    let mut defaults = airtask_core::Params::new();
    for p in &task.parameters {
        let to = if p.origin == airtask_workflow::Origin::DefaultArgs {
            &mut defaults
        } else {
            &mut params
        };
        to.insert(p.name.clone(), p.value.to_json());
    }
    params.extend(rendered);
    if task.mapping.is_some() {
        let values = crate::mapping::expanded_values(task, wid, &tctx.run_id, store)
            .map_err(Prep::Invalid)?;
        let count = crate::mapping::instance_count(&values);
        let index = usize::try_from(map_index)
            .ok()
            .filter(|i| *i < count)
            .ok_or_else(|| {
                Prep::Invalid(format!(
                    "task '{}' is mapped over {count} values; give --map-index 0 to {}",
                    task.task_id,
                    count.saturating_sub(1)
                ))
            })?;
        params.extend(crate::mapping::arguments_of(&values, index));
    }
    let info = info.ok_or_else(|| {
        Prep::Invalid(format!("the operator {} is not implemented", task.operator))
    })?;
    // Values of parameters whose names look secret are masked from here on.
    log.mask(crate::tasklog::sensitive_values(&params));
    info.build_with_defaults(&params, &defaults)
        .map(|op| (op, info.spec()))
        .map_err(|e| Prep::Invalid(format!("task '{}': {e}", task.task_id)))
}

/// Why a try could not be prepared.
pub(super) enum Prep {
    /// A template or a parameter is wrong (exit 2).
    Invalid(String),
    /// A template ran out of its bounds (exit 1).
    Failed(String),
    /// The state cannot be read (exit 5).
    Infra(String),
    /// The execution_timeout ran out while rendering (exit 3).
    TimedOut,
    /// SIGTERM or SIGINT while rendering (exit 4).
    Stopped,
}
