#!/usr/bin/env bash
# One device call: starts the pipeline daemon (driver.sh) unless it already runs on this machine, waits
# up to WAIT seconds (or until STOP_AT stage is done), then packs what exists into $OUT:
#   results.tar  logs, train logs, evaluation and mechanism JSON (small files)
#   base.tar     the base model, once mid-training is done (SEND_BASE=1)
#   cot.tar      the chosen CoT-SFT model (SEND_COT=1, once select has written choice.json)
#   EXTRA tars   any folder of $WORK named in SEND (space separated, e.g. "sft/cot_lr1e-4 refs")
# Usage: bash .device-carry/repro/repro/device.sh WAIT [STOP_AT]
set -u
C=$(cd "$(dirname "$0")/.." && pwd)
W=${REPRO_WORK:-/tmp/rw}
WAIT=${1:-540}; STOP_AT=${2:-ALL}
mkdir -p "$W"
start=$SECONDS
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv,noheader
if [ -f "$W/driver.pid" ] && kill -0 "$(cat "$W/driver.pid")" 2>/dev/null; then
  echo "driver already running (pid $(cat "$W/driver.pid"))"
else
  echo "starting driver"; cp "$C/repro/driver.sh" "$W/driver.sh"
  setsid nohup bash "$W/driver.sh" "$C" "$W" > "$W/driver.log" 2>&1 < /dev/null &
  echo $! > "$W/driver.pid"
fi
while [ $((SECONDS - start)) -lt "$WAIT" ]; do
  [ -f "$W/ALL_DONE" ] && break
  [ "$STOP_AT" != ALL ] && [ -f "$W/done.$STOP_AT" ] && break
  sleep 5
done
echo "--- after $((SECONDS - start)) s"; cat "$W/driver.log"
for f in "$W"/failed.*; do [ -e "$f" ] && { echo "### ${f##*/}"; tail -40 "$W/log.${f##*/failed.}"; }; done
for f in "$W"/log.*; do echo "### ${f##*/}: $(tail -c 1500 "$f")"; done | tail -c 6000
(cd "$W" && tar -cf "$OUT/results.tar" --exclude='*.safetensors' --exclude='tasks*' --exclude='refs' --exclude='reasoning' \
   $(ls -d log.* *.json driver.log base/*.json pretrained/*.json sft/*.log sft/*/*.json select ev v1p/*.log mech* 2>/dev/null))
if [ "${SEND_BASE:-0}" = 1 ] && [ -s "$W/base/model.safetensors" ]; then tar -cf "$OUT/base.tar" -C "$W" base; fi
if [ "${SEND_COT:-0}" = 1 ] && [ -s "$W/choice.json" ]; then
  lr=$(python3 -c "import json; print(json.load(open('$W/choice.json'))['lr'])")
  tar -cf "$OUT/cot.tar" -C "$W/sft" "cot_lr$lr"
fi
for d in ${SEND:-}; do [ -e "$W/$d" ] && tar -cf "$OUT/$(echo "$d" | tr '/' '_').tar" -C "$W" "$d"; done
ls -la "$OUT"
