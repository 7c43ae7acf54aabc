/*
 * pager: a segment keeper that serves demand-zero pages bought from its own
 * bank.
 *
 * The segment it keeps is a red segment node of size 1 (16 page slots)
 * formatted KF_RED_FORMAT(1, 14, 14): slots 0..13 map pages, slot 14 holds
 * pager's start key, slot 15 the format. pager loops on kf_wait, receiving
 * key 0 of each message in key register 12 and key 3 in key register 15:
 *
 *   - A fault (order KF_TRAP_FAULT, string = the KF_TRAP_MSG_WORDS trap
 *     words, key 0 = a node key to the red segment node, key 3 = a restart
 *     key): if the fault is KF_FAULT_NOT_MAPPED at offset o with slot
 *     o / 4096 in 0..13, it buys a page from its bank (key register 2),
 *     clears it, swaps it into that slot of the node, counts the fault and
 *     invokes the restart key with order 0 (a RETURN, so it waits for the
 *     next message in the same ecall). Any other fault it cannot serve: it
 *     prints a line saying so and waits without restarting the domain.
 *   - Order 1 (a stats request): answered through key 3 (the resume key of
 *     the CALL) with the number of faults served as the return code.
 *   - Any other order: answered through key 3 with KF_RC_UNKNOWN_ORDER.
 *
 * Keys: key register 2 (bank) pays for the pages; 1 (console) for the
 * diagnostic line. Key register 8 is scratch (the page being installed).
 * The launcher starts pager so that it becomes available, and puts a start
 * key to it in the red node's keeper slot (14) and in pagertest's key
 * register 8. pager never exits.
 *
 * Expected console output: none while every fault can be served; otherwise
 *
 *	pager: cannot serve fault at ADDR (offset OFF, detail D): REASON
 */
#include <stdio.h>

#include <keyfish.h>

#define NODE KF_KR_RECV0	/* key 0 of a fault: the red segment node */
#define PAGE KF_KR_ARG0		/* scratch: the page being installed */
#define MAP_SLOTS 14		/* slots 0..13 map pages */

static unsigned long faults;

/* serve installs a page for the fault msg; NULL on success, or why not. */
static const char *serve(const kf_recv *r, const uint64_t *msg)
{
	if (kf_recv_len(r) < KF_TRAP_MSG_WORDS * sizeof(uint64_t))
		return "short trap message";
	if (msg[KF_TRAP_MSG_DETAIL] != KF_FAULT_NOT_MAPPED)
		return "not a missing page";
	uint64_t slot = msg[KF_TRAP_MSG_OFFSET] / KF_LIMIT_PAGE_SIZE;
	if (slot >= MAP_SLOTS)
		return "offset beyond the mapping slots";
	if (kf_bank_buy_page(KF_KR_BANK, PAGE) != KF_RC_OK)
		return "the bank refused a page";
	if (kf_page_clear(PAGE) != KF_RC_OK ||
	    kf_node_swap(NODE, slot, PAGE, KF_KR_NULL) != KF_RC_OK) {
		kf_bank_sell(KF_KR_BANK, PAGE);
		return "cannot install the page";
	}
	return NULL;
}

int main(void)
{
	uint64_t msg[KF_TRAP_MSG_WORDS];
	kf_recv r = {
		.buf = msg,
		.cap = sizeof msg,
		.keys = { NODE, 0, 0, KF_RECV_RESUME },
	};
	kf_wait(&r);
	for (;;) {
		kf_send s = { .order = KF_RC_UNKNOWN_ORDER };
		if (r.order == KF_TRAP_FAULT) {
			const char *why = serve(&r, msg);
			if (why) {
				printf("pager: cannot serve fault at 0x%lx (offset 0x%lx, detail %ld): %s\n",
				       (unsigned long)msg[KF_TRAP_MSG_ADDR],
				       (unsigned long)msg[KF_TRAP_MSG_OFFSET],
				       (long)msg[KF_TRAP_MSG_DETAIL], why);
				kf_wait(&r);
				continue;
			}
			faults++;
			s.order = 0;
		} else if (r.order == 1) {
			s.order = (long)faults;
		}
		kf_reply(&s, &r);
	}
}
