/*
 * tests/unit/test_common.c: the hand-off of a signal between its handler and the writer of
 * whole lines (cmd/common.c, the one piece of cmd/ with a unit test of its own, linked with
 * build/cmd/common.o). A signal that came while the writer finished its line could be lost
 * when the handler decided in two steps; here every order of the handler's steps among the
 * writer's is run, and in each the signal ends the process, never in the middle of a line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "../../cmd/common.h"

enum { W_BEGIN, W_RELEASE, W_CHECK, N_WRITER };
enum { H_MARK, H_CLAIM, N_HANDLER };

/* One order: order[k] is 1 when step k is the handler's, 0 when it is the writer's. */
static void
run_order(const int order[N_WRITER + N_HANDLER])
{
	struct line_guard g;
	int w = 0, h = 0, died_in_line = 0, claimed = 0, seen = 0, writing = 0, stuck = 0;

	memset(&g, 0, sizeof g);
	for (int k = 0; k < N_WRITER + N_HANDLER; k++) {
		if (order[k]) {
			if (h++ == H_MARK) {
				line_guard_mark(&g, SIGTERM);
			} else if (line_guard_claim(&g)) {
				claimed = 1;
				died_in_line = writing;
			}
		} else if (!stuck) {
			switch (w++) {
			case W_BEGIN:
				/* Refused once the process is claimed: the writer waits to die. */
				stuck = !line_guard_begin(&g);
				writing = !stuck;
				break;
			case W_RELEASE:
				line_guard_release(&g);
				writing = 0;
				break;
			case W_CHECK:
				seen = line_guard_pending(&g) == SIGTERM;
				break;
			}
		}
	}
	/* The signal is never lost, and never cuts the line. */
	if (!claimed && !seen)
		fail_msg("order %d%d%d%d%d: the signal was lost", order[0], order[1], order[2],
		         order[3], order[4]);
	assert_false(died_in_line);
	assert_true(!stuck || claimed);
}

static void
a_signal_is_never_lost_in_any_order_of_the_hand_off(void **state)
{
	int order[N_WRITER + N_HANDLER], n = 0;

	(void)state;
	/* Every placement of the handler's two steps among the five. */
	for (int a = 0; a < N_WRITER + N_HANDLER; a++)
		for (int b = a + 1; b < N_WRITER + N_HANDLER; b++) {
			for (int k = 0; k < N_WRITER + N_HANDLER; k++)
				order[k] = k == a || k == b;
			run_order(order);
			n++;
		}
	assert_int_equal(n, 10);
}

/* Between lines nothing holds the signal back; during one the claim waits for its end. */
static void
the_claim_succeeds_between_lines_only(void **state)
{
	struct line_guard g;

	(void)state;
	memset(&g, 0, sizeof g);
	assert_true(line_guard_begin(&g));
	line_guard_mark(&g, SIGINT);
	assert_false(line_guard_claim(&g));
	line_guard_release(&g);
	assert_int_equal(line_guard_pending(&g), SIGINT);
	memset(&g, 0, sizeof g);
	assert_int_equal(line_guard_pending(&g), 0);
	assert_true(line_guard_claim(&g));
	assert_false(line_guard_begin(&g));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_signal_is_never_lost_in_any_order_of_the_hand_off),
	    cmocka_unit_test(the_claim_succeeds_between_lines_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
