// SPDX-License-Identifier: MIT OR Apache-2.0
//
// XDP steering for responder: DNS queries go to the AF_XDP socket bound to
// the receiving queue; every other frame continues to the kernel untouched.
// A query is UDP to a configured port and to one of the interface's own
// addresses that is listened on, sent to the interface's MAC, from a
// plausible unicast source. Anything less is the kernel's to judge, as it
// would be without this program.
//
// The program rewrites or drops a frame only with tier 0 on: it rewrites it
// only into the answer the engine would give (tier0_answer), and drops it
// only where a worker's rate limiting would have dropped that answer
// (tier0_rrl.h). Otherwise the worst a bug here can do is send a frame to
// the kernel that a worker could have answered.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdp_dns.h"

// One slot per RX queue; the loader stores each queue's AF_XDP socket here.
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, STEER_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

// Destination UDP ports to steer, indexed by port in host order: a single
// array lookup, no hashing, and any port set costs the same.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} ports SEC(".maps");

// Our addresses (flags ADDR_STEER / ADDR_LOCAL), kept up to date from
// netlink by the loader. Keys are in network byte order, exactly as they sit
// in the header.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_ADDRS);
	__type(key, __u32);
	__type(value, __u8);
} addrs4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_ADDRS);
	__type(key, struct in6_addr);
	__type(value, __u8);
} addrs6 SEC(".maps");

// Per-CPU so the hot path never contends on a cache line; the loader sums.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_OUTCOME_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

// The interface's MAC, set by the loader. Until `known` is set nothing is
// steered: a program loaded but not yet told its interface steers nothing.
struct iface_mac {
	__u8 addr[ETH_ALEN];
	__u8 known;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct iface_mac);
} iface SEC(".maps");

// Per-queue liveness: the bpf_ktime_get_ns() time (CLOCK_MONOTONIC) of the
// queue's worker's last sign of progress. Mmapped by the workers, who store
// to it without a system call; 0 means no worker has written yet.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_QUEUES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} liveness SEC(".maps");

// Tier 0 (see tier0_answer): the precompiled answers, keyed by generation,
// EDNS shape, qtype and lowercased name. Not preallocated: an element
// deleted while a program still copies from it is freed only after an RCU
// grace period, never reused under it.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, T0_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct t0_key);
	__type(value, struct t0_answer);
} t0_answers SEC(".maps");

// The generation served (1 or 2); 0 answers nothing. The loader fills the
// other generation, then flips this word, then deletes the old one.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} t0_state SEC(".maps");

// Set by the loader (.rodata). 0: the verifier prunes tier 0 entirely, so
// the program is exactly the steering program; also the fallback when a
// kernel's verifier refuses the tier-0 code.
volatile const __u32 tier0_enabled = 0;

// A queue whose word is older than this is passed to the kernel (.rodata,
// set by the loader). 0 turns the check off, and the verifier prunes it.
volatile const __u64 stall_threshold_ns = 200 * 1000 * 1000;

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

#define IPV4_MORE_FRAGMENTS 0x2000
#define IPV4_FRAGMENT_OFFSET 0x1fff

static __always_inline int count(enum steer_outcome outcome, int action)
{
	__u32 key = outcome;
	__u64 *value = bpf_map_lookup_elem(&counters, &key);

	if (value)
		*value += 1;
	return action;
}

static __always_inline int is_ipv6_extension(__u8 next_header)
{
	switch (next_header) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_ESP:
	case IPPROTO_MH:
	case 139: // Host Identity Protocol
	case 140: // Shim6
	case 253: // experimentation (RFC 3692)
	case 254:
		return 1;
	default:
		return 0;
	}
}

static __always_inline int ports_contains(__be16 port)
{
	__u32 key = bpf_ntohs(port);
	__u8 *steer = bpf_map_lookup_elem(&ports, &key);

	return steer && *steer;
}

// Steered frames hold their whole UDP datagram, as its length field states:
// workers then never meet a datagram cut short by the frame (trailing
// Ethernet padding is fine). What the payload says is for the worker to judge.
static __always_inline int udp_datagram_complete(struct udphdr *udp, void *data_end)
{
	__u16 len = bpf_ntohs(udp->len);

	return len >= sizeof(*udp) && (void *)udp + len <= data_end;
}

