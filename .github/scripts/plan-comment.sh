#!/usr/bin/env bash
# Post a pull request's plan of one environment as its comment, or replace the one an earlier push posted: one
# comment per environment, found by the marker it starts with. Usage: plan-comment.sh <env> <report.md>
# Needs GH_TOKEN (pull-requests: write), GITHUB_REPOSITORY and PR_NUMBER; gh is on every GitHub-hosted runner.
set -euo pipefail

env_name="$1"
report="$2"
marker="<!-- streamflix-plan:${env_name} -->"
limit=60000 # GitHub refuses a comment over 65536 characters; the rest stays in the job summary

text="$(cat "$report")"
if [ "${#text}" -gt "$limit" ]; then
  text="${text:0:$limit}"$'\n\n'"… cut here: the whole report is in this job's summary."
fi
body="${marker}"$'\n'"${text}"

comments="repos/${GITHUB_REPOSITORY}/issues/${PR_NUMBER}/comments"
# Only the workflow's own comment: anyone may post the marker, and the bot must never take over (and so vouch
# for) what someone else wrote. sed, not head: head would leave gh writing to a closed pipe (pipefail).
bot="github-actions[bot]"
existing="$(gh api --paginate "$comments" \
  --jq ".[] | select(.user.login == \"${bot}\" and (.body | startswith(\"${marker}\"))) | .id" | sed -n 1p)"
if [ -n "$existing" ]; then
  gh api --method PATCH "repos/${GITHUB_REPOSITORY}/issues/comments/${existing}" -f body="$body" >/dev/null
  echo "updated the ${env_name} plan comment on pull request ${PR_NUMBER}"
else
  gh api --method POST "$comments" -f body="$body" >/dev/null
  echo "posted the ${env_name} plan comment on pull request ${PR_NUMBER}"
fi
