/* export: the configured pipeline as a template for the real services.
 *
 * exp_cfn_template turns a configuration (core/config.h) into an AWS CloudFormation template
 * (JSON): the DynamoDB table with its stream, the Kinesis stream, the EventBridge Pipe between
 * them, the Firehose delivery stream with its processors (the builtin dynamodb-cdc becomes a
 * Python Lambda shipped inline), the bucket, the Glue database, classifier and crawler, and one
 * least-privilege IAM role per service principal. Nothing here talks to AWS: the template is
 * what `aws cloudformation deploy` takes. */
#ifndef SP_EXPORT_H
#define SP_EXPORT_H

#include "core/config.h"
#include "core/core.h"

/* The template for cfg (borrowed). Caller owns the result (json_decref). NULL with e set
 * (400 InvalidConfiguration, the message naming section[i].key) when the configuration uses
 * something the AWS services cannot express (a jq processor, ZSTD objects, two Lambdas). */
json_t *exp_cfn_template(const sp_config *cfg, sp_err *e);

/* The Python source of the dynamodb-cdc Lambda handler (index.handler), static. */
const char *exp_cdc_handler_source(void);

#endif
