//! `airtask policy`: the IAM policies a workflow needs, derived from what each operator declares
//! ([`airtask_core::Operator::permissions`]) for the parameters the task gives it, and what the
//! runtime itself needs as the execution role (the definition, the S3 store, CloudWatch Logs,
//! `sts:AssumeRole` on the task roles). `--check` compares a given policy with that need.
//!
//! Templates widen: a resource built from a parameter that holds `{{ ... }}` gets `*` in its
//! place (`data/{{ ds }}/in.csv` -> `data/*/in.csv`), the smallest IAM pattern that covers every
//! rendering, and the output says so. Statements come out in a deterministic order: actions
//! sorted within a statement, resources sorted, statements sorted by their first action.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use airtask_core::permissions::{ACCOUNT, REGION, matches};
use airtask_core::{Params, Permission};
use airtask_workflow::{Origin, Task, Workflow};
use serde_json::{Value, json};

use crate::cli::{PolicyArgs, PolicyFormat};
use crate::definition::load_valid;
use crate::exit::{CliError, EXIT_INVALID, EXIT_OK};

/// `airtask policy` exits with this when `--check` finds the policy lacks something the
/// workflow needs.
pub(crate) const EXIT_LACKS: u8 = 3;

/// The needs of one role: IAM action -> the resource patterns it is needed on.
type Needs = BTreeMap<String, BTreeSet<String>>;

/// What `airtask policy` derived from a workflow.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    /// What the execution role needs: the runtime's own calls and the tasks without a role.
    execution: Needs,
    /// Each task's own needs, with the role it runs as (`None`: the execution role).
    tasks: BTreeMap<String, (Option<String>, Needs)>,
    /// What widened or was assumed, one sentence each.
    notes: Vec<String>,
}

/// `airtask policy`.
pub(crate) fn policy(args: &PolicyArgs) -> Result<u8, CliError> {
    let (_, wf) = load_valid(&args.file, args.source.version_id.as_deref(), EXIT_INVALID)?;
    if let Some(t) = &args.task
        && wf.task(t).is_none()
    {
        return Err(CliError::Failed {
            message: format!(
                "--task {t}: the workflow {} has no task with that id; its tasks are: {}",
                wf.workflow_id,
                wf.tasks
                    .iter()
                    .map(|t| t.task_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            code: EXIT_INVALID,
        });
    }
    let place = Place {
        region: args.region.as_deref().unwrap_or("*"),
        account: args.account.as_deref().unwrap_or("*"),
    };
    let derived = derive(
        &wf,
        &args.file,
        args.store.as_deref(),
        args.log_group.as_deref(),
        &place,
    )?;
    let out = match &args.check {
        Some(path) => return check(args, &derived, path),
        None => match args.format {
            PolicyFormat::Json => {
                let mut v = match &args.task {
                    Some(t) => document(&derived.tasks[t.as_str()].1),
                    None => combined(&derived),
                };
                if args.task.is_some() {
                    for n in &derived.notes {
                        eprintln!("note: {n}");
                    }
                } else if let Some(o) = v.as_object_mut() {
                    o.insert("notes".into(), json!(derived.notes));
                }
                format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
            }
            PolicyFormat::Text => text(&derived, args.task.as_deref()),
        },
    };
    use std::io::Write as _;
    let _ = write!(std::io::stdout(), "{out}");
    Ok(EXIT_OK)
}

/// Where ARNs are placed: `--region` and `--account`, `*` without them.
struct Place<'a> {
    region: &'a str,
    account: &'a str,
}

/// Derives the needs of the execution role and of every task.
fn derive(
    wf: &Workflow,
    file: &str,
    store: Option<&str>,
    log_group: Option<&str>,
    place: &Place<'_>,
) -> Result<Derived, CliError> {
    let mut d = Derived::default();
    runtime_needs(wf, file, store, log_group, place, &mut d);
    let registry = crate::registry::registry();
    for task in &wf.tasks {
        let Some(entry) = task
            .implementation
            .as_deref()
            .and_then(|p| registry.lookup(p))
        else {
            continue;
        };
        let perms = task_permissions(task, entry, &mut d.notes)?;
        let mut needs = Needs::new();
        for p in perms {
            for r in &p.resources {
                let (resource, widened) = widen(r, place);
                if widened {
                    d.notes.push(format!(
                        "task {}: a templated parameter widens {} to {resource}",
                        task.task_id,
                        p.actions.join(", ")
                    ));
                }
                for a in &p.actions {
                    needs
                        .entry((*a).to_owned())
                        .or_default()
                        .insert(resource.clone());
                }
            }
        }
        if task.role_arn.is_none() {
            merge(&mut d.execution, &needs);
        }
        d.tasks
            .insert(task.task_id.clone(), (task.role_arn.clone(), needs));
    }
    d.notes.sort();
    d.notes.dedup();
    Ok(d)
}

/// The operator's declared permissions for the task's unrendered parameters. A parameter
/// whose template stands where the operator wants a number or a boolean cannot be read
/// before rendering: it is left out (the operator's default applies) and a note says so.
fn task_permissions(
    task: &Task,
    entry: &airtask_core::Entry,
    notes: &mut Vec<String>,
) -> Result<Vec<Permission>, CliError> {
    let (mut params, mut defaults) = (Params::new(), Params::new());
    for p in &task.parameters {
        let to = if p.origin == Origin::DefaultArgs {
            &mut defaults
        } else {
            &mut params
        };
        to.insert(p.name.clone(), p.value.to_json());
    }
    for (name, _) in task.mapping.iter().flat_map(|m| &m.expand) {
        params.insert(name.clone(), "{{ expanded }}".into());
    }
    for _ in 0..=params.len() + defaults.len() {
        match entry.build_unrendered(&params, &defaults) {
            Ok(op) => return Ok(op.permissions()),
            Err(e) => {
                let dropped = e.param().map(str::to_owned).filter(|k| {
                    params
                        .get(k)
                        .or_else(|| defaults.get(k))
                        .is_some_and(holds_template)
                });
                let Some(k) = dropped else {
                    return Err(CliError::Failed {
                        message: format!(
                            "task {}: its operator cannot be built from the definition's \
                             parameters, so its permissions are unknown: {}",
                            task.task_id,
                            e.message()
                        ),
                        code: EXIT_INVALID,
                    });
                };
                notes.push(format!(
                    "task {}: parameter `{k}` is a template where the operator needs a value \
                     it can read before rendering; the policy assumes its default",
                    task.task_id
                ));
                params.remove(&k);
                defaults.remove(&k);
            }
        }
    }
    Err(CliError::Failed {
        message: format!(
            "task {}: its operator cannot be built from the definition's parameters",
            task.task_id
        ),
        code: EXIT_INVALID,
    })
}

fn holds_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(a) => a.iter().any(holds_template),
        Value::Object(o) => o.values().any(holds_template),
        _ => false,
    }
}

