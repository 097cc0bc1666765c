/*
 * Helpers for the AWS layer's tests: start a helper server as a child process (it prints
 * "endpoint URL" first), talk to its control API with blocking libcurl calls (fine in a test,
 * never in the product), and run a loop until a condition holds.
 */
#ifndef AWS_TEST_UTIL_H
#define AWS_TEST_UTIL_H

#include <jansson.h>
#include <sys/types.h>

struct ev_loop;

typedef struct test_server {
    pid_t pid;
    char endpoint[128]; /* http://127.0.0.1:PORT */
} test_server;

/* Starts `${TT_PYTHON} script args...`; returns 0 when its endpoint line was read. */
int test_server_start(test_server *s, const char *script, const char *const *args);
void test_server_stop(test_server *s);

/* POST (body non-NULL) or GET `path` on the server; returns the parsed JSON answer (new ref). */
json_t *test_http_json(const char *endpoint, const char *path, const char *body);
/* POST a JSON text to path, ignoring the answer. */
void test_post(const char *endpoint, const char *path, const char *body);

/* Runs the loop until *flag is non-zero or `seconds` pass; returns *flag. */
int test_run_until(struct ev_loop *loop, const int *flag, double seconds);

/* The path of a file in the source tree (static buffer). */
const char *test_source_path(const char *rel);

#endif
