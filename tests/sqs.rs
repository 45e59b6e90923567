//! The SQS operator and sensor through `airtask run-task` against the local endpoint: a
//! message sent with attributes (XCom: the SendMessage answer) and received by the sensor
//! (XCom `messages`, deleted from the queue), JSONPath and literal filtering, messages kept
//! when `delete_message_on_reception` is false, the sensor's timeout on an empty queue, and an
//! unknown queue. Every test has a queue of its own.

use crate::flow::Flow;

const PUBLISH: &str = "airflow.providers.amazon.aws.operators.sqs.SqsPublishOperator";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.sqs.SqsSensor";

pub(crate) async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await)
}

/// Creates queue `name` and returns its URL.
pub(crate) async fn create_queue(name: &str) -> String {
    sqs()
        .await
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("QueueUrl")
}

/// The bodies of the messages now visible in `url` (received without deleting).
pub(crate) async fn bodies(url: &str) -> Vec<String> {
    let out = sqs()
        .await
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .expect("ReceiveMessage");
    let mut b: Vec<String> = out
        .messages()
        .iter()
        .filter_map(|m| m.body().map(str::to_owned))
        .collect();
    b.sort();
    b
}

async fn send(url: &str, body: &str) {
    sqs()
        .await
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .expect("SendMessage");
}

#[tokio::test(flavor = "current_thread")]
async fn a_published_message_is_sensed_pushed_and_deleted() {
    let url = create_queue("sqst-ok").await;
    let flow = Flow::new(
        "sqst_ok",
        &[
            (
                "publish",
                PUBLISH,
                format!(
                    "sqs_queue: {url}\nmessage_content: '{{\"event\": \"{{{{ ds }}}}\"}}'\nmessage_attributes: {{color: {{DataType: String, StringValue: blue}}}}"
                ),
            ),
            (
                "sense",
                SENSOR,
                format!(
                    "sqs_queue: {url}\nmax_messages: 10\nwait_time_seconds: 0\npoke_interval: 0.2\ntimeout: 30"
                ),
            ),
        ],
    );
    let run = flow.expect("publish", 0);
    let xcom = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let id = xcom["MessageId"].as_str().expect("MessageId").to_owned();
    assert_eq!(
        xcom["MD5OfMessageBody"].as_str().map(str::len),
        Some(32),
        "{xcom}"
    );
    assert!(xcom["MD5OfMessageAttributes"].is_string(), "{xcom}");
    assert!(run.log.contains("send_message result: "), "{}", run.log);

    let sensed = flow.expect("sense", 0);
    assert!(
        sensed.xcom.is_none(),
        "the sensor's return value is not pushed"
    );
    let messages = flow.xcom("sense", "messages").expect("XCom messages");
    let messages = messages.as_array().expect("a list");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["MessageId"], id.as_str());
    assert_eq!(messages[0]["Body"], "{\"event\": \"2025-03-09\"}");
    assert!(messages[0]["ReceiptHandle"].is_string());
    assert!(sensed.log.contains("Deleting 1 messages"), "{}", sensed.log);
    assert!(bodies(&url).await.is_empty(), "the message was deleted");
}

#[tokio::test(flavor = "current_thread")]
async fn jsonpath_and_literal_filters_keep_only_matching_messages() {
    let url = create_queue("sqst-filter").await;
    for body in [
        "{\"kind\": \"keep\", \"n\": 1}",
        "{\"kind\": \"skip\", \"n\": 2}",
        "{\"items\": [{\"kind\": \"keep\"}]}",
    ] {
        send(&url, body).await;
    }
    let flow = Flow::new(
        "sqst_filter",
        &[
            (
                "jsonpath",
                SENSOR,
                format!(
                    "sqs_queue: {url}\nmax_messages: 10\nnum_batches: 2\nwait_time_seconds: 0\nvisibility_timeout: 0\nmessage_filtering: jsonpath\nmessage_filtering_config: $..kind\nmessage_filtering_match_values: [keep]\ndelete_message_on_reception: false\npoke_interval: 0.2\ntimeout: 30"
                ),
            ),
            (
                "literal",
                SENSOR,
                format!(
                    "sqs_queue: {url}\nmax_messages: 10\nwait_time_seconds: 0\nvisibility_timeout: 0\nmessage_filtering: literal\nmessage_filtering_match_values: ['{{\"kind\": \"skip\", \"n\": 2}}']\npoke_interval: 0.2\ntimeout: 30"
                ),
            ),
        ],
    );
    let run = flow.expect("jsonpath", 0);
    let messages = flow.xcom("jsonpath", "messages").expect("XCom messages");
    let mut kept: Vec<&str> = messages
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|m| m["Body"].as_str())
        .collect();
    kept.sort_unstable();
    kept.dedup();
    assert_eq!(
        kept,
        [
            "{\"items\": [{\"kind\": \"keep\"}]}",
            "{\"kind\": \"keep\", \"n\": 1}"
        ],
        "{}",
        run.log
    );
    assert!(
        run.log.contains("messages left after filtering"),
        "{}",
        run.log
    );
    // Nothing was deleted.
    assert_eq!(bodies(&url).await.len(), 3);

    let run = flow.expect("literal", 0);
    let messages = flow.xcom("literal", "messages").expect("XCom messages");
    let messages = messages.as_array().expect("a list");
    assert_eq!(messages.len(), 1, "{}", run.log);
    assert_eq!(messages[0]["Body"], "{\"kind\": \"skip\", \"n\": 2}");
    let left = bodies(&url).await;
    assert_eq!(left.len(), 2, "the literal match was deleted: {left:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_sqs_sensor_times_out_on_an_empty_queue() {
    let url = create_queue("sqst-empty").await;
    let flow = Flow::new(
        "sqst_empty",
        &[(
            "sense",
            SENSOR,
            format!("sqs_queue: {url}\nwait_time_seconds: 0\npoke_interval: 0.5\ntimeout: 2"),
        )],
    );
    let run = flow.expect("sense", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    assert!(flow.xcom("sense", "messages").is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_queue_fails_the_operator_and_the_sensor_without_retry() {
    let url = format!(
        "{}/123456789012/sqst-no-such-queue",
        airtask_tests::endpoint()
    );
    let flow = Flow::new(
        "sqst_unknown",
        &[
            (
                "publish",
                PUBLISH,
                format!("sqs_queue: {url}\nmessage_content: hi\nretries: 2\nretry_delay: 0"),
            ),
            (
                "sense",
                SENSOR,
                format!(
                    "sqs_queue: {url}\nwait_time_seconds: 0\npoke_interval: 0.2\nretries: 2\nretry_delay: 0"
                ),
            ),
        ],
    );
    for task in ["publish", "sense"] {
        let run = flow.expect(task, 1);
        assert!(
            run.error().contains("QueueDoesNotExist") || run.error().contains("NonExistentQueue"),
            "{task}: {}",
            run.log
        );
        assert_eq!(run.record["try"], 1, "{task}: {}", run.log);
    }
}
