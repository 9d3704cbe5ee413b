-- Deletes the first starts of instances none of whose invocations is kept.
-- samples: instance_first_starts, invocations
ALTER TABLE ? DELETE WHERE (project, function, instance) NOT IN
(SELECT project, function, instance FROM ?)
