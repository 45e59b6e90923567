//! `EksPodOperator`: describes the cluster (endpoint and CA), makes the EKS token from the
//! task's credentials ([`token`]), and through the cluster's Kubernetes API does what the
//! cncf.kubernetes provider's `KubernetesPodOperator` does: creates the pod (one container,
//! `base`), pushes `pod_name` and `pod_namespace`, waits for it to leave Pending, streams the
//! container's log into the task log (`get_logs`), waits for the pod to finish, deletes it as
//! `on_finish_action` says, and fails when it failed. on_kill deletes it.

pub(crate) mod token;

use std::collections::BTreeMap;
use std::time::Duration;

use airtask_core::{
    Level, Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext,
    TaskError,
};
use futures_util::AsyncBufReadExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, LogParams, PostParams};
use serde_json::{Value, json};

use crate::common::Target;

/// The logger of the pod manager's lines (the container's log among them).
const POD_MANAGER_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.cncf.kubernetes.utils.pod_manager.PodManager";

/// The longest pod name (the provider's POD_NAME_MAX_LENGTH).
const POD_NAME_MAX_LENGTH: usize = 63;

/// How often the pod is read while waiting for it to complete (the pod manager's 2 s).
const COMPLETION_POLL: Duration = Duration::from_secs(2);

/// KubernetesPodOperator parameters airtask does not implement: refused with a clear error
/// rather than ignored.
const UNSUPPORTED: &[&str] = &[
    "kubernetes_conn_id",
    "config_file",
    "cluster_context",
    "pod_template_file",
    "pod_template_dict",
    "full_pod_spec",
    "volumes",
    "volume_mounts",
    "secrets",
    "env_from",
    "configmaps",
    "ports",
    "init_containers",
    "init_container_logs",
    "container_logs",
    "affinity",
    "tolerations",
    "security_context",
    "container_security_context",
    "host_aliases",
    "image_pull_secrets",
    "dns_config",
    "dnspolicy",
    "subdomain",
    "schedulername",
    "priority_class_name",
    "pod_runtime_info_envs",
    "callbacks",
    "progress_callback",
    "log_formatter",
    "trigger_kwargs",
    "logging_interval",
    "hostnetwork",
    "automount_service_account_token",
];

/// What to do with the pod once it finished (`on_finish_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFinish {
    /// Delete it whatever its state.
    Delete,
    /// Delete it only when it succeeded.
    DeleteSucceeded,
    /// Keep it.
    Keep,
}

/// A configured `EksPodOperator`.
#[derive(Debug)]
pub struct EksPodOperator {
    cluster_name: String,
    region: Option<String>,
    namespace: String,
    pod_name: Option<String>,
    random_name_suffix: bool,
    image: String,
    cmds: Vec<String>,
    arguments: Vec<String>,
    env_vars: Vec<(String, String)>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    node_selector: Vec<(String, String)>,
    image_pull_policy: Option<String>,
    service_account_name: Option<String>,
    hostname: Option<String>,
    container_resources: Option<Value>,
    termination_grace_period: Option<u32>,
    active_deadline_seconds: Option<i64>,
    base_container_name: String,
    get_logs: bool,
    on_finish: OnFinish,
    startup_timeout: Duration,
    schedule_timeout: Duration,
    startup_check_interval: Duration,
    container_poll: Duration,
    skip_on_exit_code: Vec<i64>,
    log_pod_spec_on_failure: bool,
    deferrable: bool,
    /// The pod this try created, for on_kill: its API and name.
    created: Option<(Api<Pod>, String)>,
}

fn unsupported(name: &str) -> ParamError {
    ParamError::at(
        name,
        format!(
            "EksPodOperator parameter `{name}` is a KubernetesPodOperator parameter airtask does \
             not implement (it builds the pod from image, cmds, arguments, env_vars, labels, \
             annotations, node_selector, container_resources, service_account_name, \
             image_pull_policy, hostname and the timeouts); see docs/operators/eks.md"
        ),
    )
}

