/* clock.c -- the wall clock and the monotonic clock (clock.h).
 *
 * DESIGN: this is the only file in services/lib that calls clock_gettime()
 * or sleeps, so there is one definition of "now" in milliseconds and a grep
 * shows every reader of a clock. The model layer never includes clock.h: its
 * time is the event time carried by the messages, which is what makes replay
 * deterministic. */
#include "ladder/clock.h"

#include <time.h>

int64_t ldr_clock_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ldr_clock_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double ldr_clock_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ldr_clock_sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
