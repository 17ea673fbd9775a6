/*
 * win-child.c: the child program of test_process_win.c, for Windows.
 * (test/support/child.c is the portable tests' own; this one stays small
 * and Windows-only so that the two do not wait on each other.)
 *
 *   win-child exit N         exit with status N
 *   win-child echo           copy standard input to output until its end
 *   win-child env NAME       print NAME's value, or "(unset)"
 *   win-child cwd            print the working directory
 *   win-child args A B ...   print each argument on a line of its own
 *   win-child sleep MS       sleep, then exit 0
 *   win-child fd N TEXT      write TEXT to descriptor N of the C runtime
 */
#include <direct.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static int child_echo(void) {
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
    if (fwrite(buf, 1, n, stdout) != n)
      return 1;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 100;
  const char *mode = argv[1];
  if (strcmp(mode, "exit") == 0 && argc == 3)
    return atoi(argv[2]);
  if (strcmp(mode, "echo") == 0)
    return child_echo();
  if (strcmp(mode, "env") == 0 && argc == 3) {
    const char *value = getenv(argv[2]);
    printf("%s", value != NULL ? value : "(unset)");
    return 0;
  }
  if (strcmp(mode, "cwd") == 0) {
    char dir[MAX_PATH];
    if (_getcwd(dir, sizeof(dir)) == NULL)
      return 1;
    printf("%s", dir);
    return 0;
  }
  if (strcmp(mode, "args") == 0) {
    for (int i = 2; i < argc; i++)
      printf("%s\n", argv[i]);
    return 0;
  }
  if (strcmp(mode, "sleep") == 0 && argc == 3) {
    Sleep((DWORD)atoi(argv[2]));
    return 0;
  }
  if (strcmp(mode, "fd") == 0 && argc == 4) {
    int len = (int)strlen(argv[3]);
    return _write(atoi(argv[2]), argv[3], (unsigned int)len) == len ? 0 : 1;
  }
  return 101;
}