/// `env_vars`: a mapping of names to values, or a list of `{name, value}` (V1EnvVar).
fn env_vars(p: &mut ParamReader<'_>) -> Result<Vec<(String, String)>, ParamError> {
    let wrong = || {
        ParamError::at(
            "env_vars",
            "EksPodOperator parameter `env_vars` must be a mapping of names to string values, \
             or a list of {name: ..., value: ...}",
        )
    };
    match p.value("env_vars") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) if p.is_templated(s) => Ok(Vec::new()),
        Some(Value::Object(_)) => Ok(p.str_map("env_vars")?.unwrap_or_default()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let name = i.get("name").and_then(Value::as_str).ok_or_else(wrong)?;
                let value = match i.get("value") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err(wrong()),
                };
                Ok((name.to_owned(), value))
            })
            .collect(),
        Some(_) => Err(wrong()),
    }
}

/// A list of strings (`cmds`, `arguments`); a single string is one element.
fn str_list(p: &mut ParamReader<'_>, name: &'static str) -> Result<Vec<String>, ParamError> {
    Ok(p.str_or_list(name)?.unwrap_or_default())
}

impl Operator for EksPodOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eks.EksPodOperator",
        aliases: &[],
        // The provider's set: EKS's own fields and KubernetesPodOperator's (a Python set, so
        // the provider's order is arbitrary; this is KubernetesPodOperator's order, then EKS's).
        template_fields: &[
            "image",
            "name",
            "hostname",
            "cmds",
            "annotations",
            "arguments",
            "env_vars",
            "labels",
            "config_file",
            "pod_template_file",
            "pod_template_dict",
            "namespace",
            "container_resources",
            "volumes",
            "volume_mounts",
            "cluster_context",
            "env_from",
            "node_selector",
            "kubernetes_conn_id",
            "base_container_name",
            "trigger_kwargs",
            "cluster_name",
            "in_cluster",
            "pod_name",
            "aws_conn_id",
            "region",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        for name in UNSUPPORTED {
            if p.value(name).is_some() {
                return Err(unsupported(name));
            }
        }
        if let Some(conn) = p.str("aws_conn_id")?
            && conn != "aws_default"
            && !p.is_templated(&conn)
        {
            return Err(ParamError::at(
                "aws_conn_id",
                format!(
                    "EksPodOperator parameter `aws_conn_id` is '{conn}', which is not supported: \
                     there are no Airflow connections here; the task calls AWS with its own role. \
                     Leave it out or write aws_default."
                ),
            ));
        }
        if p.bool("in_cluster", false)? {
            return Err(ParamError::at(
                "in_cluster",
                "EksPodOperator parameter `in_cluster` must be false: airtask reaches the \
                 cluster through its EKS endpoint, never from inside a cluster",
            ));
        }
        let cluster_name = p.required_str(
            "cluster_name",
            "the name of the EKS cluster to run the pod on",
        )?;
        let region = p.str("region")?.filter(|r| !r.is_empty());
        let namespace = p
            .str("namespace")?
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let pod_name = p.str("pod_name")?.filter(|n| !n.is_empty());
        if let Some(n) = &pod_name
            && !p.is_templated(n)
        {
            validate_key(n)?;
        }
        let image = p.required_str("image", "the container image to run")?;
        let is_delete = match p.value("is_delete_operator_pod") {
            None => None,
            Some(_) => Some(p.bool("is_delete_operator_pod", true)?),
        };
        let on_finish = match (is_delete, p.str("on_finish_action")?.as_deref()) {
            (Some(true), _) => OnFinish::Delete,
            (Some(false), _) => OnFinish::Keep,
            (None, None | Some("delete_pod")) => OnFinish::Delete,
            (None, Some("delete_succeeded_pod")) => OnFinish::DeleteSucceeded,
            (None, Some("keep_pod")) => OnFinish::Keep,
            (None, Some(t)) if p.is_templated(t) => OnFinish::Delete,
            (None, Some(other)) => {
                return Err(ParamError::at(
                    "on_finish_action",
                    format!(
                        "EksPodOperator parameter `on_finish_action` is '{other}': it must be \
                         delete_pod, delete_succeeded_pod or keep_pod"
                    ),
                ));
            }
        };
        let startup = p.seconds("startup_timeout_seconds", 120.0)?;
        let schedule = p.optional_seconds("schedule_timeout_seconds")?;
        let skip_on_exit_code = match p.value("skip_on_exit_code") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_i64().ok_or_else(|| {
                        ParamError::at(
                            "skip_on_exit_code",
                            "EksPodOperator parameter `skip_on_exit_code` must be an exit code \
                             or a list of exit codes",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => vec![p.i64("skip_on_exit_code", 0..=255)?.unwrap_or(0)],
        };
        let container_resources = match p.map("container_resources")? {
            None => None,
            Some(m) => {
                for k in m.keys() {
                    if k != "limits" && k != "requests" {
                        return Err(ParamError::at(
                            "container_resources",
                            format!(
                                "EksPodOperator parameter `container_resources` may hold limits \
                                 and requests, not `{k}`"
                            ),
                        ));
                    }
                }
                Some(Value::Object(m.clone()))
            }
        };
        let op = EksPodOperator {
            cluster_name,
            region,
            namespace,
            pod_name,
            random_name_suffix: p.bool("random_name_suffix", true)?,
            image,
            cmds: str_list(p, "cmds")?,
            arguments: str_list(p, "arguments")?,
            env_vars: env_vars(p)?,
            labels: p.str_map("labels")?.unwrap_or_default(),
            annotations: p.str_map("annotations")?.unwrap_or_default(),
            node_selector: p.str_map("node_selector")?.unwrap_or_default(),
            image_pull_policy: p.str("image_pull_policy")?,
            service_account_name: p.str("service_account_name")?,
            hostname: p.str("hostname")?,
            container_resources,
            termination_grace_period: p.u32("termination_grace_period", 0..=u32::MAX)?,
            active_deadline_seconds: p.i64("active_deadline_seconds", 1..=i64::MAX)?,
            base_container_name: p
                .str("base_container_name")?
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "base".to_owned()),
            get_logs: p.bool("get_logs", true)?,
            on_finish,
            startup_timeout: Duration::from_secs_f64(startup),
            schedule_timeout: Duration::from_secs_f64(schedule.unwrap_or(startup)),
            startup_check_interval: Duration::from_secs_f64(
                p.seconds("startup_check_interval_seconds", 5.0)?,
            ),
            container_poll: Duration::from_secs_f64(
                p.seconds("base_container_status_polling_interval", 1.0)?,
            ),
            skip_on_exit_code,
            log_pod_spec_on_failure: p.bool("log_pod_spec_on_failure", true)?,
            deferrable: p.bool("deferrable", false)?,
            created: None,
        };
        // Taken and without effect here (see docs/operators/eks.md).
        p.accept("reattach_on_restart");
        p.accept("log_events_on_failure");
        p.accept("poll_interval");
        p.accept("termination_message_policy");
        p.accept("container_name_log_prefix_enabled");
        Ok(op)
    }

    fn permissions(&self) -> Vec<Permission> {
        // The token is a presigned sts:GetCallerIdentity, which IAM never denies; what the pod
        // may do in the cluster is Kubernetes RBAC (the cluster's access entries or aws-auth
        // mapping of the task's role), outside IAM.
        vec![Permission::new(
            &["eks:DescribeCluster"],
            [Target::Cluster(self.cluster_name.clone()).arn(self.region.as_deref())],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        if self.deferrable {
            ctx.info(
                "deferrable is set: airtask waits for the pod in the task's process (there is \
                 no triggerer), with the same result",
            );
        }
        let client = self.client(ctx).await?;
        let api: Api<Pod> = Api::namespaced(client, &self.namespace);
        let name = self.name_of_pod(ctx);
        let pod = self.pod_request(ctx, &name)?;
        let labels = pod
            .metadata
            .labels
            .as_ref()
            .map(|l| format!("{l:?}"))
            .unwrap_or_default();
        ctx.info(&format!("Building pod {name} with labels: {labels}"));
        api.create(&PostParams::default(), &pod)
            .await
            .map_err(|e| {
                kube_error(
                    &format!("creating pod {name} in namespace {}", self.namespace),
                    &e,
                )
            })?;
        self.created = Some((api.clone(), name.clone()));
        ctx.xcom_push("pod_name", json!(name));
        ctx.xcom_push("pod_namespace", json!(self.namespace));
        let ran = self.run_pod(ctx, &api, &name).await;
        let remote = match ran {
            Ok(remote) => remote,
            Err(e) => {
                // The pod is cleaned up as on_finish_action says, then the task fails.
                self.finish_pod(ctx, &api, &name, false).await;
                self.created = None;
                return Err(e);
            }
        };
        let phase = phase_of(&remote);
        let succeeded = phase == "Succeeded";
        self.finish_pod(ctx, &api, &name, succeeded).await;
        self.created = None;
        if !self.skip_on_exit_code.is_empty()
            && let Some(code) = exit_code(&remote, &self.base_container_name)
            && self.skip_on_exit_code.contains(&code)
        {
            return Ok(Outcome::Skipped(format!(
                "Pod {name} returned exit code {code}. Skipping."
            )));
        }
        if !succeeded {
            let mut msg = format!("Pod {name} returned a failure (phase {phase}).");
            if let Some(t) = termination_message(&remote, &self.base_container_name) {
                msg.push('\n');
                msg.push_str(&t);
            }
            if self.log_pod_spec_on_failure {
                msg.push_str(&format!("\nremote_pod status: {}", status_summary(&remote)));
            }
            return Err(TaskError::fatal(msg));
        }
        Ok(Outcome::Success(None))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((api, name)) = self.created.take() else {
            return;
        };
        ctx.info(&format!("on_kill: deleting pod {name}"));
        let dp = DeleteParams {
            grace_period_seconds: self.termination_grace_period,
            ..DeleteParams::default()
        };
        if let Err(e) = api.delete(&name, &dp).await {
            ctx.error(&format!("Unable to delete pod {name}: {e}"));
        }
    }
}

impl EksPodOperator {
    /// The Kubernetes client of the cluster: DescribeCluster (endpoint, CA), the token of the
    /// task's credentials, and a kubeconfig as the provider's `generate_config_file` writes
    /// (with the token in place of its `aws eks get-token`-like exec command).
    async fn client(&self, ctx: &TaskContext) -> Result<kube::Client, TaskError> {
        let config = airtask_aws::identity::task_config(ctx)?;
        let eks =
            airtask_aws::client_in(ctx, self.region.as_deref(), airtask_aws::sdk!(aws_sdk_eks))?;
        let name = &self.cluster_name;
        let out = eks
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("DescribeCluster {name}"), &e))?;
        let cluster = out.cluster().ok_or_else(|| {
            TaskError::retryable(format!(
                "DescribeCluster {name} answered without the cluster"
            ))
        })?;
        let endpoint = cluster
            .endpoint()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                TaskError::retryable(format!(
                    "EKS cluster {name} has no endpoint yet (status {}): the Kubernetes API is not \
                 reachable until the cluster is ACTIVE",
                    cluster.status().map_or("unknown", |s| s.as_str())
                ))
            })?;
        let ca = cluster
            .certificate_authority()
            .and_then(|c| c.data())
            .unwrap_or_default();
        let region = self
            .region
            .clone()
            .or_else(|| config.region().map(|r| r.as_ref().to_owned()))
            .ok_or_else(|| {
                TaskError::fatal(
                    "EksPodOperator: no region to sign the EKS token for (set `region` or \
                     AWS_REGION)",
                )
            })?;
        let provider = config.credentials_provider().ok_or_else(|| {
            TaskError::fatal("EksPodOperator: the task's AWS identity has no credentials")
        })?;
        let credentials =
            aws_credential_types::provider::ProvideCredentials::provide_credentials(&provider)
                .await
                .map_err(|e| TaskError::retryable(format!("the task's AWS credentials: {e}")))?;
        let sts = token::sts_endpoint(&region, config.endpoint_url());
        // Signed at the SDK client's time (its time source, as every SDK call is).
        let now = eks.config().time_source().map(|t| t.now()).ok_or_else(|| {
            TaskError::fatal("EksPodOperator: the AWS client has no clock to sign the EKS token")
        })?;
        let token =
            token::eks_token(&credentials, name, &region, &sts, now).map_err(TaskError::fatal)?;
        let kubeconfig = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
            "contexts": [{"name": "aws", "context": {"cluster": name, "namespace": self.namespace, "user": "aws"}}],
            "current-context": "aws",
            "preferences": {},
            "users": [{"name": "aws", "user": {"token": token}}],
        });
        let kubeconfig: kube::config::Kubeconfig = serde_json::from_value(kubeconfig)
            .map_err(|e| TaskError::fatal(format!("the kubeconfig of EKS cluster {name}: {e}")))?;
        let mut kc = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| {
            TaskError::fatal(format!(
                "the Kubernetes configuration of EKS cluster {name} (endpoint {endpoint}): {e}"
            ))
        })?;
        // A followed log may be silent for longer than kube's default read timeout (295 s);
        // the try's execution_timeout bounds every call instead.
        kc.read_timeout = None;
        // kube builds its rustls configuration with the process's default crypto provider:
        // aws-lc-rs, the SDK's, so that a build where rustls has another provider too never
        // leaves kube without a default to take (an already installed default stays).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        kube::Client::try_from(kc).map_err(|e| {
            TaskError::fatal(format!(
                "cannot make a Kubernetes client for EKS cluster {name} (endpoint {endpoint}): \
                 {e}"
            ))
        })
    }

    /// The pod's name: `pod_name` made DNS-safe, else the task id's slug; with
    /// `random_name_suffix`, a dash and 8 random characters (within 63 characters).
    fn name_of_pod(&self, ctx: &TaskContext) -> String {
        let base = match &self.pod_name {
            Some(n) => {
                let mut out = String::new();
                for c in n.to_lowercase().chars() {
                    if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                        out.push(c);
                    } else if !out.ends_with('-') {
                        out.push('-');
                    }
                }
                out
            }
            None => {
                let slug = slugify(ctx.task_id());
                let slug: String = slug.chars().take(POD_NAME_MAX_LENGTH).collect();
                slug.trim_matches(|c| c == '.' || c == '-').to_owned()
            }
        };
        if self.random_name_suffix {
            let suffix = format!("-{}", random_suffix(8));
            let keep: String = base
                .chars()
                .take(POD_NAME_MAX_LENGTH - suffix.len())
                .collect();
            format!("{}{suffix}", keep.trim_matches(|c| c == '.' || c == '-'))
        } else {
            base
        }
    }

    /// The pod KubernetesPodOperator's `build_pod_request_obj` builds from these parameters.
    fn pod_request(&self, ctx: &TaskContext, name: &str) -> Result<Pod, TaskError> {
        let mut labels: BTreeMap<String, String> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let env = |key: &str| {
            ctx.process_env()
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.clone())
        };
        if let Some(dag) = env("AIRFLOW_CTX_DAG_ID") {
            labels.insert("dag_id".into(), safe_label(&dag));
        }
        labels.insert("task_id".into(), safe_label(ctx.task_id()));
        if let Some(run) = env("AIRFLOW_CTX_DAG_RUN_ID") {
            labels.insert("run_id".into(), safe_label(&run));
        }
        labels.insert("kubernetes_pod_operator".into(), "True".into());
        labels.insert("try_number".into(), ctx.try_number().to_string());
        labels.insert("airflow_kpo_in_cluster".into(), "False".into());
        let mut container = json!({
            "name": self.base_container_name,
            "image": self.image,
            "terminationMessagePolicy": "File",
        });
        if !self.cmds.is_empty() {
            container["command"] = json!(self.cmds);
        }
        if !self.arguments.is_empty() {
            container["args"] = json!(self.arguments);
        }
        if !self.env_vars.is_empty() {
            container["env"] = Value::Array(
                self.env_vars
                    .iter()
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect(),
            );
        }
        if let Some(p) = &self.image_pull_policy {
            container["imagePullPolicy"] = json!(p);
        }
        if let Some(r) = &self.container_resources {
            container["resources"] = r.clone();
        }
        let mut spec = json!({"containers": [container], "restartPolicy": "Never"});
        if !self.node_selector.is_empty() {
            spec["nodeSelector"] = json!(
                self.node_selector
                    .iter()
                    .cloned()
                    .collect::<BTreeMap<_, _>>()
            );
        }
        if let Some(s) = &self.service_account_name {
            spec["serviceAccountName"] = json!(s);
        }
        if let Some(h) = &self.hostname {
            spec["hostname"] = json!(h);
        }
        if let Some(g) = self.termination_grace_period {
            spec["terminationGracePeriodSeconds"] = json!(g);
        }
        if let Some(d) = self.active_deadline_seconds {
            spec["activeDeadlineSeconds"] = json!(d);
        }
        let mut metadata = json!({"name": name, "namespace": self.namespace, "labels": labels});
        if !self.annotations.is_empty() {
            metadata["annotations"] =
                json!(self.annotations.iter().cloned().collect::<BTreeMap<_, _>>());
        }
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec});
        serde_json::from_value(pod).map_err(|e| {
            TaskError::fatal(format!(
                "EksPodOperator: the pod {name} cannot be built from the parameters (check \
                 container_resources): {e}"
            ))
        })
    }

    /// Waits for the pod to start, streams its log, and waits for it to finish; returns the
    /// pod as last read.
    async fn run_pod(
        &self,
        ctx: &TaskContext,
        api: &Api<Pod>,
        name: &str,
    ) -> Result<Pod, TaskError> {
        self.await_pod_start(ctx, api, name).await?;
        let base = &self.base_container_name;
        if self.get_logs {
            let lp = LogParams {
                container: Some(base.clone()),
                follow: true,
                ..LogParams::default()
            };
            match api.log_stream(name, &lp).await {
                Ok(stream) => {
                    let mut lines = stream.lines();
                    use futures_util::StreamExt as _;
                    while let Some(line) = lines.next().await {
                        match line {
                            Ok(l) => {
                                ctx.line(Level::Info, POD_MANAGER_LOGGER, &format!("[{base}] {l}"))
                            }
                            Err(e) => {
                                ctx.warning(&format!(
                                    "Reading of logs interrupted for container {base} with error \
                                     {e}; the pod is still watched"
                                ));
                                break;
                            }
                        }
                    }
                }
                Err(e) => ctx.warning(&format!(
                    "Could not read the logs of container {base}: {}",
                    kube_error("reading the log", &e).message
                )),
            }
        } else {
            // await_container_completion: until the base container is neither running nor
            // waiting.
            loop {
                let pod = read_pod(api, name).await?;
                if container_done(&pod, base)
                    || matches!(phase_of(&pod).as_str(), "Succeeded" | "Failed")
                {
                    break;
                }
                tokio::time::sleep(self.container_poll).await;
            }
        }
        // await_pod_completion.
        loop {
            let pod = read_pod(api, name).await?;
            let phase = phase_of(&pod);
            if phase == "Succeeded" || phase == "Failed" {
                return Ok(pod);
            }
            ctx.line(
                Level::Info,
                POD_MANAGER_LOGGER,
                &format!("Pod {name} has phase {phase}"),
            );
            tokio::time::sleep(COMPLETION_POLL).await;
        }
    }

    /// The pod manager's `await_pod_start`: reads the pod every `startup_check_interval` until
    /// it leaves Pending; fails when it is not scheduled within `schedule_timeout`, not running
    /// within `startup_timeout` of being scheduled, or its image cannot be pulled.
    async fn await_pod_start(
        &self,
        ctx: &TaskContext,
        api: &Api<Pod>,
        name: &str,
    ) -> Result<(), TaskError> {
        ctx.line(
            Level::Info,
            POD_MANAGER_LOGGER,
            &format!(
                "Waiting until {}s to get the POD scheduled...",
                self.schedule_timeout.as_secs_f64()
            ),
        );
        let mut started = tokio::time::Instant::now();
        let mut scheduled = false;
        loop {
            let pod = read_pod(api, name).await?;
            let status = pod.status.as_ref();
            let phase = phase_of(&pod);
            if phase != "Pending" {
                return Ok(());
            }
            let is_scheduled = status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "PodScheduled" && c.status == "True")
            });
            if is_scheduled {
                if !scheduled {
                    scheduled = true;
                    started = tokio::time::Instant::now();
                    ctx.line(
                        Level::Info,
                        POD_MANAGER_LOGGER,
                        &format!(
                            "Waiting {}s to get the POD running...",
                            self.startup_timeout.as_secs_f64()
                        ),
                    );
                }
                if started.elapsed() >= self.startup_timeout {
                    return Err(TaskError::fatal(format!(
                        "Pod took too long to start. More than {}s. Check the pod events in \
                         kubernetes. (pod {name})",
                        self.startup_timeout.as_secs_f64()
                    )));
                }
            } else if started.elapsed() >= self.schedule_timeout {
                return Err(TaskError::fatal(format!(
                    "Pod took too long to be scheduled on the cluster, giving up. More than \
                     {}s. Check the pod events in kubernetes. (pod {name})",
                    self.schedule_timeout.as_secs_f64()
                )));
            }
            if let Some(statuses) = status.and_then(|s| s.container_statuses.as_ref()) {
                for cs in statuses {
                    if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref())
                        && let Some(reason) = w.reason.as_deref()
                        && matches!(
                            reason,
                            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName"
                        )
                    {
                        return Err(TaskError::fatal(format!(
                            "Pod docker image cannot be pulled, unable to start: {reason}\n{} \
                             (pod {name}, image {})",
                            w.message.as_deref().unwrap_or_default(),
                            self.image
                        )));
                    }
                }
            }
            tokio::time::sleep(self.startup_check_interval).await;
        }
    }

    /// `process_pod_deletion`: deletes the pod as `on_finish_action` says (a pod already gone
    /// is fine); failures are logged, not raised.
    async fn finish_pod(&self, ctx: &TaskContext, api: &Api<Pod>, name: &str, succeeded: bool) {
        let delete = match self.on_finish {
            OnFinish::Delete => true,
            OnFinish::DeleteSucceeded => succeeded,
            OnFinish::Keep => false,
        };
        if !delete {
            ctx.info(&format!("Skipping deleting pod: {name}"));
            return;
        }
        ctx.info(&format!("Deleting pod: {name}"));
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => ctx.error(&format!("Unable to delete pod {name}: {e}")),
        }
    }
}

