/* config_fixtures.h -- loading the configuration fixtures of
 * tests/fixtures/config/ in a cmocka test (test_config, test_kafka).
 *
 * DESIGN: every configuration error test checks the one line a user would
 * see, so the loaders here leave it in one buffer, errstr, that the test
 * then reads. Included by one test file each (the helpers are static);
 * the includer includes cmocka.h first. */
#ifndef LADDER_TEST_CONFIG_FIXTURES_H
#define LADDER_TEST_CONFIG_FIXTURES_H

#include <stdio.h>
#include <string.h>

#include "ladder/config.h"

#define FIXTURES LADDER_SOURCE_DIR "/tests/fixtures/config/"

/* The message of the last load. */
static char errstr[512];

static void assert_contains(const char *hay, const char *needle) {
    if (!hay || !strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)",
                 needle);
}

/* Loads fixture @p name into @p cfg and returns the result; errstr holds
 * the message. */
static ldr_err_t load_fixture(ldr_config_t *cfg, const char *name) {
    char path[1024];
    snprintf(path, sizeof(path), "%s%s", FIXTURES, name);
    errstr[0] = '\0';
    return ldr_config_load_file(cfg, path, errstr, sizeof(errstr));
}

/* Applies the LADDER_* variables of @p envp to @p cfg; errstr as above. */
static ldr_err_t load_env(ldr_config_t *cfg, char *const *envp) {
    errstr[0] = '\0';
    return ldr_config_load_env(cfg, envp, errstr, sizeof(errstr));
}

#endif
