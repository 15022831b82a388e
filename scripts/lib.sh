# shellcheck shell=bash
# Shared helpers for scripts/*. Source it, don't run it:  . "$(dirname "$0")/lib.sh"
# Everything downloaded or started locally lives under $ROOT/.cache (git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

log() { printf '[%s] %s\n' "${LOG_TAG:-logsplit}" "$*" >&2; }
die() {
  printf '[%s] error: %s\n' "${LOG_TAG:-logsplit}" "$*" >&2
  exit 1
}

# Seconds since the epoch with millisecond precision, for timing messages.
now() { date +%s.%3N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# True when the node on PATH is at least $1 (dotted, e.g. 22.15.0).
node_at_least() {
  local have
  have="$(node --version 2>/dev/null)" || return 1
  # sort -V puts the smaller version first; we are new enough when the wanted one sorts first.
  [ "$(printf '%s\n%s\n' "$1" "${have#v}" | sort -V | head -n1)" = "$1" ]
}

# The services need node >= 22.15 (zstd in node:zlib). Debian's node is older, so install the
# `node` npm package (official binaries) into the ignored prefix $ROOT/.cache/node, once.
ensure_node() {
  local prefix="$ROOT/.cache/node"
  case ":$PATH:" in *":$prefix/bin:"*) ;; *) [ -x "$prefix/bin/node" ] && PATH="$prefix/bin:$PATH" ;; esac
  if ! node_at_least 22.15.0; then
    command -v npm >/dev/null || die "node >= 22.15 and npm not found: install nodejs and npm (apt-get install -y nodejs npm), then rerun"
    log "node $(node --version 2>/dev/null || echo none) is older than 22.15: installing node@24 into .cache/node"
    npm i -g --no-audit --no-fund --prefix "$prefix" node@24 >&2 || die "npm could not install node@24 into $prefix"
    PATH="$prefix/bin:$PATH"
    node_at_least 22.15.0 || die "still no node >= 22.15 after installing into $prefix"
  fi
  export PATH
}

# free_port [N]: print N (default 1) distinct TCP ports that are free on 127.0.0.1 right now.
# All N sockets are held open together so the kernel cannot hand out the same port twice.
free_port() {
  local n="${1:-1}"
  if command -v python3 >/dev/null; then
    python3 - "$n" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
  elif command -v node >/dev/null; then
    node -e '
      const net = require("net"), n = Number(process.argv[1]), out = [];
      const next = () => { if (out.length === n) { console.log(out.map(s => s.address().port).join("\n")); out.forEach(s => s.close()); return; }
        const s = net.createServer(); s.listen(0, "127.0.0.1", () => { out.push(s); next(); }); };
      next();' "$n"
  else
    die "need python3 or node to find a free port"
  fi
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# running PID: true while PID exists and is not a zombie (a zombie still answers kill -0).
running() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# pid_alive PIDFILE [PATTERN]: true when the pid in PIDFILE runs and its command line contains
# PATTERN (guards against a stale pid file pointing at a recycled pid).
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1")"
  running "$pid" || return 1
  [ -z "${2:-}" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# stop_pid PIDFILE PATTERN NAME [TIMEOUT]: SIGTERM, wait up to TIMEOUT s (20), then SIGKILL.
# Returns 0 when the process exited by itself (or was not running), 3 when it had to be killed.
stop_pid() {
  local pidfile="$1" pattern="$2" name="$3" timeout="${4:-20}" pid i rc=0
  if ! pid_alive "$pidfile" "$pattern"; then
    log "$name is not running"
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then
    log "$name (pid $pid) ignored SIGTERM for ${timeout}s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while running "$pid"; do sleep 0.1; done
    rc=3
  fi
  rm -f "$pidfile"
  log "$name stopped (pid $pid)"
  return "$rc"
}
