/*
 * keyfish.h: the C interface of Keyfish user programs.
 *
 * A Keyfish program holds keys in sixteen key registers and acts only by
 * invoking them. An invocation is one rv64 `ecall` (see the Ecall comment
 * in abi/abi.go and kf_invoke below): it names a key register, an
 * invocation type (CALL, RETURN or FORK), an order code, a byte string and
 * up to four keys to send, and where the string and keys of the message
 * that answers are to be received.
 *
 * Everything here is a static inline function or a macro: there is no
 * library to link, and no wrapper allocates memory (a few keep a message
 * buffer of at most KF_LIMIT_STRING bytes on the stack).
 *
 * Conventions of the wrappers:
 *   - Key registers are plain numbers 0..15 (type unsigned). Register 0
 *     always holds DK(0); naming it as the destination of a received key
 *     discards that key.
 *   - A wrapper returns the return code of the reply (KF_RC_OK, zero, on
 *     success, a negative KF_RC_... on failure), unless its comment says
 *     otherwise. Invoking a data key DK(n) returns n whatever the order.
 *   - Words inside message strings are little-endian 64-bit words, which is
 *     the native layout of uint64_t on rv64.
 *   - A wrapper that gets a key back takes the register it is to land in
 *     (`dst`); the previous key there is overwritten.
 */
#ifndef KEYFISH_H
#define KEYFISH_H

#include <stddef.h>
#include <stdint.h>

#include <keyfish/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Address space of a program, as the loader sets it up.              */

/* KF_IMAGE_BASE is where the program's text starts. */
#define KF_IMAGE_BASE 0x00010000UL
/* KF_IMAGE_LIMIT is the end of the range the program image must fit in. */
#define KF_IMAGE_LIMIT 0x10000000UL
/* KF_HEAP_BASE is the start of the demand-zero heap range that sbrk hands out. */
#define KF_HEAP_BASE 0x10000000UL
/* KF_HEAP_LIMIT is the end of the heap range. */
#define KF_HEAP_LIMIT 0x20000000UL
/* KF_STACK_BASE is the lowest address of the demand-zero stack range. */
#define KF_STACK_BASE 0x70000000UL
/* KF_STACK_TOP is the end of the stack range; the initial sp is below it. */
#define KF_STACK_TOP 0x80000000UL

/* ------------------------------------------------------------------ */
/* Descriptors and key lists.                                          */

/* KF_DESC makes an ecall descriptor: key register kr, invocation type inv. */
#define KF_DESC(kr, inv) \
	(((unsigned long)(kr) & (unsigned long)KF_ECALL_KEY_MASK) | \
	 ((unsigned long)(inv) << KF_ECALL_TYPE_SHIFT))

/*
 * KF_KEYS packs four key register numbers into the nibble list of a4 (keys
 * to send) or a7 (registers receiving keys): key i is in bits 4i..4i+3.
 */
#define KF_KEYS(k0, k1, k2, k3) \
	(((unsigned long)(k0) & 15UL) | (((unsigned long)(k1) & 15UL) << 4) | \
	 (((unsigned long)(k2) & 15UL) << 8) | (((unsigned long)(k3) & 15UL) << 12))

/* KF_KEY0 is the key list with only key 0, from or into register kr. */
#define KF_KEY0(kr) KF_KEYS((kr), 0, 0, 0)

/*
 * KF_RECV_KEYS is the SDK's default place for received keys: key i lands in
 * key register KF_KR_RECV0 + i (12..15).
 */
#define KF_RECV_KEYS \
	KF_KEYS(KF_KR_RECV0, KF_KR_RECV0 + 1, KF_KR_RECV0 + 2, KF_KR_RECV0 + 3)

/*
 * KF_RECV_KEY_REGS initializes the keys of a kf_recv with the SDK's default
 * registers: .keys = KF_RECV_KEY_REGS.
 */
#define KF_RECV_KEY_REGS \
	{ KF_KR_RECV0, KF_KR_RECV0 + 1, KF_KR_RECV0 + 2, KF_KR_RECV0 + 3 }

