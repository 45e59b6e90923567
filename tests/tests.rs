//! End-to-end tests: the real `airtask` binary, real files, the local AWS endpoint.

mod cli;
mod corpus;
mod glue;
mod identity;
mod logs;
mod malformed;
mod render;
mod run;
mod run_task;
mod s3;
mod s3_operators;
mod task_logs;
mod templates;
mod validate_params;
