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
	STEER_ANSWERED_TIER0 = 14,   /* answered here from the tier-0 map (XDP_TX), a slip included */
	STEER_RATE_LIMITED_TIER0 = 15, /* a tier-0 answer rate limiting dropped (XDP_DROP) */
	STEER_OUTCOME_COUNT = 16,
};

/* Tier 0: precompiled answers given by the program itself (ebpf/README.md).
 * Mirrored by responder/src/xdp/tier0/layout.rs. */
#define T0_NAME_MAX 64      /* longest question name (wire form) with a key */
#define T0_ANSWER_MAX 1232  /* longest answer part after the question */
#define T0_MAX_ENTRIES 65536 /* both generations together */

/* Which EDNS a query carries: part of the key. */
#define T0_SHAPE_NO_EDNS 0  /* no OPT: answers fit 512 bytes */
#define T0_SHAPE_EDNS 1     /* a plain OPT (no options, version 0), DO=0 */
#define T0_SHAPE_EDNS_DO 2  /* the same with DO=1 */

/* The key's hash of the name (t0_hash below; responder/src/xdp/tier0/hash.rs
 * is the same function): over the lowercased name as little-endian 64-bit
 * words, the last zero padded, h = (h ^ w) * T0_HASH_MUL, h ^= h >> 29. */
#define T0_HASH_SEED 0x9e3779b97f4a7c15ULL
#define T0_HASH_MUL 0xff51afd7ed558ccdULL

/* A fixed 16 bytes, hashed and compared by the map in a few words; the
 * name itself is in the value and compared after the lookup, so a hash
 * collision costs a miss (the worker answers), never a wrong answer. */
struct t0_key {
	__u64 hash;         /* t0_hash of the lowercased name */
	__u16 qtype;        /* host order */
	__u8 shape;         /* T0_SHAPE_* */
	__u8 generation;    /* 1 or 2: the one t0_state names is served */
	__u8 name_len;      /* the name's wire length */
	__u8 pad[3];        /* zero */
};

/* The counter cells of a sent answer (tier0_stats.h), fixed per entry:
 * the query's and the answer's lengths follow from the key. */
struct t0_cells {
	__u8 qtype;         /* index into t0_stats.qtype */
	__u8 rcode;         /* index into t0_stats.rcode */
	__u8 query_size;    /* index into t0_stats.query_size */
	__u8 response_size; /* index into t0_stats.response_size */
};

struct t0_answer {
	__u8 name[T0_NAME_MAX]; /* lowercased wire name, zero padded */
	__u8 header[12];    /* ID 0, RD and CD clear: the query's are put in */
	__u16 min_udp;      /* host order: smallest EDNS size this answer fits (0: any) */
	__u16 rest_len;     /* host order: bytes after the question */
	__u32 sum;          /* ones' complement sum (big-endian words) of header,
	                     * qtype, qclass and rest, each at its offset */
	struct t0_cells cells;
	__u8 rest[T0_ANSWER_MAX];
};

/* Capture of tier-0 answers (tier0_capture.h): one record per sampled
 * answer in the `t0_capture` ring buffer. Mirrored by
 * responder/src/xdp/tier0/capture.rs. A tier-0 query is at most
 * 12 + 64 + 4 + 11 bytes and its answer 12 + 64 + 4 + T0_ANSWER_MAX, so
 * neither is cut today; a longer one would be, and flagged. */
#define T0_CAP_QUERY_MAX 96
#define T0_CAP_RESPONSE_MAX 1312
#define T0_CAP_QUERY_CUT 1     /* flags: the query is longer than query_len */
#define T0_CAP_RESPONSE_CUT 2  /* flags: the response is longer than response_len */

struct t0_capture_record {
	__u64 time_ns;      /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the answer */
	__u8 client[16];    /* the query's source (IPv4: the first 4 bytes) */
	__u8 server[16];    /* the query's destination */
	__u16 client_port;  /* network order, as on the wire */
	__u16 server_port;
	__u8 v6;
	__u8 flags;         /* T0_CAP_*_CUT */
	__u16 query_len;    /* host order: bytes in query */
	__u16 response_len; /* host order: bytes in response */
	__u8 pad[6];
	__u8 query[T0_CAP_QUERY_MAX];
	__u8 response[T0_CAP_RESPONSE_MAX]; /* only response_len bytes are sent */
};

/* Per CPU: the sampler's count, the records the ring had no room for, and
 * the record being built. */
struct t0_capture_cpu {
	__u64 tick;
	__u64 lost;
	struct t0_capture_record record;
};

#endif
