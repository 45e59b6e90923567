//! Airflow's standard operators, which run with no AWS account at all: `EmptyOperator` and
//! `BashOperator`. This crate declares their class paths and aliases; their execution arrives
//! with the Operator trait.

use airtask_core::OperatorInfo;

/// `EmptyOperator`: does nothing and succeeds (Airflow 2's `DummyOperator` too).
pub const EMPTY: OperatorInfo = OperatorInfo {
    class_path: "airflow.providers.standard.operators.empty.EmptyOperator",
    aliases: &[
        "airflow.operators.empty.EmptyOperator",
        "airflow.operators.dummy.DummyOperator",
        "airflow.operators.dummy_operator.DummyOperator",
    ],
    template_fields: &[],
};

/// `BashOperator`: runs a shell command.
pub const BASH: OperatorInfo = OperatorInfo {
    class_path: "airflow.providers.standard.operators.bash.BashOperator",
    aliases: &[
        "airflow.operators.bash.BashOperator",
        "airflow.operators.bash_operator.BashOperator",
    ],
    template_fields: &["bash_command", "env", "cwd"],
};

/// Every operator of this crate.
pub const OPERATORS: &[OperatorInfo] = &[EMPTY, BASH];
