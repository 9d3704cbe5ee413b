-- One beat of a lease holder (released = 1: it stops holding), stamped with the server's clock.
-- samples: 'alerts', 'a1b2c3', 1700000000000000000, 1700000001000000000, 0
INSERT INTO leases (name, holder, started_unix_nano, written_unix_nano, beat_at, released)
SELECT ?, ?, ?, ?, now(), ?
