-- SnapStart restores and the platform's own verdict on each invocation:
-- Restore Duration / Billed Restore Duration, and Status / Error Type
-- (a timeout or error the span may not show). `failed` is 1 for any status
-- other than success. ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS; the
-- migration runner skips this statement when the columns already exist.
ALTER TABLE platform_reports
    ADD COLUMN restore_duration_ms Float64 DEFAULT 0,
    ADD COLUMN has_restore_duration UInt8 DEFAULT 0,
    ADD COLUMN billed_restore_duration_ms UInt64 DEFAULT 0,
    ADD COLUMN status String DEFAULT '',
    ADD COLUMN error_type String DEFAULT '',
    ADD COLUMN failed UInt8 DEFAULT 0
