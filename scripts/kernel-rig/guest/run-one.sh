#!/bin/sh
# Runs /share/cmd/N.sh and publishes its results. The host waits for N.rc to hold a
# newline-terminated exit status, written with one write() after stdout and stderr are
# closed, so both are complete by then. No renames: under emulation every mv is a fork
# and exec that a command round trip would pay for.
# N.pid is the session id: the host kills a timed-out command with kill -9 -PID.
n=$1
o=/share/out
echo $$ >"$o/$n.pid"
sh "/share/cmd/$n.sh" </dev/null >"$o/$n.stdout" 2>"$o/$n.stderr"
echo "$?" >"$o/$n.rc"
