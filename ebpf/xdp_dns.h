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
/* Per address family, when an address filter is configured. */
#define STEER_MAX_ADDRS 256

/* Why a frame was redirected or passed: the index into the counters map. */
enum steer_outcome {
	STEER_REDIRECTED = 0,        /* handed to the queue's AF_XDP socket */
	STEER_PASSED_NO_SOCKET = 1,  /* a query, but no socket on this queue */
	STEER_PASSED_NOT_IP = 2,     /* ARP, LLDP, unknown EtherType, ... */
	STEER_PASSED_NOT_UDP = 3,    /* TCP, ICMP, ... */
	STEER_PASSED_FRAGMENT = 4,   /* IPv4 fragment: the kernel reassembles */
	STEER_PASSED_IPV6_EXTENSION = 5, /* IPv6 extension header before UDP */
	STEER_PASSED_PORT = 6,       /* UDP, but not to a configured port */
	STEER_PASSED_ADDRESS = 7,    /* not to a configured address */
	STEER_PASSED_MALFORMED = 8,  /* truncated or invalid headers */
	STEER_PASSED_STALLED = 9,    /* the queue's worker shows no progress */
	STEER_OUTCOME_COUNT = 10,
};

#endif
