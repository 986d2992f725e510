// SPDX-License-Identifier: MIT OR Apache-2.0
//
// XDP steering for responder: DNS queries go to the AF_XDP socket bound to
// the receiving queue; every other frame continues to the kernel untouched.
// A query is UDP to a configured port and to one of the interface's own
// addresses that is listened on, sent to the interface's MAC, from a
// plausible unicast source. Anything less is the kernel's to judge, as it
// would be without this program.
//
// The program never drops and never rewrites: the worst a bug here can do is
// send a frame to the kernel that a worker could have answered.

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

SEC("xdp")
int xdp_dns_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *cursor;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return count(STEER_PASSED_MALFORMED, XDP_PASS);
	proto = eth->h_proto;
	cursor = eth + 1;

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