/// Reads the pod.
async fn read_pod(api: &Api<Pod>, name: &str) -> Result<Pod, TaskError> {
    api.get(name)
        .await
        .map_err(|e| kube_error(&format!("reading pod {name}"), &e))
}

/// A Kubernetes API error as the task's: a refusal (4xx but 429) is not retryable.
fn kube_error(what: &str, e: &kube::Error) -> TaskError {
    match e {
        kube::Error::Api(s) => {
            let message = format!(
                "Kubernetes API: {what} failed: HTTP {} {}: {}{}",
                s.code,
                s.reason,
                s.message,
                if s.code == 401 || s.code == 403 {
                    " (the cluster does not map the task's IAM role to a Kubernetes user allowed \
                     to do this: see the cluster's access entries or aws-auth ConfigMap)"
                } else {
                    ""
                }
            );
            if s.code == 429 || s.code >= 500 {
                TaskError::retryable(message)
            } else {
                TaskError::fatal(message)
            }
        }
        other => TaskError::retryable(format!("Kubernetes API: {what} failed: {other}")),
    }
}

fn phase_of(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".to_owned())
}

fn container_status<'a>(
    pod: &'a Pod,
    container: &str,
) -> Option<&'a k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.iter().find(|c| c.name == container))
}

fn container_done(pod: &Pod, container: &str) -> bool {
    container_status(pod, container)
        .and_then(|c| c.state.as_ref())
        .is_some_and(|s| s.terminated.is_some())
}

