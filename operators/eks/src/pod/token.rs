//! The EKS bearer token, made the way `aws eks get-token` (and the provider's
//! `EksHook.fetch_access_token_for_cluster`) makes it: a GetCallerIdentity request to STS,
//! presigned with SigV4 in the query string for 60 seconds, with the header
//! `x-k8s-aws-id: <cluster name>` signed along; the token is `k8s-aws-v1.` and the URL in
//! base64url without padding. The cluster's authenticator calls STS with that URL and maps the
//! identity STS answers to a Kubernetes user.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;

/// The prefix of an EKS token.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// The header that binds the token to one cluster.
const CLUSTER_HEADER: &str = "x-k8s-aws-id";

/// How long the presigned URL is valid (the CLI's and the provider's 60 s).
const URL_EXPIRES: Duration = Duration::from_secs(60);

/// The STS endpoint the token's URL calls: `endpoint` when the configuration overrides the
/// endpoint (AWS_ENDPOINT_URL), else the regional endpoint of `region`, as the provider does
/// (it sets AWS_STS_REGIONAL_ENDPOINTS=regional).
pub(crate) fn sts_endpoint(region: &str, endpoint: Option<&str>) -> String {
    match endpoint {
        Some(e) => e.trim_end_matches('/').to_owned(),
        None if region.starts_with("cn-") => format!("https://sts.{region}.amazonaws.com.cn"),
        None => format!("https://sts.{region}.amazonaws.com"),
    }
}

/// The EKS token of `cluster` for `credentials`, signed for `region` at `time`, calling STS at
/// `sts` (see [`sts_endpoint`]).
///
/// # Errors
/// A URL or credentials the signer refuses, with its reason.
pub fn eks_token(
    credentials: &Credentials,
    cluster: &str,
    region: &str,
    sts: &str,
    time: SystemTime,
) -> Result<String, String> {
    let url = format!("{sts}/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot sign the EKS token's STS request: {e}"))?
        .into();
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::once((CLUSTER_HEADER, cluster)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| format!("cannot sign the EKS token's STS request to {url}: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("cannot sign the EKS token's STS request: {e}"))?
        .into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(url.as_str())
        .header(CLUSTER_HEADER, cluster)
        .body(())
        .map_err(|e| format!("the EKS token's STS URL {url} is not valid: {e}"))?;
    instructions.apply_to_request_http1x(&mut request);
    let signed = request.uri().to_string();
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed)
    ))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn decode(token: &str) -> String {
        let b = token.strip_prefix(TOKEN_PREFIX).expect("the prefix");
        assert!(!b.contains('='), "no padding: {b}");
        assert!(!b.contains('+') && !b.contains('/'), "base64url: {b}");
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b)
                .expect("base64url"),
        )
        .expect("UTF-8")
    }

    #[test]
    fn the_token_is_a_presigned_get_caller_identity_url() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", Some("session".into()), None, "t");
        // 2015-08-30T12:36:00Z, the SigV4 test suite's time.
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let sts = sts_endpoint("us-west-2", None);
        assert_eq!(sts, "https://sts.us-west-2.amazonaws.com");
        let token = eks_token(&creds, "prod", "us-west-2", &sts, time).unwrap();
        let url = decode(&token);
        assert!(
            url.starts_with(
                "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
            ),
            "{url}"
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-west-2%2Fsts%2Faws4_request",
            "X-Amz-Date=20150830T123600Z",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
            "X-Amz-Security-Token=session",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(part), "{part} in {url}");
        }
        // The same inputs sign the same; another cluster signs otherwise.
        assert_eq!(
            eks_token(&creds, "prod", "us-west-2", &sts, time).unwrap(),
            token
        );
        assert_ne!(
            eks_token(&creds, "dev", "us-west-2", &sts, time).unwrap(),
            token
        );
        assert_eq!(
            sts_endpoint("cn-north-1", None),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sts_endpoint("us-east-1", Some("http://127.0.0.1:5000/")),
            "http://127.0.0.1:5000"
        );
    }
}
