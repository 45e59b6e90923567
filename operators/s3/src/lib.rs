//! The Amazon provider's S3 operators and sensors, with the provider's parameters, template
//! fields and XCom values (see the README for where airtask departs from the provider on
//! purpose). Every operator runs with the task's AWS identity from the runtime.

mod common;
mod create_object;
mod key_sensor;

use airtask_core::OperatorInfo;

/// `S3CreateObjectOperator`.
pub const CREATE_OBJECT: OperatorInfo = OperatorInfo {
    class_path: "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator",
    aliases: &[],
    template_fields: &[
        "s3_bucket",
        "s3_key",
        "data",
        "aws_conn_id",
        "region_name",
        "verify",
    ],
    aws: true,
    build: create_object::build,
};

/// `S3KeySensor`.
pub const KEY_SENSOR: OperatorInfo = OperatorInfo {
    class_path: "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
    aliases: &["airflow.sensors.s3_key_sensor.S3KeySensor"],
    template_fields: &[
        "bucket_key",
        "bucket_name",
        "aws_conn_id",
        "region_name",
        "verify",
    ],
    aws: true,
    build: key_sensor::build,
};

/// Every operator of this crate.
pub const OPERATORS: &[OperatorInfo] = &[CREATE_OBJECT, KEY_SENSOR];
