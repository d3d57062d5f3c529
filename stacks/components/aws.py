"""AWS: an Application Load Balancer in front of an Auto Scaling group of one launch template.

Security shape: the ALB is internal unless the stack asks for a public endpoint; instances
accept traffic only from the ALB's security group and nothing opens SSH (SSM Session
Manager is the way in); IMDSv2 only, one hop (containers cannot reach the instance's
credentials unless roost:aws.allowContainerMetadata); encrypted gp3 root; the instance role
holds no managed policy and can read only the fleet's own image, log group and secrets.
"""
from __future__ import annotations

import base64
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from stacks import naming
from stacks import provider_values as pv
from stacks.components.fleet import ModelFleet
from stacks.components.outputs import FleetOutputs
from stacks.fleet_args import FleetArgs
from stacks.naming import logical_name
from stacks.providers import SharedCache
from stacks.settings import StackSettings
from stacks.userdata import EcrRepository, aws_log_group, ecr_repository, render_boot_script

HTTP_PORT = 80
HTTPS_PORT = 443
# Registries, package repositories, AWS APIs and the secret store are all HTTPS; some
# distribution mirrors still serve plain HTTP.
EGRESS_PORTS = (HTTPS_PORT, HTTP_PORT)
# No AWS managed policy is attached: each one roost used grants more than a fleet needs
# (AmazonSSMManagedInstanceCore reads every SSM parameter, AmazonEC2ContainerRegistryReadOnly
# every repository, CloudWatchAgentServerPolicy writes to every log group). The inline
# statements below are what the boot script and agents actually call (docs/security.md).
SESSION_MANAGER_ACTIONS = ("ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                           "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                           "ssmmessages:OpenDataChannel")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")          # the docker awslogs driver
ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
METRICS_NAMESPACE = "CWAgent"                                         # the CloudWatch agent's default


def runtime_policy(log_group_arn: str, ecr: EcrRepository | None) -> dict[str, Any]:
    """The instance role's permissions besides secrets, each on the narrowest resource AWS allows.

    Session Manager, PutMetricData, DescribeTags and GetAuthorizationToken take no resource
    ARN (AWS supports only "*" for them); the metrics grant is held to one namespace."""
    statements: list[dict[str, Any]] = [
        {"Sid": "SessionManager", "Effect": "Allow", "Action": list(SESSION_MANAGER_ACTIONS), "Resource": "*"},
        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": list(LOG_ACTIONS),
         "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"]},
        {"Sid": "Metrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}},
        {"Sid": "MetricDimensions", "Effect": "Allow", "Action": ["ec2:DescribeTags"], "Resource": "*"},
    ]
    if ecr is not None:
        statements += [
            {"Sid": "RegistryLogin", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {"Sid": "PullOwnImage", "Effect": "Allow", "Action": list(ECR_PULL_ACTIONS), "Resource": ecr.arn},
        ]
    return {"Version": "2012-10-17", "Statement": statements}


class _Network:
    def __init__(self, vpc_id: pulumi.Input[str], vpc_cidr: pulumi.Input[str], subnet_ids: pulumi.Input[list[str]]):
        self.vpc_id = vpc_id
        self.vpc_cidr = vpc_cidr
        self.subnet_ids = subnet_ids


def _network(region: str, provider: pulumi.ProviderResource, settings: StackSettings,
             shared: SharedCache) -> _Network:
    def lookup() -> _Network:
        invoke = pulumi.InvokeOutputOptions(provider=provider)
        if settings.aws.vpc_id:
            vpc = aws.ec2.get_vpc_output(id=settings.aws.vpc_id, opts=invoke)
            return _Network(settings.aws.vpc_id, vpc.cidr_block, list(settings.aws.subnet_ids))
        vpc = aws.ec2.get_vpc_output(default=True, opts=invoke)
        subnets = aws.ec2.get_subnets_output(filters=[
            aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc.id]),
            aws.ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"]),
        ], opts=invoke)
        return _Network(vpc.id, vpc.cidr_block, subnets.ids)

    return shared.get(("aws-network", region), lookup)


def _ami(args: FleetArgs, provider: pulumi.ProviderResource) -> pulumi.Input[str]:
    if args.machine_image.startswith("ami-"):
        return args.machine_image
    # Resolved at `pulumi up`, so a new AMI shows in the preview and rolls out by instance refresh.
    return aws.ssm.get_parameter_output(name=args.machine_image,
                                        opts=pulumi.InvokeOutputOptions(provider=provider)).value


