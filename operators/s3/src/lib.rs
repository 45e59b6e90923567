//! The Amazon provider's S3 operators and sensors, with the provider's parameters, template
//! fields and XCom values (see the README for where airtask departs from the provider on
//! purpose). Every operator runs with the task's AWS identity from the runtime.

mod bucket;
mod common;
mod create_object;
mod key_sensor;
mod keys_unchanged;
mod list;
mod objects;
mod select;
mod transform;

use airtask_core::legacy::OperatorInfo;

/// The provider's module paths.
macro_rules! op {
    ($name:ident, $module:literal, $class:literal, [$($legacy:literal),*], [$($field:literal),*], $build:path) => {
        #[doc = concat!("`", $class, "`.")]
        pub const $name: OperatorInfo = OperatorInfo {
            class_path: concat!("airflow.providers.amazon.aws.", $module, ".", $class),
            aliases: &[$(concat!($legacy, ".", $class)),*],
            // The operator's own fields and the AWS ones, sorted, as the provider's
            // `aws_template_fields`.
            template_fields: &[$($field),*],
            aws: true,
            build: $build,
        };
    };
}

op!(
    LIST,
    "operators.s3",
    "S3ListOperator",
    ["airflow.providers.amazon.aws.operators.s3_list"],
    [
        "aws_conn_id",
        "bucket",
        "delimiter",
        "prefix",
        "region_name",
        "verify"
    ],
    list::build_list
);
op!(
    LIST_PREFIXES,
    "operators.s3",
    "S3ListPrefixesOperator",
    ["airflow.providers.amazon.aws.operators.s3_list_prefixes"],
    [
        "aws_conn_id",
        "bucket",
        "delimiter",
        "prefix",
        "region_name",
        "verify"
    ],
    list::build_list_prefixes
);
op!(
    CREATE_BUCKET,
    "operators.s3",
    "S3CreateBucketOperator",
    ["airflow.providers.amazon.aws.operators.s3_bucket"],
    [
        "aws_conn_id",
        "bucket_name",
        "bucket_namespace",
        "region_name",
        "verify"
    ],
    bucket::build_create
);
op!(
    DELETE_BUCKET,
    "operators.s3",
    "S3DeleteBucketOperator",
    ["airflow.providers.amazon.aws.operators.s3_bucket"],
    ["aws_conn_id", "bucket_name", "region_name", "verify"],
    bucket::build_delete
);
op!(
    CREATE_OBJECT,
    "operators.s3",
    "S3CreateObjectOperator",
    [],
    [
        "aws_conn_id",
        "data",
        "region_name",
        "s3_bucket",
        "s3_key",
        "verify"
    ],
    create_object::build
);
op!(
    COPY_OBJECT,
    "operators.s3",
    "S3CopyObjectOperator",
    ["airflow.providers.amazon.aws.operators.s3_copy_object"],
    [
        "aws_conn_id",
        "dest_bucket_key",
        "dest_bucket_name",
        "region_name",
        "source_bucket_key",
        "source_bucket_name",
        "verify"
    ],
    objects::build_copy
);
op!(
    DELETE_OBJECTS,
    "operators.s3",
    "S3DeleteObjectsOperator",
    ["airflow.providers.amazon.aws.operators.s3_delete_objects"],
    [
        "aws_conn_id",
        "bucket",
        "from_datetime",
        "keys",
        "prefix",
        "region_name",
        "to_datetime",
        "verify"
    ],
    objects::build_delete
);
op!(
    GET_BUCKET_TAGGING,
    "operators.s3",
    "S3GetBucketTaggingOperator",
    ["airflow.providers.amazon.aws.operators.s3_bucket_tagging"],
    ["aws_conn_id", "bucket_name", "region_name", "verify"],
    bucket::build_get_tags
);
op!(
    PUT_BUCKET_TAGGING,
    "operators.s3",
    "S3PutBucketTaggingOperator",
    ["airflow.providers.amazon.aws.operators.s3_bucket_tagging"],
    ["aws_conn_id", "bucket_name", "region_name", "verify"],
    bucket::build_put_tags
);
op!(
    DELETE_BUCKET_TAGGING,
    "operators.s3",
    "S3DeleteBucketTaggingOperator",
    ["airflow.providers.amazon.aws.operators.s3_bucket_tagging"],
    ["aws_conn_id", "bucket_name", "region_name", "verify"],
    bucket::build_delete_tags
);
op!(
    FILE_TRANSFORM,
    "operators.s3",
    "S3FileTransformOperator",
    ["airflow.providers.amazon.aws.operators.s3_file_transform"],
    [
        "dest_aws_conn_id",
        "dest_s3_key",
        "script_args",
        "source_aws_conn_id",
        "source_s3_key"
    ],
    transform::build
);
op!(
    KEY_SENSOR,
    "sensors.s3",
    "S3KeySensor",
    [
        "airflow.providers.amazon.aws.sensors.s3_key",
        "airflow.sensors.s3_key_sensor"
    ],
    [
        "aws_conn_id",
        "bucket_key",
        "bucket_name",
        "region_name",
        "verify"
    ],
    key_sensor::build
);
op!(
    KEYS_UNCHANGED_SENSOR,
    "sensors.s3",
    "S3KeysUnchangedSensor",
    ["airflow.providers.amazon.aws.sensors.s3_keys_unchanged"],
    [
        "aws_conn_id",
        "bucket_name",
        "prefix",
        "region_name",
        "verify"
    ],
    keys_unchanged::build
);

/// Every operator of this crate.
pub const OPERATORS: &[OperatorInfo] = &[
    LIST,
    LIST_PREFIXES,
    CREATE_BUCKET,
    DELETE_BUCKET,
    CREATE_OBJECT,
    COPY_OBJECT,
    DELETE_OBJECTS,
    GET_BUCKET_TAGGING,
    PUT_BUCKET_TAGGING,
    DELETE_BUCKET_TAGGING,
    FILE_TRANSFORM,
    KEY_SENSOR,
    KEYS_UNCHANGED_SENSOR,
];
