//! Reading a stream back (`airtask logs`): GetLogEvents from the head, page after page.

/// One page of a stream: its events, and the token to read on from.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// (timestamp in ms, message), in stream order.
    pub events: Vec<(i64, String)>,
    /// Where the next read starts (`nextForwardToken`).
    pub next_token: Option<String>,
}

/// Why a stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The group or the stream does not exist (yet).
    #[error("{0}")]
    NotFound(String),
    /// Anything else (access denied, the network).
    #[error("{0}")]
    Other(String),
}

/// Reads `group`/`stream` from `token` (the head when `None`) until the stream has no more
/// events for now: CloudWatch signals the end by giving back the token it was given. A page
/// can be empty before the end (a sparse stream), so only three empty pages in a row also end
/// the read.
///
/// # Errors
/// [`ReadError::NotFound`] for a missing group or stream, else [`ReadError::Other`].
pub async fn read_stream(
    config: &aws_config::SdkConfig,
    group: &str,
    stream: &str,
    token: Option<String>,
) -> Result<Page, ReadError> {
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata as _;
    let client = aws_sdk_cloudwatchlogs::Client::new(config);
    let mut page = Page {
        events: Vec::new(),
        next_token: token,
    };
    let mut empty = 0;
    loop {
        let out = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(page.next_token.clone())
            .send()
            .await
            .map_err(|e| {
                let text = crate::sdk_error_text(&e);
                if e.code() == Some("ResourceNotFoundException") {
                    ReadError::NotFound(format!("{group} {stream}: {text}"))
                } else {
                    ReadError::Other(format!("reading {group} {stream}: {text}"))
                }
            })?;
        let got = out.events().len();
        page.events.extend(out.events().iter().map(|e| {
            (
                e.timestamp().unwrap_or_default(),
                e.message().unwrap_or_default().to_owned(),
            )
        }));
        let next = out.next_forward_token().map(str::to_owned);
        let same = next.is_none() || next == page.next_token;
        page.next_token = next.or(page.next_token);
        empty = if got == 0 { empty + 1 } else { 0 };
        if same || empty >= 3 {
            return Ok(page);
        }
    }
}
