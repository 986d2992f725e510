// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The in-kernel floor for `cargo xtask bench` (server `floor-xdp-tx`): every
// DNS query to the configured address is turned around in the XDP hook and
// sent back with XDP_TX, with no DNS work at all. It is the cheapest answer
// an XDP program can give, so it bounds what tier 0 (xdp_dns.c answering
// from its map) can reach on the same path. Not a DNS server.
//
// A query is Ethernet (at most one VLAN tag), IPv4 without options and not
// a fragment, or IPv6 with UDP as next header, then UDP to port 53 of
// `reflect_addr4` / `reflect_addr6`, with a whole DNS header whose QR is
// clear (so a reply is never reflected again). The reply is the query with
// MACs, addresses and ports swapped and the header's flags made a REFUSED
// response (QR set, AA and RCODE replaced): what the AF_XDP floor answers,
// except that the floor also cuts what follows the question. Over IPv4 the
// UDP checksum is zeroed (none, RFC 768): right whatever the query's was,
// and the cheapest. Over IPv6 it is required: swapping addresses and ports
// leaves the one's-complement sum unchanged, so only the flags word is
// patched in (RFC 1624). That assumes the query's checksum was complete, as
// kxdpgun's and a NIC's are; a local stack's on veth is only the partial
// sum of checksum offload (turn it off with `ethtool -K IFACE tx off`).
// Everything else is XDP_PASS.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define REFLECT_MAX_QUEUES 256
#define DNS_PORT 53
#define DNS_HEADER_LEN 12
#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define RCODE_MASK 0x000f
#define RCODE_REFUSED 5

// Set by the loader (.rodata): the server's addresses, network byte order.
// All zero: that family is not reflected.
volatile const __u32 reflect_addr4 = 0;
volatile const __u32 reflect_addr6[4] = { 0, 0, 0, 0 };

// Frames reflected, per RX queue (per CPU, summed by the loader): shows
// which queues did the work.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REFLECT_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u64);
} reflected SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
}

// Turns the DNS header into a REFUSED response and the UDP datagram around;
// returns XDP_TX, or XDP_PASS when it is not a query to port 53.
static __always_inline int reflect_udp(struct udphdr *udp, void *data_end, __u32 queue, int v6)
{
	__be16 *flags = (void *)(udp + 1) + 2;
	__u16 old, new;
	__be16 port;

	if ((void *)(udp + 1) + DNS_HEADER_LEN > data_end)
		return XDP_PASS;
	if (udp->dest != bpf_htons(DNS_PORT))
		return XDP_PASS;
	old = bpf_ntohs(*flags);
	if (old & FLAG_QR)
		return XDP_PASS;
	new = (old & ~(FLAG_AA | RCODE_MASK)) | FLAG_QR | RCODE_REFUSED;
	*flags = bpf_htons(new);
	if (!v6) {
		udp->check = 0;
	} else {
		// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), folded.
		__u32 sum = (__u16)~bpf_ntohs(udp->check) + (__u16)~old + new;

		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		new = ~sum;
		// 0 means "no checksum" in UDP; the same sum is sent as 0xffff.
		udp->check = bpf_htons(new ? new : 0xffff);
	}
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;

	__u64 *count = bpf_map_lookup_elem(&reflected, &queue);
	if (count)
		*count += 1;
	return XDP_TX;
}

SEC("xdp")
int xdp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *next = eth + 1;
	__be16 proto;
	int action;

	if (next > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = next;

		if ((void *)(vlan + 1) > data_end)
			return XDP_PASS;
		proto = vlan->encapsulated_proto;
		next = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = next;
		__be32 addr;

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		if (ip->frag_off & bpf_htons(0x3fff) || ip->daddr != reflect_addr4 || !reflect_addr4)
			return XDP_PASS;
		action = reflect_udp((void *)(ip + 1), data_end, ctx->rx_queue_index, 0);
		if (action != XDP_TX)
			return action;
		// The header checksum covers both addresses: a swap keeps it.
		addr = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = addr;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = next;
		struct in6_addr addr;
		__u32 *dst;

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		dst = ip6->daddr.in6_u.u6_addr32;
		if (dst[0] != reflect_addr6[0] || dst[1] != reflect_addr6[1] || dst[2] != reflect_addr6[2] ||
		    dst[3] != reflect_addr6[3] || !(reflect_addr6[0] | reflect_addr6[1] | reflect_addr6[2] | reflect_addr6[3]))
			return XDP_PASS;
		action = reflect_udp((void *)(ip6 + 1), data_end, ctx->rx_queue_index, 1);
		if (action != XDP_TX)
			return action;
		addr = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
	} else {
		return XDP_PASS;
	}
	swap_macs(eth);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "MIT OR Apache-2.0";
