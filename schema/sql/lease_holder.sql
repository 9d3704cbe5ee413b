-- Who holds a lease: of the holders whose newest beat is at most the given seconds old and not a release, the one beating without a gap since the earliest.
-- samples: 'alerts', 10
SELECT holder
FROM (
    SELECT holder,
           argMax(started_unix_nano, written_unix_nano) AS started,
           argMax(released, written_unix_nano) AS last_released,
           max(beat_at) AS last_beat
    FROM leases
    WHERE name = ?
    GROUP BY holder
)
WHERE last_released = 0 AND last_beat >= now() - ?
ORDER BY started, holder
LIMIT 1