static __always_inline int address_allowed4(__u32 daddr)
{
	__u8 *flags = bpf_map_lookup_elem(&addrs4, &daddr);

	return flags && (*flags & ADDR_STEER);
}

static __always_inline int address_allowed6(const struct in6_addr *daddr)
{
	struct in6_addr key;
	__u8 *flags;

	// Copied to the stack: map helpers take keys from the stack, not the packet.
	__builtin_memcpy(&key, daddr, sizeof(key));
	flags = bpf_map_lookup_elem(&addrs6, &key);
	return flags && (*flags & ADDR_STEER);
}

// Frames for another station (a switch flooding, promiscuous mode), a
// broadcast or a multicast group are not queries to us.
static __always_inline int mac_is_ours(const struct ethhdr *eth)
{
	__u32 key = 0;
	struct iface_mac *ours = bpf_map_lookup_elem(&iface, &key);
	__u8 differ = 0;

	if (!ours || !ours->known)
		return 0;
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		differ |= eth->h_dest[i] ^ ours->addr[i];
	return !differ;
}

// A source the kernel would call martian (RFC 1122 3.2.1.3, RFC 6890):
// "this network", loopback, multicast, reserved and limited broadcast,
// one of our own addresses or one of our subnets' broadcast addresses.
static __always_inline int source_plausible4(__u32 saddr)
{
	__u8 first = ((__u8 *)&saddr)[0]; // network order: the first octet first

	if (first == 0 || first == 127 || first >= 224)
		return 0;
	return bpf_map_lookup_elem(&addrs4, &saddr) == NULL;
}

// ::/96 (unspecified, loopback, the deprecated v4-compatible form),
// ::ffff:0:0/96 (v4-mapped: never on the wire, RFC 4291 2.5.5.2), multicast,
// or one of our own addresses.
static __always_inline int source_plausible6(const struct in6_addr *saddr)
{
	struct in6_addr key;

	__builtin_memcpy(&key, saddr, sizeof(key));
	if (key.in6_u.u6_addr8[0] == 0xff)
		return 0;
	if (key.in6_u.u6_addr32[0] == 0 && key.in6_u.u6_addr32[1] == 0 &&
	    (key.in6_u.u6_addr32[2] == 0 || key.in6_u.u6_addr32[2] == bpf_htonl(0xffff)))
		return 0;
	return bpf_map_lookup_elem(&addrs6, &key) == NULL;
}

static __always_inline int worker_alive(__u32 queue)
{
	__u64 *beat = bpf_map_lookup_elem(&liveness, &queue);

	// A word of 0, or any word older than the threshold, is stale. A beat
	// stored after we read the clock looks fresh, as it is.
	return beat && *(volatile __u64 *)beat + stall_threshold_ns >= bpf_ktime_get_ns();
}

#define DNS_HEADER_LEN 12
#define DNS_QR 0x80         // in the flags' first byte
#define DNS_OPCODE 0x78     // in the flags' first byte
#define DNS_RD_CD 0x0110    // the query flags an answer echoes (with the opcode, 0 here)
#define OPT_LEN 11
// Bytes 4 to 11 of a query tier 0 answers, read as one little-endian word
// with byte 11 (ARCOUNT's low byte, 0 or 1) masked off: QDCOUNT 1, the rest 0.
#define T0_COUNTS_QUERY (1ULL << 8)
// An OPT's first eight bytes as one little-endian word: the bytes checked
// (owner, type, version) and what they must be (the root, 41, 0).
#define T0_OPT_CHECKED 0x00ff000000ffffffULL
#define T0_OPT_PLAIN (41ULL << 16)
#define IPV4_DF 0x4000
#define REPLY_TTL 64

static __always_inline __u64 fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

// The ones' complement sum of `n` 32-bit words in the host's byte order:
// the network-order sum byte swapped (RFC 1071, 2(B)), which fold() and
// swab16() give back: a word a load, not two bytes and a shift.
static __always_inline __u64 sum_native(const void *p, int n)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		sum += ((const __u32 *)p)[i];
	return sum;
}

static __always_inline __u64 swab16(__u64 x)
{
	return ((x & 0xff) << 8) | (x >> 8);
}

