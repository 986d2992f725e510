/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Shared between the XDP program and its loader. The Rust side
 * (responder/src/xdp/program_counters.rs) mirrors these values and checks the
 * counters map size at load time, so a mismatch fails loudly, not silently.
 */
#ifndef XDP_DNS_H
#define XDP_DNS_H

/* XSKMAP slots: one per RX queue, indexed by queue id. */
#define STEER_MAX_QUEUES 256
/* Entries per address family in the address map: the addresses steered to
 * plus the interface's own addresses and subnet broadcasts. */
#define STEER_MAX_ADDRS 4096

/* Flags in an address map entry. Any entry is "ours": never a query's source. */
#define ADDR_STEER 1  /* a destination the workers answer for */
#define ADDR_LOCAL 2  /* the interface's own address or a subnet broadcast */

/* Why a frame was redirected or passed: the index into the counters map. */
enum steer_outcome {
	STEER_REDIRECTED = 0,        /* handed to the queue's AF_XDP socket */
	STEER_PASSED_NO_SOCKET = 1,  /* a query, but no socket on this queue */
	STEER_PASSED_NOT_IP = 2,     /* ARP, LLDP, unknown EtherType, ... */
	STEER_PASSED_NOT_UDP = 3,    /* TCP, ICMP, ... */
	STEER_PASSED_FRAGMENT = 4,   /* IPv4 fragment: the kernel reassembles */
	STEER_PASSED_IPV6_EXTENSION = 5, /* IPv6 extension header before UDP */
	STEER_PASSED_PORT = 6,       /* UDP, but not to a configured port */
	STEER_PASSED_ADDRESS = 7,    /* not to one of our addresses that is listened on */
	STEER_PASSED_MALFORMED = 8,  /* truncated or invalid headers */
	STEER_PASSED_MAC = 9,        /* destination MAC not the interface's */
	STEER_PASSED_SOURCE = 10,    /* implausible source: martian, ours, port 0 */
	STEER_PASSED_CHECKSUM = 11,  /* IPv6 UDP with checksum 0 (RFC 8200) */
	STEER_PASSED_STALLED = 12,   /* the queue's worker shows no progress */
	STEER_PASSED_NOTIFY = 13,    /* a NOTIFY (opcode 4): secondary zones read it on the kernel socket */
	STEER_OUTCOME_COUNT = 14,
};

#endif
