-- Creates the database Tracehouse uses (an identifier from the configuration).
-- samples: tracehouse_check
CREATE DATABASE IF NOT EXISTS ?