static __always_inline void swap_words(__u64 *a, __u64 *b, int n)
{
#pragma unroll
	for (int i = 0; i < n; i++) {
		__u64 t = a[i];

		a[i] = b[i];
		b[i] = t;
	}
}

// The MACs, 12 bytes at the frame's start: three 32-bit words become
// destination and source swapped (little-endian loads: the low half of a
// word is the earlier bytes).
static __always_inline void swap_mac(struct ethhdr *eth)
{
	__u32 *w = (__u32 *)eth;
	__u32 d0 = w[0], m = w[1], s1 = w[2];

	// dest = d0 d1 (bytes 0-5), source = s0 s1 (bytes 6-11), m = d1 | s0.
	w[0] = (m >> 16) | (s1 << 16);
	w[1] = (s1 >> 16) | (d0 << 16);
	w[2] = (d0 >> 16) | (m << 16);
}

// The question name at `off` of the frame: its wire length, the sum of its
// bytes as sent (big-endian words: it starts at an even offset of the
// message), its hash for the key (T0_HASH_* in xdp_dns.h) and its
// lowercased copy in `lower` (zeroed by the caller: the words past the
// name are left alone). 0 when it is a plain name of at
// most T0_NAME_MAX bytes, -1 otherwise.
//
// Out of line, and the name read with one helper call and walked one
// label a step, so that the verifier follows few states: a byte-at-a-time
// loop branching on label starts left it a state for each way the labels
// could fall and it gave up at a million instructions. Static rather than
// global: a global function is verified even where tier 0 is compiled out
// (tier0_enabled 0), and would take its helpers (Linux 5.18) to kernels
// that do not have them.
struct t0_name {
	__u64 sum;
	__u64 hash;
	__u32 len;
	__u32 pad;
};

static __attribute__((noinline)) int tier0_name(struct xdp_md *ctx, __u64 off, __u64 *lower, struct t0_name *out)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 avail = (__u64)(data_end - data);
	// Read once, into words: the label walk, the lowercasing, the sum and
	// the hash then go over the buffer a word (8 bytes) at a time.
	__u64 buf[T0_NAME_MAX / 8];
	__u8 *bytes = (__u8 *)buf;
	__u64 sum = 0;
	__u64 hash = T0_HASH_SEED;
	__u64 len = 0;

	if (!lower || !out || off > 1600 || off >= avail)
		return -1;
	avail -= off;
	if (avail > T0_NAME_MAX)
		avail = T0_NAME_MAX;
	// Zeroed: a short frame fills only part of it, and the words are read whole.
	__builtin_memset(buf, 0, sizeof(buf));
	if (avail == 0 || bpf_xdp_load_bytes(ctx, off, buf, avail))
		return -1;
	// The labels: straight-line steps, one per label, so the verifier
	// follows one state each.
	for (int labels = 0; labels <= T0_NAME_MAX / 2; labels++) {
		if (len >= avail || len >= T0_NAME_MAX)
			return -1;
		__u8 label = bytes[len];

		if (label == 0) {
			len += 1;
			break;
		}
		// A pointer, or a label type that is not one.
		if (label > 63)
			return -1;
		len += 1 + label;
	}
	if (len == 0 || len > T0_NAME_MAX)
		return -1;
	// The name's words only (the rest of `lower` stays zero, as the
	// caller left it): the bytes past the name masked off, the sum of the
	// bytes as sent taken, the word lowercased by a byte-wise test for
	// 'A'..'Z' (bit 7 clear) in every byte at once, then hashed.
	for (__u32 k = 0; k < T0_NAME_MAX / 8; k++) {
		if (8 * k >= len)
			break;
		// Bytes of the name in this word, 1 to 8: (len - 8k) clamped.
		__s64 n = (__s64)len - 8 * k;
		__u64 over = (__u64)(8 - n) >> 63;
		asm volatile("" : "+r"(over));
		n = n * (1 - over) + 8 * over;
		// Two shifts of 4n: 8 bytes shift 1 out (a shift by 64 would not).
		__u64 mask = ((1ULL << (n * 4)) << (n * 4)) - 1;
		__u64 w = buf[k] & mask;
		// The name starts at an even offset of the message, and so does
		// every word: its even bytes (the low ones, read little-endian)
		// are the high bytes of the message's big-endian words.
		__u64 even = w & 0x00ff00ff00ff00ffULL;
		__u64 odd = (w >> 8) & 0x00ff00ff00ff00ffULL;
		sum += ((even * 0x0001000100010001ULL) >> 48 << 8) + ((odd * 0x0001000100010001ULL) >> 48);
		__u64 h = w & 0x7f7f7f7f7f7f7f7fULL;
		__u64 upper = (h + 0x3f3f3f3f3f3f3f3fULL) & ~(h + 0x2525252525252525ULL) & ~w & 0x8080808080808080ULL;
		w |= upper >> 2;
		lower[k] = w;
		hash = (hash ^ w) * T0_HASH_MUL;
		hash ^= hash >> 29;
	}
	out->sum = sum;
	out->hash = hash;
	out->len = len;
	return 0;
}

