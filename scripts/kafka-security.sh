# shellcheck shell=bash
# Sourced by scripts/kafka: the secured client listener of `start --security sasl_ssl|ssl`.
#
#   sasl_ssl  client listener SASL_SSL on P: SCRAM-SHA-512 (users created when the storage is
#             formatted, or later with `scripts/kafka user`), PLAIN (same users) and OAUTHBEARER
#             (Kafka's unsecured JWT validator: any unsigned JWT with sub and exp; tests only).
#   ssl       client listener SSL on P with ssl.client.auth=required: each user gets a client
#             certificate (CN=NAME), whose principal is User:NAME.
#
# Both: a throwaway CA and a broker certificate for 127.0.0.1/localhost in D/tls (never
# committed); inter-broker and controller traffic stay PLAINTEXT on 127.0.0.1-only listeners
# (INTERNAL on KAFKA_INTERNAL_PORT, CONTROLLER). Users default to logsplit with a random password;
# each user's password is in D/secrets/NAME.password. The client settings are printed before
# KAFKA_BROKERS and kept in D/client.env. A restart of D keeps its security, users and certificates.

SCRAM_ARGS=()

# Called by start after write_config.
secure_setup() {
  [ -n "$SECURITY" ] || SECURITY="$(cat "$DIR/security" 2>/dev/null || true)"
  if [ -z "$SECURITY" ]; then
    rm -f "$DIR/client.env"
    return 0
  fi
  case "$SECURITY" in sasl_ssl | ssl) ;; *) die "--security must be sasl_ssl or ssl (got $SECURITY)" ;; esac
  [ ! -f "$DIR/data/meta.properties" ] || [ "$(cat "$DIR/security" 2>/dev/null)" = "$SECURITY" ] ||
    die "$DIR was formatted with --security '$(cat "$DIR/security" 2>/dev/null)'; use another --dir"
  command -v openssl >/dev/null || die "openssl not found (apt-get install -y openssl)"
  echo "$SECURITY" >"$DIR/security"
  secure_users
  secure_certs
  secure_listeners
  secure_client_env
}