/// A resource pattern with its placeholders filled in and every template replaced by `*`;
/// true when a template was replaced.
fn widen(resource: &str, place: &Place<'_>) -> (String, bool) {
    let mut out = String::new();
    let mut rest = resource;
    let mut widened = false;
    loop {
        let next = [rest.find("{{"), rest.find("{%")]
            .into_iter()
            .flatten()
            .min();
        let Some(i) = next else {
            out.push_str(rest);
            break;
        };
        let close = if rest[i..].starts_with("{{") {
            "}}"
        } else {
            "%}"
        };
        out.push_str(&rest[..i]);
        match rest[i + 2..].find(close) {
            Some(j) => {
                out.push('*');
                widened = true;
                rest = &rest[i + 2 + j + 2..];
            }
            None => {
                out.push('*');
                widened = true;
                break;
            }
        }
    }
    while out.contains("**") {
        out = out.replace("**", "*");
    }
    let out = out
        .replace(REGION, place.region)
        .replace(ACCOUNT, place.account);
    (out, widened)
}

fn merge(into: &mut Needs, from: &Needs) {
    for (a, rs) in from {
        into.entry(a.clone())
            .or_default()
            .extend(rs.iter().cloned());
    }
}

/// What the runtime itself calls as the execution role.
fn runtime_needs(
    wf: &Workflow,
    file: &str,
    store: Option<&str>,
    log_group: Option<&str>,
    place: &Place<'_>,
    d: &mut Derived,
) {
    let mut add = |action: &str, resource: String| {
        d.execution
            .entry(action.to_owned())
            .or_default()
            .insert(resource);
    };
    let group = airtask_aws::logs::log_group(&wf.workflow_id, log_group);
    let group_arn = format!(
        "arn:aws:logs:{}:{}:log-group:{group}",
        place.region, place.account
    );
    for action in [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ] {
        add(action, group_arn.clone());
        add(action, format!("{group_arn}:*"));
    }
    if let Ok(loc) = airtask_aws::S3Location::parse(file) {
        add(
            "s3:GetObject",
            format!("arn:aws:s3:::{}/{}", loc.bucket, loc.key),
        );
        if loc.version_id.is_some() {
            add(
                "s3:GetObjectVersion",
                format!("arn:aws:s3:::{}/{}", loc.bucket, loc.key),
            );
        }
    }
    if let Some(url) = store
        && let Some(rest) = url.strip_prefix("s3://")
    {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        let objects = if prefix.is_empty() {
            format!("arn:aws:s3:::{bucket}/*")
        } else {
            format!("arn:aws:s3:::{bucket}/{prefix}/*")
        };
        add("s3:ListBucket", format!("arn:aws:s3:::{bucket}"));
        for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
            add(action, objects.clone());
        }
    }
    for role in wf.tasks.iter().filter_map(|t| t.role_arn.as_deref()) {
        add("sts:AssumeRole", role.to_owned());
    }
}

