/*
 * util/net.h - what kind of address a socket address is.
 *
 * Owns: the one list of address ranges that outbound fetches (backends,
 * upstream MCP servers, client ID metadata documents) refuse unless told
 * otherwise. Must not touch: sockets, libcurl.
 */
#ifndef MG_UTIL_NET_H
#define MG_UTIL_NET_H

/* Returns 1 when the address (a struct sockaddr) is loopback, private,
 * link-local, shared, documentation, benchmarking, multicast, reserved,
 * unspecified, or an IPv4-mapped, NAT64 or 6to4 form of one: not on the
 * public internet. Pure: tests call it directly. */
int net_addr_private(const void *sockaddr);

#endif