#define DNS_TC 0x0200

// benches/tier0.rs builds the program with -DT0_STOP=n to time a tier-0
// answer cut short after its step n (see STEPS there); 0, the build
// responder runs, stops nowhere and the compiler drops every check.
#ifndef T0_STOP
#define T0_STOP 0
#endif
#define T0_STOP_AFTER(step, ret)          \
	do {                              \
		if (T0_STOP == (step))    \
			return (ret);     \
	} while (0)

#include "tier0_rrl.h"
#include "tier0_stats.h"
#include "tier0_capture.h"

// The sum of `len` bytes at offset `off` of the message, as big-endian
// words: a byte at an even offset is a word's high byte.
static __always_inline __u64 sum_placed(const __u8 *p, int len, __u32 off)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < len; i++)
		sum += (__u64)p[i] << ((((off + i) & 1) ^ 1) << 3);
	return sum;
}

// The headers and the question, the most that is kept of a query.
#define T0_KEEP_MAX (22 + 40 + 8 + DNS_HEADER_LEN + T0_NAME_MAX + 4)

// Grows the frame by `delta` bytes in front, for a buffer with too little
// room behind (a local stack's skb on veth, generic mode): the headroom
// (XDP_PACKET_HEADROOM) is always there. The first `keep` bytes move to the
// new start, so every offset stays as it was. 0 on success; on failure the
// frame is as it came.
static __always_inline int grow_in_front(struct xdp_md *ctx, int delta, __u32 keep)
{
	__u8 buf[T0_KEEP_MAX];

	if (keep == 0 || keep > sizeof(buf) || bpf_xdp_adjust_head(ctx, -delta))
		return -1;
	// Neither helper writes the frame when it fails: moving the head back
	// restores it.
	if (bpf_xdp_load_bytes(ctx, delta, buf, keep) || bpf_xdp_store_bytes(ctx, 0, buf, keep)) {
		bpf_xdp_adjust_head(ctx, delta);
		return -1;
	}
	return 0;
}

