/* test_cluster.c -- the Redis Cluster router's pure parts (io/cluster.h,
 * io/redis.h): CRC16 and key slots as the Redis Cluster spec defines them,
 * redis.url with seed lists, users and awkward passwords, redis.cluster,
 * and the slot map read from a canned CLUSTER SLOTS reply (parsed by
 * hiredis's own reply reader, as from a socket). No server is needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ladder/cluster.h"
#include "ladder/redis.h"
#include "ladder/store.h"

static char errstr[512];

static void assert_contains(const char *hay, const char *needle) {
    if (!hay || !strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)",
                 needle);
}

static int slot(const char *key) {
    return ldr_cluster_key_slot(key, strlen(key));
}

static void test_cluster_crc16_vectors(void **state) {
    (void)state;
    assert_int_equal(ldr_cluster_crc16("123456789", 9), 0x31C3);
    assert_int_equal(ldr_cluster_crc16("", 0), 0);
}

static void test_cluster_key_slot_known_keys(void **state) {
    (void)state;
    /* CLUSTER KEYSLOT on a Redis 7 server gives the same. */
    assert_int_equal(slot("foo"), 12182);
    assert_int_equal(slot("somekey"), 11058);
    assert_int_equal(slot("hello"), 866);
    assert_int_equal(slot("user1000"), 3443);
}

static void test_cluster_key_slot_hash_tags(void **state) {
    (void)state;
    /* The spec's examples: the tag is between the first '{' and the next
     * '}', and only when not empty. */
    assert_int_equal(slot("{user1000}.following"), 3443);
    assert_int_equal(slot("{user1000}.followers"), 3443);
    assert_int_equal(slot("foo{}{bar}"), 8363);    /* whole key */
    assert_int_equal(slot("foo{{bar}}zap"), 4015); /* tag "{bar" */
    assert_int_equal(slot("foo{bar}{zap}"), 5061); /* tag "bar" */
    assert_int_equal(slot("foo{bar"), slot("foo{bar"));
    assert_int_equal(slot("{bar"), ldr_cluster_crc16("{bar", 4) & 16383);
}

/* The 14-bit bit-reversal of p mod 16384: where partition p's tag aims. */
static int reverse14(int p) {
    int t = 0;
    for (int b = 0; b < 14; b++)
        t |= ((p >> b) & 1) << (13 - b);
    return t;
}

static void test_cluster_store_keys_share_a_slot(void **state) {
    (void)state;
    /* Every key of a partition is in one slot, so the step runs on one
     * node, and that slot lies in the window its placement aims at;
     * ldr:partitions is elsewhere, and that is fine. */
    for (int p = 0; p < 1024; p++) {
        char key[LDR_STORE_KEY_SIZE];
        ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_META);
        int want = slot(key);
        assert_in_range(want, reverse14(p),
                        reverse14(p) + LDR_STORE_PLACE_WINDOW - 1);
        for (int k = 0; k < LDR_STORE_KEY_PARTITIONS; k++) {
            ldr_store_key(key, sizeof(key), p, (ldr_store_key_t)k);
            assert_int_equal(slot(key), want);
            assert_int_equal(ldr_store_key_partition(key, (ldr_store_key_t)k),
                             p);
        }
    }
}

/* Tags computed independently (a Python CRC16-XMODEM by table, not
 * store.c's): the smallest salt whose slot lies in [t, t + 16). */
static void test_cluster_store_tags_are_placed(void **state) {
    (void)state;
    static const struct {
        int p;
        const char *key;
        int slot;
    } want[] = {
        {0, "ldr:{p0.425}:meta", 2},
        {1, "ldr:{p1.1840}:meta", 8202},
        {2, "ldr:{p2.171}:meta", 4096},
        {3, "ldr:{p3.1534}:meta", 12296},
        {5, "ldr:{p5.616}:meta", 10245},
        {7, "ldr:{p7.21}:meta", 14336},
        {12, "ldr:{p12.740}:meta", 3075},
        {31, "ldr:{p31.173}:meta", 15873},
        {255, "ldr:{p255.712}:meta", 16322},
        {1000, "ldr:{p1000.36}:meta", 1535},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char key[LDR_STORE_KEY_SIZE];
        ldr_store_key(key, sizeof(key), want[i].p, LDR_STORE_KEY_META);
        assert_string_equal(key, want[i].key);
        assert_int_equal(slot(key), want[i].slot);
    }
    /* Smallest: no smaller salt of partition 7 hits its window. */
    for (int s = 0; s < 21; s++) {
        char tag[16];
        int n = snprintf(tag, sizeof(tag), "p7.%d", s);
        int sl = ldr_cluster_crc16(tag, (size_t)n) & 16383;
        assert_false(sl >= 14336 && sl < 14336 + LDR_STORE_PLACE_WINDOW);
    }
    /* The old layout's names are not this layout's. */
    assert_int_equal(ldr_store_key_partition("ldr:{p7}:meta", 0), -1);
    assert_int_equal(ldr_store_key_partition("ldr:{p7.22}:meta", 0), -1);
    assert_int_equal(ldr_store_key_partition("ldr:{p7.}:meta", 0), -1);
}

