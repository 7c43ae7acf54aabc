/*
 * api.c: compiles every function of keyfish.h, so that `make -C sdk
 * check-api` catches a wrapper that does not build in strict C99 or C11.
 * It is compiled only, never linked or run: a Keyfish kernel is needed for
 * that.
 */
#include <keyfish.h>

long api_all(void);

long api_all(void)
{
	uint64_t w[KF_REGS_WORDS];
	unsigned long n;
	char buf[64];
	kf_send s = { 1, buf, sizeof buf, { 8, 0, 0, 0 } };
	kf_recv r = { buf, sizeof buf, KF_RECV_KEY_REGS, 0, 0, 0 };
	long sum = 0;

	sum += kf_invoke(KF_DESC(8, KF_INV_CALL), 1, buf, 8, KF_KEYS(1, 2, 3, 4),
			 buf, sizeof buf, KF_RECV_KEYS).rc;
	sum += kf_call(8, &s, &r) + kf_call(8, NULL, NULL);
	sum += kf_return(8, &s, &r) + kf_fork(8, &s);
	sum += kf_wait(&r) + kf_reply(&s, &r) + (long)kf_recv_len(&r);
	sum += kf_key_type(8);
	sum += kf_console_write(KF_KR_CONSOLE, "x", 1);

	sum += kf_bank_buy_page(KF_KR_BANK, 9) + kf_bank_buy_node(KF_KR_BANK, 9);
	sum += kf_bank_buy_domain(KF_KR_BANK, KF_KIND_RV64, 9);
	sum += kf_bank_buy_meter(KF_KR_BANK, 1000, KF_KR_METER, 9);
	sum += kf_bank_buy_bank(KF_KR_BANK, NULL, 9) + kf_bank_buy_bank(KF_KR_BANK, w, 9);
	sum += kf_bank_sell(KF_KR_BANK, 9) + kf_bank_set_limits(KF_KR_BANK, w);
	sum += kf_bank_ledger(KF_KR_BANK, w) + kf_bank_destroy(9);
	sum += kf_bank_weaken(KF_KR_BANK, 9);

	sum += kf_page_read(9, 0, buf, sizeof buf);
	sum += kf_page_write(9, 8, buf, sizeof buf);
	sum += kf_page_clear(9) + kf_page_weaken(9, 10);

	sum += kf_node_fetch(9, 1, 10) + kf_node_swap(9, 1, 10, 11);
	sum += kf_node_clear(9) + kf_node_make_fetch(9, 10) + kf_node_make_sense(9, 10);
	sum += kf_node_make_segment(9, 1, KF_FLAG_RED, 10);
	sum += kf_node_write_data(9, KF_RED_FORMAT_SLOT, KF_RED_FORMAT(1, 14, 14));
	sum += kf_seg_weaken(10, KF_FLAG_READ_ONLY, 11);

	sum += kf_domain_get_slot(9, KF_SLOT_SPACE, 10) + kf_domain_set_slot(9, KF_SLOT_SPACE, 10);
	sum += kf_domain_get_key_reg(9, 1, 10) + kf_domain_set_key_reg(9, 1, 10);
	sum += kf_domain_get_regs(9, w, &n) + kf_domain_set_regs(9, w, n);
	sum += kf_domain_make_start(9, 0, 10) + kf_domain_make_restart(9, 10);
	sum += kf_domain_run(9) + kf_domain_make_available(9) + kf_domain_stop(9);
	sum += kf_domain_state(9, w) + kf_domain_set_home(9, 0);

	sum += kf_meter_read(KF_KR_METER, w) + kf_meter_make_sub(KF_KR_METER, 5, KF_KR_BANK, 9);
	sum += kf_meter_set_budget(9, 5) + kf_meter_set_keeper(9, 10);

	sum += kf_discrim_classify(9, 10, w) + kf_discrim_compare(9, 10, 11);
	sum += kf_keybits(9, 10, w);
	sum += kf_clock_read(KF_KR_CLOCK, w) + kf_clock_wait_until(KF_KR_CLOCK, w[0]);
	sum += kf_creator_create(KF_KR_CREATOR, KF_KIND_RV64, KF_KR_BANK, KF_KR_METER, 9, 10);
	sum += kf_zero_make_segment(9, 1, KF_KR_BANK, 10) + kf_zero_stats(9, w);
	return sum;
}
