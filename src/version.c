/*
 * version.c: the run-time version, which a program linked against a shared
 * axle can compare with the AX_VERSION_* it was compiled with.
 */
#include "internal.h"

#define VERSION_STR_(x) #x
#define VERSION_STR(x) VERSION_STR_(x)

unsigned int ax_version(void) {
  return AX_VERSION_HEX;
}

const char *ax_version_string(void) {
  return VERSION_STR(AX_VERSION_MAJOR) "." VERSION_STR(
      AX_VERSION_MINOR) "." VERSION_STR(AX_VERSION_PATCH);
}
