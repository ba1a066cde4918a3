/*
 * util/net.c - what kind of address a socket address is.
 */
#include "util/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

int net_addr_private(const void *sockaddr)
{
    const struct sockaddr *sa = sockaddr;
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sockaddr)->sin_addr.s_addr);
        return (a >> 24) == 0 ||               /* 0/8 "this network" */
               (a >> 24) == 10 ||              /* 10/8 */
               (a >> 24) == 127 ||             /* loopback */
               (a >> 16) == 0xa9fe ||          /* 169.254/16 link-local */
               (a >> 20) == 0xac1 ||           /* 172.16/12 */
               (a >> 16) == 0xc0a8 ||          /* 192.168/16 */
               (a >> 22) == (100u << 2 | 1) || /* 100.64/10 shared address space */
               (a >> 8) == 0xc00000 ||         /* 192.0.0/24 IETF protocol */
               (a >> 8) == 0xc00002 ||         /* 192.0.2/24 documentation */
               (a >> 17) == (0xc612u >> 1) ||  /* 198.18/15 benchmarking */
               (a >> 8) == 0xc63364 ||         /* 198.51.100/24 documentation */
               (a >> 8) == 0xcb0071 ||         /* 203.0.113/24 documentation */
               (a >> 28) >= 0xe;               /* multicast, reserved, broadcast */
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)sockaddr)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
        if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) {
            struct sockaddr_in v4 = {.sin_family = AF_INET};
            memcpy(&v4.sin_addr, b + 12, 4);
            return net_addr_private(&v4);
        }
        int zero = 1;
        for (int i = 0; i < 12; i++)
            zero &= b[i] == 0;
        return zero ||                                    /* ::, ::1, IPv4-compatible */
               (b[0] & 0xfe) == 0xfc ||                   /* fc00::/7 unique local */
               (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
               (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local */
               b[0] == 0xff ||                            /* multicast */
               (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) || /* doc */
               (b[0] == 0x20 && b[1] == 0x02); /* 6to4 may embed anything */
    }
    return 1; /* anything else is not an internet address */
}
