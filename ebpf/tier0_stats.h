/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * What the workers count of each response, counted by the program for the
 * answers it gives itself (tier 0): by qtype, rcode, DO, client family,
 * RRL action and message sizes, as stats::DnsCounters and
 * stats::breakdown count them. Summed over CPUs by the loader
 * (responder/src/xdp/tier0/stats.rs, which mirrors this layout and checks
 * it against this file) into `path="xdp-kernel"`.
 *
 * One struct per CPU, so that an answer costs one map lookup and a few
 * adds to one cache line or two, never an atomic.
 */
#ifndef TIER0_STATS_H
#define TIER0_STATS_H

#define T0S_QTYPES 16  /* stats::breakdown::qtype::QTYPES, `other` last */
#define T0S_RCODES 8   /* stats::DnsCounters::RCODES */
#define T0S_SIZES 10   /* stats::breakdown::size::BUCKETS */

/* The qtypes counted apart, in QTYPES order; every other one is `other`. */
#define T0S_QTYPE_NUMBERS {1, 28, 2, 6, 15, 16, 5, 12, 33, 43, 48, 65, 64, 257, 255}

struct t0_stats {
	__u64 qtype[T0S_QTYPES];
	__u64 rcode[T0S_RCODES];
	__u64 dnssec_ok;
	__u64 ipv6;
	__u64 slipped;
	__u64 dropped;
	__u64 query_size[T0S_SIZES];
	__u64 query_bytes;
	__u64 response_size[T0S_SIZES];
	__u64 response_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct t0_stats);
} t0_stats SEC(".maps");

// Branchless pieces: the verifier follows each outcome of a branch as a
// path of its own, and a compare chain per counter multiplied them past its
// limit. The empty asm keeps clang from folding them back into compares.
static __always_inline __u64 t0s_is_zero(__u64 x)
{
	asm volatile("" : "+r"(x));
	return (x - 1) >> 63; // x < 2^32: 1 only for 0
}

static __always_inline __u64 t0s_above(__u64 x, __u64 bound)
{
	__u64 d = bound - x;

	asm volatile("" : "+r"(d));
	return d >> 63; // both < 2^32: 1 when x > bound
}

// The breakdown's qtype cell: the index of a counted type, else `other`.
static __always_inline __u64 t0s_qtype_cell(__u64 qtype)
{
	const __u16 numbers[] = T0S_QTYPE_NUMBERS;
	__u64 cell = 0;
	__u64 found = 0;

#pragma unroll
	for (int i = 0; i < T0S_QTYPES - 1; i++) {
		__u64 hit = t0s_is_zero(qtype ^ numbers[i]);

		cell += hit * i;
		found += hit;
	}
	return (cell + (1 - found) * (T0S_QTYPES - 1)) & (T0S_QTYPES - 1);
}

// The power-of-two bucket of a message `len` bytes long: 16, 32, ... 4096, more.
static __always_inline __u64 t0s_size_cell(__u64 len)
{
	__u64 cell = 0;

#pragma unroll
	for (int i = 0; i < T0S_SIZES - 1; i++)
		cell += t0s_above(len, 16u << i);
	return cell < T0S_SIZES ? cell : T0S_SIZES - 1;
}

// One tier-0 response decided: `rcode` from its header, `flags` T0S_DO and
// T0S_IPV6, `decision` a T0_RRL_* (T0_RRL_SEND without rate limiting),
// `response_len` the DNS message sent (none for a drop).
//
// A global function: the verifier checks it once, on its own, instead of
// once for every path that reaches a call. Its one helper, a map lookup,
// every kernel has.
#define T0S_DO 1
#define T0S_IPV6 2

__attribute__((noinline)) int tier0_count(__u32 qtype, __u32 rcode, __u32 flags, __u32 decision, __u32 lens)
{
	__u32 zero = 0;
	struct t0_stats *s = bpf_map_lookup_elem(&t0_stats, &zero);

	if (!s)
		return 0;
	__u64 query_len = lens & 0xffff;
	__u64 response_len = lens >> 16;
	__u64 r = rcode & 15;
	// 0-5 as themselves, anything else `other` (tier 0 has no BADVERS).
	__u64 other = t0s_above(r, 5);
	__u64 dropped = (decision >> 1) & 1;
	__u64 sent = 1 - dropped;

	s->qtype[t0s_qtype_cell(qtype)] += 1;
	s->rcode[(r * (1 - other) + 7 * other) & 7] += 1;
	s->dnssec_ok += flags & T0S_DO;
	s->ipv6 += (flags & T0S_IPV6) >> 1;
	s->slipped += decision & 1;
	s->dropped += dropped;
	s->query_size[t0s_size_cell(query_len)] += 1;
	s->query_bytes += query_len;
	s->response_size[t0s_size_cell(response_len)] += sent;
	s->response_bytes += response_len * sent;
	return 0;
}

// An answer sent as compiled (no rate limiting's slip or drop), the common
// case: its cells were worked out by the compiler (`struct t0_cells`), so
// this is one lookup and eight adds. `flags` as for tier0_count.
static __always_inline void tier0_count_sent(const struct t0_cells *cells, __u32 flags, __u32 query_len,
					     __u32 response_len)
{
	__u32 zero = 0;
	struct t0_stats *s = bpf_map_lookup_elem(&t0_stats, &zero);

	if (!s)
		return;
	s->qtype[cells->qtype & (T0S_QTYPES - 1)] += 1;
	s->rcode[cells->rcode & (T0S_RCODES - 1)] += 1;
	s->dnssec_ok += flags & T0S_DO;
	s->ipv6 += (flags & T0S_IPV6) >> 1;
	s->query_size[cells->query_size < T0S_SIZES ? cells->query_size : T0S_SIZES - 1] += 1;
	s->query_bytes += query_len & 0xffff;
	s->response_size[cells->response_size < T0S_SIZES ? cells->response_size : T0S_SIZES - 1] += 1;
	s->response_bytes += response_len & 0xffff;
}

#endif
