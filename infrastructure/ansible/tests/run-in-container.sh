#!/usr/bin/env bash
# Runs site.yml (twice: the second run must change nothing but what a container cannot do) and deploy.yml for real
# against a throwaway Debian 12 container with systemd, as one server that is both "db" and "bots":
#   infrastructure/ansible/tests/run-in-container.sh IMAGE        (IMAGE: a bisectbot image on this engine)
# What differs from a real server: no Docker engine runs inside the container; the host's engine is used through
# the mounted socket (docker.service there is a stand-in), the instance publishes on the bridge's gateway address,
# chrony cannot set the clock, and the data volume, sshd and the firewall are not exercised (nftables.conf is written,
# not loaded; the instance runs on the default bridge, where the "db" container is). The backup is decrypted with a
# throwaway age identity and listed by pg_restore.
# Needs: docker, ansible-playbook (with the community.docker and community.crypto collections), age, ssh-keygen.
# Takes about 6 minutes.
set -euo pipefail
image=${1:?usage: run-in-container.sh IMAGE}
here=$(cd "$(dirname "$0")" && pwd)
base=${LOCALCI_RUNNER_IMAGE:-debian:bookworm}
name=bisectbot-ansible-target
work=$(mktemp -d)
cleanup() {
  docker exec "$name" systemctl stop bisectbot >/dev/null 2>&1 || true
  docker rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/Dockerfile" <<DOCKERFILE
FROM $base
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      systemd systemd-sysv dbus python3 >/dev/null && rm -rf /var/lib/apt/lists/*
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
DOCKERFILE
docker build -q -t bisectbot-test/systemd:bookworm "$work" >/dev/null
docker rm -f "$name" >/dev/null 2>&1 || true
docker run -d --name "$name" --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
  -v /var/run/docker.sock:/var/run/docker.sock bisectbot-test/systemd:bookworm >/dev/null
for _ in $(seq 30); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break ;; esac
  sleep 1
done
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$name")
gateway=$(docker exec "$name" sh -c "ip route 2>/dev/null | awk '/default/{print \$3}'" || true)
gateway=${gateway:-$(ip -4 addr show docker0 | awk '/inet /{print $2}' | cut -d/ -f1)}
port=18580
cat >"$work/hosts.yml" <<YAML
all:
  vars:
    ansible_connection: community.docker.docker
    bisectbot_private_subnet: "172.16.0.0/12"
    bisectbot_db_host: "$ip"
    caddy_site_address: ":80"
    caddy_behind_load_balancer: false
  children:
    bots:
      hosts:
        $name:
          private_ip: $ip
          bisectbot_upstream: "$gateway:$port"
    db:
      hosts:
        $name:
          private_ip: $ip
YAML
age-keygen -o "$work/backup-identity.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/backup-identity.txt")
ssh-keygen -q -t ed25519 -N '' -C run-in-container -f "$work/deploy_key"
cat >"$work/vars.yml" <<YAML
deploy_ssh_keys: ["$(cat "$work/deploy_key.pub")"]
ssh_allowed_cidrs: ["192.0.2.0/24"]
postgres_backup_age_recipients: ["$recipient"]
YAML
cd "$here/.."
extra=(-e @secrets.example.yml -e @"$work/vars.yml" -e allow_placeholder_secrets=true -e docker_start_engine=false
       -e firewall_apply=false -e bisectbot_docker_network=bridge -e bisectbot_docker_bridge=docker0
       -e "bisectbot_image=$image" -e "bisectbot_publish_ip=$gateway" -e "bisectbot_port=$port")
export ANSIBLE_NOCOLOR=1
echo "== site.yml, first run"
ansible-playbook -i "$work/hosts.yml" "${extra[@]}" site.yml | tee "$work/site1.log" | grep -A1 'RECAP'
echo "== site.yml, second run"
ansible-playbook -i "$work/hosts.yml" "${extra[@]}" site.yml | tee "$work/site2.log" | grep -A1 'RECAP'
echo "   tasks changed on the second run: $(grep -B2 '^changed' "$work/site2.log" | grep -c '^TASK' || true)"
echo "== the backup timer's service, once"
docker exec "$name" systemctl start bisectbot-backup
backup=$(docker exec "$name" sh -c 'ls -t /var/lib/postgresql/backups/*.dump.age | head -1')
docker exec "$name" cat "$backup" >"$work/backup.dump.age"
echo "   $backup: $(wc -c <"$work/backup.dump.age") bytes, decrypted and listed:"
age --decrypt --identity "$work/backup-identity.txt" "$work/backup.dump.age" \
  | docker exec -i "$name" pg_restore --list | grep -c 'TABLE DATA'
echo "== deploy.yml (docker.service is a stand-in for the host's engine)"
docker exec "$name" sh -c 'printf "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n" >/etc/systemd/system/docker.service && systemctl daemon-reload && systemctl start docker'
ansible-playbook -i "$work/hosts.yml" "${extra[@]}" deploy.yml | tee "$work/deploy.log" | grep -A1 'RECAP'
echo "== through Caddy on the server"
docker exec "$name" curl -fsS http://127.0.0.1/health
echo
echo "run-in-container: site.yml twice, the backup and deploy.yml passed"