fn exit_code(pod: &Pod, container: &str) -> Option<i64> {
    container_status(pod, container)
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .map(|t| i64::from(t.exit_code))
}

/// The base container's termination message (the provider's `get_container_termination_message`).
fn termination_message(pod: &Pod, container: &str) -> Option<String> {
    container_status(pod, container)
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.message.clone())
        .filter(|m| !m.is_empty())
}

/// The pod's status in one line, for a failure's message.
fn status_summary(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| serde_json::to_string(s).ok())
        .unwrap_or_else(|| "{}".to_owned())
}

/// Airflow's `validate_key(name, max_length=220)`: letters, digits, `_`, `-` and `.` only.
fn validate_key(name: &str) -> Result<(), ParamError> {
    if name.len() > 220 {
        return Err(ParamError::at(
            "pod_name",
            format!(
                "EksPodOperator parameter `pod_name`: The key has to be less than 220 characters, \
                 not {}",
                name.len()
            ),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ParamError::at(
            "pod_name",
            format!(
                "EksPodOperator parameter `pod_name`: The key '{name}' has to be made of \
                 alphanumeric characters, dashes, dots and underscores exclusively"
            ),
        ));
    }
    Ok(())
}

/// python-slugify's lower-case slug: runs of anything but letters and digits become one `-`.
fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// `n` random lower-case letters and digits.
fn random_suffix(n: usize) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // RandomState's keys are random per process; the counter tells the calls of one apart.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u32(std::process::id());
    let mut x = h.finish();
    (0..n)
        .map(|_| {
            let c = ALPHABET[(x % 36) as usize] as char;
            x /= 36;
            c
        })
        .collect()
}

