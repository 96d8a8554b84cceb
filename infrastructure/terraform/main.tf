locals {
  labels = {
    app    = "bisectbot"
    deploy = var.name_prefix
  }
  db_private_ip   = cidrhost(var.subnet_cidr, 2)
  bot_private_ips = [for i in range(var.bot_count) : cidrhost(var.subnet_cidr, 11 + i)]
  # Root cannot log in over SSH (Ansible's common role): Ansible logs in as this user, created at first boot.
  cloud_init = templatefile("${path.module}/cloud-init.yml.tftpl", {
    deploy_user = var.deploy_user
    ssh_keys    = values(var.ssh_public_keys)
  })
}

resource "hcloud_ssh_key" "admin" {
  for_each = var.ssh_public_keys

  name       = "${var.name_prefix}-${each.key}"
  public_key = each.value
  labels     = local.labels
}

# Private network: PostgreSQL and the bots' port 8080 are reachable only here.
resource "hcloud_network" "private" {
  name     = "${var.name_prefix}-net"
  ip_range = var.network_cidr
  labels   = local.labels
}

resource "hcloud_network_subnet" "servers" {
  network_id   = hcloud_network.private.id
  type         = "cloud"
  network_zone = var.network_zone
  ip_range     = var.subnet_cidr
}

# Hetzner firewalls filter the public interfaces; traffic on the private network is not filtered by them
# (Ansible binds PostgreSQL to the private address and allows only the subnet, over TLS, in pg_hba.conf, and its
# nftables rules on every server admit 80/443 publicly, 8080 and 5432 from the subnet only, SSH from
# allowed_ssh_cidrs, and keep step containers off the private network and the metadata address).
resource "hcloud_firewall" "bot" {
  name   = "${var.name_prefix}-bot"
  labels = local.labels

  rule {
    description = "HTTP (ACME challenges, redirect to HTTPS)"
    direction   = "in"
    protocol    = "tcp"
    port        = "80"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "HTTPS (GitHub webhooks, operators)"
    direction   = "in"
    protocol    = "tcp"
    port        = "443"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "SSH from the allowed ranges"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.allowed_ssh_cidrs
  }

  rule {
    description = "ping"
    direction   = "in"
    protocol    = "icmp"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }
}

resource "hcloud_firewall" "db" {
  name   = "${var.name_prefix}-db"
  labels = local.labels

  rule {
    description = "SSH from the allowed ranges; nothing else on the public interface"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.allowed_ssh_cidrs
  }
}

resource "hcloud_server" "bot" {
  count = var.bot_count

  name         = "${var.name_prefix}-bot-${count.index + 1}"
  server_type  = var.bot_server_type
  image        = var.image
  location     = var.location
  ssh_keys     = [for k in hcloud_ssh_key.admin : k.id]
  firewall_ids = [hcloud_firewall.bot.id]
  labels       = merge(local.labels, { role = "bot" })
  user_data    = local.cloud_init

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  network {
    network_id = hcloud_network.private.id
    ip         = local.bot_private_ips[count.index]
  }

  # cloud-init runs at the first boot only; later key changes go through Ansible (deploy_ssh_keys), and a changed
  # user_data must not replace a running server.
  lifecycle {
    ignore_changes = [user_data]
  }

  depends_on = [hcloud_network_subnet.servers]
}

resource "hcloud_server" "db" {
  name               = "${var.name_prefix}-db"
  server_type        = var.db_server_type
  image              = var.image
  location           = var.location
  ssh_keys           = [for k in hcloud_ssh_key.admin : k.id]
  firewall_ids       = [hcloud_firewall.db.id]
  labels             = merge(local.labels, { role = "db" })
  user_data          = local.cloud_init
  delete_protection  = var.delete_protection
  rebuild_protection = var.delete_protection

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  network {
    network_id = hcloud_network.private.id
    ip         = local.db_private_ip
  }

  # cloud-init runs at the first boot only; later key changes go through Ansible (deploy_ssh_keys), and a changed
  # user_data must not replace a running server.
  lifecycle {
    ignore_changes = [user_data]
  }

  depends_on = [hcloud_network_subnet.servers]
}

# PostgreSQL's data lives on a volume, so the server can be rebuilt or resized without touching it.
resource "hcloud_volume" "db" {
  name              = "${var.name_prefix}-pgdata"
  size              = var.db_volume_size
  location          = var.location
  format            = "ext4"
  labels            = local.labels
  delete_protection = var.delete_protection
}

resource "hcloud_volume_attachment" "db" {
  volume_id = hcloud_volume.db.id
  server_id = hcloud_server.db.id
  automount = false
}

resource "hcloud_load_balancer" "bots" {
  count = var.load_balancer_enabled ? 1 : 0

  name               = "${var.name_prefix}-lb"
  load_balancer_type = var.load_balancer_type
  location           = var.location
  labels             = local.labels

  algorithm {
    type = "round_robin"
  }
}

resource "hcloud_load_balancer_network" "bots" {
  count = var.load_balancer_enabled ? 1 : 0

  load_balancer_id = hcloud_load_balancer.bots[0].id
  network_id       = hcloud_network.private.id

  depends_on = [hcloud_network_subnet.servers]
}

resource "hcloud_load_balancer_target" "bots" {
  count = var.load_balancer_enabled ? var.bot_count : 0

  type             = "server"
  load_balancer_id = hcloud_load_balancer.bots[0].id
  server_id        = hcloud_server.bot[count.index].id
  use_private_ip   = true

  depends_on = [hcloud_load_balancer_network.bots]
}

# TCP passthrough: Caddy on each bot terminates TLS. The check asks Caddy (which proxies /health to the instances).
resource "hcloud_load_balancer_service" "bots" {
  for_each = var.load_balancer_enabled ? toset(["80", "443"]) : toset([])

  load_balancer_id = hcloud_load_balancer.bots[0].id
  protocol         = "tcp"
  listen_port      = tonumber(each.key)
  destination_port = tonumber(each.key)
  proxyprotocol    = false

  health_check {
    protocol = "tcp"
    port     = tonumber(each.key)
    interval = 5
    timeout  = 3
    retries  = 2
  }
}
