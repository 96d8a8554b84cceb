variable "hcloud_token" {
  description = "Hetzner Cloud API token (read/write) of the project. Pass it as TF_VAR_hcloud_token, never in a file."
  type        = string
  sensitive   = true
}

variable "name_prefix" {
  description = "Prefix of every resource name and label value, e.g. \"bisectbot-prod\"."
  type        = string
  default     = "bisectbot"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix: 2 to 31 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "location" {
  description = "Hetzner location of all servers (fsn1, nbg1, hel1, ash, hil, sin)."
  type        = string
  default     = "fsn1"

  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], var.location)
    error_message = "location must be one of fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "network_zone" {
  description = "Network zone of the private subnet; must contain location (eu-central for fsn1/nbg1/hel1, us-east for ash, us-west for hil, ap-southeast for sin)."
  type        = string
  default     = "eu-central"

  validation {
    condition     = contains(["eu-central", "us-east", "us-west", "ap-southeast"], var.network_zone)
    error_message = "network_zone must be one of eu-central, us-east, us-west, ap-southeast."
  }
}

variable "bot_count" {
  description = "Number of bisectbot servers (one instance each). Two or more keep the service up while one is replaced."
  type        = number
  default     = 2

  validation {
    condition     = var.bot_count >= 1 && var.bot_count <= 20 && floor(var.bot_count) == var.bot_count
    error_message = "bot_count must be a whole number from 1 to 20."
  }
}

variable "bot_server_type" {
  description = "Server type of the bisectbot servers; steps run in Docker on them, so size for the builds (e.g. cpx31)."
  type        = string
  default     = "cpx31"
}

variable "db_server_type" {
  description = "Server type of the PostgreSQL server."
  type        = string
  default     = "cpx21"
}

variable "image" {
  description = "Operating system image of all servers; the Ansible roles support Debian 12."
  type        = string
  default     = "debian-12"
}

variable "db_volume_size" {
  description = "Size in GB of the volume holding PostgreSQL's data directory and its local backups."
  type        = number
  default     = 40

  validation {
    condition     = var.db_volume_size >= 10 && var.db_volume_size <= 10240
    error_message = "db_volume_size must be between 10 and 10240 (GB)."
  }
}

variable "ssh_public_keys" {
  description = "SSH public keys allowed to log in as deploy_user for Ansible, by name: { alice = \"ssh-ed25519 AAAA... alice@laptop\" }."
  type        = map(string)

  validation {
    condition     = length(var.ssh_public_keys) > 0 && alltrue([for k in values(var.ssh_public_keys) : can(regex("^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) ", k))])
    error_message = "ssh_public_keys needs at least one OpenSSH public key (ssh-ed25519, ssh-rsa or ecdsa-sha2-*)."
  }
}

variable "deploy_user" {
  description = "User that Ansible logs in as (with ssh_public_keys, sudo without password); root cannot log in over SSH."
  type        = string
  default     = "deploy"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,30}$", var.deploy_user)) && var.deploy_user != "root"
    error_message = "deploy_user must be a lower-case user name other than root."
  }
}

variable "allowed_ssh_cidrs" {
  description = "Source ranges allowed to reach SSH (22) on every server, e.g. [\"203.0.113.7/32\"]. Never 0.0.0.0/0 in production."
  type        = list(string)

  validation {
    condition     = length(var.allowed_ssh_cidrs) > 0 && alltrue([for c in var.allowed_ssh_cidrs : can(cidrnetmask(c)) || can(cidrhost(c, 0))])
    error_message = "allowed_ssh_cidrs needs at least one valid CIDR (IPv4 or IPv6)."
  }
}

variable "network_cidr" {
  description = "Private network of the deployment; bots and PostgreSQL talk over it only."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.network_cidr, 0))
    error_message = "network_cidr must be a valid IPv4 CIDR."
  }
}

variable "subnet_cidr" {
  description = "Subnet of network_cidr where the servers get their private addresses (PostgreSQL gets host 2, bots 11, 12, ...)."
  type        = string
  default     = "10.0.1.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a valid IPv4 CIDR inside network_cidr."
  }
}

variable "load_balancer_enabled" {
  description = "Put a Hetzner load balancer in front of the bots (ports 80 and 443 passed through to Caddy on every bot). Without it, point DNS at the first bot (or all of them) and let its Caddy serve."
  type        = bool
  default     = false
}

variable "load_balancer_type" {
  description = "Load balancer type when load_balancer_enabled."
  type        = string
  default     = "lb11"
}

variable "domain" {
  description = "Public name of the service (e.g. bot.example.com) for Caddy's automatic HTTPS; empty serves plain HTTP on port 80."
  type        = string
  default     = ""

  validation {
    condition     = var.domain == "" || can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be empty or a lower-case DNS name such as bot.example.com."
  }
}

variable "delete_protection" {
  description = "Protect the PostgreSQL server and volume from deletion (set false only to tear a test environment down)."
  type        = bool
  default     = true
}
