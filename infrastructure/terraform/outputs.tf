output "bot_public_ipv4" {
  description = "Public IPv4 addresses of the bots, in order (bot-1 first)."
  value       = hcloud_server.bot[*].ipv4_address
}

output "bot_private_ips" {
  description = "Private addresses of the bots (Caddy's upstreams, port 8080)."
  value       = local.bot_private_ips
}

output "db_private_ip" {
  description = "Private address of PostgreSQL (port 5432): DATABASE_URL's host."
  value       = local.db_private_ip
}

output "db_public_ipv4" {
  description = "Public IPv4 of the PostgreSQL server (SSH only)."
  value       = hcloud_server.db.ipv4_address
}

output "db_volume_device" {
  description = "Linux device of the PostgreSQL volume on the db server."
  value       = hcloud_volume.db.linux_device
}

output "load_balancer_ipv4" {
  description = "Public IPv4 of the load balancer (empty without one): the address for the domain's DNS record."
  value       = var.load_balancer_enabled ? hcloud_load_balancer.bots[0].ipv4 : ""
}

output "dns_target_ipv4" {
  description = "Where the domain's A record should point: the load balancer, else the first bot."
  value       = var.load_balancer_enabled ? hcloud_load_balancer.bots[0].ipv4 : hcloud_server.bot[0].ipv4_address
}

# terraform output -raw ansible_inventory > ../ansible/inventory/hosts.yml
output "ansible_inventory" {
  description = "Ansible inventory (YAML) of the servers: no secret in it."
  value = templatefile("${path.module}/inventory.yml.tftpl", {
    bots          = [for i, s in hcloud_server.bot : { name = s.name, public_ip = s.ipv4_address, private_ip = local.bot_private_ips[i] }]
    db            = { name = hcloud_server.db.name, public_ip = hcloud_server.db.ipv4_address, private_ip = local.db_private_ip }
    db_device     = hcloud_volume.db.linux_device
    subnet_cidr   = var.subnet_cidr
    site_address  = var.domain == "" ? ":80" : var.domain
    load_balancer = var.load_balancer_enabled
    deploy_user   = var.deploy_user
    ssh_keys      = values(var.ssh_public_keys)
    ssh_cidrs     = var.allowed_ssh_cidrs
  })
}
