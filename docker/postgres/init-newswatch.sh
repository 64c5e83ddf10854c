#!/bin/bash
# Runs once, when the PostgreSQL volume is first created: next to Airflow's metadata
# database (POSTGRES_DB), a database and an owner role for the newswatch store.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=password="$STORE_DB_PASSWORD" <<'SQL'
CREATE ROLE newswatch LOGIN PASSWORD :'password';
CREATE DATABASE newswatch OWNER newswatch;
SQL
