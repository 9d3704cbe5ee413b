//! Query templates. Each file's second line lists sample parameters
//! (`-- params: ...`) so that the dialect check can run it on any ClickHouse.

/// Spans of one trace, by project and trace id (hex).
pub const TRACE_SPANS_BY_TRACE_ID: &str = include_str!("../sql/trace_spans_by_trace_id.sql");

/// Every template with its file name, for dialect checks.
pub const ALL: &[(&str, &str)] = &[("trace_spans_by_trace_id.sql", TRACE_SPANS_BY_TRACE_ID)];

#[cfg(test)]
mod tests {
    /// Every file in `query/sql` is registered, so the dialect checks see it.
    #[test]
    fn every_template_file_is_listed() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut files: Vec<String> = std::fs::read_dir(directory)
            .expect("query/sql exists")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let mut listed: Vec<String> = super::ALL
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        listed.sort();
        assert_eq!(files, listed);
        for (name, template) in super::ALL {
            assert!(
                template.contains("-- params:"),
                "{name} lacks a -- params: line"
            );
        }
    }
}
