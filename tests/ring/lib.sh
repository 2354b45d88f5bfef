# shellcheck shell=bash
# shellcheck disable=SC2317 # functions called from traps or only by one of the scripts
# Shared by test_1_ring.sh and test_2_ring.sh, which source it after setting
# SCENARIO: settings, building, starting and stopping the ring by pid, and the
# check helpers. $0 is the sourcing script, in the repository root.

START_DIR=$PWD

case "${1:-}" in
	'') ;;
	-h | --help)
		sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "usage: $0 [-h]  (settings come from the environment, see -h)" >&2
		exit 2
		;;
esac

cd "$(dirname "$0")" || exit 2
ROOT=$PWD

if [ -t 1 ]; then
	RED=$'\033[0;31m' GREEN=$'\033[0;32m' NC=$'\033[0m'
else
	RED='' GREEN='' NC=''
fi

die() {
	echo "${RED}ERROR:${NC} $*" >&2
	exit 1
}

# abspath PATH: PATH made absolute against the directory the script was
# started from (the script itself works from the repository root).
abspath() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$START_DIR/$1" ;;
	esac
}

# port_setting NAME DEFAULT: a port base from the environment, in decimal.
port_setting() {
	local value=${!1:-$2}
	case $value in
	'' | *[!0-9]*) die "$1 must be a decimal port number (got '$value')" ;;
	esac
	[ "${#value}" -le 5 ] || die "$1 is not a port number (got '$value')"
	value=$((10#$value))
	if [ "$value" -lt 1 ] || [ "$value" -gt $((65535 - N + 1)) ]; then
		die "$1 must be between 1 and $((65535 - N + 1)) so that $N ports fit (got '$value')"
	fi
	printf '%s\n' "$value"
}

NAMES=(A B C D E F G H I J)
N=${#NAMES[@]}

GOSSIP_BASE=$(port_setting GOSSIP_BASE 5000) || exit 1
UI_BASE=$(port_setting UI_BASE 12345) || exit 1
gap=$((GOSSIP_BASE - UI_BASE))
if [ "${gap#-}" -lt "$N" ]; then
	die "the gossip ports $GOSSIP_BASE.. and the UI ports $UI_BASE.. overlap"
fi
WAIT_TIMEOUT=${WAIT_TIMEOUT:-10}
case $WAIT_TIMEOUT in
'' | *[!0-9]*) die "WAIT_TIMEOUT must be a whole number of seconds (got '$WAIT_TIMEOUT')" ;;
esac

if [ -n "${PEERSTER_BIN:-}" ]; then PEERSTER_BIN=$(abspath "$PEERSTER_BIN"); else PEERSTER_BIN=$ROOT/Peerster; fi
if [ -n "${CLIENT_BIN:-}" ]; then CLIENT_BIN=$(abspath "$CLIENT_BIN"); else CLIENT_BIN=$ROOT/client/client; fi
# A mixed ring: the nodes with an odd index (B, D, F, H, J) run OTHER_BIN,
# another implementation, and get their client messages from
# OTHER_CLIENT_BIN. Both must exist; they are never built.
if [ -n "${OTHER_BIN:-}" ]; then OTHER_BIN=$(abspath "$OTHER_BIN"); else OTHER_BIN=''; fi
if [ -n "${OTHER_CLIENT_BIN:-}" ]; then OTHER_CLIENT_BIN=$(abspath "$OTHER_CLIENT_BIN"); else OTHER_CLIENT_BIN=$CLIENT_BIN; fi

# Ring layout: node i listens on GPORT[i] (gossip) and UPORT[i] (client), is
# told only about its successor NEXT[i], and hears from its predecessor
# RELAY[i] (the successor of the last node is the first).
GPORT=() UPORT=() NEXT=() RELAY=()
for ((i = 0; i < N; i++)); do
	GPORT[i]=$((GOSSIP_BASE + i))
	UPORT[i]=$((UI_BASE + i))
	NEXT[i]=$((GOSSIP_BASE + (i + 1) % N))
	RELAY[i]=$((GOSSIP_BASE + (i + N - 1) % N))
done

# ---------------------------------------------------------------------------
# Build, once.
# ---------------------------------------------------------------------------
if [ "${PEERSTER_NO_BUILD:-0}" = 1 ]; then
	if ! [ -f "$PEERSTER_BIN" ] || ! [ -x "$PEERSTER_BIN" ]; then
		die "PEERSTER_NO_BUILD=1 but the gossiper $PEERSTER_BIN is missing or not executable"
	fi
	if ! [ -f "$CLIENT_BIN" ] || ! [ -x "$CLIENT_BIN" ]; then
		die "PEERSTER_NO_BUILD=1 but the client $CLIENT_BIN is missing or not executable"
	fi
	echo "using the existing binaries $PEERSTER_BIN and $CLIENT_BIN"
else
	echo "building ./Peerster and ./client/client"
	go build -o Peerster . || die "go build in $ROOT failed"
	(cd client && go build -o client .) || die "go build in $ROOT/client failed"
fi
if [ -n "$OTHER_BIN" ]; then
	if ! [ -f "$OTHER_BIN" ] || ! [ -x "$OTHER_BIN" ]; then
		die "the other gossiper OTHER_BIN=$OTHER_BIN is missing or not executable"
	fi
	if ! [ -f "$OTHER_CLIENT_BIN" ] || ! [ -x "$OTHER_CLIENT_BIN" ]; then
		die "the other client OTHER_CLIENT_BIN=$OTHER_CLIENT_BIN is missing or not executable"
	fi
	echo "mixed ring: nodes B, D, F, H, J run $OTHER_BIN (client $OTHER_CLIENT_BIN)"
fi

# node_bin I, node_client I: the gossiper node I runs and the client that
# sends to it (OTHER_BIN and OTHER_CLIENT_BIN for an odd I in a mixed ring).
node_bin() {
	if [ -n "$OTHER_BIN" ] && [ $(($1 % 2)) = 1 ]; then
		printf '%s\n' "$OTHER_BIN"
	else
		printf '%s\n' "$PEERSTER_BIN"
	fi
}
node_client() {
	if [ -n "$OTHER_BIN" ] && [ $(($1 % 2)) = 1 ]; then
		printf '%s\n' "$OTHER_CLIENT_BIN"
	else
		printf '%s\n' "$CLIENT_BIN"
	fi
}

# ---------------------------------------------------------------------------
# Which process owns which UDP port.
# ---------------------------------------------------------------------------
PROC_UDP=()
for f in /proc/net/udp /proc/net/udp6; do
	[ -r "$f" ] && PROC_UDP+=("$f")
done
if [ "${#PROC_UDP[@]}" -eq 0 ] && ! command -v lsof >/dev/null 2>&1; then
	die "cannot see which UDP ports are bound: neither /proc/net/udp nor lsof is available"
fi

# udp_port_in_use PORT: some UDP socket on this machine has PORT as its
# local port.
udp_port_in_use() {
	if [ "${#PROC_UDP[@]}" -gt 0 ]; then
		awk -v hex="$(printf '%04X' "$1")" '
			FNR > 1 { n = split($2, a, ":"); if (a[n] == hex) found = 1 }
			END { exit !found }' "${PROC_UDP[@]}"
	else
		lsof -nP -iUDP:"$1" >/dev/null 2>&1
	fi
}

# udp_port_owned PID PORT: process PID holds a UDP socket bound to PORT
# (matched by socket inode, so another program's socket does not count).
udp_port_owned() {
	if [ "${#PROC_UDP[@]}" -gt 0 ]; then
		local fd link inodes=' '
		for fd in /proc/"$1"/fd/*; do
			link=$(readlink "$fd" 2>/dev/null) || continue
			case $link in
			'socket:['*']')
				link=${link#'socket:['}
				inodes+="${link%']'} "
				;;
			esac
		done
		awk -v hex="$(printf '%04X' "$2")" -v inodes="$inodes" '
			FNR > 1 { n = split($2, a, ":"); if (a[n] == hex && index(inodes, " " $10 " ")) found = 1 }
			END { exit !found }' "${PROC_UDP[@]}"
	else
		lsof -nP -a -p "$1" -iUDP:"$2" >/dev/null 2>&1
	fi
}

# ---------------------------------------------------------------------------
# Output directory and the nodes' lifetime.
# ---------------------------------------------------------------------------
OUT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/peerster_${SCENARIO}.XXXXXX")
echo "node outputs go to $OUT_DIR (KEEP_OUT=1 keeps them)"

NODE_PIDS=()   # NODE_PIDS[i]: pid of node i while it may be running
NODE_STATUS=() # NODE_STATUS[i]: its exit status once reaped

# stop_nodes: SIGTERM to exactly the nodes this script started, wait up to
# 5 s for them to exit (SIGKILL after that), and reap them so that their
# output files are complete.
stop_nodes() {
	local i pid tries alive
	[ "${#NODE_PIDS[@]}" -gt 0 ] || return 0
	for i in "${!NODE_PIDS[@]}"; do
		pid=${NODE_PIDS[i]}
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for ((tries = 0; tries < 50; tries++)); do
		alive=0
		for pid in "${NODE_PIDS[@]}"; do
			if kill -0 "$pid" 2>/dev/null; then
				alive=1
				break
			fi
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for i in "${!NODE_PIDS[@]}"; do
		pid=${NODE_PIDS[i]}
		if kill -0 "$pid" 2>/dev/null; then
			echo "warning: node ${NAMES[i]} (pid $pid) ignored SIGTERM for 5 s; sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for i in "${!NODE_PIDS[@]}"; do
		NODE_STATUS[i]=0
		wait "${NODE_PIDS[i]}" 2>/dev/null || NODE_STATUS[i]=$?
	done
	NODE_PIDS=()
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_nodes
	if [ "${KEEP_OUT:-0}" = 1 ]; then
		echo "node outputs kept in $OUT_DIR"
	else
		rm -rf -- "$OUT_DIR"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# show_stderr I: the end of node I's stderr, indented.
show_stderr() {
	local err="$OUT_DIR/${NAMES[$1]}.err"
	if [ -s "$err" ]; then
		echo "    last lines of ${NAMES[$1]}'s stderr:"
		tail -n 15 "$err" | sed 's/^/      /'
	fi
}

# start_nodes simple|rumor: check that the ports are free, then start the
# ring, each node in the background with its stdout and stderr in OUT_DIR.
start_nodes() {
	local i p flags=()
	case $1 in
	simple) flags=(-simple) ;;
	rumor) ;;
	*) die "start_nodes: unknown mode '$1'" ;;
	esac
	for ((i = 0; i < N; i++)); do
		for p in "${GPORT[i]}" "${UPORT[i]}"; do
			if udp_port_in_use "$p"; then
				die "UDP port $p is already in use (a node left over from an earlier run?); see: ss -lunp"
			fi
		done
	done
	for ((i = 0; i < N; i++)); do
		"$(node_bin "$i")" -UIPort="${UPORT[i]}" -gossipAddr="127.0.0.1:${GPORT[i]}" \
			-name="${NAMES[i]}" ${flags[@]+"${flags[@]}"} -peers="127.0.0.1:${NEXT[i]}" \
			>"$OUT_DIR/${NAMES[i]}.out" 2>"$OUT_DIR/${NAMES[i]}.err" &
		NODE_PIDS[i]=$!
	done
}

# wait_until_listening: every node holds both its UDP ports, or fail after
# WAIT_TIMEOUT seconds (or as soon as a node exits).
wait_until_listening() {
	local i status pending missing deadline=$((SECONDS + WAIT_TIMEOUT))
	local ready=()
	while :; do
		pending=()
		for ((i = 0; i < N; i++)); do
			[ "${ready[i]:-0}" = 1 ] && continue
			if ! kill -0 "${NODE_PIDS[i]}" 2>/dev/null; then
				status=0
				wait "${NODE_PIDS[i]}" 2>/dev/null || status=$?
				echo "${RED}ERROR:${NC} node ${NAMES[i]} exited during start-up with status $status" >&2
				show_stderr "$i" >&2
				exit 1
			fi
			if udp_port_owned "${NODE_PIDS[i]}" "${GPORT[i]}" &&
				udp_port_owned "${NODE_PIDS[i]}" "${UPORT[i]}"; then
				ready[i]=1
			else
				pending+=("$i")
			fi
		done
		[ "${#pending[@]}" -eq 0 ] && break
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "${RED}ERROR:${NC} after ${WAIT_TIMEOUT}s not every node listens on its UDP ports:" >&2
			for i in "${pending[@]}"; do
				missing=''
				udp_port_owned "${NODE_PIDS[i]}" "${GPORT[i]}" || missing+=" gossip ${GPORT[i]}"
				udp_port_owned "${NODE_PIDS[i]}" "${UPORT[i]}" || missing+=" UI ${UPORT[i]}"
				echo "  node ${NAMES[i]} (pid ${NODE_PIDS[i]}) does not hold:$missing" >&2
				show_stderr "$i" >&2
			done
			exit 1
		fi
		sleep 0.1
	done
	echo "all $N nodes listen on their gossip and UI ports"
}

# send_client I TEXT: the client sends TEXT to node I's UI port.
send_client() {
	echo "client -> ${NAMES[$1]} (UIPort ${UPORT[$1]}): $2"
	"$(node_client "$1")" -UIPort="${UPORT[$1]}" -msg="$2" ||
		die "the client failed to send '$2' to UIPort ${UPORT[$1]}"
}

# finish_run: record which nodes were still running, stop them all and wait
# for them, so that every output file is complete before it is read.
EARLY_EXIT=()
finish_run() {
	local i
	for ((i = 0; i < N; i++)); do
		kill -0 "${NODE_PIDS[i]}" 2>/dev/null || EARLY_EXIT+=("$i")
	done
	stop_nodes
}

# ---------------------------------------------------------------------------
# Checks: each prints its name, what failed (node and pattern), and
# ***PASSED*** or ***FAILED***.
# ---------------------------------------------------------------------------
CHECKS=0
FAILED_CHECKS=()
CHECK_NAME=''
CHECK_ERRORS=()

begin_check() {
	CHECK_NAME=$1
	CHECK_ERRORS=()
	CHECKS=$((CHECKS + 1))
	echo "###CHECK $CHECK_NAME"
}

check_error() {
	CHECK_ERRORS+=("$*")
}

end_check() {
	local e
	if [ "${#CHECK_ERRORS[@]}" -eq 0 ]; then
		echo "${GREEN}***PASSED***${NC}"
	else
		for e in "${CHECK_ERRORS[@]}"; do
			echo "  $e"
		done
		echo "${RED}***FAILED***${NC}"
		FAILED_CHECKS+=("$CHECK_NAME")
	fi
}

out_file() {
	printf '%s\n' "$OUT_DIR/${NAMES[$1]}.out"
}

node_label() {
	printf '%s\n' "node ${NAMES[$1]} (127.0.0.1:${GPORT[$1]})"
}

# expect_fixed I TEXT: node I printed a line containing TEXT.
expect_fixed() {
	grep -qF -e "$2" "$(out_file "$1")" ||
		check_error "$(node_label "$1"): no line contains '$2'"
}

# expect_regex I ERE: node I printed a line matching the extended regex.
expect_regex() {
	grep -qE -e "$2" "$(out_file "$1")" ||
		check_error "$(node_label "$1"): no line matches /$2/"
}

# expect_either_fixed I TEXT1 TEXT2: a line containing TEXT1 or TEXT2.
expect_either_fixed() {
	grep -qF -e "$2" "$(out_file "$1")" || grep -qF -e "$3" "$(out_file "$1")" ||
		check_error "$(node_label "$1"): no line contains '$2' or '$3'"
}

# ere_escape TEXT: TEXT as an extended regex matching exactly TEXT.
ere_escape() {
	printf '%s\n' "$1" | sed 's#[][\.*^$+?(){}|]#\\&#g'
}

check_nodes_stayed_up() {
	local i tail_err
	begin_check "every node ran until it was stopped"
	for i in ${EARLY_EXIT[@]+"${EARLY_EXIT[@]}"}; do
		check_error "$(node_label "$i") exited on its own before the end, status ${NODE_STATUS[i]:-?}"
		tail_err=$(show_stderr "$i")
		[ -z "$tail_err" ] || check_error "$tail_err"
	done
	end_check
}

report() {
	echo
	if [ "${#FAILED_CHECKS[@]}" -eq 0 ]; then
		echo "${GREEN}all $CHECKS checks passed${NC}"
		exit 0
	fi
	echo "${RED}${#FAILED_CHECKS[@]} of $CHECKS checks failed:${NC}"
	printf '  %s\n' "${FAILED_CHECKS[@]}"
	[ "${KEEP_OUT:-0}" = 1 ] || echo "(run again with KEEP_OUT=1 to keep the node outputs)"
	exit 1
}