/*
 * KF_RECV_RESUME is the register where the fourth received key lands with
 * KF_RECV_KEYS: the resume key of a CALL, or the restart key of a trap
 * message. kf_reply answers through it.
 */
#define KF_RECV_RESUME (KF_KR_RECV0 + 3)

/*
 * KF_RED_FORMAT makes the data word of a red segment node's format slot
 * (KF_RED_FORMAT_SLOT): segment size, number of mapping slots, and the slot
 * holding the keeper's start key (or KF_RED_NO_KEEPER).
 */
#define KF_RED_FORMAT(size, slots, keeper) \
	((unsigned long)(size) | ((unsigned long)(slots) << KF_RED_SLOTS_SHIFT) | \
	 ((unsigned long)(keeper) << KF_RED_KEEPER_SHIFT))

/* ------------------------------------------------------------------ */
/* The raw invocation.                                                 */

/* kf_result is what an ecall leaves in a0..a2. */
typedef struct kf_result {
	/* rc is the order or return code of the message that arrived. */
	long rc;
	/* len is the length of the string sent; at most the receive buffer's
	 * length of it was written. */
	unsigned long len;
	/* data is the data byte of the start key the message came through, or
	 * KF_ECALL_FROM_RESUME for a message through a resume key. */
	long data;
} kf_result;

/*
 * kf_invoke performs one ecall, exactly as abi.Ecall describes it:
 * desc (KF_DESC(register, type)), order code, send string snd/snd_len,
 * send keys (KF_KEYS nibbles), receive buffer rcv/rcv_cap and receive keys
 * (KF_KEYS nibbles, 0 discards). It returns a0..a2 after the message that
 * answers arrives (for a FORK: at once, rc = KF_RC_OK). The kernel
 * preserves every register but a0..a2, and it reads the send string and
 * writes the receive buffer, hence the "memory" clobber.
 */
static inline kf_result kf_invoke(unsigned long desc, long order,
				  const void *snd, unsigned long snd_len,
				  unsigned long snd_keys, void *rcv,
				  unsigned long rcv_cap, unsigned long rcv_keys)
{
	register unsigned long a0 __asm__("a0") = desc;
	register unsigned long a1 __asm__("a1") = (unsigned long)order;
	register unsigned long a2 __asm__("a2") = (unsigned long)snd;
	register unsigned long a3 __asm__("a3") = snd_len;
	register unsigned long a4 __asm__("a4") = snd_keys;
	register unsigned long a5 __asm__("a5") = (unsigned long)rcv;
	register unsigned long a6 __asm__("a6") = rcv_cap;
	register unsigned long a7 __asm__("a7") = rcv_keys;
	__asm__ __volatile__("ecall"
			     : "+r"(a0), "+r"(a1), "+r"(a2)
			     : "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7)
			     : "memory");
	kf_result r;
	r.rc = (long)a0;
	r.len = a1;
	r.data = (long)a2;
	return r;
}

/* ------------------------------------------------------------------ */
/* Messages.                                                           */

/* kf_send is a message to send. */
typedef struct kf_send {
	/* order is the order code (or, in a reply, the return code). */
	long order;
	/* str and len are the string: len is 0..KF_LIMIT_STRING. */
	const void *str;
	unsigned long len;
	/* keys are the key registers of the four keys to send; register 0
	 * sends DK(0). */
	unsigned char keys[4];
} kf_send;

/* kf_recv says where a message is to be received and holds what arrived. */
typedef struct kf_recv {
	/* buf and cap are the receive buffer, set by the receiver. */
	void *buf;
	unsigned long cap;
	/* keys are the registers the four received keys land in, set by the
	 * receiver; 0 discards a key. KF_RECV_KEY_REGS ({12, 13, 14, 15}) is
	 * the SDK default. */
	unsigned char keys[4];
	/* order is the order or return code that arrived. */
	long order;
	/* len is the length of the string sent; min(len, cap) bytes are in buf. */
	unsigned long len;
	/* data is the start key's data byte or KF_ECALL_FROM_RESUME. */
	long data;
} kf_recv;

