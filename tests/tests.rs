//! End-to-end tests: the real `airtask` binary, real files, the local AWS endpoint.

mod airflow_api;
mod airflow_real;
mod athena;
mod cli;
mod corpus;
mod dynamodb;
mod faults;
mod flow;
mod glue;
mod glue_dq;
mod identity;
mod lambda;
mod logs;
mod malformed;
mod real_world;
mod redshift;
mod render;
mod run;
mod run_task;
mod s3;
mod s3_operators;
mod task_logs;
mod templates;
mod validate_params;