// Answers a query from the tier-0 map in place; returns 0 when the frame now
// holds the answer or, rate limited, its slip (XDP_TX), 1 when rate
// limiting drops it, -1 to steer it as usual, untouched. Only the
// plainest queries are answered here: one question in class IN whose name
// fits a key, no other section but a plain OPT, IPv4 without options, and
// the datagram exactly the message (no trailing bytes). Everything else,
// and every query the map has no key for, is the engine's.
//
// The answer is the engine's own, precompiled by the loader for a canonical
// query (ID 0, RD and CD clear, the name lowercased, EDNS size 65535): the
// parts that depend on the query are put back here, as the engine would
// leave them: the ID, RD and CD, and the question as sent (its case).
static __always_inline int tier0_answer(struct xdp_md *ctx, __u32 l3, int v6)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ip_len = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	__u32 dns_off = l3 + ip_len + sizeof(struct udphdr);
	struct ethhdr *eth = data;
	struct t0_key key;
	// The lowercased name, compared with the answer's after the lookup.
	__u64 lower[T0_NAME_MAX / 8];
	struct t0_name name_info;
	__u64 name_sum;
	__u32 name_len;

	if (l3 > 22 || (void *)(eth + 1) > data_end || (eth->h_source[0] & 1))
		return -1;
	// Every header is addressed from one pointer, so one bounds check
	// covers them all for the verifier.
	__u8 *l3p = data + l3;
	// Opaque to clang, so it adds the constant offsets below to this
	// pointer instead of folding them into l3 (a pointer the verifier
	// would know nothing about).
	asm volatile("" : "+r"(l3p));
	__u8 *dns = l3p + ip_len + sizeof(struct udphdr);
	if ((void *)(dns + DNS_HEADER_LEN) > data_end)
		return -1;
	struct udphdr *udp = (void *)(l3p + ip_len);
	__u32 dns_len = bpf_ntohs(udp->len) - sizeof(struct udphdr);

	if (v6) {
		struct ipv6hdr *ip6 = (void *)l3p;
		__u8 d0 = ip6->daddr.in6_u.u6_addr8[0];

		if (bpf_ntohs(ip6->payload_len) != bpf_ntohs(udp->len) || d0 == 0 || d0 == 0xff)
			return -1;
	} else {
		struct iphdr *ip = (void *)l3p;
		__u8 d0 = ((__u8 *)&ip->daddr)[0];

		// Options are closed up by the engine: not here.
		if (ip->ihl != 5 || bpf_ntohs(ip->tot_len) != sizeof(*ip) + bpf_ntohs(udp->len))
			return -1;
		if (d0 == 0 || d0 == 127 || d0 >= 224)
			return -1;
		// The engine drops a bad header checksum; so must this.
		if (fold(sum_native(ip, sizeof(*ip) / 4)) != 0xffff)
			return -1;
	}

	// QR clear, opcode 0, one question, nothing else but an OPT: the
	// counts (bytes 4 to 11) as one word, the OPT's count bit masked.
	if ((dns[2] & (DNS_QR | DNS_OPCODE)) || (*(__u64 *)(dns + 4) & ~(1ULL << 56)) != T0_COUNTS_QUERY)
		return -1;

	T0_STOP_AFTER(1, -1);
	__builtin_memset(&key, 0, sizeof(key));
	__builtin_memset(&name_info, 0, sizeof(name_info));
	__builtin_memset(lower, 0, sizeof(lower));
	if (tier0_name(ctx, dns_off + DNS_HEADER_LEN, lower, &name_info) != 0)
		return -1;
	key.hash = name_info.hash;
	name_len = name_info.len;
	name_sum = name_info.sum;
	// Bounded again here, as the verifier wants it.
	if (name_len == 0 || name_len > T0_NAME_MAX)
		return -1;
	__u8 *name = dns + DNS_HEADER_LEN;
	__u8 *fixed = name + name_len;
	if ((void *)(fixed + 4) > data_end)
		return -1;
	// Class IN only; the qtype is part of the key.
	if (fixed[2] != 0 || fixed[3] != 1)
		return -1;
	key.qtype = ((__u16)fixed[0] << 8) | fixed[1];
	key.name_len = name_len;

	T0_STOP_AFTER(2, -1);
	__u32 udp_size = 0;
	if (dns[11] == 0) {
		if (dns_len != DNS_HEADER_LEN + name_len + 4)
			return -1;
		key.shape = T0_SHAPE_NO_EDNS;
	} else {
		__u8 *opt = fixed + 4;

		if (dns_len != DNS_HEADER_LEN + name_len + 4 + OPT_LEN || (void *)(opt + OPT_LEN) > data_end)
			return -1;
		// Root owner, type OPT, version 0 (bytes 0-2 and 6 of one
		// little-endian word), no options (RDLENGTH, bytes 9-10, 0).
		__u64 head = *(__u64 *)opt;
		if ((head & T0_OPT_CHECKED) != T0_OPT_PLAIN || *(__u16 *)(opt + 9))
			return -1;
		udp_size = ((__u32)opt[3] << 8) | opt[4];
		// DO: the top bit of byte 7, the word's top bit.
		key.shape = (head >> 63) ? T0_SHAPE_EDNS_DO : T0_SHAPE_EDNS;
	}

	__u32 zero = 0;
	__u32 *generation = bpf_map_lookup_elem(&t0_state, &zero);
	if (!generation || !*generation)
		return -1;
	key.generation = *generation;
	struct t0_answer *answer = bpf_map_lookup_elem(&t0_answers, &key);
	if (!answer)
		return -1;
	// The key names a hash: the name itself must be the answer's. Both
	// are zero padded, so the eight words are compared whole.
	const __u64 *want = (const __u64 *)answer->name;
	__u64 differ = 0;
