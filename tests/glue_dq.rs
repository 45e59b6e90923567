//! Glue Data Quality and DataBrew through `airtask run-task` against the local endpoint (the
//! project's fake of these APIs, `scripts/moto_patches/glue_dq.py`): rulesets created and
//! updated, evaluation runs that pass, fail a rule, fail as a run, or name a missing ruleset,
//! recommendation runs, both sensors, and DataBrew job runs. Every test uses its own names.

use airtask_tests::{TempDir, aws_config_for, endpoint};

use crate::lambda::{expect, run_task, state_dir, workflow};

const GLUE_OPS: &str = "airflow.providers.amazon.aws.operators.glue";
const GLUE_SENSORS: &str = "airflow.providers.amazon.aws.sensors.glue";
const BREW: &str =
    "airflow.providers.amazon.aws.operators.glue_databrew.GlueDataBrewStartJobOperator";
const ROLE: &str = "arn:aws:iam::123456789012:role/dq-e2e";

fn table(name: &str) -> String {
    format!("{{GlueTable: {{DatabaseName: dq_e2e_db, TableName: {name}}}}}")
}

#[tokio::test(flavor = "current_thread")]
async fn data_quality_rulesets_evaluations_and_recommendations() {
    let url = endpoint();
    let glue = aws_sdk_glue::Client::new(&aws_config_for(&url, None).await);
    let dir = TempDir::new("glue-dq");
    let ruleset_op = format!("{GLUE_OPS}.GlueDataQualityOperator");
    let eval_op = format!("{GLUE_OPS}.GlueDataQualityRuleSetEvaluationRunOperator");
    let rec_op = format!("{GLUE_OPS}.GlueDataQualityRuleRecommendationRunOperator");
    let eval_sensor = format!("{GLUE_SENSORS}.GlueDataQualityRuleSetEvaluationRunSensor");
    let rec_sensor = format!("{GLUE_SENSORS}.GlueDataQualityRuleRecommendationRunSensor");
    let passing = "'Rules = [ RowCount > 0, IsComplete \"id\" ]'";
    let eval = |rulesets: &str, table_name: &str, extra: &str| {
        format!(
            "datasource: {}\nrole: {ROLE}\nrule_set_names: [{rulesets}]\nwaiter_delay: 1\n{extra}",
            table(table_name)
        )
    };
    let wf = workflow(
        &dir,
        "glue_dq",
        &[
            (
                "create_rules",
                &ruleset_op,
                format!(
                    "name: dq-e2e-passing\nruleset: {passing}\n\
                     data_quality_ruleset_kwargs: {{TargetTable: {{DatabaseName: dq_e2e_db, TableName: orders}}, Tags: {{team: data}}}}\n\
                     retries: 1\nretry_delay: 0"
                ),
            ),
            (
                "create_failing",
                &ruleset_op,
                "name: dq-e2e-failing\nruleset: \"Rules = [ RowCount > 0 ]\"".into(),
            ),
            (
                "update_failing",
                &ruleset_op,
                "name: dq-e2e-failing\nupdate_rule_set: true\nruleset: |\n  Rules = [\n    RowCount > 0,\n    ColumnValues \"moto:FAIL\" > 3\n  ]".into(),
            ),
            (
                "bad_ruleset",
                &ruleset_op,
                "name: dq-e2e-bad\nruleset: SELECT * FROM orders".into(),
            ),
            ("evaluate", &eval_op, eval("dq-e2e-passing", "orders", "")),
            (
                "evaluate_failing_rule",
                &eval_op,
                eval("dq-e2e-passing, dq-e2e-failing", "orders", ""),
            ),
            (
                "evaluate_unverified",
                &eval_op,
                eval("dq-e2e-failing", "orders", "verify_result_status: false"),
            ),
            (
                "evaluate_run_fails",
                &eval_op,
                eval("dq-e2e-passing", "orders_moto_failed", ""),
            ),
            (
                "evaluate_missing_ruleset",
                &eval_op,
                eval("dq-e2e-passing, dq-e2e-nope", "orders", "retries: 1\nretry_delay: 0"),
            ),
            (
                "evaluate_no_table",
                &eval_op,
                format!("datasource: {{GlueTable: {{DatabaseName: dq_e2e_db}}}}\nrole: {ROLE}\nrule_set_names: [dq-e2e-passing]"),
            ),
            (
                "evaluate_nowait",
                &eval_op,
                eval("dq-e2e-passing", "orders", "wait_for_completion: false"),
            ),
            (
                "sense_evaluation",
                &eval_sensor,
                "evaluation_run_id: \"{{ ti.xcom_pull(task_ids='evaluate_nowait') }}\"\npoke_interval: 0.1".into(),
            ),
            (
                "evaluate_stuck",
                &eval_op,
                eval("dq-e2e-passing", "orders_moto_stuck", "wait_for_completion: false"),
            ),
            (
                "sense_stuck",
                &eval_sensor,
                "evaluation_run_id: \"{{ ti.xcom_pull(task_ids='evaluate_stuck') }}\"\npoke_interval: 0.2\ntimeout: 0.5".into(),
            ),
            (
                "recommend",
                &rec_op,
                format!(
                    "datasource: {}\nrole: {ROLE}\nwaiter_delay: 1\nrecommendation_run_kwargs: {{CreatedRulesetName: dq-e2e-recommended}}",
                    table("orders")
                ),
            ),
            (
                "recommend_nowait",
                &rec_op,
                format!("datasource: {}\nrole: {ROLE}\nwait_for_completion: false", table("orders")),
            ),
            (
                "sense_recommendation",
                &rec_sensor,
                "recommendation_run_id: \"{{ ti.xcom_pull(task_ids='recommend_nowait') }}\"\npoke_interval: 0.1".into(),
            ),
            (
                "recommend_fails",
                &rec_op,
                format!("datasource: {}\nrole: {ROLE}\nwaiter_delay: 1", table("orders_moto_failed")),
            ),
        ],
    );
    let state = state_dir(&dir);
    let run = |task: &str| run_task(&url, &wf, task, &state, &[]);
    let run_id = |r: &crate::lambda::Run| -> String {
        let id = r
            .xcom
            .as_ref()
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_owned();
        assert!(id.starts_with("dqrun-"), "XCom is the run id:\n{}", r.log);
        id
    };

    // Rulesets: created (XCom none), a second create is fatal, update, a malformed ruleset.
    let r = expect(run("create_rules"), 0, "create_rules");
    assert!(
        r.log
            .contains("AWS Glue data quality ruleset created successfully"),
        "{}",
        r.log
    );
    assert_eq!(r.xcom, None);
    let stored = glue
        .get_data_quality_ruleset()
        .name("dq-e2e-passing")
        .send()
        .await
        .expect("GetDataQualityRuleset");
    assert_eq!(
        stored.ruleset(),
        Some("Rules = [ RowCount > 0, IsComplete \"id\" ]")
    );
    assert_eq!(
        stored.target_table().map(|t| t.table_name()),
        Some("orders")
    );
    let r = expect(run("create_rules"), 1, "create_rules again");
    assert!(r.error().contains("AlreadyExistsException"), "{}", r.log);
    assert_eq!(r.record["try"], 1, "not retried:\n{}", r.log);
    expect(run("create_failing"), 0, "create_failing");
    let r = expect(run("update_failing"), 0, "update_failing");
    assert!(r.log.contains("ruleset updated successfully"), "{}", r.log);
    let r = expect(run("bad_ruleset"), 2, "bad_ruleset");
    assert!(r.log.contains("must be a DQDL ruleset"), "{}", r.log);

    // Evaluation: the run id, the results, a failing rule, a failed run, a missing ruleset.
    let r = expect(run("evaluate"), 0, "evaluate");
    run_id(&r);
    assert!(r.log.contains("RulesetName: dq-e2e-passing"), "{}", r.log);
    assert!(r.log.contains("Score: 1"), "{}", r.log);
    assert!(
        r.log.contains("total number of rules failed: 0"),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("Rule_2\tIsComplete \"id\"\tPASS"),
        "{}",
        r.log
    );
    let r = expect(run("evaluate_failing_rule"), 1, "evaluate_failing_rule");
    assert!(
        r.error()
            .contains("AWS Glue data quality ruleset evaluation run failed for one or more rules"),
        "{}",
        r.log
    );
    assert!(
        r.error().contains("ColumnValues \"moto:FAIL\" > 3"),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("total number of rules failed: 1"),
        "{}",
        r.log
    );
    let r = expect(run("evaluate_unverified"), 0, "evaluate_unverified");
    assert!(r.log.contains("\tFAIL\t"), "{}", r.log);
    let r = expect(run("evaluate_run_fails"), 1, "evaluate_run_fails");
    assert!(r.error().contains("ended FAILED"), "{}", r.log);
    assert!(
        r.error().contains("moto_failed"),
        "the run's ErrorString:\n{}",
        r.log
    );
    let r = expect(
        run("evaluate_missing_ruleset"),
        1,
        "evaluate_missing_ruleset",
    );
    assert!(
        r.error().contains("Following RulesetNames are not found"),
        "{}",
        r.log
    );
    assert!(
        r.error().contains("dq-e2e-nope") && !r.error().contains("dq-e2e-passing"),
        "{}",
        r.log
    );
    assert_eq!(r.record["try"], 1, "not retried:\n{}", r.log);
    let r = expect(run("evaluate_no_table"), 2, "evaluate_no_table");
    assert!(r.log.contains("DatabaseName and TableName"), "{}", r.log);

    // Without waiting, then the sensor.
    let r = expect(run("evaluate_nowait"), 0, "evaluate_nowait");
    let id = run_id(&r);
    assert!(!r.log.contains("Waiting for"), "{}", r.log);
    let r = expect(run("sense_evaluation"), 0, "sense_evaluation");
    assert!(
        r.log.contains(&format!(
            "Poking for AWS Glue data quality ruleset evaluation run RunId: {id}"
        )),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("total number of rules failed: 0"),
        "{}",
        r.log
    );
    expect(run("evaluate_stuck"), 0, "evaluate_stuck");
    let r = expect(run("sense_stuck"), 1, "sense_stuck");
    assert!(r.error().contains("Sensor has timed out"), "{}", r.log);

    // Recommendation: the run id, the recommended rules, the ruleset saved under its name.
    let r = expect(run("recommend"), 0, "recommend");
    run_id(&r);
    assert!(
        r.log
            .contains("recommended rules for DatabaseName: dq_e2e_db TableName: orders"),
        "{}",
        r.log
    );
    assert!(r.log.contains("RowCount > 0"), "{}", r.log);
    let saved = glue
        .get_data_quality_ruleset()
        .name("dq-e2e-recommended")
        .send()
        .await
        .expect("the recommended ruleset was saved");
    assert!(saved.ruleset().unwrap_or_default().starts_with("Rules = ["));
    expect(run("recommend_nowait"), 0, "recommend_nowait");
    let r = expect(run("sense_recommendation"), 0, "sense_recommendation");
    assert!(r.log.contains("IsComplete \"id\""), "{}", r.log);
    let r = expect(run("recommend_fails"), 1, "recommend_fails");
    assert!(r.error().contains("ended FAILED"), "{}", r.log);
}

