# The dialer's IAM documents as AWS receives them: the real provider renders
# aws_iam_policy_document locally (configured offline, plan runs only, the caller identity
# overridden), and every ARN in them is known at plan time. Each function's policy is compared
# statement by statement (actions and resources as sets: the provider may reorder them).
# No statement may use a "*" resource unless every action in it accepts no resource.

provider "aws" {
  region                      = "eu-west-2"
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  connect_instance_id     = "11111111-2222-3333-4444-555555555555"
  connect_contact_flow_id = "66666666-7777-8888-9999-000000000000"
  connect_queue_id        = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
  # A given key keeps load-list's document known at plan (a key the module creates has its
  # ARN after apply; tests/dialer.tftest.hcl checks that wiring).
  contact_key_kms_key_arn = "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
}

run "least_privilege_defaults" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["load-list"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      ReadConfiguration   = { e = "Allow", a = toset(["ssm:GetParameter"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/isocountrycode"]) }
      ReadUploadedLists   = { e = "Allow", a = toset(["s3:GetObject"]), r = toset(["arn:aws:s3:::blaster-input-123456789012-eu-west-2/*"]) }
      WriteRejectedRows   = { e = "Allow", a = toset(["s3:PutObject", "s3:AbortMultipartUpload"]), r = toset(["arn:aws:s3:::blaster-results-123456789012-eu-west-2/rejects/*"]) }
      AdmitContacts       = { e = "Allow", a = toset(["dynamodb:PutItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      CountQueuedRecords  = { e = "Allow", a = toset(["ssm:GetParameter", "ssm:PutParameter"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/totalRecords"]) }
      StartCampaign       = { e = "Allow", a = toset(["states:StartExecution"]), r = toset(["arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"]) }
      DeriveContactKeys   = { e = "Allow", a = toset(["kms:GenerateMac"]), r = toset(["arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"]) }
      ContinueBigFiles    = { e = "Allow", a = toset(["lambda:InvokeFunction"]), r = toset(["arn:aws:lambda:eu-west-2:123456789012:function:blaster-load-list"]) }
      ReadDialerCapacity  = { e = "Allow", a = toset(["ssm:GetParameters"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/concurrentcalls", "arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/callspersecond"]) }
      WritePlansAndFinals = { e = "Allow", a = toset(["s3:PutObject"]), r = toset(["arn:aws:s3:::blaster-results-123456789012-eu-west-2/plans/*", "arn:aws:s3:::blaster-results-123456789012-eu-west-2/finals/*"]) }
      CheckCallingRules   = { e = "Allow", a = toset(["dynamodb:BatchGetItem", "dynamodb:GetItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
    }
    error_message = "load-list's policy: ${output.policy_documents["load-list"]}"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["get-config"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      ReadConfiguration      = { e = "Allow", a = toset(["ssm:GetParametersByPath"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster", "arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/*"]) }
      RecordDialIndex        = { e = "Allow", a = toset(["ssm:GetParameter", "ssm:PutParameter"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/dialIndex"]) }
      ClaimRun               = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:PutItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-activedialing"]) }
      CheckClaimingExecution = { e = "Allow", a = toset(["states:DescribeExecution"]), r = toset(["arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:*"]) }
      FindDueContacts        = { e = "Allow", a = toset(["dynamodb:Query"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger/index/*"]) }
      LeaseContacts          = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      CheckDoNotCall         = { e = "Allow", a = toset(["dynamodb:BatchGetItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      FeedQueue              = { e = "Allow", a = toset(["sqs:SendMessage", "sqs:GetQueueAttributes"]), r = toset(["arn:aws:sqs:eu-west-2:123456789012:blaster-contacts"]) }
      ReconcileOrphanCalls   = { e = "Allow", a = toset(["connect:DescribeContact"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/contact/*"]) }
      RecordOrphanCalls      = { e = "Allow", a = toset(["dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-activedialing"]) }
      WriteFinalRecords      = { e = "Allow", a = toset(["s3:PutObject"]), r = toset(["arn:aws:s3:::blaster-results-123456789012-eu-west-2/results/*", "arn:aws:s3:::blaster-results-123456789012-eu-west-2/finals/*"]) }
    }
    error_message = "get-config's policy: ${output.policy_documents["get-config"]}"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["get-contacts"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      CountContacts         = { e = "Allow", a = toset(["sqs:GetQueueAttributes"]), r = toset(["arn:aws:sqs:eu-west-2:123456789012:blaster-contacts", "arn:aws:sqs:eu-west-2:123456789012:blaster-contacts-dlq"]) }
      FindDueContacts       = { e = "Allow", a = toset(["dynamodb:Query"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger/index/*"]) }
      ReadContacts          = { e = "Allow", a = toset(["dynamodb:GetItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      ReadCampaignSchedules = { e = "Allow", a = toset(["dynamodb:BatchGetItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
    }
    error_message = "get-contacts' policy: ${output.policy_documents["get-contacts"]}"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["dial"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      ReadConfiguration        = { e = "Allow", a = toset(["ssm:GetParameters"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/activeBlaster", "arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/connectid", "arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/contactflow", "arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/queue", "arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/callspersecond"]) }
      TakeContacts             = { e = "Allow", a = toset(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"]), r = toset(["arn:aws:sqs:eu-west-2:123456789012:blaster-contacts"]) }
      RecordDials              = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-activedialing"]) }
      RecordAttempts           = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      CheckDoNotCall           = { e = "Allow", a = toset(["dynamodb:BatchGetItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      PlaceCalls               = { e = "Allow", a = toset(["connect:StartOutboundVoiceContact"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/contact/*"]) }
      CheckQueue               = { e = "Allow", a = toset(["connect:DescribeQueue"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/queue/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]) }
      CheckQueueHours          = { e = "Allow", a = toset(["connect:DescribeHoursOfOperation"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/operating-hours/*"]) }
      CheckEffectiveQueueHours = { e = "Allow", a = toset(["connect:GetEffectiveHoursOfOperations"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555", "arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/operating-hours/*"]) }
      WriteResults             = { e = "Allow", a = toset(["s3:PutObject"]), r = toset(["arn:aws:s3:::blaster-results-123456789012-eu-west-2/results/*", "arn:aws:s3:::blaster-results-123456789012-eu-west-2/rejects/*", "arn:aws:s3:::blaster-results-123456789012-eu-west-2/finals/*"]) }
      CompleteLane             = { e = "Allow", a = toset(["states:SendTaskSuccess"]), r = toset(["*"]) }
      StartNextWave            = { e = "Allow", a = toset(["states:StartExecution"]), r = toset(["arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"]) }
    }
    error_message = "dial's policy: ${output.policy_documents["dial"]}"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["process-contact-events"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      RecordDisconnects = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-activedialing"]) }
      FinishAttempts    = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      WriteResults      = { e = "Allow", a = toset(["s3:PutObject"]), r = toset(["arn:aws:s3:::blaster-results-123456789012-eu-west-2/results/*", "arn:aws:s3:::blaster-results-123456789012-eu-west-2/finals/*"]) }
      CompleteLane      = { e = "Allow", a = toset(["states:SendTaskSuccess"]), r = toset(["*"]) }
    }
    error_message = "process-contact-events' policy: ${output.policy_documents["process-contact-events"]}"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["connect-status"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      ReadConfiguration        = { e = "Allow", a = toset(["ssm:GetParameters"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/connectid", "arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/queue"]) }
      CheckQueue               = { e = "Allow", a = toset(["connect:DescribeQueue"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/queue/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"]) }
      CheckQueueHours          = { e = "Allow", a = toset(["connect:DescribeHoursOfOperation"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/operating-hours/*"]) }
      CheckEffectiveQueueHours = { e = "Allow", a = toset(["connect:GetEffectiveHoursOfOperations"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555", "arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/operating-hours/*"]) }
      ReconcileCalls           = { e = "Allow", a = toset(["connect:DescribeContact"]), r = toset(["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555/contact/*"]) }
      RecordReconciledCalls    = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-activedialing"]) }
      FinishReconciledAttempts = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      WriteResults             = { e = "Allow", a = toset(["s3:PutObject"]), r = toset(["arn:aws:s3:::blaster-results-123456789012-eu-west-2/results/*", "arn:aws:s3:::blaster-results-123456789012-eu-west-2/finals/*"]) }
    }
    error_message = "connect-status' policy: ${output.policy_documents["connect-status"]}"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["set-disposition"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      RecordDispositions = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-activedialing"]) }
      ScheduleCallbacks  = { e = "Allow", a = toset(["dynamodb:UpdateItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      ListDoNotCall      = { e = "Allow", a = toset(["dynamodb:GetItem", "dynamodb:PutItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"]) }
      RewriteResults     = { e = "Allow", a = toset(["s3:PutObject"]), r = toset(["arn:aws:s3:::blaster-results-123456789012-eu-west-2/results/*"]) }
    }
    error_message = "set-disposition's policy: ${output.policy_documents["set-disposition"]}"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["state-machine"]).Statement : s.Sid => { e = s.Effect, a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      } == {
      InvokeDialerFunctions = { e = "Allow", a = toset(["lambda:InvokeFunction"]), r = toset(flatten([
        for f in ["get-config", "get-contacts", "dial", "connect-status"] : [
          "arn:aws:lambda:eu-west-2:123456789012:function:blaster-${f}",
          "arn:aws:lambda:eu-west-2:123456789012:function:blaster-${f}:*",
        ]
      ])) }
      ContinueAsNew = { e = "Allow", a = toset(["states:StartExecution"]), r = toset(["arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"]) }
      ReleaseRun    = { e = "Allow", a = toset(["dynamodb:DeleteItem"]), r = toset(["arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-activedialing"]) }
      DeliverLogs = { e = "Allow", a = toset([
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
      ]), r = toset(["*"]) }
    }
    error_message = "The state machine's policy (inline Map, no tracing): ${output.policy_documents["state-machine"]}"
  }

  assert {
    # "*" only where every action of the statement accepts no resource ARN.
    condition = alltrue(flatten([
      for doc in values(output.policy_documents) : [
        for s in jsondecode(doc).Statement : !contains(flatten([s.Resource]), "*") || alltrue([
          for a in flatten([s.Action]) : contains([
            "states:SendTaskSuccess",
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
            "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
          ], a)
        ])
      ]
    ]))
    error_message = "A statement grants an action that accepts a resource ARN on \"*\"."
  }

  assert {
    condition     = alltrue(flatten([for doc in values(output.policy_documents) : [for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")]]]))
    error_message = "No wildcard actions (s3:*, dynamodb:*): each statement lists the actions it needs."
  }

  assert {
    condition = (
      jsondecode(data.aws_iam_policy_document.state_machine_assume.json).Statement[0].Principal.Service == "states.amazonaws.com" &&
      jsondecode(data.aws_iam_policy_document.state_machine_assume.json).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer" &&
      jsondecode(data.aws_iam_policy_document.state_machine_assume.json).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    )
    error_message = "Only this state machine, in this account, may assume its role: ${data.aws_iam_policy_document.state_machine_assume.json}"
  }

  assert {
    condition = (
      one([for s in jsondecode(data.aws_iam_policy_document.contact_events_dead_letter.json).Statement : s if s.Sid == "EventBridgeDeadLetters"]).Resource == "arn:aws:sqs:eu-west-2:123456789012:blaster-contact-events-dlq" &&
      one([for s in jsondecode(data.aws_iam_policy_document.contact_events_dead_letter.json).Statement : s if s.Sid == "EventBridgeDeadLetters"]).Principal.Service == "events.amazonaws.com" &&
      one([for s in jsondecode(data.aws_iam_policy_document.contact_events_dead_letter.json).Statement : s if s.Sid == "EventBridgeDeadLetters"]).Condition.ArnEquals["aws:SourceArn"] == "arn:aws:events:eu-west-2:123456789012:rule/blaster-contact-disconnected" &&
      one([for s in jsondecode(data.aws_iam_policy_document.activation[0].json).Statement : s if s.Sid == "StartCampaign"]).Resource == "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
    )
    error_message = "EventBridge may only dead-letter into its own queue and start this state machine."
  }

  assert {
    condition = (
      one(jsondecode(data.aws_iam_policy_document.activation_assume[0].json).Statement).Condition.ArnEquals["aws:SourceArn"] == "arn:aws:events:eu-west-2:123456789012:rule/blaster-dialer-activation" &&
      one(jsondecode(data.aws_iam_policy_document.activation_assume[0].json).Statement).Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    )
    error_message = "Only this deployment's activation rule may assume the activation role: ${data.aws_iam_policy_document.activation_assume[0].json}"
  }

  assert {
    # The sweep (runs are disposable): EventBridge may start this state machine, nothing else.
    condition = (
      one(jsondecode(data.aws_iam_policy_document.sweep[0].json).Statement) == {
        Sid      = "StartRun"
        Effect   = "Allow"
        Action   = "states:StartExecution"
        Resource = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
      } &&
      one(jsondecode(data.aws_iam_policy_document.sweep_assume[0].json).Statement).Principal.Service == "events.amazonaws.com" &&
      one(jsondecode(data.aws_iam_policy_document.sweep_assume[0].json).Statement).Condition.ArnEquals["aws:SourceArn"] == "arn:aws:events:eu-west-2:123456789012:rule/blaster-dialer-sweep" &&
      one(jsondecode(data.aws_iam_policy_document.sweep_assume[0].json).Statement).Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    )
    error_message = "Only this deployment's sweep rule may assume the sweep role, and it may only start this state machine: ${data.aws_iam_policy_document.sweep[0].json} ${data.aws_iam_policy_document.sweep_assume[0].json}"
  }

  assert {
    # The ledger is never deleted from: no function, and not the state machine, may DeleteItem on it.
    condition = alltrue(flatten([
      for doc in values(output.policy_documents) : [
        for s in jsondecode(doc).Statement : !contains(flatten([s.Action]), "dynamodb:DeleteItem") || !anytrue([for r in flatten([s.Resource]) : strcontains(r, "campaign-ledger")])
      ]
    ]))
    error_message = "No role may delete ledger items: a contact's item is its history (docs/architecture.md, \"States and transitions\")."
  }
}

run "routing_kms_distributed_tracing" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  variables {
    routing_bucket_name           = "acme-routing"
    routing_object_key            = "caller-id/routing.json"
    kms_key_arn                   = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    max_concurrent_calls          = 100
    state_machine_tracing_enabled = true
    ssm_prefix                    = "/acme/dialer/"
  }

  assert {
    condition = {
      for s in jsondecode(output.policy_documents["dial"]).Statement : s.Sid => { a = toset(flatten([s.Action])), r = toset(flatten([s.Resource])) }
      if contains(["ReadRoutingFile", "UseDataKey", "ReadConfiguration"], s.Sid)
      } == {
      ReadConfiguration = { a = toset(["ssm:GetParameters"]), r = toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/acme/dialer/activeBlaster", "arn:aws:ssm:eu-west-2:123456789012:parameter/acme/dialer/connectid", "arn:aws:ssm:eu-west-2:123456789012:parameter/acme/dialer/contactflow", "arn:aws:ssm:eu-west-2:123456789012:parameter/acme/dialer/queue", "arn:aws:ssm:eu-west-2:123456789012:parameter/acme/dialer/callspersecond"]) }
      ReadRoutingFile   = { a = toset(["s3:GetObject"]), r = toset(["arn:aws:s3:::acme-routing/caller-id/routing.json"]) }
      UseDataKey        = { a = toset(["kms:Decrypt", "kms:GenerateDataKey"]), r = toset(["arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"]) }
    }
    error_message = "dial reads exactly the routing object and uses exactly the given key: ${output.policy_documents["dial"]}"
  }

  assert {
    condition = alltrue([
      for f in ["load-list", "get-config", "dial", "process-contact-events", "connect-status", "set-disposition"] :
      toset(flatten([one([for s in jsondecode(output.policy_documents[f]).Statement : s if s.Sid == "UseDataKey"]).Resource])) == toset(["arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"])
    ])
    error_message = "Every function that writes to a KMS-encrypted bucket or queue may use the given key, and only it."
  }

  assert {
    # get-config feeds the encrypted queue; get-contacts only counts and reads the ledger
    # (DynamoDB table access takes no KMS grant in this module: as for ActiveDialing).
    condition     = !strcontains(output.policy_documents["get-contacts"], "kms:")
    error_message = "Functions that touch no KMS-encrypted payload get no KMS permission."
  }

  assert {
    condition = (
      toset(flatten([one([for s in jsondecode(output.policy_documents["get-config"]).Statement : s if s.Sid == "UseDataKey"]).Action])) == toset(["kms:Decrypt", "kms:GenerateDataKey"])
    )
    error_message = "get-config sends to the encrypted queue: SQS requires kms:GenerateDataKey and kms:Decrypt of a producer: ${output.policy_documents["get-config"]}"
  }

  assert {
    condition = (
      toset(flatten([one([for s in jsondecode(output.policy_documents["state-machine"]).Statement : s if s.Sid == "RunDistributedMapLanes"]).Action])) == toset(["states:DescribeExecution", "states:StopExecution"]) &&
      toset(flatten([one([for s in jsondecode(output.policy_documents["state-machine"]).Statement : s if s.Sid == "RunDistributedMapLanes"]).Resource])) == toset(["arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer:*", "arn:aws:states:eu-west-2:123456789012:execution:blaster-dialer/*"]) &&
      toset(flatten([one([for s in jsondecode(output.policy_documents["state-machine"]).Statement : s if s.Sid == "WriteTraces"]).Action])) == toset(["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"])
    )
    error_message = "A Distributed Map needs DescribeExecution/StopExecution on its own child executions only; tracing needs the X-Ray write actions: ${output.policy_documents["state-machine"]}"
  }
}

run "only_named_writers_upload_contact_lists" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  variables {
    input_bucket_writers = ["arn:aws:iam::123456789012:role/campaign-uploader", "arn:aws:sts::123456789012:assumed-role/campaign-uploader/*"]
  }

  assert {
    condition = one([for s in jsondecode(data.aws_iam_policy_document.bucket["input"].json).Statement : s if s.Sid == "OnlyNamedWritersUpload"]) == {
      Sid       = "OnlyNamedWritersUpload"
      Effect    = "Deny"
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::blaster-input-123456789012-eu-west-2/*"
      Principal = "*"
      Condition = { ArnNotLike = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/campaign-uploader", "arn:aws:sts::123456789012:assumed-role/campaign-uploader/*"] } }
    }
    error_message = "The input bucket must deny uploads by any principal but the named writers: ${data.aws_iam_policy_document.bucket["input"].json}"
  }

  assert {
    condition     = length([for s in jsondecode(data.aws_iam_policy_document.bucket["results"].json).Statement : s if s.Sid == "OnlyNamedWritersUpload"]) == 0
    error_message = "Only the input bucket restricts its writers (the functions write results)."
  }
}

run "without_named_writers_the_input_bucket_only_requires_tls" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  assert {
    condition     = [for s in jsondecode(data.aws_iam_policy_document.bucket["input"].json).Statement : s.Sid] == ["DenyInsecureTransport"]
    error_message = "With no writers named, the input bucket's policy is TLS only."
  }
}

run "writers_must_be_principal_arns" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  variables {
    input_bucket_writers = ["campaign-uploader"]
  }

  expect_failures = [var.input_bucket_writers]
}
