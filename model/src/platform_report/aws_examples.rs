//! AWS's own published examples of Lambda platform reports, quoted once
//! with the page each comes from, for the tests of the parser and of the
//! figures derived from it.

/// "Failures during the invoke phase", "Example CloudWatch Logs log output
/// (runtime or extension crash) - new style", in
/// <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>.
pub const AWS_ERROR_LINE: &str = "REPORT RequestId: 5b866fb1-7154-4af6-8078-6ef6ca4c2ddd Duration: 133.61 ms Billed Duration: 214 ms Memory Size: 128 MB Max Memory Used: 31 MB Init Duration: 80.00 ms Status: error Error Type: Runtime.ExitError";

/// The same page, "(function timeout) - new style".
pub const AWS_TIMEOUT_LINE: &str = "REPORT RequestId: 527cb862-4f5e-49a9-9ae4-a7edc90f0fda Duration: 3016.78 ms Billed Duration: 3101 ms Memory Size: 128 MB Max Memory Used: 31 MB Init Duration: 84.00 ms Status: timeout";

/// "The following is an example Event of type platform.report", in
/// <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html>.
/// AWS prints it with a comma after `requestId`, which no JSON parser
/// accepts; that comma is the only change.
pub const AWS_JSON_REPORT: &str = r#"{
    "time": "2022-10-12T00:01:15.000Z",
    "type": "platform.report",
    "record": {
        "metrics": {
            "billedDurationMs": 694,
            "durationMs": 693.92,
            "initDurationMs": 397.68,
            "maxMemoryUsedMB": 84,
            "memorySizeMB": 128
        },
        "requestId": "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa"
    }
}"#;

/// AWS's SnapStart monitoring page
/// (<https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html>)
/// names the fields of a restore's REPORT line but prints none whole: no
/// `Init Duration`, and `Restore Duration` and `Billed Restore Duration`
/// after the memory fields. This line is AWS's error example above with
/// exactly that change (and its own request id); its `Billed Duration` is
/// ceil(Duration + Billed Restore Duration) = ceil(133.61 + 180) = 314,
/// which is how Lambda bills a restore (the billed restore is charged as
/// duration, the snapshot restore itself is free).
pub const SNAPSTART_LINE: &str = "REPORT RequestId: a1f7c2de-3b4a-4c5d-8e9f-0123456789ab Duration: 133.61 ms Billed Duration: 314 ms Memory Size: 128 MB Max Memory Used: 31 MB Restore Duration: 398.97 ms Billed Restore Duration: 180 ms";

/// "Example CloudWatch Logs log output (runtime or extension crash) - old
/// style" in lambda-runtime-environment.html (above): no status, as Lambda
/// printed it before.
pub const AWS_OLD_STYLE_LINE: &str = "REPORT RequestId: c3252230-c73d-49f6-8844-968c01d1e2e1 Duration: 933.59 ms Billed Duration: 934 ms Memory Size: 128 MB Max Memory Used: 9 MB";