/* The masters' slot ranges as redis-cli --cluster create splits 16384
 * slots over @p masters (its own float arithmetic): first slot of each,
 * then 16384. */
static void even_split(int masters, int *first) {
    float per = 16384 / (float)masters, cursor = 0.0f;
    long start = 0;
    for (int i = 0; i < masters; i++) {
        long last = lroundf(cursor + per - 1);
        if (last > 16384 || i == masters - 1) last = 16383;
        if (last < start) last = start;
        first[i] = (int)start;
        start = last + 1;
        cursor += per;
    }
    first[masters] = 16384;
}

/* For 8, 32, 64 and 256 partitions over 2..6 masters with an even split,
 * the masters' counts differ by no more than rounding forces (0 when the
 * masters divide the partitions, else 1). The distributions are in
 * docs/REDIS-CLUSTER.md. */
static void test_cluster_store_partitions_spread_evenly(void **state) {
    (void)state;
    static const int counts[] = {8, 32, 64, 256};
    for (int masters = 2; masters <= 6; masters++) {
        int first[7];
        even_split(masters, first);
        if (masters == 3) {
            assert_int_equal(first[1], 5461);
            assert_int_equal(first[2], 10923);
        }
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            int per[6] = {0};
            char line[128];
            int len = snprintf(line, sizeof(line),
                               "%d partitions on %d:", counts[c], masters);
            for (int p = 0; p < counts[c]; p++) {
                char key[LDR_STORE_KEY_SIZE];
                ldr_store_key(key, sizeof(key), p, LDR_STORE_KEY_META);
                int sl = slot(key), m = 0;
                while (sl >= first[m + 1])
                    m++;
                per[m]++;
            }
            int lo = per[0], hi = per[0];
            for (int m = 0; m < masters; m++) {
                lo = per[m] < lo ? per[m] : lo;
                hi = per[m] > hi ? per[m] : hi;
                len += snprintf(line + len, sizeof(line) - (size_t)len, " %d",
                                per[m]);
            }
            print_message("%s\n", line);
            assert_int_equal(lo, counts[c] / masters);
            assert_int_equal(hi, (counts[c] + masters - 1) / masters);
        }
    }
}

static ldr_err_t parse(const char *url, ldr_redis_url_t *u) {
    errstr[0] = '\0';
    memset(u, 0, sizeof(*u));
    return ldr_redis_url_parse(url, u, errstr, sizeof(errstr));
}

static void test_cluster_url_one_server(void **state) {
    (void)state;
    ldr_redis_url_t u;
    assert_int_equal(parse("redis://127.0.0.1:6380/3", &u), LDR_OK);
    assert_int_equal(u.nnodes, 1);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.password, "");
    assert_int_equal(parse("redis://localhost", &u), LDR_OK);
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_int_equal(parse("redis://:s3cret@h:1/0", &u), LDR_OK);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "s3cret");
}

static void test_cluster_url_seed_list(void **state) {
    (void)state;
    ldr_redis_url_t u;
    assert_int_equal(parse("redis://h1:7000,h2:7001,10.0.0.3", &u), LDR_OK);
    assert_int_equal(u.nnodes, 3);
    assert_string_equal(u.node[0].host, "h1");
    assert_int_equal(u.node[0].port, 7000);
    assert_string_equal(u.node[1].host, "h2");
    assert_int_equal(u.node[1].port, 7001);
    assert_string_equal(u.node[2].host, "10.0.0.3");
    assert_int_equal(u.node[2].port, 6379);
    assert_string_equal(u.host, "h1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(parse("redis://h1:7000,h2:7001/0", &u), LDR_OK);
    assert_int_equal(u.db, 0);
    char hosts[128];
    ldr_redis_url_hosts(&u, hosts, sizeof(hosts));
    assert_string_equal(hosts, "h1:7000,h2:7001");
}

static void test_cluster_url_user_and_password(void **state) {
    (void)state;
    ldr_redis_url_t u;
    assert_int_equal(parse("redis://ladder:pw@h1:7000,h2:7001", &u), LDR_OK);
    assert_string_equal(u.user, "ladder");
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.nnodes, 2);
    /* A password holding '@', ':' and '/': the userinfo ends at the last
     * '@', the user at the first ':'. */
    assert_int_equal(parse("redis://ops:p@ss:w/rd@@h1:7000,h2:7001/0", &u),
                     LDR_OK);
    assert_string_equal(u.user, "ops");
    assert_string_equal(u.password, "p@ss:w/rd@");
    assert_string_equal(u.node[0].host, "h1");
    assert_int_equal(u.nnodes, 2);
}

