/*
 * allocator.c: the functions axle allocates its own memory with, replaceable
 * by ax_replace_allocator() (for an arena, a counting allocator in tests, or
 * a language runtime's heap). While ax__alloc_refuse is set (by the
 * simulation backend), an allocation it refuses fails as if the allocator
 * had returned NULL, before the allocator is called.
 */
#include <stdlib.h>

#include "internal.h"

static struct {
  ax_malloc_func malloc_func;   /* Allocates. */
  ax_realloc_func realloc_func; /* Resizes. */
  ax_calloc_func calloc_func;   /* Allocates zeroed memory. */
  ax_free_func free_func;       /* Releases. */
} allocator = {malloc, realloc, calloc, free};

int ax_replace_allocator(ax_malloc_func malloc_func,
                         ax_realloc_func realloc_func,
                         ax_calloc_func calloc_func, ax_free_func free_func) {
  if (malloc_func == NULL || realloc_func == NULL || calloc_func == NULL ||
      free_func == NULL)
    return AX_EINVAL;
  allocator.malloc_func = malloc_func;
  allocator.realloc_func = realloc_func;
  allocator.calloc_func = calloc_func;
  allocator.free_func = free_func;
  return 0;
}

bool (*ax__alloc_refuse)(void);

/* Whether this allocation is to fail: one atomic load when no one asks
 * (pool threads allocate too, so the hook is read atomically). */
static bool allocator_refuses(void) {
  bool (*refuse)(void) = __atomic_load_n(&ax__alloc_refuse, __ATOMIC_ACQUIRE);
  return refuse != NULL && refuse();
}

void *ax__malloc(size_t size_bytes) {
  if (allocator_refuses())
    return NULL;
  return allocator.malloc_func(size_bytes);
}

void *ax__calloc(size_t count, size_t size_bytes) {
  if (allocator_refuses())
    return NULL;
  return allocator.calloc_func(count, size_bytes);
}

void *ax__realloc(void *ptr, size_t size_bytes) {
  if (allocator_refuses())
    return NULL; /* ptr stays as it was, as realloc() leaves it. */
  return allocator.realloc_func(ptr, size_bytes);
}

void ax__free(void *ptr) {
  allocator.free_func(ptr);
}
