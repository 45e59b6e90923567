//! Airflow's standard operators, which run with no AWS account at all: `EmptyOperator` and
//! `BashOperator`.

mod bash;

use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, RegistryBuilder, TaskContext,
    TaskError,
};

pub use bash::BashOperator;

/// Registers the operators of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<EmptyOperator>().register::<BashOperator>()
}

/// `EmptyOperator` (Airflow 2's `DummyOperator` too): does nothing and succeeds. It takes no
/// parameters; any is refused, as Airflow refuses it ("Invalid arguments were passed").
#[derive(Debug, Default)]
pub struct EmptyOperator;

impl Operator for EmptyOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.standard.operators.empty.EmptyOperator",
        aliases: &[
            "airflow.operators.empty.EmptyOperator",
            "airflow.operators.dummy.DummyOperator",
            "airflow.operators.dummy_operator.DummyOperator",
        ],
        template_fields: &[],
        calls_aws: false,
    };

    fn from_params(_: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(EmptyOperator)
    }

    async fn execute(&mut self, _: &TaskContext) -> Result<Outcome, TaskError> {
        Ok(Outcome::Success(None))
    }
}
