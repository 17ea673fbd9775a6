/*
 * bench/net/net-sizes.c: the size of a TCP handle in axle and in libuv,
 * for the memory row of scripts/bench-net.sh. A server holds one per
 * connection, so this is the floor of its memory per idle connection.
 *
 * Prints one line: "ax_tcp_t=N uv_tcp_t=M".
 */
#include <stdio.h>

#include <axle.h>
#include <uv.h>

int main(void) {
  printf("ax_tcp_t=%zu uv_tcp_t=%zu\n", sizeof(ax_tcp_t), sizeof(uv_tcp_t));
  return 0;
}
