/*
 * fuzz_replay — runs a libFuzzer target without libFuzzer, so every build (the ASan one
 * included) exercises the AWS response parsers: each corpus file as is, then ITERATIONS
 * deterministic mutations of them (bit flips, truncations, deletions, duplications, random
 * bytes, splices). Exits non-zero only by crashing, which is the point.
 *
 * Usage: fuzz_replay CORPUS_DIR [ITERATIONS] [SEED]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct seed {
    uint8_t *data;
    size_t len;
};

static size_t mutate(uint8_t *buf, size_t len, size_t cap, const struct seed *other)
{
    int rounds = 1 + (int)(next() % 4);
    for (int r = 0; r < rounds; r++) {
        size_t pos = len > 0 ? next() % len : 0;
        switch (next() % 7) {
        case 0: /* flip a bit */
            if (len > 0)
                buf[pos] ^= (uint8_t)(1u << (next() % 8));
            break;
        case 1: /* truncate */
            len = pos;
            break;
        case 2: { /* delete a range */
            size_t n = len > pos ? next() % (len - pos + 1) : 0;
            memmove(buf + pos, buf + pos + n, len - pos - n);
            len -= n;
            break;
        }
        case 3: { /* duplicate a range */
            size_t n = len > pos ? next() % (len - pos + 1) : 0;
            if (len + n <= cap) {
                memmove(buf + pos + n, buf + pos, len - pos);
                len += n;
            }
            break;
        }
        case 4: /* random byte, often a markup character */
            if (len > 0) {
                static const char special[] = "<>&;\"'{}[]:,/\\0 -.eE9";
                buf[pos] = (next() % 2) ? (uint8_t)special[next() % (sizeof(special) - 1)]
                                        : (uint8_t)next();
            }
            break;
        case 5: { /* splice in part of another seed */
            size_t n = other->len > 0 ? next() % other->len : 0;
            if (pos + n <= cap) {
                memcpy(buf + pos, other->data, n);
                if (pos + n > len)
                    len = pos + n;
            }
            break;
        }
        default: /* keep bytes 0-1 (operation and status) but change them */
            if (len > 1)
                buf[next() % 2] = (uint8_t)next();
            break;
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    struct seed seeds[256];
    size_t nseeds = 0;
    long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    if (argc > 3)
        rng = strtoull(argv[3], NULL, 10) | 1;
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_replay CORPUS_DIR [ITERATIONS] [SEED]\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    struct dirent *e;
    if (d == NULL) {
        perror(argv[1]);
        return 2;
    }
    while ((e = readdir(d)) != NULL && nseeds < 256) {
        char path[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        uint8_t *buf = malloc(1 << 16);
        size_t n = fread(buf, 1, 1 << 16, f);
        fclose(f);
        seeds[nseeds].data = buf;
        seeds[nseeds].len = n;
        nseeds++;
    }
    closedir(d);
    if (nseeds == 0) {
        fprintf(stderr, "fuzz_replay: no seeds in %s\n", argv[1]);
        return 2;
    }
    size_t cap = 1 << 17;
    uint8_t *buf = malloc(cap);
    for (size_t i = 0; i < nseeds; i++)
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
    for (long i = 0; i < iterations; i++) {
        const struct seed *s = &seeds[next() % nseeds];
        memcpy(buf, s->data, s->len);
        size_t len = mutate(buf, s->len, cap, &seeds[next() % nseeds]);
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("fuzz_replay: %zu seeds, %ld mutations, no crash\n", nseeds, iterations);
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i].data);
    free(buf);
    return 0;
}
