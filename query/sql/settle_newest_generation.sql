-- The settler, at its start: the newest generation settled, so that later ones are newer.
-- params: 
SELECT max(generation) AS generation
FROM invocation_facts_minutes
LIMIT 1
