/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Tier 0's response rate limiting: the workers' RRL (responder/src/rrl/),
 * decided in the program for the answers it gives itself. Included by
 * xdp_dns.c inside tier 0 (after its helpers); the loader sets the
 * constants from the same [rrl] settings the workers get
 * (responder/src/xdp/tier0/rrl.rs). Rate 0 is off: the verifier prunes it.
 *
 * The same model as a worker's limiter, decision for decision:
 * - a bucket per (address family, client prefix, response class), the
 *   prefixes cut at the configured lengths, the class answer / NXDOMAIN /
 *   error from the rcode;
 * - a token bucket counted in thousandths of a response: `rate` units a
 *   millisecond, full at one second's worth, a newcomer full;
 * - of a bucket's limited responses every `slip`-th is slipped (TC=1, the
 *   question and OPT alone) and the others dropped; slip 0 drops them all.
 *
 * Per CPU, as the workers' limiters are per worker (one per RX queue, the
 * CPU its interrupt runs on): no atomics, no shared cache line. Where a
 * worker's table evicts the fullest bucket of a probe window, this map
 * evicts the least recently used key: the same while the table has room;
 * under pressure a flooded prefix, used at every packet, is the last to go.
 */
#ifndef TIER0_RRL_H
#define TIER0_RRL_H

/* Thousandths of a response in a token (responder/src/rrl/bucket.rs). */
#define T0_RRL_UNITS 1000
/* A bucket idle this long is full again. */
#define T0_RRL_REFILL_MS 1000

/* The key's kind byte, as BucketKey's: a marker, the family, the class. */
#define T0_RRL_OCCUPIED 0x80
#define T0_RRL_IPV4 0x10
#define T0_RRL_IPV6 0x20

/* What becomes of a tier-0 answer. */
#define T0_RRL_SEND 0
#define T0_RRL_SLIP 1
#define T0_RRL_DROP 2

struct t0_rrl_key {
	__u64 prefix[2];   /* the source address masked to its prefix, as it sits in the header */
	__u8 kind;
	__u8 pad[7];
};

struct t0_rrl_bucket {
	__u64 refilled_ms; /* 0: never charged on this CPU, a full bucket */
	__u32 tokens;
	__u8 limited;      /* limited responses since the last slipped one */
	__u8 pad[3];
};

/* Per-CPU values under one LRU: each CPU keeps its own bucket for a key,
 * zeroed (a full bucket, see refilled_ms) where it has none. max_entries is
 * the [rrl] table size, set by the loader (1 while rate limiting is off). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct t0_rrl_key);
	__type(value, struct t0_rrl_bucket);
} t0_rrl SEC(".maps");

/* Set by the loader (.rodata). Rate 0: no rate limiting, pruned. */
volatile const __u32 t0_rrl_rate = 0;   /* responses a second, ≤ 1,000,000 */
volatile const __u32 t0_rrl_slip = 0;   /* ≤ 100 */
/* The prefix masks as they sit in memory over the header's bytes. */
volatile const __u32 t0_rrl_mask4 = 0;
volatile const __u64 t0_rrl_mask6_hi = 0;
volatile const __u64 t0_rrl_mask6_lo = 0;

/* The response class of a tier-0 answer's header rcode (no extended rcode:
 * tier 0 answers only EDNS version 0). */
static __always_inline __u8 t0_rrl_class(__u8 rcode)
{
	return rcode == 0 ? 0 : rcode == 3 ? 1 : 2;
}

/* The bucket key of a response of `rcode` to the source address at `saddr`
 * (4 or 16 bytes, in the packet). */
static __always_inline void t0_rrl_key_of(struct t0_rrl_key *key, const __u8 *saddr, int v6, __u8 rcode)
{
	__builtin_memset(key, 0, sizeof(*key));
	if (v6) {
		__builtin_memcpy(key->prefix, saddr, 16);
		key->prefix[0] &= t0_rrl_mask6_hi;
		key->prefix[1] &= t0_rrl_mask6_lo;
		key->kind = T0_RRL_OCCUPIED | T0_RRL_IPV6 | t0_rrl_class(rcode);
	} else {
		__u32 a;

		__builtin_memcpy(&a, saddr, 4);
		key->prefix[1] = a & t0_rrl_mask4;
		key->kind = T0_RRL_OCCUPIED | T0_RRL_IPV4 | t0_rrl_class(rcode);
	}
}

/* The fate of one response for the key (prefix words, kind):
 * TokenBucket::take, with the clock read per packet (a worker reads it once
 * per batch). -1 when the map has no bucket to give (it always should: an
 * LRU map evicts): the worker then answers, and decides with its own
 * limiter.
 *
 * A global function, so that the verifier checks its branches once rather
 * than once for each path into it; its helpers are as old as XDP. */
__attribute__((noinline)) int tier0_rrl_decide(__u64 prefix0, __u64 prefix1, __u32 kind)
{
	struct t0_rrl_key key;

	__builtin_memset(&key, 0, sizeof(key));
	key.prefix[0] = prefix0;
	key.prefix[1] = prefix1;
	key.kind = kind;
	__u64 now = bpf_ktime_get_ns() / 1000000;
	struct t0_rrl_bucket *b = bpf_map_lookup_elem(&t0_rrl, &key);

	if (!b) {
		struct t0_rrl_bucket fresh;

		__builtin_memset(&fresh, 0, sizeof(fresh));
		/* Another CPU may have added the key meanwhile: then this
		 * CPU's value is zero, a full bucket, all the same. */
		bpf_map_update_elem(&t0_rrl, &key, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&t0_rrl, &key);
		if (!b)
			return -1;
	}
	/* 0 marks a bucket never charged: the clock starts above it. */
	if (now == 0)
		now = 1;
	__u64 rate = t0_rrl_rate;
	__u64 full = rate * T0_RRL_UNITS;
	__u64 tokens = full;

	if (b->refilled_ms != 0 && now < b->refilled_ms + T0_RRL_REFILL_MS) {
		/* A clock that went backwards adds nothing. */
		__u64 elapsed = now > b->refilled_ms ? now - b->refilled_ms : 0;

		tokens = b->tokens + elapsed * rate;
		if (tokens > full)
			tokens = full;
	}
	if (now > b->refilled_ms)
		b->refilled_ms = now;
	if (tokens >= T0_RRL_UNITS) {
		b->tokens = tokens - T0_RRL_UNITS;
		return T0_RRL_SEND;
	}
	b->tokens = tokens;
	if (t0_rrl_slip == 0)
		return T0_RRL_DROP;
	b->limited += 1;
	if (b->limited >= t0_rrl_slip) {
		b->limited = 0;
		return T0_RRL_SLIP;
	}
	return T0_RRL_DROP;
}

#endif
