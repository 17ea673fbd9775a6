/*
 * unix/sim.h: what the simulation backend's two files share.
 *
 * sim.c is the backend: a scheduler over real descriptor readiness that
 * shuffles each wakeup's completions and moves a virtual clock instead of
 * sleeping. sim-sys.c is the simulated world around it: the seed, the
 * pseudo-random streams drawn from it, the virtual clock, and the syscall
 * wrappers that split reads and writes and inject failures through the
 * ax__sys table (unix/internal.h). The world is one per process, as time
 * is, and exists while a loop runs the sim backend.
 */
#ifndef AX_UNIX_SIM_H
#define AX_UNIX_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* Enter the world: the first loop to do so reads AX_SIM_SEED,
 * AX_SIM_FAULT_RATE and AX_SIM_FAULTS, prints the seed, and installs the
 * syscall wrappers. Returns the seed of this loop's own stream (each loop
 * gets its own, derived from the world's seed and the loop's rank). */
uint64_t ax__sim_enter(void);
/* Leave it: the last loop restores the syscall table. */
void ax__sim_leave(void);
/* Set the seed and faults instead of the environment, with no sim loop
 * open, for a harness that replays one input per run (a fuzzer): the next
 * loop's stream starts over. all: every kind of fault, not only the
 * transient ones; failing allocations only if AX_SIM_FAULTS names
 * "enomem". Prints nothing. */
void ax__sim_set(uint64_t seed, unsigned int fault_permille, bool all);

/* A step of splitmix64 over *state: 64 well-mixed bits. */
uint64_t ax__sim_next(uint64_t *state);
/* A number in [0, n), n > 0. */
uint64_t ax__sim_below(uint64_t *state, uint64_t n);

/* The virtual clock. Each read moves it on by a tick, so that a loop that
 * never waits (idle handles) still sees time pass and reaches its timers;
 * advance_to moves it to at least ns. */
uint64_t ax__sim_now_ns(void);
void ax__sim_clock_advance_to(uint64_t ns);

#endif /* AX_UNIX_SIM_H */
