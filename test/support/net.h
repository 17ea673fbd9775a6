/*
 * test/support/net.h: the system's socket address types for the TCP
 * tests, from <netinet/in.h> and <arpa/inet.h> on POSIX, from Winsock's
 * headers on Windows. The tests themselves use axle's API only.
 */
#ifndef AX_TEST_NET_H
#define AX_TEST_NET_H

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif /* _WIN32 */

#endif /* AX_TEST_NET_H */
