/* clock.h -- the wall clock and the monotonic clock, in one place.
 *
 * DESIGN: the state machine and the rules never read a clock (their time is
 * the partition's event-time clock, DESIGN.md guarantee 4); the programs
 * around them do, for processing timestamps, deadlines, backoff and
 * metrics. They all read it here, so there is one definition of "now" in
 * milliseconds and one monotonic clock for durations, and a model file that
 * reached for a clock would have to include this header to do so. */
#ifndef LADDER_CLOCK_H
#define LADDER_CLOCK_H

#include <stdint.h>

/** Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t ldr_clock_wall_ms(void);

/** Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
int64_t ldr_clock_mono_ms(void);

/** Seconds of CLOCK_MONOTONIC, with nanosecond resolution: for metrics. */
double ldr_clock_mono_s(void);

/** Sleeps @p ms milliseconds (less when a signal arrives). */
void ldr_clock_sleep_ms(int64_t ms);

#endif
