//! The EventBridge operators through `airtask run-task` against the local endpoint: a rule put
//! on a bus of its own (XCom: its ARN), enabled and disabled, an event put through it reaching
//! the SQS queue it targets (XCom: the event ids), a failed entry failing the task, an unknown
//! bus and rule, and the EventBridge workflow of ../shared/corpus run end to end.

use airtask_tests::{airtask, corpus_dir};

use crate::flow::Flow;
use crate::sqs::{bodies, create_queue};

const PUT_EVENTS: &str =
    "airflow.providers.amazon.aws.operators.eventbridge.EventBridgePutEventsOperator";
const PUT_RULE: &str =
    "airflow.providers.amazon.aws.operators.eventbridge.EventBridgePutRuleOperator";
const ENABLE: &str =
    "airflow.providers.amazon.aws.operators.eventbridge.EventBridgeEnableRuleOperator";
const DISABLE: &str =
    "airflow.providers.amazon.aws.operators.eventbridge.EventBridgeDisableRuleOperator";

async fn events() -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(
        &airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await,
    )
}

async fn create_bus(name: &str) {
    events()
        .await
        .create_event_bus()
        .name(name)
        .send()
        .await
        .expect("CreateEventBus");
}

async fn rule_state(name: &str, bus: &str) -> String {
    events()
        .await
        .describe_rule()
        .name(name)
        .event_bus_name(bus)
        .send()
        .await
        .expect("DescribeRule")
        .state
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn a_rule_is_put_enabled_and_disabled_and_routes_put_events_to_its_target() {
    create_bus("ebt-bus").await;
    let url = create_queue("ebt-target").await;
    let flow = Flow::new(
        "ebt_rules",
        &[
            (
                "put_rule",
                PUT_RULE,
                "name: ebt-rule\nevent_bus_name: ebt-bus\ndescription: airtask test rule\nevent_pattern: '{\"source\": [\"ebt.app\"]}'\nstate: DISABLED\ntags: [{Key: team, Value: data}]".to_owned(),
            ),
            ("enable", ENABLE, "name: ebt-rule\nevent_bus_name: ebt-bus".to_owned()),
            (
                "put_events",
                PUT_EVENTS,
                "entries:\n  - Source: ebt.app\n    DetailType: Run\n    Detail: '{\"run\": \"{{ ds }}\"}'\n    EventBusName: ebt-bus\n  - Source: ebt.other\n    DetailType: Run\n    Detail: {run: other}\n    EventBusName: ebt-bus".to_owned(),
            ),
            ("disable", DISABLE, "name: ebt-rule\nevent_bus_name: ebt-bus".to_owned()),
        ],
    );
    let run = flow.expect("put_rule", 0);
    let arn = run
        .xcom
        .as_ref()
        .and_then(|x| x["RuleArn"].as_str())
        .unwrap_or_default();
    assert!(arn.ends_with("rule/ebt-bus/ebt-rule"), "{arn}\n{}", run.log);
    assert!(
        run.log
            .contains("Sending rule \"ebt-rule\" to EventBridge."),
        "{}",
        run.log
    );
    assert_eq!(rule_state("ebt-rule", "ebt-bus").await, "DISABLED");

    let run = flow.expect("enable", 0);
    assert!(run.log.contains("Enabled rule \"ebt-rule\""), "{}", run.log);
    assert!(run.xcom.is_none());
    assert_eq!(rule_state("ebt-rule", "ebt-bus").await, "ENABLED");

    events()
        .await
        .put_targets()
        .rule("ebt-rule")
        .event_bus_name("ebt-bus")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn("arn:aws:sqs:us-east-1:123456789012:ebt-target")
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("PutTargets");
    let run = flow.expect("put_events", 0);
    let ids = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let ids = ids.as_array().expect("a list of event ids");
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(
        run.log.contains("Sent 2 events to EventBridge."),
        "{}",
        run.log
    );
    // Only the event the rule's pattern matches reaches its target.
    let delivered = bodies(&url).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let event: serde_json::Value = serde_json::from_str(&delivered[0]).expect("an event");
    assert_eq!(event["id"], ids[0]);
    assert_eq!(event["source"], "ebt.app");
    assert_eq!(event["detail"]["run"], "2025-03-09");

    let run = flow.expect("disable", 0);
    assert!(
        run.log.contains("Disabled rule \"ebt-rule\""),
        "{}",
        run.log
    );
    assert_eq!(rule_state("ebt-rule", "ebt-bus").await, "DISABLED");
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_entry_fails_put_events_with_its_error() {
    let flow = Flow::new(
        "ebt_failed",
        &[(
            "put_events",
            PUT_EVENTS,
            "entries:\n  - {Source: ebt.ok, DetailType: Run, Detail: '{}'}\n  - {Source: ebt.bad, DetailType: Run, Detail: not json}".to_owned(),
        )],
    );
    let run = flow.expect("put_events", 1);
    assert_eq!(
        run.error(),
        "1 entries in this request have failed to send.",
        "{}",
        run.log
    );
    assert!(run.log.contains("MalformedDetail"), "{}", run.log);
    assert!(run.xcom.is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_bus_or_rule_fails_without_retry() {
    let flow = Flow::new(
        "ebt_unknown",
        &[
            (
                "put_rule",
                PUT_RULE,
                "name: ebt-lost\nevent_bus_name: ebt-no-such-bus\nevent_pattern: '{\"source\": [\"x\"]}'\nretries: 2\nretry_delay: 0".to_owned(),
            ),
            (
                "enable",
                ENABLE,
                "name: ebt-no-such-rule\nretries: 2\nretry_delay: 0".to_owned(),
            ),
        ],
    );
    for task in ["put_rule", "enable"] {
        let run = flow.expect(task, 1);
        assert!(
            run.error().contains("ResourceNotFoundException"),
            "{task}: {}",
            run.log
        );
        assert_eq!(run.record["try"], 1, "{task}: {}", run.log);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_eventbridge_corpus_workflow_validates_and_runs() {
    let file = corpus_dir().join("converter-upstream/example_eventbridge.yaml");
    let file = file.to_string_lossy().into_owned();
    let out = airtask(&["validate", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Its events go to `custom-bus`, which the workflow does not create.
    create_bus("custom-bus").await;
    let dir = airtask_tests::TempDir::new("ebt-corpus");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    for task in [
        "put_events_task",
        "put_rule_task",
        "enable_rule_task",
        "disable_rule_task",
    ] {
        let out = airtask(&[
            "run-task",
            &file,
            task,
            "--state-dir",
            &state,
            "--run-id",
            "r1",
            "--logical-date",
            "2026-01-02",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{task}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(rule_state("example_rule", "default").await, "DISABLED");
}