/// An IAM policy document granting `needs`: one statement per distinct resource set, its
/// actions sorted; statements sorted by their first action.
pub(crate) fn document(needs: &Needs) -> Value {
    let mut by_resources: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (action, resources) in needs {
        let rs: Vec<String> = if resources.contains("*") {
            vec!["*".to_owned()]
        } else {
            resources.iter().cloned().collect()
        };
        by_resources.entry(rs).or_default().push(action.clone());
    }
    let mut statements: Vec<(Vec<String>, Vec<String>)> = by_resources
        .into_iter()
        .map(|(rs, mut actions)| {
            actions.sort();
            (actions, rs)
        })
        .collect();
    statements.sort();
    let statements: Vec<Value> = statements
        .into_iter()
        .enumerate()
        .map(|(i, (actions, resources))| {
            json!({
                "Sid": format!("Airtask{}", i + 1),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            })
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The whole answer: the execution role, each task role (the union of its tasks), each task.
fn combined(d: &Derived) -> Value {
    let mut roles: BTreeMap<&str, Needs> = BTreeMap::new();
    for (role, needs) in d.tasks.values() {
        if let Some(r) = role {
            merge(roles.entry(r).or_default(), needs);
        }
    }
    let tasks: serde_json::Map<String, Value> = d
        .tasks
        .iter()
        .map(|(id, (role, needs))| {
            (
                id.clone(),
                json!({"role_arn": role, "policy": document(needs)}),
            )
        })
        .collect();
    let task_roles: serde_json::Map<String, Value> = roles
        .iter()
        .map(|(r, n)| ((*r).to_owned(), document(n)))
        .collect();
    json!({
        "execution_role": document(&d.execution),
        "task_roles": task_roles,
        "tasks": tasks,
    })
}

fn text(d: &Derived, only: Option<&str>) -> String {
    let mut out = String::new();
    let show = |out: &mut String, needs: &Needs| {
        if needs.is_empty() {
            out.push_str("  (no AWS permissions)\n");
        }
        let doc = document(needs);
        for s in doc["Statement"].as_array().into_iter().flatten() {
            let list = |k: &str| {
                s[k].as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(out, "  {}\n    on {}", list("Action"), list("Resource"));
        }
    };
    if only.is_none() {
        let shared: Vec<&str> = d
            .tasks
            .iter()
            .filter(|(_, (r, _))| r.is_none())
            .map(|(id, _)| id.as_str())
            .collect();
        let _ = writeln!(
            out,
            "Execution role (the runtime, and the tasks without a role of their own: {}):",
            if shared.is_empty() {
                "none".to_owned()
            } else {
                shared.join(", ")
            }
        );
        show(&mut out, &d.execution);
    }
    for (id, (role, needs)) in &d.tasks {
        if only.is_some_and(|t| t != id) {
            continue;
        }
        let _ = writeln!(
            out,
            "Task {id} (as {}):",
            role.as_deref().unwrap_or("the execution role")
        );
        show(&mut out, needs);
    }
    if !d.notes.is_empty() {
        out.push_str("Notes:\n");
        for n in &d.notes {
            let _ = writeln!(out, "  {n}");
        }
    }
    out
}

/// One Allow (or Deny) grant of a policy: an action pattern on a resource pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    deny: bool,
    action: String,
    resource: String,
}

/// Reads the grants of an IAM policy document (`Statement` an object or a list; `Action` and
/// `Resource` a string or a list). `NotAction`, `NotResource` and conditions are refused: the
/// comparison would not be faithful.
fn grants(doc: &Value) -> Result<Vec<Grant>, String> {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        o @ Value::Object(_) => vec![o.clone()],
        _ => return Err("it has no `Statement` (an object or a list of objects)".to_owned()),
    };
    let strings = |v: &Value, what: &str, i: usize| -> Result<Vec<String>, String> {
        match v {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_owned).ok_or_else(|| {
                        format!(
                            "statement {}: `{what}` holds a value that is not a string",
                            i + 1
                        )
                    })
                })
                .collect(),
            _ => Err(format!(
                "statement {}: `{what}` must be a string or a list of strings",
                i + 1
            )),
        }
    };
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        for unsupported in ["NotAction", "NotResource", "Condition", "NotPrincipal"] {
            if s.get(unsupported).is_some() {
                return Err(format!(
                    "statement {}: `{unsupported}` is not supported by --check (only Effect, \
                     Action and Resource are compared)",
                    i + 1
                ));
            }
        }
        let deny = match s["Effect"].as_str() {
            Some("Allow") => false,
            Some("Deny") => true,
            _ => {
                return Err(format!(
                    "statement {}: `Effect` must be \"Allow\" or \"Deny\"",
                    i + 1
                ));
            }
        };
        for action in strings(&s["Action"], "Action", i)? {
            for resource in strings(&s["Resource"], "Resource", i)? {
                out.push(Grant {
                    deny,
                    action: action.to_ascii_lowercase(),
                    resource,
                });
            }
        }
    }
    Ok(out)
}

