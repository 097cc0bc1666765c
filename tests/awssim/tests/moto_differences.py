"""Every known difference between awssim's and moto's answers to test_moto.py's scenario, with
the reason. This is the one place they are listed (README.md points here).

Keys are (step label pattern, path pattern), matched with fnmatch; list indexes in paths are
written "[]". A path pattern "" means the step's outcome (error code or HTTP status). Each
reason says which side follows AWS, by the API reference or the service model:

  MOTO BUG      moto contradicts the API reference or the model; awssim follows it.
  MOTO OMITS    AWS returns the member (documented in the API reference); moto leaves it out.
  MOTO ADDS     moto returns a member AWS does not send in this situation (mostly empty lists
                and legacy fields).
  NO TIME       moto applies changes at once; AWS (and awssim) go through a transitional state.
  DEFAULT       a default value that AWS picks at creation and the API reference does not fix
                (engine versions, maintenance windows, ...); both answers are valid AWS answers.
  UNVERIFIED    the reference does not settle it; awssim's choice is explained.
"""

KNOWN_MOTO_DIFFERENCES = {
    # ---- ECS -----------------------------------------------------------------------------
    ('ecs.*', '*createdAt'): 'MOTO OMITS: createdAt is part of every Service AWS returns.',
    ('ecs.*', '*createdBy'): 'MOTO OMITS: createdBy (the principal that created the service).',
    ('ecs.*', '*deploymentConfiguration'): 'MOTO OMITS: AWS returns the deployment configuration '
                                           '(circuit breaker, 200/100 percent) with its defaults.',
    ('ecs.*', '*enableECSManagedTags'): 'MOTO OMITS: a boolean AWS always reports.',
    ('ecs.*', '*enableExecuteCommand'): 'MOTO OMITS: a boolean AWS always reports.',
    ('ecs.*', '*placementConstraints'): 'MOTO OMITS: AWS reports the (empty) placement lists.',
    ('ecs.*', '*placementStrategy'): 'MOTO OMITS: AWS reports the (empty) placement lists.',
    ('ecs.*', '*taskSets'): 'MOTO ADDS: taskSets belong to EXTERNAL/CODE_DEPLOY deployment '
                            'controllers; a service with the ECS controller has none.',
    ('ecs.*', '*networkConfiguration'): 'MOTO ADDS: an empty networkConfiguration for a service '
                                        'that is not awsvpc.',
    ('ecs.*', '*deployments[].platformFamily'): 'MOTO ADDS: platformFamily is reported for Fargate '
                                                'tasks, not for the EC2 launch type.',
    ('ecs.*', '*pendingCount'): 'UNVERIFIED: moto puts every desired task in PENDING at once; '
                                'awssim reports 0 pending and moves runningCount to desiredCount '
                                'after the "ecs" delay.',
    ('ecs.*', '*runningCount'): 'NO TIME: awssim (run here with zero delays) brings runningCount '
                                'to desiredCount by the next call and keeps the old count while an '
                                'update converges; moto never starts a task (runningCount stays 0).',
    ('ecs.*', '*rolloutState'): 'NO TIME: the deployment completes in awssim; moto leaves it '
                                'IN_PROGRESS forever.',
    ('ecs.*', '*.events'): 'NO TIME: awssim records the steady-state event AWS emits when the '
                           'deployment completes; moto emits no events.',
    ('ecs.update-service', 'service.deployments[].desiredCount'): 'MOTO BUG: the PRIMARY deployment '
                                                                  'keeps the old desiredCount after '
                                                                  'UpdateService.',
    ('ecs.update-service', 'service.tags'): 'MOTO ADDS: tags are only returned by DescribeServices '
                                            'with include=TAGS.',
    ('ecs.describe-services', 'failures[].arn'): 'MOTO BUG: the ARN of a missing service is '
                                                 'reported without its cluster (the old ARN '
                                                 'format); AWS uses service/<cluster>/<name>.',
    ('ecs.create-cluster', 'cluster.*'): 'MOTO OMITS: statistics, tags, capacityProviders and '
                                         'defaultCapacityProviderStrategy are in AWS\'s Cluster.',
    ('ecs.register-task-definition', 'tags'): 'MOTO OMITS: RegisterTaskDefinition returns the tags '
                                              'member (empty here).',
    ('ecs.register-task-definition', 'taskDefinition.registered*'): 'MOTO OMITS: registeredAt and '
                                                                    'registeredBy.',
    ('ecs.register-task-definition', 'taskDefinition.requiresAttributes'): 'MOTO OMITS: AWS lists '
                                                                           'the required attributes.',
    ('ecs.register-task-definition', 'taskDefinition.containerDefinitions[].cpu'): 'MOTO ADDS: cpu 0 '
                                                                                   'that was never set.',
    ('ecs.register-task-definition', 'taskDefinition.networkMode'): 'MOTO ADDS: networkMode was not '
                                                                    'given; AWS leaves it out.',

    # ---- Application Auto Scaling -------------------------------------------------------
    ('aas.describe-targets*', 'ScalableTargets[].RoleARN'): 'MOTO OMITS: RoleARN is a required '
                                                           'member of ScalableTarget (the '
                                                           'service-linked role).',
    ('aas.describe-targets*', 'ScalableTargets[].SuspendedState'): 'MOTO OMITS: AWS reports the '
                                                                  'three suspension flags.',
    ('aas.put-step-policy', 'Alarms'): 'MOTO ADDS: a step scaling policy has no alarms of its own; '
                                       'the reference examples return only PolicyARN.',
    ('aas.describe-policies.by-name', 'ScalingPolicies'): 'MOTO BUG: DescribeScalingPolicies '
                                                          'ignores PolicyNames.',
    ('aas.delete-policy.missing', ''): 'MOTO BUG: a missing policy is ObjectNotFoundException in '
                                       'the reference; moto answers ValidationException.',
    ('aas.describe-activities', ''): 'MOTO BUG: DescribeScalingActivities is not implemented (HTTP '
                                     '500).',
    ('aas.register-elasticache', ''): 'MOTO BUG: the elasticache namespace and its dimensions are '
                                      'rejected (ValidationException) although the model lists them.',
    ('aas.describe-after-deregister', 'ScalingPolicies'): 'MOTO BUG: DeregisterScalableTarget must '
                                                          'delete the target\'s scaling policies '
                                                          '(API reference); moto keeps them.',
    ('aas.tag', ''): 'MOTO BUG: TagResource is not implemented for Application Auto Scaling '
                     '(HTTP 500); trimtab\'s ownership tag cannot be written (the e2e moto suite '
                     'says so and works around it).',
    ('aas.list-tags', ''): 'MOTO BUG: ListTagsForResource is not implemented for Application '
                           'Auto Scaling (HTTP 500).',
    ('aas.put-predictive-policy', ''): 'MOTO BUG: PolicyType PredictiveScaling is in the model\'s '
                                       'enum and supported for ECS services; moto rejects it '
                                       '(ValidationException), so no predictive policy exists.',
    ('aas.describe-policies.predictive', 'ScalingPolicies*'): 'MOTO BUG: the consequence of the '
                                                              'above: moto holds no predictive '
                                                              'policy, and as it ignores '
                                                              'PolicyNames it answers the '
                                                              'target-tracking policy instead.',
    ('aas.get-forecast', ''): 'MOTO BUG: GetPredictiveScalingForecast is not implemented (HTTP '
                              '500); awssim answers its deterministic hourly forecast.',

    # ---- RDS ----------------------------------------------------------------------------
    ('rds.*-instance', '*DBInstanceStatus'): 'NO TIME: AWS creates an instance in "creating"; moto '
                                             'is "available" at once.',
    ('rds.modify-instance', 'DBInstance.DBInstanceClass'): 'MOTO BUG: with ApplyImmediately=false '
                                                           'the new class must wait in '
                                                           'PendingModifiedValues for the maintenance '
                                                           'window; moto applies it at once.',
    ('rds.describe-after-modify', 'DBInstances[].DBInstanceClass'): 'MOTO BUG: same.',
    ('rds.modify-waits-for-maintenance', '*'): 'MOTO BUG: same (class and PendingModifiedValues).',
    ('rds.*', '*EngineVersion'): 'DEFAULT: the default engine version (moto uses PostgreSQL 9.3, '
                                 'long retired by AWS).',
    ('rds.*', '*DBParameterGroupName'): 'DEFAULT: follows the engine version.',
    ('rds.*', '*OptionGroupName'): 'DEFAULT: follows the engine version.',
    ('rds.*', '*DBClusterParameterGroup'): 'DEFAULT: follows the engine version.',
    ('rds.*', '*Preferred*Window'): 'DEFAULT: AWS picks windows at random per region.',
    ('rds.*', '*CACertificateIdentifier'): 'DEFAULT: rds-ca-rsa2048-g1 is AWS\'s current default '
                                           'CA; "rds-ca-default" is moto\'s placeholder.',
    ('rds.*', '*LicenseModel'): 'MOTO BUG: PostgreSQL\'s license model is postgresql-license.',
    ('rds.*-instance', '*StorageType'): 'MOTO BUG: CreateDBInstance\'s reference: default storage '
                                        'type gp3 (io1 with Iops); moto uses gp2.',
    ('rds.describe-after-modify', '*StorageType'): 'MOTO BUG: same.',
    ('rds.create-cluster', 'DBCluster.StorageType'): 'MOTO BUG: an Aurora cluster\'s storage type '
                                                     'is "aurora"; gp2 is not an Aurora type.',
    ('rds.*', '*DbInstancePort'): 'UNVERIFIED: AWS reports 0 unless the instance port differs from '
                                  'the endpoint port; moto repeats the endpoint port.',
    ('rds.*', '*VpcSecurityGroupId'): 'DEFAULT: a random default security group id.',
    ('rds.*', '*LatestRestorableTime'): 'NO TIME: set once the instance is available (it is '
                                        'still creating here).',
    ('rds.*', '*Endpoint.HostedZoneId'): 'MOTO OMITS: Endpoint has Address, Port and HostedZoneId.',
    ('rds.*', '*EnabledCloudwatchLogsExports'): 'MOTO ADDS: an empty list AWS leaves out.',
    ('rds.*', '*BackupTarget'): 'MOTO OMITS: AWS reports BackupTarget "region".',
    ('rds.*', '*CustomerOwnedIpEnabled'): 'MOTO OMITS: AWS reports it (false).',
    ('rds.*', '*MonitoringInterval'): 'MOTO OMITS: AWS reports 0 when enhanced monitoring is off.',
    ('rds.*', '*NetworkType'): 'MOTO OMITS: AWS reports IPV4.',
    ('rds.*', '*PendingModifiedValues'): 'MOTO OMITS: AWS always includes PendingModifiedValues '
                                         '(empty when nothing is pending).',
    ('rds.*', '*PerformanceInsightsEnabled'): 'MOTO OMITS: AWS reports it (false).',
    ('rds.*', '*PubliclyAccessible'): 'MOTO OMITS (instances) / ADDS (clusters): instances report '
                                      'it; provisioned Aurora clusters do not.',
    ('rds.create-cluster', 'DBCluster.BacktrackWindow'): 'MOTO ADDS: backtracking is an Aurora '
                                                         'MySQL feature; this is PostgreSQL.',
    ('rds.create-cluster', 'DBCluster.GlobalWriteForwardingRequested'): 'MOTO ADDS: only for '
                                                                        'global database members.',
    ('rds.create-cluster', 'DBCluster.KmsKeyId'): 'MOTO ADDS: "default_kms_key_id" for an '
                                                  'unencrypted cluster.',
    ('rds.create-cluster', 'DBCluster.ScalingConfigurationInfo'): 'MOTO ADDS: Serverless v1 only.',

    # ---- ElastiCache -------------------------------------------------------------------
    ('elasticache.create-cluster-mode', '*'): 'MOTO BUG: NumNodeGroups=2 with the cluster.on '
                                              'parameter group is cluster mode enabled (shards, '
                                              'slots, a configuration endpoint); moto creates a '
                                              'cluster-mode-disabled group and numbers the nodes of '
                                              'both shards alike.',
    ('elasticache.create', 'ReplicationGroup.MemberClusters'): 'MOTO BUG: NumCacheClusters=2 '
                                                               'creates one node in moto.',
    ('elasticache.create', 'ReplicationGroup.NodeGroups[].NodeGroupMembers'): 'MOTO BUG: same.',
    ('elasticache.create', '*Status'): 'NO TIME: AWS creates a replication group in "creating".',
    ('elasticache.create', 'ReplicationGroup.SnapshotWindow'): 'MOTO BUG: "05:00-6:00" is not a '
                                                               'valid hh24:mi-hh24:mi window.',
    ('elasticache.create', 'ReplicationGroup.NodeGroups[].ReaderEndpoint'): 'MOTO OMITS: a group '
                                                                            'with replicas and '
                                                                            'cluster mode off has '
                                                                            'a reader endpoint.',
    ('elasticache.create', 'ReplicationGroup.AutoMinorVersionUpgrade'): 'MOTO OMITS.',
    ('elasticache.create', 'ReplicationGroup.PendingModifiedValues'): 'MOTO OMITS.',
    ('elasticache.create', 'ReplicationGroup.UserGroupIds'): 'MOTO ADDS: no RBAC user groups were '
                                                             'given.',

    # ---- Lambda ------------------------------------------------------------------------
    ('lambda.create-function', 'State*'): 'NO TIME: CreateFunction returns State Pending '
                                          '(StateReasonCode Creating); moto says Active.',
    ('lambda.*', 'Layers'): 'MOTO ADDS: an empty Layers list for a function without layers.',
    ('lambda.*', 'LoggingConfig'): 'MOTO OMITS: AWS reports LogFormat and LogGroup.',
    ('lambda.*', 'RevisionId'): 'MOTO OMITS: every FunctionConfiguration has a RevisionId.',

    ('lambda.put-provisioned', ''): 'MOTO BUG: PutProvisionedConcurrencyConfig is not implemented '
                                    '(404).',

    # ---- CloudFront --------------------------------------------------------------------
    ('cloudfront.update.stale-etag', ''): 'MOTO BUG: a stale If-Match must fail with 412 '
                                          'PreconditionFailed; moto accepts it.',
    ('cloudfront.update-changes-etag', 'value'): 'MOTO BUG: the ETag never changes, so a stale '
                                                 'If-Match cannot be detected.',
    ('cloudfront.update', 'Distribution.Status'): 'NO TIME: after an update AWS is InProgress '
                                                  'until deployed; moto is Deployed at once.',
    ('cloudfront.*', '*.Items'): 'MOTO ADDS: empty Items lists next to Quantity 0; AWS leaves '
                                 'Items out when a list is empty.',
    ('cloudfront.*', 'Distribution.AliasICPRecordals'): 'MOTO ADDS: ICP recordals are for China '
                                                        'CNAMEs; none here.',
    ('cloudfront.*', '*DefaultCacheBehavior.ForwardedValues'): 'MOTO ADDS: legacy cache settings '
                                                               'next to a CachePolicyId, which AWS '
                                                               'does not allow together.',
    ('cloudfront.*', '*DefaultCacheBehavior.*TTL'): 'MOTO ADDS: legacy TTLs next to a cache policy.',
    ('cloudfront.*', '*DefaultCacheBehavior.RealtimeLogConfigArn'): 'MOTO ADDS: not configured.',
    ('cloudfront.*', '*DefaultCacheBehavior.Compress'): 'MOTO BUG: Compress defaults to false '
                                                        'when not given.',
    ('cloudfront.*', '*CachedMethods.Items[]'): 'UNVERIFIED: the order of the default cached '
                                                'methods; awssim uses AWS\'s documented HEAD, GET.',
    ('cloudfront.*', '*IsIPV6Enabled'): 'UNVERIFIED: the API default when IsIPV6Enabled is left '
                                        'out; awssim keeps false (not requested).',
    ('cloudfront.*', '*ViewerCertificate.*'): 'MOTO BUG: the default CloudFront certificate is '
                                              'reported with SSLSupportMethod vip and no ACM/IAM '
                                              'fields; moto fills sni-only and empty ARNs.',
    ('cloudfront.*', '*OriginSslProtocols'): 'MOTO ADDS: an empty protocol list (Quantity 0), '
                                             'which AWS would reject as invalid.',
    ('cloudfront.*', '*ContinuousDeploymentPolicyId'): 'MOTO OMITS: AWS reports it (empty).',
    ('cloudfront.*', '*Staging'): 'MOTO OMITS: AWS reports Staging false.',
    ('cloudfront.*', '*OriginAccessControlId'): 'MOTO OMITS: AWS reports it (empty).',

    # ---- CloudWatch --------------------------------------------------------------------
    ('cloudwatch.describe-*', 'MetricAlarms[].StateValue'): 'MOTO BUG: PutMetricAlarm\'s reference: '
                                                            'a new alarm is INSUFFICIENT_DATA; moto '
                                                            'makes it OK.',
    ('cloudwatch.describe-*', 'MetricAlarms[].StateReasonData'): 'MOTO ADDS: "{}" for an alarm that '
                                                                 'was never evaluated.',
    ('cloudwatch.describe-*', 'MetricAlarms[].StateTransitionedTimestamp'): 'MOTO OMITS.',
    ('cloudwatch.describe-*', 'MetricAlarms[].Metrics'): 'MOTO ADDS: an empty Metrics list for an '
                                                         'alarm on a single metric.',
    ('cloudwatch.describe-*', 'CompositeAlarms'): 'UNVERIFIED: without AlarmTypes only metric '
                                                  'alarms are returned (reference); awssim leaves '
                                                  'the composite list out, moto sends it empty.',
    ('cloudwatch.put-composite', ''): 'MOTO BUG: PutCompositeAlarm is not implemented (HTTP 500).',
    ('cloudwatch.describe-composite-only', 'MetricAlarms'): 'MOTO BUG: AlarmTypes is ignored; '
                                                            'metric alarms are returned when only '
                                                            'composite alarms were asked for.',
    ('cloudwatch.describe-paged', '*'): 'MOTO BUG: DescribeAlarms ignores MaxRecords and never '
                                        'returns a NextToken (and still lists the target tracking '
                                        'alarms of the policy it failed to delete, see '
                                        'aas.describe-after-deregister).',

    # ---- Budgets -----------------------------------------------------------------------
    ('budgets.describe', 'Budget.CalculatedSpend.*.Unit'): 'UNVERIFIED: awssim reports spend in the '
                                                           'budget limit\'s unit; moto always USD.',
    ('budgets.describe', 'Budget.CostFilters'): 'MOTO OMITS: AWS returns the (empty) CostFilters.',
    ('budgets.describe-notifications', 'Notifications[].NotificationState'): 'MOTO OMITS: AWS '
                                                                             'reports OK/ALARM.',

    ('budgets.update', ''): 'MOTO BUG: UpdateBudget is not implemented (HTTP 500).',
    ('budgets.*-subscriber*', ''): 'MOTO BUG: CreateSubscriber and DescribeSubscribersForNotification '
                                   'are not implemented (HTTP 500).',

    # ---- Secrets Manager ---------------------------------------------------------------
    ('secrets.describe*', 'PrimaryRegion'): 'MOTO OMITS: DescribeSecret reports the Region the '
                                            'secret is in.',
    ('secrets.rotate-schedule', 'VersionId'): 'MOTO BUG: with RotateImmediately=false nothing is '
                                              'rotated; moto creates an AWSPENDING version.',
    ('secrets.describe-rotation', 'VersionIdsToStages.*'): 'MOTO BUG: the AWSPENDING version left '
                                                           'by that non-rotation.',
    ('secrets.describe-rotation', 'LastRotatedDate'): 'MOTO BUG: the secret was never rotated.',
    ('secrets.describe-rotation', 'NextRotationDate'): 'MOTO OMITS: AWS reports when rotation is '
                                                       'next due.',
    ('secrets.describe-rotation', 'RotationEnabled'): 'MOTO BUG: RotateSecret turns rotation on.',
    ('secrets.describe-rotation', 'RotationRules.*'): 'MOTO BUG: moto drops ScheduleExpression and '
                                                      'Duration and reports AutomaticallyAfterDays 0.',
    ('secrets.list-versions', 'Versions'): 'MOTO BUG: includes the AWSPENDING version above.',
    ('secrets.list-versions', 'NextToken'): 'MOTO BUG: a NextToken on the last page.',
    ('secrets.list-versions', 'Versions[].KmsKeyIds'): 'MOTO OMITS: AWS reports ["DEFAULT"] for the '
                                                       'default key.',
    ('secrets.list-versions', 'Versions[].LastAccessedDate'): 'MOTO ADDS: the secret value was '
                                                              'never read.',
    ('secrets.value-after-rotation', ''): 'MOTO BUG: RotateImmediately with a rotation function '
                                          'moto cannot run leaves the secret without a readable '
                                          'AWSCURRENT value (GetSecretValue: ResourceNotFound).',
    ('secrets.describe.missing', ''): 'MOTO BUG: the model gives ResourceNotFoundException no HTTP '
                                      'status, so AWS sends 400; moto sends 404.',

    # ---- STS ---------------------------------------------------------------------------
    ('sts.identity', 'Arn'): 'MOTO BUG: an IAM user\'s ARN is arn:aws:iam::<account>:user/<name>; '
                             'moto reports arn:aws:sts::...:user/moto.',
    ('sts.assume-role', 'PackedPolicySize'): 'MOTO ADDS: PackedPolicySize is only returned when a '
                                             'session policy was passed.',
}
