#!/usr/bin/env bash
# check.sh: what make labs-check runs. Every lab's grader must pass on the
# reference (-tags labref) and fail on the untouched skeleton, each lab on
# its own: a grader that cannot pass, or cannot fail, is a bug.
set -uo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0

fail() {
	echo "labs-check: $lab: $*"
	status=1
}

for dir in tutorial/labs/[0-9][0-9]-*/; do
	dir=${dir%/}
	lab=$(basename "$dir")
	nn=${lab%%-*}
	start=$SECONDS

	grep -q 'TODO(lab)' "$dir/lab.go" || fail "lab.go has no TODO(lab) stub"
	# Every grader test is named TestLabNN..., so that -run LabNN runs them all.
	if ! $GO test -list . "./$dir" >"$out" 2>&1; then
		cat "$out"
		fail "the skeleton does not build"
		continue
	fi
	others=$(grep '^Test' "$out" | grep -v "^TestLab$nn" || true)
	[ -z "$others" ] || fail "tests not named TestLab$nn...: $others"

	$GO vet "./$dir" && $GO vet -tags labref "./$dir" || fail "go vet"

	if ! $GO test -race -count=1 -timeout 5m -tags labref "./$dir" >"$out" 2>&1; then
		cat "$out"
		fail "the grader fails on the reference"
	fi

	if $GO test -v -count=1 -timeout 5m "./$dir" >"$out" 2>&1; then
		fail "the grader passes on the untouched skeleton"
	elif ! grep -q -- "--- FAIL: TestLab$nn" "$out"; then
		cat "$out"
		fail "the skeleton fails, but not in a TestLab$nn test (build error, panic, timeout?)"
	else
		failed=$(grep -c -- "^--- FAIL: TestLab$nn" "$out")
		total=$(grep -c -- "^--- \(FAIL\|PASS\|SKIP\): TestLab$nn" "$out")
		echo "labs-check: $lab: reference passes, skeleton fails $failed of its $total tests ($((SECONDS - start)) s)"
	fi
done
exit $status
