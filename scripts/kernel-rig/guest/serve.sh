#!/bin/sh
# Command loop (respawned by init). The host drops /share/cmd/N.sh with N = 1, 2, 3, ...
# (atomically: written under another name, then renamed); each one is started as soon as
# it appears, in its own session, so a slow command never holds up the next one.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
cd /root || cd /
next=$(cat /run/rig/next 2>/dev/null || echo 1)
# The poll below waits with the shell's own `read -t` on a FIFO nobody writes to, not with
# `sleep`: no fork per tick, so an idle guest costs the (emulated) CPU almost nothing.
[ -p /run/rig/tick ] || mkfifo /run/rig/tick
exec 3<>/run/rig/tick
while :; do
  if [ -e "/share/cmd/$next.sh" ]; then
    # Double fork: the runner is re-parented to init, which reaps it.
    ( setsid /etc/rig/run-one.sh "$next" & )
    next=$((next + 1))
    # Survive a respawn without running a command twice.
    echo "$next" >/run/rig/next
    continue
  fi
  read -t 0.05 _ <&3
done
