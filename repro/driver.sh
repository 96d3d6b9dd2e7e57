#!/usr/bin/env bash
# Runs the pipeline's GPU stages one after another on the device machine, as a daemon that outlives the
# call that started it (the machine stays ours between calls that follow within its idle window), so no
# checkpoint has to travel back. A stage that fails is retried once a later call has sent changed code.
# Usage (device.sh does this): setsid bash driver.sh CODE_ROOT WORK
C=$1; W=$2
code_hash() { cat "$C"/repro/*.py "$C"/repro/*.sh 2>/dev/null | md5sum; }
run_stage() {
  local st=$1
  while [ ! -f "$W/done.$st" ]; do
    local h; h=$(code_hash)
    echo "== $st start $(date +%T)"
    if REPRO_WORK="$W" bash "$C/repro/run.sh" "$st" > "$W/log.$st" 2>&1; then
      touch "$W/done.$st"; echo "== $st done $(date +%T)"
    else
      echo "== $st FAILED $(date +%T): waiting for new code"; touch "$W/failed.$st"
      while [ "$(code_hash)" = "$h" ]; do sleep 5; done
      rm -f "$W/failed.$st"
    fi
  done
}
for st in ${REPRO_STAGES:-tokenizer pretrain midtrain sft select repairs eval refs mechanism}; do run_stage "$st"; done
touch "$W/ALL_DONE"
