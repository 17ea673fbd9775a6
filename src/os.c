/*
 * os.c: what the operating-system utilities (the "os" group of axle.h)
 * share on every system: the caller's-buffer convention of the functions
 * that return a string, and the release of what ax_cpu_info(),
 * ax_os_environ(), ax_interface_addresses() and ax_os_get_passwd()
 * allocate. The utilities themselves are the
 * platform's (src/unix/os.c with its kernel's os-*.c, src/win/os.c).
 */
#include <string.h>

#include "internal.h"

int ax__os_buf_check(const char *buf, const size_t *size) {
  return buf == NULL || size == NULL || *size == 0 ? AX_EINVAL : 0;
}

int ax__os_buf_copy(const char *str, size_t len, char *buf, size_t *size) {
  if (len >= *size) {
    *size = len + 1;
    return AX_ENOBUFS;
  }
  memcpy(buf, str, len);
  buf[len] = '\0';
  *size = len;
  return 0;
}

void ax_os_free_environ(ax_env_item_t *envitems, int count) {
  if (envitems == NULL)
    return;
  /* Each item's name and value share one allocation, the name first. */
  for (int i = 0; i < count; i++)
    ax__free(envitems[i].name);
  ax__free(envitems);
}

void ax_free_cpu_info(ax_cpu_info_t *cpu_infos, int count) {
  if (cpu_infos == NULL)
    return;
  for (int i = 0; i < count; i++)
    ax__free(cpu_infos[i].model);
  ax__free(cpu_infos);
}

void ax_free_interface_addresses(ax_interface_address_t *addresses, int count) {
  if (addresses == NULL)
    return;
  for (int i = 0; i < count; i++)
    ax__free(addresses[i].name);
  ax__free(addresses);
}

void ax_os_free_passwd(ax_passwd_t *pwd) {
  if (pwd == NULL)
    return;
  /* The three strings share one allocation, the user name first. */
  ax__free(pwd->username);
  pwd->username = NULL;
  pwd->shell = NULL;
  pwd->homedir = NULL;
}

int ax__os_passwd_fill(ax_passwd_t *pwd, const char *username,
                       const char *shell, const char *homedir) {
  size_t name_len = strlen(username) + 1;
  size_t shell_len = shell != NULL ? strlen(shell) + 1 : 0;
  size_t home_len = strlen(homedir) + 1;
  char *mem = ax__malloc(name_len + shell_len + home_len);
  if (mem == NULL)
    return AX_ENOMEM;
  pwd->username = memcpy(mem, username, name_len);
  pwd->homedir = memcpy(mem + name_len, homedir, home_len);
  pwd->shell = shell != NULL
                   ? memcpy(mem + name_len + home_len, shell, shell_len)
                   : NULL;
  return 0;
}

int ax__os_env_item(ax_env_item_t *item, const char *name, size_t name_len,
                    const char *value) {
  size_t value_len = strlen(value);
  char *mem = ax__malloc(name_len + value_len + 2);
  if (mem == NULL)
    return AX_ENOMEM;
  memcpy(mem, name, name_len);
  mem[name_len] = '\0';
  memcpy(mem + name_len + 1, value, value_len + 1);
  item->name = mem;
  item->value = mem + name_len + 1;
  return 0;
}

bool ax__os_env_name_ok(const char *name) {
  return name != NULL && name[0] != '\0' && strchr(name, '=') == NULL;
}

char *ax__os_strdup(const char *str) {
  size_t len = strlen(str) + 1;
  char *copy = ax__malloc(len);
  if (copy != NULL)
    memcpy(copy, str, len);
  return copy;
}