class AwsModelFleet(ModelFleet):
    """Security groups, instance identity, launch template, ALB and Auto Scaling group."""

    def _build(self) -> FleetOutputs:
        args = self.fleet_args
        net = _network(args.region, self.provider, self.settings, self.shared)
        lb_sg, instance_sg = self._security_groups(net)
        log_group = aws.cloudwatch.LogGroup(logical_name(args.name, "logs"), name=aws_log_group(args.stack, args.name),
                                            retention_in_days=30, tags=args.tags.aws(), opts=self.child_opts)
        profile = self._identity(log_group)
        launch_template = self._launch_template(instance_sg, profile)
        target_group, load_balancer, listener = self._load_balancer(net, lb_sg)
        group = self._group(net, launch_template, target_group, depends_on=[listener, log_group])
        self._scaling_policy(group, load_balancer, target_group)
        scheme = "https" if self._https else "http"
        return FleetOutputs(endpoint=pulumi.Output.concat(scheme, "://", load_balancer.dns_name),
                            group_name=group.name)

    @property
    def _https(self) -> bool:
        return bool(self.settings.aws.certificate_arn)

    # --- network: clients → load balancer → model port; nothing opens SSH ---

    def _security_groups(self, net: _Network) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        args, opts, tags, n = self.fleet_args, self.child_opts, self.fleet_args.tags.aws(), self.fleet_args.name
        ingress_cidrs = self.settings.aws.ingress_cidrs
        vpc_only = pulumi.Output.from_input(net.vpc_cidr).apply(lambda c: [c])
        client_cidrs: pulumi.Input[list[str]] = list(ingress_cidrs) if ingress_cidrs else (
            ["0.0.0.0/0"] if args.public else vpc_only)
        lb_ports = (HTTPS_PORT, HTTP_PORT) if self._https else (HTTP_PORT,)  # HTTP only redirects when TLS is on
        lb_sg = aws.ec2.SecurityGroup(
            logical_name(n, "lb-sg"),
            name=naming.physical_name(naming.AWS_GENERIC, args.stack, n, "lb"),
            description=f"roost {n}: clients to the load balancer",
            vpc_id=net.vpc_id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=p, to_port=p,
                                                      cidr_blocks=client_cidrs, description="clients")
                     for p in lb_ports],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=args.port, to_port=args.port,
                                                    cidr_blocks=vpc_only, description="to model replicas")],
            tags=tags, opts=opts)
        instance_sg = aws.ec2.SecurityGroup(
            logical_name(n, "instance-sg"),
            name=naming.physical_name(naming.AWS_GENERIC, args.stack, n, "instances"),
            description=f"roost {n}: model port from the load balancer only; no SSH",
            vpc_id=net.vpc_id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=args.port, to_port=args.port,
                                                      security_groups=[lb_sg.id], description="load balancer")],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=p, to_port=p,
                                                    cidr_blocks=["0.0.0.0/0"],
                                                    description="image pulls, packages, AWS APIs")
                    for p in EGRESS_PORTS],
            tags=tags, opts=opts)
        return lb_sg, instance_sg

    # --- identity: Session Manager, its own image, log group and metrics, its own secrets only ---

    def _identity(self, log_group: aws.cloudwatch.LogGroup) -> aws.iam.InstanceProfile:
        args, opts, tags, n = self.fleet_args, self.child_opts, self.fleet_args.tags.aws(), self.fleet_args.name
        role = aws.iam.Role(
            logical_name(n, "role"),
            name=naming.physical_name(naming.AWS_GENERIC, args.stack, n, "instance"),
            description=f"roost {n} serving instances",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            tags=tags, opts=opts)
        ecr = ecr_repository(args.image)
        aws.iam.RolePolicy(logical_name(n, "role-runtime"), role=role.id,
                           policy=log_group.arn.apply(lambda arn: json.dumps(runtime_policy(arn, ecr))), opts=opts)
        secret_arns = self._secrets()
        if secret_arns:
            aws.iam.RolePolicy(
                logical_name(n, "role-secrets"), role=role.id,
                policy=pulumi.Output.all(*secret_arns).apply(lambda arns: json.dumps({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                                   "Resource": sorted(arns)}]})),
                opts=opts)
        return aws.iam.InstanceProfile(logical_name(n, "profile"),
                                       name=naming.physical_name(naming.AWS_GENERIC, args.stack, n, "instance"),
                                       role=role.name, tags=tags, opts=opts)

    def _secrets(self) -> list[pulumi.Input[str]]:
        """The ARNs of the fleet's secrets: referenced ones as given, the rest created here."""
        args, opts, n = self.fleet_args, self.child_opts, self.fleet_args.name
        arns: list[pulumi.Input[str]] = []
        for s in args.secrets:
            if s.ref is not None and s.ref.aws_arn:
                arns.append(s.ref.aws_arn)
                continue
            secret = aws.secretsmanager.Secret(
                logical_name(n, f"secret-{s.name}"),
                name=naming.aws_secret_name(args.stack, n, s.name),
                description=f"roost {n}: {s.name} (read at boot by the fleet's instances)",
                recovery_window_in_days=7, tags=args.tags.aws(), opts=opts)
            if s.has_value:
                aws.secretsmanager.SecretVersion(logical_name(n, f"secret-{s.name}-value"), secret_id=secret.id,
                                                 secret_string=self.settings.secret_values[s.name], opts=opts)
            arns.append(secret.arn)
        return arns

    # --- launch template ---

    def _launch_template(self, instance_sg: aws.ec2.SecurityGroup,
                         profile: aws.iam.InstanceProfile) -> aws.ec2.LaunchTemplate:
        args, tags, n = self.fleet_args, self.fleet_args.tags.aws(), self.fleet_args.name
        user_data = base64.b64encode(render_boot_script(args).encode()).decode()
        return aws.ec2.LaunchTemplate(
            logical_name(n, "lt"),
            name=naming.physical_name(naming.AWS_GENERIC, args.stack, n),
            description=f"roost {n}: {args.image}",
            image_id=_ami(args, self.provider),
            instance_type=args.instance_type,
            update_default_version=True,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            vpc_security_group_ids=[instance_sg.id],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_tokens=pv.AWS_HTTP_TOKENS_REQUIRED, http_endpoint=pv.AWS_HTTP_ENDPOINT_ENABLED,
                http_put_response_hop_limit=pv.AWS_IMDS_HOP_LIMIT_CONTAINERS
                if self.settings.aws.allow_container_metadata else pv.AWS_IMDS_HOP_LIMIT,
                instance_metadata_tags=pv.AWS_INSTANCE_METADATA_TAGS),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=self.settings.aws.root_device_name,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=args.root_disk_gib, volume_type=pv.AWS_VOLUME_TYPE, encrypted="true",
                    delete_on_termination="true"))],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=user_data,
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                                for kind in ("instance", "volume", "network-interface")],
            tags=tags, opts=self.child_opts)

    # --- load balancer ---

    def _load_balancer(self, net: _Network, lb_sg: aws.ec2.SecurityGroup
                       ) -> tuple[aws.lb.TargetGroup, aws.lb.LoadBalancer, aws.lb.Listener]:
        args, opts, tags, n = self.fleet_args, self.child_opts, self.fleet_args.tags.aws(), self.fleet_args.name
        target_group = aws.lb.TargetGroup(
            logical_name(n, "tg"),
            # The port is part of the name: changing it replaces the group without a name clash.
            name=naming.physical_name(naming.AWS_LB, args.stack, n, str(args.port)),
            port=args.port, protocol="HTTP", target_type=pv.AWS_TARGET_TYPE, vpc_id=net.vpc_id,
            deregistration_delay=30, load_balancing_algorithm_type=pv.AWS_LB_ALGORITHM,
            # Set every threshold: the provider's documented defaults differ from AWS's.
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, path=args.health_path, port="traffic-port", protocol="HTTP", matcher="200",
                interval=15, timeout=5, healthy_threshold=2, unhealthy_threshold=3),
            tags=tags, opts=opts)
        load_balancer = aws.lb.LoadBalancer(
            logical_name(n, "alb"),
            name=naming.physical_name(naming.AWS_LB, args.stack, n),
            internal=not args.public, load_balancer_type=pv.AWS_LB_TYPE,
            security_groups=[lb_sg.id], subnets=net.subnet_ids,
            drop_invalid_header_fields=True, idle_timeout=args.request_timeout_seconds,
            tags={**tags, **self.plain_http_tag(self._https)}, opts=opts)
        forward = [aws.lb.ListenerDefaultActionArgs(type=pv.AWS_LISTENER_ACTION_FORWARD,
                                                    target_group_arn=target_group.arn)]
        if not self._https:
            listener = aws.lb.Listener(logical_name(n, "http"), load_balancer_arn=load_balancer.arn, port=HTTP_PORT,
                                       protocol="HTTP", default_actions=forward,
                                       tags={**tags, **self.plain_http_tag(self._https)}, opts=opts)
            return target_group, load_balancer, listener
        listener = aws.lb.Listener(
            logical_name(n, "https"), load_balancer_arn=load_balancer.arn, port=HTTPS_PORT, protocol="HTTPS",
            ssl_policy=pv.AWS_TLS_POLICY, certificate_arn=self.settings.aws.certificate_arn,
            default_actions=forward, tags=tags, opts=opts)
        aws.lb.Listener(
            logical_name(n, "http-redirect"), load_balancer_arn=load_balancer.arn, port=HTTP_PORT, protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type=pv.AWS_LISTENER_ACTION_REDIRECT,
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(port=str(HTTPS_PORT), protocol="HTTPS",
                                                                  status_code="HTTP_301"))],
            tags=tags, opts=opts)
        return target_group, load_balancer, listener

    # --- Auto Scaling group ---

    def _group(self, net: _Network, launch_template: aws.ec2.LaunchTemplate, target_group: aws.lb.TargetGroup,
               depends_on: list[pulumi.Resource]) -> aws.autoscaling.Group:
        args, n = self.fleet_args, self.fleet_args.name
        group_tags = {**args.tags.aws(), **naming.monthly_usd_tag(args.monthly_cost_usd)}
        return aws.autoscaling.Group(
            logical_name(n, "asg"),
            name=naming.physical_name(naming.AWS_GENERIC, args.stack, n),
            min_size=args.min_replicas, max_size=args.max_replicas, desired_capacity=args.replicas,
            vpc_zone_identifiers=net.subnet_ids,
            target_group_arns=[target_group.arn],
            health_check_type=pv.AWS_HEALTH_CHECK_TYPE,
            health_check_grace_period=args.health_grace_seconds,
            default_instance_warmup=args.health_grace_seconds,
            capacity_rebalance=args.is_spot,
            mixed_instances_policy=_mixed_instances(args, launch_template),
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy=pv.AWS_INSTANCE_REFRESH_STRATEGY,
                # Launch before terminate: capacity never drops below what serves the SLO.
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=100, max_healthy_percentage=200,
                    instance_warmup=str(args.health_grace_seconds), auto_rollback=True)),
            tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=k != naming.TAG_MONTHLY_USD)
                  for k, v in group_tags.items()],
            # The scaling policy owns the desired count after creation; `up` must not reset it.
            opts=self.child_options(ignore_changes=["desiredCapacity"], depends_on=depends_on))

    def _scaling_policy(self, group: aws.autoscaling.Group, load_balancer: aws.lb.LoadBalancer,
                        target_group: aws.lb.TargetGroup) -> None:
        args = self.fleet_args
        aws.autoscaling.Policy(
            logical_name(args.name, "scale"),
            autoscaling_group_name=group.name,
            policy_type=pv.AWS_POLICY_TYPE_TARGET_TRACKING,
            estimated_instance_warmup=args.health_grace_seconds,
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                predefined_metric_specification=(
                    aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=pv.AWS_METRIC_REQUESTS_PER_TARGET,
                        resource_label=pulumi.Output.concat(load_balancer.arn_suffix, "/",
                                                            target_group.arn_suffix))),
                # The metric counts requests per target per minute.
                target_value=round(args.target_rps_per_replica * 60, 2)),
            opts=self.child_opts)


def _mixed_instances(args: FleetArgs,
                     launch_template: aws.ec2.LaunchTemplate) -> aws.autoscaling.GroupMixedInstancesPolicyArgs:
    """Spot and on-demand in one group: the planned type first, then its equivalents."""
    return aws.autoscaling.GroupMixedInstancesPolicyArgs(
        instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
            on_demand_base_capacity=args.on_demand_base,
            on_demand_percentage_above_base_capacity=0 if args.is_spot else 100,
            on_demand_allocation_strategy=pv.AWS_ON_DEMAND_ALLOCATION_STRATEGY,
            spot_allocation_strategy=pv.AWS_SPOT_ALLOCATION_STRATEGY),
        launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
            launch_template_specification=(
                aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                    launch_template_id=launch_template.id,
                    # A concrete version, not "$Latest": otherwise instance refresh never starts.
                    version=launch_template.latest_version.apply(str))),
            overrides=[aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                       for t in args.instance_types]))
