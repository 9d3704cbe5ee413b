//! Fixtures are AWS's own published examples, quoted with where they come
//! from; expected figures are read off the fixture by hand.

use super::aws_examples::*;
use super::*;

#[test]
fn parses_a_cold_report_line() {
    let line = "REPORT RequestId: 3f8a1c2e-0000-4bbb-9ccc-1234567890ab\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 250.12 ms\t\n";
    let report = PlatformReport::parse(line).expect("a report line");
    assert_eq!(report.request_id, "3f8a1c2e-0000-4bbb-9ccc-1234567890ab");
    assert_eq!(report.duration_ms, 102.25);
    assert_eq!(report.billed_duration_ms, 103);
    assert_eq!(report.memory_size_mb, 128);
    assert_eq!(report.max_memory_used_mb, 70);
    assert_eq!(report.init_duration_ms, Some(250.12));
    assert_eq!(report.status, ReportStatus::Success);
    assert!(report.is_cold_start());
}

#[test]
fn parses_warm_lines_in_any_order_and_ignores_other_text() {
    let line = "REPORT RequestId: abc Billed Duration: 2 ms Duration: 1.50 ms Max Memory Used: 60 MB Memory Size: 1024 MB XRAY TraceId: 1-2-3";
    let report = PlatformReport::parse(line).expect("a report line");
    assert_eq!(report.request_id, "abc");
    assert_eq!(report.duration_ms, 1.5);
    assert_eq!(report.billed_duration_ms, 2);
    assert_eq!(report.memory_size_mb, 1024);
    assert_eq!(report.init_duration_ms, None);
    assert!(!report.is_cold_start());
    assert!(PlatformReport::parse("START RequestId: abc Version: $LATEST").is_none());
    assert!(PlatformReport::parse("REPORT without fields").is_none());
}

#[test]
fn aws_error_and_timeout_lines_carry_their_status() {
    let error = PlatformReport::parse(AWS_ERROR_LINE).expect("a report line");
    assert_eq!(error.request_id, "5b866fb1-7154-4af6-8078-6ef6ca4c2ddd");
    assert_eq!(error.duration_ms, 133.61);
    // Lambda bills the init of on-demand functions: ceil(133.61 + 80.00) = 214.
    assert_eq!(error.billed_duration_ms, 214);
    assert_eq!(error.init_duration_ms, Some(80.0));
    assert_eq!(error.status, ReportStatus::Error);
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(error.status.is_failure());

    let timeout = PlatformReport::parse(AWS_TIMEOUT_LINE).expect("a report line");
    assert_eq!(timeout.duration_ms, 3016.78);
    assert_eq!(timeout.billed_duration_ms, 3101);
    assert_eq!(timeout.max_memory_used_mb, 31);
    assert_eq!(timeout.status, ReportStatus::Timeout);
    assert_eq!(timeout.error_type, "");
    assert!(timeout.status.is_failure());
}

#[test]
fn tab_separated_status_fields_stop_at_the_next_field() {
    let line = AWS_ERROR_LINE
        .replace(" ms ", " ms\t")
        .replace(" MB ", " MB\t")
        + "\tXRAY TraceId: 1-5759e988-bd862e3fe1be46a994272793\tSegmentId: 53995c3f42cd8ad8";
    let report = PlatformReport::parse(&line).expect("a report line");
    assert_eq!(report.status, ReportStatus::Error);
    assert_eq!(report.error_type, "Runtime.ExitError");
    assert_eq!(report.init_duration_ms, Some(80.0));
}

#[test]
fn snapstart_restore_fields_are_not_mistaken_for_duration() {
    let report = PlatformReport::parse(SNAPSTART_LINE).expect("a report line");
    assert_eq!(report.duration_ms, 133.61);
    assert_eq!(report.billed_duration_ms, 314);
    assert_eq!(report.restore_duration_ms, Some(398.97));
    assert_eq!(report.billed_restore_duration_ms, Some(180));
    assert_eq!(report.init_duration_ms, None);
    assert!(report.is_cold_start());
    // Billed Restore Duration printed first changes nothing.
    let swapped = "REPORT RequestId: r Billed Restore Duration: 180 ms Restore Duration: 398.97 ms Billed Duration: 314 ms Duration: 133.61 ms";
    let report = PlatformReport::parse(swapped).expect("a report line");
    assert_eq!(report.duration_ms, 133.61);
    assert_eq!(report.restore_duration_ms, Some(398.97));
    assert_eq!(report.billed_restore_duration_ms, Some(180));
}

#[test]
fn aws_json_platform_report_parses() {
    let report = PlatformReport::parse(AWS_JSON_REPORT).expect("a platform.report event");
    assert_eq!(report.request_id, "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa");
    assert_eq!(report.duration_ms, 693.92);
    assert_eq!(report.billed_duration_ms, 694);
    assert_eq!(report.memory_size_mb, 128);
    assert_eq!(report.max_memory_used_mb, 84);
    assert_eq!(report.init_duration_ms, Some(397.68));
    assert_eq!(report.status, ReportStatus::Success);
}

#[test]
fn json_status_error_type_and_restore_are_read() {
    let timeout = AWS_JSON_REPORT.replace(
        r#""requestId""#,
        r#""status": "timeout", "errorType": "Sandbox.Timedout", "requestId""#,
    );
    let report = PlatformReport::parse(&timeout).expect("a platform.report event");
    assert_eq!(report.status, ReportStatus::Timeout);
    assert_eq!(report.error_type, "Sandbox.Timedout");
    let restore = AWS_JSON_REPORT.replace(
        r#""initDurationMs": 397.68"#,
        r#""restoreDurationMs": 398.97, "billedRestoreDurationMs": 180"#,
    );
    let report = PlatformReport::parse(&restore).expect("a platform.report event");
    assert_eq!(report.init_duration_ms, None);
    assert_eq!(report.restore_duration_ms, Some(398.97));
    assert_eq!(report.billed_restore_duration_ms, Some(180));
}

#[test]
fn other_json_is_not_a_report() {
    for text in [
        r#"{"time": "2022-10-12T00:00:15.064Z", "type": "platform.start", "record": {"requestId": "r", "metrics": {"billedDurationMs": 1}}}"#,
        r#"{"type": "platform.report", "record": {"requestId": "", "metrics": {"billedDurationMs": 1}}}"#,
        r#"{"type": "platform.report", "record": {"requestId": "r", "metrics": {}}}"#,
        r#"{"level": "INFO", "message": "platform.report mentioned in passing"}"#,
        "{not json platform.report",
    ] {
        assert!(PlatformReport::parse(text).is_none(), "{text}");
    }
}

#[test]
fn statuses_by_name() {
    assert_eq!(ReportStatus::from_name(""), ReportStatus::Success);
    assert_eq!(ReportStatus::from_name("success"), ReportStatus::Success);
    assert_eq!(ReportStatus::from_name("Timeout"), ReportStatus::Timeout);
    assert_eq!(ReportStatus::from_name("error"), ReportStatus::Error);
    assert_eq!(ReportStatus::from_name("failure"), ReportStatus::Failure);
    assert_eq!(ReportStatus::from_name("crashed"), ReportStatus::Failure);
    assert!(!ReportStatus::Success.is_failure());
}
