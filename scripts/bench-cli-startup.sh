#!/usr/bin/env bash
# Command-line startup: how long `bisectbot bisect` takes from launch to its first step, cold and warm.
#   scripts/bench-cli-startup.sh [RUNS] [JAR...]
#   RUNS   warm runs per jar after one cold run (default 5)
#   JAR    jars to compare, run in turn so that machine load hits them alike (default target/bisectbot.jar)
# Bisects a 16-commit repository (first bad commit: the 10th) with a test in $LOCALCI_RUNNER_IMAGE (debian:bookworm),
# each jar with its own empty home directory (-Duser.home), so its first run starts cold: unpack the PostgreSQL
# binaries, initdb, migrations. Prints one line per run: seconds to the first output line, to the start of the first
# step (its result line's time minus the step's own duration) and the JVMs' CPU seconds until then, and the load
# average; then the median of the warm runs per jar.
set -euo pipefail
runs=${1:-5}
shift || true
jars=("$@")
[ ${#jars[@]} -gt 0 ] || jars=(target/bisectbot.jar)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
image=${LOCALCI_RUNNER_IMAGE:-debian:bookworm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

repo=$work/repo
mkdir "$repo"
git -C "$repo" init -q
for i in $(seq 0 15); do
  if [ "$i" -lt 9 ]; then echo good > "$repo/state"; else echo bad > "$repo/state"; fi
  echo "$i" > "$repo/n"
  git -C "$repo" add state n
  git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -qm "change $i"
  [ "$i" = 0 ] && git -C "$repo" tag v0
done

# One run: prints "first_line first_step cpu".
run() {
  local jar=$1 home=$2 out=$work/out
  : > "$out"
  local start
  start=$(date +%s%N)
  (cd "$repo" && exec "$java" -Duser.home="$home" -jar "$jar" bisect --repo . --good v0 --image "$image" \
      -- sh -c 'test "$(cat state)" = good' > "$out" 2>&1) &
  local pid=$! first="" now line
  while kill -0 "$pid" 2>/dev/null; do
    now=$(date +%s%N)
    [ -z "$first" ] && [ -s "$out" ] && first=$now
    line=$(grep -m1 -E '^  (verify|search) ' "$out" || true)
    if [ -n "$line" ]; then
      local cpu
      # The command runs in a second JVM started by the first (see ShortLivedJvm): both count.
      cpu=$(for p in "$pid" $(pgrep -P "$pid"); do cat "/proc/$p/stat"; done 2>/dev/null \
          | awk -v t="$ticks" '{s += $14 + $15} END {printf "%.2f", s / t}')
      local took
      took=$(sed -E 's/.*, ([0-9.]+) s$/\1/' <<< "$line")
      wait "$pid" || true
      awk -v s="$start" -v f="$first" -v n="$now" -v d="$took" -v c="$cpu" \
          'BEGIN {printf "%.1f %.1f %s\n", (f - s) / 1e9, (n - s) / 1e9 - d, c}'
      return
    fi
    sleep 0.05
  done
  echo "the run ended without a step; its output:" >&2
  cat "$out" >&2
  return 1
}

warm=()
for round in $(seq 0 "$runs"); do
  for i in "${!jars[@]}"; do
    mkdir -p "$work/home-$i"
    result=$(run "$(realpath "${jars[$i]}")" "$work/home-$i")
    kind=$([ "$round" = 0 ] && echo cold || echo warm)
    printf '%s %-4s first line %5s s, first step %5s s, cpu %5s s, load %s\n' "${jars[$i]}" "$kind" \
        $result "$(cut -d' ' -f1 /proc/loadavg)"
    [ "$round" = 0 ] || warm[$i]+="$(cut -d' ' -f2 <<< "$result") "
  done
done
for i in "${!jars[@]}"; do
  median=$(tr ' ' '\n' <<< "${warm[$i]}" | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  echo "${jars[$i]}: median of $runs warm runs to the first step: $median s"
done
