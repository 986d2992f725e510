/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Capture of the answers tier 0 gives (docs/DESIGN.md, "Query capture"):
 * 1-in-N of them, counted per CPU, go to the `t0_capture` ring buffer as a
 * `struct t0_capture_record` (xdp_dns.h): addresses, ports, the time, the
 * query and the answer. The loader reads the ring from a thread of its own
 * and hands each record to the capture's outputs, as a worker's.
 *
 * Off (t0_capture_every 0), the verifier prunes both calls and the program
 * is what it was without this file.
 */
#ifndef TIER0_CAPTURE_H
#define TIER0_CAPTURE_H

// In the record's flags while it waits for its answer; never sent.
#define T0_CAP_PENDING 0x80

// 1-in-N of the tier-0 answers on each CPU (.rodata, set by the loader).
volatile const __u32 t0_capture_every = 0;

// Sized by the loader (a page when capture is off).
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} t0_capture SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct t0_capture_cpu);
} t0_capture_cpu SEC(".maps");

// Counts an answer about to be given on this CPU; the N-th has its query
// (the DNS message, `len` bytes at `off`) copied now, before the frame
// becomes the answer, and is marked pending for tier0_capture_send.
// Out of line: verified once per call, and a few instructions where it is
// called. Global functions would be verified even with capture off.
static __attribute__((noinline)) int tier0_capture_query(struct xdp_md *ctx, __u64 off, __u64 len)
{
	__u32 zero = 0;
	struct t0_capture_cpu *cpu = bpf_map_lookup_elem(&t0_capture_cpu, &zero);

	// Opaque: clang knows what the callers pass and would drop bounds
	// that the verifier needs.
	asm volatile("" : "+r"(off), "+r"(len));
	if (!cpu)
		return 0;
	cpu->record.flags = 0;
	cpu->tick += 1;
	if (cpu->tick < t0_capture_every)
		return 0;
	cpu->tick = 0;
	if (len > T0_CAP_QUERY_MAX) {
		len = T0_CAP_QUERY_MAX;
		cpu->record.flags = T0_CAP_QUERY_CUT;
	}
	if (len == 0 || off > 0xffff)
		return 0;
	cpu->record.query_len = len;
	if (bpf_xdp_load_bytes(ctx, off, cpu->record.query, len))
		return 0;
	cpu->record.flags |= T0_CAP_PENDING;
	return 1;
}

// The frame now holds the answer: its addresses and ports are the query's
// swapped. Sends the pending record, or counts it lost when the ring is
// full. It finds the headers again itself: the caller keeps nothing alive
// for it, so with capture off (the call pruned) its code is as it was.
static __attribute__((noinline)) int tier0_capture_send(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct t0_capture_cpu *cpu = bpf_map_lookup_elem(&t0_capture_cpu, &zero);
	struct t0_capture_record *r;
	__u64 l3 = 14;

	if (!cpu || !(cpu->record.flags & T0_CAP_PENDING) || data + 22 + 2 > data_end)
		return 0;
	r = &cpu->record;
	r->flags &= ~T0_CAP_PENDING;
	// The answer has the query's tags (up to two, as tier 0 takes them).
	__u16 proto = *(__u16 *)(data + 12);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		l3 = 18;
		proto = *(__u16 *)(data + 16);
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
			l3 = 22;
			proto = *(__u16 *)(data + 20);
		}
	}
	__u64 v6 = proto == bpf_htons(ETH_P_IPV6);
	__u64 udp_off = l3 + (v6 ? 40 : 20);
	__u16 udp[4];

	r->time_ns = bpf_ktime_get_ns();
	r->v6 = v6;
	__builtin_memset(r->client, 0, sizeof(r->client));
	__builtin_memset(r->server, 0, sizeof(r->server));
	if (v6) {
		if (bpf_xdp_load_bytes(ctx, l3 + 8, r->server, 16) || bpf_xdp_load_bytes(ctx, l3 + 24, r->client, 16))
			return 0;
	} else {
		if (bpf_xdp_load_bytes(ctx, l3 + 12, r->server, 4) || bpf_xdp_load_bytes(ctx, l3 + 16, r->client, 4))
			return 0;
	}
	if (bpf_xdp_load_bytes(ctx, udp_off, udp, sizeof(udp)))
		return 0;
	r->server_port = udp[0];
	r->client_port = udp[1];
	__u64 len = bpf_ntohs(udp[2]);
	asm volatile("" : "+r"(len));
	if (len <= 8)
		return 0;
	len -= 8;
	if (len > T0_CAP_RESPONSE_MAX) {
		len = T0_CAP_RESPONSE_MAX;
		r->flags |= T0_CAP_RESPONSE_CUT;
	}
	r->response_len = len;
	if (bpf_xdp_load_bytes(ctx, udp_off + 8, r->response, len))
		return 0;
	// No wakeup: the reader polls on a timer, and a wakeup per record
	// would cost an irq_work here.
	if (bpf_ringbuf_output(&t0_capture, r, __builtin_offsetof(struct t0_capture_record, response) + len,
			       BPF_RB_NO_WAKEUP)) {
		cpu->lost += 1;
		return 0;
	}
	return 1;
}

#endif