static void test_cluster_url_refusals_never_show_the_password(void **state) {
    (void)state;
    ldr_redis_url_t u;
    /* rediss://, one server or a seed list: refused, naming the supported
     * path (a local stunnel in front of the tls-port) and the page that
     * shows it, never the password. */
    static const char *const tls_urls[] = {
        "rediss://u:topsecret@h1:7000",
        "rediss://u:topsecret@h1:7000,h2:7001,h3:7002",
    };
    for (size_t i = 0; i < sizeof(tls_urls) / sizeof(tls_urls[0]); i++) {
        assert_int_equal(parse(tls_urls[i], &u), LDR_ERR_CONFIG);
        assert_contains(errstr, "TLS");
        assert_contains(errstr, "hiredis 0.14");
        assert_contains(errstr, "stunnel");
        assert_contains(errstr, "tls-port");
        assert_contains(errstr, "docs/SECURITY.md");
        assert_null(strstr(errstr, "topsecret"));
        /* It fits the smallest buffer a service hands in (256). */
        assert_true(strlen(errstr) < 256);
    }
    assert_int_equal(parse("redis://u:topsecret@h1:7000,h2:7001/2", &u),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "h1:7000,h2:7001");
    assert_contains(errstr, "database 2");
    assert_null(strstr(errstr, "topsecret"));
    assert_int_equal(parse("redis://u:topsecret@h1:70000", &u), LDR_ERR_CONFIG);
    assert_null(strstr(errstr, "topsecret"));
    assert_int_equal(parse("redis://u:topsecret@h1:1/x", &u), LDR_ERR_CONFIG);
    assert_null(strstr(errstr, "topsecret"));
    assert_int_equal(parse("redis://h1:7000,,h2", &u), LDR_ERR_CONFIG);
    assert_int_equal(parse("redis://", &u), LDR_ERR_CONFIG);
    assert_int_equal(parse("http://h1", &u), LDR_ERR_CONFIG);
    assert_int_equal(parse(NULL, &u), LDR_ERR_CONFIG);
}

static void test_cluster_mode_values(void **state) {
    (void)state;
    ldr_cluster_mode_t m;
    assert_int_equal(ldr_cluster_mode_parse("on", &m, errstr, 512), LDR_OK);
    assert_int_equal(m, LDR_CLUSTER_ON);
    assert_int_equal(ldr_cluster_mode_parse("off", &m, errstr, 512), LDR_OK);
    assert_int_equal(m, LDR_CLUSTER_OFF);
    assert_int_equal(ldr_cluster_mode_parse(NULL, &m, errstr, 512), LDR_OK);
    assert_int_equal(m, LDR_CLUSTER_AUTO);
    assert_int_equal(ldr_cluster_mode_parse("yes", &m, errstr, 512),
                     LDR_ERR_CONFIG);
    assert_contains(errstr, "redis.cluster");
}

/* Parses @p resp with hiredis's reader, as a reply off the wire. */
static redisReply *read_reply(const char *resp) {
    redisReader *rd = redisReaderCreate();
    assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
    void *r = NULL;
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    assert_non_null(r);
    redisReaderFree(rd);
    return r;
}

