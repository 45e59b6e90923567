//! The Amazon provider's AppFlow operators: `AppflowRunOperator` (run a flow as it is),
//! `AppflowRunFullOperator` (remove the flow's filters, then run it), `AppflowRunBeforeOperator`,
//! `AppflowRunAfterOperator` and `AppflowRunDailyOperator` (replace the filters by one on a
//! date field, then run it), each pushing the run's `execution_id` as XCom; and
//! `AppflowRecordsShortCircuitOperator`, which reads how many records a run processed and, when
//! none, skips the tasks downstream as Airflow's ShortCircuitOperator does. Parameters,
//! defaults, template fields and messages are the provider's (see docs/operators/appflow.md
//! for where airtask departs from it). All run with the task's AWS identity.

mod date;
mod flow;
mod run;
mod short_circuit;

use airtask_core::RegistryBuilder;

pub use run::{
    AppflowRunAfterOperator, AppflowRunBeforeOperator, AppflowRunDailyOperator,
    AppflowRunFullOperator, AppflowRunOperator,
};
pub use short_circuit::AppflowRecordsShortCircuitOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<AppflowRunOperator>()
        .register::<AppflowRunFullOperator>()
        .register::<AppflowRunBeforeOperator>()
        .register::<AppflowRunAfterOperator>()
        .register::<AppflowRunDailyOperator>()
        .register::<AppflowRecordsShortCircuitOperator>()
}
