#!/usr/bin/env bash
# Static checks of the deployment files; run by DeploymentProcessIT (./mvnw verify) and by hand:
#   scripts/check-infrastructure.sh
# - docker-compose.yml: `docker compose config`
# - docker/Caddyfile: `caddy validate` (a local caddy, else the CADDY_IMAGE / LOCALCI_CADDY_IMAGE / caddy:2 image)
# - infrastructure/terraform: `terraform fmt -check` and, where providers can be installed, `terraform validate`;
#   without terraform, the HCL is parsed with @cdktf/hcl2json from the npm registry (syntax only)
# - infrastructure/ansible: `ansible-playbook --syntax-check` and `ansible-lint` (Debian: ansible, ansible-lint)
# - docker/prometheus/alerts.yml: YAML that names only metrics the service exports; `promtool check rules` if present
# - security settings: nftables (public 80/443 only; 8080, 5432 from the private subnet; steps kept off it and off the
#   metadata address), hostssl and no plain host line in pg_hba, PermitRootLogin no, Caddy's headers, body limit and
#   404 for /metrics, age-encrypted backups, userns-remap
# - scripts/*.sh: `bash -n`
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
step() { echo "== $*"; }
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }

step "docker compose config"
POSTGRES_PASSWORD=placeholder docker compose -f docker-compose.yml config -q || fail "docker compose config"

step "caddy validate docker/Caddyfile"
caddy_env=(SITE_ADDRESS=:8080 "UPSTREAMS=bisectbot-1:8080 bisectbot-2:8080")
if command -v caddy >/dev/null; then
  env "${caddy_env[@]}" caddy validate --config docker/Caddyfile --adapter caddyfile || fail "caddy validate"
else
  docker run --rm -e "${caddy_env[0]}" -e "${caddy_env[1]}" -v "$PWD/docker/Caddyfile:/etc/caddy/Caddyfile:ro" \
    "${CADDY_IMAGE:-${LOCALCI_CADDY_IMAGE:-caddy:2}}" caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile \
    || fail "caddy validate"
fi

step "terraform (infrastructure/terraform)"
if command -v terraform >/dev/null; then
  terraform -chdir=infrastructure/terraform fmt -check -diff -recursive || fail "terraform fmt -check"
  # validate needs the hcloud provider; it is skipped where the Terraform registry cannot be reached.
  tfdata=$(mktemp -d)
  if TF_DATA_DIR=$tfdata timeout 60 terraform -chdir=infrastructure/terraform init -backend=false -input=false >/dev/null 2>&1; then
    TF_DATA_DIR=$tfdata terraform -chdir=infrastructure/terraform validate || fail "terraform validate"
  else
    echo "terraform validate: skipped (the hcloud provider cannot be installed here)"
  fi
  rm -rf "$tfdata" infrastructure/terraform/.terraform.lock.hcl
elif command -v npm >/dev/null && command -v node >/dev/null; then
  echo "terraform not installed: parsing the HCL with @cdktf/hcl2json (syntax only, no formatting check)"
  hcl=$(mktemp -d)
  if npm install --silent --no-audit --no-fund --prefix "$hcl" @cdktf/hcl2json@0.21.0 >/dev/null 2>&1; then
    NODE_PATH=$hcl/node_modules node -e '
      const { parse } = require("@cdktf/hcl2json"); const fs = require("fs");
      (async () => { let bad = 0;
        for (const f of process.argv.slice(1)) {
          try { await parse(f, fs.readFileSync(f, "utf8")); console.log("ok " + f); }
          catch (e) { bad++; console.log("FAIL " + f + ": " + e); } }
        process.exit(bad ? 1 : 0); })();' infrastructure/terraform/*.tf || fail "HCL syntax"
  else
    fail "npm install @cdktf/hcl2json"
  fi
  rm -rf "$hcl"
else
  fail "neither terraform nor node and npm are installed"
fi

step "ansible-playbook --syntax-check and ansible-lint (infrastructure/ansible)"
if command -v ansible-playbook >/dev/null && command -v ansible-lint >/dev/null; then
  (cd infrastructure/ansible \
    && ANSIBLE_NOCOLOR=1 ansible-playbook --syntax-check -i inventory/hosts.example.yml site.yml deploy.yml \
    && ansible-lint --nocolor -q) || fail "ansible syntax-check or lint"
else
  fail "ansible-playbook and ansible-lint are needed (Debian packages ansible, ansible-lint)"
fi

step "docker/prometheus/alerts.yml"
py=python3
python3 -c 'import yaml' 2>/dev/null || py=/usr/bin/python3   # Debian's python3-yaml (installed with ansible)
"$py" - <<'PY' || fail "alerts.yml"
import re, sys, yaml
rules = [r for g in yaml.safe_load(open("docker/prometheus/alerts.yml"))["groups"] for r in g["rules"]]
# Metrics the service exports (bisectbot_github_* come with the GitHub client, counters once they count).
known = {"bisectbot_workers_alive", "bisectbot_queue_depth", "bisectbot_queue_oldest_pending_age_seconds",
         "bisectbot_jobs_failed_total", "bisectbot_jobs_succeeded_total", "bisectbot_docker_available",
         "bisectbot_github_rate_limit_remaining", "bisectbot_github_rate_limit_waits_total",
         "hikaricp_connections_timeout_total", "up"}
