#!/usr/bin/env bash
# Debian packages the test suite and benchmarks use (independent verifiers and real MTAs):
#   opendkim-tools  - OpenDKIM's verifier, an independent check of our DKIM signatures
#   spamassassin, spamd, spamc - spamd scores content in the preflight report (Debian ships
#                     spamd as its own package since SpamAssassin 4; rules come with the
#                     package, so scoring works offline, without sa-update)
#   postfix         - smtp-sink / smtp-source for the throughput benchmark, and a real MTA
#                     that returns DSNs in the feedback-loop test (the daemon is never enabled)
#   dovecot-imapd   - a real IMAP server for the bounce-mailbox polling test
#   chromium        - the browser the admin UI tests drive through Playwright (Playwright's
#                     own browser download is never used)
#   wrk             - the load generator of benchmarks/tracking.py
# Installed with apt-get when missing. Without root (a developer machine) the tests that
# need them skip and say why; in CI (CI=true) a failed install fails the build.
set -euo pipefail
packages=(opendkim-tools spamassassin spamd spamc postfix dovecot-imapd chromium wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: not root; missing ${missing[*]} (tests needing them will skip)" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks configuration questions; "No configuration" installs the binaries only.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Never leave an MTA running on this machine: the tests start what they need themselves.
if command -v postfix >/dev/null 2>&1; then postfix stop >/dev/null 2>&1 || true; fi
if command -v doveadm >/dev/null 2>&1; then doveadm stop >/dev/null 2>&1 || true; fi
