/* lambda_fn: the one validated form of a reference to a Lambda function, from a Firehose
 * LambdaArn, a lambda processor in the config file or a stream definition kept on disk. The
 * name it yields is later joined to <data>/delivery/lambda/ to find the handler, so it is the
 * single gate between outside input and code that runs (STYLE rule 13): a reference is either
 * a bare function name, [A-Za-z0-9_-]{1,64} as Lambda allows, or a full
 * arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>] (qualifier $LATEST, a version
 * or an alias, [A-Za-z0-9_-]{1,128}), Lambda's FunctionArn pattern. Nothing else: no dots, no
 * slashes, no paths. */
#ifndef SP_LAMBDA_FN_H
#define SP_LAMBDA_FN_H

#include "core.h"

enum {
    SP_LAMBDA_NAME_MAX = 64,          /* Lambda: function names are 1-64 characters */
    SP_LAMBDA_QUALIFIER_MAX = 128,    /* Lambda: Qualifier is 1-128 characters */
    SP_LAMBDA_ARN_MAX = 256,          /* arn:aws..:lambda:<region>:<12>:function:<64>:<128> */
};

typedef struct sp_lambda_fn {
    char name[SP_LAMBDA_NAME_MAX + 1];
    char qualifier[SP_LAMBDA_QUALIFIER_MAX + 1]; /* "" when the reference has none */
    char arn[SP_LAMBDA_ARN_MAX + 1];             /* the ARN as given; "" for a bare name */
} sp_lambda_fn;

/* Parses ref into out. On failure returns false with e a 400 InvalidArgumentException whose
 * message says what a reference must look like (the value is quoted, cut to a sane length). */
bool sp_lambda_fn_parse(const char *ref, sp_lambda_fn *out, sp_err *e);

#endif