bad = sorted({m for r in rules for m in re.findall(r"\b((?:bisectbot|hikaricp)_[a-z_]+|up)\b", r["expr"])} - known)
if bad or any(not {"alert", "expr", "labels", "annotations"} <= r.keys() for r in rules):
    sys.exit(f"unknown metrics {bad} or incomplete rules")
print(f"{len(rules)} rules, metrics known")
PY
if command -v promtool >/dev/null; then promtool check rules docker/prometheus/alerts.yml || fail "promtool check rules"; fi

step "security settings of the deployment files"
"$py" - <<'PY' || fail "security settings"
import re, sys
def read(path):
    return open(path, encoding="utf-8").read()
problems = []
def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        problems.append(what)

# nftables: the only public ports are 80 and 443; 8080 and 5432 only from the private subnet; SSH from the set.
nft = read("infrastructure/ansible/roles/firewall/templates/nftables.conf.j2")
input_chain = re.search(r"chain input \{(.*?)\n\t\}", nft, re.S).group(1)
check("policy drop;" in input_chain, "nftables: input policy drop")
for line in (l.strip() for l in input_chain.splitlines()):
    ports = re.search(r"tcp dport (\{[^}]*\}|\S+)", line)
    if not ports or not line.endswith("accept"):
        continue
    named = set(re.findall(r"[\w{}.]+", ports.group(1).strip("{}")))
    if "saddr" in line:
        check("@ssh_allowed" in line or "bisectbot_private_subnet" in line, f"nftables: restricted source in '{line}'")
    else:
        check(named <= {"80", "443"}, f"nftables: only 80/443 open to all, not '{line}'")
check(re.search(r"ip saddr \{\{ bisectbot_private_subnet \}\} tcp dport 5432 accept", input_chain) is not None,
      "nftables: 5432 from the private subnet")
check(re.search(r"ip saddr \{\{ bisectbot_private_subnet \}\} tcp dport \{\{ bisectbot_port \}\} accept", input_chain) is not None,
      "nftables: the instance port from the private subnet")
check(re.search(r'iifname "docker0" ct original ip daddr \{.*bisectbot_private_subnet.*firewall_metadata_address.*\} drop', nft)
      is not None and "169.254.169.254" in read("infrastructure/ansible/roles/firewall/defaults/main.yml"),
      "nftables: step containers reach neither the private subnet nor 169.254.169.254")
check("firewall" in read("infrastructure/ansible/site.yml"), "site.yml applies the firewall role")

# PostgreSQL: hostssl for the app, no plain host line; TLS on; the instances verify the server.
pg = read("infrastructure/ansible/roles/postgres/tasks/main.yml")
hba = re.search(r"block: \|\n((?:\s{6}.*\n)+)", pg).group(1)
check(re.search(r"^\s*hostssl\s", hba, re.M) is not None, "pg_hba: hostssl line for the app")
check(re.search(r"^\s*host\s", hba, re.M) is None, "pg_hba: no plain host line for the app")
check("ssl = on" in read("infrastructure/ansible/roles/postgres/templates/bisectbot.conf.j2"), "postgresql: ssl = on")
check("sslmode=verify-full" in read("infrastructure/ansible/roles/bisectbot/templates/bisectbot.env.j2"), "DATABASE_URL: sslmode=verify-full")

# SSH: no root login.
common = read("infrastructure/ansible/roles/common/tasks/main.yml")
check(re.search(r"^\s*PermitRootLogin no\s*$", common, re.M) is not None, "sshd: PermitRootLogin no")

# Caddy: security headers, body limit from the shared setting, no public /metrics.
for path, limit in (("docker/Caddyfile", "{$WEBHOOK_MAX_BODY:26214400}"),
                    ("infrastructure/ansible/roles/caddy/templates/Caddyfile.j2", "{{ bisectbot_webhook_max_body }}")):
    caddy = read(path)
    for header in ("X-Content-Type-Options nosniff", "X-Frame-Options DENY", "Referrer-Policy no-referrer",
                   "Content-Security-Policy \"default-src 'self';", "frame-ancestors 'none'", "header @https Strict-Transport-Security"):
        check(header in caddy, f"{path}: {header}")
    check(f"max_size {limit}" in caddy, f"{path}: request_body max_size {limit}")
    check(re.search(r"@metrics path /metrics", caddy) is not None and re.search(r"respond @metrics .* 404", caddy) is not None,
          f"{path}: /metrics answers 404")
check('@DefaultValue("26214400") long maxPayloadBytes' in read("src/main/java/io/bisectbot/github/GithubProperties.java"),
      "GithubProperties: the same WEBHOOK_MAX_BODY default")

# Backups: encrypted with age; site.yml refuses none.
backup = read("infrastructure/ansible/roles/postgres/templates/bisectbot-backup.sh.j2")
check(re.search(r"\|\s*age\{% for recipient", backup) is not None and ".dump.age" in backup, "backup: pg_dump piped into age")
check("postgres_backup_age_recipients | length > 0" in read("infrastructure/ansible/site.yml"), "site.yml: refuses backups without a recipient")

# Docker: step containers in a user namespace.
check("userns-remap" in read("infrastructure/ansible/roles/docker/tasks/main.yml"), "docker: userns-remap")
if problems:
    sys.exit(f"{len(problems)} security check(s) failed")
PY

step "bash -n scripts/*.sh"
for f in scripts/*.sh; do bash -n "$f" || fail "bash -n $f"; done

if [ "$failed" -gt 0 ]; then
  echo "check-infrastructure: $failed check(s) failed"
  exit 1
fi
echo "check-infrastructure: all checks passed"
