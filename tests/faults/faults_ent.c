/* faults_ent -- stored enterprise states rewritten as if the log held no
 * poison messages (a helper of tests/faults/faults.py, scenario poison).
 *
 * DESIGN: an enterprise state keeps its last decisions with the offset of
 * the message that caused each one (ladder/enterprise.h). Poison messages
 * among the log's rows shift those offsets, so a state decided from the
 * poisoned log differs from the clean reference's only there. This reads
 * "PARTITION USCC HEX" lines (a state as ldr:{pN}:ent holds it under that
 * USCC, hex-encoded) on stdin, maps every history offset o of partition p to o
 * minus the poison messages of p before o, and writes the re-encoded state,
 * hex, one line each. Everything else in the state is decoded and encoded
 * unchanged, so any other difference still shows.
 *
 * Usage: faults_ent POISON_OFFSETS < states; POISON_OFFSETS holds
 * "PARTITION OFFSET" lines. Exit status 0, 1 for a malformed state. */
#include "ladder/buf.h"
#include "ladder/enterprise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTITIONS 1024

static int64_t *poison[MAX_PARTITIONS];
static size_t npoison[MAX_PARTITIONS], cap[MAX_PARTITIONS];

static int64_t clean_offset(int p, int64_t o) {
    size_t n = 0;
    while (n < npoison[p] && poison[p][n] < o)
        n++;
    return o - (int64_t)n;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: faults_ent POISON_OFFSETS < states\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    int p;
    long long o;
    while (fscanf(f, "%d %lld", &p, &o) == 2) {
        if (p < 0 || p >= MAX_PARTITIONS) return 2;
        if (npoison[p] == cap[p]) {
            cap[p] = cap[p] ? 2 * cap[p] : 64;
            poison[p] = realloc(poison[p], cap[p] * sizeof(int64_t));
        }
        poison[p][npoison[p]++] = o;
    }
    fclose(f);
    for (p = 0; p < MAX_PARTITIONS; p++)
        if (npoison[p]) qsort(poison[p], npoison[p], sizeof(int64_t), cmp64);

    static char line[1 << 20];
    unsigned char *bytes = malloc(sizeof(line) / 2);
    ldr_buf_t out;
    ldr_buf_init(&out);
    int rc = 0;
    while (fgets(line, sizeof(line), stdin)) {
        char uscc[19];
        int at = 0;
        if (sscanf(line, "%d %18s %n", &p, uscc, &at) != 2 || !at || p < 0 ||
            p >= MAX_PARTITIONS) {
            rc = 1;
            break;
        }
        /* the USCC matters: a history's first cause is written against it */
        char *hex = line + at;
        size_t len = strcspn(hex, "\r\n") / 2;
        for (size_t i = 0; i < len; i++)
            sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
        ldr_enterprise_t e, src;
        ldr_enterprise_init(&e, uscc, strlen(uscc));
        ldr_enterprise_init(&src, uscc, strlen(uscc));
        if (ldr_enterprise_decode(&e, bytes, len) ||
            ldr_enterprise_decode(&src, bytes, len)) {
            fprintf(stderr, "faults_ent: a state does not decode\n");
            rc = 1;
            break;
        }
        /* The history again, from the copy, with clean offsets. */
        ldr_buf_reset(&e.history);
        e.history_count = 0;
        for (int i = 0; i < src.history_count; i++) {
            ldr_history_entry_t h;
            if (ldr_enterprise_history_get(&src, i, &h)) break;
            h.offset = clean_offset(p, h.offset);
            ldr_enterprise_history_add(&e, &h);
        }
        ldr_buf_reset(&out);
        ldr_enterprise_encode(&e, &out);
        for (size_t i = 0; i < out.len; i++)
            printf("%02x", ((const unsigned char *)out.data)[i]);
        printf("\n");
        ldr_enterprise_fini(&e);
        ldr_enterprise_fini(&src);
    }
    ldr_buf_fini(&out);
    free(bytes);
    for (p = 0; p < MAX_PARTITIONS; p++)
        free(poison[p]);
    return rc;
}
