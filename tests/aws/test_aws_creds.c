/*
 * Every credential source, against fake_aws.py standing in for STS, IMDSv2 and the container
 * credentials endpoint (the server verifies each signature with botocore, including those made
 * with the temporary credentials it issued): environment, shared files with profiles,
 * role_arn + source_profile, credential_process, web identity with the token file re-read on
 * refresh, container credentials with a token file, IMDSv2, refresh before expiry without
 * waiting, spec.roleArn cached per role, and the config file parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_test_util.h"
#include "tt_aws.h"
#include "tt_aws_config_file.h"

static test_server fake;
static struct ev_loop *loop;
static char dir[64];

struct result {
    int done;
    json_t *out;
    tt_error err;
};

static void on_done(void *ud, json_t *output, const tt_error *err)
{
    struct result *r = ud;
    r->done = 1;
    if (err != NULL)
        r->err = *err;
    else
        r->out = json_incref(output);
}

static const char *const aws_vars[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
};

/* A clean environment: no credentials anywhere, STS and services on the fake server. */
static int fresh(void **state)
{
    char path[128];
    (void)state;
    for (size_t i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++)
        unsetenv(aws_vars[i]);
    setenv("AWS_ENDPOINT_URL", fake.endpoint, 1);
    setenv("AWS_REGION", "us-west-2", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    snprintf(path, sizeof(path), "%s/none", dir);
    setenv("AWS_CONFIG_FILE", path, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    test_post(fake.endpoint, "/_fake/reset", "{}");
    return 0;
}

static void write_file(const char *name, const char *text, char *path_out, size_t cap)
{
    snprintf(path_out, cap, "%s/%s", dir, name);
    FILE *f = fopen(path_out, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* GetCallerIdentity through a fresh client; returns the call's code. */
static int caller_identity(tt_aws *aws, const char *role_arn, struct result *r)
{
    tt_aws_req req = {"sts", "GetCallerIdentity", NULL, role_arn, NULL};
    tt_error err;
    memset(r, 0, sizeof(*r));
    int rc = tt_aws_call(aws, &req, on_done, r, &err);
    if (rc != TT_OK) {
        r->err = err;
        return rc;
    }
    assert_true(test_run_until(loop, &r->done, 10));
    return r->out != NULL ? TT_OK : r->err.code;
}

static tt_aws *client(void)
{
    tt_error err;
    tt_aws *aws = tt_aws_create(loop, NULL, &err);
    if (aws == NULL)
        fail_msg("tt_aws_create: %s", err.message);
    return aws;
}

/* The Authorization header's access key of the last logged request matching `path_part`. */
static int count_requests(const char *needle)
{
    json_t *log = test_http_json(fake.endpoint, "/_fake/log", NULL);
    size_t i;
    json_t *e;
    int n = 0;
    json_array_foreach(log, i, e)
    {
        char *text = json_dumps(e, 0);
        if (text != NULL && strstr(text, needle) != NULL)
            n++;
        free(text);
    }
    json_decref(log);
    return n;
}

static void environment_variables(void **state)
{
    struct result r;
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_SESSION_TOKEN", "envsessiontoken", 1);
    tt_aws *aws = client();
    assert_string_equal(tt_aws_credentials_source(aws), "environment");
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    assert_int_equal(count_requests("\"X-Amz-Security-Token\": \"envsessiontoken\""), 1);
    assert_int_equal(count_requests("Credential=AKIDEXAMPLE/"), 1);
    json_decref(r.out);
    tt_aws_destroy(aws);
}

static void shared_files_and_profiles(void **state)
{
    char cfg[128], creds[128];
    struct result r;
    (void)state;
    write_file("config",
               "# comment\n[default]\nregion = eu-west-1\n\n[profile dev]\nregion = ap-south-1\n"
               "s3 =\n  max_concurrent_requests = 4\n[sso-session x]\nregion = nope\n",
               cfg, sizeof(cfg));
    write_file("credentials",
               "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = nope\n"
               "[dev]\naws_access_key_id=AKIDEXAMPLE\naws_secret_access_key = "
               "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY ; comment\n",
               creds, sizeof(creds));
    setenv("AWS_CONFIG_FILE", cfg, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
    setenv("AWS_PROFILE", "dev", 1);
    unsetenv("AWS_REGION");
    tt_aws *aws = client();
    assert_string_equal(tt_aws_credentials_source(aws), "profile dev");
    assert_string_equal(tt_aws_region(aws), "ap-south-1");
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    assert_int_equal(count_requests("/ap-south-1/sts/aws4_request"), 1);
    json_decref(r.out);
    tt_aws_destroy(aws);

    /* A named profile that does not exist is an error, not a silent fallback. */
    setenv("AWS_PROFILE", "missing", 1);
    setenv("AWS_REGION", "us-west-2", 1);
    aws = client();
    assert_int_equal(caller_identity(aws, NULL, &r), TT_ECREDENTIALS);
    assert_non_null(strstr(r.err.message, "missing"));
    tt_aws_destroy(aws);
}

static void role_arn_with_source_profile(void **state)
{
    char cfg[128];
    struct result r;
    (void)state;
    write_file("config-role",
               "[profile base]\naws_access_key_id = AKIDEXAMPLE\n"
               "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"
               "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\n"
               "source_profile = base\nexternal_id = ext-42\nrole_session_name = sess\n",
               cfg, sizeof(cfg));
    setenv("AWS_CONFIG_FILE", cfg, 1);
    setenv("AWS_PROFILE", "ops", 1);
    tt_aws *aws = client();
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    /* One AssumeRole, signed with the base keys; both calls signed with the role's keys. */
    assert_int_equal(count_requests("Action=AssumeRole&"), 1);
    assert_int_equal(count_requests("ExternalId=ext-42"), 1);
    assert_int_equal(count_requests("RoleSessionName=sess"), 1);
    assert_int_equal(count_requests("Credential=ASIATEMP"), 2);
    tt_aws_destroy(aws);
}

static void credential_process(void **state)
{
    char cfg[128], script[128], text[512];
    struct result r;
    (void)state;
    write_file("creds.sh",
               "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDEXAMPLE\", "
               "\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\", "
               "\"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
               script, sizeof(script));
    snprintf(text, sizeof(text), "[default]\ncredential_process = sh %s\n", script);
    write_file("config-process", text, cfg, sizeof(cfg));
    setenv("AWS_CONFIG_FILE", cfg, 1);
    tt_aws *aws = client();
    assert_string_equal(tt_aws_credentials_source(aws), "credential_process");
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    tt_aws_destroy(aws);

    /* A failing process is a clean error. */
    write_file("config-process-bad", "[default]\ncredential_process = sh -c 'exit 3'\n", cfg,
               sizeof(cfg));
    setenv("AWS_CONFIG_FILE", cfg, 1);
    aws = client();
    assert_int_equal(caller_identity(aws, NULL, &r), TT_ECREDENTIALS);
    assert_non_null(strstr(r.err.message, "exit status 3"));
    tt_aws_destroy(aws);
}

static void web_identity_rereads_token(void **state)
{
    char token[128];
    struct result r;
    (void)state;
    write_file("token", "first-token\n", token, sizeof(token));
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    /* Issued credentials expire in 200 s: inside the 5-minute advisory window. */
    test_post(fake.endpoint, "/_fake/creds", "{\"expiration_in\": 200}");
    tt_aws *aws = client();
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    assert_int_equal(count_requests("WebIdentityToken=first-token"), 1);
    assert_int_equal(count_requests("Action=AssumeRoleWithWebIdentity"), 1);
    /* AssumeRoleWithWebIdentity is unsigned. */
    assert_int_equal(count_requests("AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn"), 1);
    write_file("token", "second-token\n", token, sizeof(token));
    /* The next call goes out at once with the current keys and refreshes in the background. */
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    int settled = 0;
    test_run_until(loop, &settled, 0.5);
    assert_int_equal(count_requests("WebIdentityToken=second-token"), 1);
    tt_aws_destroy(aws);
}

static void container_credentials(void **state)
{
    char token[128], url[256];
    struct result r;
    (void)state;
    write_file("container-token", "container-token\n", token, sizeof(token));
    snprintf(url, sizeof(url), "%s/container-creds", fake.endpoint);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token, 1);
    tt_aws *aws = client();
    assert_string_equal(tt_aws_credentials_source(aws), "container credentials");
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    assert_int_equal(count_requests("\"Authorization\": \"container-token\""), 1);
    tt_aws_destroy(aws);

    /* A wrong token: the endpoint refuses and the call fails cleanly. */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    aws = client();
    assert_int_equal(caller_identity(aws, NULL, &r), TT_ECREDENTIALS);
    assert_non_null(strstr(r.err.message, "HTTP 401"));
    tt_aws_destroy(aws);

    /* Plain http to a non-container host is refused, as the SDKs do. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://198.51.100.7/creds", 1);
    aws = client();
    assert_int_equal(caller_identity(aws, NULL, &r), TT_ECREDENTIALS);
    tt_aws_destroy(aws);
}

static void imds_v2_and_refresh(void **state)
{
    struct result r;
    (void)state;
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.endpoint, 1);
    test_post(fake.endpoint, "/_fake/creds", "{\"expiration_in\": 240}");
    tt_aws *aws = client();
    assert_string_equal(tt_aws_credentials_source(aws), "EC2 instance metadata");
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    assert_int_equal(count_requests("\"path\": \"/latest/api/token\""), 1);
    assert_int_equal(count_requests("\"X-aws-ec2-metadata-token\": \"imds-token-123\""), 2);
    assert_int_equal(count_requests("security-credentials/trimtab-node-role"), 1);
    /* Expiring in 240 s: the next call refreshes in the background. */
    test_post(fake.endpoint, "/_fake/creds", "{\"expiration_in\": 3600}");
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    int settled = 0;
    test_run_until(loop, &settled, 0.5);
    assert_int_equal(count_requests("security-credentials/trimtab-node-role"), 2);
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    test_run_until(loop, &settled, 0.2);
    assert_int_equal(count_requests("security-credentials/trimtab-node-role"), 2);
    tt_aws_destroy(aws);
}

static void spec_role_arn_cached_per_role(void **state)
{
    struct result r;
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    tt_aws *aws = client();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(caller_identity(aws, "arn:aws:iam::111111111111:role/a", &r), TT_OK);
        json_decref(r.out);
    }
    assert_int_equal(caller_identity(aws, "arn:aws:iam::222222222222:role/b", &r), TT_OK);
    json_decref(r.out);
    assert_int_equal(caller_identity(aws, NULL, &r), TT_OK);
    json_decref(r.out);
    assert_int_equal(count_requests("Action=AssumeRole&"), 2);
    assert_int_equal(count_requests("role%2Fa"), 1);
    assert_int_equal(count_requests("Credential=AKIDEXAMPLE/"), 3); /* 2 AssumeRole + 1 plain */
    tt_aws_destroy(aws);
}

static void no_credentials_at_all(void **state)
{
    struct result r;
    tt_error err;
    (void)state;
    tt_aws *aws = client();
    tt_aws_req req = {"sts", "GetCallerIdentity", NULL, NULL, NULL};
    memset(&r, 0, sizeof(r));
    assert_int_equal(tt_aws_call(aws, &req, on_done, &r, &err), TT_ECREDENTIALS);
    assert_non_null(strstr(err.message, "no AWS credentials"));
    int never = 0;
    test_run_until(loop, &never, 0.05);
    assert_int_equal(r.done, 0); /* the callback rule */
    tt_aws_destroy(aws);
}

static void config_parser(void **state)
{
    (void)state;
    json_t *all = json_object();
    assert_int_equal(tt_aws_config_parse("[profile a]\nregion=us-east-1 # c\nx = y=z\n"
                                         "[b]\nregion = no\n[default]\nk = v\n",
                                         1, all),
                     0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(all, "a"), "region")),
                        "us-east-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(all, "a"), "x")), "y=z");
    assert_null(json_object_get(all, "b")); /* config sections need "profile " */
    assert_string_equal(json_string_value(json_object_get(json_object_get(all, "default"), "k")),
                        "v");
    assert_int_equal(tt_aws_config_parse("[b]\nregion = yes\n", 0, all), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(all, "b"), "region")),
                        "yes");
    json_decref(all);
}

static int setup_group(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tt_creds_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    loop = ev_loop_new(EVFLAG_AUTO);
    return test_server_start(&fake, "tests/aws/fake_aws.py", NULL);
}

static int teardown_group(void **state)
{
    char cmd[128];
    (void)state;
    test_server_stop(&fake);
    ev_loop_destroy(loop);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(environment_variables, fresh),
        cmocka_unit_test_setup(shared_files_and_profiles, fresh),
        cmocka_unit_test_setup(role_arn_with_source_profile, fresh),
        cmocka_unit_test_setup(credential_process, fresh),
        cmocka_unit_test_setup(web_identity_rereads_token, fresh),
        cmocka_unit_test_setup(container_credentials, fresh),
        cmocka_unit_test_setup(imds_v2_and_refresh, fresh),
        cmocka_unit_test_setup(spec_role_arn_cached_per_role, fresh),
        cmocka_unit_test_setup(no_credentials_at_all, fresh),
        cmocka_unit_test(config_parser),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
