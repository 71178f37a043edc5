#!/usr/bin/env bash
# Tests rollback.sh against a fake az that records its calls and answers canned JSON.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
cat >"$work/bin/az" <<'FAKE'
#!/usr/bin/env bash
echo "$*" >>"$AZ_LOG"
case "$*" in
  "containerapp revision list "*) cat "$AZ_REVISIONS" ;;
esac
FAKE
chmod +x "$work/bin/az"
export PATH="$work/bin:$PATH" AZ_LOG="$work/calls" AZ_REVISIONS="$work/revisions.json"

revision() { # name created provisioning health traffic
  printf '{"name":"%s","properties":{"createdTime":"%s","provisioningState":"%s","healthState":"%s","trafficWeight":%s,"active":true}}' "$@"
}
three_revisions="[$(revision loyalty--r1 2026-11-01T10:00:00Z Provisioned Healthy 0),$(revision loyalty--r3 2026-11-03T10:00:00Z Provisioned Unhealthy 100),$(revision loyalty--r2 2026-11-02T10:00:00Z Provisioned Healthy 0),$(revision loyalty--r2b 2026-11-02T12:00:00Z Failed None 0)]"
list="containerapp revision list --name loyalty --resource-group rg --all --output json"

passed=0
failed=0
check() { # name expected actual
  if [ "$2" == "$3" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n--- expected\n%s\n--- actual\n%s\n' "$1" "$2" "$3"
  fi
}

run() { # revisions-json, args...
  printf '%s' "$1" >"$AZ_REVISIONS"
  shift
  : >"$AZ_LOG"
  "$here/rollback.sh" "$@" >"$work/out" 2>"$work/err"
  echo $? >"$work/status"
}

run "$three_revisions" --app loyalty --resource-group rg
check "normal rollback exits 0" 0 "$(cat "$work/status")"
check "normal rollback calls" "$list
containerapp revision activate --name loyalty --resource-group rg --revision loyalty--r2
containerapp ingress traffic set --name loyalty --resource-group rg --revision-weight loyalty--r2=100
containerapp revision deactivate --name loyalty --resource-group rg --revision loyalty--r3" "$(cat "$AZ_LOG")"
check "each command is printed before it runs" 4 "$(grep -c '^+ az containerapp' "$work/err")"

run "$three_revisions" --app loyalty --resource-group rg --revision loyalty--r1
check "--revision exits 0" 0 "$(cat "$work/status")"
check "--revision calls" "$list
containerapp revision activate --name loyalty --resource-group rg --revision loyalty--r1
containerapp ingress traffic set --name loyalty --resource-group rg --revision-weight loyalty--r1=100
containerapp revision deactivate --name loyalty --resource-group rg --revision loyalty--r3" "$(cat "$AZ_LOG")"

run "$three_revisions" --app loyalty --resource-group rg --dry-run
check "--dry-run exits 0" 0 "$(cat "$work/status")"
check "--dry-run makes no mutating call" "$list" "$(cat "$AZ_LOG")"
check "--dry-run still prints the plan" 4 "$(grep -c '^+ az containerapp' "$work/err")"

run "[$(revision loyalty--r3 2026-11-03T10:00:00Z Provisioned Unhealthy 100),$(revision loyalty--r2 2026-11-02T10:00:00Z Failed Unhealthy 0)]" --app loyalty --resource-group rg
check "no previous revision fails" 1 "$(cat "$work/status")"
check "no previous revision says so" "rollback.sh: no previous healthy revision to roll back to (current: loyalty--r3)" "$(tail -n 1 "$work/err")"
check "no previous revision changes nothing" "$list" "$(cat "$AZ_LOG")"

run "$three_revisions" --app loyalty --resource-group rg --revision loyalty--r9
check "unknown --revision fails" 1 "$(cat "$work/status")"
check "unknown --revision changes nothing" "$list" "$(cat "$AZ_LOG")"

run "$three_revisions" --app loyalty
check "missing --resource-group is a usage error" 2 "$(cat "$work/status")"
check "a usage error calls nothing" "" "$(cat "$AZ_LOG")"

echo "rollback: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
