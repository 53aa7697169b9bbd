#!/bin/sh
# CI job: certify the node this pipeline just deployed to its test environment.
# NODE_URL is the node's base URL; the files live in the repository's conformance/ folder.
set -eu

status=0
bmdx-conformance run \
    --target "$NODE_URL" --config conformance/target.toml \
    --claim conformance/claim.json \
    --expected-failures conformance/expected-failures.yaml \
    --report-dir conformance-report \
    --no-progress || status=$?

# Publish conformance-report/junit.xml to the CI test view and keep the whole folder
# (report.html, summary.md, badge.svg, report.json, certificate.jws) as an artifact.
bmdx-conformance verify-certificate conformance-report/certificate.jws \
    --report conformance-report/report.json

# 0: every claimed requirement passed (or is a listed expected failure) and the
# expected-failures list is current; 1: a claim failure, a stale entry or a suite error.
exit "$status"
