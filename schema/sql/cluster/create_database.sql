-- Creates the database on every node of the cluster (both identifiers from
-- the configuration). chDB has no cluster: the live cluster test runs this.
-- samples: tracehouse_check, tracehouse
CREATE DATABASE IF NOT EXISTS ? ON CLUSTER ?
