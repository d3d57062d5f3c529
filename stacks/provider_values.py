"""Enum-like strings the providers take as plain ``str`` (so neither mocks nor types check them).

Every one is asserted in tests/stacks/test_provider_values.py against the values the
installed provider SDKs and AWS API models list, so a typo fails a test rather than a
`pulumi up`.
"""
from __future__ import annotations

# --- AWS ------------------------------------------------------------------------------------------
# AWS's recommended spot strategy: cheapest pools among those least likely to be interrupted.
AWS_SPOT_ALLOCATION_STRATEGY = "price-capacity-optimized"
# On-demand capacity goes to the overrides in order: the planned type first.
AWS_ON_DEMAND_ALLOCATION_STRATEGY = "prioritized"
AWS_HTTP_TOKENS_REQUIRED = "required"      # IMDSv2 only
AWS_HTTP_ENDPOINT_ENABLED = "enabled"
AWS_INSTANCE_METADATA_TAGS = "disabled"
# Containers sit one network hop behind the host: with 1 they cannot fetch an IMDSv2 token,
# so a model server (or an SSRF in it) cannot use the instance role. Everything that needs
# the role (secret fetch, registry login, log driver, agents) runs on the host.
AWS_IMDS_HOP_LIMIT = 1
AWS_IMDS_HOP_LIMIT_CONTAINERS = 2     # roost:aws.allowContainerMetadata
AWS_VOLUME_TYPE = "gp3"
AWS_INSTANCE_REFRESH_STRATEGY = "Rolling"
AWS_HEALTH_CHECK_TYPE = "ELB"
AWS_POLICY_TYPE_TARGET_TRACKING = "TargetTrackingScaling"
AWS_METRIC_REQUESTS_PER_TARGET = "ALBRequestCountPerTarget"
AWS_LB_TYPE = "application"
AWS_TARGET_TYPE = "instance"
AWS_LISTENER_ACTION_FORWARD = "forward"
AWS_LISTENER_ACTION_REDIRECT = "redirect"
AWS_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
AWS_LB_ALGORITHM = "least_outstanding_requests"   # model latency varies per request

# --- GCP ------------------------------------------------------------------------------------------
GCP_PROVISIONING_SPOT = "SPOT"
GCP_PROVISIONING_STANDARD = "STANDARD"
GCP_SPOT_TERMINATION_ACTION = "DELETE"     # a MIG recreates deleted VMs; stopped ones just sit there
GCP_HOST_MAINTENANCE_TERMINATE = "TERMINATE"   # GPUs cannot live-migrate
GCP_HOST_MAINTENANCE_MIGRATE = "MIGRATE"
GCP_SCHEME_EXTERNAL = "EXTERNAL_MANAGED"
GCP_SCHEME_INTERNAL = "INTERNAL_MANAGED"
GCP_BALANCING_MODE_RATE = "RATE"
GCP_BACKEND_PROTOCOL = "HTTP"
GCP_UPDATE_TYPE = "PROACTIVE"
GCP_UPDATE_MINIMAL_ACTION = "REPLACE"
# GPUs and spot capacity are not in every zone: let the MIG put VMs where capacity exists.
GCP_TARGET_SHAPE_ANY = "ANY"
GCP_TARGET_SHAPE_EVEN = "EVEN"
GCP_REDISTRIBUTION_NONE = "NONE"            # required with target shape ANY
GCP_REDISTRIBUTION_PROACTIVE = "PROACTIVE"
GCP_PROXY_ONLY_PURPOSE = "REGIONAL_MANAGED_PROXY"
GCP_PROXY_ONLY_ROLE = "ACTIVE"
GCP_NAT_IP_ALLOCATE = "AUTO_ONLY"
GCP_NAT_SOURCE_RANGES = "ALL_SUBNETWORKS_ALL_IP_RANGES"
GCP_FIREWALL_DIRECTION = "INGRESS"
# Google's health-check and GFE proxy ranges (cloud.google.com/load-balancing/docs/firewall-rules).
GCP_HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
# Project-level by nature (write-only, no resource to scope them to): the Ops Agent and the
# docker gcplogs driver. Image read is granted on the one repository (GCP_REGISTRY_READER_ROLE).
GCP_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
GCP_REGISTRY_READER_ROLE = "roles/artifactregistry.reader"
GCP_SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
GCP_SCOPE_CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"

# --- Azure ----------------------------------------------------------------------------------------
# (the SDK has Enum classes for these; the strings are what the mocks and policies see)
AZURE_PRIORITY_SPOT = "Spot"
AZURE_PRIORITY_REGULAR = "Regular"
# Deallocated spot VMs still count against quota and serve nothing; a scale set recreates.
AZURE_EVICTION_POLICY = "Delete"
AZURE_SPOT_MAX_PRICE = -1.0                 # pay up to on-demand: never evicted for price
AZURE_UPGRADE_MODE = "Rolling"
AZURE_ORCHESTRATION_MODE = "Uniform"
AZURE_OS_DISK_TYPE = "Premium_LRS"
AZURE_OS_DISK_TYPE_NO_PREMIUM = "StandardSSD_LRS"
AZURE_LB_SKU = "Standard"
AZURE_SECURITY_TYPE_CONFIDENTIAL = "ConfidentialVM"
AZURE_SECURITY_TYPE_TRUSTED_LAUNCH = "TrustedLaunch"
AZURE_KEY_VAULT_SERVICE_ENDPOINT = "Microsoft.KeyVault"
AZURE_KEY_VAULT_DEFAULT_ACTION = "Deny"
AZURE_KEY_VAULT_BYPASS = "None"           # not even "trusted Microsoft services"
AZURE_CVM_DISK_ENCRYPTION = "VMGuestStateOnly"
AZURE_SCALE_METRIC = "Percentage CPU"
AZURE_KEY_VAULT_SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"  # built-in role id
AZURE_GPU_EXTENSION_PUBLISHER = "Microsoft.HpcCompute"
AZURE_GPU_EXTENSION_TYPE = "NvidiaGpuDriverLinux"
AZURE_GPU_EXTENSION_VERSION = "1.6"
AZURE_MONITOR_AGENT_PUBLISHER = "Microsoft.Azure.Monitor"
AZURE_MONITOR_AGENT_TYPE = "AzureMonitorLinuxAgent"
AZURE_MONITOR_AGENT_VERSION = "1.0"