#pragma unroll
	for (int k = 0; k < T0_NAME_MAX / 8; k++)
		differ |= want[k] ^ lower[k];
	if (differ)
		return -1;
	// Below 512 counts as 512 (RFC 6891 6.2.3), as the engine reads it.
	if (key.shape != T0_SHAPE_NO_EDNS && (udp_size < 512 ? 512 : udp_size) < answer->min_udp)
		return -1;
	__u32 rest_len = answer->rest_len;
	if (rest_len == 0 || rest_len > T0_ANSWER_MAX)
		return -1;
	T0_STOP_AFTER(3, -1);

	__u8 rcode = answer->header[3] & 0x0f;
	int decision = T0_RRL_SEND;
	// The answer's own OPT closes it (the engine writes OPT last): a slip
	// carries that OPT alone, as the engine's slip does.
	__u32 opt_len = 0;
	const __u8 *opt = answer->rest;
	if (t0_rrl_rate) {
		// Here only: off, the verifier follows no fork on the shape.
		opt_len = key.shape == T0_SHAPE_NO_EDNS ? 0 : OPT_LEN;
		if (opt_len) {
			if (rest_len < OPT_LEN)
				return -1;
			opt = answer->rest + (rest_len - OPT_LEN);
			if (opt[0] || opt[1] || opt[2] != 41)
				return -1;
		}
		struct t0_rrl_key rrl_key;
		const __u8 *saddr = v6 ? (const __u8 *)&((struct ipv6hdr *)l3p)->saddr
				       : (const __u8 *)&((struct iphdr *)l3p)->saddr;
		t0_rrl_key_of(&rrl_key, saddr, v6, rcode);
		decision = tier0_rrl_decide(rrl_key.prefix[0], rrl_key.prefix[1], rrl_key.kind);
		if (decision < T0_RRL_SEND || decision > T0_RRL_DROP)
			return -1;
		if (decision == T0_RRL_DROP) {
			tier0_count(key.qtype, rcode, (key.shape >> 1) | (v6 << 1), decision, dns_len & 0xffff);
			return 1;
		}
	}

	// The last moment the query is whole; a sampled one is copied.
	if (t0_capture_every)
		tier0_capture_query(ctx, dns_off, dns_len);

	// Everything read: from here the frame is the answer's.
	__u16 id = ((__u16)dns[0] << 8) | dns[1];
	__u16 rd_cd = (((__u16)dns[2] << 8) | dns[3]) & DNS_RD_CD;
	__u16 flags = (((__u16)answer->header[2] << 8) | answer->header[3]) | rd_cd;
	const __u8 *tail = answer->rest;
	__u32 tail_len = rest_len;
	__u64 sum = answer->sum + id + rd_cd + name_sum;
	if (decision == T0_RRL_SLIP) {
		// The engine's slip: the answer's header with TC, no records but
		// the OPT, the question as sent.
		flags |= DNS_TC;
		tail = opt;
		tail_len = opt_len;
		sum = id + flags + 1 + (opt_len != 0) + name_sum + sum_placed(fixed, 4, name_len);
		if (opt_len)
			sum += sum_placed(opt, OPT_LEN, name_len + 4);
	}
	__u32 rest_off = dns_off + DNS_HEADER_LEN + name_len + 4;
	__u32 udp_len = sizeof(struct udphdr) + DNS_HEADER_LEN + name_len + 4 + tail_len;
	int delta = (int)(rest_off + tail_len) - (int)(data_end - data);

	if (bpf_xdp_adjust_tail(ctx, delta) && (delta <= 0 || grow_in_front(ctx, delta, rest_off)))
		return -1;
	if (tail_len && bpf_xdp_store_bytes(ctx, rest_off, (void *)tail, tail_len))
		return -1; // cannot fail: the tail was just made to fit

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	l3p = data + l3;
	asm volatile("" : "+r"(l3p));
	dns = l3p + ip_len + sizeof(struct udphdr);
	if (l3 > 22 || (void *)(eth + 1) > data_end || (void *)(dns + DNS_HEADER_LEN) > data_end)
		return -1; // cannot happen either: the headers were there before
	udp = (void *)(l3p + ip_len);

	dns[2] = flags >> 8;
	dns[3] = flags & 0xff;
	if (decision == T0_RRL_SLIP) {
		__builtin_memset(dns + 4, 0, 8);
		dns[5] = 1;
		dns[11] = opt_len != 0;
	} else {
		__builtin_memcpy(dns + 4, answer->header + 4, 8);
	}

	swap_mac(eth);
	__u64 native;

	if (v6) {
		struct ipv6hdr *ip6 = (void *)l3p;

		ip6->payload_len = bpf_htons(udp_len);
		ip6->hop_limit = REPLY_TTL;
		swap_words((__u64 *)&ip6->saddr, (__u64 *)&ip6->daddr, 2);
		native = sum_native(&ip6->saddr, 8);
	} else {
		struct iphdr *ip = (void *)l3p;

		ip->tos = 0;
		ip->tot_len = bpf_htons(sizeof(*ip) + udp_len);
		ip->frag_off = bpf_htons(IPV4_DF);
		ip->ttl = REPLY_TTL;
		__be32 saddr = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = saddr;
		ip->check = 0;
		// Summed in the host's order, stored as summed (RFC 1071, 2(B)).
		ip->check = ~fold(sum_native(ip, sizeof(*ip) / 4)) & 0xffff;
		native = sum_native(&ip->saddr, 2);
	}
	// Both ports in one word, swapped by a rotation.
	__u32 ports = *(__u32 *)udp;
	*(__u32 *)udp = (ports >> 16) | (ports << 16);
	udp->len = bpf_htons(udp_len);
	udp->check = 0;
	// Pseudo-header protocol and length, then the UDP header: its ports
	// (one word, with the addresses in the host's order) and its length again.
	native += *(__u32 *)udp;
	sum += IPPROTO_UDP + 2 * udp_len + swab16(fold(native));
	__u16 check = ~fold(sum) & 0xffff;
	// Zero would mean "no checksum" (RFC 768), and is invalid over IPv6.
	udp->check = bpf_htons(check ? check : 0xffff);
	T0_STOP_AFTER(4, 0);
	__u32 response_len = DNS_HEADER_LEN + name_len + 4 + tail_len;
	if (decision == T0_RRL_SEND)
		tier0_count_sent(&answer->cells, (key.shape >> 1) | (v6 << 1), dns_len, response_len);
	else
		tier0_count(key.qtype, rcode, (key.shape >> 1) | (v6 << 1), decision,
			    (dns_len & 0xffff) | (response_len << 16));
	// Last: nothing of the answer's is kept alive for it.
	if (t0_capture_every)
		tier0_capture_send(ctx);
	return 0;
}

