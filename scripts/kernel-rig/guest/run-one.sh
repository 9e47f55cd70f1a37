#!/bin/sh
# Runs /share/cmd/N.sh and publishes its results. The host waits for N.rc, which is
# renamed into place last, so stdout and stderr are complete once it exists.
# N.pid is the session id: the host kills a timed-out command with kill -9 -PID.
n=$1
o=/share/out
echo $$ >"$o/$n.pid.tmp" && mv "$o/$n.pid.tmp" "$o/$n.pid"
sh "/share/cmd/$n.sh" </dev/null >"$o/$n.stdout.tmp" 2>"$o/$n.stderr.tmp"
rc=$?
mv "$o/$n.stdout.tmp" "$o/$n.stdout"
mv "$o/$n.stderr.tmp" "$o/$n.stderr"
echo "$rc" >"$o/$n.rc.tmp" && mv "$o/$n.rc.tmp" "$o/$n.rc"