/* kf_keylist packs a kf_send/kf_recv key array into ecall nibbles. */
static inline unsigned long kf_keylist(const unsigned char k[4])
{
	return KF_KEYS(k[0], k[1], k[2], k[3]);
}

/* kf_recv_len is how many bytes of the received string are in r->buf. */
static inline unsigned long kf_recv_len(const kf_recv *r)
{
	return r->len < r->cap ? r->len : r->cap;
}

/* kf_msg_invoke invokes key register kr with type inv; s and r may be NULL
 * (send the empty message with order 0 / receive nothing). */
static inline long kf_msg_invoke(unsigned kr, long inv, const kf_send *s,
				 kf_recv *r)
{
	kf_result x = kf_invoke(KF_DESC(kr, inv), s ? s->order : 0,
				s ? s->str : NULL, s ? s->len : 0,
				s ? kf_keylist(s->keys) : 0,
				r ? r->buf : NULL, r ? r->cap : 0,
				r ? kf_keylist(r->keys) : 0);
	if (r) {
		r->order = x.rc;
		r->len = x.len;
		r->data = x.data;
	}
	return x.rc;
}

/*
 * kf_call sends s to the key in register kr and waits for the reply, which
 * is received as r says. The target gets a resume key to this domain as the
 * fourth key of the message. Returns the reply's return code.
 */
static inline long kf_call(unsigned kr, const kf_send *s, kf_recv *r)
{
	return kf_msg_invoke(kr, KF_INV_CALL, s, r);
}

/*
 * kf_return sends s to the key in register kr and makes this domain
 * available: the next message to any of its start keys is received as r
 * says, and kf_return returns that message's order code. The string is
 * sent before the next message is received, so s->str and r->buf may be the
 * same buffer.
 */
static inline long kf_return(unsigned kr, const kf_send *s, kf_recv *r)
{
	return kf_msg_invoke(kr, KF_INV_RETURN, s, r);
}

/*
 * kf_fork sends s to the key in register kr and goes on running. Returns
 * KF_RC_OK, or KF_RC_BAD_INVOCATION if the message was malformed.
 */
static inline long kf_fork(unsigned kr, const kf_send *s)
{
	return kf_msg_invoke(kr, KF_INV_FORK, s, NULL);
}

/*
 * kf_wait makes this domain available (a RETURN to DK(0)) and receives the
 * next message to any of its start keys as r says. Returns its order code.
 */
static inline long kf_wait(kf_recv *r)
{
	return kf_msg_invoke(KF_KR_NULL, KF_INV_RETURN, NULL, r);
}

/*
 * kf_reply answers the message received last through the key in register
 * KF_RECV_RESUME (its resume or restart key, with the default receive
 * keys), then waits for the next message like kf_wait. Returns the next
 * message's order code.
 */
static inline long kf_reply(const kf_send *s, kf_recv *r)
{
	return kf_msg_invoke(KF_RECV_RESUME, KF_INV_RETURN, s, r);
}

/* ------------------------------------------------------------------ */
/* Helpers the object wrappers share.                                  */

/* kf_call_raw CALLs register kr with the raw ecall arguments. */
static inline kf_result kf_call_raw(unsigned kr, long order, const void *snd,
				    unsigned long snd_len,
				    unsigned long snd_keys, void *rcv,
				    unsigned long rcv_cap,
				    unsigned long rcv_keys)
{
	return kf_invoke(KF_DESC(kr, KF_INV_CALL), order, snd, snd_len,
			 snd_keys, rcv, rcv_cap, rcv_keys);
}

/* kf_call_keys CALLs register kr with no string: key lists only. */
static inline long kf_call_keys(unsigned kr, long order,
				unsigned long snd_keys, unsigned long rcv_keys)
{
	return kf_call_raw(kr, order, NULL, 0, snd_keys, NULL, 0, rcv_keys).rc;
}

/* kf_call_word CALLs register kr with a one-word string w. */
static inline long kf_call_word(unsigned kr, long order, uint64_t w,
				unsigned long snd_keys, unsigned long rcv_keys)
{
	return kf_call_raw(kr, order, &w, sizeof w, snd_keys, NULL, 0,
			   rcv_keys).rc;
}