/// `airtask policy --check FILE`: what FILE lacks for the execution role (or `--task`'s role)
/// and what it grants beyond it.
fn check(args: &PolicyArgs, d: &Derived, path: &std::path::Path) -> Result<u8, CliError> {
    let bad = |message: String| CliError::Failed {
        message,
        code: crate::exit::EXIT_USAGE,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(format!("--check {}: cannot be read: {e}", path.display())))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "--check {}: not a JSON policy document: {e}",
            path.display()
        ))
    })?;
    let grants = grants(&doc).map_err(|e| bad(format!("--check {}: {e}", path.display())))?;
    let needs = match &args.task {
        Some(t) => &d.tasks[t.as_str()].1,
        None => &d.execution,
    };
    let (lacks, beyond) = compare(needs, &grants);
    let mut out = String::new();
    let role = args
        .task
        .as_deref()
        .map_or("the execution role".to_owned(), |t| {
            format!("task {t}'s role")
        });
    if args.format == PolicyFormat::Json {
        let v = json!({
            "role": role,
            "lacks": lacks.iter().map(|(a, r)| json!({"action": a, "resource": r})).collect::<Vec<_>>(),
            "beyond": beyond,
        });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        );
    } else {
        if lacks.is_empty() {
            let _ = writeln!(
                out,
                "{} grants everything the workflow needs of {role}.",
                path.display()
            );
        } else {
            let _ = writeln!(out, "{} lacks, for {role}:", path.display());
            for (a, r) in &lacks {
                let _ = writeln!(out, "  {a} on {r}");
            }
        }
        if !beyond.is_empty() {
            let _ = writeln!(out, "It grants beyond the workflow's needs:");
            for b in &beyond {
                let _ = writeln!(out, "  {b}");
            }
        }
    }
    use std::io::Write as _;
    let _ = write!(std::io::stdout(), "{out}");
    Ok(if lacks.is_empty() {
        EXIT_OK
    } else {
        EXIT_LACKS
    })
}