/// Airflow's `make_safe_label_value`: a valid label value (63 characters at most, made of
/// letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit); a value that
/// had to change is shortened and ends with a hash of the original (airtask's own hash where
/// Airflow takes MD5's first 9 hex digits).
fn safe_label(s: &str) -> String {
    const MAX: usize = 63;
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let safe = kept
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    if safe.len() <= MAX && safe == s {
        return safe;
    }
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::hash::DefaultHasher::new();
    s.hash(&mut h);
    let hash = format!("{:016x}", h.finish());
    let hash = &hash[..9];
    let head: String = safe.chars().take(MAX - hash.len() - 1).collect();
    format!("{head}-{hash}")
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<EksPodOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EksPodOperator>(&p)
    }

    #[test]
    fn defaults_follow_the_provider() {
        let op = build(json!({"cluster_name": "c1", "image": "busybox"})).unwrap();
        assert_eq!(op.namespace, "default");
        assert_eq!(op.on_finish, OnFinish::Delete);
        assert!(op.get_logs && op.random_name_suffix);
        assert_eq!(op.base_container_name, "base");
        assert_eq!(op.startup_timeout, Duration::from_secs(120));
        assert_eq!(op.schedule_timeout, Duration::from_secs(120));
        assert_eq!(
            op.permissions(),
            vec![Permission::new(
                &["eks:DescribeCluster"],
                ["arn:aws:eks:{region}:{account}:cluster/c1"]
            )]
        );
        let op = build(json!({"cluster_name": "c1", "image": "busybox",
                              "is_delete_operator_pod": false, "on_finish_action": "delete_pod"}))
        .unwrap();
        assert_eq!(op.on_finish, OnFinish::Keep);
        let op = build(json!({"cluster_name": "c1", "image": "busybox",
                              "on_finish_action": "delete_succeeded_pod",
                              "env_vars": [{"name": "A", "value": "1"}]}))
        .unwrap();
        assert_eq!(op.on_finish, OnFinish::DeleteSucceeded);
        assert_eq!(op.env_vars, [("A".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn unsupported_and_bad_parameters_are_refused() {
        let e =
            build(json!({"cluster_name": "c1", "image": "x", "config_file": "/k"})).unwrap_err();
        assert_eq!(e.param(), Some("config_file"));
        let e = build(json!({"cluster_name": "c1", "image": "x", "on_finish_action": "drop"}))
            .unwrap_err();
        assert!(
            e.message()
                .contains("delete_pod, delete_succeeded_pod or keep_pod"),
            "{e}"
        );
        let e = build(json!({"cluster_name": "c1", "image": "x", "pod_name": "a b"})).unwrap_err();
        assert_eq!(e.param(), Some("pod_name"));
        let e = build(json!({"cluster_name": "c1", "image": "x", "in_cluster": true})).unwrap_err();
        assert_eq!(e.param(), Some("in_cluster"));
        let e = build(json!({"cluster_name": "c1"})).unwrap_err();
        assert!(e.message().contains("needs `image`"), "{e}");
    }

    #[test]
    fn names_and_labels_are_made_safe() {
        assert_eq!(slugify("Run_My.Task"), "run-my-task");
        let s = random_suffix(8);
        assert_eq!(s.len(), 8);
        assert_ne!(s, random_suffix(8), "two pods of one process get two names");
        assert!(
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{s}"
        );
        assert_eq!(safe_label("etl"), "etl");
        let l = safe_label("manual__2025-03-09T00:00:00+00:00");
        assert!(l.starts_with("manual__2025-03-09T0000000000-"), "{l}");
        assert_eq!(l.len(), "manual__2025-03-09T0000000000".len() + 10);
        assert!(safe_label(&"x".repeat(80)).len() <= 63);
    }
}
