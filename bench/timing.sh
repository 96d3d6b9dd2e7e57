# Sourced by the sweep benches: the load average, and GNU time around a run. Needs $work (the bench's folder).
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
load() { cut -d' ' -f1-3 /proc/loadavg; }
timed() {  # timed NAME CMD...: GNU time's wall, user, sys, peak RSS into $work/NAME.time; output into $work/NAME.log
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "$@" >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
}