SEC("xdp")
int xdp_dns_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *cursor;
	__be16 proto;
	__u32 l3;

	if ((void *)(eth + 1) > data_end)
		return count(STEER_PASSED_MALFORMED, XDP_PASS);
	proto = eth->h_proto;
	cursor = eth + 1;
	// Counted, not derived from the pointers: the verifier then knows its range.
	l3 = sizeof(*eth);

	// Up to two tags: 802.1Q, or 802.1ad outer + 802.1Q inner (QinQ).
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_hdr *vlan = cursor;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vlan + 1) > data_end)
			return count(STEER_PASSED_MALFORMED, XDP_PASS);
		proto = vlan->encapsulated_proto;
		cursor = vlan + 1;
		l3 += sizeof(*vlan);
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cursor;
		__u32 header_len;

		if ((void *)(ip + 1) > data_end)
			return count(STEER_PASSED_MALFORMED, XDP_PASS);
		if (ip->version != 4 || ip->ihl < 5)
			return count(STEER_PASSED_MALFORMED, XDP_PASS);
		if (ip->protocol != IPPROTO_UDP)
			return count(STEER_PASSED_NOT_UDP, XDP_PASS);
		// Only the kernel reassembles; a fragment's UDP header may be absent.
		if (ip->frag_off & bpf_htons(IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET))
			return count(STEER_PASSED_FRAGMENT, XDP_PASS);
		header_len = ip->ihl * 4; // ≤ 60: the verifier sees a bounded offset
		udp = cursor + header_len;
		if ((void *)(udp + 1) > data_end || !udp_datagram_complete(udp, data_end))
			return count(STEER_PASSED_MALFORMED, XDP_PASS);
		if (!ports_contains(udp->dest))
			return count(STEER_PASSED_PORT, XDP_PASS);
		if (!address_allowed4(ip->daddr))
			return count(STEER_PASSED_ADDRESS, XDP_PASS);
		if (!mac_is_ours(eth))
			return count(STEER_PASSED_MAC, XDP_PASS);
		if (!source_plausible4(ip->saddr) || udp->source == 0)
			return count(STEER_PASSED_SOURCE, XDP_PASS);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cursor;

		if ((void *)(ip6 + 1) > data_end)
			return count(STEER_PASSED_MALFORMED, XDP_PASS);
		if (ip6->version != 6)
			return count(STEER_PASSED_MALFORMED, XDP_PASS);
		// Walking extension headers buys nothing for DNS and costs verifier
		// complexity; such queries are rare and the kernel stack handles them.
		if (is_ipv6_extension(ip6->nexthdr))
			return count(STEER_PASSED_IPV6_EXTENSION, XDP_PASS);
		if (ip6->nexthdr != IPPROTO_UDP)
			return count(STEER_PASSED_NOT_UDP, XDP_PASS);
		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end || !udp_datagram_complete(udp, data_end))
			return count(STEER_PASSED_MALFORMED, XDP_PASS);
		if (!ports_contains(udp->dest))
			return count(STEER_PASSED_PORT, XDP_PASS);
		if (!address_allowed6(&ip6->daddr))
			return count(STEER_PASSED_ADDRESS, XDP_PASS);
		if (!mac_is_ours(eth))
			return count(STEER_PASSED_MAC, XDP_PASS);
		if (!source_plausible6(&ip6->saddr) || udp->source == 0)
			return count(STEER_PASSED_SOURCE, XDP_PASS);
		// Illegal over IPv6 (RFC 8200 8.1). Passed, not dropped: the kernel
		// drops it and counts it where operators look (Udp6InErrors), and
		// this program keeps its rule of never dropping.
		if (udp->check == 0)
			return count(STEER_PASSED_CHECKSUM, XDP_PASS);
	} else {
		return count(STEER_PASSED_NOT_IP, XDP_PASS);
	}

	// NOTIFY (RFC 1996) is for the secondary zones, which live beside the
	// kernel sockets: the workers would answer it NOTIMP. A message too
	// short to show its opcode is the worker's to refuse.
	__u8 *dns = (void *)(udp + 1);
	if ((void *)(dns + 3) <= data_end && (dns[2] & 0x80) == 0 && ((dns[2] >> 3) & 0x0f) == 4)
		return count(STEER_PASSED_NOTIFY, XDP_PASS);

	// Two copies, one per family, so each has its header sizes as constants.
	if (tier0_enabled) {
		int answered = proto == bpf_htons(ETH_P_IPV6) ? tier0_answer(ctx, l3, 1) : tier0_answer(ctx, l3, 0);

		if (answered == 0)
			return count(STEER_ANSWERED_TIER0, XDP_TX);
		if (answered == 1)
			return count(STEER_RATE_LIMITED_TIER0, XDP_DROP);
	}

	__u32 queue = ctx->rx_queue_index;

	// A stopped, hung or never-started worker would leave its queries in a
	// ring nobody reads: the kernel answers them until it beats again. A
	// queue without a socket is not stalled: the redirect below counts it.
	if (stall_threshold_ns && bpf_map_lookup_elem(&xsks, &queue) && !worker_alive(queue))
		return count(STEER_PASSED_STALLED, XDP_PASS);

	// XDP_PASS as the fallback: a queue whose socket is missing (not yet
	// bound, or its worker gone) degrades to the kernel instead of silently
	// dropping port-53 traffic.
	int action = bpf_redirect_map(&xsks, queue, XDP_PASS);

	return count(action == XDP_REDIRECT ? STEER_REDIRECTED : STEER_PASSED_NO_SOCKET, action);
}

// The project's licence. No GPL-only helper is used, so the kernel does not
// require a GPL-compatible one.
char LICENSE[] SEC("license") = "MIT OR Apache-2.0";
