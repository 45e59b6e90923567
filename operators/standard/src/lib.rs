//! Airflow's standard operators, which run with no AWS account at all: `EmptyOperator` and
//! `BashOperator`.

mod bash;

use airtask_core::{
    BoxFuture, Outcome, Params, TaskContext, TaskError, legacy::Operator, legacy::OperatorInfo,
};

pub use bash::BashOperator;

/// `EmptyOperator`: does nothing and succeeds.
#[derive(Debug, Default)]
pub struct EmptyOperator;

impl Operator for EmptyOperator {
    fn execute<'a>(
        &'a mut self,
        _ctx: &'a TaskContext,
    ) -> BoxFuture<'a, Result<Outcome, TaskError>> {
        Box::pin(async { Ok(Outcome::Success(None)) })
    }
}

fn build_empty(_: &Params) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(EmptyOperator))
}

/// `EmptyOperator` (Airflow 2's `DummyOperator` too).
pub const EMPTY: OperatorInfo = OperatorInfo {
    class_path: "airflow.providers.standard.operators.empty.EmptyOperator",
    aliases: &[
        "airflow.operators.empty.EmptyOperator",
        "airflow.operators.dummy.DummyOperator",
        "airflow.operators.dummy_operator.DummyOperator",
    ],
    template_fields: &[],
    aws: false,
    build: build_empty,
};

/// `BashOperator`: runs a shell command.
pub const BASH: OperatorInfo = OperatorInfo {
    class_path: "airflow.providers.standard.operators.bash.BashOperator",
    aliases: &[
        "airflow.operators.bash.BashOperator",
        "airflow.operators.bash_operator.BashOperator",
    ],
    template_fields: &["bash_command", "env", "cwd"],
    aws: false,
    build: bash::build,
};

/// Every operator of this crate.
pub const OPERATORS: &[OperatorInfo] = &[EMPTY, BASH];
