//! Every real workflow in ../shared/corpus loads; the only errors are operators this runtime
//! does not implement yet, each reported with its task id.

use airtask_tests::{airtask, corpus_dir, stdout_json};

#[test]
fn every_corpus_definition_loads_and_only_unimplemented_operators_are_errors() {
    let mut files: Vec<String> = Vec::new();
    for sub in ["aws-samples", "aws-docs", "converter-upstream"] {
        let dir = corpus_dir().join(sub);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 60,
        "expected the whole corpus, found {} files",
        files.len()
    );

    // What `airtask operators` lists, by class name (aliases included).
    let listed = stdout_json(&airtask(&["operators", "--format", "json"]));
    let mut implemented: Vec<String> = Vec::new();
    for op in listed["operators"].as_array().expect("operators") {
        let aliases = op["aliases"].as_array().expect("aliases");
        for path in std::iter::once(&op["class_path"]).chain(aliases) {
            let path = path.as_str().expect("a class path");
            implemented.push(path.rsplit('.').next().unwrap_or(path).to_owned());
        }
    }
    assert!(
        implemented.len() > 150,
        "expected every family in the default build, found {} operators",
        implemented.len()
    );

    let mut args = vec!["validate", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let out = airtask(&args);
    let report = stdout_json(&out);
    let mut valid = 0;
    for f in report["files"].as_array().expect("files") {
        let name = f["file"].as_str().expect("file");
        let text = std::fs::read_to_string(name).expect("read corpus file");
        let errors: Vec<&serde_json::Value> = f["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        // The workflow itself loaded: every error is about one task's operator.
        for e in &errors {
            let msg = e["message"].as_str().expect("message");
            assert!(
                msg.contains("is not implemented by this runtime yet"),
                "{name}: unexpected error: {e}"
            );
            assert_eq!(e["key"], "operator", "{name}: {e}");
            let task = e["task"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no task in {e}"));
            assert!(
                text.contains(task.rsplit('.').next().unwrap_or(task)),
                "{name}: {task}"
            );
            assert!(
                msg.contains("`airtask operators` lists the"),
                "the message says where the implemented operators are listed: {msg}"
            );
            assert!(e["line"].as_u64().is_some(), "{name}: no line in {e}");
        }
        // Every task whose operator is not implemented is reported, once. Compare by class
        // name: aliases share it.
        let unimplemented = text
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with("operator:")
                    && !implemented
                        .iter()
                        .any(|class| l.trim_end().ends_with(&format!(".{class}")))
            })
            .count();
        if errors.is_empty() {
            // Then every operator of the file is implemented.
            assert!(
                text.lines()
                    .filter(|l| l.trim_start().starts_with("operator:"))
                    .all(|l| [
                        "EmptyOperator",
                        "BashOperator",
                        "S3",
                        "Athena",
                        "RedshiftData",
                        "redshift_cluster.Redshift",
                        "Neptune",
                        "DynamoDBValueSensor",
                        "Glue",
                        "Lambda",
                        "Rds",
                        "Dms",
                        "Glacier",
                        "DataSync",
                        "EventBridge",
                        "StepFunction",
                        "Sns",
                        "Sqs",
                        "CloudFormation",
                        "Appflow",
                        "QuickSight",
                        "KinesisAnalyticsV2",
                        "OpenSearchServerless",
                        "EC2",
                        "Emr",
                        "SageMaker",
                        "Bedrock",
                        "Comprehend",
                        "Ecs",
                        "Batch",
                        "Eks",
                    ]
                    .iter()
                    .any(|k| l.contains(k))),
                "{name}"
            );
        }
        if !errors.is_empty() {
            assert_eq!(errors.len(), unimplemented, "{name}: {errors:?}");
        }
        if errors.is_empty() {
            assert_eq!(f["valid"], true, "{name}");
            valid += 1;
        } else {
            assert_eq!(f["valid"], false, "{name}");
        }
    }
    assert!(valid >= 1, "simple_empty_dag.yaml at least is valid");
    assert_eq!(
        out.status.code(),
        Some(1),
        "some corpus files use unimplemented operators"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn converter_task_groups_params_and_defaults_come_through() {
    let file = corpus_dir().join("converter-upstream/simple_empty_dag.yaml");
    let out = airtask(&["tasks", "--format", "json", &file.to_string_lossy()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    assert_eq!(v["workflow_id"], "simple_empty_dag");
    assert_eq!(v["tasks"].as_array().map(Vec::len), Some(1));
}

/// Accepts every operator, to reach every task's parameters.
struct AnyOperator;

impl airtask_workflow::OperatorCatalog for AnyOperator {
    fn resolve(&self, class_path: &str) -> Option<&str> {
        Some(class_path).filter(|p| !p.is_empty()).map(|_| "any")
    }
    fn implemented(&self) -> Vec<&str> {
        vec!["any"]
    }
}

fn templates_in(v: &airtask_workflow::Value, out: &mut Vec<String>) {
    match v {
        airtask_workflow::Value::Str(s) if s.contains("{{") || s.contains("{%") => {
            out.push(s.clone())
        }
        airtask_workflow::Value::List(items) => items.iter().for_each(|i| templates_in(i, out)),
        airtask_workflow::Value::Map(m) => m.iter().for_each(|(_, i)| templates_in(i, out)),
        _ => {}
    }
}

#[test]
fn every_template_in_the_corpus_parses() {
    let env = |_: &str| None;
    let opts = airtask_workflow::LoadOptions {
        env: &env,
        now: jiff::Timestamp::UNIX_EPOCH,
        for_create: false,
        catalog: &AnyOperator,
    };
    let mut templates = Vec::new();
    for sub in ["aws-samples", "aws-docs", "converter-upstream"] {
        for entry in std::fs::read_dir(corpus_dir().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let report = airtask_workflow::load(&std::fs::read(&path).unwrap(), &opts);
            let wf = report
                .workflow
                .unwrap_or_else(|| panic!("{}: {:?}", path.display(), report.diagnostics));
            for task in &wf.tasks {
                for p in &task.parameters {
                    templates_in(&p.value, &mut templates);
                }
            }
        }
    }
    assert!(templates.len() >= 80, "found {} templates", templates.len());
    for t in &templates {
        if let Err(e) = airtask_template::Template::parse(t) {
            panic!("{t:?} does not parse: {e}");
        }
    }
}