# D/secrets/NAME.password for each --user (default: logsplit with a random password).
secure_users() {
  mkdir -p "$DIR/secrets"
  chmod 700 "$DIR/secrets"
  if [ ${#USERS[@]} -eq 0 ] && [ -z "$(ls -A "$DIR/secrets")" ]; then
    USERS=("logsplit:$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')")
  fi
  local u
  for u in "${USERS[@]}"; do
    [[ "$u" == *:* && -n "${u%%:*}" && -n "${u#*:}" ]] || die "--user wants NAME:PASSWORD"
    (umask 077 && printf '%s' "${u#*:}" >"$DIR/secrets/${u%%:*}.password")
  done
  local f name
  for f in "$DIR"/secrets/*.password; do
    name="$(basename "$f" .password)"
    SCRAM_ARGS+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(cat "$f")]")
  done
}

# A CA, a broker certificate for 127.0.0.1 and localhost, and a client certificate per user.
secure_certs() {
  local t="$DIR/tls"
  mkdir -p "$t"
  if [ ! -s "$t/ca.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=logsplit test CA" \
      -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null || die "openssl could not make the CA"
  fi
  secure_cert broker "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1"
  # Kafka's PEM key store: the key and its certificate chain in one file.
  cat "$t/broker.key" "$t/broker.pem" >"$t/broker-keystore.pem"
  local f
  for f in "$DIR"/secrets/*.password; do
    secure_cert "$(basename "$f" .password)" "/CN=$(basename "$f" .password)" "extendedKeyUsage=clientAuth"
  done
}

secure_cert() {
  local name="$1" subject="$2" ext="$3" t="$DIR/tls"
  [ -s "$t/$name.pem" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$t/$name.key" -out "$t/$name.csr" 2>/dev/null &&
    openssl x509 -req -in "$t/$name.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 7 \
      -extfile <(echo "$ext") -out "$t/$name.pem" 2>/dev/null || die "openssl could not make the $name certificate"
  chmod 600 "$t/$name.key"
  rm -f "$t/$name.csr"
}

# Rewrites write_config's PLAINTEXT listener into the secured one plus INTERNAL.
secure_listeners() {
  local props="$DIR/server.properties" iport proto
  # shellcheck disable=SC1091
  . "$DIR/kafka.env"
  iport="${KAFKA_INTERNAL_PORT:-}"
  if [ -z "$iport" ]; then
    iport="$(free_port 1)"
    echo "KAFKA_INTERNAL_PORT=$iport" >>"$DIR/kafka.env"
  fi
  proto="$(echo "$SECURITY" | tr a-z A-Z)"
  sed -i \
    -e "s|^listeners=.*|listeners=$proto://127.0.0.1:$PORT,INTERNAL://127.0.0.1:$iport,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT|" \
    -e "s|^advertised.listeners=.*|advertised.listeners=$proto://127.0.0.1:$PORT,INTERNAL://127.0.0.1:$iport|" \
    -e "s|^inter.broker.listener.name=.*|inter.broker.listener.name=INTERNAL|" \
    -e "s|^listener.security.protocol.map=.*|listener.security.protocol.map=$proto:$proto,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT|" \
    "$props"
  local l="listener.name.$SECURITY"
  {
    echo
    echo "# Secured client listener (scripts/kafka-security.sh)."
    echo "$l.ssl.keystore.type=PEM"
    echo "$l.ssl.keystore.location=$DIR/tls/broker-keystore.pem"
    echo "$l.ssl.truststore.type=PEM"
    echo "$l.ssl.truststore.location=$DIR/tls/ca.pem"
    if [ "$SECURITY" = ssl ]; then
      echo "$l.ssl.client.auth=required"
      # User:NAME for a certificate of CN=NAME (instead of User:CN=NAME), like SASL users.
      echo "ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT"
    else
      echo "$l.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN,OAUTHBEARER"
      echo "$l.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
      printf '%s' "$l.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
      local f
      for f in "$DIR"/secrets/*.password; do printf ' user_%s="%s"' "$(basename "$f" .password)" "$(cat "$f")"; done
      echo ";"
      echo "$l.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"broker\";"
      # Sessions end with the token (or after 10 min): clients re-authenticate with a fresh one.
      echo "connections.max.reauth.ms=600000"
    fi
  } >>"$props"
}

# What a client of the first user sets; printed before KAFKA_BROKERS by brokers_line.
secure_client_env() {
  local user
  user="$(basename "$(ls "$DIR"/secrets/*.password | head -n1)" .password)"
  {
    echo "KAFKA_SECURITY_PROTOCOL=$(echo "$SECURITY" | tr a-z A-Z)"
    echo "KAFKA_SSL_CA_FILE=$DIR/tls/ca.pem"
    if [ "$SECURITY" = ssl ]; then
      echo "KAFKA_SSL_CERT_FILE=$DIR/tls/$user.pem"
      echo "KAFKA_SSL_KEY_FILE=$DIR/tls/$user.key"
    else
      echo "KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
      echo "KAFKA_SASL_USERNAME=$user"
      echo "KAFKA_SASL_PASSWORD_FILE=$DIR/secrets/$user.password"
    fi
    echo "KAFKA_BROKERS=127.0.0.1:$PORT"
  } >"$DIR/client.env"
}

# `scripts/kafka user --user NAME:PASSWORD`: creates the SCRAM-SHA-512 user or changes its
# password on the running broker, through the INTERNAL listener (KafkaScramUser.java).
scram_user() {
  [ ${#USERS[@]} -gt 0 ] || die "user needs --user NAME:PASSWORD"
  # shellcheck disable=SC1091
  . "$DIR/kafka.env"
  [ -n "${KAFKA_INTERNAL_PORT:-}" ] || die "$DIR is not a --security broker"
  local u
  for u in "${USERS[@]}"; do
    java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$(log_opt)" -cp "$LIBS/*" \
      "$ROOT/scripts/KafkaScramUser.java" "127.0.0.1:$KAFKA_INTERNAL_PORT" "${u%%:*}" "${u#*:}" \
      >"$DIR/logs/scram-user.out" 2>&1 ||
      { tail -n 20 "$DIR/logs/scram-user.out" >&2; die "could not set the SCRAM-SHA-512 credential of ${u%%:*}"; }
    (umask 077 && printf '%s' "${u#*:}" >"$DIR/secrets/${u%%:*}.password")
    log "SCRAM-SHA-512 user ${u%%:*} set"
  done
}