static void test_cluster_map_from_cluster_slots(void **state) {
    (void)state;
    /* Three masters with one replica each, the first master's range split
     * in two, and a master that does not know its own address (""). */
    static const char resp[] = "*4\r\n"
                               "*4\r\n:0\r\n:5460\r\n"
                               "*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid1\r\n"
                               "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$3\r\nid4\r\n"
                               "*3\r\n:5461\r\n:10922\r\n"
                               "*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$3\r\nid2\r\n"
                               "*3\r\n:10923\r\n:16000\r\n"
                               "*3\r\n$0\r\n\r\n:7002\r\n$3\r\nid3\r\n"
                               "*3\r\n:16001\r\n:16383\r\n"
                               "*3\r\n$0\r\n\r\n:7002\r\n$3\r\nid3\r\n";
    redisReply *r = read_reply(resp);
    static ldr_cluster_map_t m;
    assert_int_equal(ldr_cluster_map_parse(r, "10.1.1.1", &m, errstr, 512),
                     LDR_OK);
    freeReplyObject(r);
    assert_int_equal(m.nnodes, 3);
    assert_string_equal(m.node[0].host, "127.0.0.1");
    assert_int_equal(m.node[0].port, 7000);
    assert_int_equal(m.node[1].port, 7001);
    assert_string_equal(m.node[2].host, "10.1.1.1");
    assert_int_equal(m.node[2].port, 7002);
    assert_int_equal(m.slot[0], 0);
    assert_int_equal(m.slot[5460], 0);
    assert_int_equal(m.slot[5461], 1);
    assert_int_equal(m.slot[10922], 1);
    assert_int_equal(m.slot[10923], 2);
    assert_int_equal(m.slot[16383], 2);
    /* A slot of no range has no node. */
    r = read_reply("*1\r\n*3\r\n:0\r\n:99\r\n*2\r\n$1\r\nh\r\n:1\r\n");
    assert_int_equal(ldr_cluster_map_parse(r, NULL, &m, errstr, 512), LDR_OK);
    freeReplyObject(r);
    assert_int_equal(m.slot[99], 0);
    assert_int_equal(m.slot[100], LDR_CLUSTER_NO_NODE);
}

static void test_cluster_map_refuses_what_is_not_one(void **state) {
    (void)state;
    static ldr_cluster_map_t m;
    redisReply *r = read_reply("-ERR This instance has cluster support "
                               "disabled\r\n");
    assert_int_equal(ldr_cluster_map_parse(r, NULL, &m, errstr, 512),
                     LDR_ERR_DECODE_FAILED);
    freeReplyObject(r);
    r = read_reply("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n");
    assert_int_equal(ldr_cluster_map_parse(r, NULL, &m, errstr, 512),
                     LDR_ERR_DECODE_FAILED);
    freeReplyObject(r);
    r = read_reply("*1\r\n*2\r\n:0\r\n:1\r\n");
    assert_int_equal(ldr_cluster_map_parse(r, NULL, &m, errstr, 512),
                     LDR_ERR_DECODE_FAILED);
    freeReplyObject(r);
}

static void test_cluster_reply_kinds(void **state) {
    (void)state;
    struct {
        const char *resp;
        ldr_cluster_redirect_t kind;
    } cases[] = {
        {"-MOVED 3999 127.0.0.1:6381\r\n", LDR_CLUSTER_REPLY_MOVED},
        {"-ASK 3999 127.0.0.1:6381\r\n", LDR_CLUSTER_REPLY_ASK},
        {"-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
         LDR_CLUSTER_REPLY_TRYAGAIN},
        {"-CLUSTERDOWN The cluster is down\r\n", LDR_CLUSTER_REPLY_CLUSTERDOWN},
        {"-FENCED epoch\r\n", LDR_CLUSTER_REPLY_OTHER},
        {"+OK\r\n", LDR_CLUSTER_REPLY_OTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        redisReply *r = read_reply(cases[i].resp);
        assert_int_equal(ldr_cluster_reply_kind(r), cases[i].kind);
        freeReplyObject(r);
    }
}

static void test_cluster_unreachable_seeds_are_transient(void **state) {
    (void)state;
    ldr_cluster_opts_t o = {"redis://u:topsecret@127.0.0.1:1,127.0.0.1:2",
                            NULL,
                            LDR_CLUSTER_AUTO,
                            500,
                            NULL,
                            NULL,
                            NULL};
    ldr_cluster_t *cl = NULL;
    assert_int_equal(ldr_cluster_new(&o, &cl, errstr, sizeof(errstr)),
                     LDR_ERR_TRANSIENT);
    assert_null(cl);
    assert_contains(errstr, "127.0.0.1:2");
    assert_null(strstr(errstr, "topsecret"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_crc16_vectors),
        cmocka_unit_test(test_cluster_key_slot_known_keys),
        cmocka_unit_test(test_cluster_key_slot_hash_tags),
        cmocka_unit_test(test_cluster_store_keys_share_a_slot),
        cmocka_unit_test(test_cluster_store_tags_are_placed),
        cmocka_unit_test(test_cluster_store_partitions_spread_evenly),
        cmocka_unit_test(test_cluster_url_one_server),
        cmocka_unit_test(test_cluster_url_seed_list),
        cmocka_unit_test(test_cluster_url_user_and_password),
        cmocka_unit_test(test_cluster_url_refusals_never_show_the_password),
        cmocka_unit_test(test_cluster_mode_values),
        cmocka_unit_test(test_cluster_map_from_cluster_slots),
        cmocka_unit_test(test_cluster_map_refuses_what_is_not_one),
        cmocka_unit_test(test_cluster_reply_kinds),
        cmocka_unit_test(test_cluster_unreachable_seeds_are_transient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