/* kf_call_words_out CALLs register kr with the key lists given and receives
 * up to n words of reply string into out; *got (if not NULL) is set to the
 * number of whole words received. */
static inline long kf_call_words_out(unsigned kr, long order,
				     const void *snd, unsigned long snd_len,
				     unsigned long snd_keys, uint64_t *out,
				     unsigned long n, unsigned long *got)
{
	kf_result x = kf_call_raw(kr, order, snd, snd_len, snd_keys, out,
				  n * sizeof(uint64_t), 0);
	if (got) {
		unsigned long len = x.len < n * sizeof(uint64_t) ?
			x.len : n * sizeof(uint64_t);
		*got = len / sizeof(uint64_t);
	}
	return x.rc;
}

/* kf_key_type asks the kernel key in register kr its type: returns a
 * KF_KT_... (or n, for a data key DK(n)). */
static inline long kf_key_type(unsigned kr)
{
	return kf_call_keys(kr, KF_OC_KEY_TYPE, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Console.                                                            */

/*
 * kf_console_write writes n bytes to the console key in register kr, in
 * pieces of at most KF_LIMIT_STRING bytes. Returns KF_RC_OK or the first
 * failing return code.
 */
static inline long kf_console_write(unsigned kr, const void *p,
				    unsigned long n)
{
	const char *c = (const char *)p;
	do {
		unsigned long k = n < (unsigned long)KF_LIMIT_STRING ?
			n : (unsigned long)KF_LIMIT_STRING;
		long rc = kf_call_raw(kr, KF_OC_CONSOLE_WRITE, c, k, 0, NULL,
				      0, 0).rc;
		if (rc != KF_RC_OK)
			return rc;
		c += k;
		n -= k;
	} while (n > 0);
	return KF_RC_OK;
}

/* ------------------------------------------------------------------ */
/* Banks.                                                              */

/* kf_bank_buy_page buys a page from the bank in register bank; its page key
 * lands in dst. KF_RC_NO_SPACE when the bank refuses. */
static inline long kf_bank_buy_page(unsigned bank, unsigned dst)
{
	return kf_call_keys(bank, KF_OC_BANK_BUY_PAGE, 0, KF_KEY0(dst));
}

/* kf_bank_buy_node buys a node (all slots DK(0)); its node key lands in dst. */
static inline long kf_bank_buy_node(unsigned bank, unsigned dst)
{
	return kf_call_keys(bank, KF_OC_BANK_BUY_NODE, 0, KF_KEY0(dst));
}

/* kf_bank_buy_domain buys a stopped domain of CPU kind (KF_KIND_...); its
 * domain key lands in dst. KF_RC_NO_CLUSTER if the machine has no such CPU. */
static inline long kf_bank_buy_domain(unsigned bank, long kind, unsigned dst)
{
	return kf_call_word(bank, KF_OC_BANK_BUY_DOMAIN, (uint64_t)kind, 0,
			    KF_KEY0(dst));
}

/* kf_bank_buy_meter buys a meter with the given budget (ticks) under the
 * superior meter in register superior; the new meter key lands in dst. */
static inline long kf_bank_buy_meter(unsigned bank, uint64_t budget,
				     unsigned superior, unsigned dst)
{
	return kf_call_word(bank, KF_OC_BANK_BUY_METER, budget,
			    KF_KEY0(superior), KF_KEY0(dst));
}

/*
 * kf_bank_buy_bank buys a sub-bank; its bank key lands in dst. limits is
 * NULL (no limits) or KF_LEDGER_LIMIT_COUNT words in the order of
 * KF_LEDGER_LIMIT_BYTES..KF_LEDGER_LIMIT_BANKS, KF_UNLIMITED for none.
 */
static inline long kf_bank_buy_bank(unsigned bank, const uint64_t *limits,
				    unsigned dst)
{
	return kf_call_raw(bank, KF_OC_BANK_BUY_BANK, limits,
			   limits ? KF_LEDGER_LIMIT_COUNT * sizeof(uint64_t) : 0,
			   0, NULL, 0, KF_KEY0(dst)).rc;
}

/* kf_bank_sell gives the object whose key is in register obj back to the
 * bank (it must have been bought from this bank or a sub-bank:
 * KF_RC_WRONG_BANK otherwise). Every key to it becomes void. */
static inline long kf_bank_sell(unsigned bank, unsigned obj)
{
	return kf_call_keys(bank, KF_OC_BANK_SELL, KF_KEY0(obj), 0);
}

/* kf_bank_set_limits sets the bank's KF_LEDGER_LIMIT_COUNT limits (bytes,
 * pages, nodes, domains, meters, banks; KF_UNLIMITED for none). */
static inline long kf_bank_set_limits(unsigned bank, const uint64_t *limits)
{
	return kf_call_raw(bank, KF_OC_BANK_SET_LIMITS, limits,
			   KF_LEDGER_LIMIT_COUNT * sizeof(uint64_t), 0, NULL,
			   0, 0).rc;
}

/* kf_bank_ledger reads the bank's ledger into the KF_LEDGER_WORDS words of
 * ledger (indexes KF_LEDGER_...). */
static inline long kf_bank_ledger(unsigned bank, uint64_t *ledger)
{
	return kf_call_words_out(bank, KF_OC_BANK_GET_LEDGER, NULL, 0, 0,
				 ledger, KF_LEDGER_WORDS, NULL);
}

/* kf_bank_destroy destroys the bank, its sub-banks and everything bought
 * from them. KF_RC_NOT_PERMITTED through a weakened bank key. */
static inline long kf_bank_destroy(unsigned bank)
{
	return kf_call_keys(bank, KF_OC_BANK_DESTROY, 0, 0);
}

/* kf_bank_weaken puts a key to the same bank that cannot destroy it in dst. */
static inline long kf_bank_weaken(unsigned bank, unsigned dst)
{
	return kf_call_keys(bank, KF_OC_BANK_WEAKEN, 0, KF_KEY0(dst));
}

/* ------------------------------------------------------------------ */
/* Pages.                                                              */

/* kf_page_read reads n bytes (at most KF_LIMIT_STRING) at offset off of the
 * page in register page into buf. */
static inline long kf_page_read(unsigned page, unsigned long off, void *buf,
				unsigned long n)
{
	uint64_t arg[2] = { off, n };
	return kf_call_raw(page, KF_OC_PAGE_READ, arg, sizeof arg, 0, buf, n,
			   0).rc;
}

/*
 * kf_page_write writes n bytes from p at offset off of the page in register
 * page. A message carries KF_LIMIT_STRING - 8 bytes at most after the offset
 * word, so longer writes take several invocations (a 4 KiB buffer on the
 * stack assembles each). Returns the first failing return code.
 */
static inline long kf_page_write(unsigned page, unsigned long off,
				 const void *p, unsigned long n)
{
	uint64_t buf[KF_LIMIT_STRING / sizeof(uint64_t)];
	const unsigned long most = KF_LIMIT_STRING - sizeof(uint64_t);
	const unsigned char *c = (const unsigned char *)p;
	do {
		unsigned long k = n < most ? n : most;
		buf[0] = off;
		__builtin_memcpy(buf + 1, c, k);
		long rc = kf_call_raw(page, KF_OC_PAGE_WRITE, buf,
				      sizeof(uint64_t) + k, 0, NULL, 0, 0).rc;
		if (rc != KF_RC_OK)
			return rc;
		off += k;
		c += k;
		n -= k;
	} while (n > 0);
	return KF_RC_OK;
}

/* kf_page_clear zeroes the page in register page. */
static inline long kf_page_clear(unsigned page)
{
	return kf_call_keys(page, KF_OC_PAGE_CLEAR, 0, 0);
}

/* kf_page_weaken puts a read-only key to the page in register page in dst. */
static inline long kf_page_weaken(unsigned page, unsigned dst)
{
	return kf_call_keys(page, KF_OC_PAGE_WEAKEN, 0, KF_KEY0(dst));
}

/* ------------------------------------------------------------------ */
/* Nodes and segments.                                                 */

/* kf_node_fetch puts the key in slot slot of the node in register node in
 * dst. Works through node, fetch and sense keys (a sense key weakens it). */
static inline long kf_node_fetch(unsigned node, unsigned long slot,
				 unsigned dst)
{
	return kf_call_word(node, KF_OC_NODE_FETCH, slot, 0, KF_KEY0(dst));
}

/* kf_node_swap puts the key in register key in slot slot and the key that
 * was there in dst (0 to discard it). */
static inline long kf_node_swap(unsigned node, unsigned long slot,
				unsigned key, unsigned dst)
{
	return kf_call_word(node, KF_OC_NODE_SWAP, slot, KF_KEY0(key),
			    KF_KEY0(dst));
}

/* kf_node_clear puts DK(0) in every slot of the node. */
static inline long kf_node_clear(unsigned node)
{
	return kf_call_keys(node, KF_OC_NODE_CLEAR, 0, 0);
}

/* kf_node_make_fetch puts a fetch key to the node in dst. */
static inline long kf_node_make_fetch(unsigned node, unsigned dst)
{
	return kf_call_keys(node, KF_OC_NODE_MAKE_FETCH, 0, KF_KEY0(dst));
}

/* kf_node_make_sense puts a sense key to the node in dst. */
static inline long kf_node_make_sense(unsigned node, unsigned dst)
{
	return kf_call_keys(node, KF_OC_NODE_MAKE_SENSE, 0, KF_KEY0(dst));
}

/* kf_node_make_segment puts a segment key to the node in dst: size
 * 1..KF_LIMIT_MAX_SEG_SIZE (the node spans 16^size pages), flags
 * KF_FLAG_READ_ONLY | KF_FLAG_NO_CALL | KF_FLAG_RED. */
static inline long kf_node_make_segment(unsigned node, uint64_t size,
					uint64_t flags, unsigned dst)
{
	uint64_t arg[2] = { size, flags };
	return kf_call_raw(node, KF_OC_NODE_MAKE_SEGMENT, arg, sizeof arg, 0,
			   NULL, 0, KF_KEY0(dst)).rc;
}

/* kf_node_write_data puts DK(n) in slot slot of the node (for example a
 * KF_RED_FORMAT word in KF_RED_FORMAT_SLOT). */
static inline long kf_node_write_data(unsigned node, unsigned long slot,
				      uint64_t n)
{
	uint64_t arg[2] = { slot, n };
	return kf_call_raw(node, KF_OC_NODE_WRITE_DATA, arg, sizeof arg, 0,
			   NULL, 0, 0).rc;
}

/* kf_seg_weaken puts the segment key in register seg with flags added
 * (KF_FLAG_READ_ONLY, KF_FLAG_NO_CALL) in dst. */
static inline long kf_seg_weaken(unsigned seg, uint64_t flags, unsigned dst)
{
	return kf_call_word(seg, KF_OC_SEG_WEAKEN, flags, 0, KF_KEY0(dst));
}

/* ------------------------------------------------------------------ */
/* Domains.                                                            */

/* kf_domain_get_slot puts root slot slot (KF_SLOT_...) of the domain in dst. */
static inline long kf_domain_get_slot(unsigned dom, unsigned long slot,
				      unsigned dst)
{
	return kf_call_word(dom, KF_OC_DOMAIN_GET_SLOT, slot, 0, KF_KEY0(dst));
}

/* kf_domain_set_slot puts the key in register key in root slot slot. */
static inline long kf_domain_set_slot(unsigned dom, unsigned long slot,
				      unsigned key)
{
	return kf_call_word(dom, KF_OC_DOMAIN_SET_SLOT, slot, KF_KEY0(key), 0);
}

/* kf_domain_get_key_reg puts the domain's key register reg in dst. */
static inline long kf_domain_get_key_reg(unsigned dom, unsigned long reg,
					 unsigned dst)
{
	return kf_call_word(dom, KF_OC_DOMAIN_GET_KEY_REG, reg, 0,
			    KF_KEY0(dst));
}

/* kf_domain_set_key_reg puts the key in register key in the domain's key
 * register reg (register 0 stays DK(0)). */
static inline long kf_domain_set_key_reg(unsigned dom, unsigned long reg,
					 unsigned key)
{
	return kf_call_word(dom, KF_OC_DOMAIN_SET_KEY_REG, reg, KF_KEY0(key),
			    0);
}

/* kf_domain_get_regs reads the domain's register file into regs, which has
 * room for KF_REGS_WORDS words (pc, x1..x31 for rv64; KF_REGS_NATIVE words
 * for a native domain); *nwords (if not NULL) gets the number of words. */
static inline long kf_domain_get_regs(unsigned dom, uint64_t *regs,
				      unsigned long *nwords)
{
	return kf_call_words_out(dom, KF_OC_DOMAIN_GET_REGS, NULL, 0, 0, regs,
				 KF_REGS_WORDS, nwords);
}

/* kf_domain_set_regs sets the domain's register file from nwords words. */
static inline long kf_domain_set_regs(unsigned dom, const uint64_t *regs,
				      unsigned long nwords)
{
	return kf_call_raw(dom, KF_OC_DOMAIN_SET_REGS, regs,
			   nwords * sizeof(uint64_t), 0, NULL, 0, 0).rc;
}

/* kf_domain_make_start puts a start key to the domain with the given data
 * byte (the a2 its messages arrive with) in dst. */
static inline long kf_domain_make_start(unsigned dom, uint64_t data,
					unsigned dst)
{
	return kf_call_word(dom, KF_OC_DOMAIN_MAKE_START, data, 0,
			    KF_KEY0(dst));
}

/* kf_domain_make_restart puts a restart key to the domain, which must be
 * waiting, in dst. */
static inline long kf_domain_make_restart(unsigned dom, unsigned dst)
{
	return kf_call_keys(dom, KF_OC_DOMAIN_MAKE_RESTART, 0, KF_KEY0(dst));
}

/* kf_domain_run makes a stopped or available domain run from its pc. */
static inline long kf_domain_run(unsigned dom)
{
	return kf_call_keys(dom, KF_OC_DOMAIN_RUN, 0, 0);
}

/* kf_domain_make_available makes a stopped domain available for messages. */
static inline long kf_domain_make_available(unsigned dom)
{
	return kf_call_keys(dom, KF_OC_DOMAIN_MAKE_AVAILABLE, 0, 0);
}

/* kf_domain_stop stops the domain; resume keys to it become void. */
static inline long kf_domain_stop(unsigned dom)
{
	return kf_call_keys(dom, KF_OC_DOMAIN_STOP, 0, 0);
}

/* kf_domain_state reads the domain's state into the KF_DOMAIN_STATE_WORDS
 * words of st (indexes KF_DOMAIN_STATE_...). */
static inline long kf_domain_state(unsigned dom, uint64_t *st)
{
	return kf_call_words_out(dom, KF_OC_DOMAIN_GET_STATE, NULL, 0, 0, st,
				 KF_DOMAIN_STATE_WORDS, NULL);
}

/* kf_domain_set_home moves the domain to cluster cluster (same CPU kind). */
static inline long kf_domain_set_home(unsigned dom, uint64_t cluster)
{
	return kf_call_word(dom, KF_OC_DOMAIN_SET_HOME, cluster, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Meters.                                                             */

/* kf_meter_read reads the meter into the KF_METER_INFO_WORDS words of info
 * (remaining budget, ticks consumed). */
static inline long kf_meter_read(unsigned meter, uint64_t *info)
{
	return kf_call_words_out(meter, KF_OC_METER_READ, NULL, 0, 0, info,
				 KF_METER_INFO_WORDS, NULL);
}

/* kf_meter_make_sub makes a meter under this one with the given budget,
 * paid for by the bank in register bank; its key lands in dst. */
static inline long kf_meter_make_sub(unsigned meter, uint64_t budget,
				     unsigned bank, unsigned dst)
{
	return kf_call_word(meter, KF_OC_METER_MAKE_SUB, budget, KF_KEY0(bank),
			    KF_KEY0(dst));
}

/* kf_meter_set_budget sets the meter's remaining budget in ticks. */
static inline long kf_meter_set_budget(unsigned meter, uint64_t budget)
{
	return kf_call_word(meter, KF_OC_METER_SET_BUDGET, budget, 0, 0);
}

/* kf_meter_set_keeper makes the start key in register keeper the meter's
 * keeper (register 0: no keeper). */
static inline long kf_meter_set_keeper(unsigned meter, unsigned keeper)
{
	return kf_call_keys(meter, KF_OC_METER_SET_KEEPER, KF_KEY0(keeper), 0);
}

/* ------------------------------------------------------------------ */
/* Discrim, keybits, clock, creator, zero keeper.                      */

/* kf_discrim_classify returns the class (KF_DISCRIM_...) of the key in
 * register key, asking the discrim in register discrim; for a data key
 * DK(n), *n (if not NULL) gets n. */
static inline long kf_discrim_classify(unsigned discrim, unsigned key,
				       uint64_t *n)
{
	uint64_t v = 0;
	long rc = kf_call_raw(discrim, KF_OC_DISCRIM_CLASSIFY, NULL, 0,
			      KF_KEY0(key), &v, sizeof v, 0).rc;
	if (n)
		*n = v;
	return rc;
}

/* kf_discrim_compare returns 1 if the keys in registers a and b are the same
 * key, 0 if not. */
static inline long kf_discrim_compare(unsigned discrim, unsigned a,
				      unsigned b)
{
	return kf_call_keys(discrim, KF_OC_DISCRIM_COMPARE, KF_KEYS(a, b, 0, 0),
			    0);
}

/* kf_keybits describes the key in register key into the KF_KEYBITS_WORDS
 * words of out (type, flags, data, object, alloc), asking the keybits key
 * in register keybits. */
static inline long kf_keybits(unsigned keybits, unsigned key, uint64_t *out)
{
	return kf_call_words_out(keybits, KF_OC_KEYBITS, NULL, 0, KF_KEY0(key),
				 out, KF_KEYBITS_WORDS, NULL);
}

/* kf_clock_read puts the nanoseconds since boot in *ns. */
static inline long kf_clock_read(unsigned clock, uint64_t *ns)
{
	return kf_call_words_out(clock, KF_OC_CLOCK_READ, NULL, 0, 0, ns, 1,
				 NULL);
}

/* kf_clock_wait_until returns when the clock reaches deadline (nanoseconds
 * since boot). */
static inline long kf_clock_wait_until(unsigned clock, uint64_t deadline)
{
	return kf_call_word(clock, KF_OC_CLOCK_WAIT_UNTIL, deadline, 0, 0);
}

/* kf_creator_create asks the domain creator in register creator for a
 * domain of CPU kind, bought from the bank in register bank and run by the
 * meter in register meter; its domain key lands in dom_dst and a start key
 * (data byte 0) in start_dst. */
static inline long kf_creator_create(unsigned creator, long kind,
				     unsigned bank, unsigned meter,
				     unsigned dom_dst, unsigned start_dst)
{
	return kf_call_word(creator, KF_OC_CREATOR_CREATE, (uint64_t)kind,
			    KF_KEYS(bank, meter, 0, 0),
			    KF_KEYS(dom_dst, start_dst, 0, 0));
}

/* kf_zero_make_segment asks the zero keeper in register zk for a red
 * segment of the given size whose faults it serves with zero pages bought
 * from the bank in register bank; the segment key lands in dst. */
static inline long kf_zero_make_segment(unsigned zk, uint64_t size,
					unsigned bank, unsigned dst)
{
	return kf_call_word(zk, KF_OC_ZERO_MAKE_SEGMENT, size, KF_KEY0(bank),
			    KF_KEY0(dst));
}

/* kf_zero_stats puts the number of faults the zero keeper served in *faults. */
static inline long kf_zero_stats(unsigned zk, uint64_t *faults)
{
	return kf_call_words_out(zk, KF_OC_ZERO_STATS, NULL, 0, 0, faults, 1,
				 NULL);
}

#ifdef __cplusplus
}
#endif

#endif /* KEYFISH_H */
