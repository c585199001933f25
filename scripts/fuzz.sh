#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input with libFuzzer and AddressSanitizer: the NUL framer, the
# broker's reading of a Varlink call, spec files (YAML and JSON) and the host policy. Builds
# Sources/hv-fuzz with -sanitize=fuzzer,address into .build/fuzz (apart from the normal build),
# then runs each target for SECONDS from the corpus kept in Tests/Fuzz/corpus/TARGET, one target
# at a time. Fails on the first crash, hang (an input taking over 10 s) or leak, keeping the input.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     TARGET: framer, varlink, spec-yaml, spec-json, policy
#   scripts/fuzz.sh --merge [TARGET|all]       minimises the kept corpus with what the last run found
#
# What a run found stays under .build/fuzz/runs/TARGET (new inputs in corpus/, a crash as crash-*,
# the log as fuzz.log). A crash replays in a plain debug build:
#   swift build --product hv-fuzz && HV_FUZZ_TARGET=TARGET .build/debug/hv-fuzz CRASH-FILE
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(framer varlink spec-yaml spec-json policy)
merge=false
if [ "${1:-}" = "--merge" ]; then merge=true; shift; fi
target="${1:-all}"
seconds="${2:-60}"
if [ "$target" = all ]; then chosen=("${targets[@]}"); else chosen=("$target"); fi
for name in "${chosen[@]}"; do
    [ -d "Tests/Fuzz/corpus/$name" ] || { echo "fuzz.sh: unknown target '$name'; one of: ${targets[*]} or all" >&2; exit 2; }
done
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "fuzz.sh: SECONDS must be a positive number, got '$seconds'" >&2; exit 2; }

[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { echo "fuzz.sh: swift not found; install Swift 6 and put it on PATH" >&2; exit 1; }

scratch=.build/fuzz
echo "fuzz.sh: building hv-fuzz with libFuzzer and AddressSanitizer into $scratch (release; about 10 minutes on 2 cores the first time, 20 on a busy machine)"
start=$SECONDS
# swiftc keeps only the last -sanitize= it is given, and SwiftPM passes one per --sanitize: the
# combined flag after them instruments the Swift code for coverage as well as for AddressSanitizer
# (the C code gets both from the two --sanitize).
swift build -c release --product hv-fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -DHV_FUZZ --scratch-path "$scratch"
binary="$scratch/release/hv-fuzz"
echo "fuzz.sh: built in $((SECONDS - start)) s"

# libFuzzer and AddressSanitizer report a crash themselves, with the input; Swift's own backtracer
# would get in their way. Leaks are checked after every input that allocates more than it frees,
# except what a global's one-time initializer allocates (Tests/Fuzz/lsan.supp says why).
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/Tests/Fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

for name in "${chosen[@]}"; do
    run="$scratch/runs/$name"
    kept="Tests/Fuzz/corpus/$name"
    mkdir -p "$run/corpus"
    if $merge; then
        echo "fuzz.sh: $name: merging $run/corpus into $kept, keeping only inputs that add coverage"
        fresh="$(mktemp -d)"
        HV_FUZZ_TARGET="$name" "$binary" -merge=1 "$fresh" "$kept" "$run/corpus" >"$run/merge.log" 2>&1 \
            || { tail -n 20 "$run/merge.log" >&2; rm -rf "$fresh"; exit 1; }
        rm -f "$kept"/*
        cp "$fresh"/* "$kept"/
        rm -rf "$fresh"
        echo "fuzz.sh: $name: $(find "$kept" -type f | wc -l) inputs, $(du -sk "$kept" | cut -f1) KiB"
        continue
    fi
    echo "fuzz.sh: $name: fuzzing for $seconds s from $kept"
    dictionary=()
    [ -f "Tests/Fuzz/$name.dict" ] && dictionary=(-dict="Tests/Fuzz/$name.dict")
    status=0
    HV_FUZZ_TARGET="$name" "$binary" "$run/corpus" "$kept" \
        "${dictionary[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$run/" -print_final_stats=1 >"$run/fuzz.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$run/fuzz.log" >&2
        echo "fuzz.sh: $name: FAILED (exit $status); the input is in $run/ (crash-*, timeout-*, leak-* or oom-*), the log in $run/fuzz.log" >&2
        exit 1
    fi
    echo "fuzz.sh: $name: no crash, hang or leak: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$run/fuzz.log" | tail -n 1 | sed 's/.*DONE *//')"
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$run/fuzz.log" | sed "s/^/fuzz.sh: $name: /"
done
