//! `LambdaCreateFunctionOperator`: creates a function, optionally waits until it is Active,
//! and pushes its ARN.

use airtask_aws::AwsParams;
use airtask_core::params::describe;
use airtask_core::permissions::global_arn;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    ApplicationLogLevel, Architecture, DeadLetterConfig, Environment, EphemeralStorage,
    FileSystemConfig, FunctionCode, ImageConfig, LogFormat, LoggingConfig, PackageType, Runtime,
    SnapStart, SnapStartApplyOn, SystemLogLevel, TracingConfig, TracingMode, VpcConfig,
};
use serde_json::{Map, Value};

use crate::common::{client, function_arn, function_state};

const NAME: &str = "LambdaCreateFunctionOperator";

/// The keys `config` takes: the provider's `LambdaHook.create_lambda` keyword arguments.
const CONFIG_KEYS: [&str; 17] = [
    "architectures",
    "code_signing_config_arn",
    "dead_letter_config",
    "environment",
    "ephemeral_storage",
    "file_system_configs",
    "image_config",
    "kms_key_arn",
    "layers",
    "logging_config",
    "memory_size",
    "package_type",
    "publish",
    "snap_start",
    "tags",
    "tracing_config",
    "vpc_config",
];

/// Everything CreateFunction is sent, checked when the operator is built.
#[derive(Debug, Clone, Default)]
struct Request {
    runtime: Option<Runtime>,
    handler: Option<String>,
    code: Option<FunctionCode>,
    description: Option<String>,
    timeout: Option<i32>,
    memory_size: Option<i32>,
    publish: Option<bool>,
    vpc_config: Option<VpcConfig>,
    package_type: Option<PackageType>,
    dead_letter_config: Option<DeadLetterConfig>,
    environment: Option<Environment>,
    kms_key_arn: Option<String>,
    tracing_config: Option<TracingConfig>,
    tags: Option<Vec<(String, String)>>,
    layers: Option<Vec<String>>,
    file_system_configs: Option<Vec<FileSystemConfig>>,
    image_config: Option<ImageConfig>,
    code_signing_config_arn: Option<String>,
    architectures: Option<Vec<Architecture>>,
    ephemeral_storage: Option<EphemeralStorage>,
    snap_start: Option<SnapStart>,
    logging_config: Option<LoggingConfig>,
}

/// A configured `LambdaCreateFunctionOperator`.
#[derive(Debug)]
pub struct LambdaCreateFunctionOperator {
    aws: AwsParams,
    function_name: String,
    role: String,
    request: Request,
    wait_for_completion: bool,
    wait: WaitSettings,
}

