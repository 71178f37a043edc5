#!/usr/bin/env bash
# Rolls an Azure Container App back to its previous healthy revision, the runbook's rollback as one
# command: list the revisions, activate the target, send it all traffic, deactivate the bad one.
# Every az command is printed before it runs; --dry-run prints the changes without making them.
#
#   rollback.sh --app APP --resource-group GROUP [--revision REVISION] [--dry-run]
#
# The bad revision is the newest one. Without --revision the target is the newest older revision
# that provisioned and is not unhealthy. The app runs in multiple-revision mode, so traffic can
# move between revisions. Needs az (logged in) and jq.
set -euo pipefail

usage() {
  echo "usage: rollback.sh --app APP --resource-group GROUP [--revision REVISION] [--dry-run]" >&2
  exit 2
}

fail() {
  echo "rollback.sh: $*" >&2
  exit 1
}

app=""
group=""
target=""
dry_run=false
while [ $# -gt 0 ]; do
  case "$1" in
    --app) app=${2:-}; shift 2 || usage ;;
    --resource-group) group=${2:-}; shift 2 || usage ;;
    --revision) target=${2:-}; shift 2 || usage ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage ;;
    *) echo "rollback.sh: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$app" ] && [ -n "$group" ] || usage
command -v jq >/dev/null 2>&1 || fail "jq is required"

# Reading runs even in a dry run; changing does not.
show() { echo "+ $*" >&2; }
change() {
  show "$@"
  if [ "$dry_run" = false ]; then "$@"; fi
}

show az containerapp revision list --name "$app" --resource-group "$group" --all --output json
revisions=$(az containerapp revision list --name "$app" --resource-group "$group" --all --output json)

bad=$(jq -r 'sort_by(.properties.createdTime) | last | .name // empty' <<<"$revisions")
[ -n "$bad" ] || fail "app $app has no revisions"

if [ -z "$target" ]; then
  target=$(jq -r --arg bad "$bad" '
    (map(select(.name == $bad)) | first | .properties.createdTime) as $bad_created
    | map(select(.name != $bad
        and .properties.createdTime < $bad_created
        and .properties.provisioningState == "Provisioned"
        and .properties.healthState != "Unhealthy"))
    | sort_by(.properties.createdTime) | last | .name // empty' <<<"$revisions")
  [ -n "$target" ] || fail "no previous healthy revision to roll back to (current: $bad)"
else
  jq -e --arg name "$target" 'any(.[]; .name == $name)' <<<"$revisions" >/dev/null \
    || fail "revision $target does not exist in app $app"
  [ "$target" != "$bad" ] || fail "revision $target is the current revision"
fi

echo "rolling $app back from $bad to $target$([ "$dry_run" = true ] && echo ' (dry run)')"
change az containerapp revision activate --name "$app" --resource-group "$group" --revision "$target"
change az containerapp ingress traffic set --name "$app" --resource-group "$group" --revision-weight "$target=100"
change az containerapp revision deactivate --name "$app" --resource-group "$group" --revision "$bad"
echo "rolled back: $target takes all traffic, $bad is inactive"
