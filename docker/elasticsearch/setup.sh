#!/bin/bash
# One-shot set-up of the Elasticsearch security the stack relies on:
# 1. a CA and a certificate for the node (HTTP and transport TLS), kept in the certs volume;
# 2. once the node answers: the kibana_system password, and three newswatch users, each
#    with the least it needs (docs/elasticsearch.md, Security):
#    - newswatch_admin (index-setup): the index template, and everything on the indices;
#    - newswatch (Airflow ingest, rebuild, retention): documents, versioned indices and
#      aliases, no template privilege;
#    - newswatch_search (the search service): read only.
# Safe to run again: existing certificates are kept, passwords and the role are re-applied.
set -euo pipefail
cd /usr/share/elasticsearch
certs=config/certs

for var in ELASTIC_PASSWORD KIBANA_PASSWORD ES_NEWSWATCH_PASSWORD ES_NEWSWATCH_SEARCH_PASSWORD \
  ES_NEWSWATCH_ADMIN_PASSWORD; do
  if [[ -z "${!var:-}" ]]; then echo "set $var in .env" >&2; exit 1; fi
done

if [[ ! -f $certs/ca/ca.crt ]]; then
  bin/elasticsearch-certutil ca --silent --pem --out $certs/ca.zip
  unzip -q $certs/ca.zip -d $certs
fi
if [[ ! -f $certs/elasticsearch/elasticsearch.crt ]]; then
  cat > $certs/instances.yml <<'YAML'
instances:
  - name: elasticsearch
    dns: [elasticsearch, localhost]
    ip: [127.0.0.1]
YAML
  bin/elasticsearch-certutil cert --silent --pem --in $certs/instances.yml \
    --ca-cert $certs/ca/ca.crt --ca-key $certs/ca/ca.key --out $certs/certs.zip
  unzip -q $certs/certs.zip -d $certs
fi
# Group root (gid 0) reads them: Elasticsearch, Kibana and the Airflow image all run in it.
chown -R root:root $certs
find $certs -type d -exec chmod 750 {} +
find $certs -type f -exec chmod 640 {} +
touch $certs/.ready  # the healthcheck: Elasticsearch may start now

es() {
  curl --silent --show-error --fail --cacert $certs/ca/ca.crt -u "elastic:$ELASTIC_PASSWORD" \
    -H 'Content-Type: application/json' "$@"
}
until es https://elasticsearch:9200/_cluster/health >/dev/null 2>&1; do sleep 5; done

es -X POST https://elasticsearch:9200/_security/user/kibana_system/_password \
  -d "{\"password\": \"$KIBANA_PASSWORD\"}" >/dev/null
es -X PUT https://elasticsearch:9200/_security/role/newswatch_admin -d '{
  "cluster": ["monitor", "manage_index_templates"],
  "indices": [{"names": ["newswatch-articles*"], "privileges": ["all"]}]
}' >/dev/null
es -X PUT https://elasticsearch:9200/_security/role/newswatch_writer -d '{
  "cluster": ["monitor"],
  "indices": [{"names": ["newswatch-articles*"],
               "privileges": ["create_index", "delete_index", "manage", "write", "read",
                              "view_index_metadata"]}]
}' >/dev/null
es -X PUT https://elasticsearch:9200/_security/role/newswatch_reader -d '{
  "cluster": ["monitor"],
  "indices": [{"names": ["newswatch-articles*"], "privileges": ["read", "view_index_metadata"]}]
}' >/dev/null
user() {  # name, password, role
  es -X PUT "https://elasticsearch:9200/_security/user/$1" \
    -d "{\"password\": \"$2\", \"roles\": [\"$3\"]}" >/dev/null
}
user newswatch_admin "$ES_NEWSWATCH_ADMIN_PASSWORD" newswatch_admin
user newswatch "$ES_NEWSWATCH_PASSWORD" newswatch_writer
user newswatch_search "$ES_NEWSWATCH_SEARCH_PASSWORD" newswatch_reader
echo "Elasticsearch security is set up"