impl Operator for LambdaCreateFunctionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.lambda_function.LambdaCreateFunctionOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "code",
            "config",
            "function_name",
            "handler",
            "region_name",
            "role",
            "runtime",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let function_name =
            p.required_str("function_name", "the name of the Lambda function to create")?;
        let role = p.required_str(
            "role",
            "the ARN of the function's execution role (arn:aws:iam::ACCOUNT:role/NAME)",
        )?;
        let runtime = p.str("runtime")?;
        let handler = p.str("handler")?;
        let code = match p.map("code")? {
            Some(code) => function_code(code)?,
            None if !p.rendered() => FunctionCode::builder().build(),
            None => {
                return Err(ParamError::at(
                    "code",
                    format!(
                        "{NAME} needs `code`: a mapping with ZipFile, S3Bucket + S3Key (and \
                         S3ObjectVersion), or ImageUri"
                    ),
                ));
            }
        };
        let description = p.str("description")?;
        let timeout = p
            .i64("timeout", 1..=900)?
            .map(|t| i32::try_from(t).unwrap_or(900));
        let mut request = Request {
            runtime: runtime.map(|r| Runtime::from(r.as_str())),
            handler,
            code: Some(code),
            description,
            timeout,
            ..Request::default()
        };
        if let Some(config) = p.map("config")? {
            read_config(config, &mut request)?;
        }
        if request.package_type == Some(PackageType::Zip) {
            for (name, missing) in [
                ("handler", request.handler.is_none()),
                ("runtime", request.runtime.is_none()),
            ] {
                if missing {
                    return Err(ParamError::at(
                        name,
                        format!(
                            "{NAME} needs `{name}` when config.package_type is Zip (Airflow: \
                             Parameter '{name}' is required if 'package_type' is 'Zip')"
                        ),
                    ));
                }
            }
        }
        // The provider's synchronous wait is botocore's function_active_v2 waiter: every 1 s,
        // 300 attempts. waiter_delay and waiter_max_attempts, when given, are honoured.
        let wait_for_completion = p.bool("wait_for_completion", false)?;
        let wait = WaitSettings::read(p, 1, 300)?;
        Ok(LambdaCreateFunctionOperator {
            aws,
            function_name,
            role,
            request,
            wait_for_completion: wait_for_completion || wait.deferrable,
            wait,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let name = self.function_name.clone();
        ctx.info(&format!("Creating AWS Lambda function: {name}"));
        let lambda = client(ctx, self.aws.region())?;
        let call = self.request.apply(
            lambda
                .create_function()
                .function_name(&name)
                .role(&self.role),
        );
        let out = call.send().await.map_err(|e| {
            airtask_aws::error::task_error(&format!("CreateFunction of {name}"), &e)
        })?;
        let arn = out.function_arn().unwrap_or_default().to_owned();
        ctx.info(&format!(
            "Lambda response: {{'FunctionName': '{}', 'FunctionArn': '{arn}', 'State': '{}', \
             'Version': '{}'}}",
            out.function_name().unwrap_or(&name),
            out.state().map_or("None", |s| s.as_str()),
            out.version().unwrap_or_default()
        ));
        if self.wait_for_completion {
            ctx.info("Wait for Lambda function to be active");
            let lambda = &lambda;
            let name = &name;
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Lambda function {name}"),
                || async move {
                    let s = function_state(lambda, name, None).await?;
                    match s.state.as_str() {
                        "Active" => Ok(Poll::Done(())),
                        "Failed" => Err(TaskError::fatal(format!(
                            "The Lambda function {name} was created but is in state Failed: {}",
                            s.reason.as_deref().unwrap_or("AWS gives no reason")
                        ))),
                        _ => Ok(Poll::Pending { state: s.state }),
                    }
                },
            )
            .await?;
        }
        Ok(Outcome::Success(Some(Value::String(arn))))
    }

    /// CreateFunction on the function and `iam:PassRole` on `role`; GetFunction with
    /// `wait_for_completion`. What Lambda reads with the caller's identity: the code's S3
    /// object (`code.S3Bucket`/`S3Key`), the `layers`, and with `vpc_config` the VPC's
    /// subnets and security groups (EC2 Describe calls, not scoped to resources).
    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["lambda:CreateFunction"];
        if self.wait_for_completion {
            actions.push("lambda:GetFunction");
        }
        let mut out = vec![
            Permission::new(
                &actions,
                [function_arn(&self.aws, &self.function_name, None)],
            ),
            Permission::new(&["iam:PassRole"], [self.role.clone()]),
        ];
        let code = self.request.code.as_ref();
        if let (Some(bucket), Some(key)) = (
            code.and_then(FunctionCode::s3_bucket),
            code.and_then(FunctionCode::s3_key),
        ) {
            let get: &[&str] = if code.and_then(FunctionCode::s3_object_version).is_some() {
                &["s3:GetObject", "s3:GetObjectVersion"]
            } else {
                &["s3:GetObject"]
            };
            out.push(Permission::new(
                get,
                [global_arn("s3", &format!("{bucket}/{key}"))],
            ));
        }
        if let Some(layers) = self.request.layers.as_ref().filter(|l| !l.is_empty()) {
            out.push(Permission::new(&["lambda:GetLayerVersion"], layers.clone()));
        }
        if self.request.vpc_config.is_some() {
            out.push(Permission::on_any(&[
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ]));
        }
        out
    }
}

impl Request {
    /// Sets everything on the CreateFunction call.
    fn apply(&self, call: CreateFunctionFluentBuilder) -> CreateFunctionFluentBuilder {
        let mut call = call
            .set_runtime(self.runtime.clone())
            .set_handler(self.handler.clone())
            .set_code(self.code.clone())
            .set_description(self.description.clone())
            .set_timeout(self.timeout)
            .set_memory_size(self.memory_size)
            .set_publish(self.publish)
            .set_vpc_config(self.vpc_config.clone())
            .set_package_type(self.package_type.clone())
            .set_dead_letter_config(self.dead_letter_config.clone())
            .set_environment(self.environment.clone())
            .set_kms_key_arn(self.kms_key_arn.clone())
            .set_tracing_config(self.tracing_config.clone())
            .set_layers(self.layers.clone())
            .set_file_system_configs(self.file_system_configs.clone())
            .set_image_config(self.image_config.clone())
            .set_code_signing_config_arn(self.code_signing_config_arn.clone())
            .set_architectures(self.architectures.clone())
            .set_ephemeral_storage(self.ephemeral_storage.clone())
            .set_snap_start(self.snap_start.clone())
            .set_logging_config(self.logging_config.clone());
        for (k, v) in self.tags.iter().flatten() {
            call = call.tags(k, v);
        }
        call
    }
}

