//! The SNS operator through `airtask run-task` against the local endpoint: a message published
//! to a topic reaches the queue subscribed to it, with its subject and attributes (XCom: the
//! Publish answer), and an unknown topic fails the task without retry.

use crate::flow::Flow;
use crate::sqs::{create_queue, sqs};

const PUBLISH: &str = "airflow.providers.amazon.aws.operators.sns.SnsPublishOperator";

async fn sns() -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await)
}

#[tokio::test(flavor = "current_thread")]
async fn a_published_message_reaches_the_subscribed_queue() {
    let sns = sns().await;
    let topic = sns
        .create_topic()
        .name("snst-ok")
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn
        .expect("TopicArn");
    let url = create_queue("snst-ok-queue").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:123456789012:snst-ok-queue")
        .send()
        .await
        .expect("Subscribe");
    let flow = Flow::new(
        "snst_ok",
        &[(
            "publish",
            PUBLISH,
            format!(
                "target_arn: {topic}\nmessage: 'Hello on {{{{ ds }}}}'\nsubject: greeting\nmessage_attributes: {{team: data, count: 3, tags: [a, b]}}"
            ),
        )],
    );
    let run = flow.expect("publish", 0);
    let xcom = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let id = xcom["MessageId"].as_str().expect("MessageId").to_owned();
    assert!(
        run.log.contains(&format!(
            "Sending SNS notification to {topic} using aws_default:"
        )),
        "{}",
        run.log
    );
    let received = sqs()
        .await
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage");
    let messages = received.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope: serde_json::Value =
        serde_json::from_str(messages[0].body().unwrap_or_default()).expect("the SNS envelope");
    assert_eq!(envelope["MessageId"], id.as_str());
    assert_eq!(envelope["Message"], "Hello on 2025-03-09");
    assert_eq!(envelope["Subject"], "greeting");
    let attrs = &envelope["MessageAttributes"];
    assert_eq!(attrs["team"]["Type"], "String", "{envelope}");
    assert_eq!(attrs["team"]["Value"], "data");
    assert_eq!(attrs["count"]["Type"], "Number");
    assert_eq!(attrs["count"]["Value"], "3");
    assert_eq!(attrs["tags"]["Type"], "String.Array");
    assert_eq!(attrs["tags"]["Value"], "[\"a\", \"b\"]");
}

#[tokio::test(flavor = "current_thread")]
async fn publishing_to_an_unknown_topic_fails_without_retry() {
    let flow = Flow::new(
        "snst_unknown",
        &[(
            "publish",
            PUBLISH,
            "target_arn: arn:aws:sns:us-east-1:123456789012:snst-no-such-topic\nmessage: hi\nretries: 2\nretry_delay: 0".to_owned(),
        )],
    );
    let run = flow.expect("publish", 1);
    assert!(
        run.error()
            .contains("Publish to arn:aws:sns:us-east-1:123456789012:snst-no-such-topic failed")
            && run.error().contains("NotFound"),
        "{}",
        run.log
    );
    assert_eq!(run.record["try"], 1, "{}", run.log);
    assert!(run.xcom.is_none());
}