/// What `grants` lacks of `needs` (action, resource pairs), and what it grants beyond them
/// (one sentence each).
fn compare(needs: &Needs, grants: &[Grant]) -> (Vec<(String, String)>, Vec<String>) {
    let covers = |g: &Grant, action: &str, resource: &str| {
        matches(&g.action, &action.to_ascii_lowercase()) && matches(&g.resource, resource)
    };
    let mut lacks = Vec::new();
    for (action, resources) in needs {
        for r in resources {
            let allowed = grants.iter().any(|g| !g.deny && covers(g, action, r));
            let denied = grants.iter().any(|g| g.deny && covers(g, action, r));
            if !allowed || denied {
                lacks.push((action.clone(), r.clone()));
            }
        }
    }
    let mut beyond = BTreeSet::new();
    for g in grants.iter().filter(|g| !g.deny) {
        let used: Vec<(&String, &BTreeSet<String>)> = needs
            .iter()
            .filter(|(a, _)| matches(&g.action, &a.to_ascii_lowercase()))
            .collect();
        if used.is_empty() {
            beyond.insert(format!(
                "{} on {}: no task and not the runtime needs it",
                g.action, g.resource
            ));
            continue;
        }
        if g.action.contains(['*', '?']) {
            let names: Vec<&str> = used.iter().map(|(a, _)| a.as_str()).collect();
            let all_needed = names.iter().all(|a| a.eq_ignore_ascii_case(&g.action));
            if !all_needed {
                beyond.insert(format!(
                    "{} grants every action it matches where the workflow needs only {}",
                    g.action,
                    names.join(", ")
                ));
            }
        }
        let needed_resources: BTreeSet<&String> =
            used.iter().flat_map(|(_, rs)| rs.iter()).collect();
        let narrower_need = needed_resources
            .iter()
            .all(|n| *n != &g.resource && matches(&g.resource, n) && !matches(n, &g.resource));
        if narrower_need && !needed_resources.is_empty() {
            beyond.insert(format!(
                "{} on {}: the workflow needs it only on {}",
                g.action,
                g.resource,
                needed_resources
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    (lacks, beyond.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: Place<'static> = Place {
        region: "*",
        account: "*",
    };

    #[test]
    fn templates_widen_to_the_smallest_wildcard() {
        assert_eq!(
            widen("arn:aws:s3:::b/data/{{ ds }}/in.csv", &ANY),
            ("arn:aws:s3:::b/data/*/in.csv".to_owned(), true)
        );
        assert_eq!(
            widen("arn:aws:s3:::b/{{ a }}{{ b }}", &ANY),
            ("arn:aws:s3:::b/*".to_owned(), true)
        );
        assert_eq!(
            widen(
                "arn:aws:glue:{region}:{account}:job/etl",
                &Place {
                    region: "eu-west-1",
                    account: "123456789012"
                }
            ),
            (
                "arn:aws:glue:eu-west-1:123456789012:job/etl".to_owned(),
                false
            )
        );
        assert_eq!(
            widen("arn:aws:s3:::b/{% if x %}a{% endif %}", &ANY),
            ("arn:aws:s3:::b/*a*".to_owned(), true)
        );
    }

    fn needs(pairs: &[(&str, &str)]) -> Needs {
        let mut n = Needs::new();
        for (a, r) in pairs {
            n.entry((*a).to_owned())
                .or_default()
                .insert((*r).to_owned());
        }
        n
    }

    #[test]
    fn documents_group_actions_by_resources_in_a_stable_order() {
        let n = needs(&[
            ("s3:PutObject", "arn:aws:s3:::b/k"),
            ("s3:GetObject", "arn:aws:s3:::b/k"),
            ("ec2:DescribeInstances", "*"),
            ("s3:ListBucket", "arn:aws:s3:::b"),
        ]);
        assert_eq!(
            document(&n),
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Airtask1", "Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": ["*"]},
                {"Sid": "Airtask2", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/k"]},
                {"Sid": "Airtask3", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"]},
            ]})
        );
    }

    #[test]
    fn check_reports_what_lacks_and_what_is_beyond() {
        let n = needs(&[
            ("s3:GetObject", "arn:aws:s3:::b/data/*"),
            ("s3:PutObject", "arn:aws:s3:::b/out/x"),
        ]);
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/out/*"},
        ]});
        let (lacks, beyond) = compare(&n, &grants(&doc).unwrap());
        assert_eq!(
            lacks,
            [("s3:PutObject".to_owned(), "arn:aws:s3:::b/out/x".to_owned())]
        );
        assert_eq!(
            beyond,
            [
                "s3:* grants every action it matches where the workflow needs only s3:GetObject, s3:PutObject",
                "s3:* on arn:aws:s3:::b/*: the workflow needs it only on arn:aws:s3:::b/data/*, arn:aws:s3:::b/out/x",
                "sqs:sendmessage on *: no task and not the runtime needs it",
            ]
        );
        let exact = json!({"Statement": {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/data/*"]}});
        let (lacks, beyond) = compare(
            &needs(&[("s3:GetObject", "arn:aws:s3:::b/data/*")]),
            &grants(&exact).unwrap(),
        );
        assert!(
            lacks.is_empty() && beyond.is_empty(),
            "{lacks:?} {beyond:?}"
        );
        assert!(
            grants(
                &json!({"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]})
            )
            .unwrap_err()
            .contains("NotAction")
        );
    }
}