#[tokio::test(flavor = "current_thread")]
async fn databrew_job_runs_are_waited_for_and_a_failed_run_fails_the_try() {
    let url = endpoint();
    let brew = aws_sdk_databrew::Client::new(&aws_config_for(&url, None).await);
    brew.create_dataset()
        .name("brew-e2e-dataset")
        .input(
            aws_sdk_databrew::types::Input::builder()
                .s3_input_definition(
                    aws_sdk_databrew::types::S3Location::builder()
                        .bucket("brew-e2e-bucket")
                        .build()
                        .expect("S3Location"),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateDataset");
    for job in ["brew-e2e-job", "brew-e2e-job_moto_failed"] {
        brew.create_profile_job()
            .name(job)
            .dataset_name("brew-e2e-dataset")
            .role_arn(ROLE)
            .output_location(
                aws_sdk_databrew::types::S3Location::builder()
                    .bucket("brew-e2e-bucket")
                    .build()
                    .expect("S3Location"),
            )
            .send()
            .await
            .expect("CreateProfileJob");
    }
    let dir = TempDir::new("databrew");
    let wf = workflow(
        &dir,
        "databrew",
        &[
            (
                "run",
                BREW,
                "job_name: brew-e2e-job\nwaiter_delay: 1".into(),
            ),
            (
                "run_nowait",
                BREW,
                "job_name: brew-e2e-job\nwait_for_completion: false".into(),
            ),
            (
                "run_fails",
                BREW,
                "job_name: brew-e2e-job_moto_failed\nwaiter_delay: 1\nretries: 1\nretry_delay: 0"
                    .into(),
            ),
            (
                "unknown",
                BREW,
                "job_name: brew-e2e-no-such-job\nretries: 1\nretry_delay: 0".into(),
            ),
        ],
    );
    let state = state_dir(&dir);
    let run = |task: &str| run_task(&url, &wf, task, &state, &[]);

    let r = expect(run("run"), 0, "run");
    let run_id = r
        .xcom
        .as_ref()
        .and_then(|x| x["run_id"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        run_id.starts_with("db_"),
        "XCom {{\"run_id\": ...}}:\n{}",
        r.log
    );
    assert!(
        r.log
            .contains("Glue DataBrew Job: brew-e2e-job status: SUCCEEDED"),
        "{}",
        r.log
    );
    let r = expect(run("run_nowait"), 0, "run_nowait");
    assert!(
        r.xcom.as_ref().is_some_and(|x| x["run_id"].is_string()),
        "{}",
        r.log
    );
    assert!(!r.log.contains("Waiting for"), "{}", r.log);

    // A failed run fails the try (the provider would succeed) and is retried.
    let r = expect(run("run_fails"), 1, "run_fails");
    assert!(r.error().contains("ended FAILED"), "{}", r.log);
    assert!(
        r.error().contains("moto_failed in the job's name"),
        "{}",
        r.log
    );
    assert_eq!(r.record["try"], 2, "{}", r.log);

    // An unknown job: fatal, one try.
    let r = expect(run("unknown"), 1, "unknown");
    assert!(r.error().contains("ResourceNotFoundException"), "{}", r.log);
    assert_eq!(r.record["try"], 1, "{}", r.log);
}
