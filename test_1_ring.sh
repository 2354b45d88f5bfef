#!/usr/bin/env bash
# test_1_ring.sh: the course's ring test for simple mode (CS438 2018, HW1).
#
# Ten nodes A..J on 127.0.0.1 form a ring: node i gossips on GOSSIP_BASE+i,
# listens for the client on UI_BASE+i and is told only its successor.
# The client sends Weather_is_clear to E and Winter_is_coming to B, then
# after 3 s every node must have printed both SIMPLE MESSAGE lines (relayed
# by its predecessor) and its peers as "successor,predecessor".
#
# Same topology, messages, sleeps and expected lines as the course's script,
# but: it waits until every node has bound its UDP ports before the first
# client message, stops only the processes it started (by pid), reads the
# outputs only after the nodes have exited, and exits 0 only if every check
# passed.
#
# Environment:
#   PEERSTER_NO_BUILD=1  do not run `go build`; the binaries must exist
#   PEERSTER_BIN         gossiper binary (default ./Peerster)
#   CLIENT_BIN           client binary (default ./client/client)
#   OTHER_BIN            if set, a mixed ring: the odd nodes B, D, F, H, J run
#                        this gossiper (another implementation) instead of
#                        PEERSTER_BIN; it is never built
#   OTHER_CLIENT_BIN     client for messages to those odd nodes when OTHER_BIN
#                        is set (default CLIENT_BIN)
#   GOSSIP_BASE          first gossip port (default 5000; uses 10 ports)
#   UI_BASE              first client UI port (default 12345; uses 10 ports)
#   WAIT_TIMEOUT         seconds to wait for the nodes to listen (default 10)
#   KEEP_OUT=1           keep the directory with the nodes' .out/.err files
set -euo pipefail

SCENARIO=test_1_ring

# shellcheck source=tests/ring/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tests/ring/lib.sh"

# ---------------------------------------------------------------------------
# The scenario.
# ---------------------------------------------------------------------------
B=1 E=4
MSG_E=Weather_is_clear
MSG_B=Winter_is_coming

start_nodes simple
wait_until_listening

send_client "$E" "$MSG_E"
send_client "$B" "$MSG_B"
sleep 3

finish_run

check_nodes_stayed_up

begin_check "client messages"
expect_fixed "$E" "CLIENT MESSAGE $MSG_E"
expect_fixed "$B" "CLIENT MESSAGE $MSG_B"
end_check

begin_check "simple messages"
for ((i = 0; i < N; i++)); do
	expect_fixed "$i" "SIMPLE MESSAGE origin E from 127.0.0.1:${RELAY[i]} contents $MSG_E"
	expect_fixed "$i" "SIMPLE MESSAGE origin B from 127.0.0.1:${RELAY[i]} contents $MSG_B"
	expect_fixed "$i" "127.0.0.1:${NEXT[i]},127.0.0.1:${RELAY[i]}"
done
end_check

report
