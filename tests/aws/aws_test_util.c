#include "aws_test_util.h"

#include <curl/curl.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tt_buf.h"

int test_server_start(test_server *s, const char *script, const char *const *args)
{
    const char *python = getenv("TT_PYTHON");
    int fds[2];
    char *argv[16];
    int n = 0;

    memset(s, 0, sizeof(*s));
    if (python == NULL || python[0] == '\0')
        python = "python3";
    argv[n++] = (char *)python;
    argv[n++] = strdup(test_source_path(script));
    for (const char *const *a = args; a != NULL && *a != NULL && n < 14; a++)
        argv[n++] = (char *)*a;
    argv[n] = NULL;
    if (pipe(fds) != 0)
        return -1;
    s->pid = fork();
    if (s->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(python, argv);
        _exit(127);
    }
    close(fds[1]);
    free(argv[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256] = "";
    if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
        sscanf(line, "endpoint %127s", s->endpoint) != 1) {
        if (f != NULL)
            fclose(f);
        test_server_stop(s);
        return -1;
    }
    fclose(f);
    return 0;
}

void test_server_stop(test_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    tt_buf_append(ud, p, size * n);
    return size * n;
}

json_t *test_http_json(const char *endpoint, const char *path, const char *body)
{
    CURL *e = curl_easy_init();
    tt_buf b;
    char url[512];
    json_error_t jerr;

    tt_buf_init(&b);
    snprintf(url, sizeof(url), "%s%s", endpoint, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (body != NULL)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_perform(e);
    curl_easy_cleanup(e);
    json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
    tt_buf_cleanup(&b);
    return j;
}

void test_post(const char *endpoint, const char *path, const char *body)
{
    json_decref(test_http_json(endpoint, path, body != NULL ? body : "{}"));
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

int test_run_until(struct ev_loop *loop, const int *flag, double seconds)
{
    double end = ev_time() + seconds;
    ev_timer t;
    /* A 10 ms tick bounds each ev_run(ONCE) so the deadline is checked. */
    ev_timer_init(&t, tick, 0.01, 0.01);
    ev_timer_start(loop, &t);
    while (!*flag && ev_time() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
    return *flag;
}

const char *test_source_path(const char *rel)
{
    static char buf[1024];
    const char *src = getenv("TT_SOURCE_DIR");
    snprintf(buf, sizeof(buf), "%s/%s", src != NULL ? src : ".", rel);
    return buf;
}
