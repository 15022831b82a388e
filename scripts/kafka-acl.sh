# shellcheck shell=bash
# Sourced by scripts/kafka: `start --security ... --authorizer SUPER_USER` turns authorization on.
#
# KRaft's StandardAuthorizer with allow.everyone.if.no.acl.found=false: a principal may do only
# what an ACL allows. Super users: SUPER_USER (e.g. the tests' admin, a SCRAM user) and
# User:ANONYMOUS, which is the broker itself on its 127.0.0.1-only INTERNAL and CONTROLLER
# listeners (PLAINTEXT, see kafka-security.sh); clients come in through the secured listener and
# are never ANONYMOUS. A restart of D keeps its authorizer.

AUTHORIZER=""

# Called by start after secure_setup.
acl_setup() {
  [ -n "$AUTHORIZER" ] || AUTHORIZER="$(cat "$DIR/authorizer" 2>/dev/null || true)"
  [ -n "$AUTHORIZER" ] || return 0
  [ -n "$SECURITY" ] || die "--authorizer needs --security (clients must authenticate to be told apart)"
  [[ "$AUTHORIZER" =~ ^[A-Za-z0-9._-]+$ ]] || die "--authorizer wants a user name (got $AUTHORIZER)"
  echo "$AUTHORIZER" >"$DIR/authorizer"
  cat >>"$DIR/server.properties" <<EOF

# Authorization (scripts/kafka-acl.sh).
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS;User:$AUTHORIZER
EOF
}