fn wrong(what: &str, expected: &str, found: &Value) -> ParamError {
    ParamError::new(format!(
        "{NAME}: {what} must be {expected}, not {}",
        describe(found)
    ))
}

fn string(what: &str, v: &Value) -> Result<String, ParamError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(wrong(what, "a string", other)),
    }
}

fn strings(what: &str, v: &Value) -> Result<Vec<String>, ParamError> {
    match v {
        Value::Array(items) => items.iter().map(|i| string(what, i)).collect(),
        other => Err(wrong(what, "a list of strings", other)),
    }
}

fn object<'a>(what: &str, v: &'a Value) -> Result<&'a Map<String, Value>, ParamError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(wrong(what, "a mapping", other)),
    }
}

fn int(what: &str, v: &Value) -> Result<i32, ParamError> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| wrong(what, "a whole number", v))
}

/// Refuses keys of `m` outside `allowed` (boto3 refuses unknown members).
fn only(what: &str, m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ParamError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ParamError::new(format!(
            "{NAME}: {what} has no key `{k}`; it takes {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// `code`: boto3's `Code` mapping.
fn function_code(m: &Map<String, Value>) -> Result<FunctionCode, ParamError> {
    only(
        "code",
        m,
        &[
            "ZipFile",
            "S3Bucket",
            "S3Key",
            "S3ObjectVersion",
            "ImageUri",
            "SourceKMSKeyArn",
        ],
    )
    .map_err(|e| e.for_param("code"))?;
    let get = |k: &str| -> Result<Option<String>, ParamError> {
        m.get(k)
            .map(|v| string(&format!("code.{k}"), v))
            .transpose()
            .map_err(|e| e.for_param("code"))
    };
    if m.is_empty() {
        return Err(ParamError::at(
            "code",
            format!("{NAME}: `code` is empty; give ZipFile, S3Bucket + S3Key, or ImageUri"),
        ));
    }
    Ok(FunctionCode::builder()
        // YAML holds text, not bytes: ZipFile is sent as the text's UTF-8 bytes, as boto3
        // sends a str.
        .set_zip_file(get("ZipFile")?.map(|z| Blob::new(z.into_bytes())))
        .set_s3_bucket(get("S3Bucket")?)
        .set_s3_key(get("S3Key")?)
        .set_s3_object_version(get("S3ObjectVersion")?)
        .set_image_uri(get("ImageUri")?)
        .set_source_kms_key_arn(get("SourceKMSKeyArn")?)
        .build())
}

/// `config`: the hook's snake_case keyword arguments, each with boto3's value shape.
fn read_config(config: &Map<String, Value>, r: &mut Request) -> Result<(), ParamError> {
    for (key, v) in config {
        let what = format!("config.{key}");
        let what = what.as_str();
        match key.as_str() {
            "memory_size" => r.memory_size = Some(int(what, v)?),
            "publish" => {
                r.publish = Some(v.as_bool().ok_or_else(|| wrong(what, "true or false", v))?);
            }
            "vpc_config" => {
                let m = object(what, v)?;
                only(
                    what,
                    m,
                    &["SubnetIds", "SecurityGroupIds", "Ipv6AllowedForDualStack"],
                )?;
                r.vpc_config = Some(
                    VpcConfig::builder()
                        .set_subnet_ids(m.get("SubnetIds").map(|v| strings(what, v)).transpose()?)
                        .set_security_group_ids(
                            m.get("SecurityGroupIds")
                                .map(|v| strings(what, v))
                                .transpose()?,
                        )
                        .set_ipv6_allowed_for_dual_stack(
                            m.get("Ipv6AllowedForDualStack").and_then(Value::as_bool),
                        )
                        .build(),
                );
            }
            "package_type" => {
                let t = string(what, v)?;
                if t != "Zip" && t != "Image" {
                    return Err(ParamError::new(format!(
                        "{NAME}: config.package_type is '{t}'; Lambda takes Zip or Image"
                    )));
                }
                r.package_type = Some(PackageType::from(t.as_str()));
            }
            "dead_letter_config" => {
                let m = object(what, v)?;
                only(what, m, &["TargetArn"])?;
                r.dead_letter_config = Some(
                    DeadLetterConfig::builder()
                        .set_target_arn(m.get("TargetArn").map(|v| string(what, v)).transpose()?)
                        .build(),
                );
            }
            "environment" => {
                let m = object(what, v)?;
                only(what, m, &["Variables"])?;
                let mut env = Environment::builder();
                if let Some(vars) = m.get("Variables") {
                    for (k, val) in object(what, vars)? {
                        env = env.variables(k, string(what, val)?);
                    }
                }
                r.environment = Some(env.build());
            }
            "kms_key_arn" => r.kms_key_arn = Some(string(what, v)?),
            "tracing_config" => {
                let m = object(what, v)?;
                only(what, m, &["Mode"])?;
                r.tracing_config = Some(
                    TracingConfig::builder()
                        .set_mode(
                            m.get("Mode")
                                .map(|v| string(what, v).map(|s| TracingMode::from(s.as_str())))
                                .transpose()?,
                        )
                        .build(),
                );
            }
            "tags" => {
                let m = object(what, v)?;
                r.tags = Some(
                    m.iter()
                        .map(|(k, val)| Ok((k.clone(), string(what, val)?)))
                        .collect::<Result<_, ParamError>>()?,
                );
            }
            "layers" => r.layers = Some(strings(what, v)?),
            "file_system_configs" => {
                let Value::Array(items) = v else {
                    return Err(wrong(what, "a list of {Arn, LocalMountPath} mappings", v));
                };
                let mut configs = Vec::new();
                for item in items {
                    let m = object(what, item)?;
                    only(what, m, &["Arn", "LocalMountPath"])?;
                    let config = FileSystemConfig::builder()
                        .set_arn(m.get("Arn").map(|v| string(what, v)).transpose()?)
                        .set_local_mount_path(
                            m.get("LocalMountPath")
                                .map(|v| string(what, v))
                                .transpose()?,
                        )
                        .build()
                        .map_err(|_| {
                            ParamError::new(format!(
                                "{NAME}: every entry of {what} needs Arn and LocalMountPath"
                            ))
                        })?;
                    configs.push(config);
                }
                r.file_system_configs = Some(configs);
            }
            "image_config" => {
                let m = object(what, v)?;
                only(what, m, &["EntryPoint", "Command", "WorkingDirectory"])?;
                r.image_config = Some(
                    ImageConfig::builder()
                        .set_entry_point(m.get("EntryPoint").map(|v| strings(what, v)).transpose()?)
                        .set_command(m.get("Command").map(|v| strings(what, v)).transpose()?)
                        .set_working_directory(
                            m.get("WorkingDirectory")
                                .map(|v| string(what, v))
                                .transpose()?,
                        )
                        .build(),
                );
            }
            "code_signing_config_arn" => r.code_signing_config_arn = Some(string(what, v)?),
            "architectures" => {
                let archs = strings(what, v)?;
                if let Some(a) = archs.iter().find(|a| *a != "x86_64" && *a != "arm64") {
                    return Err(ParamError::new(format!(
                        "{NAME}: config.architectures has '{a}'; Lambda takes x86_64 or arm64"
                    )));
                }
                r.architectures = Some(
                    archs
                        .iter()
                        .map(|a| Architecture::from(a.as_str()))
                        .collect(),
                );
            }
            "ephemeral_storage" => {
                let m = object(what, v)?;
                only(what, m, &["Size"])?;
                let size = m
                    .get("Size")
                    .ok_or_else(|| ParamError::new(format!("{NAME}: {what} needs Size (MB)")))?;
                r.ephemeral_storage = EphemeralStorage::builder()
                    .size(int(what, size)?)
                    .build()
                    .ok();
            }
            "snap_start" => {
                let m = object(what, v)?;
                only(what, m, &["ApplyOn"])?;
                r.snap_start = Some(
                    SnapStart::builder()
                        .set_apply_on(
                            m.get("ApplyOn")
                                .map(|v| {
                                    string(what, v).map(|s| SnapStartApplyOn::from(s.as_str()))
                                })
                                .transpose()?,
                        )
                        .build(),
                );
            }
            "logging_config" => {
                let m = object(what, v)?;
                only(
                    what,
                    m,
                    &[
                        "LogFormat",
                        "ApplicationLogLevel",
                        "SystemLogLevel",
                        "LogGroup",
                    ],
                )?;
                let s = |k: &str| m.get(k).map(|v| string(what, v)).transpose();
                r.logging_config = Some(
                    LoggingConfig::builder()
                        .set_log_format(s("LogFormat")?.map(|v| LogFormat::from(v.as_str())))
                        .set_application_log_level(
                            s("ApplicationLogLevel")?
                                .map(|v| ApplicationLogLevel::from(v.as_str())),
                        )
                        .set_system_log_level(
                            s("SystemLogLevel")?.map(|v| SystemLogLevel::from(v.as_str())),
                        )
                        .set_log_group(s("LogGroup")?)
                        .build(),
                );
            }
            other => {
                return Err(ParamError::at(
                    "config",
                    format!(
                        "{NAME} parameter `config` has no key `{other}`; its keys are the \
                         provider's snake_case names: {} (Airflow: create_lambda() got an \
                         unexpected keyword argument '{other}')",
                        CONFIG_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> Result<Request, ParamError> {
        let mut r = Request::default();
        read_config(v.as_object().expect("a mapping"), &mut r).map(|()| r)
    }

    #[test]
    fn boto_style_config_keys_are_refused_naming_the_snake_case_ones() {
        let err = config(serde_json::json!({"MemorySize": 128})).unwrap_err();
        assert!(err.message().contains("no key `MemorySize`"), "{err}");
        assert!(err.message().contains("memory_size"), "{err}");
    }

    #[test]
    fn config_values_reach_the_request() {
        let r = config(serde_json::json!({
            "memory_size": 256,
            "environment": {"Variables": {"A": "1"}},
            "architectures": ["arm64"],
            "tags": {"team": "data"},
            "ephemeral_storage": {"Size": 1024},
        }))
        .expect("valid config");
        assert_eq!(r.memory_size, Some(256));
        assert_eq!(
            r.environment
                .as_ref()
                .and_then(|e| e.variables())
                .and_then(|v| v.get("A"))
                .map(String::as_str),
            Some("1")
        );
        assert_eq!(r.architectures, Some(vec![Architecture::Arm64]));
        assert_eq!(r.tags, Some(vec![("team".into(), "data".into())]));
        assert_eq!(r.ephemeral_storage.map(|e| e.size()), Some(1024));
    }

    #[test]
    fn wrongly_typed_config_values_are_refused() {
        let err = config(serde_json::json!({"layers": "arn:one"})).unwrap_err();
        assert!(
            err.message().contains("config.layers must be a list"),
            "{err}"
        );
        let err = config(serde_json::json!({"architectures": ["sparc"]})).unwrap_err();
        assert!(err.message().contains("x86_64 or arm64"), "{err}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::LambdaCreateFunctionOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<LambdaCreateFunctionOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn waiting_adds_get_function_and_s3_code_is_read() {
        let role = "arn:aws:iam::123456789012:role/fn";
        assert_eq!(
            perms(json!({
                "function_name": "f", "role": role, "runtime": "python3.12",
                "handler": "h.handler", "code": {"S3Bucket": "code", "S3Key": "f.zip"},
                "wait_for_completion": true, "region_name": "eu-west-1",
            })),
            [
                Permission::new(
                    &["lambda:CreateFunction", "lambda:GetFunction"],
                    ["arn:aws:lambda:eu-west-1:{account}:function:f"]
                ),
                Permission::new(&["iam:PassRole"], [role]),
                Permission::new(&["s3:GetObject"], ["arn:aws:s3:::code/f.zip"]),
            ]
        );
        assert_eq!(
            perms(json!({
                "function_name": "f", "role": role, "runtime": "python3.12",
                "handler": "h.handler", "code": {"ZipFile": "UEsDBA=="},
            })),
            [
                Permission::new(
                    &["lambda:CreateFunction"],
                    ["arn:aws:lambda:{region}:{account}:function:f"]
                ),
                Permission::new(&["iam:PassRole"], [role]),
            ]
        );
    }
}
